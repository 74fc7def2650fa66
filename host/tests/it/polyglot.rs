//! Plugins in any language: every shipped plugin — Rust, Python (componentize-py) or
//! JavaScript (componentize-js) — run as a component through the sandbox.
//!
//! * Conformance: a plugin's samples directory is the shared contract of its logic.
//!   The Rust originals keep theirs in `samples/`; a port names the original's
//!   directory (`[tool.ratchet] samples` in `pyproject.toml`, `"ratchet".samples` in
//!   `package.json`). Every plugin sharing a directory must give, for every input,
//!   the expected output **byte for byte** (the canonical JSON the host writes), and
//!   for every `invalid/` input the exact expected error.
//! * Determinism: Python and JavaScript guests import WASI clocks and randomness;
//!   repeated calls, and calls from a fresh engine, give identical bytes and fuel.
//! * Cost: the precompile cache makes the second load of an 12-18 MB component a
//!   deserialize (reported; asserted to be a cache hit well under the compile time),
//!   and the default sandbox limits leave room for them.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use ratchet::config::{EngineSettings, Limits};
use ratchet::plugin::{CacheOutcome, Failure, Plugin, Runtime, WorldKind};
use ratchet::schema::{self, canonical_json, Conversation};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Lang {
    Rust,
    Python,
    Js,
}

/// A plugin under `plugins/`, as its manifest describes it.
#[derive(Debug, Clone)]
struct Shipped {
    /// The component's name in `target/plugins/`.
    name: String,
    lang: Lang,
    /// The samples directory (canonical path).
    samples: PathBuf,
}

fn plugins_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins")
}

/// Every plugin with samples, from the manifests in `plugins/`.
fn shipped() -> Vec<Shipped> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(plugins_dir()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for dir in dirs {
        let canon = |rel: &str| dir.join(rel).canonicalize().unwrap_or_else(|e| panic!("{}: samples directory {rel}: {e}", dir.display()));
        if dir.join("Cargo.toml").is_file() && dir.join("samples").is_dir() {
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            out.push(Shipped { name, lang: Lang::Rust, samples: canon("samples") });
        } else if dir.join("pyproject.toml").is_file() {
            let t: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("pyproject.toml")).unwrap()).unwrap();
            let Some(tool) = t.get("tool").and_then(|t| t.get("ratchet")) else { continue };
            let name = t["project"]["name"].as_str().unwrap().to_string();
            let samples = tool.get("samples").and_then(|s| s.as_str()).unwrap_or("samples");
            // Like a Rust plugin without samples (the LLM-judged rubric and its ports,
            // tested in polyglot_judge.rs with a model), a port without any is skipped.
            if samples == "samples" && !dir.join("samples").is_dir() {
                continue;
            }
            out.push(Shipped { name, lang: Lang::Python, samples: canon(samples) });
        } else if dir.join("package.json").is_file() {
            let pkg: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("package.json")).unwrap()).unwrap();
            let Some(r) = pkg.get("ratchet") else { continue };
            let samples = r.get("samples").and_then(Value::as_str).unwrap_or("samples");
            if samples == "samples" && !dir.join("samples").is_dir() {
                continue;
            }
            out.push(Shipped { name: pkg["name"].as_str().unwrap().to_string(), lang: Lang::Js, samples: canon(samples) });
        }
    }
    out
}

/// What a plugin did with one input: the host's canonical JSON of the output, or
/// the guest's error message. Anything else (trap, limit) fails the test.
fn run(p: &Plugin, input: &[u8], options: &Value, file: &str) -> Result<String, String> {
    let call = match p.world().kind {
        WorldKind::Scorecard => {
            let c: Conversation = schema::parse_json(std::str::from_utf8(input).unwrap(), file).unwrap();
            p.score(&c, options).map(|c| serde_json::to_value(c.output).unwrap())
        }
        WorldKind::Assertion => {
            let v: Value = serde_json::from_slice(input).unwrap();
            let c: Conversation = schema::parse_json(&v["transcript"].to_string(), file).unwrap();
            p.check(&c, &v["params"]).map(|c| serde_json::to_value(c.output).unwrap())
        }
        WorldKind::Adapter => p.convert(input, options).map(|c| serde_json::to_value(c.output).unwrap()),
        WorldKind::Agent => panic!("agents are tested through the gate"),
        // The input `ratchet plugin run` takes: one call in a world, or observations.
        WorldKind::Simulator => {
            let v: Value = serde_json::from_slice(input).unwrap();
            match v.get("observed") {
                Some(o) => p.seed(&serde_json::from_value::<Vec<_>>(o.clone()).unwrap(), options).map(|c| c.output),
                None => {
                    let request = serde_json::from_value(v["request"].clone()).unwrap();
                    p.simulate(&canonical_json(&v["world"]), &request, options).map(|c| serde_json::to_value(c.output).unwrap())
                }
            }
        }
    };
    match call {
        Ok(v) => Ok(canonical_json(&v)),
        Err(e) => match e.failure {
            Failure::Guest(msg) => Err(msg),
            other => panic!("{} on {file}: {other}", p.id().name),
        },
    }
}

