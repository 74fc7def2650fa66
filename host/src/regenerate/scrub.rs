//! PII scrubbing: production transcripts carry customer data, scenario files get
//! committed to git. Every piece of personal data is replaced by a stable
//! placeholder (`[EMAIL_1]`, `[NAME_2]`...), the same value getting the same
//! placeholder everywhere — customer turns, agent turns, tool arguments and
//! results, the state snapshot — so the replay still makes sense: the agent under
//! test reads `[EMAIL_1]` from memory and calls `lookup_account` with it, and the
//! fixture recorded for that call carries `[EMAIL_1]` too.
//!
//! What is found: e-mail addresses, card numbers (13–19 digits passing the Luhn
//! check), phone numbers (7–15 digits, not dates), street addresses (a number,
//! capitalised words and a street suffix), personal names and other personal values
//! known from the state snapshot, and the patterns configured in `ratchet.toml`.
//! Only counts are reported, never the values.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::regenerate::valid_label;
pub use crate::config::{ScrubConfig, ScrubPattern};
use crate::schema::{AgentState, Conversation};

/// Where a replacement happened (for the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Place {
    /// The state snapshot (memory, routing).
    State,
    /// Customer turns.
    CustomerTurns,
    /// Agent turns.
    AgentTurns,
    /// Tool-call arguments.
    ToolArguments,
    /// Tool results.
    ToolResults,
    /// Scorecard reasons and suggested criteria.
    Criteria,
}

/// What was scrubbed, per label: never the values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScrubReport {
    /// Per placeholder label.
    pub labels: BTreeMap<String, LabelCount>,
}

/// Counts for one label.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LabelCount {
    /// Distinct values (= placeholders issued).
    pub distinct: usize,
    /// Replacements made.
    pub occurrences: usize,
    /// Where.
    pub places: Vec<Place>,
}

impl ScrubReport {
    /// `EMAIL ×1 (4 occurrences: state, customer-turns, tool-arguments)`, one per label.
    pub fn lines(&self) -> Vec<String> {
        self.labels
            .iter()
            .map(|(label, c)| {
                let places: Vec<String> =
                    c.places.iter().map(|p| serde_json::to_value(p).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()).collect();
                format!("{label} ×{} ({} occurrence{}: {})", c.distinct, c.occurrences, if c.occurrences == 1 { "" } else { "s" }, places.join(", "))
            })
            .collect()
    }
}

struct Detector {
    label: String,
    re: Regex,
    check: fn(&str) -> bool,
    normalise: fn(&str) -> String,
}

/// A built-in detector: label, regex, a check on the match, its normal form.
type Builtin = (&'static str, &'static str, fn(&str) -> bool, fn(&str) -> String);

