// Ask a language model from an LLM-judged scorecard or assertion: the JavaScript
// twin of the Rust SDK's `ratchet_sdk::judge` (sdk/rust/src/judge.rs).
//
// Inside a component, `complete` calls the host's `ratchet:plugin/model` import
// (WIT 0.1.1). The host sends the request to the endpoint configured in `[model]`
// and records the answer under the sha256 of the canonical request; `ratchet gate`
// replays recorded answers only, so the same question always gets the same answer.
// The plugin needs `grant_model = true` in its `[plugins.NAME]` entry; without it
// every call throws a `JudgeError` of kind `denied`.
//
// The same logic builds the same request as the Rust SDK (same messages,
// temperature, schema), and `renderTranscript` renders a conversation to the same
// bytes (floats read as `49.0` are written `49.0`), so a JavaScript port of a Rust
// judge asks the same question and shares its recordings.
//
// Natively (`node --test`) there is no host: install a stand-in judge with
// `setNativeJudge(fn)` (per module instance: per process, or per worker thread).
//
//   import { Request, completeJson, parseYesNo, renderTranscript, yesNoSchema } from '<sdk>/src/judge.js';
//   const req = new Request().system('...').user(`QUESTION: ...\n\nTRANSCRIPT:\n${renderTranscript(c)}`).schema(yesNoSchema());
//   const [answer] = completeJson(req);
//   const j = parseYesNo(answer, c.turns.length);
//
// A component imports `ratchet:plugin/model` only if its bundle uses this module:
// `bin/build.mjs` then adds `judge-wit.js` (the import) to it; otherwise the world
// is built without the import, as a Rust plugin that never calls the judge.
//
// Names: the Rust builder's `.model(m)` / `.max_tokens(n)` are `withModel` /
// `withMaxTokens` here (or constructor options), because `model` and `maxTokens`
// are the request's properties, which a test judge reads.

import { canonicalJson, F64, parseJsonExact, ParseError } from './canonical.js';
import { PluginError } from './errors.js';
import { canonicalJsonOf } from './model.js';
import { trim } from './text.js';

/** Who says a message: `system` (instructions), `user` (question + transcript), `assistant` (a worked example). */
export const ROLES = ['system', 'user', 'assistant'];

/** One chat message. */
export class Message {
  constructor(role, content) {
    this.role = role;
    this.content = content;
  }
}

/** A chat completion request: `new Request().system('...').user('...').withMaxTokens(300).schema(yesNoSchema())`. */
export class Request {
  constructor({ model = '', messages = [], temperature = 0, maxTokens = null, jsonSchema = null } = {}) {
    /** Model id; empty means the judge model configured in `[model]`. */
    this.model = model;
    /** @type {Message[]} */
    this.messages = messages;
    /** Sampling temperature (0 by default: judging wants the likeliest answer). */
    this.temperature = temperature;
    /** Most completion tokens, or null. */
    this.maxTokens = maxTokens;
    /** A JSON Schema (JSON data) the answer must follow (a strict `json_schema` response format), or null. */
    this.jsonSchema = jsonSchema;
  }
  #push(role, text) {
    if (typeof text !== 'string') throw new TypeError(`a ${role} message is a string, got ${typeof text}`);
    this.messages.push(new Message(role, text));
    return this;
  }
  /** Adds a system message. */
  system(text) {
    return this.#push('system', text);
  }
  /** Adds a user message. */
  user(text) {
    return this.#push('user', text);
  }
  /** Adds an assistant message (a worked example). */
  assistant(text) {
    return this.#push('assistant', text);
  }
  /** Asks a specific model instead of the configured one (Rust: `.model(m)`). */
  withModel(model) {
    this.model = model;
    return this;
  }
  /** Limits the answer's length (Rust: `.max_tokens(n)`). */
  withMaxTokens(n) {
    this.maxTokens = n;
    return this;
  }
  /** Sets the sampling temperature (0..=2). */
  withTemperature(t) {
    this.temperature = t;
    return this;
  }
  /** Requires a structured answer following `schema` (JSON data). */
  schema(schema) {
    this.jsonSchema = schema;
    return this;
  }
}

/** The model's answer. */
export class Response {
  constructor(content, model = 'native-test-judge', key = '') {
    /** The answer text (JSON text when a schema was set). */
    this.content = content;
    /** The model that answered. */
    this.model = model;
    /** `sha256:<hex>` of the canonical request: the recording's name. */
    this.key = key;
  }
  /** A response with this text (for native test judges). */
  static text(content) {
    return new Response(content);
  }
}

const PREFIX = {
  denied: 'model call denied',
  notRecorded: 'model answer not recorded',
  unavailable: 'model unavailable',
  invalid: 'invalid model request',
};

/**
 * Why there is no answer: `kind` is `denied`, `notRecorded`, `unavailable` or
 * `invalid`, `detail` the host's explanation. The message is the Rust SDK's
 * `Display` (`model call denied: ...`); as a `PluginError`, an uncaught one becomes
 * the call's error, like `?` on the Rust `Result`.
 */
export class JudgeError extends PluginError {
  constructor(kind, detail) {
    if (!(kind in PREFIX)) throw new TypeError(`unknown JudgeError kind ${JSON.stringify(kind)}, expected one of ${Object.keys(PREFIX).join(', ')}`);
    super(`${PREFIX[kind]}: ${detail}`);
    this.name = 'JudgeError';
    this.kind = kind;
    this.detail = detail;
  }
  /** The plugin has no `grant_model = true`. */
  static denied(m) {
    return new JudgeError('denied', m);
  }
  /** Replay mode and this question was never recorded. */
  static notRecorded(m) {
    return new JudgeError('notRecorded', m);
  }
  /** The endpoint failed or is not configured. */
  static unavailable(m) {
    return new JudgeError('unavailable', m);
  }
  /** The request is unusable. */
  static invalid(m) {
    return new JudgeError('invalid', m);
  }
}

