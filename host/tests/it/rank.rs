//! `rank` and `regenerate` on incomplete or hostile exports: events without a time
//! or an impact are ranked (by count) and regenerated (in input order), and the
//! output says so; dates that are not RFC 3339 and impacts that are not finite,
//! non-negative amounts are refused where they are read, naming the file, line and
//! field; `rank` exits 2 when no record is readable and never prints `inf`/`NaN`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

fn ratchet_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ratchet")).args(args).current_dir(cwd).output().unwrap()
}

/// A failure event of `mode` whose scorecard suggests `must-escalate` (so it
/// regenerates without plugins); `extra` is merged into the event, `conv` into its conversation.
fn event(id: &str, mode: &str, extra: Value, conv: Value) -> String {
    let mut e = json!({
        "event_id": format!("fe-{id}"), "reasons": [{"kind": "complaint"}], "failure_mode": mode,
        "scorecards": [{"name": "s", "plugin_digest": "sha256:00", "threshold": 0.7,
            "result": {"score": 0.1, "suggested_criteria": [{"kind": "must-escalate", "params": {}, "reason": "the customer asked for a human"}]}}],
        "conversation": {"id": id, "channel": "chat", "turns": [{"role": "customer", "text": "I want a human"}, {"role": "agent", "text": "No."}]}
    });
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    for (k, v) in conv.as_object().unwrap() {
        e["conversation"][k] = v.clone();
    }
    e.to_string()
}

fn write(dir: &Path, name: &str, lines: &[String]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p.to_str().unwrap().to_string()
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn events_without_time_or_impact_are_ranked_by_count_and_the_output_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let none = json!({});
    let lines = [
        event("a1", "late-refund", none.clone(), none.clone()),
        event("b1", "wrong-cancel", none.clone(), none.clone()),
        event("a2", "late-refund", none.clone(), none.clone()),
        event("a3", "late-refund", none.clone(), none.clone()),
        event("b2", "wrong-cancel", none.clone(), none.clone()),
    ];
    let p = write(tmp.path(), "events.jsonl", &lines);
    let o = ratchet_in(tmp.path(), &["rank", &p, "--now", "2026-11-29T00:00:00Z"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!out.contains("0.00"), "no column of zero costs:\n{out}");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with(char::is_numeric)).collect();
    assert!(rows[0].contains("late-refund") && rows[0].contains(" 3 ") && rows[0].ends_with("a1"), "{out}");
    assert!(rows[1].contains("wrong-cancel") && rows[1].ends_with("b1"), "{out}");
    assert!(out.contains("5 of 5 event(s) carry no time") && out.contains("in input order"), "{out}");
    assert!(out.contains("ranked by event count"), "{out}");

    let o = ratchet_in(tmp.path(), &["rank", &p, "--now", "2026-11-29T00:00:00Z", "--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ranked_by"], "count");
    assert_eq!((v["events"].as_u64(), v["undated"].as_u64(), v["without_impact"].as_u64()), (Some(5), Some(5), Some(5)));
    assert_eq!(v["modes"][0]["failure_mode"], "late-refund");
    assert_eq!(v["modes"][0]["example_conversation"], "a1", "the first in input order");
    assert_eq!(v["notes"].as_array().unwrap().len(), 2, "{v:#}");

    // One event with an impact: ranked by cost again, the others said to add to counts only.
    let mut lines = lines.to_vec();
    lines.push(event("b3", "wrong-cancel", json!({"detected_at": "2026-11-28T10:00:00Z"}), json!({"impact": {"revenue_at_risk": 49.0}})));
    let p = write(tmp.path(), "some.jsonl", &lines);
    let o = ratchet_in(tmp.path(), &["rank", &p, "--now", "2026-11-29T00:00:00Z", "--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ranked_by"], "cost");
    assert_eq!(v["modes"][0]["failure_mode"], "wrong-cancel");
    assert_eq!(v["modes"][0]["example_conversation"], "b3");
    assert_eq!((v["undated"].as_u64(), v["without_impact"].as_u64()), (Some(5), Some(5)));
}

