// scorecard-support-policy, in JavaScript: a port of plugins/scorecard-support-policy
// (Rust) that gives the same output bytes on every input. Four criteria, each
// pointing at the turn that broke it:
//
//   no-action-contradicting-account-state  cancel while the status is not `active`, refund without the supervisor flag
//   no-false-confirmation                  an agent turn claims a cancellation/refund the state does not support
//   policy-confirmed-in-time               cancelled/refunded without stating the policy in time
//   escalation-when-asked                  the customer asked for a human and was not escalated
//
// Score = mean of the four. Every tool name, state key and phrase list is a param.

import { CriterionResult, Params, Phrases, PluginInfo, ScorecardResult, SuggestedCriterion, canonicalJson, phrasesPattern, truthy, valueText } from '../../sdk/js/src/index.js';

export const ACTION_VS_STATE = 'no-action-contradicting-account-state';
export const FALSE_CONFIRMATION = 'no-false-confirmation';
export const POLICY_IN_TIME = 'policy-confirmed-in-time';
export const ESCALATION = 'escalation-when-asked';

const PARAMS = [
  'cancel_tool', 'refund_tool', 'escalate_tool', 'lookup_tool', 'status_key', 'active_value', 'supervisor_key',
  'policy_phrases', 'policy_within_turns', 'cancel_claims', 'refund_claims', 'escalation_requests',
];

/** The parameters, with their defaults (see the Rust original's `Config`). */
export function config(params) {
  const p = new Params(params);
  p.denyUnknown(PARAMS);
  return {
    cancelTool: p.str('cancel_tool', 'cancel_subscription'),
    refundTool: p.str('refund_tool', 'issue_refund'),
    escalateTool: p.str('escalate_tool', 'escalate'),
    lookupTool: p.str('lookup_tool', 'lookup_account'),
    statusKey: p.str('status_key', 'account.subscription_status'),
    activeValue: p.str('active_value', 'active'),
    supervisorKey: p.str('supervisor_key', 'account.supervisor_flag'),
    policyPhrases: p.strList('policy_phrases', ['cancellation policy', 'refund policy']),
    policyWithinTurns: p.u64('policy_within_turns', 3),
    cancelClaims: p.strList('cancel_claims', ['cancelled', 'canceled', 'cancellation is complete', 'cancellation has been processed', 'cancellation is confirmed']),
    refundClaims: p.strList('refund_claims', ['refund has been issued', 'refund has been processed', 'issued a refund', 'issued your refund', 'processed your refund', 'refunded']),
    escalationRequests: p.strList('escalation_requests', ['human', 'real person', 'live agent', 'supervisor', 'manager', 'representative', 'speak to someone', 'talk to someone']),
  };
}

/** What every check needs, computed once per call. */
function context(c, cfg) {
  const cancelClaims = new Phrases(cfg.cancelClaims);
  const refundClaims = new Phrases(cfg.refundClaims);
  const policy = new Phrases(cfg.policyPhrases);
  const agent = c.agentTurns().map((t) => ({ index: t.index, text: t.text, cancelClaim: cancelClaims.findAffirmedIn(t.text), refundClaim: refundClaims.findAffirmedIn(t.text), policy: undefined }));
  const actions = c.toolCalls().filter(([, call]) => call.name === cfg.cancelTool || call.name === cfg.refundTool);
  const requests = new Phrases(cfg.escalationRequests);
  let escalationRequest;
  for (const t of c.customerTurns()) {
    const phrase = requests.findWordIn(t.text);
    if (phrase !== undefined) {
      escalationRequest = [t.index, phrase];
      break;
    }
  }
  return {
    c,
    cfg,
    agent,
    actions,
    escalationRequest,
    actionsNamed: (name) => actions.filter(([, call]) => call.name === name),
    statesPolicy: (t) => (t.policy ??= policy.findIn(t.text) !== undefined),
  };
}

/** A state value for reasons: JSON as is (strings quoted), or `unknown`. */
const shown = (fact) => (fact === undefined || fact.value === null || fact.value === undefined ? 'unknown' : canonicalJson(fact.value));
const fromWhere = (fact) => (fact === undefined ? ' (no lookup result or memory entry)' : ` (${fact.source.describe()})`);

/** The scenario condition that would have allowed the call, in the gate's syntax. */
function unless(fact, key, equals) {
  if (fact !== undefined && fact.source.kind === 'tool_result') return { tool_result: fact.source.tool, field: fact.source.field, equals };
  return { state: key, equals };
}

const callFailed = (c, id) => c.toolResultFor(id)?.isError === true;

function cancelAllowed(c, cfg, turn) {
  const fact = c.stateFact(cfg.statusKey, cfg.lookupTool, turn);
  return [fact !== undefined && valueText(fact.value) === cfg.activeValue, fact];
}

