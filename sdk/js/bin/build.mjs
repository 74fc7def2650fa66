#!/usr/bin/env node
// Build a JavaScript plugin directory into a WebAssembly component.
//
//   node sdk/js/bin/build.mjs PLUGIN_DIR [-o OUT.wasm] [--wit WIT_DIR] [-q]
//
// The plugin directory holds a package.json naming the plugin and its world:
//
//   { "name": "my-scorecard", "version": "0.1.0", "type": "module",
//     "ratchet": { "world": "scorecard", "entry": "app.js" } }
//
// (world: scorecard, assertion, adapter or simulator.)
//
// Two steps: esbuild bundles the entry (and what it imports: the plugin's modules,
// this SDK) into one ES module, leaving the WIT imports (`ratchet:plugin/...`)
// external; then componentize-js 0.23 (called as a library: its `jco componentize`
// CLI fails on relative WIT paths) turns the bundle into a component for the world.
// WASI `http`/`fetch-event` are disabled (no network); clocks and random stay and
// are deterministic in ratchet's sandbox. The WIT package is the copy of
// wit/since_v0.1.3 this package carries (sdk/js/wit, kept identical to the released
// WIT by scripts/sync-wit, so the npm package builds anywhere; `--wit` or
// RATCHET_WIT_DIR override it; the simulator world needs
// 0.1.2 or later, a plugin that asks a model 0.1.1 or later); `ratchet:plugin/...`
// import specifiers are rewritten to its version. Needs `npm ci` in sdk/js.
//
// The model import. componentize-js gives a component every import of its world,
// used or not, and since 0.1.1 the scorecard and assertion worlds import
// `ratchet:plugin/model`. So a bundle that does not use src/judge.js (after
// tree-shaking) is built for a copy of the world without that import (a scratch
// package `ratchet-sdk:build` with the untouched WIT as a dependency), and one that
// does gets src/judge-wit.js (the import, wired to judge.js) added to it. Since 0.1.3
// the scorecard, assertion and adapter worlds also import `ratchet:plugin/labels`:
// their bundles get src/labels-wit.js (the import, wired to component.js, which fills
// `conversation.labels` and attaches an adapter's), and a world without the model
// import keeps the labels one.
// `"ratchet": {"model": true|false}` overrides the detection.
//
// Warm-up. componentize-js snapshots the component after evaluating the bundle, and
// ratchet starts every call from that snapshot. The SDK always warms its own per-call
// code inside it (src/warm-up.js); `"ratchet": {"warmUp": "DIR"}` (sample inputs in
// the golden-sample layout: NAME.json conversations, NAME.options.json params; `true`
// means the samples directory) also runs the plugin itself on each of them at build
// time (a generated module, evaluated before the entry, hands them over). A plugin
// that keeps state between calls sees those calls; a sample it fails on fails the
// build, naming it.

import { copyFileSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The worlds a JavaScript plugin can implement (`"ratchet".world`). */
export const WORLDS = ['scorecard', 'assertion', 'adapter', 'simulator'];
/** The interface each world exports (the name `app.js` exports it under). */
export const EXPORTS = { scorecard: 'scorer', assertion: 'asserter', adapter: 'converter', simulator: 'simulation' };
// Worlds whose plugin can be warmed up on sample conversations at build time.
const WARM_UP_WORLDS = ['scorecard', 'assertion'];
// Worlds that may import ratchet:plugin/model (since WIT 0.1.1).
const MODEL_WORLDS = ['scorecard', 'assertion'];
/** The WIT version the build targets by default (`wit/since_v<this>`). */
export const DEFAULT_WIT_VERSION = '0.1.3';
const SDK_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

class BuildError extends Error {}

function usage() {
  return 'usage: node sdk/js/bin/build.mjs PLUGIN_DIR [-o OUT.wasm] [--wit WIT_DIR] [-q]';
}

/** `{name, version, world, entry, samples, model, warmUp}` from `pluginDir`'s package.json (`model`: a boolean when set, else `null`; `warmUp`: a directory or `null`); a `BuildError` naming the field otherwise. */
export function readManifest(pluginDir) {
  const path = join(pluginDir, 'package.json');
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new BuildError(`${path}: ${e.code === 'ENOENT' ? 'not found (a JavaScript plugin directory has a package.json with "ratchet": {"world": ...})' : e.message}`);
  }
  const r = pkg.ratchet;
  if (!r || typeof r !== 'object') throw new BuildError(`${path}: no "ratchet" object (it names the plugin's world)`);
  if (!WORLDS.includes(r.world)) throw new BuildError(`${path}: "ratchet.world" is ${JSON.stringify(r.world)}; expected one of ${WORLDS.join(', ')}`);
  if (typeof pkg.name !== 'string' || !pkg.name) throw new BuildError(`${path}: "name" is missing`);
  const entry = r.entry ?? 'app.js';
  if (!existsSync(join(pluginDir, entry))) throw new BuildError(`${join(pluginDir, entry)}: not found ("ratchet.entry" names the module that exports the plugin)`);
  const model = r.model ?? null;
  if (model !== null && typeof model !== 'boolean') throw new BuildError(`${path}: "ratchet.model" is ${JSON.stringify(model)}; expected true or false`);
  if (model && !MODEL_WORLDS.includes(r.world)) throw new BuildError(`${path}: "ratchet.model" is true, but the ${r.world} world cannot import ratchet:plugin/model (only ${MODEL_WORLDS.join(' and ')} can)`);
  const samples = r.samples ?? 'samples';
  let warmUp = r.warmUp ?? false;
  if (warmUp === true) warmUp = samples;
  if (warmUp !== false && !(typeof warmUp === 'string' && warmUp)) throw new BuildError(`${path}: "ratchet.warmUp" is ${JSON.stringify(warmUp)}; expected a directory of sample inputs, true (the samples directory) or false`);
  if (warmUp && !WARM_UP_WORLDS.includes(r.world)) throw new BuildError(`${path}: "ratchet.warmUp" is for ${WARM_UP_WORLDS.join(' and ')} plugins, not the ${r.world} world`);
  return { name: pkg.name, version: pkg.version ?? '0.0.0', world: r.world, entry, samples, model, warmUp: warmUp || null };
}

