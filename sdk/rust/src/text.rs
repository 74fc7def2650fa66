//! Small text-matching helpers: most policy checks are "did the agent say one
//! of these phrases?", and getting case-folding, word boundaries and simple
//! negation right in every plugin is needless repetition.

use std::borrow::Cow;

/// A text lower-cased once (exactly as [`str::to_lowercase`] would, with a
/// fast path for ASCII and no copy when it is already lower-case ASCII), to
/// match several [`Phrases`] against it without lower-casing it each time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lowercased<'a>(Cow<'a, str>);

impl<'a> Lowercased<'a> {
    /// Lower-cases `text`.
    pub fn new(text: &'a str) -> Self {
        Lowercased(lowercase(text))
    }

    /// The lower-cased text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `text.to_lowercase()`, borrowed when that would not change it (ASCII
/// without upper-case letters) and without Unicode tables for ASCII.
fn lowercase(text: &str) -> Cow<'_, str> {
    if !text.is_ascii() {
        Cow::Owned(text.to_lowercase())
    } else if has_ascii_upper(text.as_bytes()) {
        Cow::Owned(ascii_lowercase(text))
    } else {
        Cow::Borrowed(text)
    }
}

/// Eight bytes of a slice as one word (little-endian), from `at`.
fn word(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
}

/// Each byte repeated eight times.
const fn repeat(b: u8) -> u64 {
    u64::from_le_bytes([b; 8])
}

const LOW_BITS: u64 = repeat(0x01);
const HIGH_BITS: u64 = repeat(0x80);

/// The high bit of every byte of `x` (ASCII bytes only) that is `A`..=`Z`.
fn upper_bits(x: u64) -> u64 {
    // No byte of `x` is above 0x7f, so no sum carries into the next byte:
    // a byte >= b'A' reaches 0x80, one > b'Z' too.
    (x + repeat(0x80 - b'A')) & !(x + repeat(0x80 - b'Z' - 1)) & HIGH_BITS
}

/// The high bit of every byte of `x` that is an ASCII letter or digit.
fn alphanumeric_bits(x: u64) -> u64 {
    // Without their high bits no sum below carries into the next byte; bytes
    // with it (non-ASCII) are not ASCII letters or digits.
    let y = x & !HIGH_BITS;
    let in_range = |v: u64, lo: u8, hi: u8| (v + repeat(0x80 - lo)) & !(v + repeat(0x80 - hi - 1));
    // `| 0x20` maps `A`..=`Z` onto `a`..=`z` and nothing else into it.
    (in_range(y, b'0', b'9') | in_range(y | repeat(0x20), b'a', b'z')) & !x & HIGH_BITS
}

/// Whether ASCII `bytes` hold an upper-case letter (eight bytes at a time:
/// every byte-wise loop costs a component fuel and time per byte).
fn has_ascii_upper(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i + 8 <= bytes.len() {
        if upper_bits(word(bytes, i)) != 0 {
            return true;
        }
        i += 8;
    }
    bytes[i..].iter().any(u8::is_ascii_uppercase)
}

/// `text.to_ascii_lowercase()` for ASCII `text`, eight bytes at a time.
fn ascii_lowercase(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let x = word(bytes, i);
        // 'A' | 0x20 == 'a': the high bit of an upper-case byte, shifted to 0x20.
        out.extend_from_slice(&(x | (upper_bits(x) >> 2)).to_le_bytes());
        i += 8;
    }
    out.extend(bytes[i..].iter().map(u8::to_ascii_lowercase));
    // ASCII in, ASCII out.
    String::from_utf8(out).expect("ASCII is UTF-8")
}

/// A phrase list lower-cased once, to match against many texts: the
/// reusable form of [`find_any_ci`], [`find_any_word_ci`] and
/// [`find_affirmed_ci`] (same results; empty phrases never match). Build it
/// once per call and pair it with [`Lowercased`] texts.
#[derive(Debug, Clone)]
pub struct Phrases<'n> {
    /// The non-empty phrases, in order.
    items: Vec<Item<'n>>,
    /// The lower-cased phrases, concatenated (one allocation for all).
    lower: String,
    /// Per byte `b`: the first item whose lower-cased form starts with `b`
    /// ([`NONE`] if none); items chain on through [`Item::next`], in order.
    heads: [u8; 256],
    /// The distinct first bytes of the items, each repeated over a word, when
    /// there are at most [`WORD_SCAN_MAX`]: a text is then searched for them
    /// eight bytes at a time. Empty: byte by byte.
    firsts: Vec<u64>,
}

