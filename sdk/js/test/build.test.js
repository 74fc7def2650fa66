// bin/build.mjs without componentize-js: which WIT it targets, and which plugins get
// the ratchet:plugin/model import (only bundles that use src/judge.js).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { DEFAULT_WIT_VERSION, EXPORTS, LABEL_WORLDS, WORLDS, build, readManifest, usesJudge, warmUpSamples, witHasLabels, witPackage, witWorlds } from '../bin/build.mjs';
import { ROUNDS, setWarmUpSamples, warmUpPlugin, warmUpSdk } from '../src/warm-up.js';
import { Conversation, ScorecardResult, Verdict, log } from '../src/index.js';
import { setLogBackend } from '../src/log.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const haveEsbuild = existsSync(fileURLToPath(new URL('../node_modules/esbuild', import.meta.url)));

test('the WIT packages: 0.1.3 (the default) adds labels, 0.1.2 the simulator world, 0.1.1 the model interface', () => {
  assert.equal(DEFAULT_WIT_VERSION, '0.1.3');
  assert.deepEqual(witPackage(join(root, 'wit/since_v0.1.3')), { version: '0.1.3', hasModel: true });
  assert.deepEqual(witPackage(join(root, 'wit/since_v0.1.2')), { version: '0.1.2', hasModel: true });
  assert.equal(witHasLabels(join(root, 'wit/since_v0.1.3')), true);
  assert.equal(witHasLabels(join(root, 'wit/since_v0.1.2')), false);
  assert.deepEqual(LABEL_WORLDS, ['scorecard', 'assertion', 'adapter']);
  assert.deepEqual(witPackage(join(root, 'wit/since_v0.1.1')), { version: '0.1.1', hasModel: true });
  assert.deepEqual(witPackage(join(root, 'wit/since_v0.1.0')), { version: '0.1.0', hasModel: false });
  // Every world a JavaScript plugin may implement is in the default WIT.
  const worlds = witWorlds(join(root, 'wit/since_v0.1.3'));
  for (const w of WORLDS) assert.ok(worlds.includes(w), w);
  assert.equal(EXPORTS.simulator, 'simulation');
  assert.ok(!witWorlds(join(root, 'wit/since_v0.1.1')).includes('simulator'));
});

