// Types of src/component.js (import '<sdk>/src/component.js'): only the component
// entry (`app.js`) imports it; the export's name must be the WIT interface's.
import { Adapter, Assertion, Scorecard, Simulator } from './index';

/** The glue componentize-js exports for one WIT interface (WIT records in, WIT records out). */
export type WitExport = Record<string, (...args: never[]) => unknown>;

/** `export const scorer = scorecard(obj)`. */
export function scorecard(plugin: Scorecard): WitExport;
/** `export const asserter = assertion(obj)`. */
export function assertion(plugin: Assertion): WitExport;
/** `export const converter = adapter(obj)`. */
export function adapter(plugin: Adapter): WitExport;
/** `export const simulation = simulator(obj)` (WIT 0.1.2). */
export function simulator(plugin: Simulator): WitExport;
