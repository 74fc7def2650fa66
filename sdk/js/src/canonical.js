// Canonical JSON, byte-identical to the Rust SDK's (sdk/rust/src/json.rs): object
// keys sorted by code point (= UTF-8 byte order), no insignificant whitespace,
// strings escaped as serde_json escapes them, and floats written as serde_json
// writes an f64 ("1.0", "0.75", "0.00001", "1e-7", "1.5e+16"; sdk/conformance/cases.json).
//
// JavaScript has one number type, so the writer needs to be told which numbers
// are floats: wrap them with `f64(x)` (the SDK's result types do this for scores
// and impact amounts). A plain number is written as an integer when it is one
// (`3`), else as a float (`0.5`). JSON parsed with `JSON.parse` cannot tell `1.0`
// from `1`: such a value read from the host and written back comes out as `1`
// where the Rust SDK would write `1.0` (see sdk/js/README.md, "Numbers").

/** A number that is an f64 for the canonical writer: always written as a float. */
export class F64 {
  /** @param {number} value */
  constructor(value) {
    this.value = Number(value);
  }
  valueOf() {
    return this.value;
  }
  toJSONValue() {
    return this;
  }
}

/** Marks `x` as a float for the canonical writer (`f64(1)` is written `1.0`). */
export function f64(x) {
  return x instanceof F64 ? x : new F64(x);
}

/** Formats `x` exactly as serde_json formats an f64 (decimal for 1e-5 <= |x| < 1e16, else `1e-7` / `1.5e+16`). */
export function formatFloat(x) {
  if (!Number.isFinite(x)) return 'null';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  // toExponential() without an argument gives the shortest digits that round-trip.
  const [mant, exp] = Math.abs(x).toExponential().split('e');
  let digits = mant.replace('.', '');
  let k = Number(exp) - (digits.length - 1); // value = digits * 10^k
  const stripped = digits.replace(/0+$/, '');
  k += digits.length - stripped.length;
  digits = stripped;
  const length = digits.length;
  const kk = length + k; // 10^(kk-1) <= value < 10^kk
  let out;
  if (k >= 0 && kk <= 16) out = digits + '0'.repeat(k) + '.0';
  else if (kk > 0 && kk <= 16) out = digits.slice(0, kk) + '.' + digits.slice(kk);
  else if (kk > -5 && kk <= 0) out = '0.' + '0'.repeat(-kk) + digits;
  else out = (length === 1 ? digits : digits[0] + '.' + digits.slice(1)) + (kk - 1 > 0 ? 'e+' : 'e') + (kk - 1);
  return sign + out;
}

/** Compares two strings by code point (the order of their UTF-8 bytes). */
export function compareCodePoints(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate here starts an astral code point, which sorts after every BMP
    // one (UTF-16 code units would put U+E000..U+FFFF after it).
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function writeString(s) {
  // JSON.stringify escapes exactly what serde_json escapes for well-formed strings.
  return JSON.stringify(s);
}

function plain(value) {
  if (value !== null && typeof value === 'object' && !(value instanceof F64) && typeof value.toJSONValue === 'function') {
    return value.toJSONValue();
  }
  return value;
}

function write(value, out, indent, level) {
  value = plain(value);
  if (value === null || value === undefined) {
    out.push('null');
  } else if (value === true) {
    out.push('true');
  } else if (value === false) {
    out.push('false');
  } else if (value instanceof F64) {
    out.push(formatFloat(value.value));
  } else if (typeof value === 'number') {
    out.push(Number.isSafeInteger(value) ? String(Object.is(value, -0) ? 0 : value) : formatFloat(value));
  } else if (typeof value === 'bigint') {
    out.push(value.toString());
  } else if (typeof value === 'string') {
    out.push(writeString(value));
  } else if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push('[]');
      return;
    }
    out.push('[');
    value.forEach((v, i) => {
      if (i) out.push(',');
      if (indent !== null) out.push('\n' + indent.repeat(level + 1));
      write(v, out, indent, level + 1);
    });
    if (indent !== null) out.push('\n' + indent.repeat(level));
    out.push(']');
  } else if (typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort(compareCodePoints);
    if (keys.length === 0) {
      out.push('{}');
      return;
    }
    out.push('{');
    keys.forEach((k, i) => {
      if (i) out.push(',');
      if (indent !== null) out.push('\n' + indent.repeat(level + 1));
      out.push(writeString(k));
      out.push(indent !== null ? ': ' : ':');
      write(value[k], out, indent, level + 1);
    });
    if (indent !== null) out.push('\n' + indent.repeat(level));
    out.push('}');
  } else {
    throw new TypeError(`${typeof value} is not JSON data`);
  }
}

