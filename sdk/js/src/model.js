// The canonical conversation, as JavaScript classes (camelCase properties). They
// mirror the WIT `types` interface and ratchet's canonical JSON (snake_case,
// docs/schema.md) like the Rust SDK's `model` module: `Conversation.fromJson`
// reads the same files the host reads (strictly: unknown fields are errors), and
// `toJSONValue()` writes what the Rust SDK writes (schema_version always; absent
// options, empty lists, empty text, `is_error: false`, empty routing omitted).
// A turn's `index` is its position in `turns`; it is not part of the JSON.
//
// Open-ended values (tool arguments and results, memory values) are plain JSON
// data as `JSON.parse` returns it.

import { canonicalJson, f64, parseJson, parseJsonExact, ParseError } from './canonical.js';

// JSON.parse cannot tell `49.0` from `49`. Where the JSON text of a tool call's
// arguments or a tool result's content is known (from the host, or from
// `Conversation.fromJson`), it is remembered here, so `canonicalJsonOf` can write
// those values back exactly as the Rust SDK does (`49.0`): what the judge's
// transcript rendering needs to ask the Rust plugins' questions byte for byte.
const EXACT = new WeakMap();

/** Remembers that `owner`'s JSON value `value` came from `exact()` (a `parseJsonExact` tree). @internal */
export function rememberExactJson(owner, value, exact) {
  EXACT.set(owner, { value, exact });
}

/**
 * The canonical JSON of `value`, a JSON field of `owner` (a `ToolCall`'s `arguments`,
 * a `ToolResult`'s `content`): written from the JSON text it was read from when that
 * is known and the field still holds the value read, so floats stay floats.
 */
export function canonicalJsonOf(owner, value) {
  const e = EXACT.get(owner);
  return canonicalJson(e !== undefined && e.value === value ? e.exact() : value);
}

/** The canonical schema version these classes implement. */
export const SCHEMA_VERSION = 1;
/** Who produced a turn. */
export const ROLES = ['customer', 'agent', 'tool', 'system'];
/** Where the conversation happened. */
export const CHANNELS = ['chat', 'voice'];

/** A conversation (or part of one) that does not follow the canonical schema; the message names the field. */
export class ModelError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ModelError';
  }
}

function kind(v) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'string') return 'a string';
  if (Array.isArray(v)) return 'an array';
  return 'an object';
}

function obj(v, where) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ModelError(`${where}: expected an object, got ${kind(v)}`);
  return v;
}

function denyUnknown(d, known, where) {
  for (const k of Object.keys(d)) {
    if (!known.includes(k)) throw new ModelError(`${where}: unknown field \`${k}\`, expected one of ${known.map((x) => '`' + x + '`').join(', ')}`);
  }
}

function str(d, key, where, { dflt = null, required = false } = {}) {
  const v = d[key];
  if (v === undefined || v === null) {
    if (required) throw new ModelError(`${where}: missing field \`${key}\``);
    return dflt;
  }
  if (typeof v !== 'string') throw new ModelError(`${where}.${key}: expected a string, got ${kind(v)}`);
  return v;
}