fn builtin() -> &'static [Builtin] {
    &[
        ("EMAIL", r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b", |_| true, |s| s.to_lowercase()),
        ("CARD", r"\b\d(?:[ -]?\d){12,18}\b", luhn, digits),
        ("PHONE", r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d[\d .-]{5,}\d", phone_like, digits),
        (
            "ADDRESS",
            r"\b\d{1,6}(?:\s+[A-Z][A-Za-z0-9'-]*){1,4}\s+(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|parkway|pkwy|circle|cir|square|sq|highway|hwy)\b\.?(?:,?\s+(?i:apt|apartment|suite|ste|unit)\.?\s*#?[A-Za-z0-9-]+)?",
            |_| true,
            |s| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase(),
        ),
    ]
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The Luhn checksum every payment card number satisfies.
fn luhn(s: &str) -> bool {
    let d = digits(s);
    if !(13..=19).contains(&d.len()) {
        return false;
    }
    let sum: u32 = d
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let x = (b - b'0') as u32;
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn phone_like(s: &str) -> bool {
    static DATE: OnceLock<Regex> = OnceLock::new();
    let n = digits(s).len();
    if !(7..=15).contains(&n) {
        return false;
    }
    // ISO dates and times (2026-11-24, 2026-11-24 09) are not phone numbers, nor
    // are decimals (1234567.89).
    let date = DATE.get_or_init(|| Regex::new(r"^\d{4}-\d{2}-\d{2}").expect("date regex"));
    if date.is_match(s) {
        return false;
    }
    let parts: Vec<&str> = s.split('.').collect();
    !(parts.len() == 2 && parts[1].len() <= 2 && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())))
}

/// Replaces personal data with stable placeholders; one per scenario (the
/// numbering is per conversation, in order of first appearance).
pub struct Scrubber {
    detectors: Vec<Detector>,
    /// Known literal values from the state snapshot: (case-insensitive matcher of
    /// the text; label; the value it stands for, so "Dana" and "Dana Whitfield" share
    /// a placeholder).
    known: Vec<(Regex, String, String)>,
    enabled: bool,
    placeholders: BTreeMap<(String, String), String>,
    next: BTreeMap<String, usize>,
    report: ScrubReport,
}

fn key_label(key: &str, configured: &BTreeMap<String, String>) -> Option<String> {
    if let Some(l) = configured.get(key) {
        return Some(l.clone());
    }
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    match last.as_str() {
        "name" | "first_name" | "last_name" | "full_name" | "customer_name" | "given_name" | "family_name" => Some("NAME".into()),
        "email" | "email_address" => Some("EMAIL".into()),
        "phone" | "phone_number" | "mobile" => Some("PHONE".into()),
        "address" | "street_address" | "postal_address" => Some("ADDRESS".into()),
        _ => None,
    }
}

impl Scrubber {
    /// A scrubber for one conversation: built-in detectors, configured patterns,
    /// and the personal values its state snapshot names.
    pub fn new(cfg: &ScrubConfig, state: &AgentState) -> Scrubber {
        let mut detectors: Vec<Detector> = builtin()
            .iter()
            .map(|(label, re, check, normalise)| Detector {
                label: label.to_string(),
                re: Regex::new(re).expect("built-in regex"),
                check: *check,
                normalise: *normalise,
            })
            .collect();
        for p in &cfg.patterns {
            if let Ok(re) = Regex::new(&p.regex) {
                detectors.push(Detector { label: p.label.clone(), re, check: |_| true, normalise: |s| s.to_string() });
            }
        }
        let mut known = Vec::new();
        for e in &state.memory_snapshot {
            let (Some(label), Some(text)) = (key_label(&e.key, &cfg.state_keys), e.value.as_str()) else { continue };
            let text = text.trim();
            if text.chars().count() < 2 || is_placeholder(text) {
                continue;
            }
            // The value it stands for is normalised the way the built-in detector for
            // the same label normalises, so the state's phone and the phone found in a
            // turn share one placeholder.
            let whole = builtin().iter().find(|b| b.0 == label).map(|b| (b.3)(text)).unwrap_or_else(|| text.to_lowercase());
            known.push((text.to_string(), label.clone(), whole.clone()));
            // "Dana Whitfield" is also "Dana" and "Whitfield" in "Hi Dana".
            if label == "NAME" {
                for part in text.split_whitespace().filter(|p| p.chars().count() >= 3) {
                    known.push((part.to_string(), label.clone(), whole.clone()));
                }
            }
        }
        // Longest first, so "Dana Whitfield" wins over "Dana"; a part shared by two
        // names keeps the first name's placeholder.
        known.sort_by(|a: &(String, String, String), b| b.0.len().cmp(&a.0.len()).then(a.0.to_lowercase().cmp(&b.0.to_lowercase())));
        known.dedup_by(|a, b| a.0.to_lowercase() == b.0.to_lowercase());
        // Matched in the original text (not a lowercased copy, whose byte offsets can
        // differ from the original's in some scripts).
        let known = known
            .into_iter()
            .filter_map(|(text, label, whole)| Regex::new(&format!("(?i){}", regex::escape(&text))).ok().map(|re| (re, label, whole)))
            .collect();
        Scrubber { detectors, known, enabled: cfg.enabled, placeholders: BTreeMap::new(), next: BTreeMap::new(), report: ScrubReport::default() }
    }

    /// What was replaced so far.
    pub fn report(&self) -> &ScrubReport {
        &self.report
    }

    fn placeholder(&mut self, label: &str, norm: String, place: Place) -> String {
        let key = (label.to_string(), norm);
        let count = self.report.labels.entry(label.to_string()).or_default();
        count.occurrences += 1;
        if !count.places.contains(&place) {
            count.places.push(place);
            count.places.sort();
        }
        if let Some(p) = self.placeholders.get(&key) {
            return p.clone();
        }
        let n = self.next.entry(label.to_string()).or_insert(0);
        *n += 1;
        count.distinct += 1;
        let p = format!("[{label}_{n}]");
        self.placeholders.insert(key, p.clone());
        p
    }

    /// Scrub one piece of text.
    pub fn text(&mut self, s: &str, place: Place) -> String {
        if !self.enabled || s.is_empty() {
            return s.to_string();
        }
        // Collect every candidate match, then keep non-overlapping ones: earliest
        // first, longest on ties. One pass, so placeholders are never re-scanned.
        let mut found: Vec<(usize, usize, String, String)> = Vec::new();
        for (re, label, stands_for) in &self.known {
            for m in re.find_iter(s).filter(|m| word_boundary(s, m.start(), m.end())) {
                found.push((m.start(), m.end(), label.clone(), stands_for.clone()));
            }
        }
        for d in &self.detectors {
            for m in d.re.find_iter(s) {
                let text = m.as_str();
                if (d.check)(text) && !inside_word(s, m.start(), m.end()) {
                    found.push((m.start(), m.end(), d.label.clone(), (d.normalise)(text)));
                }
            }
        }
        if found.is_empty() {
            return s.to_string();
        }
        found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for (start, end, label, norm) in found {
            if start < at {
                continue;
            }
            out.push_str(&s[at..start]);
            out.push_str(&self.placeholder(&label, norm, place));
            at = end;
        }
        out.push_str(&s[at..]);
        out
    }

    /// Scrub every string inside a JSON value (object keys are kept).
    pub fn value(&mut self, v: &Value, place: Place) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(s, place)),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x, place)).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), self.value(x, place))).collect()),
            other => other.clone(),
        }
    }

    /// Scrub a conversation: state first (so placeholder numbers follow the snapshot),
    /// then every turn in order.
    pub fn conversation(&mut self, c: &Conversation) -> Conversation {
        let mut c = c.clone();
        for e in &mut c.state.memory_snapshot {
            e.value = self.value(&e.value, Place::State);
        }
        let extra: Vec<(String, String)> = c.state.routing.extra.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (k, v) in extra {
            let s = self.text(&v, Place::State);
            c.state.routing.extra.insert(k, s);
        }
        for t in &mut c.turns {
            let place = match t.role {
                crate::schema::Role::Customer => Place::CustomerTurns,
                _ => Place::AgentTurns,
            };
            t.text = self.text(&t.text, place);
            for call in &mut t.tool_calls {
                call.arguments = self.value(&call.arguments, Place::ToolArguments);
            }
            if let Some(r) = &mut t.tool_result {
                r.content = self.value(&r.content, Place::ToolResults);
            }
        }
        c
    }
}

