// Type declarations for ratchet-sdk (JavaScript). The SDK is plain ES modules; these
// stubs give editors and `tsc --checkJs` the API. Mirrors sdk/rust (the reference).

/** Who produced a turn. */
export type Role = 'customer' | 'agent' | 'tool' | 'system';
/** Where the conversation happened. */
export type ChannelName = 'chat' | 'voice';
/** Any JSON value as `JSON.parse` returns it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const SCHEMA_VERSION: 1;
export const ROLES: Role[];
export const CHANNELS: ChannelName[];

/** A conversation (or part of one) that does not follow the canonical schema. */
export class ModelError extends Error {}
/** Throw it when the plugin cannot do its job (bad params): the host gets the message as the call's error. */
export class PluginError extends Error {
  constructor(message: string);
}
/** JSON text that could not be parsed. */
export class ParseError extends Error {}

export class ToolCall {
  constructor(fields: { id: string; name: string; arguments?: Json });
  id: string;
  name: string;
  arguments: Json;
  static fromJSONValue(v: Json, where?: string): ToolCall;
  toJSONValue(): Json;
}

export class ToolResult {
  constructor(fields: { callId: string; name?: string; content?: Json; isError?: boolean });
  callId: string;
  name: string;
  content: Json;
  isError: boolean;
  static fromJSONValue(v: Json, where?: string): ToolResult;
  toJSONValue(): Json;
}

export class Turn {
  constructor(fields: { index?: number; role: Role; text?: string; toolCalls?: ToolCall[]; toolResult?: ToolResult | null; offsetMs?: number | null; latencyMs?: number | null });
  index: number;
  role: Role;
  text: string;
  toolCalls: ToolCall[];
  toolResult: ToolResult | null;
  offsetMs: number | null;
  latencyMs: number | null;
  isAgent(): boolean;
  isCustomer(): boolean;
  static fromJSONValue(v: Json, index: number, where?: string): Turn;
  toJSONValue(): Json;
}

export interface Routing {
  timeOfDay: string | null;
  locale: string | null;
  queue: string | null;
  extra: Record<string, string>;
}

export class AgentState {
  constructor(fields?: { memorySnapshot?: { key: string; value: Json }[]; kbVersionHash?: string | null; toolRegistry?: { id: string; version: string }[]; promptVersion?: string | null; model?: string | null; routing?: Partial<Routing> });
  memorySnapshot: { key: string; value: Json }[];
  kbVersionHash: string | null;
  toolRegistry: { id: string; version: string }[];
  promptVersion: string | null;
  model: string | null;
  routing: Routing;
  memory(key: string): Json | undefined;
  static fromJSONValue(v: Json, where?: string): AgentState;
  toJSONValue(): Json;
}

/** Where a state value was found. */
export class StateSource {
  kind: 'tool_result' | 'memory';
  tool?: string;
  field?: string;
  turn?: number;
  key?: string;
  describe(): string;
}

export interface StateFact {
  value: Json;
  source: StateSource;
}

export interface Outcome {
  escalated: boolean;
  complaint: boolean;
  complianceFlags: string[];
  endedReason: string | null;
}

export interface Impact {
  revenueAtRisk: number;
  refundAmount: number;
  complianceExposure: number;
  escalationCost: number;
  currency: string | null;
}

export class Conversation {
  constructor(fields: { id: string; channel: ChannelName; turns?: Turn[]; startedAt?: string | null; outcome?: Partial<Outcome>; impact?: Partial<Impact>; state?: AgentState; schemaVersion?: number; labels?: Record<string, string> });
  schemaVersion: number;
  id: string;
  channel: ChannelName;
  startedAt: string | null;
  turns: Turn[];
  outcome: Outcome;
  impact: Impact;
  state: AgentState;
  /** What the platform recorded about the conversation besides the dialogue (WIT 0.1.3 `labels`). */
  labels: Record<string, string>;
  static fromJson(text: string | Uint8Array): Conversation;
  static fromJSONValue(v: Json, where?: string): Conversation;
  toJSONValue(): Json;
  toJson(): string;
  renumber(): void;
  pushTurn(turn: Turn): number;
  turn(index: number): Turn | undefined;
  turnsBy(role: Role): Turn[];
  agentTurns(): Turn[];
  customerTurns(): Turn[];
  toolCalls(): [number, ToolCall][];
  toolCallsNamed(name: string): [number, ToolCall][];
  toolResults(): [number, ToolResult][];
  toolResultFor(callId: string): ToolResult | undefined;
  toolResultsNamed(name: string): [number, ToolResult][];
  latestToolResult(name: string, atTurn?: number): [number, ToolResult] | undefined;
  memory(key: string): Json | undefined;
  stateValue(key: string, lookupTool: string, atTurn?: number): Json | undefined;
  stateFact(key: string, lookupTool: string, atTurn?: number): StateFact | undefined;
}

