// Golden-file tests for plugins, run natively (`node --test`, no Wasm): the same
// loop as the Rust SDK's `ratchet_sdk::testing::golden_samples`, on the same
// directory layout, so a JavaScript port can be checked against the Rust plugin's
// own `samples/`:
//
//   <stem>.json / .jsonl       an input; its raw bytes are passed to `run`
//   <stem>.options.json        optional: the JSON value passed to `run` as options (else {}, as the host sends)
//   <stem>.expected.json       the expected output, canonical pretty JSON, byte for byte
//   invalid/<stem>.json(l)     optional: an input `run` must reject with a PluginError
//   invalid/<stem>.error.txt   the exact error message (one trailing newline allowed)
//
// Every input is run twice (same bytes both times). RATCHET_UPDATE_GOLDEN=1 rewrites
// the expected files instead (review the diff).
//
// A `run` may throw a `SampleError` (the input is not a valid sample: the host would
// refuse it before calling the plugin) or a `MalformedOutput` (the plugin returned
// something the host would refuse, e.g. a simulator's world that is not an object);
// both are reported as failures naming the file, in invalid/ too: an invalid sample
// must be refused by the plugin itself.

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { canonicalJson, canonicalJsonPretty, parseJson, parseJsonExact, ParseError } from './canonical.js';
import { PluginError } from './errors.js';
import { Conversation, ModelError } from './model.js';
import { kindOf } from './params.js';
import { Observed, Simulated, ToolRequest, isJsonObject } from './simulator.js';

/** Environment variable that switches golden tests to rewriting the expected files. */
export const UPDATE_ENV = 'RATCHET_UPDATE_GOLDEN';

/** An input file that is not a valid sample for its kind of plugin (`ratchet plugin run` would refuse it too); the message names the field. */
export class SampleError extends Error {
  constructor(message) {
    super(message);
    this.name = 'SampleError';
  }
}

/** The plugin returned something the host refuses as malformed (not the plugin's own error: in a component the call fails as a contract breach). */
export class MalformedOutput extends Error {
  constructor(message) {
    super(message);
    this.name = 'MalformedOutput';
  }
}

// How a sample that is not one, or an output the host would refuse, is reported.
function misfit(e) {
  if (e instanceof SampleError) return `not a valid sample: ${e.message}`;
  if (e instanceof MalformedOutput) return `malformed output (the host would refuse it): ${e.message}`;
  return null;
}

function inputs(dir) {
  return readdirSync(dir)
    .sort()
    .filter((name) => statSync(join(dir, name)).isFile())
    .filter((name) => !name.endsWith('.expected.json') && !name.endsWith('.options.json'))
    .map((name) => (name.endsWith('.jsonl') ? [name, name.slice(0, -6)] : name.endsWith('.json') ? [name, name.slice(0, -5)] : null))
    .filter(Boolean);
}

function options(dir, stem) {
  const p = join(dir, `${stem}.options.json`);
  // Without a file: `{}`, what the host sends an adapter with no options configured.
  return existsSync(p) ? parseJson(readFileSync(p, 'utf8'), p) : {};
}

function diff(expected, actual) {
  const a = expected.split('\n');
  const b = actual.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  let j = 0;
  while (j < a.length - i && j < b.length - i && a[a.length - 1 - j] === b[b.length - 1 - j]) j++;
  const out = [`@@ line ${Math.max(i - 3, 0) + 1} @@`];
  for (const l of a.slice(Math.max(i - 3, 0), i)) out.push('  ' + l);
  for (const l of a.slice(i, a.length - j)) out.push('- ' + l);
  for (const l of b.slice(i, b.length - j)) out.push('+ ' + l);
  return out.slice(0, 40).join('\n');
}

/**
 * Checks (or, with `update`, rewrites) the golden files in `dir`.
 * @returns {{ok: true, samples: number, invalid: number} | {ok: false, report: string}}
 */