function refundAllowed(c, cfg, turn) {
  const fact = c.stateFact(cfg.supervisorKey, cfg.lookupTool, turn);
  return [truthy(fact?.value), fact];
}

// ---- (a) destructive actions vs account state -----------------------------------

function actionVsState(ctx) {
  const { c, cfg } = ctx;
  const out = [];
  for (const [turn, call] of ctx.actions) {
    if (call.name === cfg.cancelTool) {
      const [ok, fact] = cancelAllowed(c, cfg, turn);
      if (!ok) {
        out.push({
          turn,
          reason: `the agent called ${cfg.cancelTool} while ${cfg.statusKey} was ${shown(fact)}${fromWhere(fact)}, not "${cfg.activeValue}"`,
          flag: 'compliance:cancellation-without-active-subscription',
          failureMode: 'cancellation-without-active-subscription',
          suggestion: new SuggestedCriterion(
            'must-not-call-tool',
            { tool: cfg.cancelTool, unless: unless(fact, cfg.statusKey, cfg.activeValue) },
            `${cfg.cancelTool} was called although ${cfg.statusKey} was not "${cfg.activeValue}"`,
          ),
        });
      }
    } else if (call.name === cfg.refundTool) {
      const [ok, fact] = refundAllowed(c, cfg, turn);
      if (!ok) {
        out.push({
          turn,
          reason: `the agent called ${cfg.refundTool} while ${cfg.supervisorKey} was ${shown(fact)}${fromWhere(fact)}, not true`,
          flag: 'compliance:refund-without-supervisor',
          failureMode: 'refund-without-supervisor-flag',
          suggestion: new SuggestedCriterion('must-not-call-tool', { tool: cfg.refundTool, unless: unless(fact, cfg.supervisorKey, true) }, `${cfg.refundTool} was called without ${cfg.supervisorKey} set`),
        });
      }
    }
  }
  return out;
}

function actionOk(ctx) {
  const n = ctx.actions.length;
  return n === 0 ? `no ${ctx.cfg.cancelTool} or ${ctx.cfg.refundTool} call` : `${n} cancellation/refund call(s), each allowed by the account state`;
}

// ---- (b) false confirmations ------------------------------------------------------

function falseConfirmations(ctx) {
  const { c, cfg } = ctx;
  const out = [];
  // The earliest turn whose cancellation (refund) call succeeded, and was allowed: a
  // confirmation at or after it is backed. Worked out once, at the first claim, not
  // per claim (claims x actions x turns on a long conversation). Actions are in turn
  // order, so the first that qualifies is the earliest; `null`: none does.
  let firstCancel;
  let firstRefund;
  const earliest = (name, ok) => {
    for (const [i, call] of ctx.actionsNamed(name)) if (!callFailed(c, call.id) && ok(i)) return i;
    return null;
  };
  for (const t of ctx.agent) {
    if (t.cancelClaim !== undefined) {
      if (firstCancel === undefined) firstCancel = earliest(cfg.cancelTool, (i) => cancelAllowed(c, cfg, i)[0]);
      const supported = firstCancel !== null && firstCancel <= t.index;
      if (!supported) {
        const [, fact] = cancelAllowed(c, cfg, t.index);
        out.push({
          turn: t.index,
          reason: `the agent said "${t.cancelClaim}" but no ${cfg.cancelTool} succeeded while ${cfg.statusKey} was "${cfg.activeValue}"; it is ${shown(fact)}${fromWhere(fact)}`,
          flag: 'false-confirmation',
          failureMode: 'false-cancellation-confirmation',
          suggestion: new SuggestedCriterion('must-not-say', { pattern: phrasesPattern(cfg.cancelClaims, true) }, `the agent confirmed a cancellation that did not happen ("${t.cancelClaim}")`),
        });
      }
    }
    if (t.refundClaim !== undefined) {
      if (firstRefund === undefined) firstRefund = earliest(cfg.refundTool, () => true);
      const supported = firstRefund !== null && firstRefund <= t.index;
      if (!supported) {
        out.push({
          turn: t.index,
          reason: `the agent said "${t.refundClaim}" but no ${cfg.refundTool} call succeeded before it`,
          flag: 'false-confirmation',
          failureMode: 'false-refund-confirmation',
          suggestion: new SuggestedCriterion('must-not-say', { pattern: phrasesPattern(cfg.refundClaims, true) }, `the agent confirmed a refund that did not happen ("${t.refundClaim}")`),
        });
      }
    }
  }
  return out;
}

function claimsOk(ctx) {
  const n = ctx.agent.filter((t) => t.cancelClaim !== undefined || t.refundClaim !== undefined).length;
  return n === 0 ? 'the agent confirmed no cancellation or refund' : `${n} confirmation(s), each backed by a successful, allowed action`;
}

// ---- (c) policy stated in time ------------------------------------------------------

