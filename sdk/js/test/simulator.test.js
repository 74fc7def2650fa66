// Tool simulators, natively: the types read samples as the host reads them, the test
// helper checks the output as the host checks it (and keeps floats as the Rust SDK
// writes them), and the golden loop names the file when a sample or an output is not
// what the host would take.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { F64, ModelError, Observed, PluginError, PluginInfo, Simulated, ToolRequest, canonicalJson, canonicalJsonPretty, cloneJson, isJsonObject, parseJsonExact } from '../src/index.js';
import { MalformedOutput, SampleError, checkGoldenSamples, runSimulator, simulatorRunner } from '../src/testing.js';

// The example of the Rust SDK's `Simulator` documentation.
class Counter {
  info() {
    return new PluginInfo('counter', '0.1.0', 'A counter the agent can read and bump');
  }
  seed(observed) {
    const first = observed.find((o) => o.request.tool === 'read' && !o.isError);
    return { count: first ? first.result.count : 0 };
  }
  call(world, request) {
    if (request.tool === 'read') return Simulated.ok({ count: world.count }, world);
    if (request.tool === 'bump') return Simulated.ok({ ok: true }, { count: world.count + 1 });
    if (request.tool === 'fail') throw new PluginError(`cannot ${request.argStr('what')}`);
    return null;
  }
}

// Returns whatever `out` says, to check what the helper refuses.
const broken = (out) => ({ info: () => new PluginInfo('broken', '0.1.0', ''), seed: () => out, call: () => out });
const bytes = (text) => new TextEncoder().encode(text);

test('requests and observations are read as the host reads them', () => {
  const r = ToolRequest.fromJSONValue({ tool: 't', arguments: { a: 1, e: 'x' } });
  assert.deepEqual([r.tool, r.version, r.arguments], ['t', '', { a: 1, e: 'x' }]);
  assert.equal(r.argStr('e'), 'x');
  assert.equal(r.argStr('a'), null, 'not a string');
  assert.equal(new ToolRequest('t', []).argStr('a'), null, 'arguments that are not an object');
  const o = Observed.fromJSONValue({ request: { tool: 't', version: '1', arguments: {} }, result: null }, 'observed[0]');
  assert.deepEqual([o.result, o.isError], [null, false]);
  for (const [bad, message] of [
    [{ tool: 't' }, 'request: missing field `arguments`'],
    [{ arguments: {} }, 'request: missing field `tool`'],
    [{ tool: null, arguments: {} }, 'request.tool: expected a string, got null'],
    [{ tool: 't', version: new F64(1), arguments: {} }, 'request.version: expected a string, got a number'],
    [{ tool: 't', arguments: {}, extra: 1 }, 'request: unknown field `extra`, expected one of `tool`, `version`, `arguments`'],
    [[], 'request: expected an object, got an array'],
  ]) {
    assert.throws(() => ToolRequest.fromJSONValue(bad), (e) => e instanceof ModelError && e.message === message, message);
  }
  for (const [bad, message] of [
    [{ request: { tool: 't', arguments: {} } }, 'observed[2]: missing field `result`'],
    [{ request: { tool: 't', arguments: {} }, result: 1, is_error: 'yes' }, 'observed[2].is_error: expected a boolean, got a string'],
    [{ request: { tool: 1, arguments: {} }, result: 1 }, 'observed[2].request.tool: expected a string, got a number'],
  ]) {
    assert.throws(() => Observed.fromJSONValue(bad, 'observed[2]'), (e) => e instanceof ModelError && e.message === message, message);
  }
});

test('the JSON shapes are the Rust SDK\'s; cloneJson keeps exact numbers', () => {
  assert.equal(canonicalJson(Simulated.ok(1, { w: 1 })), '{"is_error":false,"result":1,"world":{"w":1}}');
  assert.equal(Simulated.error({ error: 'x' }, {}).isError, true);
  assert.equal(canonicalJson(new ToolRequest('t', {})), '{"arguments":{},"tool":"t","version":""}');
  const world = parseJsonExact('{"a": [49.0, 12345678901234567890, 1], "__proto__": {"x": 1e-7}}');
  const copy = cloneJson(world);
  assert.equal(canonicalJson(copy), '{"__proto__":{"x":1e-7},"a":[49.0,12345678901234567890,1]}');
  copy.a.push(2);
  assert.equal(world.a.length, 3, 'a deep copy');
  assert.ok(copy.a[0] instanceof F64 && copy.a[0] !== world.a[0]);
  assert.ok(isJsonObject({}) && !isJsonObject([]) && !isJsonObject(null) && !isJsonObject(new F64(1)));
});

