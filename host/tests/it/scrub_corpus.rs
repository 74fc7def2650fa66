//! The PII scrubber measured on a labelled corpus (`host/tests/scrub_corpus/`): per
//! label, the share of labelled values it replaces (recall) and the replacements
//! that were not personal data (false positives). `dev.jsonl` is what the detectors
//! were tuned on; `holdout.jsonl` was written with it, before any tuning.
//!
//! A labelled value counts as caught when one replacement with the same label covers
//! it whole. A replacement counts as a false positive unless it lies on a labelled
//! value of its label (give or take surrounding punctuation and spaces) — so a
//! replacement that also eats the words around a value is a false positive too.
//!
//! `cargo test -p ratchet --test it scrub_corpus -- --nocapture` prints the table
//! docs/regenerate.md quotes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ratchet::regenerate::scrub::{Found, ScrubConfig, Scrubber};
use ratchet::schema::{AgentState, MemoryEntry};
use serde_json::Value;

/// Every label the scrubber claims; each must reach 100 % recall and 0 false positives.
const CLAIMED: &[&str] = &["ADDRESS", "CARD", "DOB", "EMAIL", "IBAN", "IP", "NAME", "PHONE"];

struct Line {
    no: usize,
    text: String,
    pii: Vec<(String, String)>,
    state: AgentState,
    key: Option<String>,
}

fn corpus(name: &str) -> Vec<Line> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/scrub_corpus").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
            let pii = v["pii"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}:{}: no `pii` array", i + 1))
                .iter()
                .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string()))
                .collect();
            let state = AgentState {
                memory_snapshot: v["state"]
                    .as_object()
                    .map(|o| o.iter().map(|(k, v)| MemoryEntry { key: k.clone(), value: v.clone() }).collect())
                    .unwrap_or_default(),
                ..Default::default()
            };
            Line { no: i + 1, text: v["text"].as_str().unwrap().to_string(), pii, state, key: v["key"].as_str().map(str::to_string) }
        })
        .collect()
}

#[derive(Default, Clone)]
struct Counts {
    labelled: usize,
    caught: usize,
    false_positives: usize,
}

/// Bytes that may sit between a replacement's edge and the labelled value's.
fn slack(s: &str) -> bool {
    s.chars().all(|c| c.is_whitespace() || ".,;:!?()[]'\"".contains(c))
}

fn measure(name: &str, problems: &mut Vec<String>) -> (BTreeMap<String, Counts>, usize, usize) {
    let lines = corpus(name);
    let mut counts: BTreeMap<String, Counts> = CLAIMED.iter().map(|l| (l.to_string(), Counts::default())).collect();
    let negatives = lines.iter().filter(|l| l.pii.is_empty()).count();
    for line in &lines {
        let scrubber = Scrubber::new(&ScrubConfig::default(), &line.state);
        let found: Vec<Found> = scrubber.find(&line.text, line.key.as_deref());
        // Every occurrence of every labelled span.
        let mut spans: Vec<(usize, usize, &str)> = Vec::new();
        for (label, span) in &line.pii {
            assert!(CLAIMED.contains(&label.as_str()), "{name}:{}: unknown label {label}", line.no);
            let hits: Vec<usize> = line.text.match_indices(span.as_str()).map(|(i, _)| i).collect();
            assert!(!hits.is_empty(), "{name}:{}: `{span}` is not in the text", line.no);
            for i in hits {
                spans.push((i, i + span.len(), label));
            }
        }
        spans.sort();
        spans.dedup();
        for &(s, e, label) in &spans {
            let c = counts.entry(label.to_string()).or_default();
            c.labelled += 1;
            if found.iter().any(|f| f.label == label && f.start <= s && f.end >= e) {
                c.caught += 1;
            } else {
                problems.push(format!("{name}:{}: MISSED {label} `{}` in {:?} (found {:?})", line.no, &line.text[s..e], line.text, show(&line.text, &found)));
            }
        }
        for f in &found {
            let justified = spans.iter().any(|&(s, e, label)| {
                label == f.label && f.start < e && f.end > s && (f.start >= s || slack(&line.text[f.start..s])) && (f.end <= e || slack(&line.text[e..f.end]))
            });
            if !justified {
                counts.entry(f.label.clone()).or_default().false_positives += 1;
                problems.push(format!("{name}:{}: FALSE POSITIVE {} `{}` in {:?}", line.no, f.label, &line.text[f.start..f.end], line.text));
            }
        }
    }
    (counts, lines.len(), negatives)
}

fn show(text: &str, found: &[Found]) -> Vec<String> {
    found.iter().map(|f| format!("{} `{}`", f.label, &text[f.start..f.end])).collect()
}

fn table(title: &str, counts: &BTreeMap<String, Counts>, lines: usize, negatives: usize) -> String {
    let mut out = format!("{title}: {lines} lines ({negatives} without personal data)\n\n| label | labelled values | caught | recall | false positives |\n|---|---:|---:|---:|---:|\n");
    for (label, c) in counts {
        let recall = if c.labelled == 0 { "—".to_string() } else { format!("{:.1} %", 100.0 * c.caught as f64 / c.labelled as f64) };
        out.push_str(&format!("| {label} | {} | {} | {recall} | {} |\n", c.labelled, c.caught, c.false_positives));
    }
    out
}

#[test]
fn recall_and_false_positives_per_label() {
    let mut problems = Vec::new();
    let (dev, dev_lines, dev_neg) = measure("dev.jsonl", &mut problems);
    let (hold, hold_lines, hold_neg) = measure("holdout.jsonl", &mut problems);
    println!("{}", table("dev.jsonl", &dev, dev_lines, dev_neg));
    println!("{}", table("holdout.jsonl", &hold, hold_lines, hold_neg));
    for p in &problems {
        println!("{p}");
    }
    for label in CLAIMED {
        for (name, counts) in [("dev", &dev), ("holdout", &hold)] {
            let c = &counts[*label];
            assert!(c.labelled > 0, "{name}: no labelled {label} value: the corpus must exercise every claimed label");
        }
    }
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n"));
}
