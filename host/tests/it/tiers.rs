//! `ratchet tiers` / `status` / `gate --no-block` on a generated suite of 5,000
//! scenarios with a 200-day ledger (examples/synthetic-suite/generate.py): the fast
//! tier fits its size and budget, demotion and archival are exactly what an
//! independent calculation of the rules says, moves are recorded and undoable, and a
//! production failure matching an archived scenario resurrects it.

use crate::common::{self, repo};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::test_cache_dir;
use serde_json::Value;

const NOW: &str = "2026-11-29T00:00:00Z";

fn ratchet(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_ratchet")).args(args).current_dir(cwd).env("RATCHET_CACHE_DIR", test_cache_dir()).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn generate(dir: &Path, count: &str) {
    let o = Command::new("python3")
        .args([
            repo().join("examples/synthetic-suite/generate.py").to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
            "--count",
            count,
            "--days",
            "200",
            "--end",
            NOW,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn secs(t: &str) -> i64 {
    ratchet::time::parse_rfc3339(t).unwrap()
}

/// Every scenario file: relative path → (raw bytes, parsed TOML).
fn snapshot(suite: &Path) -> BTreeMap<PathBuf, (Vec<u8>, toml::Value)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![suite.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "toml") {
                let bytes = std::fs::read(&p).unwrap();
                let v: toml::Value = toml::from_str(std::str::from_utf8(&bytes).unwrap()).unwrap();
                out.insert(p.strip_prefix(suite).unwrap().to_path_buf(), (bytes, v));
            }
        }
    }
    out
}

/// The rules, computed independently of ratchet's library from the raw TOML and
/// ledger lines. `Some(tier)` where the rules decide by idleness alone; `None` for
/// active scenarios (fast or slow, by value and budget).
fn expected(files: &BTreeMap<PathBuf, (Vec<u8>, toml::Value)>, ledger: &str, pinned: &[String]) -> BTreeMap<String, Option<&'static str>> {
    let now = secs(NOW);
    let mut last_fail: BTreeMap<String, i64> = BTreeMap::new();
    for line in ledger.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        let v = e["verdict"].as_str().unwrap();
        if v == "fail" || v == "flaky" {
            let at = secs(e["at"].as_str().unwrap());
            let t = last_fail.entry(e["scenario"].as_str().unwrap().to_string()).or_insert(at);
            *t = (*t).max(at);
        }
    }
    files
        .values()
        .map(|(_, v)| {
            let id = v["id"].as_str().unwrap().to_string();
            let tier = v["tier"].as_str().unwrap();
            let last_seen = v["provenance"].get("last_seen").and_then(|x| x.as_str()).map(secs);
            let created =
                v["history"].as_array().and_then(|h| h.iter().find(|e| e["action"].as_str() == Some("created"))).map(|e| secs(e["at"].as_str().unwrap()));
            let fail = last_fail.get(&id).copied();
            let bug = [fail, last_seen].into_iter().flatten().max();
            let activity = [fail, last_seen, created].into_iter().flatten().max().unwrap();
            let idle_days = (now - activity) / 86_400;
            let decided = if pinned.contains(&id) {
                Some("fast")
            } else if tier == "archive" && !bug.is_some_and(|b| b > now - 90 * 86_400) {
                Some("archive")
            } else if idle_days >= 180 {
                Some("archive")
            } else if idle_days >= 90 {
                Some("slow")
            } else {
                None
            };
            (id, decided)
        })
        .collect()
}

fn latest_durations(ledger: &str) -> BTreeMap<String, (i64, u64)> {
    let mut d: BTreeMap<String, (i64, u64)> = BTreeMap::new();
    for line in ledger.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        let at = secs(e["at"].as_str().unwrap());
        let entry = d.entry(e["scenario"].as_str().unwrap().to_string()).or_insert((at, 0));
        if at >= entry.0 {
            *entry = (at, e["duration_ms"].as_u64().unwrap());
        }
    }
    d
}

