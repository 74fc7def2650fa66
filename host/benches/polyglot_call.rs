//! The same scorecard (support-policy) in Rust, Python (componentize-py) and
//! JavaScript (componentize-js), on the same 20-turn conversation: component size,
//! cold compile, cached load (a fresh engine, artifact on disk), a fresh instance +
//! call (what `ratchet` does per conversation, pooling allocator), and a call on an
//! already-live instance (the guest's own work); then conversations/s per core and
//! the same Python logic run natively (`native_scorecard.py`, plain CPython) in the
//! same run, with the ratio; then where a Python or JavaScript call's cost goes
//! (the componentize-py/-js floor, the SDK's conversion, the logic: bench guests in
//! host/tests/guests). Prints figures; asserts that all four ports give the same
//! bytes, nothing else.
//!
//! Run: `scripts/build-plugins && cargo bench -p ratchet --bench polyglot_call`
//! (`RATCHET_BENCH_COMPILES=N` cold compiles per language, default 2). Results are
//! recorded in docs/benchmarks.md.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{fmt, median, twenty_turns};

use ratchet::config::{EngineSettings, Limits};
use ratchet::plugin::v0_1;
use ratchet::plugin::{Runtime, StoreState};
use ratchet::schema::{self, Conversation};
use serde_json::json;
use wasmtime::component::{Component, Linker};
use wasmtime::Store;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let compiles: usize = std::env::var("RATCHET_BENCH_COMPILES").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let conv = twenty_turns();
    let params = json!({});
    if common::perf_loop("scorecard-support-policy-py") {
        return;
    }
    println!("support-policy scorecard, {}-turn conversation; medians\n", conv.turns.len());
    println!(
        "{:<10} {:>9} {:>13} {:>12} {:>16} {:>18} {:>14} {:>12} {:>12} {:>9}",
        "language", "size", "cold compile", "cached load", "per conversation", "fresh inst.+call", "inst.+`info`", "call only", "fuel", "peak mem"
    );
    let mut outputs = Vec::new();
    let mut per_conversation = Vec::new();
    for (lang, name, n) in
        [("Rust", "scorecard-support-policy", 5_000), ("Python", "scorecard-support-policy-py", 1_000), ("JS", "scorecard-support-policy-js", 500)]
    {
        let path = root.join("target/plugins").join(format!("{name}.wasm"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            eprintln!("{}: {e}\nrun scripts/build-plugins first", path.display());
            std::process::exit(2)
        });

        // Cold compile: no cache.
        let no_cache = Runtime::new(&EngineSettings::default(), false).unwrap();
        let compile = median(compiles.max(1), || {
            no_cache.load(name, &bytes, Limits::default()).unwrap();
        });

        // Cached load: a fresh runtime (as the next process would have) and an artifact on disk.
        let dir = tempfile::tempdir().unwrap();
        let settings = EngineSettings { cache_dir: Some(dir.path().to_path_buf()), ..EngineSettings::default() };
        Runtime::new(&settings, true).unwrap().load(name, &bytes, Limits::default()).unwrap();
        let cached_rt = Runtime::new(&settings, true).unwrap();
        let cached = median(10, || {
            cached_rt.load(name, &bytes, Limits::default()).unwrap();
        });

        // What ratchet does per conversation: a fresh instance (Rust), or a live
        // instance restored after every call (Python, JS: plugin::live).
        let plugin = cached_rt.load(name, &bytes, Limits::default()).unwrap();
        let first = plugin.score(&conv, &params).unwrap();
        outputs.push((lang, schema::canonical_json(&serde_json::to_value(&first.output).unwrap())));
        let per_call = median(n, || {
            plugin.score(&conv, &params).unwrap();
        });
        assert_eq!(plugin.reuses_instances(), bytes.len() >= 4 << 20, "{lang}: live instances as expected");

        // A fresh instance per call, forced.
        let fresh_plugin = cached_rt.load(name, &bytes, Limits::default()).unwrap().without_reuse();
        let fresh = median(n, || {
            fresh_plugin.score(&conv, &params).unwrap();
        });
        let again = fresh_plugin.score(&conv, &params).unwrap();
        assert_eq!(schema::canonical_json(&serde_json::to_value(&again.output).unwrap()), outputs.last().unwrap().1, "{lang}: fresh = live");
        assert_eq!(again.stats.fuel_consumed, first.stats.fuel_consumed, "{lang}: the same fuel");

        // The fixed part: a fresh instance and a call that does no work (`info`).
        let info = median(n, || {
            plugin.info().unwrap();
        });

        // Calls on one live instance: the guest's own work, without instantiation.
        let live = live_calls(&cached_rt, &bytes, &conv, n);
        per_conversation.push((lang, per_call, first.stats.fuel_consumed));

        println!(
            "{lang:<10} {:>9} {:>13} {:>12} {:>16} {:>18} {:>14} {:>12} {:>12} {:>9}",
            format!("{:.1} MB", bytes.len() as f64 / 1e6),
            fmt(compile),
            fmt(cached),
            fmt(per_call),
            fmt(fresh),
            fmt(info),
            fmt(live),
            first.stats.fuel_consumed,
            format!("{:.1} MiB", first.stats.peak_memory_bytes as f64 / 1048576.0)
        );
    }
    let same = outputs.windows(2).all(|w| w[0].1 == w[1].1);
    println!("\noutputs byte-identical across languages: {same}");
    assert!(same, "{outputs:#?}");

    // Per core: one conversation after another on one thread, as ratchet runs them,
    // against the same Python logic run natively (no Wasm), in this run.
    println!("\nper core (one thread), as ratchet runs plugins (Python, JS: restored live instances):");
    for (lang, fresh, _) in &per_conversation {
        println!("  {lang:<8} {:>9.0} conversations/s", 1.0 / fresh.as_secs_f64());
    }
    match native_python(&root, &conv) {
        Ok((native, python, output)) => {
            let plugin = per_conversation.iter().find(|(l, ..)| *l == "Python").map(|(_, d, _)| *d).unwrap();
            println!(
                "  native Python {python} (host/benches/native_scorecard.py: the same logic and SDK, JSON in and out, no Wasm): {:.0} conversations/s, {}",
                1.0 / native.as_secs_f64(),
                fmt(native)
            );
            println!("  Python plugin / native Python, per conversation: {:.1}x", common::ratio(plugin, native));
            assert_eq!(output, outputs[0].1, "the native run's output differs from the plugins'");
        }
        Err(e) => println!("  native Python baseline not run: {e}"),
    }
    let guests = Runtime::new(&EngineSettings::default(), true).unwrap();
    for (lang, short, engine, ext) in [("Python", "Python", "componentize-py", "py"), ("JavaScript", "JS", "componentize-js", "js")] {
        // The port itself was measured above, in this run: its row is that figure.
        let port = per_conversation.iter().find(|(l, ..)| *l == short).map(|&(_, d, f)| (d, f)).unwrap();
        breakdown(&guests, &root, &conv, &params, (lang, engine, ext), port);
    }
}