/// `(input file, options)` of every input in `dir`, sorted.
fn inputs(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            (n.ends_with(".json") || n.ends_with(".jsonl")) && !n.ends_with(".expected.json") && !n.ends_with(".options.json")
        })
        .map(|p| {
            let stem = p.file_name().unwrap().to_string_lossy().trim_end_matches(".jsonl").trim_end_matches(".json").to_string();
            let options = std::fs::read_to_string(dir.join(format!("{stem}.options.json"))).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(json!({}));
            (p, options)
        })
        .collect()
}

fn stem(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().trim_end_matches(".jsonl").trim_end_matches(".json").to_string()
}

#[test]
fn every_port_gives_the_same_bytes_as_its_reference_on_the_shared_samples() {
    let all = shipped();
    let mut groups: BTreeMap<PathBuf, Vec<Shipped>> = BTreeMap::new();
    for p in &all {
        groups.entry(p.samples.clone()).or_default().push(p.clone());
    }
    // The ports this repository ships, and what they port.
    let langs_of = |reference: &str| -> Vec<Lang> {
        let dir = plugins_dir().join(reference).join("samples").canonicalize().unwrap();
        let mut l: Vec<Lang> = groups.get(&dir).map(|g| g.iter().map(|p| p.lang).collect()).unwrap_or_default();
        l.sort();
        l
    };
    assert_eq!(langs_of("scorecard-support-policy"), vec![Lang::Rust, Lang::Python, Lang::Js], "{all:#?}");
    assert_eq!(langs_of("assertion-no-false-confirmation"), vec![Lang::Rust, Lang::Js], "{all:#?}");
    assert_eq!(langs_of("simulator-subscriptions"), vec![Lang::Rust, Lang::Python, Lang::Js], "{all:#?}");

    let (mut outputs, mut errors) = (0, 0);
    for (dir, members) in &groups {
        let plugins: Vec<(Shipped, Plugin)> = members.iter().map(|m| (m.clone(), load(&m.name, Limits::default()))).collect();
        let kinds: Vec<WorldKind> = plugins.iter().map(|(_, p)| p.world().kind).collect();
        assert!(kinds.windows(2).all(|w| w[0] == w[1]), "{}: plugins sharing samples implement different worlds: {kinds:?}", dir.display());

        for (input, options) in inputs(dir) {
            let file = input.file_name().unwrap().to_string_lossy().into_owned();
            let raw = std::fs::read(&input).unwrap();
            let expected: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{}.expected.json", stem(&input)))).unwrap()).unwrap();
            let expected = canonical_json(&expected);
            for (m, p) in &plugins {
                let actual = run(p, &raw, &options, &file).unwrap_or_else(|e| panic!("{} ({:?}) refused {file}: {e}", m.name, m.lang));
                assert!(actual == expected, "{} ({:?}) on {}/{file}:\n  expected {expected}\n  actual   {actual}", m.name, m.lang, dir.display());
                outputs += 1;
            }
        }
        let invalid = dir.join("invalid");
        if invalid.is_dir() {
            for (input, options) in inputs(&invalid) {
                let file = input.file_name().unwrap().to_string_lossy().into_owned();
                let raw = std::fs::read(&input).unwrap();
                let expected = std::fs::read_to_string(invalid.join(format!("{}.error.txt", stem(&input)))).unwrap();
                let expected = expected.strip_suffix('\n').unwrap_or(&expected);
                for (m, p) in &plugins {
                    match run(p, &raw, &options, &file) {
                        Err(msg) => assert_eq!(msg, expected, "{} ({:?}) on invalid/{file}", m.name, m.lang),
                        Ok(out) => panic!("{} ({:?}) accepted invalid/{file}: {out}", m.name, m.lang),
                    }
                    errors += 1;
                }
            }
        }
    }
    // 5 scorecard samples x 3 languages + 5 assertion samples x 2 + 10 simulator samples x 3 + the adapters' 7.
    assert!(outputs >= 5 * 3 + 5 * 2 + 10 * 3 + 7, "only {outputs} outputs compared");
    // 3 scorecard and 2 simulator error messages x 3 languages.
    assert!(errors >= 3 * 3 + 2 * 3, "only {errors} error messages compared");
}

