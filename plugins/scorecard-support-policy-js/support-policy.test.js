// Native tests (no Wasm): `node --test`. The golden test runs the Rust original's
// samples: this port must write the same bytes as the Rust plugin.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Conversation, PluginError } from '../../sdk/js/src/index.js';
import { goldenSamples, scorecardRunner } from '../../sdk/js/src/testing.js';
import { ACTION_VS_STATE, ESCALATION, POLICY_IN_TIME, SupportPolicy } from './support-policy.js';

const samples = fileURLToPath(new URL('../scorecard-support-policy/samples', import.meta.url));
const conv = (turns, memory = [], escalated = false) => Conversation.fromJSONValue({ id: 't', channel: 'chat', turns, outcome: { escalated }, state: { memory_snapshot: memory } });
const crit = (r, name) => r.criteria.find((c) => c.name === name);
const p = new SupportPolicy();

test("samples match the Rust plugin's expected output, byte for byte", () => {
  assert.ok(goldenSamples(samples, 3, scorecardRunner(p)).samples >= 3);
});

test('empty conversation passes everything', () => {
  const r = p.score(conv([]), null);
  assert.equal(r.score, 1);
  assert.ok(r.allPassed());
  assert.equal(r.criteria.length, 4);
});

test('cancel with unknown status fails and suggests the state condition', () => {
  const r = p.score(conv([{ role: 'agent', text: 'Per our cancellation policy, cancelling.', tool_calls: [{ id: '1', name: 'cancel_subscription', arguments: {} }] }]), {});
  const a = crit(r, ACTION_VS_STATE);
  assert.equal(a.passed, false);
  assert.equal(a.turn, 0);
  assert.match(a.reason, /unknown/);
  assert.deepEqual(r.suggestedCriteria[0].params, { tool: 'cancel_subscription', unless: { state: 'account.subscription_status', equals: 'active' } });
  assert.ok(crit(r, POLICY_IN_TIME).passed);
  assert.equal(r.score, 0.75);
});

test('the policy window is a param', () => {
  const turns = [{ role: 'agent', text: 'Our cancellation policy: no refunds.' }, ...Array(3).fill({ role: 'agent', text: 'Let me check.' }), { role: 'agent', tool_calls: [{ id: 'c', name: 'cancel_subscription' }] }];
  const c = conv(turns, [{ key: 'account.subscription_status', value: 'active' }]);
  assert.equal(crit(p.score(c, {}), POLICY_IN_TIME).passed, false);
  assert.equal(crit(p.score(c, { policy_within_turns: 4 }), POLICY_IN_TIME).passed, true);
});

test('escalation request honoured by the outcome', () => {
  const turns = [{ role: 'customer', text: 'Let me talk to your manager.' }, { role: 'agent', text: 'I can help you myself.' }];
  assert.equal(crit(p.score(conv(turns), {}), ESCALATION).passed, false);
  assert.ok(p.score(conv(turns, [], true), {}).allPassed());
});

test('bad params are errors with the Rust messages', () => {
  assert.throws(() => p.score(conv([]), { policy_within_turns: '3' }), (e) => e instanceof PluginError && e.message === 'param `policy_within_turns` must be a non-negative integer, got "3"');
  assert.throws(() => p.score(conv([]), []), PluginError);
  assert.throws(() => p.score(conv([]), { policy_within_turn: 3 }), /^PluginError: unknown param `policy_within_turn`/);
});
