//! Small text-matching helpers: most policy checks are "did the agent say one
//! of these phrases?", and getting case-folding, word boundaries and simple
//! negation right in every plugin is needless repetition.

/// Returns the first of `needles` found in `haystack`, ignoring case
/// (Unicode lowercase). Empty needles never match.
pub fn find_any_ci<'n, S: AsRef<str>>(haystack: &str, needles: &'n [S]) -> Option<&'n str> {
    let hay = haystack.to_lowercase();
    needles.iter().map(AsRef::as_ref).find(|n| !n.is_empty() && hay.contains(&n.to_lowercase()))
}

/// True when `haystack` contains any of `needles`, ignoring case.
pub fn contains_any_ci<S: AsRef<str>>(haystack: &str, needles: &[S]) -> bool {
    find_any_ci(haystack, needles).is_some()
}

/// Like [`find_any_ci`], but a needle only matches as whole words: the
/// characters just before and after the match must not be alphanumeric (so
/// `cancel` does not match `cancellation`).
pub fn find_any_word_ci<'n, S: AsRef<str>>(haystack: &str, needles: &'n [S]) -> Option<&'n str> {
    let hay = haystack.to_lowercase();
    needles.iter().map(AsRef::as_ref).find(|n| !n.is_empty() && word_matches(&hay, &n.to_lowercase()).next().is_some())
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
    let hay = haystack.to_lowercase();
    needles.iter().map(AsRef::as_ref).find(|n| !n.is_empty() && word_matches(&hay, &n.to_lowercase()).any(|start| !negated_before(&hay[..start])))
}

/// Byte offsets of the whole-word matches of `needle` in `hay`.
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
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A case-insensitive regex matching any of `phrases` literally, as whole
/// words when `whole_words` (e.g. `(?i)\b(?:cancelled|canceled)\b`). Empty
/// phrases are skipped.
pub fn phrases_pattern<S: AsRef<str>>(phrases: &[S], whole_words: bool) -> String {
    let alts: Vec<String> = phrases.iter().map(AsRef::as_ref).filter(|p| !p.is_empty()).map(regex_escape).collect();
    let b = if whole_words { "\\b" } else { "" };
    format!("(?i){b}(?:{}){b}", alts.join("|"))
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
    fn patterns_from_phrases() {
        assert_eq!(regex_escape("a.b (c)"), r"a\.b \(c\)");
        assert_eq!(phrases_pattern(&["cancelled", "canceled", ""], true), r"(?i)\b(?:cancelled|canceled)\b");
        assert_eq!(phrases_pattern(&["refund policy"], false), "(?i)(?:refund policy)");
    }
}