/** `[[name, conversation JSON, params JSON or null], ...]` from a directory in the
 * golden-sample layout (`NAME.json` inputs sorted by name, `NAME.options.json`
 * params; `*.expected.json` and subdirectories ignored). */
export function warmUpSamples(pluginDir, dir) {
  const d = resolve(pluginDir, dir);
  if (!existsSync(d) || !statSync(d).isDirectory()) throw new BuildError(`${join(pluginDir, 'package.json')}: "ratchet.warmUp" is ${JSON.stringify(dir)}: ${d} is not a directory`);
  const out = [];
  for (const name of readdirSync(d).sort()) {
    const p = join(d, name);
    if (!statSync(p).isFile() || !name.endsWith('.json') || name.endsWith('.expected.json') || name.endsWith('.options.json')) continue;
    const options = join(d, `${name.slice(0, -'.json'.length)}.options.json`);
    out.push([name, readFileSync(p, 'utf8'), existsSync(options) ? readFileSync(options, 'utf8') : null]);
  }
  if (!out.length) throw new BuildError(`${join(pluginDir, 'package.json')}: "ratchet.warmUp" is ${JSON.stringify(dir)}: ${d} holds no NAME.json sample`);
  return out;
}

function witText(wit) {
  return readdirSync(wit)
    .filter((f) => f.endsWith('.wit'))
    .sort()
    .map((f) => readFileSync(join(wit, f), 'utf8'))
    .join('\n');
}

/** The names of the worlds the package in `wit` defines (`simulator` since 0.1.2). */
export function witWorlds(wit) {
  return [...witText(wit).matchAll(/^world ([a-z][a-z0-9-]*)\b/gm)].map((m) => m[1]);
}

/** `{version, hasModel}` of the ratchet:plugin package in `wit`. */
export function witPackage(wit) {
  const text = witText(wit);
  const m = /^package ratchet:plugin@([0-9A-Za-z.+-]+);/m.exec(text);
  if (!m) throw new BuildError(`${wit}: no \`package ratchet:plugin@X.Y.Z;\` in its .wit files`);
  return { version: m[1], hasModel: /^interface model\b/m.test(text) };
}

// A WIT directory whose world `world` is ratchet:plugin/WORLD minus the model import.
// Since 0.1.3 the world keeps its labels import (the SDK reads them).
function worldWithoutModel(wit, dir, world, version) {
  const dep = join(dir, 'deps', 'ratchet-plugin');
  mkdirSync(dep, { recursive: true });
  for (const f of readdirSync(wit).filter((f) => f.endsWith('.wit'))) copyFileSync(join(wit, f), join(dep, f));
  const labels = witHasLabels(wit) ? `    import ratchet:plugin/labels@${version};\n` : '';
  writeFileSync(
    join(dir, 'world.wit'),
    `package ratchet-sdk:build;\n\n/// ratchet:plugin/${world}@${version} without \`import model\`: this plugin never asks a model.\n` +
      `world ${world} {\n    import ratchet:plugin/host@${version};\n${labels}    export ratchet:plugin/${EXPORTS[world]}@${version};\n}\n`,
  );
  return dir;
}

/** Whether the package in `wit` has the `labels` interface (since 0.1.3). */
export function witHasLabels(wit) {
  return readdirSync(wit)
    .filter((f) => f.endsWith('.wit'))
    .some((f) => /^interface labels\b/m.test(readFileSync(join(wit, f), 'utf8')));
}