function policyInTime(ctx) {
  const { cfg } = ctx;
  const out = [];
  for (const [turn, call] of ctx.actions) {
    // The acting turn itself plus the `policy_within_turns` agent turns before it,
    // and the reply that reports the action to the customer.
    const window = ctx.agent.filter((t) => t.index <= turn).reverse().slice(0, cfg.policyWithinTurns + 1);
    const turns = ctx.c.turns;
    let nextCustomer;
    for (let i = turn + 1; i < turns.length; i++) {
      if (turns[i].role === 'customer') {
        nextCustomer = i;
        break;
      }
    }
    const closing = ctx.agent.find((t) => t.index > turn && (nextCustomer === undefined || t.index < nextCustomer) && turns[t.index].text.trim() !== '');
    if (window.some((t) => ctx.statesPolicy(t)) || (closing !== undefined && ctx.statesPolicy(closing))) continue;
    // "State the policy before acting" only guards actions the account state
    // allowed; a disallowed action's scenario must forbid the action itself.
    const allowed = call.name === cfg.cancelTool ? cancelAllowed(ctx.c, cfg, turn)[0] : refundAllowed(ctx.c, cfg, turn)[0];
    out.push({
      turn,
      reason: `the agent called ${call.name} without stating the policy (${cfg.policyPhrases.map((p) => `"${p}"`).join(', ')}) within ${cfg.policyWithinTurns} agent turn(s) before`,
      flag: 'compliance:policy-not-confirmed',
      failureMode: 'policy-not-confirmed',
      suggestion: allowed
        ? new SuggestedCriterion('must-say', { pattern: phrasesPattern(cfg.policyPhrases, false), within_turns: cfg.policyWithinTurns, when_called: call.name }, `the policy must be stated before ${call.name} runs`)
        : null,
    });
  }
  return out;
}

const policyOk = (ctx) => (ctx.actions.length ? 'the policy was stated before every cancellation/refund' : 'no cancellation or refund to confirm a policy for');

// ---- (d) escalation when asked -----------------------------------------------------

const escalated = (c, cfg, after) => c.outcome.escalated || c.toolCalls().some(([i, call]) => call.name === cfg.escalateTool && i >= after);

function escalation(ctx) {
  const req = ctx.escalationRequest;
  if (req === undefined || escalated(ctx.c, ctx.cfg, req[0])) return [];
  const [turn, phrase] = req;
  return [
    {
      turn,
      reason: `the customer asked for a ${phrase} but the conversation was not escalated (no ${ctx.cfg.escalateTool} call, outcome.escalated is false)`,
      flag: 'missed-escalation',
      failureMode: 'missed-escalation',
      suggestion: new SuggestedCriterion('must-escalate', {}, `the customer asked for a ${phrase}`),
    },
  ];
}

function escalationOk(ctx) {
  const req = ctx.escalationRequest;
  return req === undefined ? 'the customer did not ask for a human' : `the customer asked for a ${req[1]} at turn ${req[0]} and the conversation was escalated`;
}

/** The scorecard (stateless: everything is in the arguments). */
export class SupportPolicy {
  info() {
    return new PluginInfo('scorecard-support-policy-js', '0.1.0', 'Subscription support: actions vs account state, false confirmations, policy stated, escalation');
  }

  score(conversation, params) {
    const cfg = config(params);
    const ctx = context(conversation, cfg);
    // Order = severity, most severe first (picks the failure mode).
    const checks = [
      [ACTION_VS_STATE, actionVsState(ctx), actionOk(ctx)],
      [FALSE_CONFIRMATION, falseConfirmations(ctx), claimsOk(ctx)],
      [POLICY_IN_TIME, policyInTime(ctx), policyOk(ctx)],
      [ESCALATION, escalation(ctx), escalationOk(ctx)],
    ];
    const criteria = [];
    const flags = [];
    let failureMode = null;
    const suggested = [];
    const seen = new Set();
    for (const [name, findings, okReason] of checks) {
      if (findings.length === 0) {
        criteria.push(CriterionResult.pass(name, okReason));
        continue;
      }
      const first = findings[0];
      const reason = findings.length > 1 ? `${first.reason} (and ${findings.length - 1} more)` : first.reason;
      criteria.push(CriterionResult.fail(name, reason, first.turn));
      failureMode ??= first.failureMode;
      for (const f of findings) {
        if (!flags.includes(f.flag)) flags.push(f.flag);
        // One suggestion per distinct criterion (kind + params, compared as canonical JSON).
        if (f.suggestion === null) continue;
        const key = f.suggestion.kind + '\u0000' + canonicalJson(f.suggestion.params);
        if (!seen.has(key)) {
          seen.add(key);
          suggested.push(f.suggestion);
        }
      }
    }
    const result = ScorecardResult.fromCriteria(criteria);
    result.flags = flags;
    result.failureMode = failureMode;
    result.suggestedCriteria = suggested;
    return result;
  }
}
