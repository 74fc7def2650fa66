//! What every benchmark shares: the median timer, duration formatting, and the
//! 20-turn subscription-support conversation (the size the toolchain figures used).
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use ratchet::schema::{self, Conversation, Role, ToolCall, ToolResult, Turn};
use serde_json::json;

/// Median wall time of `n` runs of `f`, after a warm-up of n/10 runs (1..=200;
/// none when n <= 5, for expensive steps such as compiles).
pub fn median(n: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..(n / 10).clamp(if n > 5 { 1 } else { 0 }, 200) {
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

/// a / b.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

/// A duration in the unit that reads best.
pub fn fmt(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1e6 {
        format!("{:.2} s", us / 1e6)
    } else if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.2} µs")
    }
}

/// A 20-turn subscription-support conversation.
pub fn twenty_turns() -> Conversation {
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

/// `RATCHET_BENCH_LOOP=N`: only N fresh-instance `score` calls of the component
/// `target/plugins/<name>.wasm` (`RATCHET_BENCH_PLUGIN` overrides `name`) on the
/// 20-turn conversation, nothing printed: a steady loop to run under `perf record`
/// (with `RATCHET_PERFMAP=1` to name guest functions). Returns whether it ran (the
/// bench then stops).
pub fn perf_loop(name: &str) -> bool {
    let Some(n) = std::env::var("RATCHET_BENCH_LOOP").ok().and_then(|v| v.parse::<usize>().ok()) else { return false };
    let name = std::env::var("RATCHET_BENCH_PLUGIN").unwrap_or_else(|_| name.to_string());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins").join(format!("{name}.wasm"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-plugins first", path.display()));
    let runtime = ratchet::plugin::Runtime::new(&ratchet::config::EngineSettings::default(), true).unwrap();
    let plugin = runtime.load(&name, &bytes, ratchet::config::Limits::default()).unwrap();
    let (conv, params) = (twenty_turns(), json!({}));
    for _ in 0..n {
        plugin.score(&conv, &params).unwrap();
    }
    true
}
