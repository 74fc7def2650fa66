//! `ratchet gate` end to end, against the example support agent (exec and wasm) and
//! the example suite in `scenarios/`: the buggy version is blocked naming the scenario
//! and criterion, the fix passes, the regression is caught; reports parse; bad agents
//! and bad files are errors, never hangs.

use crate::common::{self, repo};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

fn ratchet_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .args(args)
        .current_dir(cwd)
        .env("RATCHET_CACHE_DIR", test_cache_dir())
        .env_remove("GITHUB_STEP_SUMMARY")
        // LLM-judged criteria replay recordings/model/: any network use would fail.
        .env("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap()
}

/// Run the gate from the repo root with a throwaway ledger; returns (exit code, JSON report, stderr).
fn gate(args: &[&str]) -> (i32, Value, String) {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("report.json");
    let ledger = tmp.path().join("ledger.jsonl");
    let mut all = vec!["gate", "--json", json.to_str().unwrap(), "--ledger", ledger.to_str().unwrap(), "-q"];
    all.extend_from_slice(args);
    let o = ratchet_in(&repo(), &all);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let report = std::fs::read_to_string(&json).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), report, stderr)
}

fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["scenarios"].as_array().unwrap().iter().map(|s| (s["id"].as_str().unwrap().to_string(), s["verdict"].as_str().unwrap().to_string())).collect()
}

fn verdict_of(report: &Value, id: &str) -> String {
    verdicts(report).into_iter().find(|(i, _)| i == id).unwrap_or_else(|| panic!("{id} not in report")).1
}

/// Remove the only non-deterministic field.
fn strip_timings(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.remove("duration_ms");
            o.values_mut().for_each(strip_timings);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_timings),
        _ => {}
    }
}

#[test]
fn buggy_agent_is_blocked_naming_scenario_and_criterion() {
    let (code, report, stderr) = gate(&["--agent", "examples/agents/support-v1.toml"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(verdict_of(&report, "cancel-never-started-subscription"), "fail");
    assert_eq!(verdict_of(&report, "happy-path-cancel-active"), "pass");
    let s = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == "cancel-never-started-subscription").unwrap();
    let failing: Vec<&Value> = s["attempts"][0]["criteria"].as_array().unwrap().iter().filter(|c| c["passed"] == false).collect();
    let crit = failing.iter().find(|c| c["id"] == "no-cancel-without-active-subscription").expect("the must-not-call-tool criterion fails");
    assert_eq!(crit["turn"], 3);
    assert!(s["attempts"][0]["transcript"]["turns"].as_array().unwrap().len() > 3, "failing attempts keep their transcript");
    // The terminal output names scenario, criterion and turn, with the transcript excerpt.
    assert!(stderr.contains("FAIL    cancel-never-started-subscription"), "{stderr}");
    assert!(stderr.contains("no-cancel-without-active-subscription [must-not-call-tool] turn 3"), "{stderr}");
    assert!(stderr.contains(">>   3 agent    → cancel_subscription"), "{stderr}");
    assert!(stderr.contains("gate FAILED: deploy blocked"));
    // The LLM-judged criterion is answered from its committed recording.
    let s = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == "cancellation-policy-confirmed").unwrap();
    let judged = s["attempts"][0]["criteria"].as_array().unwrap().iter().find(|c| c["id"] == "judge-states-cancellation-policy").unwrap();
    assert_eq!(judged["passed"], false, "{judged}");
    assert!(judged["reason"].as_str().unwrap().starts_with("llm-rubric: judge: "), "{judged}");
    assert_eq!(report["judge"]["replayed"], 1, "{}", report["judge"]);
    assert!(stderr.contains("judge model calls: 1 replayed, 0 recorded, 0 failed"), "{stderr}");
}

