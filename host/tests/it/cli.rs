//! The `ratchet` binary end to end: output, exit codes, messages.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;

fn ratchet(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .args(args)
        .current_dir(cwd)
        .env("RATCHET_CACHE_DIR", test_cache_dir())
        .env_remove("RATCHET_CONFIG")
        .output()
        .expect("running ratchet")
}

fn golden(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name).display().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn schema_prints_json_schema_and_lists_names() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ratchet(&["schema", "conversation"], tmp.path());
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["title"], "Conversation");
    let o = ratchet(&["schema"], tmp.path());
    assert!(stdout(&o).contains("failure-event"));
    let o = ratchet(&["schema", "nope"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown schema `nope`"));
}

#[test]
fn a_closed_stdout_ends_quietly_with_the_sigpipe_status() {
    // `ratchet schema scenario | head -c0`: the reader is gone before the first write.
    use std::io::Read;
    use std::process::Stdio;
    let tmp = tempfile::tempdir().unwrap();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .args(["schema", "scenario"])
        .current_dir(tmp.path())
        .stdout(Stdio::from(writer))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(141), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.is_empty(), "nothing to say about a closed pipe: {err}");
}

#[test]
fn validate_reads_stdin_and_reports_json() {
    use std::io::Write;
    use std::process::Stdio;
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str], input: &[u8]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ratchet"))
            .args(args)
            .current_dir(tmp.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    // A conversation on stdin (pretty JSON spanning lines), a scenario (TOML), JSON Lines.
    let conversation = std::fs::read(golden("conversation/tuesday-cancellation.json")).unwrap();
    let o = run(&["validate", "-"], &conversation);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "ok  <stdin>\n");
    let scenario = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/escalate-when-asked-for-human.toml")).unwrap();
    let o = run(&["validate", "-"], &scenario);
    assert_eq!(o.status.code(), Some(0), "a scenario (TOML) on stdin: {}", stderr(&o));
    let o =
        run(&["validate", "-", "--format", "json"], b"{\"schema_version\": 1, \"id\": \"a\", \"channel\": \"chat\", \"turns\": []}\n{\"schema_version\": 9}\n");
    assert_eq!(o.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], 1);
    assert_eq!(v["invalid"], 1);
    assert_eq!(v["documents"][0]["document"], "<stdin>:1");
    assert_eq!(v["documents"][1]["document"], "<stdin>:2");
    assert!(v["documents"][1]["error"].as_str().unwrap().starts_with("<stdin>:2"), "{v}");
    assert!(stderr(&o).contains("1 invalid document(s)"));
}

#[test]
fn completions_and_man_pages_come_from_the_parser() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = ratchet(&["completions", shell], tmp.path());
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        assert!(stdout(&o).contains("on-missing-fixture"), "{shell}: the gate's flags are completed");
    }
    assert_eq!(ratchet(&["completions", "tcsh"], tmp.path()).status.code(), Some(2));
    let o = ratchet(&["man"], tmp.path());
    assert!(stdout(&o).starts_with(".ie") && stdout(&o).contains(".TH ratchet 1"), "{}", stdout(&o));
    let o = ratchet(&["man", "--out-dir", "man1"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let gate = std::fs::read_to_string(tmp.path().join("man1/ratchet-gate.1")).unwrap();
    assert!(gate.contains("ratchet\\-gate") && gate.contains("\\-\\-agent"), "{gate}");
    assert!(tmp.path().join("man1/ratchet-plugin-run.1").is_file());
}

#[test]
fn validate_exits_2_naming_file_line_and_field() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ratchet(&["validate", &golden("conversation/tuesday-cancellation.json"), &golden("scenario/cancel-never-started.toml")], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = ratchet(&["validate", &golden("errors/bad-role.conversation.json")], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bad-role.conversation.json:4:18: field `turns[1].role`"), "{}", stderr(&o));
}

#[test]
fn plugin_run_prints_output_and_costs() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = component("scorecard-support-policy").display().to_string();
    let o = ratchet(&["plugin", "run", &plugin, "--input", &golden("conversation/tuesday-cancellation.json"), "--repeat", "5"], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(out["score"].as_f64().unwrap() < 1.0);
    let err = stderr(&o);
    for want in ["fuel ", "memory ", "time ", "all outputs identical", "sha256:"] {
        assert!(err.contains(want), "missing `{want}` in:\n{err}");
    }
    // JSON format: output plus stats in one document.
    let o = ratchet(&["plugin", "run", &plugin, "--input", &golden("conversation/tuesday-cancellation.json"), "--format", "json"], tmp.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["stats"]["fuel_consumed"].as_u64().unwrap() > 0);
    assert!(v["stats"]["peak_memory_bytes"].as_u64().unwrap() > 0);
    assert_eq!(v["plugin"]["world"]["kind"], "scorecard");
}

#[test]
fn plugin_run_is_byte_identical_across_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = component("scorecard-support-policy").display().to_string();
    let input = golden("conversation/tuesday-cancellation.json");
    let first = ratchet(&["plugin", "run", &plugin, "--input", &input], tmp.path());
    for _ in 0..3 {
        let again = ratchet(&["plugin", "run", &plugin, "--input", &input], tmp.path());
        assert_eq!(first.stdout, again.stdout);
    }
}

#[test]
fn plugin_failures_exit_3_and_bad_input_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let input = golden("conversation/minimal-chat.json");
    let o = ratchet(&["plugin", "run", &component("guest-trap").display().to_string(), "--input", &input], tmp.path());
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("deliberate panic from guest-trap"), "{}", stderr(&o));
    let o = ratchet(&["plugin", "run", &component("guest-infinite-loop").display().to_string(), "--input", &input, "--fuel", "1000000"], tmp.path());
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("ran out of fuel after 1000000"), "{}", stderr(&o));
    // Input that is not a conversation: exit 2 with the position.
    let o = ratchet(
        &["plugin", "run", &component("scorecard-support-policy").display().to_string(), "--input", &golden("errors/bad-role.conversation.json")],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("turns[1].role"));
    // A file that is not a component.
    let o = ratchet(&["plugin", "inspect", &input], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a valid WebAssembly component"), "{}", stderr(&o));
}

