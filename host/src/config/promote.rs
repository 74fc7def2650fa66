//! `[promote]`: when a new scenario is the same failure as one the suite holds.

use serde::{Deserialize, Serialize};

/// `[promote]`: the fuzzy match that merges a new scenario into a known one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PromoteConfig {
    /// At or above this similarity the new scenario is merged into the match (hit +1).
    pub merge_threshold: f64,
    /// From this similarity up to the merge threshold a match is shown as a near miss
    /// for a person to decide.
    pub near_miss: f64,
    /// How much each signal counts (normalised to sum 1).
    pub weights: SimilarityWeights,
    /// Labels that name a conversation's situation (e.g. a contact reason or intent the
    /// platform assigned): two scenarios whose values of one of these differ are never
    /// the same failure, whatever their criteria say — a fix for one situation need not
    /// fix the other — and stay apart, related. A scenario without the label is not
    /// kept apart by it.
    pub situation_labels: Vec<String>,
}

impl Default for PromoteConfig {
    fn default() -> Self {
        PromoteConfig { merge_threshold: 0.85, near_miss: 0.7, weights: SimilarityWeights::default(), situation_labels: Vec::new() }
    }
}

/// Weights of the similarity signals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimilarityWeights {
    /// The normalised customer turns (strsim Sørensen–Dice on their content words).
    pub text: f64,
    /// Same failure-mode cluster (1 or 0).
    pub failure_mode: f64,
    /// Overlap of the criteria (Jaccard on kind + tool or plugin).
    pub criteria: f64,
    /// Overlap of the tools called (Jaccard on fixture tool names).
    pub tools: f64,
}

impl Default for SimilarityWeights {
    fn default() -> Self {
        SimilarityWeights { text: 0.25, failure_mode: 0.3, criteria: 0.3, tools: 0.15 }
    }
}

impl PromoteConfig {
    /// Thresholds in [0, 1], near miss not above the merge threshold, sane weights.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let p = self;
        for (field, v) in [("merge_threshold", p.merge_threshold), ("near_miss", p.near_miss)] {
            if !(0.0..=1.0).contains(&v) {
                return Err((format!("promote.{field}"), format!("{v} is outside [0, 1]")));
            }
        }
        if p.near_miss > p.merge_threshold {
            return Err(("promote.near_miss".into(), format!("{} is above merge_threshold ({})", p.near_miss, p.merge_threshold)));
        }
        let w = &p.weights;
        if [w.text, w.failure_mode, w.criteria, w.tools].iter().any(|x| !x.is_finite() || *x < 0.0) || w.text + w.failure_mode + w.criteria + w.tools <= 0.0 {
            return Err(("promote.weights".into(), "weights must be non-negative and not all zero".into()));
        }
        Ok(())
    }
}
