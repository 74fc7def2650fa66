//! LLM-judged plugins in any language: the rubric assertion in Rust
//! (`plugins/assertion-llm-rubric`), its Python port (`-py`, componentize-py) and
//! its JavaScript port (`-js`, componentize-js), as real components in the real
//! sandbox, asking a real HTTP server on loopback (`common::chat_server`).
//!
//! Same transcript + same params ⇒ the same request body reaches the server from
//! all three (the SDKs render the transcript byte for byte alike: Unicode
//! whitespace, newlines, floats such as `10.0` and `1e-7`, u64 integers, key order,
//! escapes, error results, empty turns), so there is one recording key; each port
//! is answered in replay (no network) from the recording the Rust plugin made, with
//! the same verdict bytes. Also: the model errors (no grant, not recorded) reach
//! the ports' callers as they reach the Rust plugin's; the example suite's
//! committed recordings, made for the Rust plugin, answer the ports in
//! `ratchet gate`; and a Python or JavaScript plugin that does not judge does not
//! import `ratchet:plugin/model` at all.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::chat_server::{answer, dead_url, ratchet_with_model, recordings, Reply, Server};
use common::{component, load};
use ratchet::config::Limits;
use serde_json::{json, Value};

/// `[plugins.NAME]` entry → component, one per language.
const RUBRICS: [(&str, &str); 3] = [("rust", "assertion-llm-rubric"), ("python", "assertion-llm-rubric-py"), ("js", "assertion-llm-rubric-js")];

/// The stand-in judge: "yes" when an agent reply mentions a policy (naming that
/// turn and quoting it), else "no".
fn judge(body: &Value, _n: usize) -> Reply {
    let user = body["messages"][1]["content"].as_str().unwrap_or("");
    let said = user.lines().find(|l| l.contains("] AGENT: ") && l.to_lowercase().contains("policy"));
    let v = match said {
        Some(line) => {
            let turn: u64 = line[1..line.find(']').unwrap()].parse().unwrap();
            json!({"answer": "yes", "reason": format!("The agent said: {}", line.split("] AGENT: ").nth(1).unwrap()), "turn": turn})
        }
        None => json!({"answer": "no", "reason": "No reply states a policy.", "turn": null}),
    };
    answer(&v.to_string())
}

/// A project with the three rubric components, granted (and ungranted copies).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    let mut toml = String::new();
    for (entry, name) in RUBRICS {
        std::fs::copy(component(name), dir.path().join(format!("plugins/{name}.wasm"))).unwrap();
        toml.push_str(&format!("[plugins.{entry}]\npath = \"plugins/{name}.wasm\"\ngrant_model = true\n\n"));
        toml.push_str(&format!("[plugins.{entry}-ungranted]\npath = \"plugins/{name}.wasm\"\n\n"));
    }
    toml.push_str("[model]\nmodel = \"judge-test-1\"\nrecordings = \"recordings\"\nretry_backoff_ms = 20\nrequest_timeout_ms = 5000\n");
    std::fs::write(dir.path().join("ratchet.toml"), toml).unwrap();
    dir
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The recording key (`sha256:<64 hex>`) a `not recorded` message names.
fn key_in(text: &str) -> String {
    let after = &text[text.find("not recorded").unwrap_or_else(|| panic!("not a missing recording: {text}"))..];
    let i = after.find("sha256:").unwrap_or_else(|| panic!("no key in {text}"));
    let key = &after[i..i + 7 + 64];
    assert!(key[7..].chars().all(|c| c.is_ascii_hexdigit()), "{text}");
    key.to_string()
}

