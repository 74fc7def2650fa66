//! How alike two scenarios are: is the new failure one the suite already holds?
//!
//! Four signals, weighted by `[promote.weights]`: the customer's lines (strsim's
//! Sørensen–Dice on their normalised content words: lowercase, no punctuation or
//! filler words, placeholders reduced to their kind, each word once, sorted — so
//! the same complaint in other words and another order still scores high), the
//! failure-mode cluster, the criteria (Jaccard on kind + tool or plugin) and the tools
//! called (Jaccard on fixture tools).
//!
//! Comparing against every scenario of a large suite is the slow part, so a match
//! is first bounded from above without touching the text (see [`upper_bound`]):
//! scenarios that cannot reach the near-miss threshold are skipped exactly, never
//! approximately.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::config::SimilarityWeights;
use crate::gate::criteria::kind_name;
use crate::schema::{Check, Scenario, Tier};

/// What the comparison needs of one scenario, precomputed once (and cached in the
/// suite index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Scenario id.
    pub id: String,
    /// Failure-mode cluster.
    pub failure_mode: String,
    /// Tier (archived scenarios are matched too, and resurrected).
    pub tier: Tier,
    /// Normalised customer text.
    pub text: String,
    /// Number of character bigrams strsim's Sørensen–Dice sees in `text`.
    pub bigrams: usize,
    /// Criterion signatures, sorted.
    pub criteria: Vec<String>,
    /// Tools with fixtures, sorted.
    pub tools: Vec<String>,
    /// Production conversations already merged into it.
    pub sources: Vec<String>,
}

/// Words that carry no meaning about the failure.
const FILLER: &[&str] = &[
    "a", "an", "the", "i", "im", "i'm", "me", "my", "mine", "you", "your", "we", "our", "us", "it", "its", "is", "am", "are", "was", "were", "be", "been",
    "to", "of", "and", "or", "but", "so", "for", "on", "in", "at", "by", "with", "from", "that", "this", "there", "here", "just", "please", "hi", "hello",
    "hey", "thanks", "thank", "ok", "okay", "yes", "no", "can", "could", "would", "will", "do", "did", "does", "have", "has", "had", "get", "got", "what",
    "which", "as", "if", "then", "than", "too", "very", "also", "about", "some", "any", "all", "one", "up", "out", "s", "t", "ll", "d", "re", "ve", "m",
];

/// Normalise customer lines: lowercase words, scrubbing placeholders (`[EMAIL_1]`)
/// and filler words dropped, each word once, sorted.
pub fn normalise<'a>(lines: impl IntoIterator<Item = &'a str>) -> String {
    let mut words: BTreeSet<String> = BTreeSet::new();
    for line in lines {
        let lower = line.to_lowercase();
        for raw in lower.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\'')) {
            let w = raw.trim_matches('\'');
            if w.is_empty() || FILLER.contains(&w) {
                continue;
            }
            // Scrubbed personal data ([EMAIL_1] → email_1) says nothing about the
            // failure: which details a customer volunteered is noise.
            if let Some((kind, n)) = w.rsplit_once('_') {
                if !kind.is_empty() && !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
                    continue;
                }
            }
            words.insert(w.to_string());
        }
    }
    words.into_iter().collect::<Vec<_>>().join(" ")
}

fn signature(c: &Check) -> String {
    let detail = match c {
        Check::MustCallTool { tool, .. } | Check::MustNotCallTool { tool, .. } => tool.clone(),
        // Patterns are worded per scenario; what they guard is in the kind.
        Check::MustSay { .. } | Check::MustNotSay { .. } => String::new(),
        Check::ToolOrder { tools } => tools.join(">"),
        Check::MaxTurns { max } => max.to_string(),
        Check::Plugin { plugin, .. } => plugin.clone(),
        Check::MustEscalate {} | Check::MustNotEscalate {} => String::new(),
        // Paths name records of one world (`/accounts/A-55812/status`): what is
        // guarded is the kind of place, its first and last segments.
        Check::WorldState { path, .. } => {
            let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
            match parts.as_slice() {
                [] => String::new(),
                [one] => one.to_string(),
                [first, .., last] => format!("{first}..{last}"),
            }
        }
    };
    format!("{}:{detail}", kind_name(c))
}

impl Fingerprint {
    /// Fingerprint a scenario.
    pub fn of(s: &Scenario) -> Fingerprint {
        let text = normalise(s.turns.iter().map(|t| t.text.as_str()));
        let criteria: BTreeSet<String> = s.criteria.iter().map(|c| signature(&c.check)).collect();
        let tools: BTreeSet<String> = s.fixtures.iter().map(|f| f.tool.clone()).collect();
        Fingerprint {
            id: s.id.clone(),
            failure_mode: s.failure_mode.clone(),
            tier: s.tier,
            bigrams: bigrams(&text),
            text,
            criteria: criteria.into_iter().collect(),
            tools: tools.into_iter().collect(),
            sources: s.provenance.source_conversations.clone(),
        }
    }
}

