//! `ratchet demo`: the whole loop (traffic → detect → rank → regenerate → promote →
//! gate v1/v2/v3) on a smaller day, as the README's main command runs it. Checks the
//! story (v1 blocked, v2 passes, v3 blocked by a scenario the loop created), the
//! workspace it leaves, and that two runs leave the same files.

use crate::common::{self, repo};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::test_cache_dir;
use serde_json::Value;

fn demo(ws: &Path) -> (i32, String) {
    let (code, _, err) = demo_with(ws, &[]);
    (code, err)
}

fn demo_with(ws: &Path, extra: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .args(["demo", "--count", "150", "--workspace", ws.to_str().unwrap()])
        .args(extra)
        .current_dir(repo())
        .env("RATCHET_CACHE_DIR", test_cache_dir())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn files(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>, base: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out, base);
        } else {
            out.insert(p.strip_prefix(base).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
        }
    }
}

#[test]
fn the_loop_runs_end_to_end_and_catches_the_regression() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    let (code, err) = demo(&ws);
    assert_eq!(code, 0, "{err}");
    for phase in ["1/5", "2/5", "3/5", "4/5", "5/5", "summary: the loop works"] {
        assert!(err.contains(phase), "missing `{phase}`:\n{err}");
    }
    let summary = std::fs::read_to_string(ws.join("SUMMARY.md")).unwrap();
    assert!(summary.contains("costliest failure mode: cancellation-without-active-subscription"), "{summary}");
    assert!(summary.contains("gate support-v1: blocked"), "{summary}");
    assert!(summary.contains("gate support-v2: passed"), "{summary}");
    assert!(summary.contains("gate support-v3: blocked"), "{summary}");

    // Duplicates were merged: fewer scenarios than regenerated files, hits add up.
    let regenerated = std::fs::read_dir(ws.join("candidates")).unwrap().count();
    let mut suite = BTreeMap::new();
    files(&ws.join("scenarios"), &mut suite, &ws.join("scenarios"));
    let scenarios: Vec<ratchet::schema::Scenario> = suite
        .iter()
        .filter(|(p, _)| p.extension().is_some_and(|x| x == "toml"))
        .map(|(p, b)| ratchet::schema::Scenario::parse(std::str::from_utf8(b).unwrap(), &p.display().to_string()).unwrap())
        .collect();
    assert!(scenarios.len() < regenerated, "{} scenarios from {regenerated} candidates", scenarios.len());
    // One scenario per distinct failure, however many customers met it: no two
    // scenarios of one failure mode (promote compares within a mode) are the same
    // failure by promote's own test, and the
    // seeded traffic gives a fixed number (9 for these 150 conversations: the
    // refunds without a supervisor flag are two failures, one where the customer
    // also asked for a person; the README's 400 give 8). A dedup that keeps
    // instances apart by their own values (an account id in an outcome check) shows
    // up here first.
    let rules = ratchet::config::ConversationConfig::default();
    for (i, a) in scenarios.iter().enumerate() {
        for b in scenarios[i + 1..].iter().filter(|b| b.failure_mode == a.failure_mode) {
            let same = ratchet::promote::behaviour::same_failure(a, b, &rules);
            assert!(same.is_none(), "{} and {} are one failure: {}", a.id, b.id, same.unwrap());
        }
    }
    assert_eq!(scenarios.len(), 9, "{} scenarios from {regenerated} candidates", scenarios.len());
    assert_eq!(scenarios.iter().map(|s| s.provenance.hits as usize).sum::<usize>(), regenerated);

    // v3 is blocked by a scenario the loop created from production, in the Tuesday mode.
    let v3: Value = serde_json::from_str(&std::fs::read_to_string(ws.join("reports/support-v3.json")).unwrap()).unwrap();
    let blocking: Vec<&str> = v3["scenarios"].as_array().unwrap().iter().filter(|r| r["verdict"] == "fail").map(|r| r["id"].as_str().unwrap()).collect();
    assert!(!blocking.is_empty());
    for id in &blocking {
        let s = scenarios.iter().find(|s| &s.id == id).unwrap();
        assert_eq!(s.provenance.created_by.as_deref(), Some("ratchet regenerate"));
        assert_eq!(s.failure_mode, "cancellation-without-active-subscription");
    }
    for f in ["support-v1.html", "support-v1.junit.xml", "support-v1.md", "support-v2.json", "support-v3.html"] {
        assert!(ws.join("reports").join(f).is_file(), "{f}");
    }

    // Same seed, same day: the same workspace, byte for byte (reports carry timings,
    // so compare what the loop produced: traffic, events, candidates, suite).
    // (The second run also prints its figures as JSON for tools.)
    let ws2 = tmp.path().join("ws2");
    let (code, out, err) = demo_with(&ws2, &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let figures: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(figures["costliest_failure_mode"], "cancellation-without-active-subscription");
    assert_eq!(figures["story_holds"], true);
    let verdicts: Vec<&str> = figures["gates"].as_array().unwrap().iter().map(|g| g["verdict"].as_str().unwrap()).collect();
    assert_eq!(verdicts, ["blocked", "passed", "blocked"]);
    assert_eq!(figures["scenarios_regenerated"].as_u64().unwrap() as usize, regenerated);
    for sub in ["production", "candidates", "scenarios"] {
        let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
        files(&ws.join(sub), &mut a, &ws.join(sub));
        files(&ws2.join(sub), &mut b, &ws2.join(sub));
        a.retain(|p, _| !p.to_string_lossy().contains("ledger") && !p.to_string_lossy().contains(".ratchet"));
        b.retain(|p, _| !p.to_string_lossy().contains("ledger") && !p.to_string_lossy().contains(".ratchet"));
        assert_eq!(a, b, "{sub} differs between two runs");
    }
    assert_eq!(std::fs::read(ws.join("events.jsonl")).unwrap(), std::fs::read(ws2.join("events.jsonl")).unwrap());
}

#[test]
fn the_demo_refuses_a_workspace_that_holds_the_project() {
    let o = Command::new(env!("CARGO_BIN_EXE_ratchet")).args(["demo", "--workspace", "."]).current_dir(repo()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("would hold the project"));
}
