//! What a plugin call costs: cold compile vs cache load, and a fresh instance + call
//! with the pooling allocator vs the on-demand allocator vs the same logic called
//! natively. Prints figures; asserts nothing (tests check correctness).
//!
//! Run: `scripts/build-plugins && cargo bench -p ratchet --bench plugin_call`
//! (fuel is deterministic: compare it across builds when the machine is noisy)
//! Results are recorded in docs/benchmarks.md.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{fmt, median, ratio, twenty_turns};

use ratchet::config::{Allocator, EngineSettings, Limits};
use ratchet::plugin::Runtime;
use ratchet_sdk::Scorecard as _;
use serde_json::json;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let component = root.join("target/plugins/scorecard-support-policy.wasm");
    let bytes = std::fs::read(&component).unwrap_or_else(|e| {
        eprintln!("{}: {e}\nrun scripts/build-plugins first", component.display());
        std::process::exit(2)
    });
    let conv = twenty_turns();
    let params = json!({});
    if common::perf_loop("scorecard-support-policy") {
        return;
    }
    println!("scorecard-support-policy: {} KiB component, {}-turn conversation\n", bytes.len() / 1024, conv.turns.len());

    // Cold compile: no cache.
    let no_cache = Runtime::new(&EngineSettings { allocator: Allocator::OnDemand, ..Default::default() }, false).unwrap();
    let compile = median(5, || {
        no_cache.load("bench", &bytes, Limits::default()).unwrap();
    });

    // Cache load: a fresh runtime (as a new process would have) loading a cached artifact.
    let cache_dir = tempfile::tempdir().unwrap();
    let cached = EngineSettings { allocator: Allocator::OnDemand, cache_dir: Some(cache_dir.path().to_path_buf()), ..Default::default() };
    Runtime::new(&cached, true).unwrap().load("bench", &bytes, Limits::default()).unwrap();
    let rt_cached = Runtime::new(&cached, true).unwrap();
    let cache_load = median(20, || {
        rt_cached.load("bench", &bytes, Limits::default()).unwrap();
    });

    // Fresh instance + call, pooling vs on-demand.
    let pooling = Runtime::new(&EngineSettings::default(), false).unwrap().load("bench", &bytes, Limits::default()).unwrap();
    let on_demand = Runtime::new(&EngineSettings { allocator: Allocator::OnDemand, ..Default::default() }, false)
        .unwrap()
        .load("bench", &bytes, Limits::default())
        .unwrap();
    let n = 5_000;
    let pooled = median(n, || {
        pooling.score(&conv, &params).unwrap();
    });
    let demand = median(n, || {
        on_demand.score(&conv, &params).unwrap();
    });
    let fuel = pooling.score(&conv, &params).unwrap().stats.fuel_consumed;

    // The fixed cost: instantiate + a call that does no work (`info`), and a guest
    // whose only work is receiving the conversation (the SDK's WIT -> Rust conversion).
    let info_only = median(n, || {
        pooling.info().unwrap();
    });
    let leak_bytes = std::fs::read(root.join("target/plugins/guest-state-leak.wasm")).unwrap();
    let receive_only = Runtime::new(&EngineSettings::default(), false).unwrap().load("leak", &leak_bytes, Limits::default()).unwrap();
    let receive = median(n, || {
        receive_only.score(&conv, &params).unwrap();
    });
    let receive_fuel = receive_only.score(&conv, &params).unwrap().stats.fuel_consumed;
    // The same guest skipping the SDK's conversion: only the canonical-ABI transfer
    // (host-side lowering into guest memory, the guest's allocations, the lift).
    let lift_params = json!("lift-only");
    let lift = median(n, || {
        receive_only.score(&conv, &lift_params).unwrap();
    });
    let lift_fuel = receive_only.score(&conv, &lift_params).unwrap().stats.fuel_consumed;
    let info_fuel = pooling.info().unwrap().stats.fuel_consumed;

    // The same logic, natively, on an already-parsed conversation.
    let sdk_conv = ratchet_sdk::Conversation::from_json(&serde_json::to_string(&conv).unwrap()).unwrap();
    let native = median(50_000, || {
        std::hint::black_box(scorecard_support_policy::SupportPolicy::score(&sdk_conv, &params).unwrap());
    });

    let row = |what: &str, d: Duration, note: String| println!("{what:<44} {:>12}  {note}", fmt(d));
    row("cold compile (Cranelift, no cache)", compile, String::new());
    row("cache load (fresh runtime, artifact on disk)", cache_load, format!("{:.0}x faster than compiling", ratio(compile, cache_load)));
    row("fresh instance + call, pooling allocator", pooled, format!("{:.1}x native; {fuel} fuel", ratio(pooled, native)));
    row("fresh instance + call, on-demand allocator", demand, format!("{:.1}x native; {:.2}x pooling", ratio(demand, native), ratio(demand, pooled)));
    row("  fresh instance + `info` (no input)", info_only, format!("{info_fuel} fuel"));
    row("  fresh instance + receive conversation only", receive, format!("{receive_fuel} fuel"));
    row("    of which lift only (no SDK conversion)", lift, format!("{lift_fuel} fuel"));
    row("native Rust call (same logic, no Wasm)", native, String::new());
}
