//! `gate --concurrent-sessions`: every worker's sessions on one exec agent process.
//! The example agent (which declares `concurrent_sessions: true`) gives the same
//! results as with a process per worker, from one process; a session that hangs
//! is retired without killing the others; a crash ends only the process, and the
//! next session starts another; an agent that declares `false` is refused.

use crate::common::{gate_report, scenario_results};

use std::path::{Path, PathBuf};

/// An agent file whose command notes each start in `starts` and then runs `command`.
fn counted(dir: &Path, starts: &Path, command: &str) -> PathBuf {
    let p = dir.join("agent.toml");
    let shell = format!("echo started >> '{}'; exec {command}", starts.display());
    std::fs::write(&p, format!("[agent]\nname = \"a\"\ndriver = \"exec\"\ncommand = [\"sh\", \"-c\", {shell:?}]\nturn_timeout_ms = 3000\n")).unwrap();
    p
}

fn starts(p: &Path) -> usize {
    std::fs::read_to_string(p).map(|t| t.lines().count()).unwrap_or(0)
}

#[test]
fn one_process_gives_the_results_of_one_per_worker() {
    let tmp = tempfile::tempdir().unwrap();
    for version in ["support-v1", "support-v2", "support-v3"] {
        let log = tmp.path().join(format!("{version}.starts"));
        let agent = counted(tmp.path(), &log, &format!("python3 examples/agents/support_agent.py --prompt-version {version}"));
        let (c1, shared, err) = gate_report(&agent, &["-j", "4", "--concurrent-sessions"]);
        assert_eq!(starts(&log), 1, "{version}: one process for four workers: {err}");
        std::fs::remove_file(&log).unwrap();
        let (c2, per_worker, err) = gate_report(&agent, &["-j", "4"]);
        assert_eq!(starts(&log), 4, "{version}: a process per worker: {err}");
        assert_eq!(c1, c2, "{version}");
        assert_eq!(scenario_results(&shared), scenario_results(&per_worker), "{version}: the same verdicts, criteria and transcripts");
        assert!(scenario_results(&shared).iter().all(|r| r.1 != "error"), "{version}: {shared}");
    }
}

/// A tiny agent that serves sessions interleaved: it replies at once, except that
/// it never answers scenario HANG, exits on scenario CRASH and prints a line that is
/// not a protocol message on scenario GARBAGE.
const TINY: &str = r#"
import json, sys
concurrent = sys.argv[1] == "true"
scenario_of = {}
def out(m):
    print(json.dumps(m), flush=True)
for line in sys.stdin:
    m = json.loads(line)
    t, s = m["type"], m.get("session")
    if t == "hello":
        out({"type": "ready", "protocol": 1, "agent": "tiny", "version": "1", "concurrent_sessions": concurrent})
    elif t == "session.start":
        scenario_of[s] = m["scenario"]
    elif t == "customer.message":
        if scenario_of[s] == sys.argv[2]:
            continue
        if scenario_of[s] == sys.argv[3]:
            sys.exit(3)
        if scenario_of[s] == sys.argv[4]:
            print("this is not json", flush=True)
            continue
        out({"type": "agent.message", "session": s, "text": "Let me get a colleague for you."})
    elif t == "session.end":
        out({"type": "session.ended", "session": s})
"#;

fn tiny(dir: &Path, starts: &Path, concurrent: bool, hang: &str, crash: &str, garbage: &str) -> PathBuf {
    let script = dir.join("tiny.py");
    std::fs::write(&script, TINY).unwrap();
    counted(dir, starts, &format!("python3 '{}' {concurrent} {hang} {crash} {garbage}", script.display()))
}

/// The example scenarios without an LLM-judged criterion (whose recordings hold the
/// example agent's answers, not the tiny one's).
const FOUR: [&str; 8] = [
    "--id",
    "cancel-never-started-subscription",
    "--id",
    "escalate-when-asked-for-human",
    "--id",
    "happy-path-cancel-active",
    "--id",
    "refund-without-supervisor-flag",
];