/// The Python and JavaScript components this repository ships.
fn polyglot() -> Vec<Shipped> {
    let v: Vec<Shipped> = shipped().into_iter().filter(|p| p.lang != Lang::Rust).collect();
    assert!(v.len() >= 5, "{v:?}");
    v
}

/// A sample call for `p`'s world.
enum SampleCall {
    /// A scorecard's or an assertion's input, with its params.
    Conversation(Conversation, Value),
    /// A simulator's: one call in a world (canonical JSON text).
    Simulate(String, ratchet::plugin::ToolRequest),
}

fn sample_call(p: &Plugin) -> SampleCall {
    match p.world().kind {
        WorldKind::Scorecard => SampleCall::Conversation(conversation("tuesday-cancellation.json"), json!({})),
        WorldKind::Assertion => {
            let v: Value = serde_json::from_str(
                &std::fs::read_to_string(plugins_dir().join("assertion-no-false-confirmation/samples/tuesday-cancel-never-started.json")).unwrap(),
            )
            .unwrap();
            SampleCall::Conversation(serde_json::from_value(v["transcript"].clone()).unwrap(), v["params"].clone())
        }
        WorldKind::Simulator => {
            let v: Value = serde_json::from_str(&std::fs::read_to_string(plugins_dir().join("simulator-subscriptions/samples/refund.json")).unwrap()).unwrap();
            SampleCall::Simulate(canonical_json(&v["world"]), serde_json::from_value(v["request"].clone()).unwrap())
        }
        k => panic!("no sample call for {k:?}"),
    }
}

fn call(p: &Plugin, input: &SampleCall) -> (String, u64, u64) {
    let (out, stats) = match (p.world().kind, input) {
        (WorldKind::Scorecard, SampleCall::Conversation(c, params)) => p.score(c, params).map(|r| (serde_json::to_value(r.output).unwrap(), r.stats)),
        (WorldKind::Assertion, SampleCall::Conversation(c, params)) => p.check(c, params).map(|r| (serde_json::to_value(r.output).unwrap(), r.stats)),
        (WorldKind::Simulator, SampleCall::Simulate(world, request)) => {
            p.simulate(world, request, &json!({})).map(|r| (serde_json::to_value(r.output).unwrap(), r.stats))
        }
        (k, _) => panic!("{}: no sample call for {k:?}", p.id().name),
    }
    .unwrap_or_else(|e| panic!("{e}"));
    (canonical_json(&out), stats.fuel_consumed, stats.peak_memory_bytes)
}

#[test]
fn python_and_js_guests_import_wasi_clocks_and_random_yet_repeat_bit_for_bit() {
    for m in polyglot() {
        let p = load(&m.name, Limits::default());
        let imports = &p.inspection().imports;
        for want in ["wasi:clocks/wall-clock", "wasi:clocks/monotonic-clock", "wasi:random/random"] {
            assert!(imports.iter().any(|i| i.starts_with(want)), "{} does not import {want}: {imports:?}", m.name);
        }
        let input = sample_call(&p);
        let first = call(&p, &input);
        for _ in 0..4 {
            assert_eq!(call(&p, &input), first, "{}: a fresh instance gave different bytes or fuel", m.name);
        }
        // A different engine (as another process would have): same bytes, same fuel.
        let other = Runtime::new(&EngineSettings { cache_dir: Some(test_cache_dir()), ..EngineSettings::default() }, true).unwrap();
        let p2 = other.load_file(&m.name, &component(&m.name), Limits::default()).unwrap();
        assert_eq!(call(&p2, &input), first, "{}: another engine gave different bytes or fuel", m.name);
    }
}