export function checkGoldenSamples(dir, min, update, run) {
  const failures = [];
  const samples = inputs(dir);
  for (const [name, stem] of samples) {
    const data = readFileSync(join(dir, name));
    let actual;
    let again;
    try {
      const opts = options(dir, stem);
      actual = canonicalJsonPretty(run(data, opts));
      again = canonicalJsonPretty(run(data, opts));
    } catch (e) {
      if (misfit(e)) {
        failures.push(`${name}: ${misfit(e)}`);
        continue;
      }
      if (!(e instanceof PluginError)) throw e;
      failures.push(`${name}: run failed: ${e.message}`);
      continue;
    }
    if (again !== actual) {
      failures.push(`${name}: not deterministic (two runs gave different output)\n${diff(actual, again)}`);
      continue;
    }
    const expectedPath = join(dir, `${stem}.expected.json`);
    if (update) {
      writeFileSync(expectedPath, actual);
      continue;
    }
    if (!existsSync(expectedPath)) {
      failures.push(`${name}: ${expectedPath}: missing`);
      continue;
    }
    const expected = readFileSync(expectedPath, 'utf8');
    if (actual !== expected) failures.push(`${name}: output differs from ${expectedPath} (- expected, + actual)\n${diff(expected, actual)}`);
  }
  if (samples.length < min) failures.push(`${dir}: expected at least ${min} samples, found ${samples.length}`);

  const invalidDir = join(dir, 'invalid');
  let invalid = 0;
  if (existsSync(invalidDir) && statSync(invalidDir).isDirectory()) {
    const cases = inputs(invalidDir);
    invalid = cases.length;
    if (!cases.length) failures.push(`${invalidDir}: directory exists but holds no invalid samples`);
    for (const [file, stem] of cases) {
      const name = `invalid/${file}`;
      const data = readFileSync(join(invalidDir, file));
      const opts = options(invalidDir, stem);
      const attempt = () => {
        try {
          return { out: run(data, opts) };
        } catch (e) {
          if (misfit(e)) return { misfit: misfit(e) };
          if (!(e instanceof PluginError)) throw e;
          return { err: e.message };
        }
      };
      const first = attempt();
      if (first.misfit !== undefined) {
        failures.push(`${name}: ${first.misfit}`);
        continue;
      }
      if (first.err === undefined) {
        failures.push(`${name}: should fail but succeeded with\n${canonicalJsonPretty(first.out)}`);
        continue;
      }
      if (attempt().err !== first.err) {
        failures.push(`${name}: not deterministic (two runs gave different results)`);
        continue;
      }
      const expectedPath = join(invalidDir, `${stem}.error.txt`);
      if (update) {
        writeFileSync(expectedPath, first.err + '\n');
        continue;
      }
      if (!existsSync(expectedPath)) {
        failures.push(`${name}: ${expectedPath}: missing`);
        continue;
      }
      let expected = readFileSync(expectedPath, 'utf8');
      if (expected.endsWith('\n')) expected = expected.slice(0, -1);
      if (first.err !== expected) failures.push(`${name}: error differs from ${expectedPath}\n  expected: ${expected}\n  actual:   ${first.err}`);
    }
  }
  if (failures.length) {
    let report = `golden test failed (${failures.length} problem(s)) in ${dir}:\n\n` + failures.join('\n\n');
    if (!update) report += `\n\n(if the new output is intended, rerun with ${UPDATE_ENV}=1 and review the diff)`;
    return { ok: false, report };
  }
  return { ok: true, samples: samples.length, invalid };
}

/** Checks the golden files in `dir` (rewrites them with RATCHET_UPDATE_GOLDEN set); throws an Error with a report of every problem. */
export function goldenSamples(dir, min, run) {
  const r = checkGoldenSamples(dir, min, !!process.env[UPDATE_ENV], run);
  if (!r.ok) throw new Error(r.report);
  return { samples: r.samples, invalid: r.invalid };
}

/** The host's default limit on one call's output (`[sandbox] max_output_bytes`, 4 MiB). */
export const MAX_OUTPUT_BYTES = 4 << 20;

// A number as the host (Rust) writes it in its messages.
const floatText = (v) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Number.isInteger(v) ? v.toFixed(1) : String(v));
const typeName = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v);

function expectType(what, v, type) {
  if (typeof v !== type) throw new MalformedOutput(`${what} must be a ${type}, got ${typeName(v)}`);
}

function unit(what, v) {
  // The glue passes Number(v) to the host, which requires a finite number in [0, 1].
  if (typeof v !== 'number' && !(v && typeof v === 'object' && typeof v.valueOf() === 'number')) throw new MalformedOutput(`${what} must be a number, got ${typeName(v)}`);
  const n = Number(v);
  if (!(Number.isFinite(n) && n >= 0 && n <= 1)) throw new MalformedOutput(`${what} is ${floatText(n)}, outside [0, 1]`);
}

function turnIn(what, t, turns) {
  if (t === null || t === undefined) return;
  if (!Number.isInteger(t) || t < 0 || t >= 2 ** 32) throw new MalformedOutput(`${what}.turn is ${typeName(t) === 'number' ? t : typeName(t)}, not a turn index (an integer 0 to 2^32-1, or null)`);
  if (t >= turns) throw new MalformedOutput(`${what} points at turn ${t}, but the conversation has ${turns} turns`);
}

