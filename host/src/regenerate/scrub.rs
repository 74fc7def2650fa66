//! PII scrubbing: production transcripts carry customer data, scenario files get
//! committed to git. Every piece of personal data is replaced by a stable
//! placeholder (`[EMAIL_1]`, `[NAME_2]`...), the same value getting the same
//! placeholder everywhere — customer turns, agent turns, tool arguments and
//! results, the state snapshot — so the replay still makes sense: the agent under
//! test reads `[EMAIL_1]` from memory and calls `lookup_account` with it, and the
//! fixture recorded for that call carries `[EMAIL_1]` too.
//!
//! What is not personal data is left exactly as it was: a fixture is keyed by the
//! canonical arguments of the call, so a scrubbed order id, amount or sum in a
//! tool argument could never match the agent's real call at replay. Detectors are
//! therefore built to reject look-alikes: arithmetic (`1023 - 62 - 500`), amounts,
//! identifiers glued to a prefix (`ORD-2024-0042`), dates, versions and timestamps
//! are not phone numbers; a name that is also a word ("Will", "May", "Bill") is
//! replaced only where it is used as a name.
//!
//! What is found: e-mail addresses, card numbers (13–19 digits passing Luhn, spaces,
//! dashes or dots), IBANs (country length and mod-97 check), phone numbers (with
//! their extension) in the shapes phone numbers are written, IPv4 and IPv6
//! addresses, dates of birth (a date after "date of birth", "DOB", "born"...),
//! street addresses (a number, capitalised words and a street suffix); values that
//! the state snapshot or a tool payload names as personal (`customer.first_name`,
//! `email`, `dob`...) wherever they appear; and the patterns configured in
//! `ratchet.toml`. Only counts are reported, never the values. The recall and false
//! positives per label, measured on a labelled corpus, are in docs/regenerate.md.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::regenerate::valid_label;
pub use crate::config::{ScrubConfig, ScrubPattern};
use crate::schema::{AgentState, Conversation};

/// One piece of personal data found in a text: what [`Scrubber::text`] replaces,
/// exposed so the scrubber can be measured on a labelled corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Byte offset of the first byte replaced.
    pub start: usize,
    /// Byte offset after the last byte replaced.
    pub end: usize,
    /// Placeholder label (`PHONE`).
    pub label: String,
    /// Normal form: the same value written differently gets the same placeholder.
    pub norm: String,
}

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

/// A detector's verdict on a candidate match in `text` (byte span): the span to
/// replace — possibly narrower — and its normal form, or `None` for a look-alike.
type Accept = fn(text: &str, start: usize, end: usize) -> Option<(usize, usize, String)>;

struct Detector {
    label: String,
    re: Regex,
    accept: Accept,
}

/// The built-in detectors: label, candidate regex (a group named `v`, when there is
/// one, is what gets replaced), and the check that tells the value from look-alikes.
fn builtin() -> &'static [(&'static str, &'static str, Accept)] {
    &[
        ("EMAIL", r"(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b", email),
        ("CARD", r"\b\d(?:[ .-]?\d){12,18}\b", card),
        ("IBAN", r"(?i)\b[a-z]{2}\d{2}(?:[ ]?[a-z0-9]){11,30}", iban),
        ("PHONE", r"(?:\+[ ]?)?(?:\(\d{1,4}\)[ .-]?)?\d+(?:(?:[ .-]|[ .-]?\(\d{1,4}\)[ .-]?)\d+)*(?:[ ]?(?i:x|ext\.?|extension)[ ]?\d{1,6}\b)?", phone),
        ("IP", r"(?i)(?:[0-9a-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]{1,4})?", ipv6),
        ("IP", r"\b(?:\d{1,3}\.){3}\d{1,3}\b", ipv4),
        ("DOB", DOB_RE, dob),
        (
            "ADDRESS",
            r"\b\d{1,6}(?:\s+[A-Z][A-Za-z0-9'-]*){1,4}\s+(?i:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|parkway|pkwy|circle|cir|square|sq|highway|hwy)\b\.?(?:,?\s+(?i:apt|apartment|suite|ste|unit)\.?\s*#?[A-Za-z0-9-]+)?",
            address,
        ),
    ]
}

/// File extensions: `report@2x.png` is an image, not an address (no such top-level domain).
const FILE_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "svg", "webp", "bmp", "ico", "tif", "tiff", "heic", "pdf", "txt", "csv", "json", "js", "css", "html", "htm", "xml", "doc",
    "docx", "xls", "xlsx", "ppt", "pptx", "mp3", "mp4", "wav", "log",
];

/// E-mail addresses, not file names written with an `@` (`icon@2x.png`).
fn email(s: &str, start: usize, end: usize) -> Option<(usize, usize, String)> {
    let m = s[start..end].to_lowercase();
    let tld = m.rsplit('.').next().unwrap_or("");
    (!FILE_EXTENSIONS.contains(&tld)).then_some((start, end, m))
}

/// Lower-case words that may follow a street address in a sentence ("7 Birch Lane
/// last month", "… instead", "… in Springfield"). Any other lower-case word makes the
/// capitalised words a name of something else: "2 Google Drive accounts".
#[rustfmt::skip]
const ADDRESS_FOLLOWERS: &[&str] = &[
    "in", "on", "at", "and", "or", "but", "is", "was", "to", "for", "from", "with", "near", "by", "since", "until", "please", "instead", "last", "next",
    "this", "yesterday", "today", "now", "then", "which", "where", "that", "so", "if", "not", "has", "had", "have", "will", "would", "should", "are", "were",
    "be", "as", "apt", "apartment", "suite", "unit", "flat",
];

/// Street addresses: the regex's shape, not followed by a lower-case noun.
fn address(s: &str, start: usize, end: usize) -> Option<(usize, usize, String)> {
    let after = &s[end..];
    let rest = after.trim_start_matches([' ', '\t']);
    if rest.len() < after.len() && rest.starts_with(char::is_lowercase) {
        let next: String = rest.chars().take_while(|c| c.is_alphabetic()).collect();
        if !ADDRESS_FOLLOWERS.contains(&next.as_str()) {
            return None;
        }
    }
    Some((start, end, normal("ADDRESS", &s[start..end])))
}

