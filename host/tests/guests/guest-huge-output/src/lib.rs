//! Hostile test guest: `score` returns a valid-looking scorecard whose
//! criterion reasons total 32 MiB (32 criteria of 1 MiB each). The host must
//! refuse it with its output-size limit instead of buffering it onward.

use ratchet_sdk::{Conversation, CriterionResult, PluginInfo, Scorecard, ScorecardResult, Value};

/// The guest's scorecard.
pub struct HugeOutput;

/// Total size of the reasons.
pub const TOTAL_BYTES: usize = 32 << 20;
/// Number of criteria the bytes are spread over.
pub const CRITERIA: usize = 32;

impl Scorecard for HugeOutput {
    fn info() -> PluginInfo {
        PluginInfo::new("guest-huge-output", env!("CARGO_PKG_VERSION"), "returns 32 MiB of reasons")
    }

    fn score(_conversation: &Conversation, _params: &Value) -> Result<ScorecardResult, String> {
        let reason = "x".repeat(TOTAL_BYTES / CRITERIA);
        let criteria = (0..CRITERIA).map(|i| CriterionResult::pass(format!("huge-{i}"), reason.clone())).collect();
        Ok(ScorecardResult::from_criteria(criteria))
    }
}

ratchet_sdk::export_scorecard!(HugeOutput);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_total_32_mib() {
        let c = Conversation::new("x", ratchet_sdk::Channel::Chat);
        let r = HugeOutput::score(&c, &Value::Null).unwrap();
        assert_eq!(r.criteria.iter().map(|c| c.reason.len()).sum::<usize>(), TOTAL_BYTES);
    }
}