/// strsim's Sørensen–Dice counts the bigrams of the text with whitespace removed.
fn bigrams(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count().saturating_sub(1)
}

/// A similarity and its parts, each in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Similarity {
    /// Weighted total.
    pub total: f64,
    /// Customer text.
    pub text: f64,
    /// Failure mode (0 or 1).
    pub failure_mode: f64,
    /// Criteria overlap.
    pub criteria: f64,
    /// Tools overlap.
    pub tools: f64,
}

impl std::fmt::Display for Similarity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2} (text {:.2}, failure mode {:.2}, criteria {:.2}, tools {:.2})", self.total, self.text, self.failure_mode, self.criteria, self.tools)
    }
}

fn jaccard(a: &[String], b: &[String]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (x, y): (BTreeSet<&String>, BTreeSet<&String>) = (a.iter().collect(), b.iter().collect());
    x.intersection(&y).count() as f64 / x.union(&y).count() as f64
}

fn weighted(w: &SimilarityWeights, text: f64, mode: f64, criteria: f64, tools: f64) -> f64 {
    let sum = w.text + w.failure_mode + w.criteria + w.tools;
    (w.text * text + w.failure_mode * mode + w.criteria * criteria + w.tools * tools) / sum
}

fn cheap_parts(a: &Fingerprint, b: &Fingerprint) -> (f64, f64, f64) {
    let mode = if a.failure_mode == b.failure_mode { 1.0 } else { 0.0 };
    (mode, jaccard(&a.criteria, &b.criteria), jaccard(&a.tools, &b.tools))
}

/// The exact similarity (calls strsim).
pub fn similarity(a: &Fingerprint, b: &Fingerprint, w: &SimilarityWeights) -> Similarity {
    let (mode, criteria, tools) = cheap_parts(a, b);
    let text = strsim::sorensen_dice(&a.text, &b.text);
    Similarity { total: weighted(w, text, mode, criteria, tools), text, failure_mode: mode, criteria, tools }
}

/// An upper bound of [`similarity`] computed without comparing the texts: the
/// cheap signals exactly, and Sørensen–Dice at most `2·min(|A|,|B|) / (|A|+|B|)`
/// bigrams in common.
pub fn upper_bound(a: &Fingerprint, b: &Fingerprint, w: &SimilarityWeights) -> f64 {
    let (mode, criteria, tools) = cheap_parts(a, b);
    let (x, y) = (a.bigrams as f64, b.bigrams as f64);
    let text = if x + y == 0.0 { 1.0 } else { (2.0 * x.min(y) / (x + y)).min(1.0) };
    weighted(w, text, mode, criteria, tools)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_keeps_content_words() {
        assert_eq!(normalise(["Hi, I want to cancel my subscription, please. I'm [NAME_1] ([EMAIL_2])."]), "cancel subscription want");
        assert_eq!(normalise(["Cancel. CANCEL!", "subscription"]), "cancel subscription");
    }

    #[test]
    fn rewording_scores_higher_than_another_problem() {
        let w = SimilarityWeights::default();
        let fp = |text: &str, mode: &str| Fingerprint {
            id: "x".into(),
            failure_mode: mode.into(),
            tier: Tier::Fast,
            bigrams: bigrams(&normalise([text])),
            text: normalise([text]),
            criteria: vec!["must-not-call-tool:cancel_subscription".into()],
            tools: vec!["cancel_subscription".into(), "lookup_account".into()],
            sources: vec![],
        };
        let a = fp("I want to cancel my premium subscription. I never signed up for it and got a charge email.", "m");
        let b = fp("Please cancel the premium subscription, I never signed up for it but got an email about a charge.", "m");
        let c = fp("My refund for last month never arrived, where is it?", "m");
        let d = fp("I want to cancel my premium subscription. I never signed up for it and got a charge email.", "other");
        let (ab, ac, ad) = (similarity(&a, &b, &w), similarity(&a, &c, &w), similarity(&a, &d, &w));
        assert!(ab.total > 0.9, "{ab}");
        assert!(ac.total < ab.total && ac.text < 0.5, "{ac}");
        assert!(ad.total < 0.8, "{ad}");
        for (x, y) in [(&a, &b), (&a, &c), (&b, &c), (&a, &d)] {
            assert!(upper_bound(x, y, &w) + 1e-12 >= similarity(x, y, &w).total);
        }
    }
}