/// A date after "date of birth", "DOB", "born", "birthday"... (only the date is replaced).
const DOB_RE: &str = concat!(
    r"(?i)\b(?:date\s+of\s+birth|birth\s*date|birthday|d\.o\.b\.?|dob|born)(?:\s*[:=,\-–—]\s*|\s+)",
    // "is", "on file is", "in our system is", "we have": a few words between.
    r"(?:(?:is|was|on|the|it's|it|as|in|our|your|my|his|her|their|we|have|file|record|records|system|listed|shown|registered)\s+){0,5}",
    r"(?P<v>",
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}",
    r"|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})",
    r"|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}",
    r"|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?,?\s+\d{4}",
    r")\b"
);

/// The normal form of a value of `label`, so the same value written two ways (the
/// state's `+1 (404) 555-0115`, a turn's `404.555.0115`) shares one placeholder.
fn normal(label: &str, s: &str) -> String {
    match label {
        "CARD" => digits(s),
        "PHONE" => phone_normal(s),
        "IBAN" => s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase(),
        "IP" => s.parse::<Ipv6Addr>().map(|a| a.to_string()).unwrap_or_else(|_| s.to_string()),
        "DOB" => date_normal(s).unwrap_or_else(|| s.to_lowercase()),
        "ADDRESS" => s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase(),
        _ => s.to_lowercase(),
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The Luhn checksum every payment card number satisfies.
fn luhn(d: &str) -> bool {
    if !(13..=19).contains(&d.len()) || !d.bytes().all(|b| b.is_ascii_digit()) {
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

/// The number goes on past the match: `+49 …`, `… 4284 90`, `1.2.3.4.5`.
fn continues_number(s: &str, start: usize, end: usize) -> bool {
    let mut before = s[..start].chars().rev();
    let b1 = before.next();
    let b2 = before.next();
    let mut after = s[end..].chars();
    let a1 = after.next();
    let a2 = after.next();
    let sep = |c: Option<char>| matches!(c, Some(' ' | '.' | '-'));
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    b1 == Some('+') || digit(b1) || (sep(b1) && digit(b2)) || digit(a1) || (sep(a1) && digit(a2))
}

/// Card numbers: 13–19 digits passing Luhn, starting like the card networks' numbers
/// (2–6), written whole or in groups (first group of 4) with one kind of separator.
fn card(s: &str, start: usize, end: usize) -> Option<(usize, usize, String)> {
    let m = &s[start..end];
    let d = digits(m);
    if !luhn(&d) || !(b'2'..=b'6').contains(&d.as_bytes()[0]) || continues_number(s, start, end) {
        return None;
    }
    let seps: BTreeSet<char> = m.chars().filter(|c| !c.is_ascii_digit()).collect();
    if seps.len() > 1 || (!seps.is_empty() && m.find(|c: char| !c.is_ascii_digit()) != Some(4)) {
        return None;
    }
    Some((start, end, d))
}

/// IBAN length per country (SWIFT's IBAN registry).
#[rustfmt::skip]
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16), ("BG", 22), ("BH", 22), ("BR", 29),
    ("BY", 28), ("CH", 21), ("CR", 22), ("CY", 28), ("CZ", 24), ("DE", 22), ("DK", 18), ("DO", 28), ("EE", 20), ("EG", 29),
    ("ES", 24), ("FI", 18), ("FO", 18), ("FR", 27), ("GB", 22), ("GE", 22), ("GI", 23), ("GL", 18), ("GR", 27), ("GT", 28),
    ("HR", 21), ("HU", 28), ("IE", 22), ("IL", 23), ("IQ", 23), ("IS", 26), ("IT", 27), ("JO", 30), ("KW", 30), ("KZ", 20),
    ("LB", 28), ("LC", 32), ("LI", 21), ("LT", 20), ("LU", 20), ("LV", 21), ("LY", 25), ("MC", 27), ("MD", 24), ("ME", 22),
    ("MK", 19), ("MR", 27), ("MT", 31), ("MU", 30), ("NL", 18), ("NO", 15), ("PK", 24), ("PL", 28), ("PS", 29), ("PT", 25),
    ("QA", 29), ("RO", 24), ("RS", 22), ("SA", 24), ("SC", 31), ("SD", 18), ("SE", 24), ("SI", 19), ("SK", 24), ("SM", 27),
    ("ST", 25), ("SV", 28), ("TL", 23), ("TN", 24), ("TR", 26), ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20),
];

/// The ISO 13616 check: move the first four characters to the end, letters to
/// numbers (A = 10), and the number is 1 modulo 97.
fn iban_checksum(compact: &str) -> bool {
    let rotated = compact[4..].chars().chain(compact[..4].chars());
    let mut rem: u32 = 0;
    for c in rotated {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

/// IBANs: the country's length exactly (spaces only between groups of four), then
/// the mod-97 check.
fn iban(s: &str, start: usize, _end: usize) -> Option<(usize, usize, String)> {
    let text = &s[start..];
    let country = text.get(..2)?.to_ascii_uppercase();
    let len = IBAN_LENGTHS.iter().find(|(c, _)| *c == country)?.1;
    let mut compact = String::new();
    let mut end = start;
    let mut prev_space = false;
    for (i, c) in text.char_indices() {
        if compact.len() == len {
            break;
        }
        if c == ' ' && !prev_space && compact.len() % 4 == 0 && compact.len() > 0 {
            prev_space = true;
            continue;
        }
        if !c.is_ascii_alphanumeric() {
            return None;
        }
        prev_space = false;
        compact.push(c.to_ascii_uppercase());
        end = start + i + 1;
    }
    if compact.len() != len || s[end..].starts_with(|c: char| c.is_alphanumeric()) || !iban_checksum(&compact) {
        return None;
    }
    Some((start, end, compact))
}

/// Words before a phone number written as bare digits (`my cell is 4155550132`).
fn phone_context(s: &str, start: usize) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re =
        RE.get_or_init(|| Regex::new(r"(?i)\b(?:phone|tel|telephone|mobile|cell|cellphone|call|ring|text|sms|whatsapp|fax)\b").expect("phone context regex"));
    let mut from = start.saturating_sub(32);
    while !s.is_char_boundary(from) {
        from -= 1;
    }
    re.is_match(&s[from..start])
}

/// One group of digits in a phone-number candidate.
struct Group {
    start: usize,
    end: usize,
    digits: usize,
    paren: bool,
    leading_zero: bool,
}

/// Phone numbers, in the shapes they are written in:
/// `+` and a country code (8–15 digits); an area code in parentheses (`(212) 555-0147`);
/// North American `555-123-4567` / `1-800-555-0199`; local `555-0199`; a national
/// number with its trunk 0 (`020 7946 0958`, `07700 900123`); bare digits only after
/// "phone", "call", "mobile"... An extension (`x12`, `ext. 12`, `extension 305`)
/// belongs to the number. Arithmetic (`1023 - 62 - 500`), amounts (`12 500 000`),
/// dates, versions and references (`4471-2290-118`) fit none of these shapes. The
/// longest run of groups that fits is taken (`phone 415-555-0132 2 times`).
fn phone(s: &str, start: usize, end: usize) -> Option<(usize, usize, String)> {
    static EXT: OnceLock<Regex> = OnceLock::new();
    let ext = EXT.get_or_init(|| Regex::new(r"(?i)[ ]?(?:x|ext\.?|extension)[ ]?\d{1,6}$").expect("extension regex"));
    let m = &s[start..end];
    let main_len = ext.find(m).map(|e| e.start()).unwrap_or(m.len());
    let main = &m[..main_len];
    let plus = main.starts_with('+');
    let mut groups: Vec<Group> = Vec::new();
    let bytes = main.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let paren = bytes[i] == b'(';
        if paren || bytes[i].is_ascii_digit() {
            let g0 = i;
            if paren {
                i += 1;
            }
            let d0 = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let digits = i - d0;
            if paren {
                i += 1; // ')'
            }
            groups.push(Group { start: start + g0, end: start + i.min(bytes.len()), digits, paren, leading_zero: bytes.get(d0) == Some(&b'0') });
        } else {
            i += 1;
        }
    }
    let n = groups.len();
    // No phone number has more than 8 groups (`+33 1 42 68 53 00` has 6): longer runs
    // are searched for one within a window, in linear time whatever the text holds.
    for len in (1..=n.min(MAX_PHONE_GROUPS)).rev() {
        for i in 0..=n - len {
            let j = i + len;
            let g = &groups[i..j];
            let with_plus = plus && i == 0;
            let with_ext = j == n && main_len < m.len();
            let span_start = if with_plus { start } else { g[0].start };
            let span_end = if with_ext { end } else { g[len - 1].end };
            if phone_shape(g, with_plus, s, span_start) {
                return Some((span_start, span_end, phone_normal(&s[span_start..span_end])));
            }
        }
    }
    None
}

/// The most digit groups a phone number is written in.
const MAX_PHONE_GROUPS: usize = 8;

/// Does this run of groups (`plus`: after a `+`) have one of the shapes of [`phone`]?
fn phone_shape(g: &[Group], plus: bool, s: &str, start: usize) -> bool {
    let total: usize = g.iter().map(|x| x.digits).sum();
    let lens: Vec<usize> = g.iter().map(|x| x.digits).collect();
    let any_paren = g.iter().any(|x| x.paren);
    if plus {
        return (8..=15).contains(&total) && !g[0].paren && (g.len() == 1 || g[0].digits <= 3);
    }
    if any_paren {
        // (212) 555-0147, (03) 9876 5432; the parentheses open the number.
        return g[0].paren && (2..=4).contains(&g[0].digits) && g.len() >= 2 && (9..=12).contains(&total);
    }
    let nanp = lens == [3, 3, 4] || (lens == [1, 3, 3, 4] && s[g[0].start..g[0].end].starts_with('1'));
    let local = lens == [3, 4] && matches!(s.as_bytes().get(g[0].end), Some(b'-' | b'.'));
    let trunk = g[0].leading_zero && (10..=13).contains(&total) && (2..=5).contains(&g.len()) && g.iter().all(|x| x.digits >= 2);
    let bare = g.len() == 1 && (10..=12).contains(&total) && phone_context(s, start);
    nanp || local || trunk || bare
}

/// Digits of the number, `x` and the extension's digits.
fn phone_normal(s: &str) -> String {
    static EXT: OnceLock<Regex> = OnceLock::new();
    let ext = EXT.get_or_init(|| Regex::new(r"(?i)(?:x|ext\.?|extension)\s*(\d{1,6})\s*$").expect("extension regex"));
    match ext.captures(s) {
        Some(c) => format!("{}x{}", digits(&s[..c.get(0).map(|m| m.start()).unwrap_or(0)]), &c[1]),
        None => digits(s),
    }
}

/// IPv6 addresses (full, compressed, IPv4-mapped), parsed; not `::`, `::1`, nor a
/// time (`09:31:07` does not parse).
fn ipv6(s: &str, start: usize, end: usize) -> Option<(usize, usize, String)> {
    let mut a = start;
    let mut b = end;
    // `IP:2001:db8::1` — a single colon before is punctuation, not the address.
    if s[a..b].starts_with(':') && !s[a..b].starts_with("::") {
        a += 1;
    }
    while b > a && s[..b].ends_with(':') && !s[a..b].ends_with("::") {
        b -= 1;
    }
    let text = &s[a..b];
    let addr: Ipv6Addr = text.parse().ok()?;
    let groups = text.split(':').filter(|g| !g.is_empty()).count();
    if addr.is_loopback() || addr.is_unspecified() || groups < 2 || (groups < 8 && !text.contains("::")) || text.len() < 6 {
        return None;
    }
    Some((a, b, addr.to_string()))
}

/// Words that make a dotted quad a version (`firmware 2.4.1.0`), not an address.
#[rustfmt::skip]
const VERSION_WORDS: &[&str] = &[
    "version", "ver", "v", "build", "firmware", "release", "app", "patch", "patched", "sdk", "driver", "os", "ios", "android", "windows", "macos",
    "update", "updated", "upgrade", "upgraded", "downgrade", "downgraded", "install", "installed", "running",
];

/// IPv4 addresses: four octets 0–255 without leading zeros, not part of a longer
/// dotted number, not after a version word, not four single digits (`4.2.0.1` is a
/// version; the few such addresses, like 1.1.1.1, are public resolvers, nobody's).
fn ipv4(s: &str, start: usize, end: usize) -> Option<(usize, usize, String)> {
    let text = &s[start..end];
    if text.split('.').any(|o| o.len() > 1 && o.starts_with('0')) || text.parse::<Ipv4Addr>().is_err() || text.split('.').all(|o| o.len() == 1) {
        return None;
    }
    let after = &s[end..];
    let before = &s[..start];
    if (after.starts_with('.') && after[1..].starts_with(|c: char| c.is_ascii_digit())) || before.ends_with('.') {
        return None;
    }
    let words: Vec<String> = before.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).rev().take(2).map(str::to_lowercase).collect();
    if words.iter().any(|w| VERSION_WORDS.contains(&w.as_str())) {
        return None;
    }
    Some((start, end, text.to_string()))
}

