//! Shared test helpers: where the built components are, one shared runtime with a
//! persistent precompile cache (so tests do not recompile components every run).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ratchet::config::{EngineSettings, Limits};
use ratchet::plugin::{Plugin, Runtime};
use ratchet::schema::{self, Conversation};

/// Directory holding the built components: `RATCHET_PLUGIN_DIR` when set (used as
/// is), else `target/plugins`, which the first call brings up to date.
pub fn plugin_dir() -> PathBuf {
    match std::env::var_os("RATCHET_PLUGIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            build_plugins_once();
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins")
        }
    }
}

/// The repository root, whose `ratchet.toml` loads the components in
/// `target/plugins`: brought up to date first, as for [`plugin_dir`].
pub fn repo() -> PathBuf {
    if std::env::var_os("RATCHET_PLUGIN_DIR").is_none() {
        build_plugins_once();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

/// Runs `scripts/build-plugins` once per test process, so `cargo test` works on a
/// fresh clone by itself and never tests a component older than its source (the
/// script is incremental: about 20 s when everything is up to date). Skipped when
/// `RATCHET_PLUGINS_BUILT=1` says the caller (scripts/test) has just run it.
fn build_plugins_once() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        if std::env::var_os("RATCHET_PLUGINS_BUILT").is_some_and(|v| v == "1") {
            return;
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/build-plugins");
        let out = std::process::Command::new("bash").arg(&script).output().unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            panic!(
                "building the Wasm components with {} failed ({}); .ci/run installs the toolchains it needs:\n{}",
                script.display(),
                out.status,
                tail.join("\n")
            );
        }
    });
}

/// Path of a built component; fails the test naming it when the build did not make it.
pub fn component(name: &str) -> PathBuf {
    let p = plugin_dir().join(format!("{name}.wasm"));
    assert!(p.is_file(), "{} is missing: scripts/build-plugins did not make it (is it a plugin in the workspace?)", p.display());
    p
}

/// Precompile cache shared by all test runs.
pub fn test_cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("ratchet-cache")
}

/// One pooling runtime for the whole test binary.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let settings = EngineSettings { cache_dir: Some(test_cache_dir()), ..EngineSettings::default() };
        Runtime::new(&settings, true).expect("runtime")
    })
}

/// Load a built component with `limits`.
pub fn load(name: &str, limits: Limits) -> Plugin {
    runtime().load_file(name, &component(name), limits).unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// A golden conversation by file name.
pub fn conversation(name: &str) -> Conversation {
    schema::load_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/conversation").join(name)).unwrap()
}

/// Limits tight enough to make hostile tests fast.
pub fn tight() -> Limits {
    Limits { fuel: 200_000_000, memory_mib: 32, timeout_ms: 5_000, ..Limits::default() }
}

/// Make `dir` a project whose only detect scorecard is the built component
/// `component_name`, copied in as `<name>.wasm`; `settings` (TOML lines, e.g.
/// `fuel = 1000\n`) go into its `[plugins.<name>]` entry.
pub fn scorecard_project(dir: &Path, component_name: &str, name: &str, settings: &str) {
    std::fs::copy(component(component_name), dir.join(format!("{name}.wasm"))).unwrap();
    let toml =
        format!("[plugins.{name}]\npath = \"{name}.wasm\"\n{settings}\n[[detect.scorecards]]\nname = \"{name}\"\nplugin = \"{name}\"\nthreshold = 0.7\n");
    std::fs::write(dir.join("ratchet.toml"), toml).unwrap();
}

/// A support-policy sample conversation (plugins/scorecard-support-policy/samples) by file name.
pub fn sample(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/scorecard-support-policy/samples").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The first lines of the detect tests' JSONL streams: a failing cancellation, an
/// unparseable line, a good cancellation, a failing refund.
pub fn sample_stream_head() -> Vec<String> {
    vec![
        sample("tuesday-cancel-never-started.json").to_string(),
        "{\"id\": \"broken\", \"channel\": ".to_string(),
        sample("good-cancellation.json").to_string(),
        sample("refund-without-supervisor.json").to_string(),
    ]
}

/// Extra conversation `i` of a detect test stream: failing and good ones in turn, with
/// the id `extra-NNNN`.
pub fn sample_extra(i: usize) -> serde_json::Value {
    let mut c = sample(if i % 2 == 0 { "tuesday-cancel-never-started.json" } else { "good-cancellation.json" });
    c["id"] = serde_json::Value::from(format!("extra-{i:04}"));
    c
}

/// The scripted OpenAI-compatible server (openai driver and model import tests).
pub mod chat_server;

/// `ratchet gate --agent AGENT --no-ledger -q` from the repo root with `args`:
/// (exit code, the JSON report or null, stderr).
pub fn gate_report(agent: &Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("report.json");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .args(["gate", "--agent", agent.to_str().unwrap(), "--json", json.to_str().unwrap(), "--no-ledger", "-q"])
        .args(args)
        .current_dir(repo())
        .env("RATCHET_CACHE_DIR", test_cache_dir())
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let report = std::fs::read_to_string(&json).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(serde_json::Value::Null);
    (o.status.code().unwrap_or(-1), report, stderr)
}

/// Per scenario of a gate report, sorted by id: (id, verdict, criteria, transcript,
/// error) of its first attempt — what two drivers of one agent must agree on.
pub fn scenario_results(report: &serde_json::Value) -> Vec<(String, serde_json::Value, serde_json::Value, serde_json::Value, serde_json::Value)> {
    let mut v: Vec<_> = report["scenarios"]
        .as_array()
        .unwrap_or_else(|| panic!("no scenarios in {report}"))
        .iter()
        .map(|s| {
            let a = &s["attempts"][0];
            (s["id"].as_str().unwrap().to_string(), s["verdict"].clone(), a["criteria"].clone(), a["transcript"].clone(), a["error"].clone())
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}