/// Where a restored Python or JavaScript call's cost goes, on the same conversation:
/// the floor every plugin built with `engine` pays (guest-bare-scorecard-EXT: the
/// bindings' lifting and lowering, the interpreter entry, the restore; no SDK, no
/// logic), the SDK's conversion on top (guest-sdk-scorecard-EXT: the same answer
/// through the SDK), and the scorecard's own logic (`port`: the support-policy port's
/// time and fuel, measured above).
fn breakdown(rt: &Runtime, root: &Path, conv: &Conversation, params: &serde_json::Value, (lang, engine, ext): (&str, &str, &str), port: (Duration, u64)) {
    println!("\n{lang}, where a restored call goes (same conversation, one thread):");
    let mut rows = Vec::new();
    for (name, what) in [
        (format!("guest-bare-scorecard-{ext}"), format!("{engine} floor: bindings, entry, restore")),
        (format!("guest-sdk-scorecard-{ext}"), "+ the SDK's conversion (no logic)".to_string()),
    ] {
        let path = root.join("target/plugins").join(format!("{name}.wasm"));
        let Ok(bytes) = std::fs::read(&path) else {
            println!("  {name}: not built (scripts/build-plugins {name})");
            return;
        };
        let plugin = rt.load(&name, &bytes, Limits::default()).unwrap();
        let fuel = plugin.score(conv, params).unwrap().stats.fuel_consumed;
        let per_call = median(500, || {
            plugin.score(conv, params).unwrap();
        });
        rows.push((what, per_call, fuel));
    }
    rows.push(("+ the support-policy logic".to_string(), port.0, port.1));
    let mut previous: Option<(Duration, u64)> = None;
    for (what, per_call, fuel) in rows {
        let step = match previous {
            Some((t, f)) => format!("  (step: +{}, +{} fuel)", fmt(per_call.saturating_sub(t)), fuel.saturating_sub(f)),
            None => String::new(),
        };
        println!("  {what:<48} {:>9} {:>7.0}/s {:>12} fuel{step}", fmt(per_call), 1.0 / per_call.as_secs_f64(), fuel);
        previous = Some((per_call, fuel));
    }
}

/// The Python scorecard logic run natively by `native_scorecard.py` on `conv`: time
/// per conversation, the interpreter's version, and the result's canonical JSON.
fn native_python(root: &Path, conv: &Conversation) -> Result<(Duration, String, String), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let input = dir.path().join("conversation.json");
    std::fs::write(&input, schema::canonical_json(&serde_json::to_value(conv).unwrap())).map_err(|e| e.to_string())?;
    let script = root.join("host/benches/native_scorecard.py");
    let out = std::process::Command::new("python3").arg(&script).arg(&input).output().map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("{}: {e}", script.display()))?;
    let ns = v["per_conversation_ns"].as_f64().ok_or("no per_conversation_ns")?;
    let output: serde_json::Value = serde_json::from_str(v["output"].as_str().ok_or("no output")?).map_err(|e| e.to_string())?;
    Ok((Duration::from_nanos(ns as u64), v["python"].as_str().unwrap_or("?").to_string(), schema::canonical_json(&output)))
}

/// Median time of `call-score` on one instance, instantiated once.
fn live_calls(rt: &Runtime, bytes: &[u8], conv: &Conversation, n: usize) -> Duration {
    let engine = rt.engine();
    let mut linker: Linker<StoreState> = Linker::new(engine);
    v0_1::add_host_to_linker(&mut linker).unwrap();
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let component = match rt.cache() {
        Some(cache) => cache.load_or_compile(engine, bytes, &hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes))).unwrap().0,
        None => Component::new(engine, bytes).unwrap(),
    };
    let pre = linker.instantiate_pre(&component).unwrap();
    let score = v0_1::GuestFunc::score(&component).unwrap();
    let limits = Limits::default();
    let mut store = Store::new(engine, StoreState::new(&limits, true, None, None).unwrap());
    store.set_fuel(u64::MAX / 2).unwrap();
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = pre.instantiate(&mut store).unwrap();
    median(n, || {
        score.call_score(&mut store, &instance, conv, "{}").unwrap().unwrap();
    })
}
