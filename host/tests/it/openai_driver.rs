//! The `openai` agent driver, without a real model: a real HTTP/1.1 server on loopback
//! (std `TcpListener`, a thread per connection) speaks the chat completions protocol
//! with scripted answers — tool calls then a final answer, 429 with `Retry-After`, 500s,
//! slow answers, malformed JSON and malformed tool arguments — and `ratchet gate` runs
//! the example scenarios against it through the example prompt and tools files.

use crate::common::{self, repo};

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::chat_server::{answer, call, Reply, Script, Server};

use serde_json::{json, Value};

/// A value from the "Customer context" system message, as a model would read it.
fn context_value(body: &Value, key: &str) -> Option<String> {
    let ctx = body["messages"][1]["content"].as_str()?;
    ctx.lines().find_map(|l| l.strip_prefix(&format!("- {key} = ")).map(str::to_string))
}

/// A scripted "model" for the example scenarios. `careless` refunds without approval
/// (the production bug); otherwise it follows the prompt.
fn support_model(careless: bool) -> impl Fn(&Value, usize) -> Reply + Send + Sync {
    move |body, _| {
        let msgs = body["messages"].as_array().unwrap();
        let last = msgs.last().unwrap();
        let text = last["content"].as_str().unwrap_or("");
        match last["role"].as_str().unwrap() {
            "user" if text.contains("human") || text.contains("supervisor") => {
                call("call_esc", "escalate_to_human", r#"{"reason":"customer asked for a human"}"#)
            }
            "user" if text.contains("cancel my subscription") => match context_value(body, "account.id") {
                Some(id) => call("call_1", "lookup_account", &json!({"account_id": id}).to_string()),
                None => call("call_1", "lookup_account", &json!({"email": context_value(body, "customer.email").unwrap()}).to_string()),
            },
            "user" if text.contains("refund") => {
                call("call_1", "lookup_account", &json!({"email": context_value(body, "customer.email").unwrap()}).to_string())
            }
            "user" => answer("You're welcome, have a nice day!"),
            "tool" => {
                let result: Value = serde_json::from_str(text).unwrap();
                if result.get("cancelled_subscriptions").is_some() {
                    answer("Your subscription has been cancelled, effective 2026-12-31. Under our cancellation policy your service continues until then.")
                } else if result.get("refund_id").is_some() {
                    answer("Your refund has been issued.")
                } else if text.contains("\"last_charge_amount\":19.99")
                    && msgs.iter().any(|m| m["role"] == "user" && m["content"].as_str().is_some_and(|c| c.contains("refund")))
                {
                    if careless {
                        call("call_2", "issue_refund", r#"{"account_id": "A-60231", "amount": 19.99}"#)
                    } else {
                        call("call_2", "escalate_to_human", r#"{"reason":"refund needs supervisor approval"}"#)
                    }
                } else {
                    call("call_2", "cancel_subscription", &json!({"account_id": result["account_id"]}).to_string())
                }
            }
            other => panic!("unexpected last message role {other}"),
        }
    }
}

/// An agent file in `dir` pointing at `base_url`, with the example prompt and tools.
fn agent_file(dir: &Path, base_url: &str, extra: &str) -> PathBuf {
    let p = dir.join("agent.toml");
    std::fs::write(
        &p,
        format!(
            "[agent]\nname = \"support-openai\"\ndriver = \"openai\"\nbase_url = \"{base_url}\"\nmodel = \"test-model\"\n\
             system_prompt = \"examples/agents/openai/support-v2.prompt.md\"\ntools = \"examples/agents/openai/tools.json\"\n\
             escalate_tool = \"escalate_to_human\"\nseed = 42\nretry_backoff_ms = 20\nscenario_timeout_ms = 20000\n{extra}\n"
        ),
    )
    .unwrap();
    p
}

/// `ratchet gate` from the repo root: (exit code, JSON report, stderr).
fn gate(agent: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("report.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ratchet"));
    cmd.args(["gate", "--agent", agent.to_str().unwrap(), "--json", json.to_str().unwrap(), "--no-ledger", "-q"])
        .args(args)
        .current_dir(repo())
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("OPENAI_API_KEY");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let report = std::fs::read_to_string(&json).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), report, stderr)
}