#[test]
fn plugin_inspect_shows_world_imports_and_exports() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ratchet(&["plugin", "inspect", &component("scorecard-support-policy").display().to_string()], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    // Built with the SDK against WIT 0.1.3; it does not judge, so it does not import `model`;
    // a scorecard reads its conversation's labels, so it imports `labels`.
    assert!(out.contains("world     ratchet:plugin/scorecard@0.1.3"), "{out}");
    assert!(out.contains("import    ratchet:plugin/host@0.1.3"), "{out}");
    assert!(out.contains("import    ratchet:plugin/labels@0.1.3"), "{out}");
    assert!(out.contains("labels    yes (reads its conversation's labels)"), "{out}");
    assert!(out.contains("export    ratchet:plugin/scorer@0.1.3 { info, score }"), "{out}");
    assert!(out.contains("wasi      no"), "{out}");
    assert!(out.contains("model     no"), "{out}");
    assert!(!out.contains("ratchet:plugin/model"), "{out}");
    // A component built against the released 0.1.0 WIT still loads and runs (semver-compatible linking).
    let o = ratchet(&["plugin", "inspect", &component("guest-wasi-clock-random").display().to_string(), "--format", "json"], tmp.path());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["wasi"], true);
    assert_eq!(v["world"]["version"], "0.1.0", "{v}");
    assert!(v["imports"].as_array().unwrap().iter().any(|i| i == "ratchet:plugin/host@0.1.0"), "{v}");
    assert_eq!(v["labels"], false, "a 0.1.0 component has no labels import: {v}");
    let o = ratchet(&["plugin", "inspect", &component("adapter-openai-chat").display().to_string()], tmp.path());
    assert!(stdout(&o).contains("labels    yes (attaches labels to the conversations it returns)"), "{}", stdout(&o));
}

#[test]
fn plugin_run_on_a_simulator_answers_a_call_and_seeds_a_world() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = component("simulator-subscriptions").display().to_string();
    let o = ratchet(&["plugin", "inspect", &sim], tmp.path());
    assert!(stdout(&o).contains("world     ratchet:plugin/simulator@0.1.3"), "{}", stdout(&o));
    assert!(stdout(&o).contains("export    ratchet:plugin/simulation@0.1.3 { info, seed, call }"), "{}", stdout(&o));
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/simulator-subscriptions/samples");
    let o = ratchet(&["plugin", "run", &sim, "--input", &samples.join("cancel-active.json").display().to_string()], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["world"]["accounts"]["A-55812"]["record"]["subscription_status"], "cancelled", "{out}");
    // A document that is neither shape names both.
    std::fs::write(tmp.path().join("bad.json"), r#"{"world": {}}"#).unwrap();
    let o = ratchet(&["plugin", "run", &sim, "--input", "bad.json"], tmp.path());
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("\"observed\""), "{}", stderr(&o));
}

#[test]
fn configured_plugins_resolve_inside_the_root_and_escapes_are_refused() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("plugins")).unwrap();
    std::fs::copy(component("scorecard-support-policy"), root.path().join("plugins/policy.wasm")).unwrap();
    std::fs::write(
        root.path().join("ratchet.toml"),
        "[plugins.policy]\npath = \"plugins/policy.wasm\"\nfuel = 123456789\n\n[plugins.sneaky]\npath = \"../../etc/passwd\"\n",
    )
    .unwrap();
    let o = ratchet(&["plugin", "run", "policy", "--input", &golden("conversation/tuesday-cancellation.json"), "--format", "json"], root.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["stats"]["fuel_limit"], 123456789);
    let o = ratchet(&["plugin", "inspect", "sneaky"], root.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("leaves the project root"), "{}", stderr(&o));
}

#[test]
fn plugin_run_on_an_agent_prints_its_next_action() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = component("support-agent").display().to_string();
    let o = ratchet(&["plugin", "inspect", &agent], tmp.path());
    assert!(stdout(&o).contains("world     ratchet:plugin/agent@0.1.3"), "{}", stdout(&o));
    // After the customer's first line, the agent looks the account up.
    let conv = tmp.path().join("c.json");
    std::fs::write(
        &conv,
        r#"{"id": "c", "channel": "voice", "turns": [{"role": "customer", "text": "I want to cancel my subscription"}],
            "state": {"memory_snapshot": [{"key": "customer.email", "value": "dana@example.com"}], "tool_registry": [{"id": "lookup_account", "version": "1.4.0"}]}}"#,
    )
    .unwrap();
    let o = ratchet(&["plugin", "run", &agent, "--input", conv.to_str().unwrap(), "--params", r#"{"prompt_version": "support-v2"}"#], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["call_tool"]["name"], "lookup_account", "{v}");
}
