//! Hostile test guest: `score` calls the host's `log` 1,000,000 times, then
//! returns a valid result. The host must keep a bounded number of lines and
//! count the rest.

use ratchet_sdk::{log, Conversation, CriterionResult, LogLevel, PluginInfo, Scorecard, ScorecardResult, Value};

/// The guest's scorecard.
pub struct LogFlood;

/// How many lines `score` logs.
pub const LINES: u32 = 1_000_000;

impl Scorecard for LogFlood {
    fn info() -> PluginInfo {
        PluginInfo::new("guest-log-flood", env!("CARGO_PKG_VERSION"), "logs a million lines")
    }

    fn score(_conversation: &Conversation, _params: &Value) -> Result<ScorecardResult, String> {
        for i in 0..LINES {
            log(LogLevel::Info, &format!("line {i}"));
        }
        Ok(ScorecardResult::from_criteria(vec![CriterionResult::pass("logged", format!("logged {LINES} lines"))]))
    }
}

ratchet_sdk::export_scorecard!(LogFlood);