/// Most distinct first bytes searched for a word at a time; with more, testing
/// every byte against the `heads` table costs less.
const WORD_SCAN_MAX: usize = 8;

#[derive(Debug, Clone)]
struct Item<'n> {
    /// As given.
    phrase: &'n str,
    /// Where its lower-cased form is in [`Phrases::lower`].
    start: usize,
    end: usize,
    /// The next item starting with the same byte, or [`NONE`].
    next: u8,
    /// Its first (up to) eight lower-cased bytes as a little-endian word, and
    /// the mask of those bytes: a candidate is checked against them with one
    /// comparison before the rest is compared.
    prefix: u64,
    mask: u64,
}

/// End of an item chain; also the most items the one-pass scan handles.
const NONE: u8 = u8::MAX;

impl<'n> Phrases<'n> {
    /// Lower-cases `phrases` (keeping their order).
    pub fn new<S: AsRef<str>>(phrases: &'n [S]) -> Self {
        let mut lower = String::with_capacity(phrases.iter().map(|p| p.as_ref().len()).sum());
        let mut items = Vec::with_capacity(phrases.len());
        for phrase in phrases.iter().map(AsRef::as_ref).filter(|p| !p.is_empty()) {
            let start = lower.len();
            if phrase.is_ascii() {
                lower.push_str(phrase);
                lower[start..].make_ascii_lowercase();
            } else {
                lower.push_str(&phrase.to_lowercase());
            }
            let n = &lower.as_bytes()[start..];
            let mut head = [0u8; 8];
            head[..n.len().min(8)].copy_from_slice(&n[..n.len().min(8)]);
            let mask = if n.len() >= 8 { u64::MAX } else { (1u64 << (8 * n.len())) - 1 };
            items.push(Item { phrase, start, end: lower.len(), next: NONE, prefix: u64::from_le_bytes(head), mask });
        }
        let mut heads = [NONE; 256];
        let mut firsts = Vec::new();
        if items.len() < usize::from(NONE) {
            // Build the chains back to front so each lists its items in order.
            for k in (0..items.len()).rev() {
                let first = lower.as_bytes()[items[k].start];
                if heads[usize::from(first)] == NONE {
                    firsts.push(repeat(first));
                }
                items[k].next = heads[usize::from(first)];
                heads[usize::from(first)] = k as u8;
            }
            if firsts.len() > WORD_SCAN_MAX {
                firsts.clear();
            }
        }
        Phrases { items, lower, heads, firsts }
    }

