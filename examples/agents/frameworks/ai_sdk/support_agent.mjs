#!/usr/bin/env node
// The example support agent on the Vercel AI SDK (npm `ai` + `@ai-sdk/openai`), under the gate.
//
// A tool-calling loop as a team would write it: `generateText` with a system prompt
// (the prompt version under test, ../prompts/support-vN.md, plus the customer context),
// zod-typed `tool()`s and a stop condition, against an OpenAI-compatible chat
// completions endpoint. Two additions make it gateable, neither of them protocol code:
//  * each tool's `execute` is wrapped with ratchet's `tool` (`escalation` for the
//    hand-off): under `ratchet gate` a call is answered by ratchet from the scenario,
//    otherwise it runs for real (the in-memory billing backend below);
//  * `serve(respond)` runs the exec protocol; `respond` is one `generateText` per
//    customer line; the session's state snapshot becomes the "Customer context:" lines
//    of the system prompt, and the messages live in session.data.
//
// The endpoint: OPENAI_BASE_URL and OPENAI_API_KEY (the model id: SUPPORT_AGENT_MODEL).
// The tests point it at ../scripted_model.py.
//
//   npm ci --prefix examples/agents/frameworks/ai_sdk
//   ratchet gate --agent examples/agents/frameworks/ai_sdk/support-v2.toml
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { createOpenAI } from '@ai-sdk/openai';
import { generateText, hasToolCall, isStepCount, tool } from 'ai';
import { z } from 'zod';

import { Session, escalation, serve, tool as ratchetTool } from '../../../../sdk/js/src/agent.js'; // '@ratchet-dev/sdk/agent' in a project

const HERE = dirname(fileURLToPath(import.meta.url));
const VERSIONS = ['support-v1', 'support-v2', 'support-v3'];

// The production backend (what the tools call for real): the accounts of examples/agents/billing.py.
const ACCOUNTS = {
  'A-55812': { account_id: 'A-55812', email: 'dana@example.com', subscription_status: 'none', plan: null, supervisor_flag: false, last_charge_amount: null },
  'A-20931': { account_id: 'A-20931', email: 'lee@example.com', subscription_status: 'active', plan: 'premium', supervisor_flag: true, last_charge_amount: 49.0 },
};

const tools = {
  lookup_account: tool({
    description: "Look up the customer's account: subscription status, plan, supervisor approval flag, last charge. Pass the email (else the account id) from the customer context, exactly as given.",
    inputSchema: z.object({ email: z.string().optional(), account_id: z.string().optional() }),
    execute: ratchetTool(async function lookup_account({ email, account_id }) {
      const a = Object.values(ACCOUNTS).find((x) => (email != null && x.email === email) || (account_id != null && x.account_id === account_id));
      if (!a) throw new Error('no such account');
      const { email: _, ...record } = a;
      return record;
    }, { version: '1.4.0' }),
  }),
  cancel_subscription: tool({
    description: "Cancel the account's subscription at the end of the billing period (account id from lookup_account).",
    inputSchema: z.object({ account_id: z.string() }),
    execute: ratchetTool(async function cancel_subscription({ account_id }) {
      ACCOUNTS[account_id].subscription_status = 'cancelled';
      return { ok: true, cancelled_subscriptions: 1 };
    }, { version: '2.1.0' }),
  }),
  issue_refund: tool({
    description: "Refund the account's last charge (account id and amount from lookup_account).",
    inputSchema: z.object({ account_id: z.string(), amount: z.number() }),
    execute: ratchetTool(async function issue_refund({ account_id, amount }) {
      return { ok: true, refund_id: `R-${account_id}-${amount}` };
    }, { version: '1.0.3' }),
  }),
  escalate_to_human: tool({
    description: 'Hand the conversation to a human agent, with the reason; your part ends there.',
    inputSchema: z.object({ reason: z.string() }),
    execute: escalation(async function escalate_to_human({ reason }) {
      return `Ticket opened for a human agent: ${reason}`; // production: the contact center's queue
    }),
  }),
};

function makeRespond(promptVersion) {
  const prompt = readFileSync(join(HERE, '..', 'prompts', `${promptVersion}.md`), 'utf8').trim();
  const model = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL }).chat(process.env.SUPPORT_AGENT_MODEL || 'gpt-4o-mini-2024-07-18');
  return async function respond(turns, session) {
    // The prompt under test, then the session's memory (the gate's state snapshot) as customer context.
    const lines = Object.entries(session.memory).filter(([, v]) => v != null).map(([k, v]) => `- ${k} = ${JSON.stringify(v)}`);
    const system = lines.length ? `${prompt}\n\nCustomer context:\n${lines.join('\n')}` : prompt;
    const messages = [...(session.data.messages || []), { role: 'user', content: turns.at(-1).text }];
    const result = await generateText({
      model, system, messages, tools, temperature: 0,
      stopWhen: [isStepCount(10), hasToolCall('escalate_to_human')],
    });
    session.data.messages = [...messages, ...result.response.messages];
    return result.text;
  };
}

async function chat(respond, email) {
  const session = new Session('chat', { state: email ? { memory_snapshot: [{ key: 'customer.email', value: email }] } : {} });
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    session.turns.push({ role: 'customer', text: line.trim() });
    const reply = await respond(session.turns, session);
    session.turns.push({ role: 'agent', text: reply });
    console.log(reply || '[handed off to a human]');
  }
  return 0;
}

const { values } = parseArgs({ options: { 'prompt-version': { type: 'string', default: 'support-v1' }, chat: { type: 'boolean' }, email: { type: 'string' } } });
if (!VERSIONS.includes(values['prompt-version'])) {
  console.error(`unknown --prompt-version ${values['prompt-version']} (one of ${VERSIONS.join(', ')})`);
  process.exit(2);
}
const respond = makeRespond(values['prompt-version']);
process.exit(values.chat ? await chat(respond, values.email) : await serve(respond, { agent: 'support-agent-ai-sdk', version: values['prompt-version'] }));
