//! Hostile files never escape: what an adversarial campaign found, kept as tests.
//! Each runs the real `ratchet` binary in a scratch project and asserts the exit
//! code, a message naming the file and field, and that nothing outside the project
//! (or outside the directory ratchet manages) was touched.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary under test: this build's, or `RATCHET_TEST_BIN` (to check that a test
/// fails on a build without the fix it guards).
fn bin() -> PathBuf {
    std::env::var_os("RATCHET_TEST_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ratchet")))
}

fn ratchet(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).current_dir(dir).args(args).env("NO_COLOR", "1").output().expect("run ratchet");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn scenario_with_id(id: &str) -> String {
    format!("id = {id:?}\ntitle = \"hostile\"\nfailure_mode = \"m\"\n\n[[turns]]\ntext = \"hi\"\n\n[[criteria]]\nid = \"c\"\nkind = \"must-escalate\"\n")
}

/// A project in `tmp/project` with a ratchet.toml whose bytes must never change.
fn project(tmp: &Path) -> PathBuf {
    let p = tmp.join("project");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("ratchet.toml"), "# mine: never overwritten\n").unwrap();
    p
}

#[test]
fn a_scenario_id_that_is_a_path_is_refused_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    let outside = tmp.path().join("owned");
    for id in ["../../ratchet", "../ratchet", outside.to_str().unwrap(), "a/b", ".hidden", "x\\..\\y"] {
        std::fs::write(p.join("evil.toml"), scenario_with_id(id)).unwrap();
        let (code, _, err) = ratchet(&p, &["validate", "evil.toml"]);
        assert_eq!(code, 2, "validate {id:?}: {err}");
        assert!(err.contains("evil.toml:1") && err.contains("field `id`"), "validate names file, line and field: {err}");
        let (code, _, err) = ratchet(&p, &["promote", "--suite", "suite", "evil.toml"]);
        assert_eq!(code, 2, "promote {id:?}: {err}");
        assert!(err.contains("field `id`"), "{err}");
        // A suite holding the file is refused by the gate before anything runs.
        std::fs::create_dir_all(p.join("bad-suite")).unwrap();
        std::fs::copy(p.join("evil.toml"), p.join("bad-suite/evil.toml")).unwrap();
        let agent = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/agents/support-v1.toml");
        let (code, _, err) = ratchet(&p, &["gate", "--suite", "bad-suite", "--agent", agent, "--tickets", "tix"]);
        assert_eq!(code, 2, "gate {id:?}: {err}");
        assert!(err.contains("evil.toml:1") && err.contains("field `id`"), "gate names the file and field: {err}");
        assert!(!p.join("tix").exists(), "no ticket written");
    }
    assert_eq!(std::fs::read_to_string(p.join("ratchet.toml")).unwrap(), "# mine: never overwritten\n");
    assert!(!outside.with_extension("toml").exists() && !outside.exists());
    assert!(!tmp.path().join("ratchet.toml").exists());
}

#[test]
fn a_promoted_file_never_lands_outside_the_suite_through_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(p.join("suite")).unwrap();
    // The failure-mode folder the scenario would be added to is a symlink out.
    #[cfg(unix)]
    std::os::unix::fs::symlink(&elsewhere, p.join("suite/m")).unwrap();
    std::fs::write(p.join("good.toml"), scenario_with_id("good-one")).unwrap();
    let (code, _, err) = ratchet(&p, &["promote", "--suite", "suite", "good.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "nothing written through the symlink");
}

/// `n` small conversations (JSONL) the built-in triggers flag every third of (a
/// complaint), so detect needs no plugin; one line in 7 does not parse (a reject).
fn conversations(n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        if i % 7 == 3 {
            out.push_str("{\"id\": \"broken\", \"channel\": \n");
            continue;
        }
        let c = serde_json::json!({"id": format!("c{i:05}"), "channel": "chat",
            "turns": [{"role": "customer", "text": format!("order {i} is late")}, {"role": "agent", "text": "sorry"}],
            "outcome": {"complaint": i % 3 == 0}});
        out.push_str(&c.to_string());
        out.push('\n');
    }
    out
}

/// A project with no plugin (built-in triggers only) and an input stream of `n` records.
fn detect_project(tmp: &Path, n: usize) -> PathBuf {
    let p = project(tmp);
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    std::fs::write(p.join("in.jsonl"), conversations(n)).unwrap();
    p
}

