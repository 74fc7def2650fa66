//! LLM-judged plugins through the `ratchet:plugin/model` host import, without a real
//! model: a real HTTP server on loopback speaks the chat completions protocol and
//! answers the rubric questions of `plugins/assertion-llm-rubric` and
//! `plugins/scorecard-llm-rubric` (built from source as Wasm components). Checked:
//! the grant, record-then-replay byte for byte with no network, a missing recording
//! is an error naming its key, `--record` refreshes, 429s are retried, a slow model
//! does not count against the plugin's own timeout, tampered recordings are refused,
//! cost and latency are reported, and detect → regenerate → gate carries an
//! LLM-judged failure into a replayable, LLM-judged scenario criterion.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::chat_server::{answer, dead_url, ratchet_with_model, recordings, Reply, Server};
use common::component;
use serde_json::{json, Value};

const QUESTION: &str = "Did the agent tell the customer the cancellation policy?";

/// The stand-in judge: "yes" when an agent reply mentions a policy. Answers both
/// the assertion's QUESTION prompt and the scorecard's RUBRIC prompt.
fn judge(body: &Value, _n: usize) -> Reply {
    let user = body["messages"][1]["content"].as_str().unwrap_or("");
    let said = user.lines().find(|l| l.contains("] AGENT: ") && l.to_lowercase().contains("policy"));
    let verdict = |name: Option<&str>| {
        let mut v = match said {
            Some(line) => json!({"answer": "yes", "reason": format!("The agent said: {line}"), "turn": null}),
            None => json!({"answer": "no", "reason": "No reply states a policy.", "turn": null}),
        };
        if let Some(n) = name {
            v["name"] = json!(n);
        }
        v
    };
    let content = if user.starts_with("QUESTION: ") {
        verdict(None)
    } else {
        let names: Vec<&str> = user.lines().skip(1).take_while(|l| l.starts_with("- ")).filter_map(|l| l[2..].split(": ").next()).collect();
        json!({"answers": names.iter().map(|n| verdict(Some(n))).collect::<Vec<_>>()})
    };
    answer(&content.to_string())
}