function stringList(what, v) {
  if (!Array.isArray(v)) throw new MalformedOutput(`${what} must be an array, got ${typeName(v)}`);
  v.forEach((x, i) => expectType(`${what}[${i}]`, x, 'string'));
}

function size(value) {
  let n;
  try {
    n = Buffer.byteLength(canonicalJson(value), 'utf8');
  } catch (e) {
    throw new MalformedOutput(`the result is not JSON data: ${e.message}`);
  }
  if (n > MAX_OUTPUT_BYTES) throw new MalformedOutput(`the result is ${n} bytes, over the host's limit of ${MAX_OUTPUT_BYTES} (max_output_bytes)`);
}

/** Checks a scorecard's result as the component glue and the host do (shape, scores finite and in [0, 1], turns inside a conversation of `turns` turns, suggested params objects, size); throws `MalformedOutput` with the host's words. */
export function checkScorecardResult(r, turns) {
  if (r === null || typeof r !== 'object') throw new MalformedOutput(`score must return a ScorecardResult, got ${typeName(r)}`);
  unit('score', r.score);
  if (!Array.isArray(r.criteria)) throw new MalformedOutput(`criteria must be an array, got ${typeName(r.criteria)}`);
  r.criteria.forEach((c, i) => {
    if (c === null || typeof c !== 'object') throw new MalformedOutput(`criteria[${i}] must be a CriterionResult, got ${typeName(c)}`);
    expectType(`criteria[${i}].name`, c.name, 'string');
    const w = `criteria[${i}] (\`${c.name}\`)`;
    unit(`${w}.score`, c.score);
    expectType(`${w}.passed`, c.passed, 'boolean');
    expectType(`${w}.reason`, c.reason, 'string');
    turnIn(w, c.turn, turns);
  });
  stringList('flags', r.flags);
  if (r.failureMode !== null && r.failureMode !== undefined) expectType('failureMode', r.failureMode, 'string');
  if (!Array.isArray(r.suggestedCriteria)) throw new MalformedOutput(`suggestedCriteria must be an array, got ${typeName(r.suggestedCriteria)}`);
  r.suggestedCriteria.forEach((sc, i) => {
    expectType(`suggestedCriteria[${i}].kind`, sc?.kind, 'string');
    expectType(`suggestedCriteria[${i}].reason`, sc.reason, 'string');
    if (!isJsonObject(asHostReads(sc.params, `suggestedCriteria[${i}].params`))) throw new MalformedOutput(`suggested_criteria[${i}].params must be a JSON object`);
  });
  size(typeof r.toJSONValue === 'function' ? r.toJSONValue() : r);
}

/** Checks an assertion's verdict as the glue and the host do; throws `MalformedOutput`. */
export function checkVerdict(v, turns) {
  if (v === null || typeof v !== 'object') throw new MalformedOutput(`check must return a Verdict, got ${typeName(v)}`);
  expectType('verdict.passed', v.passed, 'boolean');
  expectType('verdict.reason', v.reason, 'string');
  turnIn('verdict', v.turn, turns);
  size(typeof v.toJSONValue === 'function' ? v.toJSONValue() : v);
}

/** Checks an adapter's output as the glue and the host do (an array of `Converted`, each conversation a `Conversation` with an id and finite impact amounts); throws `MalformedOutput`. */
export function checkConverted(items) {
  if (!Array.isArray(items)) throw new MalformedOutput(`convert's result must be an array of Converted, got ${typeName(items)}`);
  items.forEach((x, i) => {
    if (x === null || typeof x !== 'object') throw new MalformedOutput(`conversations[${i}] must be a Converted, got ${typeName(x)}`);
    if (!(x.conversation instanceof Conversation)) throw new MalformedOutput(`conversations[${i}].conversation must be a Conversation, got ${typeName(x.conversation)}`);
    stringList(`conversations[${i}].missing`, x.missing);
    const c = x.conversation;
    if (!c.id) throw new MalformedOutput(`conversations[${i}]: id is empty`);
    for (const [what, key] of [['revenue_at_risk', 'revenueAtRisk'], ['refund_amount', 'refundAmount'], ['compliance_exposure', 'complianceExposure'], ['escalation_cost', 'escalationCost']]) {
      const n = Number(c.impact?.[key] ?? 0);
      if (!Number.isFinite(n)) throw new MalformedOutput(`conversations[${i}]: impact.${what} is ${floatText(n)}`);
    }
  });
  size(items.map((x) => (typeof x.toJSONValue === 'function' ? x.toJSONValue() : x)));
}

/** `run` for a scorecard: the input is a conversation, the options are the params; the result is checked as the host checks it (`checkScorecardResult`). */
export const scorecardRunner = (plugin) => (data, opts) => {
  const c = Conversation.fromJson(data);
  const r = plugin.score(c, opts);
  checkScorecardResult(r, c.turns.length);
  return r;
};

