//! Test guest: keeps a call counter in a `static` and reports it. With a fresh
//! instance per call the host must see `call #1` every time; anything else means
//! state leaked from one conversation into the next.
//!
//! It is also the plugin-call bench's "receive only" guest (`host/benches/plugin_call.rs`):
//! with params `{}` it receives the conversation through the SDK (the WIT records
//! lifted, then converted to SDK types) and does nothing else; with params
//! `"lift-only"` it skips the SDK conversion and drops the lifted WIT records, so the
//! bench can tell the canonical-ABI transfer from the SDK's share.
//!
//! With params `{"fail": true}` it fails every conversation with `call #N; previous: ID` as
//! the reason, like its Python and JavaScript twins (guest-state-leak-py, -js): what
//! `host/tests/it/isolation.rs` compares across orders and partitions.
//!
//! With params `"echo"` it answers the conversation it received, as canonical JSON,
//! in the criterion's reason: the host's tests compare it with what they sent, field
//! by field, to prove the lowering of every field (`host/tests/it/sandbox.rs`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use ratchet_sdk::v0_1::scorecard::exports::ratchet::plugin::scorer;
use ratchet_sdk::v0_1::shared::ratchet::plugin::types;
use ratchet_sdk::v0_1::ScorecardGlue;
use ratchet_sdk::{Conversation, CriterionResult, PluginInfo, Scorecard, ScorecardResult, Value};

static CALLS: AtomicU32 = AtomicU32::new(0);
static PREVIOUS: Mutex<String> = Mutex::new(String::new());

fn count() -> String {
    let n = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    format!("call #{n}")
}

/// `call #N; previous: ID` — the count and the conversation scored before this one
/// on this instance (`none` on a fresh one), as its Python and JS twins report them.
fn count_and_previous(id: &str) -> String {
    let mut previous = PREVIOUS.lock().unwrap_or_else(|e| e.into_inner());
    let before = if previous.is_empty() { "none".to_string() } else { previous.clone() };
    *previous = id.to_string();
    format!("{}; previous: {before}", count())
}

/// The guest's scorecard.
pub struct StateLeak;

impl Scorecard for StateLeak {
    fn info() -> PluginInfo {
        PluginInfo::new("guest-state-leak", env!("CARGO_PKG_VERSION"), "reports how many times it was called")
    }

    fn score(conversation: &Conversation, params: &Value) -> Result<ScorecardResult, String> {
        if params.as_str() == Some("echo") {
            return Ok(ScorecardResult::from_criteria(vec![CriterionResult::pass("echo", conversation.to_json())]));
        }
        if params.get("fail").and_then(Value::as_bool) == Some(true) {
            // Every conversation flagged, the instance's history in the reason
            // (host/tests/it/isolation.rs orders and splits the stream).
            return Ok(ScorecardResult::from_criteria(vec![CriterionResult::fail("call-count", count_and_previous(&conversation.id), None)]));
        }
        Ok(ScorecardResult::from_criteria(vec![CriterionResult::pass("call-count", count())]))
    }
}

/// The exported `scorer`: the SDK's glue for [`StateLeak`], except that params
/// `"lift-only"` skip the SDK's conversion of the conversation.
pub struct LiftOnly;

impl scorer::Guest for LiftOnly {
    fn info() -> types::PluginInfo {
        <ScorecardGlue<StateLeak> as scorer::Guest>::info()
    }

    fn score(conversation: types::Conversation, params: String) -> Result<scorer::ScorecardResult, String> {
        if params != r#""lift-only""# {
            return <ScorecardGlue<StateLeak> as scorer::Guest>::score(conversation, params);
        }
        drop(std::hint::black_box(conversation));
        let criterion = scorer::CriterionResult { name: "call-count".into(), score: 1.0, passed: true, reason: count(), turn: None };
        Ok(scorer::ScorecardResult { score: 1.0, criteria: vec![criterion], flags: vec![], failure_mode: None, suggested_criteria: vec![] })
    }
}

#[cfg(target_arch = "wasm32")]
ratchet_sdk::v0_1::scorecard::__export_scorecard!(LiftOnly with_types_in ratchet_sdk::v0_1::scorecard);
