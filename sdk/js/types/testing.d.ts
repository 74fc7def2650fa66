// Types of src/testing.js (import '<sdk>/src/testing.js'): golden-file tests run
// natively with `node --test`. See sdk/js/README.md, "Test natively".
import { Adapter, Assertion, Json, Scorecard, Simulator } from './index';

/** Environment variable that switches golden tests to rewriting the expected files. */
export const UPDATE_ENV: 'RATCHET_UPDATE_GOLDEN';

/** An input file that is not a valid sample for its kind of plugin; the message names the field. */
export class SampleError extends Error {}
/** The plugin returned something the host refuses as malformed. */
export class MalformedOutput extends Error {}

/** What `run` gets: the sample's bytes and its options (`<stem>.options.json`, else `{}`); it returns the output to compare. */
export type Run = (data: Uint8Array, options: Json) => unknown;

/** Checks (or, with `update`, rewrites) the golden files in `dir`. */
export function checkGoldenSamples(dir: string, min: number, update: boolean, run: Run): { ok: true; samples: number; invalid: number } | { ok: false; report: string };
/** Checks the golden files in `dir` (rewrites them with RATCHET_UPDATE_GOLDEN set); throws an Error with a report of every problem. */
export function goldenSamples(dir: string, min: number, run: Run): { samples: number; invalid: number };

/** The host's default limit on one call's output (4 MiB). */
export const MAX_OUTPUT_BYTES: number;
/** Checks a scorecard's result as the component glue and the host do; throws MalformedOutput. */
export function checkScorecardResult(result: unknown, turns: number): void;
/** Checks an assertion's verdict as the glue and the host do; throws MalformedOutput. */
export function checkVerdict(verdict: unknown, turns: number): void;
/** Checks an adapter's output as the glue and the host do; throws MalformedOutput. */
export function checkConverted(items: unknown): void;
export function scorecardRunner(plugin: Scorecard): Run;
/** The input is `{"transcript": ..., "params": ...}`. */
export function assertionRunner(plugin: Assertion): Run;
export function adapterRunner(plugin: Adapter): Run;
/** One simulator sample (`{"world", "request"}` or `{"observed"}`), read and checked as the host does. */
export function runSimulator(plugin: Simulator, data: Uint8Array | string, params: Json): unknown;
export function simulatorRunner(plugin: Simulator): Run;
