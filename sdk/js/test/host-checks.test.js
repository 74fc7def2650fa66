// The native sample runners check results as the sandbox does: a scorecard, assertion
// or adapter whose result the component glue would trap on or the host would refuse
// (wrong type, NaN or out-of-range score, a turn outside the conversation, params that
// are not an object, an empty conversation id, an oversized output) fails its native
// test with the host's words, instead of passing natively and trapping in Wasm.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Conversation, Converted, CriterionResult, ScorecardResult, SuggestedCriterion, Verdict } from '../src/index.js';
import { MAX_OUTPUT_BYTES, MalformedOutput, adapterRunner, assertionRunner, scorecardRunner } from '../src/testing.js';

const CONVERSATION = {
  schema_version: 1, id: 'c-1', channel: 'chat', started_at: '2026-11-24T09:31:04Z',
  turns: [{ role: 'customer', text: 'hi' }, { role: 'agent', text: 'hello' }],
};
const DATA = new TextEncoder().encode(JSON.stringify(CONVERSATION));
const returns = (value) => ({ score: () => value, check: () => value, convert: () => value });
const crit = (o = {}) => new CriterionResult({ name: 'c', score: 1, passed: true, reason: '', ...o });

function refused(run, words) {
  assert.throws(run, (e) => e instanceof MalformedOutput && e.message.includes(words), words);
}

test('a good scorecard result passes', () => {
  const r = ScorecardResult.fromCriteria([crit({ turn: 1 }), crit({ name: 'd', score: 0, passed: false })]);
  assert.equal(scorecardRunner(returns(r))(DATA, {}), r);
});

test('what the sandbox refuses from a scorecard is refused natively', () => {
  const run = (v) => () => scorecardRunner(returns(v))(DATA, {});
  refused(run(undefined), 'score must return a ScorecardResult, got undefined');
  refused(run(new ScorecardResult({ score: NaN })), 'score is NaN, outside [0, 1]');
  refused(run(new ScorecardResult({ score: 1.5 })), 'score is 1.5, outside [0, 1]');
  refused(run(new ScorecardResult({ score: '1' })), 'score must be a number, got string');
  refused(run(new ScorecardResult({ score: 1, criteria: [crit({ score: Infinity })] })), 'criteria[0] (`c`).score is inf, outside [0, 1]');
  refused(run(new ScorecardResult({ score: 1, criteria: [crit({ turn: 2 })] })), 'criteria[0] (`c`) points at turn 2, but the conversation has 2 turns');
  refused(run(new ScorecardResult({ score: 1, criteria: [crit({ passed: 'false' })] })), 'criteria[0] (`c`).passed must be a boolean, got string');
  refused(run(new ScorecardResult({ score: 1, flags: [1] })), 'flags[0] must be a string, got number');
  refused(run(new ScorecardResult({ score: 1, suggestedCriteria: [new SuggestedCriterion('must-say', ['x'])] })), 'suggested_criteria[0].params must be a JSON object');
  refused(run(new ScorecardResult({ score: 1, flags: ['x'.repeat(MAX_OUTPUT_BYTES + 1)] })), "over the host's limit");
});

test('verdicts and conversions are checked too', () => {
  const sample = new TextEncoder().encode(JSON.stringify({ transcript: CONVERSATION, params: {} }));
  const ok = new Verdict({ passed: true, reason: 'fine', turn: 1 });
  assert.equal(assertionRunner(returns(ok))(sample, {}), ok);
  refused(() => assertionRunner(returns(true))(sample, {}), 'check must return a Verdict, got boolean');
  refused(() => assertionRunner(returns(new Verdict({ passed: false, reason: '', turn: 5 })))(sample, {}), 'verdict points at turn 5, but the conversation has 2 turns');

  const c = Conversation.fromJson(DATA);
  const good = [new Converted(c, ['state'])];
  assert.equal(adapterRunner(returns(good))(DATA, {}), good);
  refused(() => adapterRunner(returns(c))(DATA, {}), "convert's result must be an array of Converted, got Conversation");
  const nameless = Conversation.fromJson(DATA);
  nameless.id = '';
  refused(() => adapterRunner(returns([new Converted(nameless, [])]))(DATA, {}), 'conversations[0]: id is empty');
});