/** The worlds that import `labels` (since 0.1.3). */
export const LABEL_WORLDS = ['scorecard', 'assertion', 'adapter'];

async function load(name) {
  try {
    return await import(name);
  } catch (e) {
    throw new BuildError(`cannot load ${name} (${e.code ?? e.message}): install the SDK's dependencies (\`npm install\` where the SDK package is installed; in a ratchet checkout \`npm ci\` in sdk/js, which scripts/setup does)`);
  }
}

// esbuild options shared by the probe and the build: `ratchet:plugin/host@0.1.2` in
// the SDK's source becomes the version of the WIT built against; WIT imports stay external.
function bundleOptions(entry, version) {
  const witVersion = {
    name: 'ratchet-wit-version',
    setup(b) {
      b.onResolve({ filter: /^ratchet:plugin\// }, (a) => ({ path: `${a.path.replace(/@.*$/, '')}@${version}`, external: true }));
      b.onResolve({ filter: /^wasi:/ }, (a) => ({ path: a.path, external: true }));
    },
  };
  return { ...entry, bundle: true, format: 'esm', platform: 'neutral', target: 'es2022', legalComments: 'none', logLevel: 'silent', plugins: [witVersion] };
}

/** Whether the tree-shaken bundle of `entry` (a file) uses src/judge.js. */
export async function usesJudge(entry) {
  const esbuild = await load('esbuild');
  const probe = await esbuild.build({ ...bundleOptions({ entryPoints: [entry] }, '0.0.0'), write: false, metafile: true, outdir: tmpdir(), absWorkingDir: dirname(entry) });
  const judge = realpathSync(join(SDK_DIR, 'src', 'judge.js'));
  return Object.values(probe.metafile.outputs).some((o) =>
    Object.entries(o.inputs).some(([p, i]) => {
      const abs = resolve(dirname(entry), p);
      return i.bytesInOutput > 0 && existsSync(abs) && realpathSync(abs) === judge;
    }),
  );
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes a source map's `mappings` into, per generated line, the first segment's `[source, originalLine]` (0-based) or `null`. */
export function firstSegments(mappings) {
  const out = [];
  let src = 0;
  let line = 0;
  for (const genLine of mappings.split(';')) {
    let first = null;
    for (const seg of genLine.split(',')) {
      if (!seg) continue;
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const ch of seg) {
        const d = B64.indexOf(ch);
        value += (d & 31) << shift;
        if (d & 32) shift += 5;
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      if (fields.length >= 4) {
        // Source index, original line and column are deltas over the whole map.
        src += fields[1];
        line += fields[2];
        if (first === null) first = [src, line];
      }
    }
    out.push(first);
  }
  return out;
}

// Errors in the sandbox name a line of the bundle (`score@plugin.js:2605:5`): append to
// the bundle, from esbuild's source map, the original file and line of each bundle line,
// which the component glue (src/component.js) uses to name the author's `plugin.js:16`.
function appendLineTable(bundle, pluginDir) {
  const mapPath = `${bundle}.map`;
  const map = JSON.parse(readFileSync(mapPath, 'utf8'));
  const sources = map.sources.map((p) => {
    const abs = resolve(dirname(bundle), p);
    const rel = relative(pluginDir, abs);
    return rel.startsWith('..') ? abs : rel;
  });
  const lines = firstSegments(map.mappings).flatMap((x) => (x === null ? [-1, -1] : x));
  const code = readFileSync(bundle, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n');
  const table = JSON.stringify({ file: basename(bundle), sources, lines });
  writeFileSync(bundle, `${code}globalThis.__ratchetSourceLines = ${table};\n`);
  rmSync(mapPath, { force: true });
}

/** Builds `pluginDir` into the component `out` against the WIT directory `wit`; the manifest plus `witVersion`, `seconds` and `bytes`. */
export async function build(pluginDir, out, wit, quiet = false) {
  pluginDir = resolve(pluginDir);
  wit = resolve(wit);
  const m = readManifest(pluginDir);
  if (!existsSync(join(wit, 'types.wit'))) throw new BuildError(`${wit}: no types.wit here (pass --wit DIR or set RATCHET_WIT_DIR to a ratchet wit/since_v${DEFAULT_WIT_VERSION})`);
  const { version, hasModel } = witPackage(wit);
  if (!witWorlds(wit).includes(m.world))
    throw new BuildError(`${pluginDir}: "ratchet.world" is ${JSON.stringify(m.world)}, but ${wit} is ratchet:plugin@${version}, which has no ${m.world} world (the simulator world is new in 0.1.2): build against wit/since_v${DEFAULT_WIT_VERSION}`);
  const esbuild = await load('esbuild');
  const { componentize } = await load('@bytecodealliance/componentize-js');
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'ratchet-js-'));
  const cwd = process.cwd();
  try {
    const entry = join(pluginDir, m.entry);
    let model = m.model;
    if (model === null) model = MODEL_WORLDS.includes(m.world) && (await usesJudge(entry));
    if (model && m.warmUp)
      throw new BuildError(`${pluginDir}: "ratchet.warmUp" runs the plugin at build time, where there is no host to answer a model: a plugin that asks a model (src/judge.js) cannot be warmed up; remove warmUp`);
    if (model && !hasModel) throw new BuildError(`${pluginDir}: the plugin asks a model (src/judge.js), but ${wit} is ratchet:plugin@${version}, which has no model import: build against wit/since_v0.1.1 or later`);
    const bundle = join(work, 'plugin.js');
    const lines = [];
    if (model) lines.push(`import ${JSON.stringify(join(SDK_DIR, 'src', 'judge-wit.js'))};`);
    if (LABEL_WORLDS.includes(m.world) && witHasLabels(wit)) lines.push(`import ${JSON.stringify(join(SDK_DIR, 'src', 'labels-wit.js'))};`);
    if (m.warmUp) {
      // Evaluated before the entry, whose scorecard()/assertion() runs the warm-up.
      const samples = join(work, 'warm-up-samples.js');
      const warmUp = JSON.stringify(join(SDK_DIR, 'src', 'warm-up.js'));
      writeFileSync(samples, `import { setWarmUpSamples } from ${warmUp};\nsetWarmUpSamples(${JSON.stringify(warmUpSamples(pluginDir, m.warmUp))});\n`);
      lines.push(`import ${JSON.stringify(samples)};`);
    }
    lines.push(`export * from ${JSON.stringify(entry)};`);
    const r = await esbuild.build({
      ...bundleOptions({ stdin: { contents: lines.join('\n'), resolveDir: pluginDir, sourcefile: 'ratchet-entry.js', loader: 'js' } }, version),
      outfile: bundle,
      sourcemap: 'external',
      sourcesContent: false,
    });
    for (const w of r.warnings) console.error(`esbuild: ${w.text}`);
    appendLineTable(bundle, pluginDir);
    let witPath = wit;
    if (hasModel && !model && MODEL_WORLDS.includes(m.world)) witPath = worldWithoutModel(wit, join(work, 'wit'), m.world, version);
    // componentize-js maps the working directory into the engine during
    // pre-initialisation; run it from the scratch directory holding only the bundle.
    process.chdir(work);
    const { component } = await componentize({
      sourcePath: bundle,
      witPath,
      worldName: m.world,
      disableFeatures: ['http', 'fetch-event'],
    });
    process.chdir(cwd);
    mkdirSync(dirname(out), { recursive: true });
    const tmp = join(dirname(out), `.${m.name}.wasm.tmp.${process.pid}`);
    writeFileSync(tmp, component);
    renameSync(tmp, out);
    m.model = model;
  } catch (e) {
    process.chdir(cwd);
    if (e instanceof BuildError) throw e;
    const detail = e.errors ? e.errors.map((x) => `${x.location ? `${x.location.file}:${x.location.line}: ` : ''}${x.text}`).join('\n') : e.message;
    throw new BuildError(`${pluginDir}: build failed:\n${detail}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { ...m, witVersion: version, seconds: (Date.now() - started) / 1000, bytes: statSync(out).size };
}

async function main(argv) {
  let dir;
  let out;
  let wit = process.env.RATCHET_WIT_DIR || join(SDK_DIR, 'wit', `since_v${DEFAULT_WIT_VERSION}`);
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-o' || a === '--out') out = argv[++i];
    else if (a === '--wit') wit = argv[++i];
    else if (a === '-q' || a === '--quiet') quiet = true;
    else if (a === '-h' || a === '--help') {
      console.log(usage());
      return 0;
    } else if (a.startsWith('-')) throw new BuildError(`unknown option ${a}\n${usage()}`);
    else if (dir === undefined) dir = a;
    else throw new BuildError(`unexpected argument ${a}\n${usage()}`);
  }
  if (dir === undefined) throw new BuildError(usage());
  const m0 = readManifest(resolve(dir));
  out = resolve(out ?? join(dir, 'build', `${m0.name}.wasm`));
  const m = await build(dir, out, wit, quiet);
  if (!quiet) console.error(`built ${out} (${m.bytes.toLocaleString('en-US')} bytes, world ${m.world}@${m.witVersion}${m.model ? ', imports ratchet:plugin/model' : ''}) in ${m.seconds.toFixed(1)} s`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}` || fileURLToPath(import.meta.url) === resolve(process.argv[1] ?? '')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`build.mjs: error: ${e instanceof BuildError ? e.message : e.stack}`);
      process.exit(1);
    },
  );
}