/// The transcripts every language must render alike, with their params.
fn cases() -> Vec<(&'static str, Value, Value)> {
    let question = "Did the agent tell the customer the cancellation policy?";
    vec![
        (
            "plain",
            json!({"id": "c1", "channel": "chat", "turns": [
                {"role": "customer", "text": "Please cancel my plan."},
                {"role": "agent", "text": "Done, your plan is cancelled."}
            ]}),
            json!({"question": question}),
        ),
        (
            "example-suite",
            // scenarios/cancellation-policy-confirmed.toml as the example agent v2 answers it.
            example_transcript(
                "Per our cancellation policy, your plan stays active until the end of the current billing period and you won't be charged again. \
                 Your subscription has been cancelled. Is there anything else I can help you with?",
            ),
            json!({"question": "Did the agent tell the customer the cancellation policy, i.e. that the plan stays active until the end of the current billing period?"}),
        ),
        (
            "hard-to-render",
            // What differs between languages when nobody looks: Unicode whitespace (Rust's
            // trim is neither Python's strip nor JavaScript's trim), CR LF, a control
            // character that is not whitespace, floats, u64/i64 extremes, astral and
            // private-use keys (sorted by UTF-8 bytes), escapes, no arguments, errors,
            // empty turns; plus guidance and a model id.
            json!({"id": "c-hard", "channel": "voice", "turns": [
                {"role": "customer", "text": "\u{3000}\u{85}Cancel it.\r\nNow!\n\n\u{feff}"},
                {"role": "agent", "text": "\u{1c}"},
                {"role": "agent", "text": " \t\u{2028}"},
                {"role": "agent", "text": "Let me check \u{1F600} caf\u{e9}.", "tool_calls": [
                    {"id": "k1", "name": "refund", "arguments": {"amount": 10.0, "ratio": 1e-7, "big": 1.5e16, "tiny": -0.0,
                        "max": 18446744073709551615u64, "min": -9223372036854775808i64, "n": 3,
                        "note": "caf\u{e9} \"x\"\n\t\u{7f}\u{2028}</script>", "\u{1F600}": 1, "\u{e000}": 2, "Z": [], "a": {"z": null, "b": [1, 2.5]}}},
                    {"id": "k2", "name": "noop"}
                ]},
                {"role": "tool", "tool_result": {"call_id": "k1", "name": "refund", "content": "supervisor flag missing", "is_error": true}},
                {"role": "tool", "tool_result": {"call_id": "k2", "name": "noop", "content": [0.1, 100.0, 1e21]}},
                {"role": "system", "text": ""},
                {"role": "agent", "text": "Our refund policy:\nrefunds need a supervisor."}
            ]}),
            json!({"question": "  Did the agent state the refund policy?\u{a0}", "guidance": "Quote it.\nLine two.", "model": "judge-test-2"}),
        ),
    ]
}

/// The example agent's transcript on scenarios/cancellation-policy-confirmed.toml with
/// `agent_reply` as its answer (sdk/conformance/judge-transcript.json, shared by every
/// language's judge tests; `49.0` stays a float).
fn example_transcript(agent_reply: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sdk/conformance/judge-transcript.json");
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text.replace("\"{AGENT_REPLY}\"", &serde_json::to_string(agent_reply).unwrap())).unwrap()
}

#[test]
fn every_language_asks_the_same_question_and_replays_the_same_verdict() {
    let server = Server::start(judge);
    let dir = project();
    for (i, (case, transcript, params)) in cases().into_iter().enumerate() {
        let input = dir.path().join(format!("{case}.json"));
        std::fs::write(&input, json!({"transcript": transcript, "params": params}).to_string()).unwrap();
        let input = input.display().to_string();

        // The Rust plugin asks first (live: nothing is recorded) and records the answer.
        let o = ratchet_with_model(dir.path(), &server.base_url, &["plugin", "run", "rust", "--input", &input, "--format", "json"]);
        assert_eq!(o.status.code(), Some(0), "{case}: {}", stderr(&o));
        let rust: Value = serde_json::from_slice(&o.stdout).unwrap();
        let key = rust["model_calls"][0]["key"].as_str().unwrap().to_string();
        assert_eq!(rust["model_calls"][0]["replayed"], false, "{case}");
        assert_eq!(server.seen().len(), 3 * i + 1, "{case}");
        let sent = server.seen().last().unwrap().body.clone();
        assert_eq!(recordings(dir.path()).len(), i + 1, "{case}: one recording per question");
        let user = sent["messages"][1]["content"].as_str().unwrap();
        eprintln!("{case}: {key}\n{user}");

        // Replay, network unreachable: every language gets the Rust plugin's recording
        // and gives the same verdict, byte for byte.
        let replay = |entry: &str| {
            let o = ratchet_with_model(dir.path(), &dead_url(), &["plugin", "run", entry, "--input", &input, "--replay"]);
            assert_eq!(o.status.code(), Some(0), "{case}: {entry} in replay: {}", stderr(&o));
            assert!(stderr(&o).contains(&format!("{} (replayed", &key[..7 + 12])), "{case}: {entry}: {}", stderr(&o));
            o.stdout
        };
        let verdict = replay("rust");
        for (entry, _) in &RUBRICS[1..] {
            assert_eq!(String::from_utf8_lossy(&replay(entry)), String::from_utf8_lossy(&verdict), "{case}: {entry} gave another verdict");
        }

        // Asked afresh (--record), each port sends the server the very body the Rust plugin sent.
        for (entry, _) in &RUBRICS[1..] {
            let o = ratchet_with_model(dir.path(), &server.base_url, &["plugin", "run", entry, "--input", &input, "--record", "--format", "json"]);
            assert_eq!(o.status.code(), Some(0), "{case}: {entry}: {}", stderr(&o));
            let out: Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(out["model_calls"][0]["key"], json!(key), "{case}: {entry}");
            assert_eq!(out["output"], rust["output"], "{case}: {entry}");
            let body = server.seen().last().unwrap().body.clone();
            assert_eq!(body.to_string(), sent.to_string(), "{case}: {entry} sent another body");
        }
        assert_eq!(server.seen().len(), 3 * i + 3, "{case}");
        assert_eq!(recordings(dir.path()).len(), i + 1, "{case}: the ports re-recorded the same file");
    }
    // The params reached the request: the model id, trimmed question, guidance.
    let last = server.seen().last().unwrap().body.clone();
    assert_eq!(last["model"], "judge-test-2");
    assert!(last["messages"][1]["content"]
        .as_str()
        .unwrap()
        .starts_with("QUESTION: Did the agent state the refund policy?\nGRADING NOTES: Quote it.\nLine two.\n\nTRANSCRIPT:\n"));
    assert_eq!(last["max_tokens"], 300);
    assert_eq!(last["temperature"], 0.0);
}