#[test]
fn tiers_on_a_generated_suite_follow_the_rules_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path(), "5000");
    let suite = tmp.path().join("scenarios");
    let ledger = std::fs::read_to_string(suite.join("ledger.jsonl")).unwrap();
    let before = snapshot(&suite);
    assert_eq!(before.len(), 5000);
    let config: toml::Value = toml::from_str(&std::fs::read_to_string(tmp.path().join("ratchet.toml")).unwrap()).unwrap();
    let pinned: Vec<String> = config["tiers"]["pinned"].as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect();
    let want = expected(&before, &ledger, &pinned);

    // Dry run first: nothing changes.
    let (code, out, err) = ratchet(tmp.path(), &["tiers", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert!(plan["moves"].as_array().unwrap().len() > 1000);
    assert!(snapshot(&suite).iter().zip(&before).all(|(a, b)| a.1 .0 == b.1 .0), "a dry run changed files");

    let (code, _, err) = ratchet(tmp.path(), &["tiers", "--now", NOW, "--apply"]);
    assert_eq!(code, 0, "{err}");
    let after = snapshot(&suite);
    let durations = latest_durations(&ledger);
    let mut fast = Vec::new();
    for (file, (bytes, v)) in &after {
        let id = v["id"].as_str().unwrap();
        let tier = v["tier"].as_str().unwrap();
        match want[id] {
            Some(t) => assert_eq!(tier, t, "{id}: the rules say {t}"),
            None => assert!(tier == "fast" || tier == "slow", "{id}: active but {tier}"),
        }
        if tier == "fast" {
            fast.push(durations[id].1);
        }
        let old = &before[file];
        let old_tier = old.1["tier"].as_str().unwrap();
        if old_tier == tier {
            assert_eq!(bytes, &old.0, "{id} did not move but its file changed");
        } else {
            let last = v["history"].as_array().unwrap().last().unwrap();
            assert_eq!(last["at"].as_str(), Some(NOW));
            assert!(last["detail"].as_str().unwrap().starts_with(&format!("{old_tier} → {tier}: ")), "{last:?}");
        }
    }
    // The fast tier: at most 100, within the 10-minute budget at 4 jobs, pinned included.
    assert!(fast.len() <= 100 && fast.len() >= 50, "{} fast", fast.len());
    let wall = (fast.iter().sum::<u64>().div_ceil(4)).max(*fast.iter().max().unwrap());
    assert!(wall <= 600_000, "{wall} ms");
    for p in &pinned {
        assert_eq!(after.values().find(|(_, v)| v["id"].as_str() == Some(p)).unwrap().1["tier"].as_str(), Some("fast"));
    }

    // Applying again changes nothing; status agrees.
    let (_, out, _) = ratchet(tmp.path(), &["tiers", "--now", NOW, "--format", "json"]);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["moves"].as_array().unwrap().len(), 0);
    let (code, out, err) = ratchet(tmp.path(), &["status", "--now", NOW, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["tiers"]["fast"].as_u64().unwrap() as usize, fast.len());
    assert!(status["fast_wall_ms"].as_u64().unwrap() <= status["budget_ms"].as_u64().unwrap());
    assert_eq!(status["pending_moves"], 0);

    // Undo puts every tier back.
    let (code, _, err) = ratchet(tmp.path(), &["tiers", "--undo", "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    for (file, (_, v)) in snapshot(&suite) {
        assert_eq!(v["tier"].as_str(), before[&file].1["tier"].as_str(), "{}", file.display());
    }
}

#[test]
fn a_tight_budget_is_respected_and_explained() {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path(), "800");
    let cfg = tmp.path().join("ratchet.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace("pr_budget_secs = 600", "pr_budget_secs = 5").replace("jobs = 4", "jobs = 2");
    std::fs::write(&cfg, text).unwrap();
    // Nothing was applied yet: nothing to undo, said plainly, nothing touched.
    let (code, _, err) = ratchet(tmp.path(), &["tiers", "--undo"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no applied tier moves to undo"), "{err}");
    let (code, out, err) = ratchet(tmp.path(), &["tiers", "--now", NOW, "--format", "json", "--explain"]);
    assert_eq!(code, 0, "{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    assert!(plan["fast_wall_ms"].as_u64().unwrap() <= 5_000, "{}", plan["fast_wall_ms"]);
    // A pinned id that is not in the suite is a configuration error.
    std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap().replace("pinned = [", "pinned = [\"no-such-scenario\", ")).unwrap();
    let (code, _, err) = ratchet(tmp.path(), &["tiers", "--now", NOW]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no scenario `no-such-scenario`"), "{err}");
    let why: Vec<&str> = plan["decisions"].as_array().unwrap().iter().map(|d| d["why"].as_str().unwrap()).collect();
    assert!(why.iter().any(|w| w.contains("over the 5 s PR budget")), "no budget explanation");
    assert!(why.iter().any(|w| w.starts_with("in the fast tier: value")));
}

#[test]
fn an_undo_log_naming_a_file_outside_the_suite_is_refused_and_said_once() {
    let tmp = tempfile::tempdir().unwrap();
    generate(tmp.path(), "20");
    let log = tmp.path().join("scenarios/.ratchet-tiers-last.json");
    let outside = serde_json::json!({"at": NOW, "moves": [{"file": "../escape.toml", "id": "x", "from": "fast", "to": "slow", "why": "edited"}]});
    std::fs::write(&log, serde_json::to_string_pretty(&outside).unwrap()).unwrap();
    let before = snapshot(&tmp.path().join("scenarios"));
    let (code, _, err) = ratchet(tmp.path(), &["tiers", "--undo", "--now", NOW]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("field `moves[0].file`"), "{err}");
    // The library error carries its cause in its own message; the CLI does not
    // repeat the cause after it.
    assert_eq!(err.matches("the path leaves").count(), 1, "{err}");
    assert_eq!(snapshot(&tmp.path().join("scenarios")), before, "nothing touched");
    assert!(!tmp.path().join("escape.toml").exists());
    // A log that is not a log is named, and nothing is touched either.
    std::fs::write(&log, "{\"at\": ").unwrap();
    let (code, _, err) = ratchet(tmp.path(), &["tiers", "--undo", "--now", NOW]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(".ratchet-tiers-last.json"), "{err}");
    assert_eq!(snapshot(&tmp.path().join("scenarios")), before, "nothing touched");
}

#[test]
fn a_production_failure_resurrects_its_archived_scenario() {
    // The Tuesday scenario, archived; its bug comes back in production.
    let tmp = tempfile::tempdir().unwrap();
    let events = tmp.path().join("events.jsonl");
    let conversations = repo().join("host/tests/regenerate/tuesday-production.jsonl");
    let (code, _, err) = ratchet(&repo(), &["detect", conversations.to_str().unwrap(), "-o", events.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let first: Value = serde_json::from_str(std::fs::read_to_string(&events).unwrap().lines().next().unwrap()).unwrap();
    let cand = tmp.path().join("cand");
    let (code, _, err) = ratchet(
        &repo(),
        &[
            "regenerate",
            events.to_str().unwrap(),
            "--event",
            first["event_id"].as_str().unwrap(),
            "--out-dir",
            cand.to_str().unwrap(),
            "--now",
            "2026-05-01T00:00:00Z",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let suite = tmp.path().join("suite");
    let file = std::fs::read_dir(&cand).unwrap().next().unwrap().unwrap().path();
    let (code, _, err) = ratchet(&repo(), &["promote", file.to_str().unwrap(), "--suite", suite.to_str().unwrap(), "--now", "2026-05-01T00:00:00Z"]);
    assert_eq!(code, 0, "{err}");
    let (path, _) = snapshot(&suite).into_iter().next().unwrap();
    let path = suite.join(path);
    // Archive it the way `tiers --apply` does (tier + history).
    let text = std::fs::read_to_string(&path).unwrap().replace("tier = 'fast'", "tier = 'archive'")
        + "\n[[history]]\nat = '2026-06-01T00:00:00Z'\naction = 'archived'\ndetail = 'fast → archive: no failure for 180 days'\n";
    std::fs::write(&path, text).unwrap();

    // The gate skips it unless asked.
    let (code, _, err) = ratchet(&repo(), &["gate", "--agent", "examples/agents/support-v1.toml", "--suite", suite.to_str().unwrap(), "--no-ledger", "-q"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no scenario"), "{err}");

    // Detect on new production traffic with --match-suite: the second conversation
    // (new evidence) resurrects it.
    let (code, _, err) = ratchet(
        &repo(),
        &["detect", conversations.to_str().unwrap(), "-o", tmp.path().join("ev2.jsonl").to_str().unwrap(), "--match-suite", suite.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("1 archived scenario(s) resurrected"), "{err}");
    let s = ratchet::schema::Scenario::load(&path).unwrap();
    assert_eq!(s.tier, ratchet::schema::Tier::Fast);
    assert_eq!(s.provenance.hits, 2);
    let last = s.history.last().unwrap();
    assert_eq!(last.action, "resurrected");
    assert!(last.detail.contains("chat-2026-11-24-1412-09c1"), "{}", last.detail);
}

#[test]
fn the_nightly_slow_tier_reports_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let tickets = tmp.path().join("tickets");
    let (code, _, err) =
        ratchet(&repo(), &["gate", "--agent", "examples/agents/support-v1.toml", "--no-ledger", "-q", "--no-block", "--tickets", tickets.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("--no-block"), "{err}");
    let list: Value = serde_json::from_str(&std::fs::read_to_string(tickets.join("tickets.json")).unwrap()).unwrap();
    let ids: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["scenario"].as_str().unwrap()).collect();
    assert!(ids.contains(&"cancel-never-started-subscription"), "{ids:?}");
    let md = std::fs::read_to_string(tickets.join("cancel-never-started-subscription.md")).unwrap();
    assert!(md.starts_with("# [ratchet] fail cancel-never-started-subscription"), "{md}");
    assert!(md.contains("no-cancel-without-active-subscription") && md.contains("--id cancel-never-started-subscription"), "{md}");
    // Without --no-block the same run blocks.
    let (code, _, _) = ratchet(&repo(), &["gate", "--agent", "examples/agents/support-v1.toml", "--no-ledger", "-q"]);
    assert_eq!(code, 1);
}