    /// The first phrase contained in `text` (see [`find_any_ci`]).
    pub fn find_in(&self, text: &Lowercased<'_>) -> Option<&'n str> {
        self.first_accepted(text.as_str(), false, |_, _| true)
    }

    /// The first phrase contained in `text` as whole words (see [`find_any_word_ci`]).
    pub fn find_word_in(&self, text: &Lowercased<'_>) -> Option<&'n str> {
        let hay = text.as_str();
        self.first_accepted(hay, true, |start, end| whole_word(hay, start, end))
    }

    /// The first phrase `text` affirms (see [`find_affirmed_ci`]).
    pub fn find_affirmed_in(&self, text: &Lowercased<'_>) -> Option<&'n str> {
        let hay = text.as_str();
        self.first_accepted(hay, true, |start, end| whole_word(hay, start, end) && !negated_before(&hay[..start]))
    }

    /// The first phrase (in list order) with an occurrence `start..end` in
    /// `hay` that `accept` accepts; `words` when `accept` rejects occurrences
    /// right after a letter or digit. Short texts are scanned once for all
    /// phrases (eight bytes at a time for the phrases' first bytes, then each
    /// candidate checked against the phrases starting there); long ones phrase
    /// by phrase with `str::find`, which keeps the worst case linear.
    fn first_accepted(&self, hay: &str, words: bool, accept: impl Fn(usize, usize) -> bool) -> Option<&'n str> {
        if hay.len() > NAIVE_SEARCH_MAX || self.items.len() >= usize::from(NONE) {
            return self
                .items
                .iter()
                .find(|item| {
                    let n = &self.lower[item.start..item.end];
                    occurrences(hay, n).any(|start| accept(start, start + n.len()))
                })
                .map(|item| item.phrase);
        }
        // A match of a valid UTF-8 phrase in valid UTF-8 text always starts
        // and ends on char boundaries, so comparing bytes finds the same
        // occurrences as `str::find`.
        let (h, lower) = (hay.as_bytes(), self.lower.as_bytes());
        // Items before `best` may still win; `best` matched already.
        let mut best = self.items.len();
        // Tries the items starting with `h[i]` at `i`; true once nothing can beat `best`.
        let mut visit = |i: usize| {
            // An ASCII letter or digit is a whole char: no word starts after it.
            if words && i > 0 && h[i - 1].is_ascii_alphanumeric() {
                return false;
            }
            let x = (i + 8 <= h.len()).then(|| word(h, i));
            let mut k = usize::from(self.heads[usize::from(h[i])]);
            // `NONE` is never below `best`, which is at most the item count.
            while k < best {
                let item = &self.items[k];
                let n = &lower[item.start..item.end];
                let found = match x {
                    // The first eight bytes at once, then the rest.
                    Some(x) => x & item.mask == item.prefix && (n.len() <= 8 || h.get(i + 8..i + n.len()) == Some(&n[8..])),
                    None => h.get(i..i + n.len()) == Some(n),
                };
                if found && accept(i, i + n.len()) {
                    best = k;
                    break;
                }
                k = usize::from(item.next);
            }
            best == 0
        };
        let mut i = 0;
        if !self.firsts.is_empty() {
            // Eight bytes at a time: a zero byte of `x ^ first` is an occurrence of
            // `first`. The flags are exact up to the first zero byte of each word;
            // past it they may be wrong, hence the `heads` check.
            while i + 8 <= h.len() {
                let x = word(h, i);
                let mut found = self.firsts.iter().fold(0, |acc, f| {
                    let v = x ^ f;
                    acc | (v.wrapping_sub(LOW_BITS) & !v & HIGH_BITS)
                });
                if words && found != 0 {
                    // Drop the candidates right after an ASCII letter or digit (as
                    // `visit` would), eight at a time: most are inside words.
                    let before = if i > 0 && h[i - 1].is_ascii_alphanumeric() { 0x80 } else { 0 };
                    found &= !((alphanumeric_bits(x) << 8) | before);
                }
                while found != 0 {
                    let at = i + (found.trailing_zeros() / 8) as usize;
                    found &= found - 1;
                    if self.heads[usize::from(h[at])] != NONE && visit(at) {
                        return self.items.get(best).map(|item| item.phrase);
                    }
                }
                i += 8;
            }
        }
        for (at, &b) in h.iter().enumerate().skip(i) {
            if self.heads[usize::from(b)] != NONE && visit(at) {
                break;
            }
        }
        self.items.get(best).map(|item| item.phrase)
    }
}

/// Returns the first of `needles` found in `haystack`, ignoring case
/// (Unicode lowercase). Empty needles never match.
pub fn find_any_ci<'n, S: AsRef<str>>(haystack: &str, needles: &'n [S]) -> Option<&'n str> {
    Phrases::new(needles).find_in(&Lowercased::new(haystack))
}

/// True when `haystack` contains any of `needles`, ignoring case.
pub fn contains_any_ci<S: AsRef<str>>(haystack: &str, needles: &[S]) -> bool {
    find_any_ci(haystack, needles).is_some()
}

/// Like [`find_any_ci`], but a needle only matches as whole words: the
/// characters just before and after the match must not be alphanumeric (so
/// `cancel` does not match `cancellation`).
pub fn find_any_word_ci<'n, S: AsRef<str>>(haystack: &str, needles: &'n [S]) -> Option<&'n str> {
    Phrases::new(needles).find_word_in(&Lowercased::new(haystack))
}