test('runSimulator answers a call and seeds a world', () => {
  const out = runSimulator(new Counter(), bytes('{"world": {"count": 2}, "request": {"tool": "bump", "arguments": {}}}'), {});
  assert.deepEqual(out, { result: { ok: true }, is_error: false, world: { count: 3 } });
  assert.equal(runSimulator(new Counter(), bytes('{"world": {"count": 2}, "request": {"tool": "other", "arguments": {}}}'), {}), null);
  assert.deepEqual(runSimulator(new Counter(), bytes('{"observed": [{"request": {"tool": "read", "arguments": {}}, "result": {"count": 7}}]}'), null), { count: 7 });
  assert.throws(() => runSimulator(new Counter(), bytes('{"world": {}, "request": {"tool": "fail", "arguments": {"what": "x"}}}'), {}), PluginError);
  // Floats in the sample stay floats, as the component glue reads them.
  const read = runSimulator(new Counter(), bytes('{"world": {"count": 49.0}, "request": {"tool": "read", "arguments": {}}}'), {});
  assert.equal(canonicalJson(read), '{"is_error":false,"result":{"count":49.0},"world":{"count":49.0}}');
});

test('samples the host would refuse are SampleErrors naming the field', () => {
  const shapes = 'a simulator sample is {"world": {...}, "request": {"tool", "version", "arguments"}} (answer one call) or {"observed": [...]} (seed a world)';
  for (const [bad, message] of [
    ['[]', shapes],
    ['{"world": {}}', shapes],
    ['{"world": null, "request": {"tool": "t", "arguments": {}}}', shapes],
    ['{"world": {}, "request": {"tool": "t", "arguments": {}}, "observed": []}', shapes],
    ['{"world": {}, "request": {"tool": "t", "arguments": {}}, "params": {}}', `unknown field \`params\`: ${shapes}`],
    ['{"world": {}, "request": {"tool": "t"}}', 'request: missing field `arguments`'],
    ['{"observed": {}}', 'observed: expected an array, got an object'],
    ['{"observed": [{"request": {"tool": "t", "arguments": {}}}]}', 'observed[0]: missing field `result`'],
  ]) {
    assert.throws(() => runSimulator(new Counter(), bytes(bad), {}), (e) => e instanceof SampleError && e.message === message, bad);
  }
  assert.throws(() => runSimulator(new Counter(), bytes('{not json'), {}), (e) => e instanceof SampleError && e.message.startsWith('invalid JSON in sample: '));
});

test('outputs the host would refuse are MalformedOutput', () => {
  const call = bytes('{"world": {}, "request": {"tool": "t", "arguments": {}}}');
  const seed = bytes('{"observed": []}');
  for (const [out, data, message] of [
    [{ result: 1 }, call, 'call must return a Simulated or null, got Object'],
    [new Simulated(1, 'yes', {}), call, 'answer.isError must be a boolean, got string'],
    [Simulated.ok(1, []), call, 'answer.world must be a JSON object (the whole world after the call)'],
    [Simulated.ok(1, new F64(1)), call, 'answer.world must be a JSON object (the whole world after the call)'],
    [Simulated.ok(Symbol('x'), {}), call, 'answer.result is not JSON data: symbol is not JSON data'],
    [[], seed, 'seed returned a world that is not a JSON object'],
  ]) {
    assert.throws(() => runSimulator(broken(out), data, {}), (e) => e instanceof MalformedOutput && e.message === message, message);
  }
});

test('the golden loop names the file of a bad sample or a malformed output', () => {
  const d = mkdtempSync(join(tmpdir(), 'ratchet-sim-test-'));
  try {
    mkdirSync(join(d, 'invalid'));
    writeFileSync(join(d, 'good.json'), '{"world": {"count": 1.5}, "request": {"tool": "read", "arguments": {}}}');
    writeFileSync(join(d, 'good.expected.json'), canonicalJsonPretty(parseJsonExact('{"result": {"count": 1.5}, "is_error": false, "world": {"count": 1.5}}')));
    writeFileSync(join(d, 'typo.json'), '{"world": {}, "reqest": {"tool": "read", "arguments": {}}}');
    writeFileSync(join(d, 'invalid', 'refused.json'), '{"world": {}, "request": {"tool": "fail", "arguments": {"what": "x"}}}');
    writeFileSync(join(d, 'invalid', 'refused.error.txt'), 'cannot x\n');
    writeFileSync(join(d, 'invalid', 'malformed.json'), '{"world": {}, "request": {"tool": "read"}}');
    let r = checkGoldenSamples(d, 1, false, simulatorRunner(new Counter()));
    assert.equal(r.ok, false);
    assert.match(r.report, /typo\.json: not a valid sample: unknown field `reqest`/);
    assert.match(r.report, /invalid\/malformed\.json: not a valid sample: request: missing field `arguments`/);
    assert.doesNotMatch(r.report, /good\.json|refused/);
    unlinkSync(join(d, 'typo.json'));
    unlinkSync(join(d, 'invalid', 'malformed.json'));
    r = checkGoldenSamples(d, 1, false, simulatorRunner(new Counter()));
    assert.deepEqual(r, { ok: true, samples: 1, invalid: 1 });
    r = checkGoldenSamples(d, 1, false, simulatorRunner(broken(Simulated.ok(1, 'not a world'))));
    assert.match(r.report, /good\.json: malformed output \(the host would refuse it\): answer\.world must be a JSON object/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
