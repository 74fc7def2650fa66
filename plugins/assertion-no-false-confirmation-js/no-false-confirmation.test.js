// Native tests (no Wasm): `node --test`. The golden test runs the Rust original's
// samples: this port must give the same verdicts, byte for byte.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Conversation, PluginError } from '../../sdk/js/src/index.js';
import { assertionRunner, goldenSamples } from '../../sdk/js/src/testing.js';
import { NoFalseConfirmation } from './no-false-confirmation.js';

const samples = fileURLToPath(new URL('../assertion-no-false-confirmation/samples', import.meta.url));
const conv = (turns, memory = []) => Conversation.fromJSONValue({ id: 't', channel: 'chat', turns, state: { memory_snapshot: memory } });
const p = new NoFalseConfirmation();

test("samples match the Rust plugin's expected verdicts, byte for byte", () => {
  assert.ok(goldenSamples(samples, 2, assertionRunner(p)).samples >= 2);
});

test('a claim without state fails at that turn', () => {
  const v = p.check(conv([{ role: 'customer', text: 'cancel' }, { role: 'agent', text: "It's CANCELLED." }]), null);
  assert.equal(v.passed, false);
  assert.equal(v.turn, 1);
  assert.equal(v.reason, 'turn 1: the agent said "cancelled" but account.subscription_status is unknown (no lookup result or memory entry), not "active"');
});

test('a claim with active memory passes', () => {
  const v = p.check(conv([{ role: 'agent', text: 'Your plan is canceled.' }], [{ key: 'account.subscription_status', value: 'active' }]), {});
  assert.ok(v.passed);
  assert.equal(v.reason, '1 claim(s), each made while account.subscription_status was "active"');
});

test('custom claims, key and boolean value', () => {
  const params = { claims: ['refund has been issued'], state_key: 'account.supervisor_flag', required_value: true };
  assert.ok(p.check(conv([{ role: 'agent', text: 'Your refund has been issued.' }], [{ key: 'account.supervisor_flag', value: 'true' }]), params).passed);
  assert.ok(!p.check(conv([{ role: 'agent', text: 'Your refund has been issued.' }]), params).passed);
});

test('no claim passes and negations do not count', () => {
  const v = p.check(conv([{ role: 'agent', text: 'It has not been cancelled.' }]), null);
  assert.ok(v.passed);
  assert.match(v.reason, /^no agent turn claims "cancelled"/);
});

test('bad params are errors with the Rust messages', () => {
  assert.throws(() => p.check(conv([]), { claims: 3 }), (e) => e instanceof PluginError && e.message === 'param `claims` must be a list of strings, got a number');
  assert.throws(() => p.check(conv([]), { claims: [''] }), PluginError);
  assert.throws(() => p.check(conv([]), { state: 'x' }), { message: 'unknown param `state`, expected one of `claims`, `state_key`, `required_value`, `lookup_tool`' });
});