/// True when `haystack` contains any of `needles` as whole words, ignoring case.
pub fn contains_any_word_ci<S: AsRef<str>>(haystack: &str, needles: &[S]) -> bool {
    find_any_word_ci(haystack, needles).is_some()
}

/// Words that, shortly before a phrase in the same clause, turn a claim into
/// its negation ("has **not** been cancelled", "**never** refunded").
const NEGATIONS: &[&str] = &["not", "no", "never", "cannot", "unable", "without", "yet"];

/// Returns the first of `needles` that `haystack` *affirms*: a whole-word,
/// case-insensitive match that is not negated by a negation word (`not`,
/// `never`, `cannot`, any `...n't`, ...) among the four words before it in the
/// same clause (clauses end at `. , ; : ! ?`). This is what "did the agent claim
/// X happened?" checks need: "your plan has been cancelled" affirms
/// `cancelled`; "your plan has not been cancelled" does not.
pub fn find_affirmed_ci<'n, S: AsRef<str>>(haystack: &str, needles: &'n [S]) -> Option<&'n str> {
    Phrases::new(needles).find_affirmed_in(&Lowercased::new(haystack))
}

/// Texts up to this many bytes are scanned once for all phrases (cheaper
/// than setting up `str::find`'s two-way searcher for every phrase); longer
/// ones phrase by phrase with `str::find`.
const NAIVE_SEARCH_MAX: usize = 1024;

/// Byte offsets of all (possibly overlapping) occurrences of `needle`
/// (non-empty) in `hay`, in order.
fn occurrences<'h>(hay: &'h str, needle: &'h str) -> impl Iterator<Item = usize> + 'h {
    let mut from = 0;
    std::iter::from_fn(move || {
        let start = from + hay.get(from..)?.find(needle)?;
        from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
        Some(start)
    })
}

/// True when `start..end` of `hay` is bounded by non-alphanumeric characters
/// (or the text's ends).
fn whole_word(hay: &str, start: usize, end: usize) -> bool {
    hay[..start].chars().next_back().is_none_or(|c| !c.is_alphanumeric()) && hay[end..].chars().next().is_none_or(|c| !c.is_alphanumeric())
}

/// True when the clause ending at the end of `prefix` has a negation among
/// its last four words.
fn negated_before(prefix: &str) -> bool {
    let clause = prefix.rsplit(['.', ',', ';', ':', '!', '?']).next().unwrap_or(prefix);
    clause
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '\u{2019}'))
        .filter(|w| !w.is_empty())
        .rev()
        .take(4)
        .any(|w| NEGATIONS.contains(&w) || w.ends_with("n't") || w.ends_with("n\u{2019}t"))
}

/// Escapes regex metacharacters so `text` matches literally (Rust `regex`
/// syntax). Exists so scorecards can turn phrase lists into the `pattern` of
/// suggested `must-say` / `must-not-say` criteria.
pub fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_regex_escaped(&mut out, text);
    out
}

