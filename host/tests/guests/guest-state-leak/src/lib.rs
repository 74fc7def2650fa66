//! Test guest: keeps a call counter in a `static` and reports it. With a fresh
//! instance per call the host must see `call #1` every time; anything else means
//! state leaked from one conversation into the next.

use std::sync::atomic::{AtomicU32, Ordering};

use ratchet_sdk::{Conversation, CriterionResult, PluginInfo, Scorecard, ScorecardResult, Value};

static CALLS: AtomicU32 = AtomicU32::new(0);

/// The guest's scorecard.
pub struct StateLeak;

impl Scorecard for StateLeak {
    fn info() -> PluginInfo {
        PluginInfo::new("guest-state-leak", env!("CARGO_PKG_VERSION"), "reports how many times it was called")
    }

    fn score(_conversation: &Conversation, _params: &Value) -> Result<ScorecardResult, String> {
        let n = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(ScorecardResult::from_criteria(vec![CriterionResult::pass("call-count", format!("call #{n}"))]))
    }
}

ratchet_sdk::export_scorecard!(StateLeak);
