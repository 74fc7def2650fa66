#!/usr/bin/env node
// The example support agent in JavaScript, on the agent SDK (@ratchet-dev/sdk/agent).
//
// The same agent as examples/agents/support_agent.py — same decisions at the same
// prompt versions, same words — without protocol code: `serve` runs the exec protocol
// around `respond`, and the tools are async functions wrapped with `tool`. Under
// `ratchet gate` their calls are answered by ratchet; with --chat they run for real
// against the in-memory billing backend below.
//
//   ratchet gate --agent examples/agents/js/support-v2.toml
//   echo "cancel my subscription" | node examples/agents/js/support_agent.mjs --chat --email lee@example.com
//
// In a project: `npm install @ratchet-dev/sdk` and import from '@ratchet-dev/sdk/agent';
// in this checkout it is imported by path.
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { Escalate, Session, ToolError, serve, tool } from '../../../sdk/js/src/agent.js';

// What each prompt version does differently (as in support_agent.py).
const PROMPT_VERSIONS = {
  'support-v1': { checksStatus: false, checksSupervisor: false, statesPolicy: false, escalates: false },
  'support-v2': { checksStatus: true, checksSupervisor: true, statesPolicy: true, escalates: true },
  'support-v3': { checksStatus: false, checksSupervisor: true, statesPolicy: true, escalates: true },
};

const HELP = 'I can help you cancel your subscription or request a refund. What would you like to do?';
const WELCOME = "You're welcome! Is there anything else I can help you with?";
const NO_HUMAN_NEEDED = "There's no need to wait for a human: I can help you with that myself. What do you need?";
const ESCALATE_ON_REQUEST = 'the customer asked to speak to a human';
const NO_ACCOUNT = "I couldn't find an account linked to this conversation. Please contact us from the email address on your account.";
const LOOKUP_FAILED = "I'm sorry, I couldn't look up your account right now. Please try again in a few minutes.";
const CANCELLATION_POLICY =
  "Per our cancellation policy, your plan stays active until the end of the current billing period and you won't be charged again.";
const CANCELLED = 'Your subscription has been cancelled. Is there anything else I can help you with?';
const NO_ACTIVE_SUBSCRIPTION =
  "I don't see an active subscription on your account, so there is nothing to cancel and I haven't made any changes.";
const CANCEL_FAILED = "I'm sorry, I couldn't cancel your subscription right now. Please try again in a few minutes.";
const REFUND_POLICY = 'Per our refund policy, refunds go back to the original payment method within 5-10 business days.';
const REFUNDED = 'Your refund has been issued. Is there anything else I can help you with?';
const NO_CHARGE = "I don't see a recent charge on your account that I could refund.";
const REFUND_FAILED = "I'm sorry, I couldn't issue the refund right now. Please try again in a few minutes.";
const ESCALATE_REFUND = 'Per our refund policy, this refund needs supervisor approval (supervisor_flag is not set on the account)';

/** human | cancel | refund | thanks | other, from keywords (the stand-in for the model). */
function intent(text) {
  const words = text.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w.toLowerCase());
  if (words.some((w) => ['human', 'person', 'supervisor', 'manager', 'agent', 'representative'].includes(w))) return 'human';
  if (words.some((w) => w.startsWith('cancel') || w === 'unsubscribe')) return 'cancel';
  if (words.some((w) => w.startsWith('refund'))) return 'refund';
  if (words.some((w) => ['thanks', 'thank', 'thx'].includes(w))) return 'thanks';
  return 'other';
}

// The production backend (what the tools call for real): the accounts of examples/agents/billing.py.
const ACCOUNTS = {
  'A-55812': { account_id: 'A-55812', email: 'dana@example.com', subscription_status: 'none', plan: null, supervisor_flag: false, last_charge_amount: null },
  'A-20931': { account_id: 'A-20931', email: 'lee@example.com', subscription_status: 'active', plan: 'premium', supervisor_flag: true, last_charge_amount: 49.0 },
};