/// Appends `text` to `out` with regex metacharacters escaped (see [`regex_escape`]).
fn push_regex_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        if matches!(c, '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#' | '&' | '-' | '~') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A case-insensitive regex matching any of `phrases` literally, as whole
/// words when `whole_words` (e.g. `(?i)\b(?:cancelled|canceled)\b`). Empty
/// phrases are skipped.
pub fn phrases_pattern<S: AsRef<str>>(phrases: &[S], whole_words: bool) -> String {
    let b = if whole_words { "\\b" } else { "" };
    let mut out = String::with_capacity(16 + phrases.iter().map(|p| p.as_ref().len() + 1).sum::<usize>());
    out.push_str("(?i)");
    out.push_str(b);
    out.push_str("(?:");
    for (i, p) in phrases.iter().map(AsRef::as_ref).filter(|p| !p.is_empty()).enumerate() {
        if i > 0 {
            out.push('|');
        }
        push_regex_escaped(&mut out, p);
    }
    out.push(')');
    out.push_str(b);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_contains() {
        assert_eq!(find_any_ci("Your plan has been CANCELLED.", &["refunded", "cancelled"]), Some("cancelled"));
        assert!(!contains_any_ci("all good", &["cancelled"]));
        assert!(!contains_any_ci("anything", &[""]));
    }

    #[test]
    fn whole_words_only() {
        assert!(contains_any_word_ci("I will cancel it", &["cancel"]));
        assert!(!contains_any_word_ci("our cancellation policy", &["cancel"]));
        assert!(contains_any_word_ci("cancel", &["cancel"]));
        assert!(contains_any_word_ci("precancel, cancel.", &["cancel"]));
        assert_eq!(find_any_word_ci("Talk to a Human!", &["human"]), Some("human"));
        assert!(contains_any_word_ci("Ünïcode straße", &["STRASSE", "straße"]));
    }

    #[test]
    fn affirmed_claims_skip_negations() {
        let claims = ["cancelled", "refund has been issued"];
        assert_eq!(find_affirmed_ci("Done! Your plan is cancelled.", &claims), Some("cancelled"));
        assert_eq!(find_affirmed_ci("It has not been cancelled yet.", &claims), None);
        assert_eq!(find_affirmed_ci("I haven't cancelled anything", &claims), None);
        assert_eq!(find_affirmed_ci("I can\u{2019}t say it's cancelled", &claims), None);
        assert_eq!(find_affirmed_ci("No problem, your plan has been cancelled", &claims), Some("cancelled"));
        assert_eq!(find_affirmed_ci("It was not cancelled before; now it is cancelled", &claims), Some("cancelled"));
        assert_eq!(find_affirmed_ci("Your Refund has been issued.", &claims), Some("refund has been issued"));
        assert_eq!(find_affirmed_ci("uncancelled", &claims), None);
    }

    #[test]
    fn lowercased_matches_to_lowercase() {
        for text in ["", "already lower", "Mixed CASE 123", "Ünïcode STRASSE straße", "ὈΔΥΣΣΕΎΣ", "İstanbul", "\u{2019}Quote\u{2019}"] {
            assert_eq!(Lowercased::new(text).as_str(), text.to_lowercase(), "{text}");
        }
        assert!(matches!(Lowercased::new("plain ascii").0, Cow::Borrowed(_)));
    }

    /// The helpers as first written (lower-case everything per call,
    /// `str::find` per needle): the optimised ones must agree with them.
    mod reference {
        fn word_matches<'h>(hay: &'h str, needle: &'h str) -> impl Iterator<Item = usize> + 'h {
            let mut from = 0;
            std::iter::from_fn(move || {
                while from < hay.len() {
                    let start = from + hay[from..].find(needle)?;
                    let end = start + needle.len();
                    from = start + hay[start..].chars().next().map_or(1, char::len_utf8);
                    let before_ok = hay[..start].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
                    let after_ok = hay[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
                    if before_ok && after_ok {
                        return Some(start);
                    }
                }
                None
            })
        }

        pub fn find_any_ci<'n>(haystack: &str, needles: &[&'n str]) -> Option<&'n str> {
            let hay = haystack.to_lowercase();
            needles.iter().copied().find(|n| !n.is_empty() && hay.contains(&n.to_lowercase()))
        }

        pub fn find_any_word_ci<'n>(haystack: &str, needles: &[&'n str]) -> Option<&'n str> {
            let hay = haystack.to_lowercase();
            needles.iter().copied().find(|n| !n.is_empty() && word_matches(&hay, &n.to_lowercase()).next().is_some())
        }

        pub fn find_affirmed_ci<'n>(haystack: &str, needles: &[&'n str]) -> Option<&'n str> {
            let hay = haystack.to_lowercase();
            needles.iter().copied().find(|n| !n.is_empty() && word_matches(&hay, &n.to_lowercase()).any(|start| !super::super::negated_before(&hay[..start])))
        }
    }

    #[test]
    fn optimised_helpers_agree_with_the_reference() {
        let long = format!("{}Cancelled, not cancelled. Ask a MANAGER; x-human", "filler text ".repeat(100));
        let long_unicode = format!("{}Straße ünïcode, not refunded", "é ".repeat(600));
        assert!(long.len() > NAIVE_SEARCH_MAX && long_unicode.len() > NAIVE_SEARCH_MAX);
        let mut texts = vec![
            "",
            "a",
            "aaa",
            "abcabcab",
            "xno no no",
            "xNO NO NO",
            "no no",
            "Your plan has been CANCELLED.",
            "It has not been cancelled yet.",
            "I haven't cancelled anything",
            "I can\u{2019}t say it's cancelled",
            "Per our Cancellation Policy, cancelling.",
            "Let me talk to your MANAGER!",
            "our cancellation policy",
            "Ünïcode straße STRASSE",
            "éé e é",
            "human-like? Humanity. a Real Person",
            "It was not cancelled before; now it is cancelled",
            "cancel cancelled canceled precancel, cancel.",
            "ὈΔΥΣΣΕΎΣ İstanbul",
            "Your Refund has been issued. REFUNDED",
        ];
        texts.push(&long);
        texts.push(&long_unicode);
        let lists: [&[&str]; 8] = [
            &["cancelled", "canceled", "refund has been issued"],
            &["cancellation policy", "refund policy", ""],
            &["human", "real person", "manager", "STRASSE", "Straße"],
            &["", "cancel"],
            &["no no", "a", "aa", "abc", "cab", "bca"],
            &["é", "e", "ße", "ünïcode", "refunded", "İstanbul", "δυσσεύσ"],
            &["zz", "filler text manager", "text", "x"],
            &[],
        ];
        for text in &texts {
            let lower = Lowercased::new(text);
            for list in lists {
                let phrases = Phrases::new(list);
                let expected = reference::find_any_ci(text, list);
                assert_eq!(find_any_ci(text, list), expected, "{text:?} {list:?}");
                assert_eq!(phrases.find_in(&lower), expected, "{text:?} {list:?}");
                let expected = reference::find_any_word_ci(text, list);
                assert_eq!(find_any_word_ci(text, list), expected, "{text:?} {list:?}");
                assert_eq!(phrases.find_word_in(&lower), expected, "{text:?} {list:?}");
                let expected = reference::find_affirmed_ci(text, list);
                assert_eq!(find_affirmed_ci(text, list), expected, "{text:?} {list:?}");
                assert_eq!(phrases.find_affirmed_in(&lower), expected, "{text:?} {list:?}");
            }
        }
    }

    #[test]
    fn word_at_a_time_lowercasing_matches_byte_by_byte() {
        let ascii: String = (0u8..128).map(char::from).collect();
        for start in 0..128 {
            for len in [0, 1, 7, 8, 9, 15, 16, 17, 64] {
                let text: String = ascii.chars().cycle().skip(start).take(len).collect();
                assert_eq!(Lowercased::new(&text).as_str(), text.to_lowercase(), "{text:?}");
                assert_eq!(has_ascii_upper(text.as_bytes()), text.bytes().any(|b| b.is_ascii_uppercase()), "{text:?}");
            }
        }
    }

    #[test]
    fn word_at_a_time_alphanumeric_bits_match_byte_by_byte() {
        for start in 0..=255u8 {
            let bytes: Vec<u8> = (0..8).map(|k: u8| start.wrapping_add(k.wrapping_mul(37))).collect();
            let expected = bytes.iter().enumerate().fold(0u64, |acc, (k, b)| if b.is_ascii_alphanumeric() { acc | 0x80 << (8 * k) } else { acc });
            assert_eq!(alphanumeric_bits(word(&bytes, 0)), expected, "{bytes:?}");
        }
    }

    #[test]
    fn word_at_a_time_search_agrees_with_the_reference_on_generated_texts() {
        // Texts over a small alphabet (letters the phrases start with, word
        // boundaries, negations, non-ASCII), every length around the 8-byte words.
        let alphabet = ["a", "b", "c", "n", "o", "t", " ", ".", "N", "'", "é", "ca", "no ", "not "];
        let lists: [&[&str]; 4] = [
            &["cab", "ca", "b c", "no"],
            &["a", "b", "c", "n", "o", "t", "é", "x", "y"], // more first bytes than the word scan takes
            &["not", "ab", "é"],
            &["cc", "t."],
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut found = [0; 3];
        for _ in 0..3000 {
            let mut text = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut r = seed;
            for _ in 0..(r % 40) {
                r = r.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                text.push_str(alphabet[(r >> 33) as usize % alphabet.len()]);
            }
            let lower = Lowercased::new(&text);
            for list in lists {
                let phrases = Phrases::new(list);
                let expected = [reference::find_any_ci(&text, list), reference::find_any_word_ci(&text, list), reference::find_affirmed_ci(&text, list)];
                assert_eq!(phrases.find_in(&lower), expected[0], "{text:?} {list:?}");
                assert_eq!(phrases.find_word_in(&lower), expected[1], "{text:?} {list:?}");
                assert_eq!(phrases.find_affirmed_in(&lower), expected[2], "{text:?} {list:?}");
                for (n, e) in found.iter_mut().zip(expected) {
                    *n += usize::from(e.is_some());
                }
            }
        }
        // The texts exercise matches and misses alike.
        assert!(found.iter().all(|&n| n > 1000 && n < 3000 * lists.len()), "{found:?}");
    }

    #[test]
    fn overlapping_matches_are_all_tried() {
        // The first "no no" fails the word-boundary check; the overlapping one passes.
        assert_eq!(find_any_word_ci("xno no no", &["no no"]), Some("no no"));
        assert_eq!(Phrases::new(&["no no"]).find_word_in(&Lowercased::new("xNO NO NO")), Some("no no"));
        // A later phrase matching earlier in the text does not beat an earlier phrase.
        assert_eq!(find_any_word_ci("manager or human", &["human", "manager"]), Some("human"));
    }

    #[test]
    fn many_phrases_and_shared_first_bytes() {
        // Phrases sharing a first byte are tried in list order.
        let shared = ["cat", "can", "ca", "c"];
        assert_eq!(Phrases::new(&shared).find_in(&Lowercased::new("a CAN of c")), Some("can"));
        assert_eq!(Phrases::new(&shared).find_word_in(&Lowercased::new("a CAN of c")), Some("can"));
        assert_eq!(Phrases::new(&shared).find_word_in(&Lowercased::new("cab c")), Some("c"));
        // More phrases than the one-pass scan indexes: the per-phrase route.
        let many: Vec<String> = (0..300).map(|i| format!("w{i}")).collect();
        for text in ["say w299 or w7", "w12x w120", "nothing"] {
            let lower = Lowercased::new(text);
            let refs: Vec<&str> = many.iter().map(String::as_str).collect();
            assert_eq!(Phrases::new(&many).find_in(&lower), reference::find_any_ci(text, &refs), "{text}");
            assert_eq!(Phrases::new(&many).find_word_in(&lower), reference::find_any_word_ci(text, &refs), "{text}");
            assert_eq!(Phrases::new(&many[..250]).find_word_in(&lower), reference::find_any_word_ci(text, &refs[..250]), "{text}");
        }
        assert_eq!(Phrases::new(&many).find_word_in(&Lowercased::new("say w299 or w7")), Some("w7"));
    }

    #[test]
    fn phrases_keep_the_given_spelling() {
        let owned = vec!["Refund Policy".to_string(), String::new()];
        assert_eq!(Phrases::new(&owned).find_in(&Lowercased::new("see our REFUND policy")), Some("Refund Policy"));
        assert_eq!(Phrases::new(&owned).find_in(&Lowercased::new("")), None);
    }

    #[test]
    fn patterns_from_phrases() {
        assert_eq!(regex_escape("a.b (c)"), r"a\.b \(c\)");
        assert_eq!(phrases_pattern(&["cancelled", "canceled", ""], true), r"(?i)\b(?:cancelled|canceled)\b");
        assert_eq!(phrases_pattern(&["refund policy"], false), "(?i)(?:refund policy)");
        // Every metacharacter, as the original `"\\.+*?()|[]{}^$#&-~".contains(c)` test had it.
        let all: String = (0u8..128).map(char::from).chain("éß\u{2019}".chars()).collect();
        let expected: String = all.chars().flat_map(|c| if "\\.+*?()|[]{}^$#&-~".contains(c) { vec!['\\', c] } else { vec![c] }).collect();
        assert_eq!(regex_escape(&all), expected);
        assert_eq!(phrases_pattern(&["", "a|b", "", "c.d", ""], false), r"(?i)(?:a\|b|c\.d)");
        assert_eq!(phrases_pattern::<&str>(&[], true), r"(?i)\b(?:)\b");
        assert_eq!(phrases_pattern(&[""], false), "(?i)(?:)");
    }
}