/// Month abbreviations (`March`, `Mar.` and `mar` all start with one).
const MONTHS: &[&str] = &["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/// A date as `YYYY-MM-DD` when it can be read unambiguously; `None` when it is not a
/// date at all (month 13, day 32, a year outside 1900–2099).
fn date_normal(s: &str) -> Option<String> {
    static NUM: OnceLock<Regex> = OnceLock::new();
    static WORDS: OnceLock<Regex> = OnceLock::new();
    let num = NUM.get_or_init(|| Regex::new(r"^(\d{1,4})[-/.](\d{1,2})[-/.](\d{1,4})$").expect("date regex"));
    let words = WORDS.get_or_init(|| {
        Regex::new(r"(?i)^(?:(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]+)\.?,?|([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?)\s+(\d{4})$").expect("date regex")
    });
    let year_ok = |y: u32, digits: usize| digits == 2 || (1900..=2099).contains(&y);
    let s = s.trim();
    if let Some(c) = num.captures(s) {
        let (a, b, c3) = (&c[1], &c[2], &c[3]);
        let (pa, pb, pc): (u32, u32, u32) = (a.parse().ok()?, b.parse().ok()?, c3.parse().ok()?);
        if a.len() == 4 {
            return ((1..=12).contains(&pb) && (1..=31).contains(&pc) && year_ok(pa, 4)).then(|| format!("{pa:04}-{pb:02}-{pc:02}"));
        }
        if !(c3.len() == 2 || c3.len() == 4) || !year_ok(pc, c3.len()) || a.len() > 2 {
            return None;
        }
        let year = if c3.len() == 4 { format!("{pc:04}") } else { format!("'{pc:02}") };
        return match (pa, pb) {
            (d, m) if d > 12 && (1..=31).contains(&d) && (1..=12).contains(&m) => Some(format!("{year}-{m:02}-{d:02}")),
            (m, d) if d > 12 && (1..=31).contains(&d) && (1..=12).contains(&m) => Some(format!("{year}-{m:02}-{d:02}")),
            (x, y) if (1..=12).contains(&x) && (1..=12).contains(&y) => Some(format!("{year}-?{x:02}/{y:02}")),
            _ => None,
        };
    }
    let c = words.captures(s)?;
    let (day, month) = match (c.get(1), c.get(2), c.get(3), c.get(4)) {
        (Some(d), Some(m), _, _) => (d.as_str(), m.as_str()),
        (_, _, Some(m), Some(d)) => (d.as_str(), m.as_str()),
        _ => return None,
    };
    let m = month.to_ascii_lowercase();
    let mi = MONTHS.iter().position(|p| m.starts_with(p))? as u32 + 1;
    let d: u32 = day.parse().ok()?;
    let y: u32 = c[5].parse().ok()?;
    ((1..=31).contains(&d) && year_ok(y, 4)).then(|| format!("{y:04}-{mi:02}-{d:02}"))
}

/// Dates of birth: the date after a date-of-birth phrase, when it is a valid date.
fn dob(s: &str, start: usize, end: usize) -> Option<(usize, usize, String)> {
    date_normal(&s[start..end]).map(|n| (start, end, n))
}

/// First names and surnames that are also ordinary English words: matched only
/// capitalised as a name is written, and only where the word is used as a name
/// (see [`common_word_is_name`]). "I will", "the bill", "May I help" stay.
const COMMON_WORD_NAMES: &[&str] = &[
    "amber", "april", "art", "ash", "august", "autumn", "baker", "banks", "bell", "berry", "best", "bill", "bird", "bishop", "black", "blaze", "bliss",
    "brook", "brown", "buck", "bud", "burns", "bush", "candy", "carter", "chance", "chase", "cherry", "chip", "church", "clay", "cliff", "cook", "cross",
    "crystal", "daisy", "dale", "dash", "dawn", "day", "dean", "destiny", "dot", "drew", "duke", "earl", "faith", "field", "fisher", "ford", "fox", "frank",
    "friend", "gene", "ginger", "glass", "glen", "gold", "grace", "grant", "gray", "green", "grey", "guy", "hall", "harmony", "hart", "hazel", "heath",
    "heather", "hill", "holly", "honey", "hope", "hunt", "hunter", "iris", "ivy", "jack", "jade", "jay", "joy", "judge", "june", "justice", "king", "lake",
    "lamb", "lance", "lane", "law", "liberty", "lily", "little", "long", "love", "major", "march", "mark", "marsh", "mason", "max", "may", "melody", "miles",
    "mills", "misty", "moody", "moss", "nick", "noble", "oakley", "olive", "page", "parker", "pat", "patience", "pearl", "penny", "pierce", "pike", "poppy",
    "price", "prince", "rain", "ray", "reed", "rich", "river", "rivers", "robin", "rock", "rocky", "rod", "rose", "ruby", "rusty", "sage", "sandy", "sharp",
    "short", "sky", "small", "sonny", "star", "sterling", "stone", "storm", "strong", "sue", "summer", "sunny", "swift", "taylor", "trinity", "van", "victor",
    "violet", "wade", "walker", "ward", "west", "white", "will", "winter", "wise", "wolf", "wood", "woods", "wren", "young",
];

/// Before a common-word name, these make it a word: "the Bill", "a Grace period".
const DETERMINERS: &[&str] =
    &["the", "a", "an", "my", "your", "our", "his", "her", "their", "its", "this", "that", "these", "those", "no", "any", "every", "each", "some"];
/// Before a month name, these make it the month: "in May", "since June".
const MONTH_PREPOSITIONS: &[&str] = &[
    "in", "on", "by", "since", "until", "till", "from", "through", "of", "early", "late", "mid", "last", "next", "this", "every", "before", "after", "during",
    "around",
];
/// The common-word names that are months.
const MONTH_NAMES: &[&str] = &["april", "august", "june", "march", "may"];
/// Modal verbs that are names: "May I", "Will you" is the verb.
const MODALS: &[&str] = &["may", "will"];
/// After a modal, these make it the verb.
const SUBJECTS: &[&str] = &["i", "we", "you", "it", "he", "she", "they", "this", "that", "there"];
/// After a name opening a sentence: "Frank here", "Grace speaking".
const NAME_FOLLOWERS: &[&str] = &["here", "speaking", "calling", "again"];

/// Is the common word at `start..end` of `s` used as a name? Not after a
/// determiner; a month name not after "in", "on"... nor before a number; a modal not
/// before a subject ("May I"); at the start of a sentence only when it stands alone
/// ("Grace, thanks", "Frank here", "Will Fischer"), not when the sentence goes on
/// ("Will do", "Grace period ends").
fn common_word_is_name(s: &str, start: usize, end: usize, name_tokens: &BTreeSet<String>) -> bool {
    let word = s[start..end].to_lowercase();
    let before = s[..start].trim_end_matches([' ', '\t']);
    let prev: String =
        before.chars().rev().take_while(|c| c.is_alphabetic() || *c == '\'').collect::<Vec<_>>().into_iter().rev().collect::<String>().to_lowercase();
    let after = s[end..].trim_start_matches([' ', '\t']);
    let spaced = after.len() < s[end..].len();
    let next: String = if spaced { after.chars().take_while(|c| c.is_alphanumeric() || *c == '\'').collect::<String>().to_lowercase() } else { String::new() };
    if DETERMINERS.contains(&prev.as_str()) {
        return false;
    }
    if MONTH_NAMES.contains(&word.as_str()) && (MONTH_PREPOSITIONS.contains(&prev.as_str()) || next.starts_with(|c: char| c.is_ascii_digit())) {
        return false;
    }
    if MODALS.contains(&word.as_str()) && SUBJECTS.contains(&next.as_str()) {
        return false;
    }
    let sentence_start = before.is_empty() || before.ends_with(['.', '!', '?', '\n', ':', ';', '"', '“', '(']);
    if sentence_start {
        return after.is_empty()
            || after.starts_with([',', '.', '!', '?', ';', ':', ')'])
            || NAME_FOLLOWERS.contains(&next.as_str())
            || (next != word && name_tokens.contains(&next));
    }
    true
}

/// How a known value is matched in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Any case, whole word: `Dana Whitfield`, `dana`, `DANA`; e-mails, phones.
    AnyCase,
    /// Exactly as a name is written, whole word: a name of two letters (`Al`, `Bo`:
    /// "al" and "AL" are other words).
    Exact,
    /// Exactly as a name is written, and only where used as a name: `Will`, `May`.
    CommonWord,
}