export function truthy(value: Json | undefined): boolean;
export function valueText(value: Json | undefined): string | undefined;

export class PluginInfo {
  constructor(name: string, version: string, description: string);
  name: string;
  version: string;
  description: string;
}

export class CriterionResult {
  constructor(fields: { name: string; score: number; passed: boolean; reason?: string; turn?: number | null });
  name: string;
  score: number;
  passed: boolean;
  reason: string;
  turn: number | null;
  static pass(name: string, reason: string): CriterionResult;
  static fail(name: string, reason: string, turn?: number | null): CriterionResult;
}

export class SuggestedCriterion {
  constructor(kind: string, params?: Json, reason?: string);
  kind: string;
  params: Json;
  reason: string;
}

export class ScorecardResult {
  constructor(fields: { score: number; criteria?: CriterionResult[]; flags?: string[]; failureMode?: string | null; suggestedCriteria?: SuggestedCriterion[] });
  score: number;
  criteria: CriterionResult[];
  flags: string[];
  failureMode: string | null;
  suggestedCriteria: SuggestedCriterion[];
  static fromCriteria(criteria: CriterionResult[]): ScorecardResult;
  static fromWeightedCriteria(criteria: CriterionResult[], weights: number[]): ScorecardResult;
  allPassed(): boolean;
  firstFailure(): CriterionResult | undefined;
}

export class Verdict {
  constructor(fields: { passed: boolean; reason?: string; turn?: number | null });
  passed: boolean;
  reason: string;
  turn: number | null;
  static pass(reason: string): Verdict;
  static fail(reason: string, turn?: number | null): Verdict;
}

export class Converted {
  constructor(conversation: Conversation, missing?: string[]);
  conversation: Conversation;
  missing: string[];
}

/** A scorecard: `ratchet detect` scores every conversation with it. */
export interface Scorecard {
  info(): PluginInfo;
  score(conversation: Conversation, params: Json): ScorecardResult;
}
/** An assertion: a scenario criterion of `kind = "plugin"`. */
export interface Assertion {
  info(): PluginInfo;
  check(transcript: Conversation, params: Json): Verdict;
}
/** An adapter: a vendor export to canonical conversations. */
export interface Adapter {
  info(): PluginInfo;
  convert(data: Uint8Array, options: Json): Converted[];
}

/**
 * A JSON value as a simulator gets it (`parseJsonExact`): a number written with a
 * fraction or an exponent is an `F64`, an integer beyond 2^53 a `bigint`.
 */
export type ExactJson = null | boolean | number | bigint | F64 | string | ExactJson[] | { [key: string]: ExactJson };

/** One tool call as the agent made it. */
export class ToolRequest {
  constructor(tool: string, args?: ExactJson, version?: string);
  /** Tool name as the agent calls it. */
  tool: string;
  /** Arguments, a JSON object. */
  arguments: ExactJson;
  /** The tool's version (from the call, else the scenario's registry; may be empty). */
  version: string;
  /** The string argument `key`, or `null` when it is missing or not a string. */
  argStr(key: string): string | null;
  static fromJSONValue(v: ExactJson, where?: string): ToolRequest;
  toJSONValue(): ExactJson;
}