#[test]
fn a_checkpoint_whose_output_was_removed_or_cut_is_refused_never_nul_filled() {
    let tmp = tempfile::tempdir().unwrap();
    let p = detect_project(tmp.path(), 60);
    let args = ["detect", "in.jsonl", "--out", "ev.jsonl", "--checkpoint", "ev.ckpt", "--batch", "10"];
    let (code, _, err) = ratchet(&p, &args);
    assert_eq!(code, 4, "{err}"); // the input holds rejected lines: exit 4
    let full = std::fs::read(p.join("ev.jsonl")).unwrap();
    let rejects = std::fs::read(p.join("ev.jsonl.rejects.jsonl")).unwrap();
    assert!(!full.is_empty() && !rejects.is_empty());
    for (what, file, keep) in [("removed", "ev.jsonl", None), ("cut", "ev.jsonl", Some(full.len() / 2)), ("removed", "ev.jsonl.rejects.jsonl", None)] {
        std::fs::write(p.join("ev.jsonl"), &full).unwrap();
        std::fs::write(p.join("ev.jsonl.rejects.jsonl"), &rejects).unwrap();
        let original = std::fs::read(p.join(file)).unwrap();
        match keep {
            None => std::fs::remove_file(p.join(file)).unwrap(),
            Some(n) => std::fs::write(p.join(file), &original[..n]).unwrap(),
        }
        let (code, _, err) = ratchet(&p, &args);
        assert_eq!(code, 2, "{what} {file}: {err}");
        assert!(err.contains(file) && err.contains("ev.ckpt"), "the message names the file and the checkpoint: {err}");
        match keep {
            None => assert!(!p.join(file).exists(), "{file} is not recreated"),
            Some(n) => assert_eq!(std::fs::read(p.join(file)).unwrap(), &original[..n], "{file} is left as it was"),
        }
    }
    // Starting over (no checkpoint) rewrites the output from the first record.
    std::fs::remove_file(p.join("ev.ckpt")).unwrap();
    std::fs::remove_file(p.join("ev.jsonl")).unwrap();
    let (code, _, err) = ratchet(&p, &args);
    assert_eq!(code, 4, "{err}"); // the input holds rejected lines: exit 4
    assert_eq!(std::fs::read(p.join("ev.jsonl")).unwrap(), full);
}

/// A small exec agent (Python, stdlib) whose misbehaviour is picked by its first
/// argument: `ok` answers every message; `fork` starts a sleeping child that keeps
/// its stdout open and exits after `ready` (`forkhang`: and then never answers);
/// `utf8` answers with bytes that are not
/// UTF-8; `dup` makes two tool calls with the same call_id in one turn.
const TINY_AGENT: &str = r#"
import json, os, sys, time
mode = sys.argv[1]
def out(m):
    sys.stdout.write(json.dumps(m) + "\n"); sys.stdout.flush()
calls = 0
for line in sys.stdin:
    m = json.loads(line)
    t = m["type"]
    if t == "hello":
        out({"type": "ready", "protocol": 1, "agent": "tiny", "version": "1"})
        if mode in ("fork", "forkhang"):
            if os.fork() == 0:
                with open(sys.argv[2], "w") as f:
                    f.write(str(os.getpid()))
                time.sleep(300)
                os._exit(0)
            time.sleep(0.2)
            if mode == "fork":
                sys.exit(0)
    elif t == "customer.message":
        if mode == "forkhang":
            time.sleep(300)
        if mode == "utf8":
            sys.stdout.buffer.write(b'{"type": "agent.message", "session": "' + m["session"].encode() + b'", "text": "caf\xe9"}\n'); sys.stdout.flush()
        elif mode == "dup":
            calls = 1
            out({"type": "tool.call", "session": m["session"], "call_id": "c1", "name": "lookup", "arguments": {}})
        else:
            out({"type": "agent.message", "session": m["session"], "text": "ok"})
    elif t == "tool.result":
        if calls == 1:
            calls = 2
            out({"type": "tool.call", "session": m["session"], "call_id": "c1", "name": "lookup", "arguments": {"again": True}})
        else:
            out({"type": "agent.message", "session": m["session"], "text": "done"})
    elif t == "session.end":
        out({"type": "session.ended", "session": m["session"]})
"#;

