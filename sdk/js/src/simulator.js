// Tool simulators (world `simulator`, since WIT 0.1.2): answer an agent's tool calls
// from a model of the world the conversation ran in, so a replay can let a correct
// agent take another path than the failing run (an extra lookup, the right mutation
// with other arguments) while outcome criteria check where the agent left the world.
// The Rust SDK's `simulator` module, one to one.
//
// A simulator is two pure functions over JSON, unit-testable natively:
// `seed(observed, params)` reconstructs the world before the conversation from what
// it observed (every recorded call and result), and `call(world, request, params)`
// answers one call in a world and returns the world after it (a `Simulated`), or
// `null` when the tool is not modelled. Nothing persists between calls: the host
// passes the whole world in and keeps what comes back.
//
// Worlds, tool arguments and results are read as `parseJsonExact` reads JSON, so
// that what a simulator hands back is the Rust SDK's bytes: a number written with a
// fraction or an exponent (`49.0`, `1e-7`) is an `F64` (compare with `Number(x)`;
// it is written back as `49.0`), an integer beyond 2^53 a `BigInt`, the rest plain
// JSON data. Copy a world with `cloneJson` (it keeps them) before changing it; never
// change the world passed in.

import { F64 } from './canonical.js';
import { ModelError } from './model.js';
import { kindOf as kind } from './params.js';

/** True when `v` is a JSON object (not an array, not `null`, not an `F64`). */
export function isJsonObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof F64);
}

/**
 * A deep copy of the JSON value `v` that keeps `F64` floats and `BigInt` integers
 * (and an own `__proto__` key) as they are: change the copy of a world, never the
 * world a simulator was given.
 */
export function cloneJson(v) {
  if (v instanceof F64) return new F64(v.value);
  if (Array.isArray(v)) return v.map(cloneJson);
  if (v !== null && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v)) Object.defineProperty(out, k, { value: cloneJson(v[k]), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

const has = (d, key) => Object.prototype.hasOwnProperty.call(d, key);

function object(v, where) {
  if (!isJsonObject(v)) throw new ModelError(`${where}: expected an object, got ${kind(v)}`);
  return v;
}

function denyUnknown(d, known, where) {
  for (const k of Object.keys(d)) {
    if (!known.includes(k)) throw new ModelError(`${where}: unknown field \`${k}\`, expected one of ${known.map((x) => '`' + x + '`').join(', ')}`);
  }
}

function required(d, key, where) {
  if (!has(d, key)) throw new ModelError(`${where}: missing field \`${key}\``);
  return d[key];
}

// As the host reads it (serde): `null` is not a string.
function string(v, where) {
  if (typeof v !== 'string') throw new ModelError(`${where}: expected a string, got ${kind(v)}`);
  return v;
}

/** One tool call as the agent made it. */
export class ToolRequest {
  /**
   * @param {string} tool Tool name as the agent calls it.
   * @param {*} args Arguments, a JSON object.
   * @param {string} version The tool's version (from the call, else the scenario's registry; may be empty).
   */
  constructor(tool, args = {}, version = '') {
    this.tool = tool;
    this.arguments = args;
    this.version = version;
  }

  /** The string argument `key`, or `null` when it is missing or not a string. */
  argStr(key) {
    const v = isJsonObject(this.arguments) && has(this.arguments, key) ? this.arguments[key] : null;
    return typeof v === 'string' ? v : null;
  }

  /** Reads `{"tool", "version"?, "arguments"}` as the host does: unknown fields, a missing `tool` or `arguments` and wrong types are a `ModelError` naming the field. */
  static fromJSONValue(v, where = 'request') {
    const d = object(v, where);
    denyUnknown(d, ['tool', 'version', 'arguments'], where);
    const tool = string(required(d, 'tool', where), `${where}.tool`);
    const version = has(d, 'version') ? string(d.version, `${where}.version`) : '';
    return new ToolRequest(tool, required(d, 'arguments', where), version);
  }

  /** `{"tool", "version", "arguments"}`, as `ratchet plugin run` takes it. */
  toJSONValue() {
    return { tool: this.tool, version: this.version, arguments: this.arguments };
  }
}

/** A call the recorded conversation made, with what it returned. */
export class Observed {
  /**
   * @param {ToolRequest} request The call.
   * @param {*} result The recorded result, any JSON value.
   * @param {boolean} isError True when the tool reported an error.
   */
  constructor(request, result, isError = false) {
    this.request = request;
    this.result = result;
    this.isError = isError;
  }

  /** Reads `{"request", "result", "is_error"?}` as the host does (a `ModelError` naming the field). */
  static fromJSONValue(v, where = 'observed') {
    const d = object(v, where);
    denyUnknown(d, ['request', 'result', 'is_error'], where);
    const request = ToolRequest.fromJSONValue(required(d, 'request', where), `${where}.request`);
    const result = required(d, 'result', where);
    const isError = has(d, 'is_error') ? d.is_error : false;
    if (typeof isError !== 'boolean') throw new ModelError(`${where}.is_error: expected a boolean, got ${kind(isError)}`);
    return new Observed(request, result, isError);
  }

  /** `{"request", "result", "is_error"}`, as `ratchet plugin run` takes it. */
  toJSONValue() {
    return { request: this.request.toJSONValue(), result: this.result, is_error: this.isError };
  }
}

/** A simulator's answer to one call: the tool's result and the whole world after it. */
export class Simulated {
  /**
   * @param {*} result The tool's result, any JSON value.
   * @param {boolean} isError True when the tool reports an error (a rejected call should change nothing).
   * @param {*} world The whole world after the call: an object (unchanged for reads).
   */
  constructor(result, isError, world) {
    this.result = result;
    this.isError = isError;
    this.world = world;
  }

  /** A successful result; `world` is the world after the call. */
  static ok(result, world) {
    return new Simulated(result, false, world);
  }

  /** An error result; the world is unchanged (pass it back as it came). */
  static error(result, world) {
    return new Simulated(result, true, world);
  }

  /** `{"is_error", "result", "world"}`: what `ratchet plugin run` prints. */
  toJSONValue() {
    return { result: this.result, is_error: this.isError, world: this.world };
  }
}