const lookupAccount = tool(
  async function lookup_account({ email, account_id }) {
    const a = Object.values(ACCOUNTS).find((x) => (email != null && x.email === email) || (account_id != null && x.account_id === account_id));
    if (!a) throw new Error('no such account');
    const { email: _, ...record } = a;
    return record;
  },
  { version: '1.4.0' },
);
const cancelSubscription = tool(
  async function cancel_subscription({ account_id }) {
    ACCOUNTS[account_id].subscription_status = 'cancelled';
    return { ok: true, cancelled_subscriptions: 1 };
  },
  { version: '2.1.0' },
);
const issueRefund = tool(async function issue_refund({ account_id, amount }) {
  return { ok: true, refund_id: `R-${account_id}-${amount}` };
}, { version: '1.0.3' });

function makeRespond(promptVersion) {
  const v = PROMPT_VERSIONS[promptVersion];
  return async function respond(turns, session) {
    const wants = intent(turns.at(-1).text);
    if (wants === 'human') return v.escalates ? new Escalate(ESCALATE_ON_REQUEST) : NO_HUMAN_NEEDED;
    if (wants === 'thanks') return WELCOME;
    if (wants === 'other') return HELP;

    // 1. Look the account up: by email, else by account id (the session's memory).
    const memory = session.memory;
    let account;
    try {
      if (memory['customer.email'] != null) account = await lookupAccount({ email: memory['customer.email'] });
      else if (memory['account.id'] != null) account = await lookupAccount({ account_id: memory['account.id'] });
      else return NO_ACCOUNT;
    } catch {
      return LOOKUP_FAILED; // a ToolError under the gate, the backend's error for real
    }
    if (!account || typeof account !== 'object' || Array.isArray(account)) account = {};
    const accountId = account.account_id ?? memory['account.id'] ?? null;
    if (accountId === null) return LOOKUP_FAILED;
    const done = (policy, text) => (v.statesPolicy ? `${policy} ${text}` : text);

    // 2. Act, or decline: where the prompt versions differ.
    if (wants === 'cancel') {
      if (v.checksStatus && account.subscription_status !== 'active') return NO_ACTIVE_SUBSCRIPTION;
      try {
        await cancelSubscription({ account_id: accountId });
      } catch (e) {
        if (e instanceof ToolError) return CANCEL_FAILED;
        throw e;
      }
      return done(CANCELLATION_POLICY, CANCELLED);
    }
    if (v.checksSupervisor && account.supervisor_flag !== true) return new Escalate(ESCALATE_REFUND);
    if (account.last_charge_amount == null) return NO_CHARGE;
    try {
      await issueRefund({ account_id: accountId, amount: account.last_charge_amount });
    } catch (e) {
      if (e instanceof ToolError) return REFUND_FAILED;
      throw e;
    }
    return done(REFUND_POLICY, REFUNDED);
  };
}

async function chat(respond, email) {
  const session = new Session('chat', { state: email ? { memory_snapshot: [{ key: 'customer.email', value: email }] } : {} });
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    session.turns.push({ role: 'customer', text: line.trim() });
    const reply = await respond(session.turns, session);
    if (reply instanceof Escalate) {
      console.log(`[handed off to a human: ${reply.reason}]`);
      return 0;
    }
    session.turns.push({ role: 'agent', text: reply });
    console.log(reply);
  }
  return 0;
}

const { values } = parseArgs({ options: { 'prompt-version': { type: 'string', default: 'support-v1' }, chat: { type: 'boolean' }, email: { type: 'string' } } });
if (!(values['prompt-version'] in PROMPT_VERSIONS)) {
  console.error(`unknown --prompt-version ${values['prompt-version']} (one of ${Object.keys(PROMPT_VERSIONS).join(', ')})`);
  process.exit(2);
}
const respond = makeRespond(values['prompt-version']);
process.exit(values.chat ? await chat(respond, values.email) : await serve(respond, { agent: 'support-agent', version: values['prompt-version'] }));