/** Canonical compact JSON text of `value`: what the SDK sends to the host. */
export function canonicalJson(value) {
  const out = [];
  write(value, out, null, 0);
  return out.join('');
}

/** Canonical pretty JSON (sorted keys, two-space indent, trailing newline): the format of `.expected.json` golden files. */
export function canonicalJsonPretty(value) {
  const out = [];
  write(value, out, '  ', 0);
  out.push('\n');
  return out.join('');
}

/** Parses JSON text, naming `what` (e.g. `params`) in the error (a `PluginError`). */
export function parseJson(text, what = 'input') {
  try {
    return JSON.parse(typeof text === 'string' ? text : new TextDecoder('utf-8', { fatal: true }).decode(text));
  } catch (e) {
    throw new ParseError(`invalid JSON in ${what}: ${e.message}`);
  }
}

/** JSON that could not be parsed; the message names the field. */
export class ParseError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ParseError';
  }
}

const I64_MIN = -(2n ** 63n);
const U64_END = 2n ** 64n;

function exactNumber(token) {
  if (/[.eE]/.test(token)) return new F64(Number(token));
  // An integer literal, read as serde_json reads it: u64 / i64 when it fits (here a
  // Number when safe, else a BigInt), `-0` and anything larger as an f64.
  if (token === '-0') return new F64(-0);
  const n = BigInt(token);
  if (n < I64_MIN || n >= U64_END) return new F64(Number(token));
  return Number.isSafeInteger(Number(n)) ? Number(n) : n;
}

/**
 * Parses JSON text keeping what `JSON.parse` loses: numbers written with a fraction
 * or exponent come back as `F64` (so `49.0` is written back as `49.0`, as the Rust
 * SDK writes it), integers beyond 2^53 as `BigInt`, and the rest as `JSON.parse`
 * gives it. `canonicalJson(parseJsonExact(text))` is the Rust SDK's
 * `canonical_string` of the same text. Throws `ParseError` on invalid JSON.
 */
export function parseJsonExact(text, what = 'input') {
  if (typeof text !== 'string') text = new TextDecoder('utf-8', { fatal: true }).decode(text);
  parseJson(text, what); // validates (and gives the usual error message)
  const re = /\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|[{}[\]:,]|true|false|null)/y;
  let pos = 0;
  const next = () => {
    re.lastIndex = pos;
    const m = re.exec(text);
    pos = re.lastIndex;
    return m[1];
  };
  const value = (tok) => {
    if (tok === '{') {
      const o = {};
      let t = next();
      while (t !== '}') {
        const key = JSON.parse(t);
        next(); // ':'
        Object.defineProperty(o, key, { value: value(next()), enumerable: true, writable: true, configurable: true });
        t = next();
        if (t === ',') t = next();
      }
      return o;
    }
    if (tok === '[') {
      const a = [];
      let t = next();
      while (t !== ']') {
        a.push(value(t));
        t = next();
        if (t === ',') t = next();
      }
      return a;
    }
    if (tok[0] === '"') return JSON.parse(tok);
    if (tok === 'true') return true;
    if (tok === 'false') return false;
    if (tok === 'null') return null;
    return exactNumber(tok);
  };
  return value(next());
}