test('a simulator needs the 0.1.2 WIT: refused before anything is bundled', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ratchet-build-test-'));
  try {
    writeFileSync(join(dir, 'app.js'), '');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'sim', ratchet: { world: 'simulator' } }));
    assert.equal(readManifest(dir).world, 'simulator');
    await assert.rejects(build(dir, join(dir, 'out.wasm'), join(root, 'wit/since_v0.1.1')), /ratchet:plugin@0\.1\.1, which has no simulator world .*wit\/since_v0\.1\.3/);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'sim', ratchet: { world: 'simulator', model: true } }));
    assert.throws(() => readManifest(dir), /cannot import ratchet:plugin\/model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** `manifest(ratchet)`: `dir`'s manifest with `ratchet` as its "ratchet" object. */
function manifestIn(dir) {
  writeFileSync(join(dir, 'app.js'), '');
  return (r) => {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', ratchet: { entry: 'app.js', ...r } }));
    return readManifest(dir);
  };
}

test('"ratchet.model" is a boolean, for the worlds that may import the model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ratchet-build-test-'));
  try {
    const manifest = manifestIn(dir);
    assert.equal(manifest({ world: 'assertion' }).model, null);
    assert.equal(manifest({ world: 'scorecard', model: true }).model, true);
    assert.throws(() => manifest({ world: 'adapter', model: true }), /cannot import ratchet:plugin\/model/);
    assert.throws(() => manifest({ world: 'assertion', model: 'yes' }), /expected true or false/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('"ratchet.warmUp": a directory of samples (true: the samples one), for scorecards and assertions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ratchet-build-test-'));
  try {
    const manifest = manifestIn(dir);
    assert.equal(manifest({ world: 'scorecard' }).warmUp, null);
    assert.equal(manifest({ world: 'scorecard', warmUp: false }).warmUp, null);
    assert.equal(manifest({ world: 'scorecard', warmUp: true }).warmUp, 'samples');
    assert.equal(manifest({ world: 'assertion', samples: 'golden', warmUp: true }).warmUp, 'golden');
    assert.equal(manifest({ world: 'assertion', warmUp: 'more' }).warmUp, 'more');
    assert.throws(() => manifest({ world: 'adapter', warmUp: true }), /"ratchet.warmUp" is for scorecard and assertion plugins, not the adapter world/);
    assert.throws(() => manifest({ world: 'scorecard', warmUp: 3 }), /"ratchet.warmUp" is 3; expected a directory/);

    assert.throws(() => warmUpSamples(dir, 'samples'), /is not a directory/);
    mkdirSync(join(dir, 'samples', 'invalid'), { recursive: true });
    assert.throws(() => warmUpSamples(dir, 'samples'), /holds no NAME.json sample/);
    for (const [name, text] of [['b.json', '{}'], ['a.json', '[]'], ['a.options.json', '{"k": 1}'], ['a.expected.json', 'x'], ['notes.txt', 'x'], ['invalid/c.json', '{']])
      writeFileSync(join(dir, 'samples', name), text);
    // Inputs sorted by name, with their params; outputs, other files and subdirectories left out.
    assert.deepEqual(warmUpSamples(dir, 'samples'), [['a.json', '[]', '{"k": 1}'], ['b.json', '{}', null]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the SDK warm-up runs its paths natively without the plugin; the plugin warm-up runs each sample and names the one that fails', () => {
  const answers = [];
  warmUpSdk((c) => c, (c) => c, (a) => answers.push(a), 'scorecard');
  assert.equal(answers.length, ROUNDS);
  assert.ok(answers.every((a) => a instanceof ScorecardResult));
  answers.length = 0;
  warmUpSdk((c) => c, (c) => c, (a) => answers.push(a), 'assertion');
  assert.ok(answers.length && answers.every((a) => a instanceof Verdict));

  const calls = [];
  warmUpPlugin((c) => c, (c, p) => calls.push(p));
  assert.deepEqual(calls, [], 'no samples embedded: nothing runs');
  const good = '{"id": "g", "channel": "chat", "turns": []}';
  setWarmUpSamples([['good.json', good, '{"x": 1}'], ['other.json', good, null]]);
  try {
    warmUpPlugin((c) => c, (c, p) => calls.push(p));
    assert.deepEqual(calls, [...Array(ROUNDS).fill('{"x": 1}'), ...Array(ROUNDS).fill('{}')]);
    // What the plugin logs during its warm-up goes nowhere (no host at build time);
    // the backend is put back afterwards, also after a failure.
    const seen = [];
    const previous = setLogBackend((level, message) => seen.push(message));
    try {
      warmUpPlugin((c) => c, () => log('info', 'warming'));
      assert.deepEqual(seen, []);
      assert.throws(() => warmUpPlugin((c) => c, () => { throw new Error('x'); }));
      log('info', 'after');
      assert.deepEqual(seen, ['after']);
    } finally {
      setLogBackend(previous);
    }
    assert.ok(calls.length && Conversation.fromJson(good).id === 'g');
    assert.throws(() => warmUpPlugin((c) => c, () => { throw new TypeError('no such tool'); }), /^Error: warm-up sample good.json: TypeError: no such tool$/);
    setWarmUpSamples([['broken.json', '{', null]]);
    assert.throws(() => warmUpPlugin((c) => c, () => null), /^Error: warm-up sample broken.json: /);
  } finally {
    setWarmUpSamples(null);
  }
});

test('a plugin that asks a model cannot be warmed up: refused before anything is built', { skip: !haveEsbuild && 'needs `npm ci` in sdk/js (esbuild)' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ratchet-build-test-'));
  try {
    manifestIn(dir)({ world: 'assertion', model: true, warmUp: true });
    const out = join(dir, 'out.wasm');
    await assert.rejects(build(dir, out, join(root, 'wit/since_v0.1.3'), true), /a plugin that asks a model \(src\/judge.js\) cannot be warmed up/);
    assert.ok(!existsSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('only a bundle that uses judge.js imports the model', { skip: !haveEsbuild && 'needs `npm ci` in sdk/js (esbuild)' }, async () => {
  assert.equal(await usesJudge(join(root, 'plugins/assertion-llm-rubric-js/app.js')), true);
  assert.equal(await usesJudge(join(root, 'plugins/assertion-no-false-confirmation-js/app.js')), false);
  assert.equal(await usesJudge(join(root, 'plugins/scorecard-support-policy-js/app.js')), false);
  // Imported but never used: tree-shaken away, no import.
  const dir = mkdtempSync(join(tmpdir(), 'ratchet-build-test-'));
  try {
    const sdk = JSON.stringify(join(root, 'sdk/js/src/judge.js'));
    writeFileSync(join(dir, 'unused.js'), `import { complete } from ${sdk};\nexport const x = 1;\n`);
    writeFileSync(join(dir, 'used.js'), `import { complete } from ${sdk};\nexport const x = () => complete(null);\n`);
    assert.equal(await usesJudge(join(dir, 'unused.js')), false);
    assert.equal(await usesJudge(join(dir, 'used.js')), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('source maps: the bundle line table decodes VLQ mappings, and locations map to the author’s file and line', async () => {
  const { firstSegments } = await import('../bin/build.mjs');
  const { sourceLocation } = await import('../src/location.js');
  // Line 1: source 0 line 0; line 2: source 0 line 1; line 3: nothing; line 4: source 1 line 3 (deltas carry over).
  assert.deepEqual(firstSegments('AAAA;AACA;;ACEA'), [[0, 0], [0, 1], null, [1, 3]]);
  const table = { file: 'plugin.js', sources: ['../sdk/src/params.js', 'plugin.js'], lines: [0, 0, 0, 1, -1, -1, 1, 3] };
  assert.equal(sourceLocation('score@plugin.js:4:5', table), 'score@plugin.js:4');
  assert.equal(sourceLocation('score@plugin.js:2:9', table), 'score@../sdk/src/params.js:2');
  // A line the table has no source for, another file, or no table: unchanged.
  assert.equal(sourceLocation('score@plugin.js:3:1', table), 'score@plugin.js:3:1');
  assert.equal(sourceLocation('score@other.js:4:5', table), 'score@other.js:4:5');
  assert.equal(sourceLocation('score@plugin.js:4:5', undefined), 'score@plugin.js:4:5');
});