/** A call the recorded conversation made, with what it returned. */
export class Observed {
  constructor(request: ToolRequest, result: ExactJson, isError?: boolean);
  request: ToolRequest;
  /** The recorded result, any JSON value. */
  result: ExactJson;
  /** True when the tool reported an error. */
  isError: boolean;
  static fromJSONValue(v: ExactJson, where?: string): Observed;
  toJSONValue(): ExactJson;
}

/** A simulator's answer to one call: the tool's result and the whole world after it. */
export class Simulated {
  constructor(result: ExactJson, isError: boolean, world: ExactJson);
  result: ExactJson;
  /** True when the tool reports an error (a rejected call should change nothing). */
  isError: boolean;
  /** The whole world after the call: an object (unchanged for reads). */
  world: ExactJson;
  /** A successful result; `world` is the world after the call. */
  static ok(result: ExactJson, world: ExactJson): Simulated;
  /** An error result; the world is unchanged (pass it back as it came). */
  static error(result: ExactJson, world: ExactJson): Simulated;
  toJSONValue(): ExactJson;
}

/** A tool simulator (world `simulator`, since WIT 0.1.2): answers tool calls from a world state. */
export interface Simulator {
  info(): PluginInfo;
  /** The world before the conversation (an object), from every call it made and every result it got, in order. */
  seed(observed: Observed[], params: Json): ExactJson;
  /** `request` answered in `world`, with the world after it; `null` when the tool is not modelled. */
  call(world: ExactJson, request: ToolRequest, params: Json): Simulated | null;
}

/** A deep copy of a JSON value that keeps `F64` and `bigint` numbers: change the copy of a world, never the world given. */
export function cloneJson<T extends ExactJson>(v: T): T;
/** True when `v` is a JSON object (not an array, `null` or an `F64`). */
export function isJsonObject(v: unknown): v is { [key: string]: ExactJson };

export class Params {
  constructor(params: Json | undefined);
  denyUnknown(known: string[]): void;
  get(key: string): Json | undefined;
  str(key: string, dflt: string): string;
  strList(key: string, dflt: string[]): string[];
  u64(key: string, dflt: number): number;
  bool(key: string, dflt: boolean): boolean;
  f64(key: string, dflt: number): number;
}
export function kindOf(v: Json | undefined): string;

/** A number the canonical writer always writes as a float (`1.0`). */
export class F64 {
  constructor(value: number);
  value: number;
}
export function f64(x: number): F64;
export function formatFloat(x: number): string;
export function compareCodePoints(a: string, b: string): number;
export function canonicalJson(value: unknown): string;
export function canonicalJsonPretty(value: unknown): string;
export function parseJson(text: string | Uint8Array, what?: string): Json;
/** Parses JSON as serde_json reads it: floats as `F64`, integers beyond 2^53 as `bigint`. */
export function parseJsonExact(text: string | Uint8Array, what?: string): unknown;
/** Canonical JSON of a `ToolCall`'s `arguments` / `ToolResult`'s `content`, from the JSON text it was read from when known. */
export function canonicalJsonOf(owner: object, value: unknown): string;
/** Rust's `char::is_whitespace` set. */
export const WHITESPACE: string;
/** Rust's `str::trim`. */
export function trim(s: string): string;

export const LEVELS: ['debug', 'info', 'warn', 'error'];
export function log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;

export const NEGATIONS: string[];
export function isAlphanumeric(codePoint: number): boolean;
export class Phrases {
  constructor(phrases: Iterable<string>);
  findIn(text: string): string | undefined;
  findWordIn(text: string): string | undefined;
  findAffirmedIn(text: string): string | undefined;
}
export function findAnyCi(haystack: string, needles: Iterable<string>): string | undefined;
export function containsAnyCi(haystack: string, needles: Iterable<string>): boolean;
export function findAnyWordCi(haystack: string, needles: Iterable<string>): string | undefined;
export function containsAnyWordCi(haystack: string, needles: Iterable<string>): boolean;
export function findAffirmedCi(haystack: string, needles: Iterable<string>): string | undefined;
export function regexEscape(text: string): string;
export function phrasesPattern(phrases: Iterable<string>, wholeWords: boolean): string;