/// Write the tiny agent and its agent file (`agent-<mode>.toml`) into project `p`.
fn tiny_agent(p: &Path, mode: &str, extra_args: &[&str]) -> PathBuf {
    std::fs::write(p.join("tiny_agent.py"), TINY_AGENT).unwrap();
    let mut command = vec!["python3".to_string(), "tiny_agent.py".into(), mode.into()];
    command.extend(extra_args.iter().map(|s| s.to_string()));
    let file = p.join(format!("agent-{mode}.toml"));
    std::fs::write(&file, format!("[agent]\nname = \"tiny-{mode}\"\ndriver = \"exec\"\ncommand = {command:?}\nturn_timeout_ms = 5000\n")).unwrap();
    file
}

/// A suite of `n` trivial scenarios (`s00`, `s01`...) in `p/suite`.
fn tiny_suite(p: &Path, n: usize) {
    std::fs::create_dir_all(p.join("suite")).unwrap();
    for i in 0..n {
        std::fs::write(p.join(format!("suite/s{i:02}.toml")), scenario_with_id(&format!("s{i:02}"))).unwrap();
    }
}

#[test]
fn concurrent_gates_lose_no_ledger_line() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    let n = 8;
    tiny_suite(&p, n);
    let agent = tiny_agent(&p, "ok", &[]);
    for round in 1..=2 {
        let children: Vec<_> = (0..n)
            .map(|i| {
                Command::new(bin())
                    .current_dir(&p)
                    .args(["gate", "--suite", "suite", "--agent", agent.to_str().unwrap(), "--id", &format!("s{i:02}"), "-q"])
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let ledger = std::fs::read_to_string(p.join("suite/ledger.jsonl")).unwrap();
        assert_eq!(ledger.lines().count(), n * round, "every run's line is kept:\n{ledger}");
    }
}

#[test]
fn report_merge_refuses_an_incomplete_or_overlapping_set_of_shards() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    tiny_suite(&p, 6);
    let agent = tiny_agent(&p, "ok", &[]);
    let shard = |k: &str| {
        let out = format!("{}.json", k.replace('/', "-of-"));
        let (code, _, err) = ratchet(&p, &["gate", "--suite", "suite", "--agent", agent.to_str().unwrap(), "--shard", k, "--json", &out, "--no-ledger", "-q"]);
        assert!(matches!(code, 0 | 1), "{err}");
        out
    };
    let (s1, s2, s3, s4) = (shard("1/4"), shard("2/4"), shard("3/4"), shard("4/4"));
    let half = shard("1/2");
    let merge = |files: &[&str]| {
        let mut args = vec!["report", "merge"];
        args.extend(files);
        args.extend(["--json", "merged.json"]);
        let _ = std::fs::remove_file(p.join("merged.json"));
        ratchet(&p, &args)
    };
    let (code, _, err) = merge(&[&s1]);
    assert_eq!(code, 2, "one shard of four is not the gate: {err}");
    assert!(err.contains("2/4") && err.contains("3/4") && err.contains("4/4") && err.contains("missing"), "names the missing shards: {err}");
    assert!(!p.join("merged.json").exists(), "nothing written for an incomplete set");
    let (code, _, err) = merge(&[&s1, &s2, &s2, &s3, &s4]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("2/4") && err.contains(&s2), "names the overlapping shard and file: {err}");
    let (code, _, err) = merge(&[&s1, &s2, &half]);
    assert_eq!(code, 2, "shards of different splits: {err}");
    assert!(err.contains(&half), "{err}");
    let (code, _, err) = merge(&[&s3, &s1, &s4, &s2]);
    assert!(matches!(code, 0 | 1), "the full set merges: {err}");
    let merged: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p.join("merged.json")).unwrap()).unwrap();
    assert_eq!(merged["scenarios"].as_array().unwrap().len(), 6);
    // Two of four are as incomplete as one; a whole run stands alone.
    let (code, _, err) = merge(&[&s1, &s2]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = ratchet(&p, &["gate", "--suite", "suite", "--agent", agent.to_str().unwrap(), "--json", "whole.json", "--no-ledger", "-q"]);
    assert!(matches!(code, 0 | 1), "{err}");
    let (code, _, err) = merge(&["whole.json"]);
    assert!(matches!(code, 0 | 1), "{err}");
    let (code, _, err) = merge(&["whole.json", &s1]);
    assert_eq!(code, 2, "a whole run overlaps any shard: {err}");
}

