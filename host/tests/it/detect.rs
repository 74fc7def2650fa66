//! `ratchet detect` and `ratchet rank` end to end: flags the right conversations with
//! the snapshot on failure, streams, rejects bad lines without stopping, partitions
//! without overlap or gap, restarts without double-emitting.

use crate::common::{self, repo};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

fn ratchet_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ratchet")).args(args).current_dir(cwd).env("RATCHET_CACHE_DIR", test_cache_dir()).output().unwrap()
}

/// A JSONL stream: the scorecard's samples (one failing cancellation, one failing
/// refund, one good cancellation), a malformed line, and `extra` more conversations.
fn stream(dir: &Path, extra: usize) -> PathBuf {
    let mut lines = sample_stream_head();
    lines.extend((0..extra).map(|i| sample_extra(i).to_string()));
    let p = dir.join("live.jsonl");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn events(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn flags_failures_with_the_snapshot_and_rejects_bad_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let input = stream(tmp.path(), 0);
    let out = tmp.path().join("events.jsonl");
    let o = ratchet_in(&repo(), &["detect", input.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4) /* rejected lines in the input: exit 4 */, "{err}");
    assert!(err.contains("seen 3, flagged 2") && err.contains("rejected 1"), "{err}");
    assert!(err.contains("live.jsonl:2"), "the reject names the line: {err}");
    let ev = events(&out);
    assert_eq!(ev.len(), 2);
    let tuesday = &ev[0];
    assert_eq!(tuesday["failure_mode"], "cancellation-without-active-subscription");
    assert_eq!(tuesday["reasons"][0]["kind"], "below-threshold");
    assert_eq!(tuesday["scorecards"][0]["name"], "support-policy");
    assert!(tuesday["scorecards"][0]["plugin_digest"].as_str().unwrap().starts_with("sha256:"));
    // The full agent state snapshot travels with the event.
    assert!(tuesday["conversation"]["state"]["tool_registry"].as_array().is_some_and(|t| !t.is_empty()));
    assert_eq!(ev[1]["failure_mode"], "refund-without-supervisor-flag");
    // The event file parses as the published failure-event schema.
    for e in &ev {
        ratchet::schema::parse_json::<ratchet::schema::FailureEvent>(&e.to_string(), "event").unwrap();
    }
    let rejects = std::fs::read_to_string(tmp.path().join("events.jsonl.rejects.jsonl")).unwrap();
    assert!(rejects.contains("live.jsonl:2") && rejects.contains("broken"), "{rejects}");
    #[cfg(unix)]
    {
        // Written via a temporary file and a rename, yet with the permissions
        // `std::fs::write` gives (umask applied), not the temporary file's 0600.
        use std::os::unix::fs::PermissionsExt;
        let plain = tmp.path().join("plain");
        std::fs::write(&plain, "x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&out), mode(&plain));
        assert_eq!(mode(&tmp.path().join("events.jsonl.rejects.jsonl")), mode(&plain));
    }
    // Deterministic: the same input gives the same bytes.
    let out2 = tmp.path().join("again.jsonl");
    ratchet_in(&repo(), &["detect", input.to_str().unwrap(), "--out", out2.to_str().unwrap(), "--jobs", "2"]);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());
}

#[test]
fn partitions_split_the_stream_with_no_overlap_and_no_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let input = stream(tmp.path(), 40);
    let full = tmp.path().join("full.jsonl");
    ratchet_in(&repo(), &["detect", input.to_str().unwrap(), "--out", full.to_str().unwrap()]);
    let mut ids: Vec<String> = Vec::new();
    for k in 1..=3 {
        let out = tmp.path().join(format!("p{k}.jsonl"));
        let o = ratchet_in(&repo(), &["detect", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--partition", &format!("{k}/3")]);
        assert_eq!(o.status.code(), Some(4) /* rejected lines in the input: exit 4 */);
        ids.extend(events(&out).iter().map(|e| e["event_id"].as_str().unwrap().to_string()));
    }
    let mut want: Vec<String> = events(&full).iter().map(|e| e["event_id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    want.sort();
    assert_eq!(ids, want);
    assert!(want.len() > 10);
}

#[test]
fn a_restart_resumes_without_double_emitting() {
    let tmp = tempfile::tempdir().unwrap();
    let input = stream(tmp.path(), 10);
    let text = std::fs::read_to_string(&input).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // First run sees half the stream (as if the producer were still writing).
    let part = tmp.path().join("part.jsonl");
    std::fs::write(&part, lines[..7].join("\n") + "\n").unwrap();
    let out = tmp.path().join("events.jsonl");
    let cp = tmp.path().join("detect.checkpoint");
    let args = |inp: &Path| {
        vec![
            "detect".to_string(),
            inp.display().to_string(),
            "--out".into(),
            out.display().to_string(),
            "--checkpoint".into(),
            cp.display().to_string(),
            "--batch".into(),
            "2".into(),
        ]
    };
    let run = |inp: &Path| ratchet_in(&repo(), &args(inp).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run(&part).status.code(), Some(4) /* rejected lines in the input: exit 4 */);
    // A crash mid-write leaves a torn line behind the last checkpoint.
    std::fs::OpenOptions::new().append(true).open(&out).and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"event_id\": \"torn")).unwrap();
    // The stream grows; the restart resumes after the 7 records already done.
    std::fs::write(&part, text.clone()).unwrap();
    let o = run(&part);
    assert_eq!(o.status.code(), Some(4) /* rejected lines in the input: exit 4 */, "{}", String::from_utf8_lossy(&o.stderr));
    let resumed = events(&out);
    let fresh = tmp.path().join("fresh.jsonl");
    ratchet_in(&repo(), &["detect", input.to_str().unwrap(), "--out", fresh.to_str().unwrap()]);
    assert_eq!(resumed, events(&fresh), "resume must equal one clean run: no duplicates, no torn line");
    let checkpoint: Value = serde_json::from_str(&std::fs::read_to_string(&cp).unwrap()).unwrap();
    assert_eq!(checkpoint["records"], lines.len() as u64);
}

#[test]
fn built_in_triggers_without_scorecards() {
    let tmp = tempfile::tempdir().unwrap();
    let conv = |id: &str, customer: &str, escalated: bool, complaint: bool, flags: &[&str]| {
        serde_json::json!({"id": id, "channel": "chat", "turns": [{"role": "customer", "text": customer}, {"role": "agent", "text": "ok"}],
            "outcome": {"escalated": escalated, "complaint": complaint, "compliance_flags": flags}})
        .to_string()
    };
    let lines = [
        conv("asked-for-human", "Can I talk to a human please?", true, false, &[]),
        conv("escalated-unasked", "Where is my order?", true, false, &[]),
        conv("complained", "This is useless", false, true, &[]),
        conv("pci", "My card is 4111...", false, false, &["pci:card-number-read-back"]),
        conv("fine", "Thanks!", false, false, &[]),
    ];
    let input = tmp.path().join("in.jsonl");
    std::fs::write(&input, lines.join("\n")).unwrap();
    // No ratchet.toml in the temp dir: embedded defaults, built-in rules only.
    let o = ratchet_in(tmp.path(), &["detect", input.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    let got: Vec<(String, String)> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|e| (e["conversation"]["id"].as_str().unwrap().to_string(), e["failure_mode"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("escalated-unasked".to_string(), "unexpected-escalation".to_string()),
            ("complained".to_string(), "customer-complaint".to_string()),
            ("pci".to_string(), "pci:card-number-read-back".to_string()),
        ]
    );
}

#[test]
fn adapters_feed_detection() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = repo().join("plugins/adapter-openai-chat/samples/tuesday-cancellation.json");
    component("adapter-openai-chat");
    let out = tmp.path().join("events.jsonl");
    // `openai-chat` is declared in the repo's ratchet.toml; its path is confined to the root.
    let o = ratchet_in(&repo(), &["detect", sample.to_str().unwrap(), "--adapter", "openai-chat", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let ev = events(&out);
    assert_eq!(ev.len(), 1, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(ev[0]["failure_mode"], "cancellation-without-active-subscription");
}

#[test]
fn rank_puts_the_costliest_failure_mode_first() {
    let tmp = tempfile::tempdir().unwrap();
    let mk = |id: &str, mode: &str, at: &str, revenue: f64, refund: f64| {
        serde_json::json!({"event_id": format!("fe-{id}"), "detected_at": at, "reasons": [{"kind": "complaint"}], "failure_mode": mode,
            "conversation": {"id": id, "channel": "chat", "turns": [], "impact": {"revenue_at_risk": revenue, "refund_amount": refund, "currency": "USD"}}})
        .to_string()
    };
    let lines = [
        mk("a", "wrongful-cancellation", "2026-11-20T09:00:00Z", 49.0, 0.0),
        mk("b", "wrongful-cancellation", "2026-11-21T09:00:00Z", 120.0, 0.0),
        mk("c", "refund-without-supervisor", "2026-11-22T09:00:00Z", 0.0, 19.99),
        mk("d", "refund-without-supervisor", "2026-11-23T09:00:00Z", 0.0, 19.99),
        mk("e", "refund-without-supervisor", "2026-11-24T09:00:00Z", 0.0, 19.99),
        mk("old", "ancient-bug", "2026-01-01T09:00:00Z", 9999.0, 0.0),
    ];
    let p = tmp.path().join("events.jsonl");
    std::fs::write(&p, lines.join("\n")).unwrap();
    let o = ratchet_in(tmp.path(), &["rank", p.to_str().unwrap(), "--since", "30d", "--now", "2026-11-29T00:00:00Z", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let modes = v["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 2, "the 2026-01-01 event is outside the window");
    assert_eq!(modes[0]["failure_mode"], "wrongful-cancellation");
    assert_eq!(modes[0]["count"], 2);
    assert_eq!(modes[0]["cost"], 169.0);
    assert_eq!(modes[0]["example_conversation"], "b", "the costliest conversation is the example");
    assert_eq!(modes[1]["count"], 3);
    let o = ratchet_in(tmp.path(), &["rank", p.to_str().unwrap(), "--since", "1y"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_shipped_adapter_is_named_builtin_on_the_command_line_without_a_project() {
    // A new user: an empty directory, no ratchet.toml, an OTel export, the shipped adapter.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("plugins/adapter-otel-genai/samples/tuesday-cancellation.json"), tmp.path().join("export.json")).unwrap();
    let o = ratchet_in(tmp.path(), &["detect", "export.json", "--adapter", "builtin:adapter-otel-genai", "-o", "events.jsonl"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("seen 1,"), "{err}");
    // An unknown builtin names what is shipped; a missing file says why once.
    let o = ratchet_in(tmp.path(), &["detect", "export.json", "--adapter", "builtin:adapter-nope"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0));
    assert!(err.contains("builtin:adapter-nope: no such shipped plugin") && err.contains("adapter-otel-genai"), "{err}");
    let o = ratchet_in(tmp.path(), &["detect", "export.json", "--adapter", "nothere.wasm"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

#[test]
fn the_tuesday_failure_is_flagged_from_every_source_format() {
    for (adapter, sample, channel) in [
        ("openai-chat", "plugins/adapter-openai-chat/samples/tuesday-cancellation.json", "chat"),
        ("otel-genai", "plugins/adapter-otel-genai/samples/tuesday-cancellation.json", "chat"),
        ("voice-end-of-call", "plugins/adapter-voice-end-of-call/samples/tuesday-voice.json", "voice"),
    ] {
        let o = ratchet_in(&repo(), &["detect", sample, "--adapter", adapter]);
        assert_eq!(o.status.code(), Some(0), "{adapter}: {}", String::from_utf8_lossy(&o.stderr));
        let ev: Vec<Value> = String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(ev.len(), 1, "{adapter}");
        assert_eq!(ev[0]["failure_mode"], "cancellation-without-active-subscription", "{adapter}");
        assert_eq!(ev[0]["conversation"]["channel"], channel, "{adapter}");
    }
    // Malformed vendor exports are rejected with the adapter's message, the rest still processed.
    let tmp = tempfile::tempdir().unwrap();
    let rejects = tmp.path().join("rejects.jsonl");
    let o = ratchet_in(
        &repo(),
        &[
            "detect",
            "plugins/adapter-voice-end-of-call/samples/invalid",
            "plugins/adapter-voice-end-of-call/samples/tuesday-voice.json",
            "--adapter",
            "voice-end-of-call",
            "--rejects",
            rejects.to_str().unwrap(),
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4) /* rejected lines in the input: exit 4 */, "{err}");
    assert!(err.contains("seen 1, flagged 1") && err.contains("rejected 2"), "{err}");
    assert_eq!(std::fs::read_to_string(&rejects).unwrap().lines().count(), 2);
}

#[test]
fn devices_as_outputs_are_written_in_place_not_replaced() {
    // Renaming a temporary file over /dev/null would replace the device itself.
    let tmp = tempfile::tempdir().unwrap();
    let input = stream(tmp.path(), 0);
    let o = ratchet_in(&repo(), &["detect", input.to_str().unwrap(), "--out", "/dev/null", "--rejects", "/dev/null"]);
    assert_eq!(o.status.code(), Some(4) /* rejected lines in the input: exit 4 */, "{}", String::from_utf8_lossy(&o.stderr));
    let meta = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(!meta.file_type().is_file(), "/dev/null must still be a device");
    assert!(ratchet::fsutil::replaceable(&tmp.path().join("new.json")));
    assert!(!ratchet::fsutil::replaceable(Path::new("/dev/null")));
}

#[test]
fn a_scorecard_that_fails_on_every_conversation_exits_3() {
    let tmp = tempfile::tempdir().unwrap();
    // Far too little fuel for any conversation: the plugin is unusable, not the traffic.
    scorecard_project(tmp.path(), "scorecard-support-policy", "policy", "fuel = 1000\n");
    let input = stream(tmp.path(), 2);
    let out = tmp.path().join("events.jsonl");
    let o = ratchet_in(tmp.path(), &["detect", input.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("every conversation (5) failed a scorecard"), "{err}");
    assert!(out.exists() && tmp.path().join("events.jsonl.rejects.jsonl").exists(), "the files are still written");
    let o = ratchet_in(tmp.path(), &["detect", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--processes", "2"]);
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Runs `shell` on a pseudo-terminal (util-linux `script`), as a user at a
/// terminal would; returns the exit code and everything the terminal showed.
fn on_a_terminal(shell: &str, no_progress: bool) -> (Option<i32>, String) {
    let mut c = Command::new("script");
    c.args(["-q", "-e", "-c", shell, "/dev/null"]).current_dir(repo()).env("RATCHET_CACHE_DIR", test_cache_dir()).env("TERM", "xterm");
    if no_progress {
        c.env("RATCHET_NO_PROGRESS", "1");
    } else {
        c.env_remove("RATCHET_NO_PROGRESS");
    }
    let o = c.output().expect("script (util-linux) runs");
    (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned())
}

/// On a terminal detect draws a progress line (conversations, rate, flagged) and
/// clears it, leaving the summary; `RATCHET_NO_PROGRESS` turns it off there; on a
/// pipe nothing is drawn and the output is what it always was.
#[test]
fn progress_line_only_on_a_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let input = stream(tmp.path(), 60);
    let out = tmp.path().join("events.jsonl");
    // The stream arrives in two parts, a second apart, so the line is drawn between
    // them whatever the machine's speed.
    let shell = format!(
        "(head -n 30 '{i}'; sleep 1; tail -n +31 '{i}') | '{bin}' detect - --batch 1 --out '{o}'",
        i = input.display(),
        bin = env!("CARGO_BIN_EXE_ratchet"),
        o = out.display()
    );
    let (code, shown) = on_a_terminal(&shell, false);
    assert_eq!(code, Some(4) /* the stream holds a malformed line */, "{shown}");
    assert!(shown.contains("conversation(s) (") && shown.contains("/s, ") && shown.contains("flagged"), "a progress line: {shown}");
    assert!(shown.contains("detect: seen 63, flagged"), "the summary stays: {shown}");
    let first = std::fs::read(&out).unwrap();

    let (code, shown) = on_a_terminal(&shell, true);
    assert_eq!(code, Some(4), "{shown}");
    assert!(!shown.contains("conversation(s) ("), "RATCHET_NO_PROGRESS: no line: {shown}");
    assert!(shown.contains("detect: seen 63, flagged"), "{shown}");
    assert_eq!(std::fs::read(&out).unwrap(), first, "the events do not depend on the terminal");

    let o = ratchet_in(&repo(), &["detect", input.to_str().unwrap(), "--batch", "1", "--out", out.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(!err.contains("conversation(s) (") && !err.contains('\r'), "not a terminal: no line: {err}");
    assert_eq!(std::fs::read(&out).unwrap(), first);
}

/// `--state`: a side-car keyed by conversation id merges each conversation's own
/// state (its set fields win, routing merged field by field), with canonical input,
/// in one process and across `--processes` alike; one state object applies to
/// every conversation; ids that match nothing are warned about; a bad side-car
/// names its line and exits 2.
#[test]
fn state_side_car_by_conversation_id() {
    let tmp = tempfile::tempdir().unwrap();
    let input = stream(tmp.path(), 6);
    let side = tmp.path().join("state.jsonl");
    std::fs::write(
        &side,
        concat!(
            r#"{"conversation_id": "extra-0000", "state": {"kb_version_hash": "sha256:side", "routing": {"queue": "side-queue"}}}"#,
            "\n",
            r#"{"conversation_id": "extra-0004", "state": {"prompt_version": "support-v9"}}"#,
            "\n",
            r#"{"conversation_id": "not-in-the-stream", "state": {"model": "m"}}"#,
            "\n"
        ),
    )
    .unwrap();
    let (one, many) = (tmp.path().join("one.jsonl"), tmp.path().join("many.jsonl"));
    let o = ratchet_in(&repo(), &["detect", input.to_str().unwrap(), "--state", side.to_str().unwrap(), "--out", one.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4) /* the stream's malformed line */, "{err}");
    assert!(err.contains("side-car state 2"), "two conversations got a state: {err}");
    let by_id = |p: &Path| -> std::collections::BTreeMap<String, Value> {
        events(p).into_iter().map(|e| (e["conversation"]["id"].as_str().unwrap().to_string(), e["conversation"]["state"].clone())).collect()
    };
    let states = by_id(&one);
    assert_eq!(states["extra-0000"]["kb_version_hash"], "sha256:side", "{}", states["extra-0000"]);
    assert_eq!(states["extra-0000"]["routing"]["queue"], "side-queue");
    assert!(states["extra-0000"]["memory_snapshot"].is_array(), "what the side-car does not set stays");
    assert_eq!(states["extra-0004"]["prompt_version"], "support-v9");
    assert_ne!(states["extra-0002"]["prompt_version"], "support-v9", "no entry: untouched");

    let o = ratchet_in(&repo(), &["detect", input.to_str().unwrap(), "--state", side.to_str().unwrap(), "--processes", "2", "--out", many.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("side-car state 2"), "{err}");
    assert_eq!(std::fs::read(&many).unwrap(), std::fs::read(&one).unwrap(), "the same events from two processes");

    // One state object: every conversation.
    let all = tmp.path().join("all.json");
    std::fs::write(&all, r#"{"kb_version_hash": "sha256:everyone"}"#).unwrap();
    let o = ratchet_in(&repo(), &["detect", input.to_str().unwrap(), "--state", all.to_str().unwrap(), "--out", one.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("side-car state 9"), "{err}");
    assert!(by_id(&one).values().all(|s| s["kb_version_hash"] == "sha256:everyone"));

    // Ids that match nothing: a warning, not a silent no-op.
    let stray = tmp.path().join("stray.jsonl");
    std::fs::write(&stray, "{\"conversation_id\": \"nobody\", \"state\": {\"model\": \"m\"}}\n").unwrap();
    let o = ratchet_in(&repo(), &["detect", input.to_str().unwrap(), "--state", stray.to_str().unwrap(), "--out", one.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("none of the 1 conversation id(s) in the --state side-car matched"), "{err}");

    // A bad side-car: exit 2 before reading anything, naming the file and line.
    std::fs::write(&stray, "{\"conversation_id\": \"a\", \"state\": {}}\n{\"conversation_id\": \"a\", \"state\": {}}\n").unwrap();
    let o = ratchet_in(&repo(), &["detect", input.to_str().unwrap(), "--state", stray.to_str().unwrap(), "--out", one.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("stray.jsonl:2: conversation `a` has a side-car state already"), "{err}");
}