fn scenario<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap_or_else(|| panic!("{id} not in {report}"))
}

const THREE: [&str; 6] = ["--id", "happy-path-cancel-active", "--id", "refund-without-supervisor-flag", "--id", "escalate-when-asked-for-human"];

#[test]
fn tool_calls_are_answered_from_fixtures_and_criteria_judged() {
    let server = Server::start(support_model(true));
    let tmp = tempfile::tempdir().unwrap();
    let agent = agent_file(tmp.path(), &server.base_url, "price_per_million_input_tokens = 2.5\nprice_per_million_output_tokens = 10.0");
    let (code, report, stderr) = gate(&agent, &THREE, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(scenario(&report, "happy-path-cancel-active")["verdict"], "pass", "{stderr}");
    assert_eq!(scenario(&report, "escalate-when-asked-for-human")["verdict"], "pass", "{stderr}");
    let refund = scenario(&report, "refund-without-supervisor-flag");
    assert_eq!(refund["verdict"], "fail", "{stderr}");
    let failing: Vec<&str> =
        refund["attempts"][0]["criteria"].as_array().unwrap().iter().filter(|c| c["passed"] == false).map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        failing,
        ["no-refund-without-supervisor-approval", "escalates-unapproved-refund", "no-refund-confirmation", "no-unapproved-refund-claim-plugin"]
    );
    assert!(report["agent"].as_str().unwrap().starts_with("support-openai (test-model, prompt support-v2.prompt.md@"), "{}", report["agent"]);

    // What the model was sent.
    let seen = server.seen();
    let prompt = std::fs::read_to_string(repo().join("examples/agents/openai/support-v2.prompt.md")).unwrap();
    for s in &seen {
        assert_eq!(s.path, "/v1/chat/completions");
        assert_eq!(s.authorization, None, "no key on loopback when none is set");
        let b = &s.body;
        assert_eq!(b["model"], "test-model");
        assert_eq!(b["temperature"], 0.0);
        assert_eq!(b["seed"], 42);
        assert_eq!(b["messages"][0], json!({"role": "system", "content": prompt}), "the prompt version under test is the system prompt");
        assert!(b["messages"][1]["content"].as_str().unwrap().starts_with("Customer context:\n- "), "{}", b["messages"][1]);
        let tools: Vec<&str> = b["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
        assert_eq!(tools, ["lookup_account", "cancel_subscription", "issue_refund", "escalate_to_human"]);
    }
    // The happy path's last request: the whole history, tool results from the fixtures.
    let last = seen.iter().map(|s| &s.body).rfind(|b| b["messages"][1]["content"].as_str().unwrap().contains("account.id = A-81022")).unwrap();
    let roles: Vec<&str> = last["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "system", "user", "assistant", "tool", "assistant", "tool", "assistant", "user"]);
    let m = &last["messages"];
    assert_eq!(m[3]["tool_calls"][0]["id"], "call_1");
    assert_eq!(m[3]["tool_calls"][0]["function"]["name"], "lookup_account");
    assert_eq!(m[4]["tool_call_id"], "call_1");
    let fixture: Value = serde_json::from_str(m[4]["content"].as_str().unwrap()).unwrap();
    assert_eq!(
        fixture,
        json!({"account_id": "A-81022", "subscription_status": "active", "plan": "standard", "supervisor_flag": false, "last_charge_amount": 19.99})
    );
    assert_eq!(m[6]["tool_call_id"], "call_2");
    assert!(m[6]["content"].as_str().unwrap().contains("\"effective_date\":\"2026-12-31\""));
    assert_eq!(m[8]["content"], "That's all, thanks!");

    // Accounting: every request counted, tokens from `usage`, cost from the prices.
    let u = &report["model_usage"];
    let n = seen.len() as u64;
    assert_eq!(u["requests"], n);
    assert_eq!(u["retries"], 0);
    assert_eq!(u["prompt_tokens"], 100 * n);
    assert_eq!(u["completion_tokens"], 20 * n);
    let cost = (100 * n) as f64 / 1e6 * 2.5 + (20 * n) as f64 / 1e6 * 10.0;
    assert!((u["cost_usd"].as_f64().unwrap() - cost).abs() < 1e-12, "{u}");
    let line = stderr.lines().last().unwrap();
    assert!(
        line.starts_with(&format!("model usage (test-model): {n} requests (0 retries, 0 failed), {} prompt + {} completion tokens", 100 * n, 20 * n)),
        "{line}"
    );
    assert!(line.contains(&format!("cost ${cost:.4}")), "{line}");

    // A model that follows the prompt passes all three.
    let server = Server::start(support_model(false));
    let agent = agent_file(tmp.path(), &server.base_url, "");
    let (code, report, stderr) = gate(&agent, &THREE, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(report["scenarios"].as_array().unwrap().iter().all(|s| s["verdict"] == "pass"), "{stderr}");
    assert!(stderr.contains("cost n/a"), "{stderr}");
}

#[test]
fn rate_limits_are_retried_honouring_retry_after() {
    let model = support_model(false);
    let server =
        Server::start(
            move |b, n| if n == 0 { Reply::status(429, r#"{"error":{"message":"Rate limit reached"}}"#).header("Retry-After", "1") } else { model(b, n) },
        );
    let tmp = tempfile::tempdir().unwrap();
    let agent = agent_file(tmp.path(), &server.base_url, "");
    let started = Instant::now();
    let (code, report, stderr) = gate(&agent, &["--id", "escalate-when-asked-for-human"], &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was not honoured (backoff alone is 20 ms)");
    assert_eq!(report["model_usage"]["requests"], 2);
    assert_eq!(report["model_usage"]["retries"], 1);
    assert_eq!(report["model_usage"]["failed_requests"], 1);
    assert!(stderr.contains("2 requests (1 retries, 1 failed)"), "{stderr}");
}

#[test]
fn server_errors_exhaust_the_retries_into_an_error_verdict_without_the_key() {
    let server = Server::start(|_, _| Reply::status(500, r#"{"error":{"message":"upstream exploded"}}"#));
    let tmp = tempfile::tempdir().unwrap();
    let agent = agent_file(tmp.path(), &server.base_url, "retries = 2\napi_key_env = \"RATCHET_TEST_KEY\"");
    let (code, report, stderr) = gate(&agent, &["--id", "escalate-when-asked-for-human"], &[("RATCHET_TEST_KEY", "sk-secret-123")]);
    assert_eq!(code, 1, "{stderr}");
    let s = scenario(&report, "escalate-when-asked-for-human");
    assert_eq!(s["verdict"], "error");
    let err = s["attempts"][0]["error"].as_str().unwrap();
    assert!(err.contains(&format!("POST {}/chat/completions: HTTP 500 after 3 attempts", server.base_url)), "{err}");
    assert!(err.contains("upstream exploded"), "{err}");
    let seen = server.seen();
    assert_eq!(seen.len(), 3, "1 request + 2 retries");
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer sk-secret-123"), "the key from the environment is sent");
    assert!(!stderr.contains("sk-secret-123") && !report.to_string().contains("sk-secret-123"), "the key leaked");
    assert_eq!(report["model_usage"]["retries"], 2);
    assert_eq!(report["model_usage"]["failed_requests"], 3);
}

#[test]
fn a_slow_answer_times_out_instead_of_hanging() {
    let server = Server::start(|_, _| answer("too late").after(Duration::from_secs(8)));
    let tmp = tempfile::tempdir().unwrap();
    let agent = agent_file(tmp.path(), &server.base_url, "request_timeout_ms = 300");
    let started = Instant::now();
    let (code, report, stderr) = gate(&agent, &["--id", "escalate-when-asked-for-human"], &[]);
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert_eq!(code, 1, "{stderr}");
    let err = scenario(&report, "escalate-when-asked-for-human")["attempts"][0]["error"].as_str().unwrap().to_string();
    assert!(err.contains("no response within 300 ms (request_timeout_ms)"), "{err}");

    // The scenario timeout bounds everything too (here tighter than the request timeout).
    let agent = agent_file(tmp.path(), &server.base_url, "request_timeout_ms = 5000").to_str().unwrap().to_string();
    let text = std::fs::read_to_string(&agent).unwrap().replace("scenario_timeout_ms = 20000", "scenario_timeout_ms = 400");
    std::fs::write(&agent, text).unwrap();
    let started = Instant::now();
    let (_, report, stderr) = gate(Path::new(&agent), &["--id", "escalate-when-asked-for-human"], &[]);
    assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
    let err = scenario(&report, "escalate-when-asked-for-human")["attempts"][0]["error"].as_str().unwrap_or("").to_string();
    assert!(err.contains("did not answer within 400 ms (scenario timeout)"), "{err} {stderr}");
}

#[test]
fn malformed_answers_are_protocol_errors() {
    let cases: Vec<(Box<Script>, &str)> = vec![
        (Box::new(|_, _| Reply::status(200, "{\"choices\": [")), "the response is not JSON"),
        (Box::new(|_, _| call("call_7", "lookup_account", "{\"email\": ")), "tool call `call_7` (`lookup_account`): the arguments are not valid JSON"),
        (Box::new(|_, _| Reply::json(json!({"choices": []}))), "the response has no `choices[0].message`"),
        (
            Box::new(|_, _| Reply::json(json!({"choices": [{"message": {"role": "assistant", "content": null}, "finish_reason": "length"}]}))),
            "neither content nor tool calls (finish_reason: length)",
        ),
    ];
    for (script, expect) in cases {
        let server = Server::start(script);
        let tmp = tempfile::tempdir().unwrap();
        let agent = agent_file(tmp.path(), &server.base_url, "");
        let (code, report, stderr) = gate(&agent, &["--id", "escalate-when-asked-for-human"], &[]);
        assert_eq!(code, 1, "{stderr}");
        let s = scenario(&report, "escalate-when-asked-for-human");
        assert_eq!(s["verdict"], "error");
        let err = s["attempts"][0]["error"].as_str().unwrap();
        assert!(err.starts_with("protocol error: ") && err.contains(expect), "{expect}: {err}");
        assert_eq!(server.seen().len(), 1, "a protocol error is not retried");
    }
}

#[test]
fn the_concurrency_cap_holds_across_workers() {
    for (cap, expect_max) in [(1usize, 1usize), (3, 3)] {
        let model = support_model(false);
        let server = Server::start(move |b, n| model(b, n).after(Duration::from_millis(250)));
        let tmp = tempfile::tempdir().unwrap();
        let agent = agent_file(tmp.path(), &server.base_url, &format!("max_concurrency = {cap}"));
        let mut args = THREE.to_vec();
        args.extend(["--jobs", "3"]);
        let (code, _, stderr) = gate(&agent, &args, &[]);
        assert_eq!(code, 0, "{stderr}");
        let max = server.max_in_flight.load(Ordering::SeqCst);
        if cap == 1 {
            assert_eq!(max, 1, "cap 1 exceeded");
        } else {
            // Three workers, three slots: the requests do overlap (the cap is not a global lock).
            assert!(max >= 2 && max <= expect_max, "max in flight {max} with cap {cap}");
        }
    }
}

#[test]
fn config_and_key_errors_name_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |body: &str| {
        let p = tmp.path().join("bad.toml");
        std::fs::write(&p, format!("[agent]\ndriver = \"openai\"\n{body}\n")).unwrap();
        p
    };
    let cases = [
        ("system_prompt = \"examples/agents/openai/support-v2.prompt.md\"", "field `agent.model`: the openai driver needs a model id"),
        ("model = \"m\"", "field `agent.system_prompt`: the openai driver needs a system prompt file"),
        ("model = \"m\"\nsystem_prompt = \"p.md\"\nbase_url = \"localhost:8000\"", "field `agent.base_url`: `localhost:8000` is not an http(s) URL"),
        ("model = \"m\"\nsystem_prompt = \"p.md\"\ntemperature = 3.5", "field `agent.temperature`: 3.5 is outside 0..=2"),
        ("model = \"m\"\nsystem_prompt = \"p.md\"\nmax_concurrency = 0", "field `agent.max_concurrency`: must be at least 1"),
        (
            "model = \"m\"\nsystem_prompt = \"examples/agents/openai/support-v2.prompt.md\"\napi_key_env = \"RATCHET_NO_SUCH_KEY\"",
            "field `agent.api_key_env`: the environment variable `RATCHET_NO_SUCH_KEY` is not set",
        ),
        (
            "model = \"m\"\nbase_url = \"http://127.0.0.1:9/v1\"\nsystem_prompt = \"examples/agents/openai/missing.md\"",
            "field `agent.system_prompt`: examples/agents/openai/missing.md",
        ),
        (
            "model = \"m\"\nbase_url = \"http://127.0.0.1:9/v1\"\nsystem_prompt = \"examples/agents/openai/support-v2.prompt.md\"\ntools = \"Cargo.toml\"",
            "field `agent.tools`: Cargo.toml: not JSON",
        ),
        (
            "model = \"m\"\nbase_url = \"http://127.0.0.1:9/v1\"\nsystem_prompt = \"examples/agents/openai/support-v2.prompt.md\"\ntools = \"examples/agents/openai/tools.json\"\nescalate_tool = \"handoff\"",
            "field `agent.escalate_tool`: `handoff` is not a function of examples/agents/openai/tools.json",
        ),
    ];
    for (body, expect) in cases {
        let p = write(body);
        let (code, _, stderr) = gate(&p, &["--id", "escalate-when-asked-for-human"], &[]);
        assert_eq!(code, 2, "{body}: {stderr}");
        assert!(stderr.contains(expect), "{body}: {stderr}");
    }
    // openai fields on another driver are refused, naming the field.
    let p = tmp.path().join("exec.toml");
    std::fs::write(&p, "[agent]\ndriver = \"exec\"\ncommand = [\"true\"]\nmodel = \"m\"\n").unwrap();
    let (code, _, stderr) = gate(&p, &[], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("field `agent.model`") && stderr.contains("only the openai driver uses this field"), "{stderr}");
}

#[test]
fn shard_reports_with_usage_merge() {
    let server = Server::start(support_model(false));
    let tmp = tempfile::tempdir().unwrap();
    let agent = agent_file(tmp.path(), &server.base_url, "price_per_million_input_tokens = 1.0\nprice_per_million_output_tokens = 1.0");
    let mut parts = Vec::new();
    for i in 1..=2 {
        let p = tmp.path().join(format!("shard{i}.json"));
        let shard = format!("{i}/2");
        let mut args = THREE.to_vec();
        args.extend(["--shard", &shard]);
        let o = Command::new(env!("CARGO_BIN_EXE_ratchet"))
            .args(["gate", "--agent", agent.to_str().unwrap(), "--json", p.to_str().unwrap(), "--no-ledger", "-q"])
            .args(&args)
            .current_dir(repo())
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        parts.push(p);
    }
    let merged = tmp.path().join("merged.json");
    let o = Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .args(["report", "merge", parts[0].to_str().unwrap(), parts[1].to_str().unwrap(), "--json", merged.to_str().unwrap()])
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let merged: Value = serde_json::from_str(&std::fs::read_to_string(merged).unwrap()).unwrap();
    assert_eq!(merged["summary"]["passed"], 3);
    assert_eq!(merged["model_usage"]["requests"], server.seen().len() as u64);
    assert_eq!(merged["model_usage"]["model"], "test-model");
}
