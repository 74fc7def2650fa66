//! A conversation's labels (issue 19, item 4; WIT 0.1.3 `labels`): adapters fill
//! them from the export (real components: the OpenAI-chat adapter's `metadata`),
//! scorecards read them through the host (a guest that reports what it was given,
//! built with each SDK: Rust, Python, JavaScript),
//! `[detect.impact_from_labels]` takes impact amounts from them, and regenerate
//! carries them, scrubbed, into the scenario, whose replay hands them back to
//! assertions.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::common::{component, repo, test_cache_dir};

fn ratchet_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ratchet")).args(args).current_dir(dir).env("RATCHET_CACHE_DIR", test_cache_dir()).output().unwrap()
}

/// A project: the OpenAI-chat adapter and a labels guest (`guest`: the Rust one or its
/// Python or JavaScript twin, each built with its SDK) as the scorecard, plus `extra` TOML.
fn project(dir: &Path, guest: &str, extra: &str) {
    std::fs::copy(component("adapter-openai-chat"), dir.join("chat.wasm")).unwrap();
    std::fs::copy(component(guest), dir.join("labels.wasm")).unwrap();
    std::fs::write(
        dir.join("ratchet.toml"),
        format!(
            "[plugins.openai-chat]\npath = \"chat.wasm\"\n[plugins.labels]\npath = \"labels.wasm\"\n\
             [[detect.scorecards]]\nname = \"labels\"\nplugin = \"labels\"\nthreshold = 0.5\n{extra}"
        ),
    )
    .unwrap();
}

fn record(id: &str, metadata: Value) -> String {
    json!({"id": id, "messages": [{"role": "user", "content": "Where is my refund?"}, {"role": "assistant", "content": "It is on its way."}],
        "metadata": metadata})
    .to_string()
}

fn events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn an_adapters_labels_reach_the_scorecard_and_the_event() {
    for guest in ["guest-labels", "guest-labels-py", "guest-labels-js"] {
        labels_reach_the_scorecard(guest);
    }
}

