// The component glue: turns a plugin object into the export componentize-js needs.
// Only the plugin's `app.js` (its component entry) imports this module; the logic
// and its unit tests do not, so they run on plain Node without Wasm:
//
//   // app.js
//   import { scorecard } from '<sdk>/src/component.js';
//   import { MyScorecard } from './plugin.js';
//   export const scorer = scorecard(new MyScorecard());
//
// The export's name must be the WIT interface's: `scorer`, `asserter`, `converter`,
// `simulation`.
// Each call converts the WIT records (camelCase, enums as strings, u64 as BigInt)
// into the SDK's model (JSON-valued fields parsed, errors naming the field), calls
// the plugin, converts the result back (JSON written canonically), turns a thrown
// PluginError into the WIT result's error string, and reports any other exception
// to the host (`abort-reason`: name, message, where) before the call traps.

import { abortReason, log as hostLog } from 'ratchet:plugin/host@0.1.2';

import { canonicalJson, parseJson, parseJsonExact, ParseError } from './canonical.js';
import { PluginError } from './errors.js';
import { setLogBackend } from './log.js';
import { AgentState, Conversation, SCHEMA_VERSION, ToolCall, ToolResult, Turn, rememberExactJson } from './model.js';
import { sourceLocation } from './location.js';
import { Observed, Simulated, ToolRequest } from './simulator.js';
import { warmUpPlugin, warmUpSdk } from './warm-up.js';

setLogBackend((level, message) => hostLog(level, message));

function parse(what, text) {
  try {
    return parseJson(text, what);
  } catch (e) {
    throw e instanceof ParseError ? new PluginError(e.message) : e;
  }
}

// World, tool arguments and results, read so that floats stay floats (see simulator.js).
function parseExact(what, text) {
  try {
    return parseJsonExact(text, what);
  } catch (e) {
    throw e instanceof ParseError ? new PluginError(e.message) : e;
  }
}

function describe(e) {
  if (!(e instanceof Error)) return `uncaught exception: ${String(e)}`;
  const where = (e.stack || '').split('\n').find((l) => l.trim()) || '';
  return `${e.name}: ${e.message}${where ? ` (at ${sourceLocation(where.trim().replace(/^at /, ''))})` : ''}`;
}

function guard(fn) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PluginError) throw e.message; // the WIT result's err string
    try {
      abortReason(describe(e));
    } catch {
      // nothing more to say
    }
    throw e;
  }
}

// The host's JSON text of a tool call's arguments / a result's content, kept (parsed
// lazily) so the judge's transcript writes `49.0` as the Rust SDK does.
function exactly(owner, field, text) {
  rememberExactJson(owner, owner[field], () => parseJsonExact(text));
  return owner;
}

const toNumber = (v) => (v === undefined || v === null ? null : Number(v));
const toBigInt = (v) => (v === undefined || v === null ? undefined : BigInt(v));
const orNull = (v) => (v === undefined ? null : v);
const orUndefined = (v) => (v === null ? undefined : v);

/** The SDK conversation for a WIT `conversation` record. */
export function conversationFromWit(c) {
  const s = c.state;
  return new Conversation({
    schemaVersion: SCHEMA_VERSION,
    id: c.id,
    channel: c.channel,
    startedAt: orNull(c.startedAt),
    turns: c.turns.map(
      (t, i) =>
        new Turn({
          // The host numbers turns by position; keep what it sent.
          index: t.index,
          role: t.role,
          text: t.text,
          toolCalls: t.toolCalls.map((x, j) => exactly(new ToolCall({ id: x.id, name: x.name, arguments: parse(`turns[${i}].tool_calls[${j}].arguments`, x.arguments) }), 'arguments', x.arguments)),
          toolResult:
            t.toolResult == null
              ? null
              : exactly(new ToolResult({ callId: t.toolResult.callId, name: t.toolResult.name, content: parse(`turns[${i}].tool_result.content`, t.toolResult.content), isError: t.toolResult.isError }), 'content', t.toolResult.content),
          offsetMs: toNumber(t.offsetMs),
          latencyMs: toNumber(t.latencyMs),
        }),
    ),
    outcome: { escalated: c.outcome.escalated, complaint: c.outcome.complaint, complianceFlags: [...c.outcome.complianceFlags], endedReason: orNull(c.outcome.endedReason) },
    impact: { revenueAtRisk: c.impact.revenueAtRisk, refundAmount: c.impact.refundAmount, complianceExposure: c.impact.complianceExposure, escalationCost: c.impact.escalationCost, currency: orNull(c.impact.currency) },
    state: new AgentState({
      memorySnapshot: s.memorySnapshot.map((e, i) => ({ key: e.key, value: parse(`state.memory_snapshot[${i}].value`, e.value) })),
      kbVersionHash: orNull(s.kbVersionHash),
      toolRegistry: s.toolRegistry.map((t) => ({ id: t.id, version: t.version })),
      promptVersion: orNull(s.promptVersion),
      model: orNull(s.model),
      routing: { timeOfDay: orNull(s.routing.timeOfDay), locale: orNull(s.routing.locale), queue: orNull(s.routing.queue), extra: Object.fromEntries(s.routing.extra.map((kv) => [kv.key, kv.value])) },
    }),
  });
}

