// Warming the plugin up inside the build-time snapshot (issue 20).
//
// componentize-js evaluates the bundle while it builds (Wizer), and the component
// starts every call from the memory that evaluation left behind. ratchet restores that
// memory after every call, so what StarlingMonkey learns during a call (inline caches,
// shapes, atoms) is forgotten before the next one, and every conversation pays for
// learning it again. Work done here, at build time, is kept: it is part of the
// plugin's bytes, so every call on every machine starts from the same warmed state
// and verdicts stay a function of (plugin bytes, conversation, params).
//
// - `warmUpSdk`: always. Runs the SDK's own per-call paths (the WIT conversion both
//   ways, JSON reading and canonical writing, the model's questions, phrase matching,
//   params, results) on a built-in sample. It never calls the plugin, so a plugin that
//   keeps state between calls cannot tell it happened.
// - `warmUpPlugin`: only when package.json asks (`"ratchet": {"warmUp": "samples"}`):
//   bin/build.mjs embeds those sample inputs and the plugin itself scores (or checks)
//   each of them `ROUNDS` times before the snapshot. A plugin that keeps module-level
//   state sees these calls (they are part of its build, the same on every run).
//
// Nothing here may call the host: imports are not available while the component is
// built. What the plugin logs during its warm-up is dropped; a plugin that asks a
// model cannot be warmed up (the build refuses the combination).

import { canonicalJson, parseJson } from './canonical.js';
import { setLogBackend } from './log.js';
import { Conversation } from './model.js';
import { Params } from './params.js';
import { CriterionResult, ScorecardResult, SuggestedCriterion, Verdict } from './results.js';
import { Phrases, phrasesPattern } from './text.js';

/** How many times each path runs. */
export const ROUNDS = 8;

// The same sample as the Python SDK's (ratchet_sdk/_warm_up.py): tool calls and
// results with nested JSON, an error result, a memory snapshot, routing extras,
// non-ASCII text, negations.
const SAMPLE = "{\"channel\":\"chat\",\"id\":\"ratchet-sdk-warm-up\",\"impact\":{\"compliance_exposure\":0,\"currency\":\"EUR\",\"escalation_cost\":4,\"refund_amount\":0,\"revenue_at_risk\":12},\"outcome\":{\"complaint\":false,\"compliance_flags\":[\"refund-requested\"],\"ended_reason\":\"resolved\",\"escalated\":true},\"schema_version\":1,\"started_at\":\"2026-01-01T09:00:00Z\",\"state\":{\"kb_version_hash\":\"kb-1\",\"memory_snapshot\":[{\"key\":\"account.tier\",\"value\":\"gold\"},{\"key\":\"account.flags\",\"value\":{\"vip\":true}}],\"model\":\"m-1\",\"prompt_version\":\"p-1\",\"routing\":{\"extra\":{\"region\":\"eu\"},\"locale\":\"fr-FR\",\"queue\":\"billing\",\"time_of_day\":\"09:00\"},\"tool_registry\":[{\"id\":\"lookup_account\",\"version\":\"2\"}]},\"turns\":[{\"role\":\"customer\",\"text\":\"Hi, I want to cancel my subscription and get a refund. Can I talk to a human?\"},{\"role\":\"agent\",\"text\":\"I can help. Let me look up your account first.\",\"tool_calls\":[{\"arguments\":{\"account_id\":\"A-1\",\"fields\":[\"status\",\"plan\"]},\"id\":\"c1\",\"name\":\"lookup_account\"}]},{\"role\":\"tool\",\"text\":\"\",\"tool_result\":{\"call_id\":\"c1\",\"content\":{\"charges\":[{\"amount\":12,\"currency\":\"EUR\"}],\"subscription_status\":\"active\",\"supervisor_flag\":false},\"name\":\"lookup_account\"}},{\"role\":\"agent\",\"text\":\"Per our cancellation policy, your plan hasn't been cancelled yet; I'm not able to refund it. Déjà vu?\"},{\"role\":\"customer\",\"text\":\"Please escalate, I’m not happy.\"},{\"role\":\"agent\",\"text\":\"\",\"tool_calls\":[{\"arguments\":{\"account_id\":\"A-1\"},\"id\":\"c2\",\"name\":\"cancel_subscription\"},{\"arguments\":{\"reason\":\"customer asked\"},\"id\":\"c3\",\"name\":\"escalate\"}]},{\"role\":\"tool\",\"text\":\"\",\"tool_result\":{\"call_id\":\"c2\",\"content\":{\"error\":\"timeout\"},\"is_error\":true,\"name\":\"\"}},{\"latency_ms\":850,\"role\":\"agent\",\"text\":\"Your subscription has been cancelled, and a supervisor will call you.\"}]}";

