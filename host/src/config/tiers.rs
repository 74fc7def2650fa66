//! `[tiers]`: how big the fast tier is and when idle scenarios are retired.

use serde::{Deserialize, Serialize};

/// `[tiers]` in `ratchet.toml`: the source document's numbers by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TierPolicy {
    /// Most scenarios in the fast tier.
    pub fast_size: usize,
    /// The PR job's time budget for the fast tier, seconds.
    pub pr_budget_secs: u64,
    /// Scenarios the PR job replays at once (`ratchet gate --jobs`), for the estimate.
    pub jobs: usize,
    /// No failure and no production hit for this many days: slow tier.
    pub demote_after_days: u32,
    /// No failure and no production hit for this many days: archive.
    pub archive_after_days: u32,
    /// Scenario ids that always stay fast (the curated smoke set).
    pub pinned: Vec<String>,
    /// How the value of a scenario is weighed.
    pub weights: ValueWeights,
}

impl Default for TierPolicy {
    fn default() -> Self {
        TierPolicy {
            fast_size: 100,
            pr_budget_secs: 600,
            jobs: 4,
            demote_after_days: 90,
            archive_after_days: 180,
            pinned: Vec::new(),
            weights: ValueWeights::default(),
        }
    }
}

/// Weights of a scenario's value signals (each signal is a logarithm, so a
/// thousand hits do not drown everything else).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValueWeights {
    /// × ln(1 + production hits).
    pub hits: f64,
    /// × ln(1 + ledger failures within `demote_after_days`).
    pub recent_failures: f64,
    /// × log10(1 + impact cost), the cost weighted as `[rank]` weighs it.
    pub impact: f64,
}

impl Default for ValueWeights {
    fn default() -> Self {
        ValueWeights { hits: 1.0, recent_failures: 2.0, impact: 0.5 }
    }
}

impl TierPolicy {
    /// Check the numbers; the message names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if self.jobs == 0 {
            return Err(("tiers.jobs".into(), "must be at least 1".into()));
        }
        if self.archive_after_days < self.demote_after_days {
            return Err(("tiers.archive_after_days".into(), format!("{} is before demote_after_days ({})", self.archive_after_days, self.demote_after_days)));
        }
        let w = &self.weights;
        if [w.hits, w.recent_failures, w.impact].iter().any(|x| !x.is_finite() || *x < 0.0) {
            return Err(("tiers.weights".into(), "weights must be non-negative".into()));
        }
        Ok(())
    }
}