/** The WIT `conversation` record for an SDK conversation (adapters); turn indices are positions. */
export function conversationToWit(c) {
  const s = c.state;
  return {
    id: c.id,
    channel: c.channel,
    startedAt: orUndefined(c.startedAt),
    turns: c.turns.map((t, i) => ({
      index: i,
      role: t.role,
      text: t.text,
      toolCalls: t.toolCalls.map((x) => ({ id: x.id, name: x.name, arguments: canonicalJson(x.arguments) })),
      toolResult: t.toolResult ? { callId: t.toolResult.callId, name: t.toolResult.name, content: canonicalJson(t.toolResult.content), isError: !!t.toolResult.isError } : undefined,
      offsetMs: toBigInt(t.offsetMs),
      latencyMs: toBigInt(t.latencyMs),
    })),
    outcome: { escalated: !!c.outcome.escalated, complaint: !!c.outcome.complaint, complianceFlags: [...c.outcome.complianceFlags], endedReason: orUndefined(c.outcome.endedReason) },
    impact: {
      revenueAtRisk: Number(c.impact.revenueAtRisk),
      refundAmount: Number(c.impact.refundAmount),
      complianceExposure: Number(c.impact.complianceExposure),
      escalationCost: Number(c.impact.escalationCost),
      currency: orUndefined(c.impact.currency),
    },
    state: {
      memorySnapshot: s.memorySnapshot.map((e) => ({ key: e.key, value: canonicalJson(e.value) })),
      kbVersionHash: orUndefined(s.kbVersionHash),
      toolRegistry: s.toolRegistry.map((t) => ({ id: t.id, version: t.version })),
      promptVersion: orUndefined(s.promptVersion),
      model: orUndefined(s.model),
      routing: {
        timeOfDay: orUndefined(s.routing.timeOfDay),
        locale: orUndefined(s.routing.locale),
        queue: orUndefined(s.routing.queue),
        extra: Object.keys(s.routing.extra)
          .sort()
          .map((key) => ({ key, value: s.routing.extra[key] })),
      },
    },
  };
}

const infoToWit = (i) => ({ name: i.name, version: i.version, description: i.description });

// The host's `labels` import (WIT 0.1.3), installed by `labels-wit.js`, which
// `bin/build.mjs` adds to the bundles of scorecards, assertions and adapters built
// against 0.1.3; `null` otherwise (an older WIT: no labels).
let labelsBackend = null;

/** Installed by `labels-wit.js` inside a component: `{get(), attach(id, pairs)}`. @internal */
export function setLabelsBackend(backend) {
  labelsBackend = backend;
}

/** `c` with the labels the host gives for this call. */
function labelled(c) {
  if (labelsBackend) c.labels = Object.fromEntries(labelsBackend.get().map((kv) => [kv.key, kv.value]));
  return c;
}

