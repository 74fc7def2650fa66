//! Test guest: a scorecard that imports WASI 0.2 `wall-clock`,
//! `monotonic-clock`, `random` and `insecure-seed`, and reports what it read
//! in its criteria reasons. Under ratchet the values must be the fixed clock
//! and seeded randomness the host provides, identical on every call.
//!
//! Bindings are generated here directly with wit-bindgen (the SDK's macros
//! only know the plain ratchet worlds): world `scorecard-with-wasi` in `wit/`
//! includes `ratchet:plugin/scorecard@0.1.0` from the repository's WIT and
//! imports the vendored WASI interfaces in `wit/deps/`.

#![allow(missing_docs)]

wit_bindgen::generate!({
    path: ["../../../../wit/since_v0.1.0", "wit"],
    world: "ratchet-test:wasi-guest/scorecard-with-wasi",
    generate_all,
});

use exports::ratchet::plugin::scorer::{CriterionResult, Guest, ScorecardResult};
use ratchet::plugin::host;
use ratchet::plugin::types::{Conversation, PluginInfo};
use wasi::clocks::{monotonic_clock, wall_clock};
use wasi::random::{insecure_seed, random};

/// The guest's scorecard.
pub struct WasiClockRandom;

fn criterion(name: &str, reason: String) -> CriterionResult {
    CriterionResult { name: name.to_string(), score: 1.0, passed: true, reason, turn: None }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Guest for WasiClockRandom {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "guest-wasi-clock-random".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "reports the WASI clocks and random bytes it sees".into(),
        }
    }

    fn score(_conversation: Conversation, _params: String) -> Result<ScorecardResult, String> {
        let now = wall_clock::now();
        let mono = monotonic_clock::now();
        let bytes = random::get_random_bytes(16);
        let (seed_hi, seed_lo) = insecure_seed::insecure_seed();
        host::log(host::LogLevel::Debug, "read clocks and random");
        Ok(ScorecardResult {
            score: 1.0,
            criteria: vec![
                criterion("wall-clock", format!("wall-clock seconds={} nanoseconds={}", now.seconds, now.nanoseconds)),
                criterion("monotonic-clock", format!("monotonic-clock now={mono}")),
                criterion("random", format!("random bytes={}", hex(&bytes))),
                criterion("insecure-seed", format!("insecure-seed={seed_hi:016x}{seed_lo:016x}")),
            ],
            flags: Vec::new(),
            failure_mode: None,
            suggested_criteria: Vec::new(),
        })
    }
}

// Native builds (`cargo test --workspace` compiles this crate as a cdylib for
// the host too) must not export symbols named `ratchet:plugin/...`: the
// native linker rejects them. The component is only ever built for wasm32.
#[cfg(target_arch = "wasm32")]
export!(WasiClockRandom);