/// A value known to be personal data (from the state snapshot or a tool payload).
struct Known {
    re: Regex,
    label: String,
    /// The normal form of the whole value it belongs to ("Dana" stands for "Dana Whitfield").
    stands_for: String,
    rule: Rule,
}

/// Title case (`will` → `Will`): how a name is written in a sentence.
fn title(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c.flat_map(char::to_lowercase)).collect(),
        None => String::new(),
    }
}

/// The label of a memory-snapshot key (`customer.first_name` → `NAME`), configured or by its last segment.
fn key_label(key: &str, configured: &BTreeMap<String, String>) -> Option<String> {
    if let Some(l) = configured.get(key) {
        return Some(l.clone());
    }
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    match last.as_str() {
        "name" => Some("NAME".into()),
        _ => field_label(&last),
    }
}

/// Keys whose value is personal data wherever they appear (state, tool payloads).
fn field_label(key: &str) -> Option<String> {
    let l = match key {
        "first_name" | "last_name" | "full_name" | "customer_name" | "given_name" | "family_name" | "surname" | "firstname" | "lastname" | "fullname"
        | "middle_name" | "cardholder_name" | "account_holder" => "NAME",
        "email" | "email_address" | "e_mail" | "contact_email" => "EMAIL",
        "phone" | "phone_number" | "mobile" | "mobile_number" | "telephone" | "cell" | "cell_phone" | "home_phone" | "work_phone" => "PHONE",
        "address" | "street_address" | "postal_address" | "billing_address" | "shipping_address" | "home_address" | "address_line1" | "address_line_1" => {
            "ADDRESS"
        }
        "dob" | "date_of_birth" | "birth_date" | "birthdate" | "birthday" => "DOB",
        "iban" => "IBAN",
        "ip" | "ip_address" | "ipv4" | "ipv6" | "client_ip" | "remote_ip" | "remote_addr" | "source_ip" => "IP",
        "card_number" | "pan" | "cc_number" => "CARD",
        _ => return None,
    };
    Some(l.into())
}