/** Attach each converted conversation's labels for the host (`labels.attach`). */
function attachLabels(items) {
  for (const x of items) {
    const keys = Object.keys(x.conversation.labels ?? {}).sort();
    if (!keys.length) continue;
    if (!labelsBackend) throw new PluginError('the adapter set labels, but it was built against a WIT without the labels import (0.1.3): rebuild it with this SDK');
    labelsBackend.attach(x.conversation.id, keys.map((k) => ({ key: k, value: String(x.conversation.labels[k]) })));
  }
}

/** The `scorer` export for a scorecard object (`info()`, `score(conversation, params)`). */
export function scorecard(plugin) {
  const resultToWit = (r) => ({
    score: Number(r.score),
    criteria: r.criteria.map((c) => ({ name: c.name, score: Number(c.score), passed: !!c.passed, reason: c.reason, turn: orUndefined(c.turn) })),
    flags: [...r.flags],
    failureMode: orUndefined(r.failureMode),
    suggestedCriteria: r.suggestedCriteria.map((s) => ({ kind: s.kind, params: canonicalJson(s.params), reason: s.reason })),
  });
  warmUpSdk(conversationToWit, conversationFromWit, resultToWit, 'scorecard');
  warmUpPlugin(conversationToWit, (c, params) => resultToWit(plugin.score(conversationFromWit(c), parse('params', params))));
  return {
    info: () => guard(() => infoToWit(plugin.info())),
    score: (conversation, params) => guard(() => resultToWit(plugin.score(labelled(conversationFromWit(conversation)), parse('params', params)))),
  };
}

/** The `asserter` export for an assertion object (`info()`, `check(transcript, params)`). */
export function assertion(plugin) {
  const verdictToWit = (v) => ({ passed: !!v.passed, reason: v.reason, turn: orUndefined(v.turn) });
  warmUpSdk(conversationToWit, conversationFromWit, verdictToWit, 'assertion');
  warmUpPlugin(conversationToWit, (c, params) => verdictToWit(plugin.check(conversationFromWit(c), parse('params', params))));
  return {
    info: () => guard(() => infoToWit(plugin.info())),
    check: (transcript, params) => guard(() => verdictToWit(plugin.check(labelled(conversationFromWit(transcript)), parse('params', params)))),
  };
}

/** The `converter` export for an adapter object (`info()`, `convert(data, options)`). */
export function adapter(plugin) {
  return {
    info: () => guard(() => infoToWit(plugin.info())),
    convert: (input, options) =>
      guard(() => {
        const items = plugin.convert(input, parse('options', options));
        attachLabels(items);
        return items.map((x) => ({ conversation: conversationToWit(x.conversation), missing: [...x.missing] }));
      }),
  };
}

const requestFromWit = (r, where) => new ToolRequest(r.tool, parseExact(`${where}.arguments`, r.arguments), r.version);

/**
 * The `simulation` export for a simulator object (`info()`, `seed(observed, params)`,
 * `call(world, request, params)`; since WIT 0.1.2). `seed` returns the world (the host
 * requires an object), `call` a `Simulated` or `null`/`undefined` (the tool is not
 * modelled); anything else is a bug in the plugin, reported to the host before the
 * call traps. World, arguments and results are read with `parseJsonExact`.
 */
export function simulator(plugin) {
  return {
    info: () => guard(() => infoToWit(plugin.info())),
    seed: (observed, params) =>
      guard(() => {
        const p = parse('params', params);
        const items = observed.map((o, i) => new Observed(requestFromWit(o.request, `observed[${i}].request`), parseExact(`observed[${i}].result`, o.result), o.isError));
        return canonicalJson(plugin.seed(items, p));
      }),
    call: (world, request, params) =>
      guard(() => {
        const w = parseExact('world', world);
        const p = parse('params', params);
        const a = plugin.call(w, requestFromWit(request, 'request'), p);
        if (a === null || a === undefined) return undefined;
        if (!(a instanceof Simulated)) throw new TypeError(`call must return a Simulated or null, got ${a?.constructor?.name ?? typeof a}`);
        if (typeof a.isError !== 'boolean') throw new TypeError(`answer.isError must be a boolean, got ${typeof a.isError}`);
        return { result: canonicalJson(a.result), isError: a.isError, world: canonicalJson(a.world) };
      }),
  };
}