const NOW: &str = "2026-11-29T00:00:00Z";

/// A scenario last seen in production long before [`NOW`]: `tiers` archives it.
fn idle_scenario(id: &str) -> String {
    format!("tier = \"fast\"\n{}\n[provenance]\nfirst_seen = \"2020-01-01T00:00:00Z\"\nlast_seen = \"2020-01-02T00:00:00Z\"\n", scenario_with_id(id))
}

/// Every file under `dir` (relative path → bytes), following no symlink.
fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.insert(e.path().strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

#[test]
fn tiers_undo_never_follows_a_path_out_of_the_suite() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    std::fs::create_dir_all(p.join("suite")).unwrap();
    std::fs::write(p.join("suite/a.toml"), idle_scenario("a")).unwrap();
    let outside = tmp.path().join("outside.toml");
    std::fs::write(&outside, idle_scenario("outside")).unwrap();
    for (file, shown) in [(outside.to_str().unwrap(), "moves[1].file"), ("../../outside.toml", "moves[1].file"), ("../ratchet.toml", "moves[1].file")] {
        let log = serde_json::json!({"at": NOW, "moves": [
            {"file": "a.toml", "id": "a", "from": "archive", "to": "fast", "why": "x"},
            {"file": file, "id": "outside", "from": "archive", "to": "fast", "why": "x"}]});
        std::fs::write(p.join("suite/.ratchet-tiers-last.json"), log.to_string()).unwrap();
        let before = tree(&p);
        let (code, _, err) = ratchet(&p, &["tiers", "--suite", "suite", "--undo", "--now", NOW]);
        assert_eq!(code, 2, "{file}: {err}");
        assert!(err.contains(".ratchet-tiers-last.json") && err.contains(shown) && err.contains("leaves"), "names the log, the field and why: {err}");
        assert_eq!(tree(&p), before, "nothing in the project changed");
    }
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), idle_scenario("outside"));
}