/// Parents under which a plain `name` is a person's: `customer.name`, not `plan.name`.
const PERSON_PARENTS: &[&str] =
    &["customer", "user", "contact", "holder", "caller", "person", "member", "owner", "recipient", "client", "patient", "guest", "passenger", "profile"];

/// The label of a key inside a JSON payload (`parent` is the enclosing key or the tool's name).
fn payload_label(parent: Option<&str>, key: &str) -> Option<String> {
    let k = key.to_ascii_lowercase();
    if k == "name" {
        let p = parent.unwrap_or("").to_ascii_lowercase();
        return PERSON_PARENTS.iter().any(|w| p.contains(w)).then(|| "NAME".into());
    }
    field_label(&k)
}

/// A value under a personal key that looks like what the key says (`"phone": "none"` is not a phone).
fn plausible(label: &str, v: &str) -> bool {
    let v = v.trim();
    if v.is_empty() || is_placeholder(v) {
        return false;
    }
    match label {
        "EMAIL" => v.contains('@'),
        "PHONE" => (7..=15).contains(&digits(v).len()),
        "CARD" => luhn(&digits(v)),
        "IBAN" => {
            let c: String = v.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase();
            c.len() >= 15 && iban_checksum(&c)
        }
        "IP" => v.parse::<Ipv6Addr>().is_ok() || v.parse::<Ipv4Addr>().is_ok(),
        "DOB" => v.chars().any(|c| c.is_ascii_digit()) && v.chars().count() <= 40,
        "NAME" => v.chars().any(char::is_alphabetic) && v.chars().count() <= 80 && v.split_whitespace().count() <= 5,
        _ => v.chars().any(char::is_alphanumeric),
    }
}

/// Values tool payloads may add to the ones searched for in free text.
const MAX_PAYLOAD_VALUES: usize = 256;