#[test]
fn guests_that_read_the_clock_and_random_see_the_sandbox_values() {
    // What a Python guest sees through WASI must be the configured fixed values: a
    // plugin that put `time.time()` or `random.random()` in its output would still be
    // deterministic. (The shipped plugins do not; this proves the sandbox, not them.)
    let dir = tempfile::tempdir().unwrap();
    let app = r#"import random, time
from ratchet_sdk import CriterionResult, PluginInfo, ScorecardResult
from ratchet_sdk.component import scorecard

class Clock:
    def info(self):
        return PluginInfo("clock", "0.1.0", "reports what WASI says")
    def score(self, conversation, params):
        t0 = time.monotonic_ns()
        reason = f"time={time.time()} random={random.random()} bytes={random.randbytes(4).hex()} mono_step={time.monotonic_ns() - t0}"
        return ScorecardResult.from_criteria([CriterionResult.ok("clock", reason)])

Scorer = scorecard(Clock())
"#;
    let out = build_python(dir.path(), "clock", "scorecard", "", &[("app.py", app)])
        .unwrap_or_else(|e| panic!("building the clock guest failed (is componentize-py installed? scripts/setup): {e}"));
    // componentize-py builds are not byte-reproducible: no cache, or every run would add an artifact.
    let rt = Runtime::new(&EngineSettings::default(), false).unwrap();
    let reason = |limits: Limits| {
        let p = rt.load_file("clock", &out, limits).unwrap();
        let c = conversation("minimal-chat.json");
        let a = p.score(&c, &json!({})).unwrap().output.criteria[0].reason.clone();
        let b = p.score(&c, &json!({})).unwrap().output.criteria[0].reason.clone();
        assert_eq!(a, b, "two calls saw different clocks or random numbers");
        a
    };
    let default = reason(Limits::default());
    assert!(default.starts_with("time=1767225600.0 "), "the wall clock is not the fixed 2026-01-01: {default}");
    assert!(default.ends_with(" mono_step=1000"), "the monotonic clock does not step 1 µs per read: {default}");
    // The seed is a setting: another seed, other (but again fixed) random values.
    let seeded = reason(Limits { wasi_random_seed: 7, wasi_clock_unix: 1_800_000_000, ..Limits::default() });
    assert!(seeded.starts_with("time=1800000000.0 "), "{seeded}");
    assert_ne!(default.split(' ').nth(1), seeded.split(' ').nth(1), "the random seed made no difference");
}