const PHRASES = ['cancelled', 'canceled', 'cancellation policy', 'refund', 'supervisor', 'human'];

let samples = null;

/** Installed by the module bin/build.mjs generates when package.json asks for a
 * warm-up: `[[name, conversation JSON, params JSON or null], ...]`. @internal */
export function setWarmUpSamples(s) {
  samples = s;
}

/** Run the SDK's per-call paths on the built-in sample, `ROUNDS` times; `answerToWit`
 * converts what `world` returns (`scorecard`: a ScorecardResult; `assertion`: a
 * Verdict) into its WIT record. */
export function warmUpSdk(toWit, fromWit, answerToWit, world) {
  const wit = toWit(Conversation.fromJson(SAMPLE));
  for (let round = 0; round < ROUNDS; round++) {
    const c = fromWit(wit);
    const phrases = new Phrases(PHRASES);
    for (const t of c.turns) {
      phrases.findIn(t.text);
      phrases.findWordIn(t.text);
      phrases.findAffirmedIn(t.text);
      t.isAgent();
      t.isCustomer();
    }
    c.agentTurns();
    c.customerTurns();
    for (const [, call] of c.toolCalls()) c.toolResultFor(call.id);
    c.toolCallsNamed('cancel_subscription');
    c.toolResultsNamed('lookup_account');
    c.latestToolResult('lookup_account', 5);
    c.stateValue('account.subscription_status', 'lookup_account', 4);
    c.stateFact('account.tier', 'lookup_account');
    c.memory('account.flags');
    c.turn(3);
    const p = new Params({ tool: 'cancel_subscription', phrases: ['a', 'b'], within: 3, strict: true, threshold: 0.5 });
    p.denyUnknown(['tool', 'phrases', 'within', 'strict', 'threshold']);
    p.str('tool', 'x');
    p.strList('phrases', []);
    p.u64('within', 1);
    p.bool('strict', false);
    p.f64('threshold', 1.0);
    p.str('absent', 'default');
    const result = ScorecardResult.fromCriteria([CriterionResult.pass('a', 'fine'), CriterionResult.fail('b', 'turn 3 says "cancelled"', 3)]);
    result.suggestedCriteria.push(new SuggestedCriterion('must-say', { pattern: phrasesPattern(PHRASES, true), within_turns: 3 }, 'why'));
    canonicalJson(result);
    canonicalJson({ score: 0.5, n: [1, 2.25, null, 'é'] });
    parseJson('{"a": [1, 2.5, "x", {"b": null}]}', 'warm-up');
    if (world === 'scorecard') answerToWit(result);
    else {
      answerToWit(Verdict.fail('no', 2));
      answerToWit(Verdict.pass('yes'));
    }
  }
}

/** The plugin's own warm-up: `run(witConversation, paramsJson)` (the export's path:
 * convert, call the plugin, convert the answer) on every embedded sample, `ROUNDS`
 * times; nothing when the plugin did not ask for it. A sample the plugin fails on
 * stops the build, naming the sample. */
export function warmUpPlugin(toWit, run) {
  if (!samples) return;
  const hostLog = setLogBackend(() => {}); // no host at build time
  try {
    for (const [name, text, params] of samples) {
      try {
        const wit = toWit(Conversation.fromJson(text));
        for (let round = 0; round < ROUNDS; round++) run(wit, params ?? '{}');
      } catch (e) {
        const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        throw new Error(`warm-up sample ${name}: ${what}`);
      }
    }
  } finally {
    setLogBackend(hostLog);
  }
}
