// The model, params, results and golden-test loop of the JavaScript SDK.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { Conversation, CriterionResult, ModelError, Params, PluginError, ScorecardResult, SuggestedCriterion, Verdict, canonicalJson, canonicalJsonPretty, truthy, valueText } from '../src/index.js';
import { checkGoldenSamples } from '../src/testing.js';

const golden = new URL('../../../host/tests/golden/conversation/', import.meta.url);
const MINIMAL = {
  id: 'c1',
  channel: 'chat',
  turns: [
    { role: 'customer', text: 'I want a human' },
    { role: 'agent', tool_calls: [{ id: 'k1', name: 'lookup_account', arguments: { id: 7 } }] },
    { role: 'tool', tool_result: { call_id: 'k1', content: { subscription_status: 'none' } } },
    { role: 'agent', text: 'Cancelled.', tool_calls: [{ id: 'k2', name: 'cancel_subscription' }] },
    { role: 'tool', tool_result: { call_id: 'k2', name: 'cancel_subscription', content: 'ok' } },
  ],
  state: { memory_snapshot: [{ key: 'account.subscription_status', value: 'active' }, { key: 'account.supervisor_flag', value: 'yes' }] },
};

test("the host's golden conversations round-trip to the same canonical JSON", () => {
  for (const name of ['tuesday-cancellation', 'minimal-chat']) {
    const c = Conversation.fromJson(readFileSync(new URL(`${name}.json`, golden)));
    const expected = JSON.parse(readFileSync(new URL(`${name}.expected.json`, golden), 'utf8'));
    // Impact amounts are f64 in the schema: compare through the model, which knows.
    assert.equal(c.toJson(), Conversation.fromJSONValue(expected).toJson(), name);
  }
  const m = Conversation.fromJSONValue({ id: 'chat-1', channel: 'chat', turns: [{ role: 'customer', text: 'hello' }, { role: 'agent', text: 'Hi! How can I help?' }] });
  assert.equal(
    m.toJson(),
    '{"channel":"chat","id":"chat-1","impact":{"compliance_exposure":0.0,"escalation_cost":0.0,"refund_amount":0.0,"revenue_at_risk":0.0},"outcome":{"complaint":false,"escalated":false},"schema_version":1,"state":{},"turns":[{"role":"customer","text":"hello"},{"role":"agent","text":"Hi! How can I help?"}]}',
  );
});

test('unknown fields and versions are refused', () => {
  for (const [bad, msg] of [
    [{ id: 'x', channel: 'voice', turns: [], future: 1 }, /unknown field `future`/],
    [{ id: 'x', channel: 'voice', turns: [{ role: 'agent', txt: '' }] }, /unknown field `txt`/],
    [{ schema_version: 7, id: 'x', channel: 'voice', turns: [] }, /unknown schema_version 7/],
    [{ id: 'x', turns: [] }, /channel/],
    [{ id: 'x', channel: 'fax', turns: [] }, /fax/],
  ]) {
    assert.throws(() => Conversation.fromJSONValue(bad), (e) => e instanceof ModelError && msg.test(e.message));
  }
});

test('helpers', () => {
  const c = Conversation.fromJSONValue(MINIMAL);
  assert.deepEqual(c.agentTurns().map((t) => t.index), [1, 3]);
  assert.deepEqual(c.toolCalls().map(([i, x]) => [i, x.name]), [[1, 'lookup_account'], [3, 'cancel_subscription']]);
  assert.equal(c.latestToolResult('lookup_account')[0], 2);
  assert.equal(c.latestToolResult('lookup_account', 1), undefined);
  const key = 'account.subscription_status';
  assert.equal(c.stateValue(key, 'lookup_account', 1), 'active');
  assert.equal(c.stateValue(key, 'lookup_account', 3), 'none');
  assert.equal(c.stateFact(key, 'lookup_account', 3).source.describe(), 'lookup_account result at turn 2');
  assert.equal(c.stateFact(key, 'lookup_account', 0).source.describe(), 'memory account.subscription_status');
  assert.ok(truthy(c.memory('account.supervisor_flag')));
  assert.ok(!truthy(undefined) && !truthy('false') && !truthy(0));
  assert.equal(valueText(3), '3');
  assert.equal(valueText({ b: 1, a: 2 }), '{"a":2,"b":1}');
  assert.equal(valueText(null), undefined);
});

