//! What a plugin call costs: cold compile vs cache load, and a fresh instance + call
//! with the pooling allocator vs the on-demand allocator vs the same logic called
//! natively. Prints figures; asserts nothing (tests check correctness).
//!
//! Run: `scripts/build-plugins && cargo bench -p ratchet --bench plugin_call`
//! Results are recorded in docs/benchmarks.md.

use std::path::Path;
use std::time::{Duration, Instant};

use ratchet::config::{Allocator, EngineSettings, Limits};
use ratchet::plugin::Runtime;
use ratchet::schema::{self, Conversation, Role, ToolCall, ToolResult, Turn};
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

    // Host-side share: converting the conversation into WIT values (+ canonical JSON).
    let convert = median(n, || {
        std::hint::black_box(ratchet::plugin::v0_1::conversation_to_wit(&conv));
    });

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
    row("  fresh instance + `info` (no input)", info_only, String::new());
    row("  fresh instance + receive conversation only", receive, String::new());
    row("  host: conversation -> WIT values", convert, String::new());
    row("native Rust call (same logic, no Wasm)", native, String::new());
}

fn median(n: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..(n / 10).clamp(1, 200) {
        f();
    }
    let mut v: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    v.sort();
    v[n / 2]
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.2} µs")
    }
}

/// A 20-turn subscription-support conversation (the size the toolchain figures used).
fn twenty_turns() -> Conversation {
    let mut c: Conversation = schema::load_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/conversation/tuesday-cancellation.json")).unwrap();
    let t = |role, text: &str| Turn { role, text: text.into(), tool_calls: vec![], tool_result: None, offset_ms: None, latency_ms: None };
    c.turns.truncate(6);
    let mut i = 0;
    while c.turns.len() < 20 {
        i += 1;
        c.turns.push(t(Role::Customer, "Also, can you check whether I was charged last month? I see something on my card statement."));
        let mut call = t(Role::Agent, "");
        call.tool_calls.push(ToolCall { id: format!("c{i}"), name: "lookup_account".into(), arguments: json!({"account_id": "A-55812"}) });
        c.turns.push(call);
        let mut result = t(Role::Tool, "");
        result.tool_result = Some(ToolResult {
            call_id: format!("c{i}"),
            name: "lookup_account".into(),
            content: json!({"subscription_status": "none", "charges": []}),
            is_error: false,
        });
        c.turns.push(result);
        c.turns.push(t(Role::Agent, "I don't see any charges on your account for last month, and there is no active subscription."));
    }
    c.turns.truncate(20);
    c
}
