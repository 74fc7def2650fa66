// ratchet-sdk for JavaScript: write ratchet plugins (scorecards, assertions,
// adapters, tool simulators) in JavaScript and build them into WebAssembly components with
// componentize-js. The model and results mirror the Rust SDK; everything the SDK
// writes as JSON is canonical and byte-identical to the Rust SDK's.
//
// A plugin is an object with `info()` and one method per world:
//   scorecard  score(conversation, params) -> ScorecardResult   export const scorer = scorecard(p)
//   assertion  check(transcript, params)   -> Verdict           export const asserter = assertion(p)
//   adapter    convert(bytes, options)     -> Converted[]       export const converter = adapter(p)
//   simulator  seed(observed, params)      -> world             export const simulation = simulator(p)
//              call(world, request, params) -> Simulated | null
// (the export helpers are in `component.js`, imported only by the component entry).
// Throw `PluginError(message)` when the plugin cannot do its job (bad params).

export { F64, canonicalJson, canonicalJsonPretty, compareCodePoints, f64, formatFloat, parseJson, parseJsonExact, ParseError } from './canonical.js';
export { PluginError } from './errors.js';
export { LEVELS, log } from './log.js';
export { AgentState, CHANNELS, Conversation, ModelError, ROLES, SCHEMA_VERSION, StateSource, ToolCall, ToolResult, Turn, canonicalJsonOf, truthy, valueText } from './model.js';
export { Params, kindOf } from './params.js';
export { Converted, CriterionResult, PluginInfo, ScorecardResult, SuggestedCriterion, Verdict } from './results.js';
export { Observed, Simulated, ToolRequest, cloneJson, isJsonObject } from './simulator.js';
export {
  NEGATIONS,
  Phrases,
  containsAnyCi,
  containsAnyWordCi,
  findAffirmedCi,
  findAnyCi,
  findAnyWordCi,
  isAlphanumeric,
  phrasesPattern,
  regexEscape,
  trim,
  WHITESPACE,
} from './text.js';
// The judge (src/judge.js) is imported from its own module: a component imports
// ratchet:plugin/model only when its bundle uses it.