#[test]
fn a_hung_session_is_retired_and_a_crash_ends_only_the_process() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("starts");
    let agent = tiny(tmp.path(), &log, true, "happy-path-cancel-active", "none", "none");
    let (_, report, err) = gate_report(&agent, &[&FOUR[..], &["-j", "4", "--concurrent-sessions"]].concat());
    let r = scenario_results(&report);
    let hung: Vec<_> = r.iter().filter(|x| x.1 == "error").collect();
    assert_eq!(hung.len(), 1, "only the hung session: {report}");
    assert_eq!(hung[0].0, "happy-path-cancel-active");
    assert!(hung[0].4.as_str().unwrap().contains("did not answer within 3000 ms (turn timeout)"), "{:?}", hung[0].4);
    assert_eq!(starts(&log), 1, "the others kept the process: {err}");

    // One worker, so the crash meets no other session in flight: the crashed one is
    // an error, the next scenario starts a fresh process and is judged as usual.
    std::fs::remove_file(&log).unwrap();
    let agent = tiny(tmp.path(), &log, true, "none", "escalate-when-asked-for-human", "none");
    let (_, report, err) = gate_report(&agent, &[&FOUR[..], &["-j", "1", "--concurrent-sessions"]].concat());
    let r = scenario_results(&report);
    let errors: Vec<_> = r.iter().filter(|x| x.1 == "error").map(|x| (x.0.as_str(), x.4.as_str().unwrap_or(""))).collect();
    assert_eq!(errors.len(), 1, "{report}");
    assert_eq!(errors[0].0, "escalate-when-asked-for-human");
    assert!(errors[0].1.contains("the agent exited unexpectedly (exit status: 3)"), "{}", errors[0].1);
    assert_eq!(starts(&log), 2, "a fresh process after the crash: {err}");

    // A line that is not a protocol message cannot be routed: the process ends, that
    // session is an error naming the line, the next session starts a fresh process.
    std::fs::remove_file(&log).unwrap();
    let agent = tiny(tmp.path(), &log, true, "none", "none", "escalate-when-asked-for-human");
    let (_, report, err) = gate_report(&agent, &[&FOUR[..], &["-j", "1", "--concurrent-sessions"]].concat());
    let r = scenario_results(&report);
    let errors: Vec<_> = r.iter().filter(|x| x.1 == "error").map(|x| (x.0.as_str(), x.4.as_str().unwrap_or(""))).collect();
    assert_eq!(errors.len(), 1, "{report}");
    assert_eq!(errors[0].0, "escalate-when-asked-for-human");
    assert!(errors[0].1.contains("not a protocol message") && errors[0].1.contains("this is not json"), "{}", errors[0].1);
    assert_eq!(starts(&log), 2, "a fresh process after the garbage: {err}");
}

#[test]
fn an_agent_that_serves_one_session_at_a_time_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("starts");
    let agent = tiny(tmp.path(), &log, false, "none", "none", "none");
    let (code, report, err) = gate_report(&agent, &["--id", "happy-path-cancel-active", "--concurrent-sessions"]);
    assert_ne!(code, 0);
    let e = report["scenarios"][0]["attempts"][0]["error"].as_str().unwrap_or_default().to_string();
    assert!(e.contains("declares `concurrent_sessions: false`") && e.contains("without --concurrent-sessions"), "{e} {err}");

    let http = tmp.path().join("http.toml");
    std::fs::write(&http, "[agent]\ndriver = \"http\"\nurl = \"http://127.0.0.1:9/\"\n").unwrap();
    let (code, _, err) = gate_report(&http, &["--concurrent-sessions"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--concurrent-sessions") && err.contains("http"), "{err}");
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[agent]\ndriver = \"http\"\nurl = \"http://127.0.0.1:9/\"\nconcurrent_sessions = true\n").unwrap();
    let (code, _, err) = gate_report(&bad, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("agent.concurrent_sessions"), "{err}");
}
