// Typed access to a plugin's JSON parameters with defaults and the Rust SDK's
// error messages (a misconfigured plugin says the same thing in every language).

import { F64, canonicalJson, compareCodePoints } from './canonical.js';
import { PluginError } from './errors.js';

/** The JSON type name of `v`, for error messages (`a string`, `an array`...; an `F64` or a `BigInt` is `a number`). */
export function kindOf(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof F64) return 'a number';
  if (typeof v === 'string') return 'a string';
  if (Array.isArray(v)) return 'an array';
  return 'an object';
}


/** A view of a plugin's `params` object; `null` counts as an empty object. Accessors throw `PluginError`. */
export class Params {
  constructor(params) {
    if (params === null || params === undefined) this.map = null;
    else if (typeof params === 'object' && !Array.isArray(params)) this.map = params;
    else throw new PluginError(`params must be a JSON object, got ${kindOf(params)}`);
  }

  /** Errors on any key not in `known` (checked in sorted key order, as the Rust SDK's sorted map does). */
  denyUnknown(known) {
    if (!this.map) return;
    for (const k of Object.keys(this.map).sort(compareCodePoints)) {
      if (!known.includes(k)) throw new PluginError(`unknown param \`${k}\`, expected one of ${known.map((x) => '`' + x + '`').join(', ')}`);
    }
  }

  /** The raw value of `key`, if present and not `null` (else `undefined`). */
  get(key) {
    if (!this.map || !Object.prototype.hasOwnProperty.call(this.map, key)) return undefined;
    const v = this.map[key];
    return v === null ? undefined : v;
  }

  /** A string parameter, or `dflt` when absent. */
  str(key, dflt) {
    const v = this.get(key);
    if (v === undefined) return dflt;
    if (typeof v === 'string') return v;
    throw new PluginError(`param \`${key}\` must be a string, got ${kindOf(v)}`);
  }

  /** A list-of-strings parameter, or `dflt` when absent; a single string is a one-element list. */
  strList(key, dflt) {
    const v = this.get(key);
    if (v === undefined) return [...dflt];
    if (typeof v === 'string') return [v];
    if (Array.isArray(v)) {
      return v.map((item, i) => {
        if (typeof item !== 'string') throw new PluginError(`param \`${key}[${i}]\` must be a string, got ${kindOf(item)}`);
        return item;
      });
    }
    throw new PluginError(`param \`${key}\` must be a list of strings, got ${kindOf(v)}`);
  }

  /** A non-negative integer parameter, or `dflt` when absent. */
  u64(key, dflt) {
    const v = this.get(key);
    if (v === undefined) return dflt;
    if (Number.isSafeInteger(v) && v >= 0) return v;
    throw new PluginError(`param \`${key}\` must be a non-negative integer, got ${canonicalJson(v)}`);
  }

  /** A boolean parameter, or `dflt` when absent. */
  bool(key, dflt) {
    const v = this.get(key);
    if (v === undefined) return dflt;
    if (typeof v === 'boolean') return v;
    throw new PluginError(`param \`${key}\` must be true or false, got ${canonicalJson(v)}`);
  }

  /** A number parameter, or `dflt` when absent. */
  f64(key, dflt) {
    const v = this.get(key);
    if (v === undefined) return dflt;
    if (typeof v === 'number') return v;
    throw new PluginError(`param \`${key}\` must be a number, got ${canonicalJson(v)}`);
  }
}