test("params messages are the Rust SDK's", () => {
  const p = new Params({ a: 'x', l: ['p', 'q'], n: 3, b: true, s: 'one', f: 2.5 });
  assert.deepEqual([p.str('a', 'd'), p.strList('s', []), p.u64('n', 0), p.bool('b', false), p.f64('f', 0)], ['x', ['one'], 3, true, 2.5]);
  assert.throws(() => p.denyUnknown(['a', 'l', 'n', 'b', 's']), { message: 'unknown param `f`, expected one of `a`, `l`, `n`, `b`, `s`' });
  for (const [params, call, message] of [
    [{ n: -1 }, (q) => q.u64('n', 0), 'param `n` must be a non-negative integer, got -1'],
    [{ n: true }, (q) => q.u64('n', 0), 'param `n` must be a non-negative integer, got true'],
    [{ l: ['a', 2] }, (q) => q.strList('l', []), 'param `l[1]` must be a string, got a number'],
    [{ l: 3 }, (q) => q.strList('l', []), 'param `l` must be a list of strings, got a number'],
    [{ b: 'yes' }, (q) => q.bool('b', false), 'param `b` must be true or false, got "yes"'],
  ]) {
    assert.throws(() => call(new Params(params)), (e) => e instanceof PluginError && e.message === message);
  }
  assert.throws(() => new Params([1]), { message: 'params must be a JSON object, got an array' });
  assert.equal(new Params(null).u64('k', 7), 7);
});

test("result JSON is the Rust SDK's", () => {
  const r = ScorecardResult.fromCriteria([new CriterionResult({ name: 'a', score: 1, passed: true, reason: 'ok', turn: 2 })]);
  r.suggestedCriteria.push(new SuggestedCriterion('must-escalate', {}, 'asked'));
  assert.equal(canonicalJson(r), '{"criteria":[{"name":"a","passed":true,"reason":"ok","score":1.0,"turn":2}],"flags":[],"score":1.0,"suggested_criteria":[{"kind":"must-escalate","params":{},"reason":"asked"}]}');
  assert.equal(canonicalJson(Verdict.fail('no', 1)), '{"passed":false,"reason":"no","turn":1}');
  const mixed = [CriterionResult.pass('a', ''), CriterionResult.fail('b', '', 3)];
  assert.equal(ScorecardResult.fromCriteria(mixed).score, 0.5);
  assert.equal(ScorecardResult.fromWeightedCriteria(mixed, [3, 1]).score, 0.75);
  assert.equal(ScorecardResult.fromWeightedCriteria(mixed, [0, 0]).score, 1);
});

function echo(data, options) {
  const v = JSON.parse(Buffer.from(data).toString('utf8'));
  if (v && typeof v === 'object' && 'bad' in v) throw new PluginError(`bad input: ${canonicalJson(v.bad)}`);
  return { input: v, options };
}

function sampleDir() {
  const d = mkdtempSync(join(tmpdir(), 'ratchet-sdk-js-'));
  mkdirSync(join(d, 'invalid'));
  writeFileSync(join(d, 'a.json'), '{"z": 1, "a": 2}');
  writeFileSync(join(d, 'a.options.json'), '{"mode": "x"}');
  writeFileSync(join(d, 'a.expected.json'), canonicalJsonPretty({ input: { a: 2, z: 1 }, options: { mode: 'x' } }));
  writeFileSync(join(d, 'b.jsonl'), '[3]');
  writeFileSync(join(d, 'b.expected.json'), canonicalJsonPretty({ input: [3], options: {} }));
  writeFileSync(join(d, 'invalid', 'c.json'), '{"bad": "nope"}');
  writeFileSync(join(d, 'invalid', 'c.error.txt'), 'bad input: "nope"\n');
  return d;
}

test('the golden loop passes matching samples and reports every mismatch', () => {
  const d = sampleDir();
  try {
    assert.deepEqual(checkGoldenSamples(d, 2, false, echo), { ok: true, samples: 2, invalid: 1 });
    writeFileSync(join(d, 'b.expected.json'), canonicalJsonPretty({ input: [4], options: {} }));
    writeFileSync(join(d, 'invalid', 'c.error.txt'), 'something else\n');
    const r = checkGoldenSamples(d, 3, false, echo);
    assert.equal(r.ok, false);
    assert.match(r.report, /b\.jsonl: output differs from/);
    assert.match(r.report, /invalid\/c\.json: error differs from/);
    assert.match(r.report, /expected at least 3 samples, found 2/);
    assert.doesNotMatch(r.report, /a\.json:/);
    let n = 0;
    assert.match(checkGoldenSamples(d, 2, false, () => ({ n: ++n })).report, /not deterministic/);
    unlinkSync(join(d, 'a.expected.json'));
    assert.equal(checkGoldenSamples(d, 2, true, echo).ok, true);
    assert.equal(checkGoldenSamples(d, 2, false, echo).ok, true);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('labels round-trip sorted, are left out when empty and must be strings', () => {
  const c = Conversation.fromJSONValue({ id: 'x', channel: 'chat', turns: [], labels: { tier: 'gold', crm: 'CS-1' } });
  assert.deepEqual(c.labels, { tier: 'gold', crm: 'CS-1' });
  assert.ok(c.toJson().includes('"labels":{"crm":"CS-1","tier":"gold"}'), c.toJson());
  assert.ok(!Conversation.fromJSONValue({ id: 'x', channel: 'chat', turns: [] }).toJson().includes('labels'));
  assert.throws(() => Conversation.fromJSONValue({ id: 'x', channel: 'chat', turns: [], labels: { n: 3 } }), /conversation\.labels\.n: expected a string/);
});