/// A project with the two judge plugins (one of them also without a grant).
fn project(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    for name in ["assertion-llm-rubric", "scorecard-llm-rubric"] {
        std::fs::copy(component(name), dir.path().join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(
        dir.path().join("ratchet.toml"),
        format!(
            "[plugins.judge]\npath = \"plugins/assertion-llm-rubric.wasm\"\ngrant_model = true\n\n\
             [plugins.ungranted]\npath = \"plugins/assertion-llm-rubric.wasm\"\n\n\
             [plugins.rubric]\npath = \"plugins/scorecard-llm-rubric.wasm\"\ngrant_model = true\n\n\
             [model]\nmodel = \"judge-test-1\"\nrecordings = \"recordings\"\nretry_backoff_ms = 20\nrequest_timeout_ms = 5000\n\
             price_per_million_input_tokens = 2.0\nprice_per_million_output_tokens = 10.0\n{extra}"
        ),
    )
    .unwrap();
    dir
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn conversation(agent_reply: &str) -> Value {
    json!({"id": "c1", "channel": "chat", "turns": [
        {"role": "customer", "text": "Please cancel my plan."},
        {"role": "agent", "text": agent_reply}
    ]})
}

/// An assertion input file: transcript + params.
fn input(dir: &Path, agent_reply: &str) -> PathBuf {
    let p = dir.join(format!("input-{}.json", agent_reply.len()));
    std::fs::write(&p, json!({"transcript": conversation(agent_reply), "params": {"question": QUESTION}}).to_string()).unwrap();
    p
}

#[test]
fn record_once_then_replay_byte_for_byte_without_network() {
    let server = Server::start(judge);
    let dir = project("");
    let inp = input(dir.path(), "Done, your plan is cancelled.").display().to_string();

    // Replay with nothing recorded: an error naming the key and how to record, no request sent.
    let o = ratchet_with_model(dir.path(), &server.base_url, &["plugin", "run", "judge", "--input", &inp, "--replay"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("not recorded") && err.contains("sha256:") && err.contains("--record-missing"), "{err}");
    assert!(server.seen().is_empty());

    // Default (record what is missing): one live call, one recording, cost and latency reported.
    let o = ratchet_with_model(dir.path(), &server.base_url, &["plugin", "run", "judge", "--input", &inp, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let live: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(live["output"]["passed"], false);
    assert_eq!(live["output"]["reason"], "judge: No reply states a policy.");
    let call = &live["model_calls"][0];
    assert_eq!((call["replayed"].clone(), call["model"].clone(), call["prompt_tokens"].clone()), (json!(false), json!("judge-test-1"), json!(100)));
    assert!((call["cost_usd"].as_f64().unwrap() - (100.0 * 2.0 + 20.0 * 10.0) / 1e6).abs() < 1e-12, "{call}");
    assert_eq!(server.seen().len(), 1);
    let sent = &server.seen()[0].body;
    assert_eq!(sent["model"], "judge-test-1");
    assert_eq!(sent["temperature"], 0.0);
    assert_eq!(sent["response_format"]["type"], "json_schema");
    assert!(server.seen()[0].authorization.is_none(), "no key is sent to a loopback server when none is set");
    let files = recordings(dir.path());
    assert_eq!(files.len(), 1);
    let rec: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(rec["key"], call["key"]);
    assert_eq!(rec["request"], *sent, "the recording holds exactly the body that was sent");

    // Replays: no network (a dead URL), the same output bytes every time.
    let first = ratchet_with_model(dir.path(), &dead_url(), &["plugin", "run", "judge", "--input", &inp, "--replay"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    for _ in 0..4 {
        let again = ratchet_with_model(dir.path(), &dead_url(), &["plugin", "run", "judge", "--input", &inp, "--replay"]);
        assert_eq!(again.stdout, first.stdout);
    }
    let o = ratchet_with_model(dir.path(), &dead_url(), &["plugin", "run", "judge", "--input", &inp, "--replay", "--format", "json"]);
    let replayed: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(replayed["output"], live["output"]);
    assert_eq!(replayed["model_calls"][0]["replayed"], true);
    assert!(replayed["model_calls"][0].get("cost_usd").is_none(), "a replay costs nothing");
    assert_eq!(server.seen().len(), 1);

    // A different transcript is a different question: not recorded.
    let other = input(dir.path(), "Per our cancellation policy it stays active.").display().to_string();
    let o = ratchet_with_model(dir.path(), &dead_url(), &["plugin", "run", "judge", "--input", &other, "--replay"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("not recorded"), "{}", stderr(&o));

    // --record asks again even though an answer is recorded, and rewrites it.
    let o = ratchet_with_model(dir.path(), &server.base_url, &["plugin", "run", "judge", "--input", &inp, "--record"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(server.seen().len(), 2);
    assert_eq!(recordings(dir.path()), files);

    // A hand-edited question no longer matches its key: refused, not served.
    let text = std::fs::read_to_string(&files[0]).unwrap().replace("Please cancel my plan.", "Please cancel my plan!");
    std::fs::write(&files[0], text).unwrap();
    let o = ratchet_with_model(dir.path(), &dead_url(), &["plugin", "run", "judge", "--input", &inp, "--replay"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("does not hash to the file's key"), "{}", stderr(&o));
}

#[test]
fn only_granted_plugins_may_ask_and_inspect_says_so() {
    let server = Server::start(judge);
    let dir = project("");
    let inp = input(dir.path(), "Done.").display().to_string();
    let o = ratchet_with_model(dir.path(), &server.base_url, &["plugin", "run", "ungranted", "--input", &inp]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(err.contains("denied") && err.contains("grant_model = true"), "{err}");
    assert!(server.seen().is_empty());
    // A component file given by path has no [plugins] entry, so no grant either.
    let path = dir.path().join("plugins/assertion-llm-rubric.wasm").display().to_string();
    let o = ratchet_with_model(dir.path(), &server.base_url, &["plugin", "run", &path, "--input", &inp]);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("denied"), "{}", stderr(&o));
    assert!(server.seen().is_empty());

    let o = ratchet_with_model(dir.path(), &server.base_url, &["plugin", "inspect", "ungranted"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("import    ratchet:plugin/model@0.1.3"), "{out}");
    assert!(out.contains("has no grant: every call is denied"), "{out}");
    let o = ratchet_with_model(dir.path(), &server.base_url, &["plugin", "inspect", "judge", "--format", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["model"], json!({"imports": true, "granted": true}));
    assert_eq!(v["world"]["version"], "0.1.3");
}

#[test]
fn rate_limits_are_retried_and_a_slow_model_does_not_time_the_plugin_out() {
    // First answer 429 (Retry-After 0.1 s), then a correct answer after 600 ms —
    // far beyond the plugin's own 100 ms timeout, which measures the guest only.
    let server = Server::start(|body, n| {
        if n == 0 {
            Reply::status(429, "{\"error\":\"slow down\"}").header("Retry-After", "0.1")
        } else {
            judge(body, n).after(Duration::from_millis(600))
        }
    });
    let dir = project("");
    let toml = std::fs::read_to_string(dir.path().join("ratchet.toml"))
        .unwrap()
        .replace("grant_model = true\n\n[plugins.ungranted]", "grant_model = true\ntimeout_ms = 100\n\n[plugins.ungranted]");
    std::fs::write(dir.path().join("ratchet.toml"), toml).unwrap();
    let inp = input(dir.path(), "Per our cancellation policy your plan stays active.").display().to_string();
    let o = ratchet_with_model(dir.path(), &server.base_url, &["plugin", "run", "judge", "--input", &inp, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["output"]["passed"], true);
    assert!(v["model_calls"][0]["latency_ms"].as_u64().unwrap() >= 600, "{v}");
    assert_eq!(server.seen().len(), 2);

    // An endpoint that keeps failing: the plugin gets `unavailable` and says why; nothing is recorded.
    let broken = Server::start(|_, _| Reply::status(500, "{\"error\":\"boom\"}"));
    let dir = project("retries = 1\n");
    let inp = input(dir.path(), "Done.").display().to_string();
    let o = ratchet_with_model(dir.path(), &broken.base_url, &["plugin", "run", "judge", "--input", &inp]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    assert!(err.contains("model unavailable") && err.contains("HTTP 500 after 2 attempts"), "{err}");
    assert!(recordings(dir.path()).is_empty());
    assert_eq!(broken.seen().len(), 2);
}

#[test]
fn detect_judges_live_regenerate_keeps_the_judgement_and_the_gate_replays_it() {
    let server = Server::start(judge);
    let dir = project(&format!(
        "\n[[detect.scorecards]]\nname = \"rubric\"\nplugin = \"rubric\"\nthreshold = 0.99\n\
         params = {{ rubric = [{{ name = \"states-policy\", question = \"{QUESTION}\" }}], failure_mode = \"policy-not-stated\", assertion_plugin = \"judge\" }}\n"
    ));
    let mut bad = conversation("Done, your plan is cancelled.");
    bad["id"] = json!("conv-bad");
    let mut good = conversation("Per our cancellation policy your plan stays active until the period ends.");
    good["id"] = json!("conv-good");
    std::fs::write(dir.path().join("day.jsonl"), format!("{bad}\n{good}\n")).unwrap();

    let o = ratchet_with_model(dir.path(), &server.base_url, &["detect", "day.jsonl", "--out", "events.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("judge model calls: 0 replayed, 2 recorded, 0 failed"), "{}", stderr(&o));
    let events = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    assert_eq!(events.lines().count(), 1, "{events}");
    let event: Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
    assert_eq!(event["conversation"]["id"], "conv-bad");
    assert_eq!(event["failure_mode"], "policy-not-stated", "{event}");
    assert_eq!(server.seen().len(), 2);

    // Detect again: every judgement is replayed from the recordings; same events.
    let o = ratchet_with_model(dir.path(), &dead_url(), &["detect", "day.jsonl", "--out", "events2.jsonl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("judge model calls: 2 replayed, 0 recorded"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(dir.path().join("events2.jsonl")).unwrap(), events);
    // Split across processes: each child judges its partition; the parent sums the counts,
    // and the children get the same mode (--record asks the model again for both).
    let o = ratchet_with_model(dir.path(), &dead_url(), &["detect", "day.jsonl", "--out", "events3.jsonl", "--processes", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("judge model calls: 2 replayed, 0 recorded, 0 failed"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(dir.path().join("events3.jsonl")).unwrap(), events);
    let o = ratchet_with_model(dir.path(), &server.base_url, &["detect", "day.jsonl", "--out", "events4.jsonl", "--processes", "2", "--record"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("judge model calls: 0 replayed, 2 recorded, 0 failed"), "{}", stderr(&o));
    assert_eq!(server.seen().len(), 4);
    assert_eq!(std::fs::read_to_string(dir.path().join("events4.jsonl")).unwrap(), events);

    // Regenerate: the scorecard's "no" becomes an LLM-judged criterion; the reproduce
    // check judges the replayed production conversation (a new question: recorded now).
    let o = ratchet_with_model(dir.path(), &server.base_url, &["regenerate", "events.jsonl", "-o", "scenarios/policy.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let scenario = std::fs::read_to_string(dir.path().join("scenarios/policy.toml")).unwrap();
    let parsed: toml::Value = toml::from_str(&scenario).unwrap();
    let judged = parsed["criteria"].as_array().unwrap().iter().find(|c| c["kind"].as_str() == Some("plugin")).unwrap_or_else(|| panic!("{scenario}"));
    assert_eq!(judged["plugin"].as_str(), Some("judge"), "{scenario}");
    assert_eq!(judged["params"]["question"].as_str(), Some(QUESTION), "{scenario}");
    let live_calls = server.seen().len();

    // The gate replays it with no network: the production agent's own turns fail it.
    let agent = dir.path().join("agent.toml");
    let py = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/agents/support_agent.py").canonicalize().unwrap();
    std::fs::write(
        &agent,
        format!("[agent]\nname = \"v1\"\ndriver = \"exec\"\ncommand = [\"python3\", \"{}\", \"--prompt-version\", \"support-v1\"]\n", py.display()),
    )
    .unwrap();
    // The agent under test says something else than production did: a new question,
    // so a replay-only gate reports the missing recording (an error, not a verdict)...
    let o = ratchet_with_model(dir.path(), &dead_url(), &["gate", "--agent", "agent.toml", "--no-ledger", "--quiet"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not recorded"), "{}", stderr(&o));
    // ...until it is recorded deliberately.
    let o = ratchet_with_model(dir.path(), &server.base_url, &["gate", "--agent", "agent.toml", "--no-ledger", "--quiet", "--record-missing"]);
    assert!(stderr(&o).contains("judge model calls: 0 replayed, 1 recorded"), "{}", stderr(&o));
    let live_calls = live_calls + 1;
    assert_eq!(server.seen().len(), live_calls);
    let mut outputs = Vec::new();
    for _ in 0..3 {
        let o = ratchet_with_model(dir.path(), &dead_url(), &["gate", "--agent", "agent.toml", "--no-ledger", "--quiet", "--format", "json"]);
        let report: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
        let s = &report["scenarios"][0];
        assert_eq!(s["verdict"], "fail", "{report}");
        assert_eq!(report["judge"], json!({"replayed": 1, "recorded": 0, "failed": 0}), "{report}");
        outputs.push(s["attempts"][0]["criteria"].clone());
    }
    assert!(outputs.windows(2).all(|w| w[0] == w[1]), "{outputs:?}");
    assert_eq!(server.seen().len(), live_calls, "the gate never calls the model");
}

#[test]
fn a_bad_model_section_is_a_usage_error_naming_the_field() {
    for (extra, field) in [
        ("api_key_env = \"sk-not-a-variable=1\"\n", "model.api_key_env"),
        ("max_concurrency = 0\n", "model.max_concurrency"),
        ("max_calls_per_plugin_call = 0\n", "model.max_calls_per_plugin_call"),
        ("timeout = 5\n", "timeout"),
        ("base_url = \"http://x\"\n", "base_url"),
    ] {
        let dir = project(extra);
        // `project` ends inside [model]: these lines land in it.
        let o = ratchet_with_model(dir.path(), &dead_url(), &["plugin", "inspect", "judge"]);
        assert_eq!(o.status.code(), Some(2), "{extra}: {}", stderr(&o));
        assert!(stderr(&o).contains(field), "{extra}: {}", stderr(&o));
    }
    // Recordings stay inside the project.
    let dir = project("");
    let toml = std::fs::read_to_string(dir.path().join("ratchet.toml")).unwrap().replace("recordings = \"recordings\"", "recordings = \"../elsewhere\"");
    std::fs::write(dir.path().join("ratchet.toml"), toml).unwrap();
    let o = ratchet_with_model(dir.path(), &dead_url(), &["plugin", "inspect", "judge"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("model.recordings") && stderr(&o).contains("inside the project"), "{}", stderr(&o));
}

/// The stand-in customer: "yes" to a confirmation question, done otherwise.
fn customer(body: &Value, _n: usize) -> Reply {
    let system = body["messages"][0]["content"].as_str().unwrap_or("");
    assert!(system.starts_with("ratchet simulated customer v1"), "{system}");
    let user = body["messages"][1]["content"].as_str().unwrap_or("");
    let last = user.lines().last().unwrap_or("");
    let content = if last.contains("] AGENT: ") && last.contains("Shall I go ahead?") {
        json!({"say": "Yes, please go ahead.", "done": false})
    } else {
        json!({"say": "", "done": true})
    };
    answer(&content.to_string())
}

const CONFIRMING: &str = r#"
id = "fix-asks-first"
title = "the fix asks a confirmation the failing customer never gave"
failure_mode = "cancellation-not-done"

[script]
when_done = "WHEN"
goal = "Please cancel my subscription."
facts = ["your email is [EMAIL_1]"]

[state]
tool_registry = [{ id = "cancel_subscription", version = "2.1.0" }]

[[turns]]
text = "Please cancel my subscription."

[[fixtures]]
tool = "cancel_subscription"
version = "2.1.0"
arguments = { account_id = "A-55812" }
result = { ok = true, cancelled_subscriptions = 1 }

[[criteria]]
id = "cancelled"
kind = "must-call-tool"
tool = "cancel_subscription"
"#;

/// Gate the confirming agent on the scenario with `when`; returns (exit code, report).
fn gate_confirming(dir: &Path, base_url: &str, when: &str, extra: &[&str]) -> (i32, Value, String) {
    let suite = dir.join("suite");
    std::fs::create_dir_all(&suite).unwrap();
    std::fs::write(suite.join("fix-asks-first.toml"), CONFIRMING.replace("WHEN", when)).unwrap();
    let odd = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agents/odd_agent.py");
    std::fs::write(
        dir.join("agent.toml"),
        format!("[agent]\nname = \"odd\"\ndriver = \"exec\"\ncommand = [\"python3\", {:?}, \"--mode\", \"confirm-first\"]\n", odd.display().to_string()),
    )
    .unwrap();
    let json = dir.join("report.json");
    let mut args = vec!["gate", "--suite", "suite", "--agent", "agent.toml", "--no-ledger", "-q", "--json", json.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = ratchet_with_model(dir, base_url, &args);
    let mut report: Value = std::fs::read_to_string(&json).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(Value::Null);
    strip_durations(&mut report);
    (o.status.code().unwrap_or(-1), report, String::from_utf8_lossy(&o.stderr).into_owned())
}

fn strip_durations(v: &mut Value) {
    match v {
        Value::Object(o) => {
            o.remove("duration_ms");
            o.remove("judge");
            o.values_mut().for_each(strip_durations);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_durations),
        _ => {}
    }
}

#[test]
fn a_simulated_customer_carries_on_recorded_and_replays_offline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ratchet.toml"), "[model]\nmodel = \"customer-test-1\"\nrecordings = \"recordings\"\nrequest_timeout_ms = 5000\n").unwrap();
    // As the failing run was scripted, the fix only asks, and fails the check.
    let (code, report, err) = gate_confirming(dir.path(), &dead_url(), "end", &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(report["scenarios"][0]["verdict"], "fail");

    // Carried on by a simulated customer, recorded once...
    let server = Server::start(customer);
    let (code, recorded, err) = gate_confirming(dir.path(), &server.base_url, "simulate", &["--record-missing"]);
    assert_eq!(code, 0, "{err}\n{recorded:#}");
    assert_eq!(recordings(dir.path()).len(), 2, "a yes, then done");
    assert_eq!(server.seen().len(), 2);
    // ...then replayed with the network unreachable, byte for byte, three times.
    for _ in 0..3 {
        let (code, replayed, err) = gate_confirming(dir.path(), &dead_url(), "simulate", &[]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(replayed, recorded);
    }
    // A missing recording is an error verdict naming what to do, never a pass.
    std::fs::remove_file(&recordings(dir.path())[0]).unwrap();
    let (code, report, _) = gate_confirming(dir.path(), &dead_url(), "simulate", &[]);
    assert_eq!(code, 1);
    let s = &report["scenarios"][0];
    assert_eq!(s["verdict"], "error", "{s}");
    let e = s["attempts"][0]["error"].as_str().unwrap();
    assert!(e.contains("simulated customer") && e.contains("no recorded answer") && e.contains("--record-missing"), "{e}");
}
