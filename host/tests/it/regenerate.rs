//! `ratchet regenerate` and `ratchet promote` end to end, on production
//! conversations of the example agent at support-v1 (the Tuesday case, two
//! wordings, with personal data): detect → regenerate (scrubbed, reproduce-checked)
//! → the fix passes, v1 and v3 fail → promote merges the second wording into the
//! first. Plus: rejection of scenarios that guard nothing, config guards and
//! templates, determinism, concurrent promotes, all-or-nothing batches, resurrection.

use crate::common::{self, repo};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

fn data(name: &str) -> PathBuf {
    repo().join("host/tests/regenerate").join(name)
}

fn ratchet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .args(args)
        .current_dir(repo())
        .env("RATCHET_CACHE_DIR", test_cache_dir())
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let o = ratchet(args);
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

const NOW: &str = "2026-11-29T10:00:00Z";

/// Detect on the Tuesday production conversations: two failure events.
fn tuesday_events(dir: &Path) -> PathBuf {
    let events = dir.join("events.jsonl");
    let (code, _, err) = run(&["detect", data("tuesday-production.jsonl").to_str().unwrap(), "-o", events.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("flagged 2"), "{err}");
    events
}

fn event_ids(events: &Path) -> Vec<String> {
    std::fs::read_to_string(events).unwrap().lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["event_id"].as_str().unwrap().to_string()).collect()
}

/// Regenerate one event as JSON output; returns (exit code, result object, stderr).
fn regenerate(events: &Path, id: &str, out: &Path, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["regenerate", events.to_str().unwrap(), "--event", id, "--out-dir", out.to_str().unwrap(), "--now", NOW, "--format", "json"];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = run(&args);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (code, v[0].clone(), stderr)
}

fn gate_one(suite: &Path, agent: &str, id: &str) -> i32 {
    let tmp = tempfile::tempdir().unwrap();
    let ledger = tmp.path().join("ledger.jsonl");
    let (code, _, err) = run(&["gate", "--agent", agent, "--suite", suite.to_str().unwrap(), "--id", id, "--ledger", ledger.to_str().unwrap(), "-q"]);
    assert!(code == 0 || code == 1, "gate: {err}");
    code
}