fn labels_reach_the_scorecard(guest: &str) {
    let tmp = tempfile::tempdir().unwrap();
    project(tmp.path(), guest, "[detect.impact_from_labels]\nrefund_amount = \"refund_usd\"\ncurrency = \"currency\"\n");
    let input = tmp.path().join("chats.jsonl");
    let lines = [
        record(
            "c-1",
            json!({"locale": "en-US", "verdict": "bad", "failure_mode": "refund-not-issued", "refund_usd": "42.50", "currency": "EUR", "tier": "gold"}),
        ),
        record("c-2", json!({"verdict": "fine", "tier": "silver"})),
        record("c-3", json!({"verdict": "bad"})),
    ];
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let o = ratchet_in(tmp.path(), &["detect", "--adapter", "openai-chat", input.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{guest}: {err}");
    assert!(err.contains("seen 3, flagged 2"), "{guest}: {err}");
    let ev = events(&o.stdout);
    let c1 = &ev[0];
    assert_eq!(c1["conversation"]["id"], "c-1");
    // The adapter's labels (metadata minus the canonical fields), on the event's conversation.
    assert_eq!(
        c1["conversation"]["labels"],
        json!({"currency": "EUR", "failure_mode": "refund-not-issued", "refund_usd": "42.50", "tier": "gold", "verdict": "bad"})
    );
    // The scorecard was given exactly those (its flags list them), and decided by them.
    let flags: Vec<&str> = c1["scorecards"][0]["result"]["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert_eq!(
        flags,
        ["label:currency=EUR", "label:failure_mode=refund-not-issued", "label:refund_usd=42.50", "label:tier=gold", "label:verdict=bad"],
        "{guest}"
    );
    assert_eq!(c1["failure_mode"], "refund-not-issued");
    // Impact from the labels [detect.impact_from_labels] names.
    assert_eq!(c1["conversation"]["impact"]["refund_amount"], 42.5);
    assert_eq!(c1["conversation"]["impact"]["currency"], "EUR");
    assert_eq!(ev[1]["conversation"]["id"], "c-3");
    assert_eq!(ev[1]["failure_mode"], "labelled-bad");
    assert_eq!(ev[1]["conversation"]["impact"]["refund_amount"], 0.0, "no label, no amount");

    // A label that is not an amount rejects the conversation, naming the label.
    std::fs::write(&input, record("c-9", json!({"refund_usd": "lots"})) + "\n").unwrap();
    let o = ratchet_in(tmp.path(), &["detect", "--adapter", "openai-chat", input.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(
        err.contains("conversation `c-9`: label `refund_usd` = \"lots\": impact.refund_amount ([detect.impact_from_labels]) needs a non-negative number"),
        "{err}"
    );
}

#[test]
fn regenerate_keeps_the_labels_scrubbed() {
    // The Tuesday production conversation, labelled as a CRM export would.
    let tmp = tempfile::tempdir().unwrap();
    let line = std::fs::read_to_string(repo().join("host/tests/regenerate/tuesday-production.jsonl")).unwrap().lines().next().unwrap().to_string();
    let mut c: Value = serde_json::from_str(&line).unwrap();
    c["labels"] = json!({"crm_ticket": "CS-20931", "contact": "maria.delgado@example.net", "tier": "gold"});
    let input = tmp.path().join("labelled.jsonl");
    std::fs::write(&input, c.to_string() + "\n").unwrap();
    let events = tmp.path().join("events.jsonl");
    let run =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_ratchet")).args(args).current_dir(repo()).env("RATCHET_CACHE_DIR", test_cache_dir()).output().unwrap();
    let o = run(&["detect", input.to_str().unwrap(), "-o", events.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let out = tmp.path().join("scenarios");
    let o = run(&["regenerate", events.to_str().unwrap(), "--out-dir", out.to_str().unwrap(), "--now", "2026-11-29T10:00:00Z"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let file = std::fs::read_dir(&out).unwrap().next().unwrap().unwrap().path();
    let text = std::fs::read_to_string(&file).unwrap();
    let scenario: toml::Value = toml::from_str(&text).unwrap();
    let labels = scenario["labels"].as_table().unwrap();
    assert_eq!(labels["crm_ticket"].as_str(), Some("CS-20931"));
    assert_eq!(labels["tier"].as_str(), Some("gold"));
    assert_eq!(labels["contact"].as_str(), Some("[EMAIL_1]"), "the email in a label is scrubbed like the rest: {text}");
    assert!(!text.contains("maria.delgado@example.net"), "{text}");
    // The scenario validates and loads with them (its replay's transcript carries them).
    let o = run(&["validate", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let s = ratchet::schema::Scenario::load(&file).unwrap();
    assert_eq!(s.labels.get("tier").map(String::as_str), Some("gold"));
}

#[test]
fn python_and_javascript_adapters_attach_their_labels() {
    // An adapter built with each scripting SDK that returns the canonical conversation it
    // reads: the labels it sets reach the host through `labels.attach`, then the scorecard.
    for adapter in ["guest-passthrough-py", "guest-passthrough-js"] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::copy(component(adapter), tmp.path().join("adapter.wasm")).unwrap();
        std::fs::copy(component("guest-labels"), tmp.path().join("labels.wasm")).unwrap();
        std::fs::write(
            tmp.path().join("ratchet.toml"),
            "[plugins.pass]\npath = \"adapter.wasm\"\n[plugins.labels]\npath = \"labels.wasm\"\n\
             [[detect.scorecards]]\nname = \"labels\"\nplugin = \"labels\"\nthreshold = 0.5\n",
        )
        .unwrap();
        let input = tmp.path().join("c.json");
        std::fs::write(
            &input,
            json!({"id": "c-1", "channel": "chat", "turns": [{"role": "customer", "text": "hi"}], "labels": {"verdict": "bad", "tier": "gold"}}).to_string(),
        )
        .unwrap();
        let o = ratchet_in(tmp.path(), &["detect", "--adapter", "pass", input.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{adapter}: {err}");
        let ev = events(&o.stdout);
        assert_eq!(ev.len(), 1, "{adapter}: {err}");
        assert_eq!(ev[0]["conversation"]["labels"], json!({"tier": "gold", "verdict": "bad"}), "{adapter}");
        assert_eq!(ev[0]["scorecards"][0]["result"]["flags"], json!(["label:tier=gold", "label:verdict=bad"]), "{adapter}");
    }
}