function bool(d, key, where) {
  const v = d[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new ModelError(`${where}.${key}: expected a boolean, got ${kind(v)}`);
  return v;
}

function uint(d, key, where) {
  const v = d[key];
  if (v === undefined || v === null) return null;
  if (!Number.isInteger(v) || v < 0) throw new ModelError(`${where}.${key}: expected a non-negative integer, got ${kind(v) === 'a number' ? v : kind(v)}`);
  return v;
}

function num(d, key, where) {
  const v = d[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number') throw new ModelError(`${where}.${key}: expected a number, got ${kind(v)}`);
  return v;
}

function list(d, key, where) {
  const v = d[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ModelError(`${where}.${key}: expected an array, got ${kind(v)}`);
  return v;
}

function strList(d, key, where) {
  return list(d, key, where).map((v, i) => {
    if (typeof v !== 'string') throw new ModelError(`${where}.${key}[${i}]: expected a string, got ${kind(v)}`);
    return v;
  });
}

function opt(out, key, v) {
  if (v !== null && v !== undefined) out[key] = v;
}

/** A tool the agent asked to run. */
export class ToolCall {
  constructor({ id, name, arguments: args = null }) {
    /** Correlates the call with its result. */
    this.id = id;
    /** Tool name as the agent's tool registry names it. */
    this.name = name;
    /** Arguments, normally an object (`null` when the source had none). */
    this.arguments = args;
  }
  static fromJSONValue(v, where = 'tool_call') {
    const d = obj(v, where);
    denyUnknown(d, ['id', 'name', 'arguments'], where);
    return new ToolCall({ id: str(d, 'id', where, { required: true }), name: str(d, 'name', where, { required: true }), arguments: d.arguments ?? null });
  }
  toJSONValue() {
    return { id: this.id, name: this.name, arguments: this.arguments };
  }
}

/** What a tool returned: the account state the agent saw. */
export class ToolResult {
  constructor({ callId, name = '', content = null, isError = false }) {
    /** The `ToolCall.id` this answers. */
    this.callId = callId;
    /** Tool name, repeated for convenience (may be empty). */
    this.name = name;
    /** Result payload, any JSON value. */
    this.content = content;
    /** True when the tool reported an error. */
    this.isError = isError;
  }
  static fromJSONValue(v, where = 'tool_result') {
    const d = obj(v, where);
    denyUnknown(d, ['call_id', 'name', 'content', 'is_error'], where);
    return new ToolResult({ callId: str(d, 'call_id', where, { required: true }), name: str(d, 'name', where, { dflt: '' }), content: d.content ?? null, isError: bool(d, 'is_error', where) });
  }
  toJSONValue() {
    const out = { call_id: this.callId, name: this.name, content: this.content };
    if (this.isError) out.is_error = true;
    return out;
  }
}

/** One turn of the conversation. */
export class Turn {
  constructor({ index = 0, role, text = '', toolCalls = [], toolResult = null, offsetMs = null, latencyMs = null }) {
    /** Position in the conversation, from 0 (not part of the JSON). */
    this.index = index;
    /** `customer`, `agent`, `tool` or `system`. */
    this.role = role;
    /** What was said (empty for pure tool-call turns). */
    this.text = text;
    /** @type {ToolCall[]} Tool calls made in this (agent) turn. */
    this.toolCalls = toolCalls;
    /** @type {ToolResult|null} Present on `tool` turns. */
    this.toolResult = toolResult;
    /** Milliseconds since the conversation started, when known. */
    this.offsetMs = offsetMs;
    /** Milliseconds the agent took to produce this turn, when known. */
    this.latencyMs = latencyMs;
  }
  static fromJSONValue(v, index, where = 'turn') {
    const d = obj(v, where);
    denyUnknown(d, ['role', 'text', 'tool_calls', 'tool_result', 'offset_ms', 'latency_ms'], where);
    const role = str(d, 'role', where, { required: true });
    if (!ROLES.includes(role)) throw new ModelError(`${where}.role: unknown role "${role}", expected one of ${ROLES.join(', ')}`);
    return new Turn({
      index,
      role,
      text: str(d, 'text', where, { dflt: '' }),
      toolCalls: list(d, 'tool_calls', where).map((c, j) => ToolCall.fromJSONValue(c, `${where}.tool_calls[${j}]`)),
      toolResult: d.tool_result == null ? null : ToolResult.fromJSONValue(d.tool_result, `${where}.tool_result`),
      offsetMs: uint(d, 'offset_ms', where),
      latencyMs: uint(d, 'latency_ms', where),
    });
  }
  toJSONValue() {
    const out = { role: this.role };
    if (this.text) out.text = this.text;
    if (this.toolCalls.length) out.tool_calls = this.toolCalls.map((c) => c.toJSONValue());
    if (this.toolResult) out.tool_result = this.toolResult.toJSONValue();
    opt(out, 'offset_ms', this.offsetMs);
    opt(out, 'latency_ms', this.latencyMs);
    return out;
  }
  /** True for agent turns, the ones scorecards judge. */
  isAgent() {
    return this.role === 'agent';
  }
  /** True for customer turns. */
  isCustomer() {
    return this.role === 'customer';
  }
}

/** The agent state at call time: what replay must reproduce. */
export class AgentState {
  constructor({ memorySnapshot = [], kbVersionHash = null, toolRegistry = [], promptVersion = null, model = null, routing = {} } = {}) {
    /** @type {{key: string, value: any}[]} Memory entries relevant to the session. */
    this.memorySnapshot = memorySnapshot;
    this.kbVersionHash = kbVersionHash;
    /** @type {{id: string, version: string}[]} Tools available to the agent. */
    this.toolRegistry = toolRegistry;
    this.promptVersion = promptVersion;
    this.model = model;
    /** `{timeOfDay, locale, queue, extra}`; `extra` is a string -> string object. */
    this.routing = { timeOfDay: routing.timeOfDay ?? null, locale: routing.locale ?? null, queue: routing.queue ?? null, extra: routing.extra ?? {} };
  }
  /** The memory-snapshot value stored under `key` (first match), else `undefined`. */
  memory(key) {
    const e = this.memorySnapshot.find((e) => e.key === key);
    return e === undefined ? undefined : e.value;
  }
  static fromJSONValue(v, where = 'state') {
    const d = obj(v, where);
    denyUnknown(d, ['memory_snapshot', 'kb_version_hash', 'tool_registry', 'prompt_version', 'model', 'routing'], where);
    const memorySnapshot = list(d, 'memory_snapshot', where).map((e, i) => {
      const w = `${where}.memory_snapshot[${i}]`;
      obj(e, w);
      denyUnknown(e, ['key', 'value'], w);
      if (!('value' in e)) throw new ModelError(`${w}: missing field \`value\``);
      return { key: str(e, 'key', w, { required: true }), value: e.value };
    });
    const toolRegistry = list(d, 'tool_registry', where).map((t, i) => {
      const w = `${where}.tool_registry[${i}]`;
      obj(t, w);
      denyUnknown(t, ['id', 'version'], w);
      return { id: str(t, 'id', w, { required: true }), version: str(t, 'version', w, { required: true }) };
    });
    let routing = {};
    if (d.routing != null) {
      const w = `${where}.routing`;
      const r = obj(d.routing, w);
      denyUnknown(r, ['time_of_day', 'locale', 'queue', 'extra'], w);
      const extra = r.extra == null ? {} : obj(r.extra, `${w}.extra`);
      for (const [k, val] of Object.entries(extra)) {
        if (typeof val !== 'string') throw new ModelError(`${w}.extra.${k}: expected a string, got ${kind(val)}`);
      }
      routing = { timeOfDay: str(r, 'time_of_day', w), locale: str(r, 'locale', w), queue: str(r, 'queue', w), extra: { ...extra } };
    }
    return new AgentState({
      memorySnapshot,
      kbVersionHash: str(d, 'kb_version_hash', where),
      toolRegistry,
      promptVersion: str(d, 'prompt_version', where),
      model: str(d, 'model', where),
      routing,
    });
  }
  toJSONValue() {
    const out = {};
    if (this.memorySnapshot.length) out.memory_snapshot = this.memorySnapshot.map((e) => ({ key: e.key, value: e.value }));
    opt(out, 'kb_version_hash', this.kbVersionHash);
    if (this.toolRegistry.length) out.tool_registry = this.toolRegistry.map((t) => ({ id: t.id, version: t.version }));
    opt(out, 'prompt_version', this.promptVersion);
    opt(out, 'model', this.model);
    const r = this.routing;
    const routing = {};
    opt(routing, 'time_of_day', r.timeOfDay);
    opt(routing, 'locale', r.locale);
    opt(routing, 'queue', r.queue);
    if (Object.keys(r.extra).length) routing.extra = { ...r.extra };
    if (Object.keys(routing).length) out.routing = routing;
    return out;
  }
}

/** Where a state value was found (see `Conversation.stateFact`). */
export class StateSource {
  /** `{kind: 'tool_result', tool, field, turn}` or `{kind: 'memory', key}`. */
  constructor(fields) {
    Object.assign(this, fields);
  }
  /** E.g. `lookup_account result at turn 2` or `memory account.subscription_status`. */
  describe() {
    return this.kind === 'tool_result' ? `${this.tool} result at turn ${this.turn}` : `memory ${this.key}`;
  }
}

/** A whole conversation with the agent state it ran under. */
export class Conversation {
  constructor({ id, channel, turns = [], startedAt = null, outcome = {}, impact = {}, state = new AgentState(), schemaVersion = SCHEMA_VERSION, labels = {} }) {
    this.schemaVersion = schemaVersion;
    this.id = id;
    /** `chat` or `voice`. */
    this.channel = channel;
    this.startedAt = startedAt;
    /** @type {Turn[]} */
    this.turns = turns;
    /** `{escalated, complaint, complianceFlags, endedReason}`. */
    this.outcome = { escalated: outcome.escalated ?? false, complaint: outcome.complaint ?? false, complianceFlags: outcome.complianceFlags ?? [], endedReason: outcome.endedReason ?? null };
    /** `{revenueAtRisk, refundAmount, complianceExposure, escalationCost, currency}` (f64 amounts). */
    this.impact = {
      revenueAtRisk: impact.revenueAtRisk ?? 0,
      refundAmount: impact.refundAmount ?? 0,
      complianceExposure: impact.complianceExposure ?? 0,
      escalationCost: impact.escalationCost ?? 0,
      currency: impact.currency ?? null,
    };
    /** @type {AgentState} */
    this.state = state instanceof AgentState ? state : new AgentState(state);
    /**
     * What the platform recorded about the conversation besides the dialogue (ticket
     * tags, account tier, expected outcome): string to string. Inside a component the
     * host supplies them to scorecards and assertions (WIT 0.1.3 `labels`); an adapter
     * sets them here and they reach the host with the conversation.
     * @type {Record<string, string>}
     */
    this.labels = { ...labels };
  }

  /** Parses canonical conversation JSON (text or bytes); turn indices come from positions. */
  static fromJson(text) {
    let v;
    try {
      v = parseJson(text, 'conversation');
    } catch (e) {
      throw e instanceof ParseError ? new ModelError(e.message) : e;
    }
    const c = Conversation.fromJSONValue(v);
    // Keep the exact text of tool arguments and results (see canonicalJsonOf).
    let exact = null;
    const tree = () => (exact ??= parseJsonExact(text, 'conversation'));
    c.turns.forEach((t, i) => {
      t.toolCalls.forEach((call, j) => rememberExactJson(call, call.arguments, () => tree().turns[i].tool_calls[j].arguments ?? null));
      if (t.toolResult) rememberExactJson(t.toolResult, t.toolResult.content, () => tree().turns[i].tool_result.content ?? null);
    });
    return c;
  }

  /** Reads a conversation from parsed JSON data (strictly: unknown fields are errors). */
  static fromJSONValue(v, where = 'conversation') {
    const d = obj(v, where);
    denyUnknown(d, ['schema_version', 'id', 'channel', 'started_at', 'turns', 'outcome', 'impact', 'state', 'labels'], where);
    const version = d.schema_version ?? SCHEMA_VERSION;
    if (version !== SCHEMA_VERSION) throw new ModelError(`unknown schema_version ${canonicalJson(version)}: this SDK reads schema_version ${SCHEMA_VERSION}`);
    const channel = str(d, 'channel', where, { required: true });
    if (!CHANNELS.includes(channel)) throw new ModelError(`${where}.channel: unknown channel "${channel}", expected chat or voice`);
    if (!('turns' in d)) throw new ModelError(`${where}: missing field \`turns\``);
    const turns = list(d, 'turns', where).map((t, i) => Turn.fromJSONValue(t, i, `turns[${i}]`));
    let outcome = {};
    if (d.outcome != null) {
      const o = obj(d.outcome, 'outcome');
      denyUnknown(o, ['escalated', 'complaint', 'compliance_flags', 'ended_reason'], 'outcome');
      outcome = { escalated: bool(o, 'escalated', 'outcome'), complaint: bool(o, 'complaint', 'outcome'), complianceFlags: strList(o, 'compliance_flags', 'outcome'), endedReason: str(o, 'ended_reason', 'outcome') };
    }
    let impact = {};
    if (d.impact != null) {
      const m = obj(d.impact, 'impact');
      denyUnknown(m, ['revenue_at_risk', 'refund_amount', 'compliance_exposure', 'escalation_cost', 'currency'], 'impact');
      impact = {
        revenueAtRisk: num(m, 'revenue_at_risk', 'impact'),
        refundAmount: num(m, 'refund_amount', 'impact'),
        complianceExposure: num(m, 'compliance_exposure', 'impact'),
        escalationCost: num(m, 'escalation_cost', 'impact'),
        currency: str(m, 'currency', 'impact'),
      };
    }
    const state = d.state == null ? new AgentState() : AgentState.fromJSONValue(d.state);
    const labels = {};
    if (d.labels != null) {
      for (const [k, lv] of Object.entries(obj(d.labels, `${where}.labels`))) {
        if (typeof lv !== 'string') throw new ModelError(`${where}.labels.${k}: expected a string, got ${kind(lv)}`);
        labels[k] = lv;
      }
    }
    return new Conversation({ id: str(d, 'id', where, { required: true }), channel, turns, startedAt: str(d, 'started_at', where), outcome, impact, state, labels });
  }

  toJSONValue() {
    const o = this.outcome;
    const outcome = { escalated: o.escalated, complaint: o.complaint };
    if (o.complianceFlags.length) outcome.compliance_flags = [...o.complianceFlags];
    opt(outcome, 'ended_reason', o.endedReason);
    const m = this.impact;
    const impact = { revenue_at_risk: f64(m.revenueAtRisk), refund_amount: f64(m.refundAmount), compliance_exposure: f64(m.complianceExposure), escalation_cost: f64(m.escalationCost) };
    opt(impact, 'currency', m.currency);
    const out = { schema_version: this.schemaVersion, id: this.id, channel: this.channel, turns: this.turns.map((t) => t.toJSONValue()), outcome, impact, state: this.state.toJSONValue() };
    opt(out, 'started_at', this.startedAt);
    const keys = Object.keys(this.labels ?? {}).sort();
    if (keys.length) out.labels = Object.fromEntries(keys.map((k) => [k, this.labels[k]]));
    return out;
  }

  /** Canonical JSON text (keys sorted, compact). */
  toJson() {
    return canonicalJson(this);
  }

  /** Sets every `turns[i].index` to `i`; call after building turns by hand. */
  renumber() {
    this.turns.forEach((t, i) => (t.index = i));
  }

  /** Appends a turn, setting its index; returns the index. */
  pushTurn(turn) {
    turn.index = this.turns.length;
    this.turns.push(turn);
    return turn.index;
  }

  /** The turn at `index`, if any. */
  turn(index) {
    return this.turns[index];
  }

  /** Turns produced by `role`, in order. */
  turnsBy(role) {
    const out = [];
    for (const t of this.turns) if (t.role === role) out.push(t);
    return out;
  }

  /** Agent turns, in order: what scorecards judge. */
  agentTurns() {
    return this.turnsBy('agent');
  }

  /** Customer turns, in order. */
  customerTurns() {
    return this.turnsBy('customer');
  }

  /** Every tool call as `[turnIndex, ToolCall]`, in order. */
  toolCalls() {
    // Plain loops here and below: plugins call these per turn, and inside a
    // component (an interpreter, no JIT) every closure and temporary array counts.
    const out = [];
    for (const t of this.turns) for (const c of t.toolCalls) out.push([t.index, c]);
    return out;
  }

  /** Calls of the tool `name` as `[turnIndex, ToolCall]`. */
  toolCallsNamed(name) {
    const out = [];
    for (const t of this.turns) for (const c of t.toolCalls) if (c.name === name) out.push([t.index, c]);
    return out;
  }

  /** Every tool result as `[turnIndex, ToolResult]`, in order. */
  toolResults() {
    const out = [];
    for (const t of this.turns) if (t.toolResult) out.push([t.index, t.toolResult]);
    return out;
  }

  /** The result answering the call `callId`, if any. */
  toolResultFor(callId) {
    for (const t of this.turns) if (t.toolResult && t.toolResult.callId === callId) return t.toolResult;
    return undefined;
  }

  /** Results of the tool `name` (named by the result, or by the matching call when the result has no name). */
  toolResultsNamed(name) {
    const out = [];
    for (const t of this.turns) if (t.toolResult && this.#resultIsOf(t.toolResult, name)) out.push([t.index, t.toolResult]);
    return out;
  }

  /** Whether `r` is a result of the tool `name` (its own name, or its call's when it has none). */
  #resultIsOf(r, name) {
    if (r.name === name) return true;
    if (r.name !== '') return false;
    for (const t of this.turns) for (const c of t.toolCalls) if (c.id === r.callId && c.name === name) return true;
    return false;
  }

  /** The latest non-error result of tool `name` in a turn `<= atTurn` (anywhere when omitted), as `[turnIndex, ToolResult]`. */
  latestToolResult(name, atTurn = Infinity) {
    let found;
    for (const [i, r] of this.toolResultsNamed(name)) if (i <= atTurn && !r.isError) found = [i, r];
    return found;
  }

  /** The memory-snapshot value stored under `key` (first match), else `undefined`. */
  memory(key) {
    return this.state.memory(key);
  }

  /** Just the value of `stateFact` (`undefined` when unknown). */
  stateValue(key, lookupTool, atTurn = Infinity) {
    return this.stateFact(key, lookupTool, atTurn)?.value;
  }

  /**
   * What the agent could know about the state key `key` (e.g.
   * `account.subscription_status`) at turn `atTurn`: the field named like the
   * key's last segment in the latest non-error result of `lookupTool` up to that
   * turn, else the memory snapshot's entry. `{value, source}` or `undefined`.
   */
  stateFact(key, lookupTool, atTurn = Infinity) {
    const field = key.slice(key.lastIndexOf('.') + 1);
    let found;
    for (const t of this.turns) {
      const r = t.toolResult;
      if (!r || t.index > atTurn || r.isError || !this.#resultIsOf(r, lookupTool)) continue;
      const c = r.content;
      if (c !== null && typeof c === 'object' && !Array.isArray(c) && Object.prototype.hasOwnProperty.call(c, field)) found = [t.index, c[field]];
    }
    if (found) return { value: found[1], source: new StateSource({ kind: 'tool_result', tool: lookupTool, field, turn: found[0] }) };
    const e = this.state.memorySnapshot.find((e) => e.key === key);
    return e === undefined ? undefined : { value: e.value, source: new StateSource({ kind: 'memory', key }) };
  }
}

/**
 * Loose truthiness of a JSON state value: `true`, `"true"`/`"yes"`/`"y"`/`"1"`
 * (any case) and non-zero numbers are true; everything else, including a missing
 * value, is false.
 */
export function truthy(value) {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return ['true', 'yes', 'y', '1'].includes(value.trim().toLowerCase());
  if (typeof value === 'number') return value !== 0;
  return false;
}

/** A JSON state value as text: strings without quotes, other values as canonical JSON, missing/null as `undefined`. */
export function valueText(value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  return canonicalJson(value);
}
