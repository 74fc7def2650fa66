//! The `http` agent driver: the example support agent served at a URL (through
//! examples/agents/http/exec_bridge.py) gives the exec driver's verdicts and
//! transcripts at v1, v2 and v3; retries resend the same `seq`; a wrong answer is a
//! protocol error, a slow one a timeout, never a hang; configuration errors name
//! the field.

use crate::common::chat_server::{Reply, Server};
use crate::common::{gate_report, repo, scenario_results};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// The exec agent at `version` behind the bridge; killed on drop.
struct Bridge {
    child: Child,
    url: String,
}

impl Bridge {
    fn start(version: &str) -> Bridge {
        let mut child = Command::new("python3")
            .args(["examples/agents/http/exec_bridge.py", "--port", "0", "--", "python3", "examples/agents/support_agent.py", "--prompt-version", version])
            .current_dir(repo())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the bridge");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("bridge said {line:?}")).to_string();
        Bridge { child, url }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("[agent]\nname = \"support-agent\"\n{body}\n")).unwrap();
    p
}

#[test]
fn the_example_agent_at_a_url_gives_the_exec_verdicts() {
    let tmp = tempfile::tempdir().unwrap();
    for (version, code) in [("support-v1", 1), ("support-v2", 0), ("support-v3", 1)] {
        let bridge = Bridge::start(version);
        let http = agent_file(tmp.path(), "http.toml", &format!("driver = \"http\"\nurl = \"{}\"\nturn_timeout_ms = 5000", bridge.url));
        let (c, over_http, err) = gate_report(&http, &[]);
        assert_eq!(c, code, "{version} over http: {err}");
        let (c, by_exec, err) = gate_report(&repo().join(format!("examples/agents/{version}.toml")), &[]);
        assert_eq!(c, code, "{version} by exec: {err}");
        assert_eq!(scenario_results(&over_http), scenario_results(&by_exec), "{version}: the same verdicts, criteria and transcripts");
        assert!(over_http["agent"].as_str().unwrap_or_default().contains(&bridge.url), "{}", over_http["agent"]);
    }
}

/// A scripted service: answers every customer line with a reply, and records what it got.
fn polite(first_fails: bool) -> impl Fn(&Value, usize) -> Reply + Send + Sync {
    move |body: &Value, n: usize| {
        if first_fails && n == 1 {
            return Reply::status(503, "{\"error\": \"warming up\"}");
        }
        match body["type"].as_str() {
            Some("customer.message") => Reply::json(json!({"type": "agent.message", "text": "Let me hand you to a colleague."})),
            Some("session.end") => Reply::json(json!({"type": "session.ended"})),
            _ => Reply::json(json!({"type": "session.started", "agent": "scripted", "version": "1"})),
        }
    }
}