#[test]
fn tuesday_case_regenerates_reproduces_gates_and_merges() {
    let tmp = tempfile::tempdir().unwrap();
    let events = tuesday_events(tmp.path());
    let ids = event_ids(&events);
    let cand = tmp.path().join("candidates");

    // 1. Regenerate the first event: the reproduce check fails it on the recorded
    //    behaviour, and the fix (support-v2) passes it.
    let (code, first, err) = regenerate(&events, &ids[0], &cand, &["--against", "examples/agents/support-v2.toml"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(first["rejected"], Value::Null);
    assert_eq!(first["failure_mode"], "cancellation-without-active-subscription");
    assert_eq!(first["reproduce"]["verdict"], "fail", "{first:#}");
    assert_eq!(first["against"]["result"]["verdict"], "pass", "{first:#}");
    let failing: Vec<&str> = first["reproduce"]["failing"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(failing.contains(&"must-not-call-tool-cancel_subscription"), "{failing:?}");
    let file = PathBuf::from(first["file"].as_str().unwrap());
    let text = std::fs::read_to_string(&file).unwrap();
    let id = first["scenario"].as_str().unwrap().to_string();
    assert!(id.starts_with("cancellation-without-active-subscription-"), "{id}");
    assert!(text.contains("# from: suggested by scorecard `support-policy`"), "{text}");
    assert!(text.contains("# on the recorded conversation: FAILS at turn 3"), "{text}");
    assert!(text.contains("Reproduce check: against the recorded behaviour this scenario fails"), "{text}");
    let (code, _, err) = run(&["validate", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // 2. Promote it into an empty suite, then gate: v1 fails, v2 passes, v3 (the
    //    regression that cancels without checking) fails.
    let suite = tmp.path().join("suite");
    let (code, _, err) = run(&["promote", file.to_str().unwrap(), "--suite", suite.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("added as"), "{err}");
    assert_eq!(gate_one(&suite, "examples/agents/support-v1.toml", &id), 1);
    assert_eq!(gate_one(&suite, "examples/agents/support-v2.toml", &id), 0);
    assert_eq!(gate_one(&suite, "examples/agents/support-v3.toml", &id), 1);

    // 3. The second, differently worded event of the same failure merges (hits 2).
    let (code, second, err) = regenerate(&events, &ids[1], &cand, &[]);
    assert_eq!(code, 0, "{err}");
    assert_ne!(second["scenario"], first["scenario"]);
    let (code, out, err) = run(&["promote", second["file"].as_str().unwrap(), "--suite", suite.to_str().unwrap(), "--now", NOW, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let o: Value = serde_json::from_str(&out).unwrap();
    let d = &o["outcomes"][0]["decision"];
    assert_eq!(d["action"], "merged", "{o:#}");
    assert_eq!(d["hits"], 2);
    // Merged because each scenario's criteria fail on the other's run.
    assert!(!d["why"]["existing_catches_candidate"].as_array().unwrap().is_empty(), "{o:#}");
    assert!(!d["why"]["candidate_catches_existing"].as_array().unwrap().is_empty(), "{o:#}");
    let files: Vec<PathBuf> = walk(&suite);
    assert_eq!(files.len(), 1, "{files:?}");
    let merged = ratchet::schema::Scenario::load(&files[0]).unwrap();
    assert_eq!(merged.provenance.hits, 2);
    assert_eq!(merged.provenance.source_conversations, vec!["chat-2026-11-24-0931-7f3a", "chat-2026-11-24-1412-09c1"]);
    assert!(merged.history.iter().any(|h| h.action == "merged"));
    // Comments written by regenerate survive the merge.
    assert!(std::fs::read_to_string(&files[0]).unwrap().contains("# from: suggested by scorecard"));

    // 4. Promoting the same event again counts nothing twice.
    let (code, _, err) = run(&["promote", second["file"].as_str().unwrap(), "--suite", suite.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already guarded by"), "{err}");
    assert_eq!(ratchet::schema::Scenario::load(&files[0]).unwrap().provenance.hits, 2);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn personal_data_is_scrubbed_consistently_and_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let events = tuesday_events(tmp.path());
    let ids = event_ids(&events);
    for id in &ids {
        let (code, r, err) = regenerate(&events, id, tmp.path(), &[]);
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(r["file"].as_str().unwrap()).unwrap();
        for secret in
            ["Maria", "Delgado", "maria.delgado@example.net", "415-555-0142", "Tom Okafor", "Okafor", "tom.okafor@example.org", "4242 4242", "12 Birch Lane"]
        {
            assert!(!text.contains(secret), "`{secret}` leaked into the scenario:\n{text}");
        }
        // The same e-mail in the state and in the lookup fixture: one placeholder.
        assert!(text.contains("{ key = 'customer.email', value = '[EMAIL_1]' }"), "{text}");
        assert!(text.contains("arguments = { email = '[EMAIL_1]' }"), "{text}");
        assert!(r["scrubbed"]["labels"]["EMAIL"]["occurrences"].as_u64().unwrap() >= 2, "{r:#}");
        assert!(text.contains("# PII scrubbed"), "{text}");
    }
    let (_, r, _) = regenerate(&events, &ids[1], tmp.path(), &[]);
    let labels: Vec<&str> = r["scrubbed"]["labels"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(labels, vec!["ADDRESS", "CARD", "EMAIL", "NAME"]);
    let text = std::fs::read_to_string(r["file"].as_str().unwrap()).unwrap();
    assert!(text.contains("Don't charge my card [CARD_1]. I live at [ADDRESS_1]."), "{text}");
}

#[test]
fn regenerating_is_byte_for_byte_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let events = tuesday_events(tmp.path());
    let mut seen = None;
    for i in 0..5 {
        let out = tmp.path().join(format!("run{i}"));
        let (code, _, err) = run(&["regenerate", events.to_str().unwrap(), "--out-dir", out.to_str().unwrap(), "--now", NOW]);
        assert_eq!(code, 0, "{err}");
        let files: BTreeMap<String, Vec<u8>> =
            walk(&out).into_iter().map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap())).collect();
        assert_eq!(files.len(), 2);
        match &seen {
            None => seen = Some(files),
            Some(first) => assert_eq!(first, &files, "run {i} differs"),
        }
    }
}

/// A project whose config adds a guard and a template, next to the repo's plugins.
fn project_with(tmp: &Path, extra: &str) {
    let base = std::fs::read_to_string(repo().join("ratchet.toml")).unwrap();
    // Plugin paths must stay inside the project root (a symlink out is refused): copy
    // in the one component regenerate loads, the simulator. The agent is linked in.
    std::fs::create_dir_all(tmp.join("target/plugins")).unwrap();
    std::fs::copy(component("simulator-subscriptions"), tmp.join("target/plugins/simulator-subscriptions.wasm")).unwrap();
    std::os::unix::fs::symlink(repo().join("examples"), tmp.join("examples")).unwrap();
    std::fs::write(tmp.join("ratchet.toml"), format!("{base}\n{extra}")).unwrap();
}

#[test]
fn guards_and_templates_from_ratchet_toml_and_useless_scenarios_are_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let events = tuesday_events(tmp.path());
    let ids = event_ids(&events);
    let proj = tmp.path().join("proj");
    std::fs::create_dir(&proj).unwrap();
    project_with(
        &proj,
        r#"
[[regenerate.guards]]
id = "lookup-before-cancel"
why = "house rule: look the account up before cancelling"
kind = "tool-order"
tools = ["lookup_account", "cancel_subscription"]

[[regenerate.guards]]
id = "never-refund"
kind = "must-not-call-tool"
tool = "issue_refund"

[[regenerate.templates]]
failure_mode = "cancellation-without-active-subscription"
criteria = [{ id = "says-no-subscription", why = "the right answer", kind = "must-say", pattern = "(?i)no active subscription", within_turns = 1 }]
"#,
    );
    let out = tmp.path().join("out");
    // The config is found from the working directory: run from the project.
    let o = Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .args(["regenerate", events.to_str().unwrap(), "--event", &ids[0], "--out-dir", out.to_str().unwrap(), "--now", NOW, "--format", "json"])
        .args(["--against", repo().join("examples/agents/support-v2.toml").to_str().unwrap()])
        .current_dir(&proj)
        .env("RATCHET_CACHE_DIR", test_cache_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let criteria: Vec<(String, String)> =
        v[0]["criteria"].as_array().unwrap().iter().map(|c| (c["id"].as_str().unwrap().to_string(), c["from"].as_str().unwrap().to_string())).collect();
    let ids_only: Vec<&str> = criteria.iter().map(|(i, _)| i.as_str()).collect();
    // The passing guard (lookup came first) and the never-called refund are not added;
    // the template is.
    assert!(!ids_only.contains(&"lookup-before-cancel") && !ids_only.contains(&"never-refund"), "{criteria:?}");
    let template = criteria.iter().find(|(i, _)| i == "says-no-subscription").expect("template criterion");
    assert!(template.1.contains("template for failure mode"), "{template:?}");
    // The fix says "I don't see an active subscription", which the template's
    // "no active subscription" does not match: the candidate check reports it.
    assert_eq!(v[0]["against"]["result"]["verdict"], "fail", "{v:#}");

    // A guard that fails on the conversation is added, with its origin.
    std::fs::write(
        proj.join("ratchet.toml"),
        std::fs::read_to_string(proj.join("ratchet.toml"))
            .unwrap()
            .replace("tools = [\"lookup_account\", \"cancel_subscription\"]", "tools = [\"cancel_subscription\", \"lookup_account\"]"),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .args(["regenerate", events.to_str().unwrap(), "--event", &ids[0], "--out-dir", out.to_str().unwrap(), "--now", NOW, "--format", "json"])
        .current_dir(&proj)
        .env("RATCHET_CACHE_DIR", test_cache_dir())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let guard = v[0]["criteria"].as_array().unwrap().iter().find(|c| c["id"] == "lookup-before-cancel").cloned().unwrap_or(Value::Null);
    assert!(guard["from"].as_str().unwrap_or("").contains("guard `lookup-before-cancel`"), "{v:#}");

    // An event no rule can turn into a failing criterion: rejected, nothing written.
    let event: Value = serde_json::from_str(std::fs::read_to_string(&events).unwrap().lines().next().unwrap()).unwrap();
    let mut useless = event.clone();
    useless["scorecards"][0]["result"]["suggested_criteria"] =
        serde_json::json!([{"kind": "must-not-call-tool", "params": {"tool": "issue_refund"}, "reason": "never refund"}]);
    useless["event_id"] = "fe-useless".into();
    let useless_file = tmp.path().join("useless.json");
    std::fs::write(&useless_file, serde_json::to_string(&useless).unwrap()).unwrap();
    let out2 = tmp.path().join("out2");
    // A project without guards (the repo's ratchet.toml has some that this event breaks).
    let bare_config = tmp.path().join("bare.toml");
    std::fs::write(&bare_config, "").unwrap();
    let cfg = bare_config.to_str().unwrap();
    let (code, _, err) = run(&["--config", cfg, "regenerate", useless_file.to_str().unwrap(), "--out-dir", out2.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("REJECTED") && err.contains("would guard nothing"), "{err}");
    assert!(!out2.exists() || walk(&out2).is_empty());

    // No criterion at all: rejected naming the event and the fix; the other events
    // of the file are still written.
    let mut bare = event.clone();
    bare["scorecards"] = serde_json::json!([]);
    bare["event_id"] = "fe-bare".into();
    let both = format!("{}\n{}\n", serde_json::to_string(&bare).unwrap(), serde_json::to_string(&event).unwrap());
    std::fs::write(&useless_file, both).unwrap();
    let (code, _, err) = run(&["--config", cfg, "regenerate", useless_file.to_str().unwrap(), "--out-dir", out2.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("fe-bare") && err.contains("REJECTED") && err.contains("[[regenerate.templates]]"), "{err}");
    assert_eq!(walk(&out2).len(), 1, "{err}");
}

#[test]
fn bad_event_files_name_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let events = tuesday_events(tmp.path());
    let mut text = std::fs::read_to_string(&events).unwrap();
    text.push_str("{\"event_id\": \"x\", \"reasons\": 7}\n");
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(&bad, text).unwrap();
    let (code, _, err) = run(&["regenerate", bad.to_str().unwrap(), "--out-dir", tmp.path().join("o").to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.jsonl:3"), "{err}");
    assert!(!tmp.path().join("o").exists(), "nothing may be written when the input is bad");
    let (code, _, err) = run(&["regenerate", events.to_str().unwrap(), "--event", "fe-nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("fe-nope"), "{err}");
}

/// Regenerate both Tuesday events; returns their scenario files.
fn two_candidates(tmp: &Path) -> Vec<PathBuf> {
    let events = tuesday_events(tmp);
    let out = tmp.join("cand");
    let (code, _, err) = run(&["regenerate", events.to_str().unwrap(), "--out-dir", out.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    walk(&out)
}

/// Copies of a candidate from other production conversations of the same failure.
fn variants(src: &Path, dir: &Path, n: usize) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(src).unwrap();
    let s = ratchet::schema::Scenario::parse(&text, "src").unwrap();
    let source = s.provenance.source_conversations[0].clone();
    (0..n)
        .map(|i| {
            let p = dir.join(format!("variant-{i}.toml"));
            std::fs::write(&p, text.replace(&source, &format!("chat-variant-{i}")).replace(&s.id, &format!("{}-v{i}", s.id))).unwrap();
            p
        })
        .collect()
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walk(dir).into_iter().map(|p| (p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap())).collect()
}

#[test]
fn concurrent_promotes_never_lose_a_hit() {
    let tmp = tempfile::tempdir().unwrap();
    let cands = two_candidates(tmp.path());
    let suite = tmp.path().join("suite");
    let (code, _, err) = run(&["promote", cands[0].to_str().unwrap(), "--suite", suite.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    let vdir = tmp.path().join("variants");
    std::fs::create_dir(&vdir).unwrap();
    let vs = variants(&cands[0], &vdir, 8);
    let children: Vec<_> = vs
        .iter()
        .map(|v| {
            Command::new(env!("CARGO_BIN_EXE_ratchet"))
                .args(["promote", v.to_str().unwrap(), "--suite", suite.to_str().unwrap(), "--now", NOW])
                .current_dir(repo())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let files = walk(&suite);
    assert_eq!(files.len(), 1, "{files:?}");
    let s = ratchet::schema::Scenario::load(&files[0]).unwrap();
    assert_eq!(s.provenance.hits, 9);
    assert_eq!(s.provenance.source_conversations.len(), 9);
    assert_eq!(s.history.iter().filter(|h| h.action == "merged").count(), 8);
}

#[test]
fn a_failed_promote_leaves_the_suite_exactly_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let cands = two_candidates(tmp.path());
    let suite = tmp.path().join("suite");
    std::fs::create_dir(&suite).unwrap();
    for f in ["cancel-never-started-subscription.toml", "happy-path-cancel-active.toml"] {
        std::fs::copy(repo().join("scenarios").join(f), suite.join(f)).unwrap();
    }
    let (code, _, err) = run(&["promote", cands[0].to_str().unwrap(), "--suite", suite.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    let before = snapshot(&suite);

    // A batch: one merge (rewrites an existing file), then an addition whose target
    // path cannot be written (a directory is in the way): the rename fails after the
    // merge's rename succeeded, and the merge must be rolled back.
    let other = tmp.path().join("other.toml");
    let text = std::fs::read_to_string(repo().join("scenarios/escalate-when-asked-for-human.toml")).unwrap();
    let s = ratchet::schema::Scenario::parse(&text, "x").unwrap();
    std::fs::write(&other, &text).unwrap();
    let blocked = suite.join(ratchet::schema::id::slug(&s.failure_mode)).join(format!("{}.toml", s.id));
    std::fs::create_dir_all(blocked.join("in-the-way")).unwrap();
    let before = {
        let mut b = before;
        b.extend(snapshot(&suite));
        b
    };
    let vdir = tmp.path().join("v");
    std::fs::create_dir(&vdir).unwrap();
    let v = variants(&cands[0], &vdir, 1);
    let (code, _, err) = run(&["promote", v[0].to_str().unwrap(), other.to_str().unwrap(), "--suite", suite.to_str().unwrap(), "--now", NOW]);
    assert_ne!(code, 0, "{err}");
    assert_eq!(snapshot(&suite), before, "the suite changed after a failed promote: {err}");
    let leftovers: Vec<_> = std::fs::read_dir(&suite).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().contains(".promote.")).collect();
    assert!(leftovers.is_empty());

    // An invalid candidate stops the batch before anything happens.
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "id = 1\n").unwrap();
    let (code, _, err) = run(&["promote", v[0].to_str().unwrap(), bad.to_str().unwrap(), "--suite", suite.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.toml"), "{err}");
    assert_eq!(snapshot(&suite), before);
}

#[test]
fn an_archived_scenario_comes_back_when_its_bug_returns() {
    let tmp = tempfile::tempdir().unwrap();
    let cands = two_candidates(tmp.path());
    let suite = tmp.path().join("suite");
    let (code, _, err) = run(&["promote", cands[0].to_str().unwrap(), "--suite", suite.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    let file = walk(&suite)[0].clone();
    let text = std::fs::read_to_string(&file).unwrap().replace("tier = 'fast'", "tier = 'archive'");
    std::fs::write(&file, text).unwrap();
    let (code, out, err) = run(&["promote", cands[1].to_str().unwrap(), "--suite", suite.to_str().unwrap(), "--now", NOW, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let o: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(o["outcomes"][0]["decision"]["resurrected"], true, "{o:#}");
    // One file holds the cluster (the earlier failure's), back in the fast tier.
    let files = walk(&suite);
    assert_eq!(files.len(), 1, "{files:?}");
    let s = ratchet::schema::Scenario::load(&files[0]).unwrap();
    assert_eq!(s.tier, ratchet::schema::Tier::Fast);
    assert!(s.history.iter().any(|h| h.action == "resurrected"), "{:?}", s.history);
}

#[test]
fn dry_run_and_near_misses() {
    let tmp = tempfile::tempdir().unwrap();
    let cands = two_candidates(tmp.path());
    let suite = tmp.path().join("suite");
    std::fs::create_dir(&suite).unwrap();
    std::fs::copy(repo().join("scenarios/cancel-never-started-subscription.toml"), suite.join("cancel-never-started-subscription.toml")).unwrap();
    let before = snapshot(&suite);
    let (code, out, err) = run(&["promote", cands[0].to_str().unwrap(), "--suite", suite.to_str().unwrap(), "--dry-run", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(snapshot(&suite), before);
    let o: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(o["outcomes"][0]["decision"]["action"], "added");
    // The hand-written Tuesday scenario has more criteria: close, but a person decides.
    let near = &o["outcomes"][0]["near_misses"];
    assert_eq!(near[0]["id"], "cancel-never-started-subscription", "{o:#}");
}

#[test]
fn a_locked_suite_is_reported_busy_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let cands = two_candidates(tmp.path());
    let suite = tmp.path().join("suite");
    std::fs::create_dir(&suite).unwrap();
    // Another promote holds the lock.
    let lock = std::fs::File::options().create(true).truncate(false).write(true).open(suite.join(".ratchet.lock")).unwrap();
    lock.lock().unwrap();
    let (code, _, err) = run(&["promote", cands[0].to_str().unwrap(), "--suite", suite.to_str().unwrap(), "--lock-timeout-secs", "0"]);
    assert_eq!(code, 75, "{err}");
    assert!(err.contains("locked by another ratchet process (`ratchet promote`"), "{err}");
    assert!(walk(&suite).is_empty());
    drop(lock);
    let (code, _, err) = run(&["promote", cands[0].to_str().unwrap(), "--suite", suite.to_str().unwrap(), "--lock-timeout-secs", "0"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn one_output_file_takes_one_event() {
    let tmp = tempfile::tempdir().unwrap();
    let events = tuesday_events(tmp.path());
    let out = tmp.path().join("one.toml");
    let (code, _, err) = run(&["regenerate", events.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--output takes one scenario") && err.contains("2 events"), "{err}");
    assert!(!out.exists());
    let id = event_ids(&events).remove(0);
    let (code, _, err) = run(&["regenerate", events.to_str().unwrap(), "--event", &id, "-o", out.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    assert!(ratchet::schema::Scenario::load(&out).is_ok());
}

/// Candidates regenerated from a generated day of production (several failure
/// modes, many repeats of each, some distinct failures sharing words).
fn day_of_candidates(tmp: &Path, count: u32) -> Vec<PathBuf> {
    let day = tmp.join("day.jsonl");
    let o = Command::new("python3")
        .args(["examples/traffic/generate.py", "--count", &count.to_string(), "--seed", "11", "--out", day.to_str().unwrap()])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let events = tmp.join("events.jsonl");
    let (code, _, err) = run(&["detect", day.to_str().unwrap(), "-o", events.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let out = tmp.join("candidates");
    let (code, _, err) = run(&["regenerate", events.to_str().unwrap(), "--out-dir", out.to_str().unwrap(), "--now", NOW]);
    assert!(code == 0 || code == 1, "{err}");
    walk(&out)
}

/// The suite's files and bytes, without the index cache and the lock.
fn suite_bytes(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    snapshot(dir).into_iter().filter(|(p, _)| !p.to_string_lossy().starts_with(".ratchet")).collect()
}

fn promote_all(suite: &Path, files: &[PathBuf]) -> Value {
    let mut args = vec!["promote".to_string(), "--suite".into(), suite.display().to_string(), "--now".into(), NOW.into(), "--format".into(), "json".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = run(&refs);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn promote_is_idempotent_and_the_same_in_any_order_batching_or_concurrency() {
    let tmp = tempfile::tempdir().unwrap();
    let cands = day_of_candidates(tmp.path(), 150);
    assert!(cands.len() >= 30, "{}", cands.len());
    let one = tmp.path().join("one");
    promote_all(&one, &cands);
    let reference = suite_bytes(&one);
    assert!(reference.len() >= 3, "{:?}", reference.keys());

    // Twice: the second run changes nothing and says why.
    let again = promote_all(&one, &cands);
    assert!(again["outcomes"].as_array().unwrap().iter().all(|o| o["decision"]["action"] == "already-present"), "{again:#}");
    assert_eq!(suite_bytes(&one), reference, "promoting twice changed the suite");

    // Reversed, and in three batches of another order.
    let reversed = tmp.path().join("reversed");
    let mut rev = cands.clone();
    rev.reverse();
    promote_all(&reversed, &rev);
    assert_eq!(suite_bytes(&reversed), reference, "the order changed the suite");
    let batched = tmp.path().join("batched");
    let mut shuffled = cands.clone();
    shuffled.sort_by_key(|p| {
        let n = p.file_name().unwrap().to_string_lossy().into_owned();
        (n.len() % 3, n.chars().rev().collect::<String>())
    });
    for chunk in shuffled.chunks(shuffled.len() / 3 + 1) {
        promote_all(&batched, chunk);
    }
    assert_eq!(suite_bytes(&batched), reference, "the batching changed the suite");

    // Eight overlapping promotes at once (every candidate in at least one).
    let concurrent = tmp.path().join("concurrent");
    let children: Vec<_> = (0..8)
        .map(|k| {
            let mine: Vec<String> = cands.iter().enumerate().filter(|(i, _)| (i + k) % 3 != 0 || i % 8 == k).map(|(_, p)| p.display().to_string()).collect();
            Command::new(env!("CARGO_BIN_EXE_ratchet"))
                .args(["promote", "--suite", concurrent.to_str().unwrap(), "--now", NOW])
                .args(&mine)
                .current_dir(repo())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(suite_bytes(&concurrent), reference, "concurrent promotes changed the suite");

    // Every production conversation is in exactly one scenario, counted once.
    let mut seen = std::collections::BTreeSet::new();
    let mut hits = 0;
    for p in walk(&one) {
        let s = ratchet::schema::Scenario::load(&p).unwrap();
        hits += s.provenance.hits;
        for c in &s.provenance.source_conversations {
            assert!(seen.insert(c.clone()), "{c} counted twice");
        }
    }
    assert_eq!(hits as usize, cands.len());
    assert_eq!(seen.len(), cands.len());
}

#[test]
fn a_captured_world_becomes_the_scenarios_world_scrubbed() {
    let tmp = tempfile::tempdir().unwrap();
    let events = tuesday_events(tmp.path());
    let first = std::fs::read_to_string(&events).unwrap().lines().next().unwrap().to_string();
    let mut event: Value = serde_json::from_str(&first).unwrap();
    let email = event["conversation"]["state"]["memory_snapshot"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "customer.email")
        .map(|e| e["value"].as_str().unwrap().to_string())
        .expect("the Tuesday customer's e-mail is in memory");
    // The platform captured the billing system at the start: keyed by e-mail, with a
    // `null` TOML could not hold.
    event["conversation"]["world"] = serde_json::json!({
        "accounts": {"A-55812": {"record": {"account_id": "A-55812", "subscription_status": "none", "plan": null}, "emails": [email]}},
        "by_email": {email.clone(): "A-55812"},
        "refunds": []
    });
    let one = tmp.path().join("one.json");
    std::fs::write(&one, event.to_string()).unwrap();
    let out = tmp.path().join("out");
    let (code, _, err) = run(&["regenerate", one.to_str().unwrap(), "--out-dir", out.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    let file = walk(&out).pop().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(&email), "the e-mail is scrubbed everywhere, keys included");
    let s = ratchet::schema::Scenario::parse(&text, "s").unwrap();
    let world = s.world.expect("a [world]").state_value().unwrap();
    assert_eq!(world["accounts"]["A-55812"]["record"]["subscription_status"], "none", "the captured world, not one seeded from the calls");
    let key = world["by_email"].as_object().unwrap().keys().next().unwrap().clone();
    assert!(key.starts_with("[EMAIL_"), "{key}");
    assert_eq!(world["accounts"]["A-55812"]["emails"][0], serde_json::json!(key), "the same placeholder as the key");
    assert!(!s.recording.unwrap().conversation_json.contains("\"world\""), "the recording does not repeat the world");
}

/// On a terminal regenerate draws its progress bars between the lines it prints,
/// never through them: every line a pipe gets is on the terminal too, whole, and the
/// scenario files are the same bytes.
#[test]
fn progress_on_a_terminal_keeps_the_printed_lines_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let events = tuesday_events(tmp.path());
    let (piped, tty) = (tmp.path().join("piped"), tmp.path().join("tty"));
    let (code, _, err) = run(&["regenerate", events.to_str().unwrap(), "--out-dir", piped.to_str().unwrap(), "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains('\r'), "not a terminal: no progress line: {err}");
    let shell = format!("'{bin}' regenerate '{e}' --out-dir '{o}' --now {NOW}", bin = env!("CARGO_BIN_EXE_ratchet"), e = events.display(), o = tty.display());
    let o = Command::new("script")
        .args(["-q", "-e", "-c", &shell, "/dev/null"])
        .current_dir(repo())
        .env("RATCHET_CACHE_DIR", test_cache_dir())
        .env("TERM", "xterm")
        .env_remove("RATCHET_NO_PROGRESS")
        .output()
        .expect("script (util-linux) runs");
    let shown = String::from_utf8_lossy(&o.stdout).replace("\r\n", "\n");
    assert_eq!(o.status.code(), Some(0), "{shown}");
    for line in err.lines() {
        let line = line.replace(piped.to_str().unwrap(), tty.to_str().unwrap());
        assert!(shown.lines().any(|l| l.ends_with(&line)), "`{line}` whole on the terminal too:\n{shown}");
    }
    let files = |d: &Path| -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(d).unwrap().map(|e| e.unwrap()).map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())).collect()
    };
    assert_eq!(files(&tty), files(&piped));
    assert_eq!(files(&piped).len(), 2);
}

#[test]
fn a_situation_label_keeps_two_behaviourally_equal_failures_apart() {
    // The two Tuesday events are one failure by their criteria (they merge above). Labelled
    // with different contact reasons, and with `[promote] situation_labels` naming that
    // label, they stay two scenarios, related, and promote says why.
    let tmp = tempfile::tempdir().unwrap();
    let events = tuesday_events(tmp.path());
    let ids = event_ids(&events);
    let cand = tmp.path().join("candidates");
    let mut files = Vec::new();
    for (id, reason) in ids.iter().zip(["billing", "cancellation"]) {
        let (code, r, err) = regenerate(&events, id, &cand, &[]);
        assert_eq!(code, 0, "{err}");
        let file = PathBuf::from(r["file"].as_str().unwrap());
        let text = std::fs::read_to_string(&file).unwrap();
        // A platform's contact reason, as an adapter would have carried it into the scenario.
        let labelled = text.replacen("\n[state]", &format!("\n[labels]\ncontact_reason = \"{reason}\"\n\n[state]"), 1);
        assert_ne!(labelled, text, "no [state] table to put [labels] before");
        std::fs::write(&file, labelled).unwrap();
        files.push(file);
    }
    let config = tmp.path().join("ratchet.toml");
    let root = std::fs::read_to_string(repo().join("ratchet.toml")).unwrap();
    let root = root.replace("path = \"", &format!("path = \"{}/", repo().display()));
    assert!(root.contains("\n[promote]\n"));
    std::fs::write(&config, root.replacen("\n[promote]\n", "\n[promote]\nsituation_labels = [\"contact_reason\"]\n", 1)).unwrap();
    let suite = tmp.path().join("suite");
    let promote = |cfg: Option<&Path>, suite: &Path| {
        let mut args: Vec<String> = Vec::new();
        if let Some(c) = cfg {
            args.extend(["--config".into(), c.display().to_string()]);
        }
        args.extend(["promote".into(), files[0].display().to_string(), files[1].display().to_string(), "--suite".into(), suite.display().to_string()]);
        args.extend(["--now".into(), NOW.into()]);
        run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let (code, _, err) = promote(Some(&config), &suite);
    assert_eq!(code, 0, "{err}");
    assert_eq!(walk(&suite).len(), 2, "kept apart: {err}");
    assert!(err.contains("but another situation: label `contact_reason` is \"billing\" there, \"cancellation\" here"), "{err}");
    // Without the setting the labels do not count: one failure, merged.
    let plain = tmp.path().join("plain");
    let (code, _, err) = promote(None, &plain);
    assert_eq!(code, 0, "{err}");
    assert_eq!(walk(&plain).len(), 1, "{err}");
}