/** `run` for an assertion: the input is `{"transcript": ..., "params": ...}`; the verdict is checked as the host checks it (`checkVerdict`). */
export const assertionRunner = (plugin) => (data) => {
  const v = parseJson(data, 'sample');
  if (v === null || typeof v !== 'object' || !('transcript' in v)) throw new PluginError('an assertion sample is {"transcript": <conversation>, "params": {...}}');
  const c = Conversation.fromJSONValue(v.transcript, 'transcript');
  const verdict = plugin.check(c, v.params ?? null);
  checkVerdict(verdict, c.turns.length);
  return verdict;
};

/** `run` for an adapter: the raw input bytes and the options; the output is checked as the host checks it (`checkConverted`). */
export const adapterRunner = (plugin) => (data, opts) => {
  const items = plugin.convert(new Uint8Array(data), opts);
  checkConverted(items);
  return items;
};

// `value` as the host receives it: written canonically, read back.
function asHostReads(value, what) {
  let text;
  try {
    text = canonicalJson(value);
  } catch (e) {
    throw new MalformedOutput(`${what} is not JSON data: ${e.message}`);
  }
  return parseJsonExact(text, what);
}

const SHAPES = 'a simulator sample is {"world": {...}, "request": {"tool", "version", "arguments"}} (answer one call) or {"observed": [...]} (seed a world)';

/**
 * One simulator sample, in the format `ratchet plugin run` takes (the Rust SDK's
 * `testing::run_simulator`): `{"world": {...}, "request": {"tool", "version",
 * "arguments"}}` answers one call (the output is the `Simulated` as JSON, or `null`
 * when the tool is not modelled) and `{"observed": [{"request", "result",
 * "is_error"}...]}` seeds a world (the output is the world).
 *
 * The sample is read as the host reads it, with `parseJsonExact` as the component
 * glue reads the world (unknown, missing or mistyped fields are a `SampleError`
 * naming the field); `params` `null` becomes `{}`; the output is checked as the host
 * checks it (`call` returns a `Simulated` or nothing, `isError` is a boolean, the
 * world after a call or seeded is a JSON object, everything is JSON data; else a
 * `MalformedOutput`) and is what the host would read back.
 */
export function runSimulator(plugin, data, params) {
  let doc;
  try {
    doc = parseJsonExact(data, 'sample');
  } catch (e) {
    if (e instanceof ParseError) throw new SampleError(e.message);
    throw e;
  }
  if (!isJsonObject(doc)) throw new SampleError(SHAPES);
  for (const k of Object.keys(doc)) if (!['world', 'request', 'observed'].includes(k)) throw new SampleError(`unknown field \`${k}\`: ${SHAPES}`);
  // As the host reads them, `null` counts as absent.
  const world = doc.world ?? null;
  const request = doc.request ?? null;
  const observed = doc.observed ?? null;
  const p = params ?? {};
  let req;
  let items;
  try {
    if (world !== null && request !== null && observed === null) req = ToolRequest.fromJSONValue(request, 'request');
    else if (world === null && request === null && observed !== null) {
      if (!Array.isArray(observed)) throw new ModelError(`observed: expected an array, got ${kindOf(observed)}`);
      items = observed.map((o, i) => Observed.fromJSONValue(o, `observed[${i}]`));
    } else throw new SampleError(SHAPES);
  } catch (e) {
    if (e instanceof ModelError) throw new SampleError(e.message);
    throw e;
  }

  if (observed === null) {
    const a = plugin.call(world, req, p);
    if (a === null || a === undefined) return null;
    if (!(a instanceof Simulated)) throw new MalformedOutput(`call must return a Simulated or null, got ${a?.constructor?.name ?? typeof a}`);
    if (typeof a.isError !== 'boolean') throw new MalformedOutput(`answer.isError must be a boolean, got ${typeof a.isError}`);
    const after = asHostReads(a.world, 'answer.world');
    if (!isJsonObject(after)) throw new MalformedOutput('answer.world must be a JSON object (the whole world after the call)');
    return { result: asHostReads(a.result, 'answer.result'), is_error: a.isError, world: after };
  }
  const seeded = asHostReads(plugin.seed(items, p), 'the seeded world');
  if (!isJsonObject(seeded)) throw new MalformedOutput('seed returned a world that is not a JSON object');
  return seeded;
}

/** `run` for a simulator: `runSimulator` on each sample, the options as params. */
export const simulatorRunner = (plugin) => (data, opts) => runSimulator(plugin, data, opts);