// ---- asking ---------------------------------------------------------------------

let componentJudge = null;
let nativeJudge = null;

/** Installed by `judge-wit.js` inside a component: the host's model import. @internal */
export function setComponentJudge(fn) {
  componentJudge = fn;
}

/**
 * Native tests only: answer `complete` calls with `fn(request)`, which returns a
 * `Response` or the answer text, or throws a `JudgeError`; `null` removes it.
 */
export function setNativeJudge(fn) {
  nativeJudge = fn;
}

/** Asks the model (the host's import inside a component, the native judge in tests). Throws `JudgeError`. */
export function complete(request) {
  if (componentJudge) return componentJudge(request);
  if (!nativeJudge) throw JudgeError.unavailable('no judge in a native test: install one with setNativeJudge (sdk/js/src/judge.js)');
  const r = nativeJudge(request);
  if (typeof r === 'string') return Response.text(r);
  if (!(r instanceof Response)) throw new TypeError(`a native judge returns a Response or a string, got ${r === null ? 'null' : typeof r}`);
  return r;
}

/**
 * `complete`, then parse the answer as JSON: `[value, response]`. The value is read
 * as the Rust SDK reads it (`parseJsonExact`: `1.0` is an `F64`, not the integer 1;
 * use `Number(x)` for arithmetic). Failures throw `PluginError` with a message ready
 * to be the call's error.
 */
export function completeJson(request) {
  const r = complete(request);
  let v;
  try {
    v = parseJsonExact(trim(r.content), "the judge's answer");
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    throw new PluginError(`the judge's answer is not JSON (${e.message.replace(/^invalid JSON in the judge's answer: /, '')}): ${r.content}`);
  }
  return [v, r];
}

// ---- prompts and answers --------------------------------------------------------

const WHO = { customer: 'CUSTOMER', agent: 'AGENT', tool: 'TOOL', system: 'SYSTEM' };

/**
 * The conversation as plain text for a judge prompt, one line per turn with its
 * position in brackets, tool calls and results as canonical JSON: byte for byte the
 * Rust SDK's `render_transcript`, so the same conversation is the same question
 * (and the same recording) in every language.
 *
 *   [0] CUSTOMER: Please cancel my plan.
 *   [1] AGENT calls lookup_account {"email":"[EMAIL_1]"}
 *   [2] TOOL lookup_account returned {"plan":"premium","subscription_status":"active"}
 *   [3] AGENT: Done - your plan is cancelled.
 */
export function renderTranscript(conversation) {
  let out = '';
  conversation.turns.forEach((t, i) => {
    const who = WHO[t.role];
    const text = trim(t.text ?? '');
    if (text) out += `[${i}] ${who}: ${text.replaceAll('\n', ' ')}\n`;
    for (const c of t.toolCalls) out += `[${i}] ${who} calls ${c.name} ${canonicalJsonOf(c, c.arguments)}\n`;
    const r = t.toolResult;
    if (r) out += `[${i}] ${who} ${r.name} ${r.isError ? 'failed with' : 'returned'} ${canonicalJsonOf(r, r.content)}\n`;
    if (!text && t.toolCalls.length === 0 && !r) out += `[${i}] ${who}: (empty)\n`;
  });
  return out;
}

/** The JSON Schema of a yes/no judgement: `{"answer": "yes"|"no", "reason": string, "turn": integer|null}` (strict). */
export function yesNoSchema() {
  return {
    type: 'object',
    properties: {
      answer: { type: 'string', enum: ['yes', 'no'] },
      reason: { type: 'string' },
      turn: { type: ['integer', 'null'] },
    },
    required: ['answer', 'reason', 'turn'],
    additionalProperties: false,
  };
}

/** A parsed yes/no judgement. */
export class YesNo {
  constructor(yes, reason, turn = null) {
    /** `true` for "yes". */
    this.yes = yes;
    /** The judge's one-sentence reason (trimmed). */
    this.reason = reason;
    /** The turn the judge pointed at, if it is a turn of the conversation; else null. */
    this.turn = turn;
  }
  /** The reason as a verdict or criterion line: `judge: <sentence>` (`judge: yes` / `judge: no` when it gave none). */
  reasonLine() {
    return this.reason ? `judge: ${this.reason}` : `judge: ${this.yes ? 'yes' : 'no'}`;
  }
}

const asciiLower = (s) => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof F64);

/**
 * Reads a `yesNoSchema` answer (from `completeJson`); `turns` bounds the turn index
 * (an index outside the conversation is dropped, not trusted). Throws `PluginError`
 * when there is no `answer` of "yes" or "no".
 */
export function parseYesNo(answer, turns) {
  const d = isObject(answer) ? answer : {};
  const own = (k) => (Object.prototype.hasOwnProperty.call(d, k) ? d[k] : undefined);
  const a = typeof own('answer') === 'string' ? asciiLower(trim(own('answer'))) : null;
  if (a !== 'yes' && a !== 'no') throw new PluginError(`the judge's answer has no \`answer\` of "yes" or "no": ${canonicalJson(answer)}`);
  const reason = typeof own('reason') === 'string' ? trim(own('reason')) : '';
  // Rust's `as_u64`: an integer literal (not `3.0`), not negative.
  let t = own('turn');
  if (typeof t === 'bigint') t = t < BigInt(turns) ? Number(t) : null;
  const turn = typeof t === 'number' && Number.isInteger(t) && t >= 0 && t < turns ? t : null;
  return new YesNo(a === 'yes', reason, turn);
}