#[test]
fn model_errors_reach_every_language_alike() {
    let server = Server::start(judge);
    let dir = project();
    let input = dir.path().join("input.json");
    std::fs::write(
        &input,
        json!({"transcript": {"id": "c1", "channel": "chat", "turns": [{"role": "agent", "text": "Done."}]}, "params": {"question": "q?"}}).to_string(),
    )
    .unwrap();
    let input = input.display().to_string();
    let mut keys = Vec::new();
    for (entry, name) in RUBRICS {
        // No grant: denied, with the line to add; nothing is sent.
        let o = ratchet_with_model(dir.path(), &server.base_url, &["plugin", "run", &format!("{entry}-ungranted"), "--input", &input]);
        assert_eq!(o.status.code(), Some(3), "{entry}");
        let err = stderr(&o);
        assert!(err.contains("returned an error: model call denied: ") && err.contains("grant_model = true"), "{entry}: {err}");
        // Replay with nothing recorded: `model answer not recorded`, naming the key.
        let o = ratchet_with_model(dir.path(), &dead_url(), &["plugin", "run", entry, "--input", &input, "--replay"]);
        assert_eq!(o.status.code(), Some(3), "{entry}");
        let err = stderr(&o);
        assert!(err.contains("returned an error: model answer not recorded: "), "{entry} ({name}): {err}");
        keys.push(key_in(&err));
        // An endpoint that keeps failing: `model unavailable`.
        let broken = Server::start(|_, _| Reply::status(500, "{\"error\":\"boom\"}"));
        let o = ratchet_with_model(dir.path(), &broken.base_url, &["plugin", "run", entry, "--input", &input]);
        assert_eq!(o.status.code(), Some(3), "{entry}");
        assert!(stderr(&o).contains("returned an error: model unavailable: "), "{entry}: {}", stderr(&o));
    }
    assert!(keys.windows(2).all(|w| w[0] == w[1]), "the same question has the same key in every language: {keys:?}");
    assert!(server.seen().is_empty());
    assert!(recordings(dir.path()).is_empty());
}