/// Builds a Python plugin of `world` from `files` in `dir` (`extra` goes under
/// `[tool.ratchet]`) with `python3 -m ratchet_sdk.build`; the component, or the build's stderr.
fn build_python(dir: &Path, name: &str, world: &str, extra: &str, files: &[(&str, &str)]) -> Result<PathBuf, String> {
    let manifest = format!("[project]\nname = \"{name}\"\nversion = \"0.1.0\"\n[tool.ratchet]\nworld = \"{world}\"\n{extra}\n");
    std::fs::write(dir.join("pyproject.toml"), manifest).unwrap();
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let out = dir.join(format!("{name}.wasm"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let run = std::process::Command::new("python3")
        .args(["-m", "ratchet_sdk.build"])
        .arg(dir)
        .arg("-o")
        .arg(&out)
        .arg("-q")
        .env("PYTHONPATH", root.join("sdk/python"))
        .output()
        .unwrap();
    if run.status.success() {
        Ok(out)
    } else {
        Err(String::from_utf8_lossy(&run.stderr).into_owned())
    }
}

/// `[tool.ratchet] warm-up`: the plugin scores its samples at build time, inside the
/// snapshot every call starts from. A plugin that counts its calls sees exactly those
/// (each sample `ROUNDS` = 8 times, in name order) and nothing else: every
/// conversation, in any order, on restored or fresh instances, gets the same bytes.
/// A sample the plugin fails on fails the build, naming the sample; what it logs
/// during the warm-up is dropped (no host to take it at build time). (The same plugin
/// also checks that one failing every call goes back to fresh instances.)
#[test]
fn a_plugins_warm_up_is_part_of_its_build_and_the_same_for_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let app = r#"from ratchet_sdk import CriterionResult, PluginError, PluginInfo, ScorecardResult, log
from ratchet_sdk.component import scorecard

calls = []

class Counter:
    def info(self):
        return PluginInfo("counter", "0.1.0", "counts its calls")
    def score(self, conversation, params):
        if params.get("fail"):
            raise PluginError("asked to fail")
        if params.get("trap"):
            raise RuntimeError("boom")
        calls.append(conversation.id)
        log("info", f"call #{len(calls)}")
        previous = calls[-2] if len(calls) > 1 else "none"
        return ScorecardResult.from_criteria([CriterionResult.ok("calls", f"call #{len(calls)}; previous: {previous}")])

Scorer = scorecard(Counter())
"#;
    let conv = |id: &str| format!(r#"{{"schema_version": 1, "id": "{id}", "channel": "chat", "turns": [{{"role": "customer", "text": "hi"}}]}}"#);
    let (one, two) = (conv("warm-1"), conv("warm-2"));
    let files = [("app.py", app), ("samples/one.json", one.as_str()), ("samples/two.json", two.as_str()), ("samples/two.options.json", r#"{"k": 1}"#)];
    let out = build_python(dir.path(), "counter", "scorecard", "warm-up = true", &files).unwrap_or_else(|e| panic!("build failed: {e}"));

    let rt = runtime();
    let restored = rt.load_file("counter", &out, Limits::default()).unwrap();
    assert!(restored.reuses_instances(), "a Python scorecard runs on restored instances");
    let fresh = rt.load_file("counter", &out, Limits::default()).unwrap().without_reuse();
    let mut seen = Vec::new();
    for id in ["c", "a", "b", "a", "c"] {
        let mut c = conversation("minimal-chat.json");
        c.id = id.into();
        for p in [&restored, &fresh] {
            let r = p.score(&c, &json!({})).unwrap();
            // The warm-up's log lines went nowhere (no host at build time); the call's own did.
            let logs: Vec<&str> = r.logs.iter().map(|l| l.message.as_str()).collect();
            assert_eq!(logs, ["call #17"]);
            seen.push((r.output.criteria[0].reason.clone(), r.stats.fuel_consumed));
        }
    }
    assert_eq!(seen[0].0, "call #17; previous: warm-2", "two samples, 8 rounds each, then this call");
    assert!(seen.iter().all(|s| *s == seen[0]), "a call saw another conversation, or fresh and restored differ: {seen:?}");

    // A plugin failing call after call (each failure runs live, then again fresh)
    // goes back to fresh instances after 3 in a row, and fails the same way
    // throughout; one success in between resets the count.
    let c = conversation("minimal-chat.json");
    let trap = json!({"trap": true});
    let failing = rt.load_file("counter", &out, Limits::default()).unwrap();
    let mut errors = Vec::new();
    for _ in 0..3 {
        assert!(failing.reuses_instances());
        errors.push(failing.score(&c, &trap).unwrap_err().to_string());
    }
    assert!(!failing.reuses_instances(), "3 failures in a row, live and fresh: fresh instances from now on");
    errors.push(failing.score(&c, &trap).unwrap_err().to_string());
    assert!(errors[0].contains("RuntimeError: boom"), "{}", errors[0]);
    assert!(errors.iter().all(|e| *e == errors[0]), "{errors:?}");
    assert_eq!(failing.score(&c, &json!({})).unwrap().output.criteria[0].reason, "call #17; previous: warm-2");
    let sometimes = rt.load_file("counter", &out, Limits::default()).unwrap();
    for params in [&trap, &trap, &json!({}), &trap, &trap] {
        let _ = sometimes.score(&c, params);
    }
    assert!(sometimes.reuses_instances(), "a success resets the count");

    // A sample the plugin fails on: the build stops and says which.
    let bad = tempfile::tempdir().unwrap();
    let files = [("app.py", app), ("samples/bad.json", one.as_str()), ("samples/bad.options.json", r#"{"fail": true}"#)];
    let err = build_python(bad.path(), "counter", "scorecard", "warm-up = true", &files).unwrap_err();
    assert!(err.contains("warm-up sample bad.json: PluginError: asked to fail"), "{err}");
}

/// Tool simulators run on restored live instances too (a gate replay calls one per
/// tool call): a simulator that keeps module-level state sees none of the calls
/// before, restored or fresh, for `seed` and `call` alike.
#[test]
fn python_simulators_run_on_restored_instances_and_keep_nothing_between_calls() {
    let dir = tempfile::tempdir().unwrap();
    let app = r#"from ratchet_sdk import PluginInfo, Simulated
from ratchet_sdk.component import simulator

calls = []

class Counter:
    def info(self):
        return PluginInfo("counting-simulator", "0.1.0", "counts its calls")
    def seed(self, observed, params):
        calls.append("seed")
        return {"calls": len(calls), "seen": [o.request.tool for o in observed]}
    def call(self, world, request, params):
        calls.append(request.tool)
        return Simulated.ok({"call": len(calls), "tool": request.tool, "previous": calls[-2] if len(calls) > 1 else None}, world)

Simulation = simulator(Counter())
"#;
    let out = build_python(dir.path(), "counting-simulator", "simulator", "", &[("app.py", app)]).unwrap_or_else(|e| panic!("build failed: {e}"));
    let rt = runtime();
    let restored = rt.load_file("counting-simulator", &out, Limits::default()).unwrap();
    assert!(restored.reuses_instances(), "a Python simulator runs on restored instances");
    let fresh = rt.load_file("counting-simulator", &out, Limits::default()).unwrap().without_reuse();
    let request = |tool: &str| ratchet::plugin::ToolRequest { tool: tool.into(), version: String::new(), arguments: json!({"id": 1}) };
    let observed = [ratchet::plugin::Observed { request: request("lookup"), result: json!({"ok": true}), is_error: false }];
    for p in [&restored, &fresh, &restored] {
        for _ in 0..3 {
            let world = p.seed(&observed, &json!({})).unwrap().output;
            assert_eq!(world, json!({"calls": 1, "seen": ["lookup"]}));
            for tool in ["cancel", "lookup", "cancel"] {
                let r = p.simulate(&canonical_json(&world), &request(tool), &json!({})).unwrap();
                let answer = r.output.expect("modelled");
                assert_eq!(answer.result, json!({"call": 1, "tool": tool, "previous": null}), "a call saw an earlier one");
                assert_eq!(answer.world, world);
            }
        }
    }
    assert!(restored.reuses_instances(), "still restored: nothing fell back to fresh instances");
}

#[test]
fn the_cache_makes_the_second_load_a_deserialize_and_defaults_leave_headroom() {
    let limits = Limits::default();
    for m in polyglot() {
        let path = component(&m.name);
        // First use in this cache (compiles unless another test binary already did).
        let first = runtime().load_file(&m.name, &path, limits.clone()).unwrap();
        // Second use: a new engine, as the next `ratchet` process would have.
        let fresh = Runtime::new(&EngineSettings { cache_dir: Some(test_cache_dir()), ..EngineSettings::default() }, true).unwrap();
        let t = Instant::now();
        let second = fresh.load_file(&m.name, &path, limits.clone()).unwrap();
        let took = t.elapsed();
        let stats = second.load_stats();
        assert_eq!(stats.cache, CacheOutcome::Hit, "{}: second load was not a cache hit", m.name);
        eprintln!(
            "{:<40} {:>6.1} MiB  first load {:?} {:>8.1} ms, cached load {:>6.1} ms",
            m.name,
            stats.size as f64 / 1048576.0,
            first.load_stats().cache,
            first.load_stats().time.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e3
        );
        // A compile of these components takes 10-15 s; the deserialize well under one
        // (generous bound: CI machines are shared and the test binary is unoptimised).
        assert!(took < Duration::from_secs(3), "{}: cached load took {took:?}", m.name);

        // The default limits are enough, with room to spare, for the Python and JS runtimes.
        let (_, fuel, memory) = call(&second, &sample_call(&second));
        assert!(fuel < limits.fuel / 100, "{}: {fuel} fuel is over 1 % of the default {}", m.name, limits.fuel);
        assert!(memory < (u64::from(limits.memory_mib) << 20) / 4, "{}: peak memory {memory} is over a quarter of the default", m.name);
    }
}
