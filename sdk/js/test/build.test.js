// bin/build.mjs without componentize-js: which WIT it targets, and which plugins get
// the ratchet:plugin/model import (only bundles that use src/judge.js).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { DEFAULT_WIT_VERSION, EXPORTS, LABEL_WORLDS, WORLDS, build, readManifest, usesJudge, witHasLabels, witPackage, witWorlds } from '../bin/build.mjs';

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

test('"ratchet.model" is a boolean, for the worlds that may import the model', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ratchet-build-test-'));
  try {
    writeFileSync(join(dir, 'app.js'), '');
    const manifest = (r) => {
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'x', ratchet: { entry: 'app.js', ...r } }));
      return readManifest(dir);
    };
    assert.equal(manifest({ world: 'assertion' }).model, null);
    assert.equal(manifest({ world: 'scorecard', model: true }).model, true);
    assert.throws(() => manifest({ world: 'adapter', model: true }), /cannot import ratchet:plugin\/model/);
    assert.throws(() => manifest({ world: 'assertion', model: 'yes' }), /expected true or false/);
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