#[test]
fn the_example_suites_committed_recordings_answer_the_ports_in_the_gate() {
    // scenarios/cancellation-policy-confirmed.toml with its judged criterion pointed at
    // each port, and recordings/model/ as committed (made for the Rust plugin): the gate
    // replays them, no network, and judges v1 (no policy stated) and v2 (stated) as
    // the Rust plugin does.
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap();
    let scenario = std::fs::read_to_string(repo.join("scenarios/cancellation-policy-confirmed.toml")).unwrap();
    assert!(scenario.contains("plugin = \"llm-rubric\"\n"), "the example scenario changed: {scenario}");
    for (entry, name) in RUBRICS {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("scenarios")).unwrap();
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        std::fs::create_dir_all(dir.path().join("recordings/model")).unwrap();
        std::fs::write(dir.path().join("scenarios/policy.toml"), scenario.replace("plugin = \"llm-rubric\"\n", &format!("plugin = \"{entry}\"\n"))).unwrap();
        for f in std::fs::read_dir(repo.join("recordings/model")).unwrap() {
            let f = f.unwrap().path();
            std::fs::copy(&f, dir.path().join("recordings/model").join(f.file_name().unwrap())).unwrap();
        }
        std::fs::copy(component(name), dir.path().join(format!("plugins/{name}.wasm"))).unwrap();
        std::fs::write(
            dir.path().join("ratchet.toml"),
            format!("[plugins.{entry}]\npath = \"plugins/{name}.wasm\"\ngrant_model = true\n\n[model]\nmodel = \"reference-judge\"\nrecordings = \"recordings/model\"\n"),
        )
        .unwrap();
        let agent = repo.join("examples/agents/support_agent.py");
        for (version, passes) in [("support-v1", false), ("support-v2", true)] {
            std::fs::write(
                dir.path().join("agent.toml"),
                format!(
                    "[agent]\nname = \"{version}\"\ndriver = \"exec\"\ncommand = [\"python3\", \"{}\", \"--prompt-version\", \"{version}\"]\n",
                    agent.display()
                ),
            )
            .unwrap();
            let o = ratchet_with_model(dir.path(), &dead_url(), &["gate", "--agent", "agent.toml", "--no-ledger", "--quiet", "--format", "json"]);
            let report: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{entry} {version}: {e}: {}", stderr(&o)));
            assert_eq!(report["judge"], json!({"replayed": 1, "recorded": 0, "failed": 0}), "{entry} {version}: {report}");
            let criteria = report["scenarios"][0]["attempts"][0]["criteria"].as_array().unwrap();
            let judged = criteria.iter().find(|c| c["id"] == "judge-states-cancellation-policy").unwrap();
            assert_eq!(judged["passed"], passes, "{entry} {version}: {judged}");
            assert!(judged["reason"].as_str().unwrap().starts_with(&format!("{entry}: judge: ")), "{entry} {version}: {judged}");
        }
    }
}

/// The WIT version the Rust SDK builds against.
const SDK_WIT_RUST: &str = "0.1.3";
/// The WIT version the Python SDK builds against.
const SDK_WIT_PY: &str = "0.1.3";
/// The WIT version the JavaScript SDK builds against.
const SDK_WIT_JS: &str = "0.1.3";

#[test]
fn only_plugins_that_judge_import_the_model() {
    for (name, judges) in [
        ("assertion-llm-rubric", true),
        ("assertion-llm-rubric-py", true),
        ("assertion-llm-rubric-js", true),
        ("assertion-no-false-confirmation", false),
        ("scorecard-support-policy-py", false),
        ("scorecard-support-policy-js", false),
        ("assertion-no-false-confirmation-js", false),
        // The simulator world has no model import at all.
        ("simulator-subscriptions", false),
        ("simulator-subscriptions-py", false),
        ("simulator-subscriptions-js", false),
    ] {
        let p = load(name, Limits::default());
        let imports = &p.inspection().imports;
        // Each SDK targets one WIT version: every import carries it.
        let version = p.world().version.to_string();
        let sdk = if name.ends_with("-py") {
            SDK_WIT_PY
        } else if name.ends_with("-js") {
            SDK_WIT_JS
        } else {
            SDK_WIT_RUST
        };
        assert_eq!(version, sdk, "{name}");
        assert_eq!(imports.iter().any(|i| i == &format!("ratchet:plugin/model@{version}")), judges, "{name}: {imports:?}");
        assert!(imports.iter().any(|i| i == &format!("ratchet:plugin/host@{version}")), "{name}: {imports:?}");
        // Since 0.1.3 (every SDK), scorecards, assertions and adapters read or attach
        // labels; simulators and agents have no such import.
        let labels = version == "0.1.3" && !name.starts_with("simulator-");
        assert_eq!(imports.iter().any(|i| i == &format!("ratchet:plugin/labels@{version}")), labels, "{name}: {imports:?}");
    }
}