#[test]
fn retries_resend_the_same_seq_and_the_session_is_one_conversation() {
    let server = Server::start(polite(true));
    let tmp = tempfile::tempdir().unwrap();
    let agent = agent_file(tmp.path(), "a.toml", &format!("driver = \"http\"\nurl = \"{}\"\nretry_backoff_ms = 10", server.base_url));
    let (_, report, err) = gate_report(&agent, &["--id", "happy-path-cancel-active"]);
    assert_ne!(report["scenarios"][0]["verdict"], "error", "{err}");
    let seen = server.seen();
    let bodies: Vec<&Value> = seen.iter().map(|s| &s.body).collect();
    assert_eq!(bodies[0]["type"], "session.start");
    assert_eq!(bodies[0]["scenario"], "happy-path-cancel-active");
    assert!(bodies[0]["state"].is_object(), "the agent state snapshot: {}", bodies[0]);
    assert_eq!((bodies[1]["seq"].clone(), bodies[2]["seq"].clone()), (json!(2), json!(2)), "the retried message keeps its seq: {bodies:?}");
    assert_eq!(bodies[1], bodies[2], "a retry resends the same message");
    let session = bodies[0]["session"].clone();
    assert!(bodies.iter().all(|b| b["session"] == session), "one session id");
    assert_eq!(bodies.last().unwrap()["type"], "session.end");
    let seqs: Vec<u64> = bodies.iter().map(|b| b["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] || w[1] == w[0] + 1), "seq counts the session's messages: {seqs:?}");
}

#[test]
fn a_wrong_answer_is_a_protocol_error_and_a_slow_one_a_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    type Script = Box<dyn Fn(&Value, usize) -> Reply + Send + Sync>;
    let cases: [(Script, &str, &str); 4] = [
        (
            Box::new(|b: &Value, _| if b["type"] == "customer.message" { Reply::json(json!({"type": "nonsense"})) } else { Reply::json(json!({})) }),
            "",
            "expected a tool.call, agent.message or escalate answer, got `nonsense`",
        ),
        (
            Box::new(
                |b: &Value, _| if b["type"] == "customer.message" { Reply::json(json!({"type": "tool.call", "name": 7})) } else { Reply::json(json!({})) },
            ),
            "",
            "a `tool.call` answer that does not fit the protocol",
        ),
        (Box::new(|_: &Value, _| Reply::status(200, "[]")), "", "the answer is not a JSON object"),
        (
            Box::new(|b: &Value, _| {
                if b["type"] == "customer.message" {
                    Reply::json(json!({"type": "agent.message", "text": "late"})).after(Duration::from_millis(1500))
                } else {
                    Reply::json(json!({}))
                }
            }),
            "turn_timeout_ms = 300\nretries = 0",
            "did not answer within 300 ms (turn timeout)",
        ),
    ];
    for (script, extra, expected) in cases {
        let server = Server::start(script);
        let agent = agent_file(tmp.path(), "a.toml", &format!("driver = \"http\"\nurl = \"{}\"\n{extra}", server.base_url));
        let started = std::time::Instant::now();
        let (code, report, err) = gate_report(&agent, &["--id", "happy-path-cancel-active"]);
        let s = &report["scenarios"][0];
        assert_eq!(s["verdict"], "error", "{expected}: {report} {err}");
        assert!(s["attempts"][0]["error"].as_str().unwrap_or_default().contains(expected), "{expected}: {s} {err}");
        assert_ne!(code, 0);
        assert!(started.elapsed() < Duration::from_secs(20), "never a hang");
    }
}

#[test]
fn configuration_errors_name_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    for (body, field) in [
        ("driver = \"http\"", "agent.url"),
        ("driver = \"http\"\nurl = \"localhost:8080\"", "agent.url"),
        ("driver = \"http\"\nurl = \"http://127.0.0.1:9/\"\nmodel = \"m\"", "agent.model"),
        ("driver = \"http\"\nurl = \"http://127.0.0.1:9/\"\ncommand = [\"python3\"]", "agent.command"),
        ("driver = \"http\"\nurl = \"http://127.0.0.1:9/\"\nmax_concurrency = 0", "agent.max_concurrency"),
        ("driver = \"exec\"\ncommand = [\"true\"]\nurl = \"http://127.0.0.1:9/\"", "agent.url"),
        // Another driver's field on an openai agent is refused too (it used to be ignored).
        ("driver = \"openai\"\nmodel = \"m\"\nsystem_prompt = \"p.md\"\ncommand = [\"python3\"]", "agent.command"),
        // A token named for a remote service must be in the environment.
        ("driver = \"http\"\nurl = \"http://agent.invalid/ratchet\"\napi_key_env = \"RATCHET_TEST_UNSET_TOKEN\"", "agent.api_key_env"),
    ] {
        let agent = agent_file(tmp.path(), "a.toml", body);
        let (code, _, err) = gate_report(&agent, &["--id", "happy-path-cancel-active"]);
        assert_eq!(code, 2, "{body}: {err}");
        assert!(err.contains(field) && err.contains("a.toml"), "{body}: names {field} and the file: {err}");
    }
}
