// What plugins return, with the JSON shapes of the Rust SDK's `results` module
// (so golden tests compare them with the same `.expected.json` files). Scores are
// f64: written as floats (`1.0`) whatever number you pass.

import { f64 } from './canonical.js';

/** What a plugin says about itself. */
export class PluginInfo {
  /**
   * @param {string} name Short machine name, e.g. `policy-keywords`.
   * @param {string} version The plugin's own version.
   * @param {string} description One line for humans.
   */
  constructor(name, version, description) {
    this.name = name;
    this.version = version;
    this.description = description;
  }
  toJSONValue() {
    return { name: this.name, version: this.version, description: this.description };
  }
}

/** One named check inside a scorecard. */
export class CriterionResult {
  constructor({ name, score, passed, reason = '', turn = null }) {
    this.name = name;
    /** In [0, 1]. */
    this.score = score;
    this.passed = passed;
    this.reason = reason;
    /** The turn the result points at, or `null`. */
    this.turn = turn;
  }
  /** A passing criterion (score 1). */
  static pass(name, reason) {
    return new CriterionResult({ name, score: 1, passed: true, reason });
  }
  /** A failing criterion (score 0) pointing at `turn`. */
  static fail(name, reason, turn = null) {
    return new CriterionResult({ name, score: 0, passed: false, reason, turn });
  }
  toJSONValue() {
    const out = { name: this.name, score: f64(this.score), passed: !!this.passed, reason: this.reason };
    if (this.turn !== null && this.turn !== undefined) out.turn = this.turn;
    return out;
  }
}

/** A scenario criterion a scorecard proposes (built-in kinds: `must-not-call-tool`, `must-say`, ...). */
export class SuggestedCriterion {
  constructor(kind, params = {}, reason = '') {
    this.kind = kind;
    /** The criterion's parameters, an object. */
    this.params = params;
    /** Why: shown as a comment in the scenario file. */
    this.reason = reason;
  }
  toJSONValue() {
    return { kind: this.kind, params: this.params, reason: this.reason };
  }
}

/** What a scorecard returns for one conversation. */
export class ScorecardResult {
  constructor({ score, criteria = [], flags = [], failureMode = null, suggestedCriteria = [] }) {
    /** Overall score in [0, 1]; the host compares it with a threshold. */
    this.score = score;
    /** @type {CriterionResult[]} */
    this.criteria = criteria;
    /** @type {string[]} Named flags, e.g. `compliance:unauthorised-refund`. */
    this.flags = flags;
    /** The failure-mode cluster, if failing. */
    this.failureMode = failureMode;
    /** @type {SuggestedCriterion[]} */
    this.suggestedCriteria = suggestedCriteria;
  }
  /** Score = mean of the criteria scores (1 when there are none). */
  static fromCriteria(criteria) {
    if (criteria.length === 0) return new ScorecardResult({ score: 1, criteria: [] });
    let total = 0;
    for (const c of criteria) total += Number(c.score); // left to right, like Rust's `sum`
    return new ScorecardResult({ score: total / criteria.length, criteria: [...criteria] });
  }
  /** Weighted mean (missing weights count as 1, negative ones as 0; all-zero weights give 1). */
  static fromWeightedCriteria(criteria, weights) {
    let total = 0;
    let acc = 0;
    criteria.forEach((c, i) => {
      const w = Math.max(i < weights.length ? Number(weights[i]) : 1, 0);
      total += w;
      acc += w * Number(c.score);
    });
    const r = ScorecardResult.fromCriteria(criteria);
    r.score = total > 0 ? acc / total : 1;
    return r;
  }
  /** True when every criterion passed. */
  allPassed() {
    return this.criteria.every((c) => c.passed);
  }
  /** The first failing criterion, if any. */
  firstFailure() {
    return this.criteria.find((c) => !c.passed);
  }
  toJSONValue() {
    const out = {
      score: f64(this.score),
      criteria: this.criteria.map((c) => c.toJSONValue()),
      flags: [...this.flags],
      suggested_criteria: this.suggestedCriteria.map((s) => s.toJSONValue()),
    };
    if (this.failureMode !== null && this.failureMode !== undefined) out.failure_mode = this.failureMode;
    return out;
  }
}

/** What an assertion returns for one replayed transcript. */
export class Verdict {
  constructor({ passed, reason = '', turn = null }) {
    this.passed = passed;
    this.reason = reason;
    /** The turn the verdict points at, or `null`. */
    this.turn = turn;
  }
  /** A passing verdict. */
  static pass(reason) {
    return new Verdict({ passed: true, reason });
  }
  /** A failing verdict pointing at `turn`. */
  static fail(reason, turn = null) {
    return new Verdict({ passed: false, reason, turn });
  }
  toJSONValue() {
    const out = { passed: !!this.passed, reason: this.reason };
    if (this.turn !== null && this.turn !== undefined) out.turn = this.turn;
    return out;
  }
}

/** One conversation produced by an adapter, plus what the source lacked. */
export class Converted {
  /**
   * @param {import('./model.js').Conversation} conversation
   * @param {string[]} missing Canonical fields the source did not carry (e.g. `state.kb_version_hash`).
   */
  constructor(conversation, missing = []) {
    this.conversation = conversation;
    this.missing = missing;
  }
  toJSONValue() {
    return { conversation: this.conversation.toJSONValue(), missing: [...this.missing] };
  }
}