fn is_placeholder(s: &str) -> bool {
    s.starts_with('[') && s.ends_with(']') && valid_label(s[1..s.len() - 1].rsplit_once('_').map(|(l, _)| l).unwrap_or(""))
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The match is a whole word (or words): no letter or digit glued to either end.
fn word_boundary(s: &str, start: usize, end: usize) -> bool {
    let before = s[..start].chars().next_back();
    let after = s[end..].chars().next();
    !before.is_some_and(is_word) && !after.is_some_and(is_word)
}

/// A match glued to a word on either side (`ORD-2026112401`, `A55812`) is part of
/// an identifier, not personal data on its own.
fn inside_word(s: &str, start: usize, end: usize) -> bool {
    let before: Vec<char> = s[..start].chars().rev().take(2).collect();
    let after = s[end..].chars().next();
    let glued_before = match before.as_slice() {
        [c, ..] if is_word(*c) => true,
        ['-', c, ..] if c.is_alphabetic() => true,
        _ => false,
    };
    glued_before || after.is_some_and(|c| c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::MemoryEntry;
    use serde_json::json;

    fn state(entries: &[(&str, Value)]) -> AgentState {
        AgentState { memory_snapshot: entries.iter().map(|(k, v)| MemoryEntry { key: k.to_string(), value: v.clone() }).collect(), ..Default::default() }
    }

    #[test]
    fn finds_each_kind_and_keeps_the_rest() {
        let st = state(&[("customer.name", json!("Dana Whitfield"))]);
        let mut s = Scrubber::new(&ScrubConfig::default(), &st);
        let out = s.text(
            "Hi, Dana Whitfield here (dana.w@example.com, +1 555-010-4477). Card 4111 1111 1111 1111, I live at 42 Elm Street, Apt 3B. Order ORD-2026112401 on 2026-11-24, $49.99.",
            Place::CustomerTurns,
        );
        assert_eq!(out, "Hi, [NAME_1] here ([EMAIL_1], [PHONE_1]). Card [CARD_1], I live at [ADDRESS_1]. Order ORD-2026112401 on 2026-11-24, $49.99.");
        assert_eq!(s.text("Thanks Dana, and dana.w@EXAMPLE.com again", Place::AgentTurns), "Thanks [NAME_1], and [EMAIL_1] again");
        let r = s.report();
        assert_eq!(r.labels["EMAIL"].distinct, 1);
        assert_eq!(r.labels["EMAIL"].occurrences, 2);
        assert_eq!(r.labels["NAME"].places, vec![Place::CustomerTurns, Place::AgentTurns]);
    }

    #[test]
    fn names_are_found_whatever_the_script_does_to_byte_lengths() {
        // "İ" lowercases to two chars of a different byte length: offsets in a
        // lowercased copy would not line up with the text.
        let st = state(&[("customer.name", json!("Zoë İnce"))]);
        let mut s = Scrubber::new(&ScrubConfig::default(), &st);
        assert_eq!(s.text("İSTANBUL: hi ZOË İNCE, hi zoë", Place::CustomerTurns), "İSTANBUL: hi [NAME_1], hi [NAME_1]");
    }

    #[test]
    fn card_needs_luhn_and_phone_needs_seven_digits() {
        let mut s = Scrubber::new(&ScrubConfig::default(), &AgentState::default());
        // 4111 1111 1111 1112 fails Luhn: not a card (a 16-digit number is not a phone either).
        assert_eq!(s.text("ref 4111 1111 1111 1112", Place::CustomerTurns), "ref 4111 1111 1111 1112");
        assert_eq!(s.text("call 555-0199 or 12 34", Place::CustomerTurns), "call [PHONE_1] or 12 34");
        assert_eq!(s.text("account A-55812 at 09:31", Place::CustomerTurns), "account A-55812 at 09:31");
    }

    #[test]
    fn configured_patterns_and_state_keys() {
        let cfg = ScrubConfig {
            state_keys: [("customer.member_no".to_string(), "MEMBER".to_string())].into(),
            patterns: vec![ScrubPattern { label: "POLICY".into(), regex: r"POL-\d{6}".into() }],
            ..Default::default()
        };
        cfg.validate().unwrap();
        let st = state(&[("customer.member_no", json!("M 7781"))]);
        let mut s = Scrubber::new(&cfg, &st);
        assert_eq!(s.text("member m 7781, policy POL-123456", Place::CustomerTurns), "member [MEMBER_1], policy [POLICY_1]");
        let bad = ScrubConfig { patterns: vec![ScrubPattern { label: "x".into(), regex: "(".into() }], ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().0, "regenerate.scrub.patterns[0].label");
    }

    #[test]
    fn values_are_scrubbed_recursively_and_consistently() {
        let mut s = Scrubber::new(&ScrubConfig::default(), &AgentState::default());
        let v = s.value(&json!({"email": "a@b.io", "list": ["x", "a@b.io"], "n": 3}), Place::ToolArguments);
        assert_eq!(v, json!({"email": "[EMAIL_1]", "list": ["x", "[EMAIL_1]"], "n": 3}));
    }
}
