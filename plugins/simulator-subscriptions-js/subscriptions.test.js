// Native tests (no Wasm): `node --test`. The golden test runs the Rust original's
// samples: this port must write the same bytes as the Rust plugin, sample for sample
// (and refuse its invalid samples with the same messages). The unit tests are the
// Rust plugin's own.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Observed, PluginError, ToolRequest, canonicalJson, f64 } from '../../sdk/js/src/index.js';
import { goldenSamples, simulatorRunner } from '../../sdk/js/src/testing.js';
import { CANCEL, LOOKUP, REFUND, Subscriptions } from './subscriptions.js';

const samples = fileURLToPath(new URL('../simulator-subscriptions/samples', import.meta.url));
const s = new Subscriptions();
const lookup = (email, status) =>
  new Observed(new ToolRequest(LOOKUP, { email }), { account_id: 'A-1', subscription_status: status, plan: 'basic', supervisor_flag: false, last_charge_amount: 9.99 });
const call = (world, tool, args) => {
  const a = s.call(world, new ToolRequest(tool, args), {});
  assert.ok(a);
  return a;
};

test("samples match the Rust plugin's expected output, byte for byte", () => {
  const r = goldenSamples(samples, 4, simulatorRunner(s));
  assert.ok(r.samples >= 6 && r.invalid >= 2, JSON.stringify(r));
});

test('seeds from the first lookup and answers other paths', () => {
  const later = lookup('e@x', 'cancelled');
  later.request = new ToolRequest(LOOKUP, { account_id: 'A-1' });
  const world = s.seed([lookup('e@x', 'active'), later], {});
  assert.equal(world.accounts['A-1'].record.subscription_status, 'active', 'the state before the conversation');
  // A lookup the recording never made (by id instead of e-mail) is answered.
  assert.equal(call(world, LOOKUP, { account_id: 'A-1' }).result.account_id, 'A-1');
  assert.equal(call(world, LOOKUP, { email: 'other@x' }).isError, true);
});

test('a cancellation is visible to later reads and refunds are recorded', () => {
  const world = s.seed([lookup('e@x', 'active')], {});
  const cancelled = call(world, CANCEL, { account_id: 'A-1' });
  assert.equal(cancelled.result.cancelled_subscriptions, 1);
  assert.equal(world.accounts['A-1'].record.subscription_status, 'active', 'the world passed in is not changed');
  assert.equal(call(cancelled.world, LOOKUP, { email: 'e@x' }).result.subscription_status, 'cancelled');
  const again = call(cancelled.world, CANCEL, { account_id: 'A-1' });
  assert.deepEqual(again.result, { ok: true, cancelled_subscriptions: 0 }, 'as production: ok, nothing cancelled');
  // An exact float (as the host and the samples give it) stays a float.
  const refunded = call(again.world, REFUND, { account_id: 'A-1', amount: f64(49) });
  assert.equal(refunded.result.refund_id, 'R-SIM-1');
  assert.equal(canonicalJson(refunded.world.refunds), '[{"account_id":"A-1","amount":49.0}]');
  assert.equal(call(world, REFUND, { account_id: 'A-9' }).isError, true);
  assert.equal(s.call(world, new ToolRequest('send_email', {}), {}), null);
});

test('the Tuesday case changes no status', () => {
  const world = s.seed([lookup('e@x', 'none')], {});
  const after = call(world, CANCEL, { account_id: 'A-1' });
  assert.deepEqual(after.world, world, 'nothing changes: the harm is what the agent says');
});

test('a broken world is an error', () => {
  for (const world of [{}, { accounts: [] }, []]) {
    assert.throws(() => s.call(world, new ToolRequest(LOOKUP, { account_id: 'A-1' }), {}), (e) => e instanceof PluginError && e.message === 'the world has no `accounts` object');
  }
  assert.throws(() => call({ accounts: { 'A-1': {} }, refunds: {} }, REFUND, { account_id: 'A-1' }), (e) => e instanceof PluginError && e.message === 'world.refunds is not a list');
});