#[test]
fn rank_refuses_what_it_cannot_read_and_never_prints_inf() {
    let tmp = tempfile::tempdir().unwrap();
    let none = json!({});
    for (name, line, field) in [
        ("yesterday", event("a", "m", json!({"detected_at": "yesterday"}), none.clone()), "field `detected_at`: `yesterday` is not an RFC 3339 time"),
        ("date-only", event("a", "m", none.clone(), json!({"started_at": "2026-11-24"})), "field `conversation.started_at`"),
        ("negative", event("a", "m", none.clone(), json!({"impact": {"refund_amount": -5.0}})), "field `conversation.impact.refund_amount`: -5"),
        (
            "overflow",
            event("a", "m", none.clone(), json!({"impact": {"refund_amount": 1.0}})).replace("\"refund_amount\":1.0", "\"refund_amount\":1e999"),
            "field `conversation.impact.refund_amount`",
        ),
    ] {
        let p = write(tmp.path(), &format!("{name}.jsonl"), &[line]);
        let o = ratchet_in(tmp.path(), &["rank", &p]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: nothing readable is a usage error: {err}");
        assert!(err.contains(&format!("{name}.jsonl:1")) && err.contains(field), "{name}: {err}");
        assert!(err.contains("no readable failure event"), "{name}: {err}");
    }
    // A bad line among good ones is skipped and named; the rest is ranked.
    let p = write(
        tmp.path(),
        "mixed.jsonl",
        &[event("a", "m", none.clone(), json!({"impact": {"refund_amount": -1.0}})), event("b", "m", none.clone(), json!({"impact": {"refund_amount": 2.0}}))],
    );
    let o = ratchet_in(tmp.path(), &["rank", &p, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((v["events"].as_u64(), v["skipped"].as_u64()), (Some(1), Some(1)));
    assert!(text(&o).1.contains("mixed.jsonl:1"), "{}", text(&o).1);

    // Huge but finite amounts: the sums stop at the largest number, never inf or NaN.
    let huge = json!({"impact": {"refund_amount": 1e308, "revenue_at_risk": 1.7e308, "compliance_exposure": 1e308}});
    let p = write(tmp.path(), "huge.jsonl", &[event("a", "m", none.clone(), huge.clone()), event("b", "m", none.clone(), huge)]);
    for format in ["text", "json"] {
        let o = ratchet_in(tmp.path(), &["rank", &p, "--format", format]);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(0), "{err}");
        let lower = out.to_lowercase();
        assert!(!lower.contains("inf") && !lower.contains("nan"), "{out}");
    }
    let o = ratchet_in(tmp.path(), &["rank", &p, "--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["modes"][0]["cost"].as_f64(), Some(f64::MAX));

    // An empty file is readable: nothing to rank, exit 0.
    let p = tmp.path().join("empty.jsonl");
    std::fs::write(&p, "").unwrap();
    assert_eq!(ratchet_in(tmp.path(), &["rank", p.to_str().unwrap()]).status.code(), Some(0));
}

#[test]
fn regenerate_takes_undated_events_in_input_order_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let none = json!({});
    let undated =
        [event("z", "m", none.clone(), none.clone()), event("y", "m", none.clone(), json!({"turns": [{"role": "customer", "text": "a human please"}]}))];
    let p = write(tmp.path(), "undated.jsonl", &undated);
    let out = tmp.path().join("out");
    let o = ratchet_in(tmp.path(), &["regenerate", &p, "--out-dir", out.to_str().unwrap(), "--now", "2026-11-29T00:00:00Z"]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("2 of 2 event(s) carry no time") && err.contains("input order"), "{err}");
    let o = ratchet_in(tmp.path(), &["regenerate", &p, "--out-dir", out.to_str().unwrap(), "--now", "2026-11-29T00:00:00Z", "--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let inputs: Vec<&Value> = v.as_array().unwrap().iter().map(|r| &r["input"]).collect();
    assert_eq!(inputs, vec![&json!({"position": 1, "time": null, "order": "input"}), &json!({"position": 2, "time": null, "order": "input"})]);

    // Dated events are taken oldest first, whatever the file's order.
    let dated = [
        event("late", "m", json!({"detected_at": "2026-11-28T10:00:00Z"}), none.clone()),
        event("early", "m", none.clone(), json!({"started_at": "2026-11-27T10:00:00Z", "turns": [{"role": "customer", "text": "get me a person"}]})),
    ];
    let p = write(tmp.path(), "dated.jsonl", &dated);
    let o = ratchet_in(tmp.path(), &["regenerate", &p, "--out-dir", out.to_str().unwrap(), "--now", "2026-11-29T00:00:00Z", "--format", "json"]);
    let (_, err) = text(&o);
    assert!(!err.contains("carry no time"), "{err}");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let events: Vec<&str> = v.as_array().unwrap().iter().map(|r| r["event"].as_str().unwrap()).collect();
    assert_eq!(events, vec!["fe-early", "fe-late"]);
    assert_eq!(v[0]["input"], json!({"position": 2, "time": "2026-11-27T10:00:00Z", "order": "time"}));

    // A date that is not RFC 3339 stops the run before anything is written.
    let p = write(tmp.path(), "bad.jsonl", &[dated[0].clone(), event("x", "m", json!({"detected_at": "yesterday"}), none)]);
    let o = ratchet_in(tmp.path(), &["regenerate", &p, "--out-dir", tmp.path().join("none").to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.jsonl:2") && err.contains("field `detected_at`"), "{err}");
    assert!(!tmp.path().join("none").exists());
}