#[test]
fn fixed_agent_passes_and_regression_is_caught() {
    let (code, report, stderr) = gate(&["--agent", "examples/agents/support-v2.toml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(verdicts(&report).iter().all(|(_, v)| v == "pass"));
    let (code, report, _) = gate(&["--agent", "examples/agents/support-v3.toml", "--jobs", "3"]);
    assert_eq!(code, 1);
    let failed: Vec<String> = verdicts(&report).into_iter().filter(|(_, v)| v != "pass").map(|(i, _)| i).collect();
    assert_eq!(failed, vec!["cancel-never-started-subscription".to_string()]);
}

#[test]
fn wasm_agent_gives_the_same_verdicts_as_the_exec_agent() {
    component("support-agent");
    for v in ["v1", "v2"] {
        let (c1, mut exec, _) = gate(&["--agent", &format!("examples/agents/support-{v}.toml")]);
        let (c2, mut wasm, e2) = gate(&["--agent", &format!("examples/agents/support-{v}-wasm.toml")]);
        assert_eq!(c1, c2, "{e2}");
        assert_eq!(verdicts(&exec), verdicts(&wasm));
        // Same criteria outcomes, same transcripts: the two forms of the agent agree.
        strip_timings(&mut exec);
        strip_timings(&mut wasm);
        assert_eq!(exec["scenarios"], wasm["scenarios"], "exec and wasm drivers disagree for {v}");
    }
}

#[test]
fn the_same_run_gives_identical_results() {
    let (_, mut first, _) = gate(&["--agent", "examples/agents/support-v1.toml", "--jobs", "2"]);
    strip_timings(&mut first);
    for _ in 0..3 {
        let (_, mut again, _) = gate(&["--agent", "examples/agents/support-v1.toml", "--jobs", "2"]);
        strip_timings(&mut again);
        assert_eq!(first, again);
    }
    let (_, mut wasm1, _) = gate(&["--agent", "examples/agents/support-v1-wasm.toml", "--repeat", "3"]);
    assert!(verdicts(&wasm1).iter().all(|(_, v)| v != "flaky"));
    strip_timings(&mut wasm1);
    let (_, mut wasm2, _) = gate(&["--agent", "examples/agents/support-v1-wasm.toml", "--repeat", "3"]);
    strip_timings(&mut wasm2);
    assert_eq!(wasm1, wasm2);
}

#[test]
fn junit_xml_parses_with_a_real_consumer() {
    let tmp = tempfile::tempdir().unwrap();
    let junit = tmp.path().join("junit.xml");
    let md = tmp.path().join("summary.md");
    let (code, _, _) = gate(&["--agent", "examples/agents/support-v1.toml", "--junit", junit.to_str().unwrap(), "--markdown", md.to_str().unwrap()]);
    assert_eq!(code, 1);
    let script = r#"
import sys
from junitparser import JUnitXml, Failure, Error
xml = JUnitXml.fromfile(sys.argv[1])
cases = [(s.name, c.name, c.classname, [type(r).__name__ for r in c.result], [r.message for r in c.result]) for s in xml for c in s]
for c in cases: print(c)
print("TOTAL", len(cases), "FAILED", sum(1 for c in cases if "Failure" in c[3]))
"#;
    let o = Command::new("python3").arg("-c").arg(script).arg(&junit).output().expect("python3");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "junitparser failed (scripts/setup installs it): {}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("TOTAL 5 FAILED 4"), "{out}");
    assert!(out.contains("'ratchet.fast', 'cancel-never-started-subscription', 'cancellation-without-active-subscription', ['Failure']"), "{out}");
    assert!(out.contains("criterion `no-cancel-without-active-subscription` failed at turn 3"), "{out}");
    let md = std::fs::read_to_string(md).unwrap();
    assert!(md.contains("❌ ratchet gate failed") && md.contains("| fail | `cancel-never-started-subscription` |"), "{md}");
}

#[test]
fn shards_merge_into_the_full_report() {
    let tmp = tempfile::tempdir().unwrap();
    let mut parts = Vec::new();
    for i in 1..=2 {
        let p = tmp.path().join(format!("shard{i}.json"));
        let o = ratchet_in(
            &repo(),
            &["gate", "--agent", "examples/agents/support-v1.toml", "--shard", &format!("{i}/2"), "--json", p.to_str().unwrap(), "--no-ledger", "-q"],
        );
        assert!(matches!(o.status.code(), Some(0 | 1)));
        parts.push(p);
    }
    let merged = tmp.path().join("merged.json");
    let o = ratchet_in(&repo(), &["report", "merge", parts[0].to_str().unwrap(), parts[1].to_str().unwrap(), "--json", merged.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let mut merged: Value = serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
    let (_, mut full, _) = gate(&["--agent", "examples/agents/support-v1.toml"]);
    strip_timings(&mut merged);
    strip_timings(&mut full);
    assert_eq!(merged["scenarios"], full["scenarios"]);
    assert_eq!(merged["summary"], full["summary"]);
    // `--format json` prints the merged report for tools, the same one `--json` wrote.
    let o = ratchet_in(&repo(), &["report", "merge", parts[0].to_str().unwrap(), parts[1].to_str().unwrap(), "--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let mut printed: Value = serde_json::from_slice(&o.stdout).unwrap();
    strip_timings(&mut printed);
    assert_eq!(printed["scenarios"], merged["scenarios"]);
    // Merging a shard with itself is refused (overlap).
    let o = ratchet_in(&repo(), &["report", "merge", parts[0].to_str().unwrap(), parts[0].to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn more_shards_than_scenarios_leaves_empty_shards_that_merge() {
    // 2 selected scenarios over 3 shards (a CI matrix sized for a bigger suite): the
    // empty shard exits 0 with an empty report, and the merge of all three is the run.
    let tmp = tempfile::tempdir().unwrap();
    let mut parts = Vec::new();
    let mut empty = 0;
    for i in 1..=3 {
        let p = tmp.path().join(format!("shard{i}.json"));
        let o = ratchet_in(
            &repo(),
            &[
                "gate",
                "--agent",
                "examples/agents/support-v2.toml",
                "--id",
                "happy-path-cancel-active",
                "--id",
                "escalate-when-asked-for-human",
                "--shard",
                &format!("{i}/3"),
                "--json",
                p.to_str().unwrap(),
                "--no-ledger",
                "-q",
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        if String::from_utf8_lossy(&o.stderr).contains("has none of the 2 selected scenario(s)") {
            empty += 1;
        }
        parts.push(p.to_str().unwrap().to_string());
    }
    assert_eq!(empty, 1);
    let merged = tmp.path().join("merged.json");
    let mut args = vec!["report", "merge"];
    args.extend(parts.iter().map(|s| s.as_str()));
    args.extend(["--json", merged.to_str().unwrap()]);
    let o = ratchet_in(&repo(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
    assert_eq!(merged["summary"]["passed"], 2);
    // A selection that matches nothing is still an error, sharded or not.
    let o = ratchet_in(&repo(), &["gate", "--agent", "examples/agents/support-v2.toml", "--id", "no-such-scenario", "--shard", "1/3", "--no-ledger", "-q"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn selection_budget_and_ledger() {
    let (code, report, _) = gate(&["--agent", "examples/agents/support-v1.toml", "--id", "happy-path-cancel-active"]);
    assert_eq!(code, 0);
    assert_eq!(verdicts(&report).len(), 1);
    let (_, report, _) = gate(&["--agent", "examples/agents/support-v1.toml", "--failure-mode", "missed-escalation"]);
    assert_eq!(verdicts(&report), vec![("escalate-when-asked-for-human".to_string(), "fail".to_string())]);
    // A zero budget runs nothing and says so: not a silent skip, not a pass.
    let (code, report, stderr) = gate(&["--agent", "examples/agents/support-v2.toml", "--budget-secs", "0"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(verdicts(&report).iter().all(|(_, v)| v == "not-run"));
    assert_eq!(report["summary"]["not_run"], 5);
    // The ledger gets one line per scenario per run.
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("l.jsonl");
    for _ in 0..2 {
        ratchet_in(
            &repo(),
            &["gate", "--agent", "examples/agents/support-v3.toml", "--ledger", ledger.to_str().unwrap(), "--now", "2026-11-29T10:00:00Z", "-q"],
        );
    }
    let lines: Vec<Value> = std::fs::read_to_string(&ledger).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0]["at"], "2026-11-29T10:00:00Z");
    assert!(lines.iter().any(|l| l["verdict"] == "fail" && l["failing"][0] == "no-cancel-without-active-subscription"));
}

fn odd_agent_config(dir: &Path, args: &str, turn_timeout_ms: u64) -> PathBuf {
    let p = dir.join("agent.toml");
    std::fs::write(
        &p,
        format!(
            "[agent]\nname = \"odd\"\ndriver = \"exec\"\ncommand = [\"python3\", {args}]\nturn_timeout_ms = {turn_timeout_ms}\nscenario_timeout_ms = 5000\n"
        ),
    )
    .unwrap();
    p
}

#[test]
fn crashing_hanging_and_garbage_agents_are_errors_not_hangs() {
    let tmp = tempfile::tempdir().unwrap();
    for (flag, expect) in [("--crash-after\", \"1", "exited unexpectedly"), ("--hang", "did not answer within 400 ms"), ("--garbage", "not a protocol message")]
    {
        let cfg = odd_agent_config(tmp.path(), &format!("\"examples/agents/support_agent.py\", \"{flag}\""), 400);
        let started = std::time::Instant::now();
        let (code, report, stderr) =
            gate(&["--agent", cfg.to_str().unwrap(), "--id", "cancel-never-started-subscription", "--id", "escalate-when-asked-for-human"]);
        assert_eq!(code, 1, "{flag}: {stderr}");
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{flag} took too long");
        for s in report["scenarios"].as_array().unwrap() {
            assert_eq!(s["verdict"], "error", "{flag}: {s}");
            let err = s["attempts"][0]["error"].as_str().unwrap();
            assert!(err.contains(expect), "{flag}: {err}");
        }
    }
}

#[test]
fn flaky_agents_are_reported_as_flaky() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = repo().join("host/tests/agents/odd_agent.py");
    let cfg = odd_agent_config(tmp.path(), &format!("\"{}\", \"--mode\", \"flaky\"", agent.display()), 2000);
    let (code, report, _) = gate(&["--agent", cfg.to_str().unwrap(), "--id", "cancel-never-started-subscription", "--repeat", "2"]);
    assert_eq!(code, 1);
    assert_eq!(verdict_of(&report, "cancel-never-started-subscription"), "flaky");
    assert_eq!(report["summary"]["flaky"], 1);
}

#[test]
fn missing_fixtures_and_unknown_tools_are_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let agent = repo().join("host/tests/agents/odd_agent.py");
    let cfg = odd_agent_config(tmp.path(), &format!("\"{}\", \"--mode\", \"missing-fixture\"", agent.display()), 2000);
    let (_, report, _) = gate(&["--agent", cfg.to_str().unwrap(), "--id", "cancel-never-started-subscription"]);
    let a = &report["scenarios"][0]["attempts"][0];
    assert_eq!(a["notes"][0]["kind"], "missing-fixture", "{a}");
    assert_eq!(a["notes"][0]["tool"], "lookup_account");
    // The agent saw the error result.
    assert!(a["transcript"]["turns"].to_string().contains("no recorded fixture"), "{a}");
    // --on-missing-fixture end stops the scenario at the call.
    let (_, report, _) = gate(&["--agent", cfg.to_str().unwrap(), "--id", "cancel-never-started-subscription", "--on-missing-fixture", "end"]);
    assert_eq!(report["scenarios"][0]["attempts"][0]["transcript"]["outcome"]["ended_reason"], "missing-fixture");

    let cfg = odd_agent_config(tmp.path(), &format!("\"{}\", \"--mode\", \"unknown-tool\"", agent.display()), 2000);
    let (_, report, _) = gate(&["--agent", cfg.to_str().unwrap(), "--id", "cancel-never-started-subscription"]);
    let kinds: Vec<&str> = report["scenarios"][0]["attempts"][0]["notes"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"unknown-tool") && kinds.contains(&"missing-fixture"), "{kinds:?}");

    let cfg = odd_agent_config(tmp.path(), &format!("\"{}\", \"--mode\", \"tool-loop\"", agent.display()), 2000);
    let (_, report, _) = gate(&["--agent", cfg.to_str().unwrap(), "--id", "cancel-never-started-subscription"]);
    assert!(report["scenarios"][0]["attempts"][0]["error"].as_str().unwrap().contains("loop guard"));
}

#[test]
fn bad_scenario_files_stop_the_run_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("suite");
    std::fs::create_dir(&suite).unwrap();
    std::fs::copy(repo().join("scenarios/happy-path-cancel-active.toml"), suite.join("ok.toml")).unwrap();
    std::fs::write(
        suite.join("bad.toml"),
        "id = \"x\"\ntitle = \"t\"\nfailure_mode = \"f\"\n[[turns]]\ntext = \"hi\"\n[[criteria]]\nid = \"c\"\nkind = \"must-say\"\npattern = \"(unclosed\"\n",
    )
    .unwrap();
    std::fs::write(suite.join("worse.toml"), "schema_version = 9\n").unwrap();
    let ledger = tmp.path().join("ledger.jsonl");
    let json = tmp.path().join("r.json");
    let o = ratchet_in(
        &repo(),
        &[
            "gate",
            "--agent",
            "examples/agents/support-v2.toml",
            "--suite",
            suite.to_str().unwrap(),
            "--ledger",
            ledger.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("2 invalid scenario file(s), nothing was run"), "{err}");
    assert!(err.contains("bad.toml") && err.contains("criteria[0].pattern") && err.contains("invalid regular expression"), "{err}");
    assert!(err.contains("worse.toml:1:18: field `schema_version`: unknown schema_version 9"), "{err}");
    assert!(!ledger.exists() && !json.exists(), "no partial run");
    // A bad agent file is a usage error too.
    let o = ratchet_in(&repo(), &["gate", "--agent", "Cargo.toml"]);
    assert_eq!(o.status.code(), Some(2));
}

/// A project in `dir` whose ratchet.toml names the subscription simulator and the
/// hostile one (copied in: plugin paths stay inside the project), with tight limits
/// for the hostile one, and an agent config for the example agent at `version`.
fn simulator_project(dir: &Path, version: &str) -> PathBuf {
    std::fs::copy(component("simulator-subscriptions"), dir.join("subscriptions.wasm")).unwrap();
    std::fs::copy(component("guest-hostile-simulator"), dir.join("hostile.wasm")).unwrap();
    std::fs::write(
        dir.join("ratchet.toml"),
        "[plugins.subscriptions]\npath = \"subscriptions.wasm\"\n\n[plugins.hostile]\npath = \"hostile.wasm\"\nfuel = 50000000\nmemory_mib = 16\ntimeout_ms = 2000\nmax_output_bytes = 65536\n",
    )
    .unwrap();
    let agent = dir.join(format!("{version}.toml"));
    let script = repo().join("examples/agents/support_agent.py");
    std::fs::write(
        &agent,
        format!(
            "[agent]\nname = \"support-agent\"\ndriver = \"exec\"\ncommand = [\"python3\", {:?}, \"--prompt-version\", \"{version}\"]\n",
            script.display().to_string()
        ),
    )
    .unwrap();
    agent
}

/// A cancellation whose failing run looked the account up by id, cancelled without
/// stating the policy — while the agent under test looks it up by e-mail: a path
/// no recorded fixture covers.
const ANOTHER_PATH: &str = r#"
id = "another-path"
title = "the fix looks the account up another way"
failure_mode = "cancellation-policy-not-stated"

[world]
simulator = "SIMULATOR"
params = PARAMS
state_json = '''
{"accounts": {"A-1": {"record": {"account_id": "A-1", "subscription_status": "active", "plan": "basic",
                                  "supervisor_flag": false, "last_charge_amount": 9.99},
                       "emails": ["[EMAIL_1]"]}},
 "refunds": []}
'''

[state]
memory_snapshot = [{ key = "customer.email", value = "[EMAIL_1]" }]
tool_registry = [
  { id = "lookup_account", version = "1.4.0" },
  { id = "cancel_subscription", version = "2.1.0" },
]

[[turns]]
text = "Please cancel my subscription."

[[fixtures]]
tool = "lookup_account"
version = "1.4.0"
arguments = { account_id = "A-1" }
result = { account_id = "A-1", subscription_status = "active", plan = "basic", supervisor_flag = false, last_charge_amount = 9.99 }

[[criteria]]
id = "policy-stated"
kind = "must-say"
pattern = "(?i)cancellation policy"

[[criteria]]
id = "cancelled"
kind = "world-state"
path = "/accounts/A-1/record/subscription_status"
equals = "cancelled"
"#;

fn another_path(dir: &Path, simulator: &str, params: &str, with_world: bool) -> PathBuf {
    let suite = dir.join("suite");
    std::fs::create_dir_all(&suite).unwrap();
    let mut text = ANOTHER_PATH.replace("SIMULATOR", simulator).replace("PARAMS", params);
    if !with_world {
        // The same scenario as it would be without a simulator: fixtures only.
        let start = text.find("[world]").unwrap();
        let end = text.find("[state]").unwrap();
        text.replace_range(start..end, "");
        text = text.replace(
            "kind = \"world-state\"\npath = \"/accounts/A-1/record/subscription_status\"\nequals = \"cancelled\"",
            "kind = \"must-call-tool\"\ntool = \"cancel_subscription\"",
        );
    }
    std::fs::write(suite.join("another-path.toml"), text).unwrap();
    suite
}

fn gate_in(dir: &Path, suite: &Path, agent: &Path) -> (i32, Value, String) {
    let json = dir.join("report.json");
    let o = ratchet_in(
        dir,
        &["gate", "--suite", suite.to_str().unwrap(), "--agent", agent.to_str().unwrap(), "--json", json.to_str().unwrap(), "--no-ledger", "-q"],
    );
    let report = std::fs::read_to_string(&json).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), report, String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn a_fix_on_another_path_is_answered_by_the_simulator_and_judged_on_the_world() {
    let tmp = tempfile::tempdir().unwrap();
    let v2 = simulator_project(tmp.path(), "support-v2");
    let suite = another_path(tmp.path(), "subscriptions", "{}", true);
    let (code, report, stderr) = gate_in(tmp.path(), &suite, &v2);
    assert_eq!(code, 0, "{stderr}\n{report:#}");
    // No fixture matched the lookup by e-mail nor the cancellation: the simulator
    // answered both, and the world-state criterion saw the cancellation.
    let run = ratchet_in(tmp.path(), &["gate", "--suite", suite.to_str().unwrap(), "--agent", v2.to_str().unwrap(), "--no-ledger", "-q", "--format", "json"]);
    let full: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(full["summary"]["passed"], 1);

    // The buggy prompt takes the same path but never states the policy: it fails on
    // that, and the failing attempt shows the world it left and what changed it.
    let v1 = simulator_project(tmp.path(), "support-v1");
    let (code, report, _) = gate_in(tmp.path(), &suite, &v1);
    assert_eq!(code, 1);
    let a = &report["scenarios"][0]["attempts"][0];
    let kinds: Vec<&str> = a["notes"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["simulated", "simulated"], "{a}");
    assert_eq!(a["world"]["final"]["accounts"]["A-1"]["record"]["subscription_status"], "cancelled", "{a}");
    assert_eq!(a["world"]["changes"][0]["tool"], "cancel_subscription");
    let failing: Vec<&str> = a["criteria"].as_array().unwrap().iter().filter(|c| c["passed"] == false).map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(failing, vec!["policy-stated"]);

    // Without the world, the same fix is fed a missing-fixture error on its lookup and
    // fails: what the simulator is for.
    let plain = tempfile::tempdir().unwrap();
    let v2 = simulator_project(plain.path(), "support-v2");
    let suite = another_path(plain.path(), "subscriptions", "{}", false);
    let (code, report, _) = gate_in(plain.path(), &suite, &v2);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["scenarios"][0]["attempts"][0]["notes"][0]["kind"], "missing-fixture");
}

#[test]
fn a_hostile_simulator_is_contained_and_named() {
    let tmp = tempfile::tempdir().unwrap();
    let v2 = simulator_project(tmp.path(), "support-v2");
    for (mode, expect) in [
        ("loop", "fuel"),
        ("bomb", "memory"),
        ("trap", "deliberate panic from guest-hostile-simulator"),
        ("huge", "output"),
        ("not-an-object", "answer.world must be a json object"),
        ("refuse", "this simulator refuses"),
    ] {
        let suite = another_path(tmp.path(), "hostile", &format!("{{ mode = \"{mode}\" }}"), true);
        let started = std::time::Instant::now();
        let (code, report, stderr) = gate_in(tmp.path(), &suite, &v2);
        assert_eq!(code, 1, "{mode}: {stderr}");
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "{mode} took too long");
        let s = &report["scenarios"][0];
        assert_eq!(s["verdict"], "error", "{mode}: {s}");
        let err = s["attempts"][0]["error"].as_str().unwrap();
        assert!(err.contains("tool simulator") && err.contains("hostile") && err.to_lowercase().contains(expect), "{mode}: {err}");
    }
    // A simulator that is not one is refused before anything runs.
    std::fs::copy(component("assertion-no-false-confirmation"), tmp.path().join("assertion.wasm")).unwrap();
    let mut toml = std::fs::read_to_string(tmp.path().join("ratchet.toml")).unwrap();
    toml.push_str("\n[plugins.not-a-sim]\npath = \"assertion.wasm\"\n");
    std::fs::write(tmp.path().join("ratchet.toml"), toml).unwrap();
    let suite = another_path(tmp.path(), "not-a-sim", "{}", true);
    let (code, _, stderr) = gate_in(tmp.path(), &suite, &v2);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("implements `assertion`, not `simulator`"), "{stderr}");
}
