//! Hostile test guest: `score` panics with a fixed message. The host must turn
//! the trap into an error that carries `deliberate panic from guest-trap`
//! (reported through `host.abort-reason` by the SDK's panic hook).

use ratchet_sdk::{Conversation, PluginInfo, Scorecard, ScorecardResult, Value};

/// The guest's scorecard.
pub struct Trap;

impl Scorecard for Trap {
    fn info() -> PluginInfo {
        PluginInfo::new("guest-trap", env!("CARGO_PKG_VERSION"), "panics in score")
    }

    fn score(_conversation: &Conversation, _params: &Value) -> Result<ScorecardResult, String> {
        panic!("deliberate panic from guest-trap");
    }
}

ratchet_sdk::export_scorecard!(Trap);