#[cfg(unix)]
#[test]
fn a_symlinked_ledger_or_suite_folder_is_not_written_through() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    tiny_suite(&p, 2);
    let agent = tiny_agent(&p, "ok", &[]);
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("ledger.jsonl"), "precious\n").unwrap();
    std::os::unix::fs::symlink(outside.join("ledger.jsonl"), p.join("suite/ledger.jsonl")).unwrap();
    let (code, _, err) = ratchet(&p, &["gate", "--suite", "suite", "--agent", agent.to_str().unwrap(), "-q"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ledger.jsonl") && err.contains("symlink"), "{err}");
    assert!(!err.contains("FAIL") && !err.contains("scenario(s):"), "refused before any scenario ran: {err}");
    assert_eq!(std::fs::read_to_string(outside.join("ledger.jsonl")).unwrap(), "precious\n");
    std::fs::remove_file(p.join("suite/ledger.jsonl")).unwrap();

    // A failure-mode folder of the suite that is a symlink out: tiers --apply would edit through it.
    std::fs::write(outside.join("idle.toml"), idle_scenario("idle")).unwrap();
    std::os::unix::fs::symlink(&outside, p.join("suite/m")).unwrap();
    let (code, _, err) = ratchet(&p, &["tiers", "--suite", "suite", "--apply", "--now", NOW]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(std::fs::read_to_string(outside.join("idle.toml")).unwrap(), idle_scenario("idle"), "the file behind the symlink is unchanged");
}

#[test]
fn a_directory_named_ratchet_toml_is_an_error_not_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    std::fs::create_dir_all(p.join("sub/ratchet.toml")).unwrap();
    tiny_suite(&p.join("sub"), 1);
    let (code, _, err) = ratchet(&p.join("sub"), &["status", "--suite", "suite"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("ratchet.toml") && err.contains("not a regular file"), "{err}");
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[cfg(target_os = "linux")]
#[test]
fn an_agents_forked_child_dies_with_it_and_the_reason_says_the_agent_exited() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    tiny_suite(&p, 1);
    let pid_file = tmp.path().join("child.pid");
    let agent = tiny_agent(&p, "fork", &[pid_file.to_str().unwrap()]);
    let started = std::time::Instant::now();
    let (code, _, err) = ratchet(&p, &["gate", "--suite", "suite", "--agent", agent.to_str().unwrap(), "--no-ledger"]);
    let took = started.elapsed();
    assert_eq!(code, 1, "an agent that exits mid-session is an error verdict: {err}");
    assert!(err.contains("exited unexpectedly (exit status: 0)") && !err.contains("did not answer"), "the reason says the agent exited: {err}");
    assert!(took < std::time::Duration::from_secs(4), "noticed at once, not at the 5 s turn timeout ({took:?})");
    let child: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while !gone(child) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(gone(child), "the sleeping child {child} the agent forked outlived the gate");
}

#[test]
fn a_missing_agent_program_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    tiny_suite(&p, 2);
    for command in [r#"["./no-such-agent"]"#, r#"["no-such-program-for-ratchet", "x"]"#, r#"["bin/agent.py"]"#] {
        std::fs::write(p.join("agent.toml"), format!("[agent]\ndriver = \"exec\"\ncommand = {command}\n")).unwrap();
        let (code, _, err) = ratchet(&p, &["gate", "--suite", "suite", "--agent", "agent.toml", "--json", "out.json"]);
        assert_eq!(code, 2, "{command}: {err}");
        assert!(err.contains("agent.toml") && err.contains("agent.command"), "names the file and field: {err}");
        assert!(!p.join("out.json").exists() && !p.join("suite/ledger.jsonl").exists(), "nothing run, nothing written");
    }
}

#[test]
fn an_agent_that_writes_bad_utf8_or_reuses_a_call_id_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    tiny_suite(&p, 1);
    for (mode, expect) in
        [("utf8", "agent `tiny-utf8` (python3 tiny_agent.py utf8) wrote a line that is not UTF-8"), ("dup", "call_id `c1` was used twice in one turn")]
    {
        let agent = tiny_agent(&p, mode, &[]);
        let (code, out, err) = ratchet(&p, &["gate", "--suite", "suite", "--agent", agent.to_str().unwrap(), "--no-ledger", "--format", "json"]);
        assert_eq!(code, 1, "{mode}: {err}");
        let report: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(report["scenarios"][0]["verdict"], "error", "{mode}: {out}");
        let reason = report["scenarios"][0]["attempts"][0]["error"].as_str().unwrap();
        assert!(reason.contains(expect), "{mode}: {reason}");
        assert!(!out.contains('\u{fffd}'), "nothing decoded lossily: {out}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn a_gate_stopped_by_a_signal_takes_its_agents_process_group_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    tiny_suite(&p, 1);
    let pid_file = tmp.path().join("child.pid");
    let agent = tiny_agent(&p, "forkhang", &[pid_file.to_str().unwrap()]);
    let mut gate = Command::new(bin())
        .current_dir(&p)
        .args(["gate", "--suite", "suite", "--agent", agent.to_str().unwrap(), "--no-ledger", "-q"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(4);
    while !pid_file.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let child: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    assert!(!gone(child));
    Command::new("kill").args(["-TERM", &gate.id().to_string()]).status().unwrap();
    let status = gate.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(15), "the gate still dies of the signal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    while !gone(child) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(gone(child), "the agent's child {child} outlived the stopped gate");
}

#[test]
fn the_markdown_report_and_tickets_escape_html_from_scenarios_and_agents() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    std::fs::create_dir_all(p.join("suite")).unwrap();
    // The agent's reply is quoted in the reason; the title and failure mode are the scenario's.
    let hostile = "<script>alert(1)</script>";
    let scenario = format!(
        "id = \"x\"\ntitle = \"{hostile} title\"\nfailure_mode = \"<b>mode</b> | cell\"\n\n[[turns]]\ntext = \"hi\"\n\n[[criteria]]\nid = \"c\"\nkind = \"must-not-say\"\npattern = \"img\"\n"
    );
    std::fs::write(p.join("suite/x.toml"), scenario).unwrap();
    std::fs::write(
        p.join("evil_agent.py"),
        TINY_AGENT
            .replace("\"text\": \"ok\"", "\"text\": \"<img src=x onerror=alert(1)> ```\\n| [link](javascript:alert(1))\"")
            .replace("\"agent\": \"tiny\"", "\"agent\": \"<i>evil</i>\""),
    )
    .unwrap();
    std::fs::write(p.join("evil.toml"), "[agent]\nname = \"<i>evil</i>\"\ndriver = \"exec\"\ncommand = [\"python3\", \"evil_agent.py\", \"ok\"]\n").unwrap();
    let (code, _, err) =
        ratchet(&p, &["gate", "--suite", "suite", "--agent", "evil.toml", "--markdown", "summary.md", "--tickets", "tix", "--no-ledger", "-q"]);
    assert_eq!(code, 1, "{err}");
    for file in ["summary.md", "tix/x.md"] {
        let md = std::fs::read_to_string(p.join(file)).unwrap();
        for raw in ["<script", "<img", "<b>", "<i>", "link](javascript"] {
            // Raw HTML or a link may only appear inside a code span or block (shown verbatim).
            let outside_code: String = md
                .split("\n```")
                .enumerate()
                .filter(|(i, _)| i % 2 == 0)
                .map(|(_, part)| part.split('`').enumerate().filter(|(i, _)| i % 2 == 0).map(|(_, t)| t).collect::<String>())
                .collect();
            assert!(!outside_code.contains(raw), "{file}: `{raw}` outside code:\n{md}");
        }
        assert!(md.contains("&lt;script&gt;") || md.contains("&lt;img"), "{file}: escaped, not dropped:\n{md}");
    }
    let md = std::fs::read_to_string(p.join("summary.md")).unwrap();
    let row = md.lines().find(|l| l.starts_with("| fail")).unwrap();
    assert_eq!(row.matches(" | ").count(), 5, "the hostile text did not add a table cell: {row}");
}

#[test]
fn gate_checks_its_output_paths_before_running_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    tiny_suite(&p, 2);
    let started = tmp.path().join("agent-started");
    let agent = tiny_agent(&p, "fork", &[started.to_str().unwrap()]);
    std::fs::create_dir_all(p.join("a-dir")).unwrap();
    std::fs::write(p.join("a-file"), "x").unwrap();
    for (flag, path) in [("--junit", "a-dir"), ("--json", "a-file/r.json"), ("--markdown", "a-dir"), ("--html", "a-file/x/r.html"), ("--tickets", "a-file")] {
        let (code, _, err) = ratchet(&p, &["gate", "--suite", "suite", "--agent", agent.to_str().unwrap(), flag, path]);
        assert_eq!(code, 2, "{flag} {path}: {err}");
        assert!(err.contains(flag) && err.contains(path), "names the option and path: {err}");
        assert!(!started.exists(), "{flag} {path}: the agent was started before the output was checked");
        assert!(!p.join("suite/ledger.jsonl").exists(), "no ledger line for a run that did not happen");
    }
}

#[test]
fn temporary_files_of_killed_runs_are_removed_by_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let p = detect_project(tmp.path(), 20);
    tiny_suite(&p, 2);
    std::fs::create_dir_all(p.join("suite/m")).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    let plant = |rel: &str, mtime: Option<std::time::SystemTime>| {
        let f = std::fs::File::create(p.join(rel)).unwrap();
        if let Some(t) = mtime {
            f.set_modified(t).unwrap();
        }
    };
    let me = std::process::id();
    // Writers that are gone (a pid beyond any pid_max), an ownerless old one, and
    // files that must stay: a live writer's, a fresh ownerless one, not ours at all.
    let stale = [
        "suite/.s00.toml.4294967.aBc123.tmp",
        "suite/m/.x.toml.promote.4294967.tmp",
        "suite/.ledger.jsonl.4294967.zzzzzz.tmp",
        "suite/.tmpAbCdEf",
        ".ev.jsonl.4294967.q1w2e3.tmp",
    ];
    let live = format!("suite/.s01.toml.{me}.aBc123.tmp");
    let kept = [live.as_str(), "suite/.tmpXyZ123", "suite/m/.keep.tmp", ".other.json.4294967.q1w2e3.tmp"];
    for f in stale {
        plant(f, Some(old));
    }
    for f in kept {
        plant(f, None);
    }
    let (code, _, err) = ratchet(&p, &["tiers", "--suite", "suite", "--apply", "--now", NOW]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = ratchet(&p, &["detect", "in.jsonl", "--out", "ev.jsonl"]);
    assert_eq!(code, 4, "{err}"); // the input holds rejected lines: exit 4
    for f in stale {
        assert!(!p.join(f).exists(), "{f} survived the next run");
    }
    for f in kept {
        assert!(p.join(f).exists(), "{f} must not be removed");
    }
}
