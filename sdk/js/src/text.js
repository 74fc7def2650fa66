// Text-matching helpers with the Rust SDK's exact semantics (sdk/rust/src/text.rs):
// case-insensitive means both sides lower-cased (`toLowerCase`, full Unicode, as
// Rust's `str::to_lowercase`); a word boundary is a character that is not
// alphanumeric in Rust's sense (`char::is_alphanumeric`, from a table generated from
// Rust); empty phrases never match; phrases are tried in list order.

import { RANGES } from './alnum.js';

/** Words that, shortly before a phrase in the same clause, negate it. */
export const NEGATIONS = ['not', 'no', 'never', 'cannot', 'unable', 'without', 'yet'];

/**
 * Rust's `char::is_whitespace` (Unicode White_Space): what `str::trim` strips.
 * JavaScript's `String.prototype.trim` also strips U+FEFF and keeps U+0085.
 */
export const WHITESPACE = '\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
const TRIM = new RegExp(`^[${WHITESPACE}]+|[${WHITESPACE}]+$`, 'g');

/** Rust's `str::trim`: `s` without leading and trailing Unicode White_Space. */
export function trim(s) {
  return s.replace(TRIM, '');
}

/** Rust's `char::is_alphanumeric` for a code point. */
export function isAlphanumeric(cp) {
  if (cp < 128) return (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122);
  let lo = 0;
  let hi = RANGES.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < RANGES[2 * mid]) hi = mid - 1;
    else if (cp > RANGES[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

function codePointBefore(s, i) {
  if (i <= 0) return undefined;
  const lo = s.charCodeAt(i - 1);
  if (lo >= 0xdc00 && lo <= 0xdfff && i >= 2) {
    const hi = s.charCodeAt(i - 2);
    if (hi >= 0xd800 && hi <= 0xdbff) return s.codePointAt(i - 2);
  }
  return lo;
}

function wholeWord(hay, start, end) {
  const before = codePointBefore(hay, start);
  const after = end < hay.length ? hay.codePointAt(end) : undefined;
  return (before === undefined || !isAlphanumeric(before)) && (after === undefined || !isAlphanumeric(after));
}

// In ASCII, Rust's alphanumerics are [A-Za-z0-9]: one regex finds the words.
const ASCII_ONLY = /^[\x00-\x7f]*$/;
const ASCII_WORD = /[A-Za-z0-9']+/g;

function negatedBefore(prefix) {
  let cut = -1;
  for (const p of '.,;:!?') cut = Math.max(cut, prefix.lastIndexOf(p));
  const clause = prefix.slice(cut + 1);
  const words = ASCII_ONLY.test(clause) ? clause.match(ASCII_WORD) || [] : wordsOf(clause);
  return words.slice(-4).some((w) => NEGATIONS.includes(w) || w.endsWith("n't") || w.endsWith('n\u2019t'));
}

/** The clause's words: runs of alphanumerics and apostrophes (' and \u2019). */
function wordsOf(clause) {
  const words = [];
  let cur = '';
  for (const ch of clause) {
    const cp = ch.codePointAt(0);
    if (isAlphanumeric(cp) || ch === "'" || ch === '\u2019') cur += ch;
    else if (cur) {
      words.push(cur);
      cur = '';
    }
  }
  if (cur) words.push(cur);
  return words;
}

/**
 * A phrase list lower-cased once, to match against many texts.
 *
 * Written for the interpreter a component runs (StarlingMonkey has no JIT): indexed
 * loops over two arrays instead of iterating `[phrase, lower]` pairs, `indexOf`
 * loops instead of generators; measured in fuel, these helpers were most of a
 * scorecard's cost.
 */
export class Phrases {
  /** @param {Iterable<string>} phrases */
  constructor(phrases) {
    this.items = [...phrases].filter((p) => p).map((p) => [p, p.toLowerCase()]);
    this.phrases = this.items.map((x) => x[0]);
    this.lower = this.items.map((x) => x[1]);
  }
  /** The first phrase contained in `text`, ignoring case (or `undefined`). */
  findIn(text) {
    const hay = text.toLowerCase();
    const lower = this.lower;
    for (let i = 0; i < lower.length; i++) if (hay.includes(lower[i])) return this.phrases[i];
    return undefined;
  }
  /** The first phrase contained in `text` as whole words (`cancel` does not match `cancellation`). */
  findWordIn(text) {
    const hay = text.toLowerCase();
    const lower = this.lower;
    for (let i = 0; i < lower.length; i++) {
      const low = lower[i];
      for (let s = hay.indexOf(low); s !== -1; s = hay.indexOf(low, s + 1)) if (wholeWord(hay, s, s + low.length)) return this.phrases[i];
    }
    return undefined;
  }
  /** The first phrase `text` affirms: a whole-word match not negated by `not`, `never`, `...n't`... among the four words before it in its clause. */
  findAffirmedIn(text) {
    const hay = text.toLowerCase();
    const lower = this.lower;
    for (let i = 0; i < lower.length; i++) {
      const low = lower[i];
      for (let s = hay.indexOf(low); s !== -1; s = hay.indexOf(low, s + 1)) if (wholeWord(hay, s, s + low.length) && !negatedBefore(hay.slice(0, s))) return this.phrases[i];
    }
    return undefined;
  }
}

/** The first of `needles` found in `haystack`, ignoring case. */
export const findAnyCi = (haystack, needles) => new Phrases(needles).findIn(haystack);
/** True when `haystack` contains any of `needles`, ignoring case. */
export const containsAnyCi = (haystack, needles) => findAnyCi(haystack, needles) !== undefined;
/** Like `findAnyCi`, but needles only match as whole words. */
export const findAnyWordCi = (haystack, needles) => new Phrases(needles).findWordIn(haystack);
/** True when `haystack` contains any of `needles` as whole words, ignoring case. */
export const containsAnyWordCi = (haystack, needles) => findAnyWordCi(haystack, needles) !== undefined;
/** The first of `needles` that `haystack` affirms ("has been cancelled", not "has not been cancelled"). */
export const findAffirmedCi = (haystack, needles) => new Phrases(needles).findAffirmedIn(haystack);

const META = /[\\.+*?()|[\]{}^$#&\-~]/g;

/** Escapes regex metacharacters (Rust `regex` syntax, as the gate's patterns use). */
export function regexEscape(text) {
  return text.replace(META, '\\$&');
}

/** A case-insensitive regex matching any of `phrases` literally, as whole words when `wholeWords`. */
export function phrasesPattern(phrases, wholeWords) {
  const b = wholeWords ? '\\b' : '';
  return '(?i)' + b + '(?:' + [...phrases].filter((p) => p).map(regexEscape).join('|') + ')' + b;
}