/// Titles and suffixes inside a name value: not names on their own.
const HONORIFICS: &[&str] = &["mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "jr", "sr", "ii", "iii", "iv"];

/// Replaces personal data with stable placeholders; one per scenario (the
/// numbering is per conversation, in order of first appearance).
pub struct Scrubber {
    detectors: Vec<Detector>,
    keep: Vec<Regex>,
    /// Values known to be personal: (text as written, label, normal form of the whole value).
    learned: Vec<(String, String, String)>,
    known: Vec<Known>,
    /// Every single word of a known name, lower case.
    name_tokens: BTreeSet<String>,
    /// Values learned from payloads so far.
    from_payloads: usize,
    enabled: bool,
    placeholders: BTreeMap<(String, String), String>,
    next: BTreeMap<String, usize>,
    report: ScrubReport,
}

impl Scrubber {
    /// A scrubber for one conversation: built-in detectors, configured patterns,
    /// and the personal values its state snapshot names.
    pub fn new(cfg: &ScrubConfig, state: &AgentState) -> Scrubber {
        let mut detectors: Vec<Detector> = builtin()
            .iter()
            .filter(|(label, _, _)| !cfg.disable.iter().any(|d| d == label))
            .map(|(label, re, accept)| Detector { label: label.to_string(), re: Regex::new(re).expect("built-in regex"), accept: *accept })
            .collect();
        for p in &cfg.patterns {
            if let Ok(re) = Regex::new(&p.regex) {
                detectors.push(Detector { label: p.label.clone(), re, accept: |s, a, b| Some((a, b, s[a..b].to_string())) });
            }
        }
        let keep = cfg.keep.iter().filter_map(|k| Regex::new(k).ok()).collect();
        let mut s = Scrubber {
            detectors,
            keep,
            learned: Vec::new(),
            known: Vec::new(),
            name_tokens: BTreeSet::new(),
            from_payloads: 0,
            enabled: cfg.enabled,
            placeholders: BTreeMap::new(),
            next: BTreeMap::new(),
            report: ScrubReport::default(),
        };
        for e in &state.memory_snapshot {
            if let (Some(label), Some(text)) = (key_label(&e.key, &cfg.state_keys), e.value.as_str()) {
                s.learn(&label, text);
            }
            s.learn_payload(&e.value, Some(&e.key));
        }
        s.compile();
        s
    }

    /// What was replaced so far.
    pub fn report(&self) -> &ScrubReport {
        &self.report
    }

    /// Remember a personal value (and, for a name, each of its words) to find it anywhere.
    fn learn(&mut self, label: &str, text: &str) {
        let text = text.trim();
        if text.chars().count() < 2 || is_placeholder(text) {
            return;
        }
        // Normalised the way the built-in detector for the label normalises, so the
        // state's phone and the phone found in a turn share one placeholder.
        let whole = normal(label, text);
        self.learned.push((text.to_string(), label.to_string(), whole.clone()));
        // "Dana Whitfield" is also "Dana" and "Whitfield" in "Hi Dana"; lower-case
        // particles ("van der Berg") and titles are not names on their own.
        if label == "NAME" && text.split_whitespace().count() > 1 {
            for part in text.split_whitespace() {
                let part = part.trim_matches([',', '.']);
                if part.chars().count() < 2 || part.starts_with(char::is_lowercase) || HONORIFICS.contains(&part.to_lowercase().as_str()) {
                    continue;
                }
                self.learned.push((part.to_string(), label.to_string(), whole.clone()));
            }
        }
    }

    /// Learn the personal fields of a JSON payload (`{"customer": {"first_name": …}}`).
    /// At most [`MAX_PAYLOAD_VALUES`] per conversation are searched for in free text (a
    /// search tool may return thousands of customers); every one of them is still
    /// replaced where it sits in the payload, by its key.
    fn learn_payload(&mut self, v: &Value, parent: Option<&str>) {
        match v {
            Value::Object(o) => {
                for (k, x) in o {
                    if let (Some(label), Some(s)) = (payload_label(parent, k), x.as_str()) {
                        if plausible(&label, s) && self.from_payloads < MAX_PAYLOAD_VALUES {
                            self.from_payloads += 1;
                            self.learn(&label, s);
                        }
                    }
                    self.learn_payload(x, Some(k));
                }
            }
            Value::Array(a) => a.iter().for_each(|x| self.learn_payload(x, parent)),
            _ => {}
        }
    }

    /// Build the matchers of the learned values: longest first, so "Dana Whitfield"
    /// wins over "Dana"; a word shared by two names keeps the first name's placeholder.
    fn compile(&mut self) {
        let mut list = self.learned.clone();
        list.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.to_lowercase().cmp(&b.0.to_lowercase())));
        list.dedup_by(|a, b| a.0.to_lowercase() == b.0.to_lowercase());
        self.name_tokens = list.iter().filter(|(t, l, _)| l == "NAME" && !t.contains(char::is_whitespace)).map(|(t, _, _)| t.to_lowercase()).collect();
        // Matched in the original text (not a lowercased copy, whose byte offsets can
        // differ from the original's in some scripts).
        self.known = list
            .into_iter()
            .filter_map(|(text, label, stands_for)| {
                let single_name = label == "NAME" && !text.contains(char::is_whitespace);
                let rule = if single_name && COMMON_WORD_NAMES.contains(&text.to_lowercase().as_str()) {
                    Rule::CommonWord
                } else if single_name && text.chars().count() < 3 {
                    Rule::Exact
                } else {
                    Rule::AnyCase
                };
                let pattern = match rule {
                    Rule::AnyCase => format!("(?i){}", regex::escape(&text)),
                    Rule::Exact | Rule::CommonWord => regex::escape(&title(&text)),
                };
                Regex::new(&pattern).ok().map(|re| Known { re, label, stands_for, rule })
            })
            .collect();
    }

    /// A value under a personal key (`"dob": "14/03/1985"`): replaced whole.
    fn keyed(&self, s: &str, parent: Option<&str>, key: &str) -> Option<Found> {
        let label = payload_label(parent, key)?;
        let t = s.trim();
        if !plausible(&label, t) {
            return None;
        }
        let start = s.len() - s.trim_start().len();
        let end = start + t.len();
        if self.keep.iter().any(|k| k.find_iter(s).any(|m| m.start() < end && m.end() > start)) {
            return None;
        }
        Some(Found { start, end, norm: normal(&label, t), label })
    }

    /// What [`Scrubber::text`] replaces in `s`, in order, never overlapping. `key` is
    /// the JSON key `s` sits under in a payload (`dob`, `customer.name`), if any.
    pub fn find(&self, s: &str, key: Option<&str>) -> Vec<Found> {
        if let Some(k) = key {
            let (parent, last) = match k.rsplit_once('.') {
                Some((p, l)) => (Some(p), l),
                None => (None, k),
            };
            if let Some(f) = self.keyed(s, parent, last) {
                return vec![f];
            }
        }
        let mut found: Vec<Found> = Vec::new();
        for k in &self.known {
            for m in k.re.find_iter(s) {
                let (a, b) = (m.start(), m.end());
                if !word_boundary(s, a, b)
                    || (k.label == "NAME" && hyphenated(s, a, b))
                    || (k.rule == Rule::CommonWord && !common_word_is_name(s, a, b, &self.name_tokens))
                {
                    continue;
                }
                found.push(Found { start: a, end: b, label: k.label.clone(), norm: k.stands_for.clone() });
            }
        }
        for d in &self.detectors {
            let mut candidate = |a: usize, b: usize| {
                if let Some((a, b, norm)) = (d.accept)(s, a, b) {
                    if a < b && !inside_word(s, a, b) {
                        found.push(Found { start: a, end: b, label: d.label.clone(), norm });
                    }
                }
            };
            if d.re.captures_len() > 1 {
                for c in d.re.captures_iter(s) {
                    if let Some(m) = c.name("v").or_else(|| c.get(0)) {
                        candidate(m.start(), m.end());
                    }
                }
            } else {
                for m in d.re.find_iter(s) {
                    candidate(m.start(), m.end());
                }
            }
        }
        if found.is_empty() {
            return found;
        }
        let kept: Vec<(usize, usize)> = self.keep.iter().flat_map(|k| k.find_iter(s).map(|m| (m.start(), m.end()))).collect();
        found.retain(|f| !kept.iter().any(|&(a, b)| f.start < b && f.end > a));
        // Earliest first, longest on ties; overlapping later ones are dropped.
        found.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
        let mut at = 0;
        found.retain(|f| {
            let keep = f.start >= at;
            if keep {
                at = f.end;
            }
            keep
        });
        found
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

    fn replace(&mut self, s: &str, found: Vec<Found>, place: Place) -> String {
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for f in found {
            out.push_str(&s[at..f.start]);
            out.push_str(&self.placeholder(&f.label, f.norm, place));
            at = f.end;
        }
        out.push_str(&s[at..]);
        out
    }

    /// Scrub one piece of text.
    pub fn text(&mut self, s: &str, place: Place) -> String {
        if !self.enabled || s.is_empty() {
            return s.to_string();
        }
        let found = self.find(s, None);
        self.replace(s, found, place)
    }

    /// Scrub every string inside a JSON value (object keys are kept; a string under
    /// a personal key such as `email` or `dob` is replaced whole).
    pub fn value(&mut self, v: &Value, place: Place) -> Value {
        self.walk(v, place, None, None)
    }

    /// Scrub a captured world: values like [`Scrubber::value`], and object keys too
    /// (a world keyed by e-mail address), consistently with the rest.
    pub fn world(&mut self, v: &Value) -> Value {
        match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| {
                        let key = self.text(k, Place::State);
                        let val = match x {
                            Value::Object(_) | Value::Array(_) => self.world(x),
                            _ => self.walk(x, Place::State, None, Some(k)),
                        };
                        (key, val)
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.world(x)).collect()),
            other => self.walk(other, Place::State, None, None),
        }
    }

    fn walk(&mut self, v: &Value, place: Place, parent: Option<&str>, key: Option<&str>) -> Value {
        match v {
            Value::String(s) => {
                if !self.enabled || s.is_empty() {
                    return v.clone();
                }
                let found = match key.and_then(|k| self.keyed(s, parent, k)) {
                    Some(f) => vec![f],
                    None => self.find(s, None),
                };
                Value::String(self.replace(s, found, place))
            }
            Value::Array(a) => Value::Array(a.iter().map(|x| self.walk(x, place, parent, key)).collect()),
            Value::Object(o) => {
                let parent = key.or(parent);
                Value::Object(o.iter().map(|(k, x)| (k.clone(), self.walk(x, place, parent, Some(k)))).collect())
            }
            other => other.clone(),
        }
    }

    /// Scrub a conversation's labels: each value as state text (a label may hold an
    /// email, a name, an account number).
    pub fn labels(&mut self, labels: &std::collections::BTreeMap<String, String>) -> std::collections::BTreeMap<String, String> {
        labels.iter().map(|(k, v)| (k.clone(), self.text(v, Place::State))).collect()
    }

    /// Scrub a conversation: personal fields of the tool payloads are learned first
    /// (a name a lookup returned is a name in the turns too), then the state (so
    /// placeholder numbers follow the snapshot), then every turn in order.
    pub fn conversation(&mut self, c: &Conversation) -> Conversation {
        for t in &c.turns {
            for call in &t.tool_calls {
                self.learn_payload(&call.arguments, Some(&call.name));
            }
            if let Some(r) = &t.tool_result {
                self.learn_payload(&r.content, Some(&r.name));
            }
        }
        self.compile();
        let mut c = c.clone();
        for e in &mut c.state.memory_snapshot {
            e.value = self.walk(&e.value, Place::State, Some(&e.key), None);
        }
        let extra: Vec<(String, String)> = c.state.routing.extra.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        for (k, v) in extra {
            let s = self.text(&v, Place::State);
            c.state.routing.extra.insert(k, s);
        }
        if let Some(w) = c.world.take() {
            c.world = Some(self.world(&w));
        }
        c.labels = self.labels(&c.labels);
        for t in &mut c.turns {
            let place = match t.role {
                crate::schema::Role::Customer => Place::CustomerTurns,
                _ => Place::AgentTurns,
            };
            t.text = self.text(&t.text, place);
            for call in &mut t.tool_calls {
                call.arguments = self.walk(&call.arguments, Place::ToolArguments, Some(&call.name), None);
            }
            if let Some(r) = &mut t.tool_result {
                r.content = self.walk(&r.content, Place::ToolResults, Some(&r.name), None);
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

/// A name joined by a hyphen to another word (`Al-Amin` is not `Al`).
fn hyphenated(s: &str, start: usize, end: usize) -> bool {
    let mut before = s[..start].chars().rev();
    let mut after = s[end..].chars();
    (before.next() == Some('-') && before.next().is_some_and(char::is_alphabetic))
        || (after.next() == Some('-') && after.next().is_some_and(char::is_alphabetic))
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

    fn conversation(v: Value) -> Conversation {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn what_is_not_personal_stays_byte_for_byte() {
        // A scrubbed argument could never match the agent's real call at replay.
        let args = json!({
            "expression": "1023 - 62 - 500", "order_id": "ORD-2024-0042", "account_id": "A-55812", "amount": "1,023.00",
            "reference": "20241123456", "ticket": "4471-2290-118", "since": "2026-11-24T09:31:07Z", "client": "app 10.0.19045.2965",
            "note": "I will pay the bill in May", "plan": {"name": "Premium"}
        });
        let c = conversation(json!({
            "id": "c", "channel": "chat",
            "state": {"memory_snapshot": [{"key": "customer.name", "value": "Will May"}, {"key": "account.id", "value": "A-55812"}]},
            "turns": [
                {"role": "customer", "text": "That's 1023 - 62 - 500 = 461. Order ORD-2024-0042, I will pay the bill in May."},
                {"role": "agent", "text": "", "tool_calls": [{"id": "t1", "name": "adjust_balance", "arguments": args}]},
                {"role": "tool", "tool_result": {"call_id": "t1", "name": "adjust_balance", "content": {"balance": "461.00", "order": "ORD-2024-0042"}}}
            ]
        }));
        let mut s = Scrubber::new(&ScrubConfig::default(), &c.state);
        let out = s.conversation(&c);
        assert_eq!(out.turns[1].tool_calls[0].arguments, args);
        assert_eq!(out.turns[2].tool_result, c.turns[2].tool_result);
        assert_eq!(out.turns[0].text, c.turns[0].text);
        assert_eq!(out.state.memory_snapshot[0].value, json!("[NAME_1]"));
    }

    #[test]
    fn one_value_one_placeholder_in_state_turns_arguments_and_results() {
        let c = conversation(json!({
            "id": "c", "channel": "voice",
            "state": {"memory_snapshot": [{"key": "customer.phone", "value": "+1 (404) 555-0115"}, {"key": "customer.first_name", "value": "Al"}]},
            "turns": [
                {"role": "customer", "text": "Al here, it's 404.555.0115 x12. Born 14/03/1985."},
                {"role": "agent", "text": "", "tool_calls": [{"id": "t1", "name": "find_customer", "arguments": {"phone": "14045550115"}}]},
                {"role": "tool", "tool_result": {"call_id": "t1", "name": "find_customer",
                    "content": {"customer": {"name": "Al Brennan", "dob": "1985-03-14", "iban": "GB82 WEST 1234 5698 7654 32"}}}},
                {"role": "agent", "text": "Thanks Al. Mr Brennan, I see GB82WEST12345698765432 on file."}
            ]
        }));
        let mut s = Scrubber::new(&ScrubConfig::default(), &c.state);
        let out = s.conversation(&c);
        assert_eq!(out.state.memory_snapshot[0].value, json!("[PHONE_1]"));
        assert_eq!(out.state.memory_snapshot[1].value, json!("[NAME_1]"));
        // The extension makes it another line; the date of birth is the tool's, in another format.
        assert_eq!(out.turns[0].text, "[NAME_1] here, it's [PHONE_2]. Born [DOB_1].");
        assert_eq!(out.turns[1].tool_calls[0].arguments, json!({"phone": "[PHONE_1]"}));
        assert_eq!(out.turns[2].tool_result.as_ref().unwrap().content, json!({"customer": {"name": "[NAME_2]", "dob": "[DOB_1]", "iban": "[IBAN_1]"}}));
        assert_eq!(out.turns[3].text, "Thanks [NAME_1]. Mr [NAME_2], I see [IBAN_1] on file.");
    }

    #[test]
    fn names_that_are_words_are_replaced_only_as_names() {
        let st = state(&[("customer.name", json!("Will Grace")), ("customer.nickname", json!("x")), ("customer.first_name", json!("Bo"))]);
        let mut s = Scrubber::new(&ScrubConfig::default(), &st);
        for keep in [
            "I will call back.",
            "Will do!",
            "Will you check?",
            "There is a grace period.",
            "Grace period ends Friday.",
            "The Grace period.",
            "BO and bo",
            "Bob",
        ] {
            assert_eq!(s.text(keep, Place::AgentTurns), keep);
        }
        assert_eq!(s.text("Thanks Will. Grace, hi. Will here. Bo, bye.", Place::AgentTurns), "Thanks [NAME_1]. [NAME_1], hi. [NAME_1] here. [NAME_2], bye.");
    }

    #[test]
    fn hostile_text_is_scrubbed_in_linear_time() {
        let s = Scrubber::new(&ScrubConfig::default(), &AgentState::default());
        let at = std::time::Instant::now();
        for t in ["12 ".repeat(20_000), "1.2.3.4.".repeat(10_000), "a:".repeat(20_000), "DE89 ".repeat(10_000), "born 1 ".repeat(10_000)] {
            assert!(s.find(&t, None).len() < 20_000);
        }
        assert!(at.elapsed() < std::time::Duration::from_secs(20), "{:?}", at.elapsed());
    }

    #[test]
    fn keep_and_disable() {
        let cfg = ScrubConfig { keep: vec![r"\bREF \d{3}-\d{3}-\d{4}\b".into()], disable: vec!["IP".into()], ..Default::default() };
        cfg.validate().unwrap();
        let mut s = Scrubber::new(&cfg, &AgentState::default());
        assert_eq!(s.text("REF 555-123-4567, call 555-123-4567 from 203.0.113.42", Place::CustomerTurns), "REF 555-123-4567, call [PHONE_1] from 203.0.113.42");
        let bad = ScrubConfig { disable: vec!["NAME".into()], ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().0, "regenerate.scrub.disable[0]");
        let bad = ScrubConfig { keep: vec!["(".into()], ..Default::default() };
        assert_eq!(bad.validate().unwrap_err().0, "regenerate.scrub.keep[0]");
        let mut labels: Vec<&str> = builtin().iter().map(|b| b.0).collect();
        labels.dedup();
        labels.sort();
        assert_eq!(labels, crate::config::regenerate::BUILTIN_DETECTORS);
    }

    #[test]
    fn values_are_scrubbed_recursively_and_consistently() {
        let mut s = Scrubber::new(&ScrubConfig::default(), &AgentState::default());
        let v = s.value(&json!({"email": "a@b.io", "list": ["x", "a@b.io"], "n": 3}), Place::ToolArguments);
        assert_eq!(v, json!({"email": "[EMAIL_1]", "list": ["x", "[EMAIL_1]"], "n": 3}));
    }
}
