//! Hostile test guest: `score` never returns. The host must stop it with fuel
//! (or, with unlimited fuel, with the wall-clock backstop) and report which.

use ratchet_sdk::{Conversation, PluginInfo, Scorecard, ScorecardResult, Value};

/// The guest's scorecard.
pub struct InfiniteLoop;

impl Scorecard for InfiniteLoop {
    fn info() -> PluginInfo {
        PluginInfo::new("guest-infinite-loop", env!("CARGO_PKG_VERSION"), "loops forever in score")
    }

    fn score(_conversation: &Conversation, _params: &Value) -> Result<ScorecardResult, String> {
        let mut n: u64 = 0;
        loop {
            // black_box keeps the optimiser from proving anything about the loop.
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
}

ratchet_sdk::export_scorecard!(InfiniteLoop);
