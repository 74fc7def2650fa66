//! Hostile test guest: `score` returns score 1.5, outside [0, 1]. The host
//! must reject it as malformed output (the SDK deliberately does not clamp).

use ratchet_sdk::{Conversation, CriterionResult, PluginInfo, Scorecard, ScorecardResult, Value};

/// The guest's scorecard.
pub struct BadScore;

impl Scorecard for BadScore {
    fn info() -> PluginInfo {
        PluginInfo::new("guest-bad-score", env!("CARGO_PKG_VERSION"), "returns score 1.5")
    }

    fn score(_conversation: &Conversation, _params: &Value) -> Result<ScorecardResult, String> {
        let mut r = ScorecardResult::from_criteria(vec![CriterionResult::pass("fine", "looks fine")]);
        r.score = 1.5;
        Ok(r)
    }
}

ratchet_sdk::export_scorecard!(BadScore);
