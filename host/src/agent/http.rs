//! The `http` driver: the agent under test runs as a service, and the gate talks to
//! one URL. Each message of the exec protocol (docs/agent-protocol.md) the gate
//! would write to an exec agent's stdin is one `POST` (JSON body, plus `seq`); the
//! response body is the agent's answer to it, one exec-protocol message. Tool calls
//! come back to the gate in the response, so they are replayed from the scenario's
//! fixtures exactly as with the other drivers, never executed.
//!
//! The HTTP side is the openai driver's ([`crate::llm::endpoint`]): a per-request
//! timeout (the agent's `turn_timeout_ms` unless `request_timeout_ms` says
//! otherwise) that never outlives the scenario's, retries of 408/429/5xx answers
//! and connection errors with a deterministic backoff that honours `Retry-After`,
//! and one cap on the requests in flight across all gate workers. A retried request
//! carries the same `session` and `seq`, so a service that keeps state can answer a
//! repeat from what it already did instead of doing it twice.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

use super::exec::to_agent;
use super::{AgentConfig, AgentError, AgentEvent, Driver, Session};
use crate::llm::endpoint::{excerpt, is_loopback, url_host, CallError, ChatEndpoint, EndpointSettings};
use crate::schema::Scenario;

/// The http fields of an [`AgentConfig`], validated, with defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSettings {
    /// The URL every request goes to.
    pub url: String,
    /// The environment variable holding a bearer token, when the service needs one.
    pub api_key_env: Option<String>,
    /// Concurrency cap, retries, backoff, per-request timeout.
    pub endpoint: EndpointSettings,
}

impl HttpSettings {
    /// Validate the http fields of `a`; an error is (field, message).
    pub fn from_config(a: &AgentConfig) -> Result<HttpSettings, (&'static str, String)> {
        let url = match a.url.as_deref().map(str::trim) {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => return Err(("url", "the http driver needs the agent service's URL, e.g. url = \"http://localhost:8080/ratchet\"".into())),
        };
        match url_host(&url) {
            Some(h) if !h.is_empty() => {}
            _ => return Err(("url", format!("`{url}` is not an http(s) URL, e.g. \"http://localhost:8080/ratchet\""))),
        }
        if a.api_key_env.as_deref().is_some_and(|e| e.is_empty() || e.contains('=')) {
            return Err(("api_key_env", "must name an environment variable, e.g. \"AGENT_TOKEN\"".into()));
        }
        let max_concurrency = a.max_concurrency.unwrap_or(4);
        if max_concurrency == 0 {
            return Err(("max_concurrency", "must be at least 1".into()));
        }
        let request_timeout_ms = a.request_timeout_ms.unwrap_or(a.turn_timeout_ms);
        if request_timeout_ms == 0 {
            return Err(("request_timeout_ms", "must be positive".into()));
        }
        Ok(HttpSettings {
            endpoint: EndpointSettings {
                base_url: url.clone(),
                api_key: None,
                model: a.name.clone(),
                max_concurrency: max_concurrency as usize,
                retries: a.retries.unwrap_or(2),
                retry_backoff_ms: a.retry_backoff_ms.unwrap_or(200),
                request_timeout_ms,
                price_in: None,
                price_out: None,
            },
            url,
            api_key_env: a.api_key_env.clone(),
        })
    }
}

/// Sessions started by this process, so session ids are unique across workers.
static SESSIONS: AtomicU64 = AtomicU64::new(0);

/// An http agent, ready to run: its URL and the HTTP client with the shared
/// concurrency cap. Shared (`Arc`) by all workers' drivers.
pub struct HttpAgent {
    name: String,
    http: ChatEndpoint,
    turn_timeout: Duration,
    scenario_timeout: Duration,
    /// `agent` and `version` from the last `session.start` answer that named them.
    reported: Mutex<Option<String>>,
}

impl HttpAgent {
    /// Validate the settings and read the token (from the environment).
    pub fn load(cfg: &AgentConfig) -> Result<HttpAgent, (&'static str, String)> {
        let s = HttpSettings::from_config(cfg)?;
        let api_key = match &s.api_key_env {
            None => None,
            Some(var) => match std::env::var(var) {
                Ok(k) if !k.trim().is_empty() => Some(k.trim().to_string()),
                _ if is_loopback(&s.url) => None,
                _ => return Err(("api_key_env", format!("the environment variable `{var}` is not set: export the token for {}", s.url))),
            },
        };
        let http = ChatEndpoint::at(EndpointSettings { api_key, ..s.endpoint.clone() }, s.url.clone());
        Ok(HttpAgent {
            name: cfg.name.clone(),
            http,
            turn_timeout: Duration::from_millis(cfg.turn_timeout_ms),
            scenario_timeout: Duration::from_millis(cfg.scenario_timeout_ms),
            reported: Mutex::new(None),
        })
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> &str {
        self.http.endpoint()
    }

    /// POST one message before the turn's (or the scenario's) deadline; the answer.
    fn post(&self, body: &Value, scenario_deadline: Instant) -> Result<Value, AgentError> {
        let turn_deadline = Instant::now() + self.turn_timeout;
        let (deadline, what, timeout_ms) = if turn_deadline < scenario_deadline {
            (turn_deadline, "turn timeout", self.turn_timeout.as_millis() as u64)
        } else {
            (scenario_deadline, "scenario timeout", self.scenario_timeout.as_millis() as u64)
        };
        let name = format!("{what} of {timeout_ms} ms");
        self.http.complete(body, deadline, &name).map_err(|e| match e {
            CallError::Deadline => AgentError::Timeout { what, timeout_ms, stderr: String::new() },
            CallError::Failed(m) => AgentError::Endpoint(m),
            CallError::Malformed(m) => AgentError::Protocol { message: m, stderr: String::new() },
        })
    }
}

/// One worker's driver: sessions against the shared [`HttpAgent`].
pub struct HttpDriver {
    agent: Arc<HttpAgent>,
}

impl HttpDriver {
    /// A driver using `agent` (shared by all workers, so the cap is global).
    pub fn new(agent: Arc<HttpAgent>) -> Self {
        HttpDriver { agent }
    }
}

impl Driver for HttpDriver {
    fn start<'a>(&'a mut self, scenario: &'a Scenario) -> Result<Box<dyn Session + 'a>, AgentError> {
        let n = SESSIONS.fetch_add(1, Ordering::Relaxed) + 1;
        // Unique across this run's workers and across runs sharing one service
        // (shards); it never reaches a verdict.
        let session = format!("{}-{n}-{}", std::process::id(), scenario.id);
        let deadline = Instant::now() + self.agent.scenario_timeout;
        let mut s = HttpSession { agent: &self.agent, session, seq: 0, deadline, ended: false };
        let answer = s.send(to_agent::session_start(&s.session, scenario))?;
        // Any JSON object is a fine answer; one naming the agent and its version is
        // what reports show (like the exec protocol's `ready`).
        if let (Some(agent), Some(version)) = (answer.get("agent").and_then(Value::as_str), answer.get("version").and_then(Value::as_str)) {
            *self.agent.reported.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{agent} {version}"));
        }
        Ok(Box::new(s))
    }

    fn describe(&self) -> String {
        let reported = self.agent.reported.lock().unwrap_or_else(|e| e.into_inner()).clone();
        match reported {
            Some(r) => format!("{} ({r}, {})", self.agent.name, self.agent.endpoint()),
            None => format!("{} ({})", self.agent.name, self.agent.endpoint()),
        }
    }
}

struct HttpSession<'a> {
    agent: &'a HttpAgent,
    session: String,
    seq: u64,
    deadline: Instant,
    ended: bool,
}

/// What the agent may answer to a customer line or a tool result.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum Answer {
    #[serde(rename = "tool.call")]
    ToolCall {
        call_id: String,
        name: String,
        #[serde(default)]
        version: Option<String>,
        #[serde(default)]
        arguments: Value,
    },
    #[serde(rename = "agent.message")]
    Message { text: String },
    #[serde(rename = "escalate")]
    Escalate {
        #[serde(default)]
        reason: String,
    },
}

impl HttpSession<'_> {
    /// POST `msg` with this session's id and the next `seq`; the answer, which must
    /// be a JSON object.
    fn send(&mut self, mut msg: Value) -> Result<Value, AgentError> {
        self.seq += 1;
        msg["seq"] = json!(self.seq);
        let answer = self.agent.post(&msg, self.deadline)?;
        if !answer.is_object() {
            return Err(self.protocol(format!("the answer is not a JSON object: {}", excerpt(&answer.to_string()))));
        }
        Ok(answer)
    }

    fn protocol(&self, what: String) -> AgentError {
        AgentError::Protocol { message: format!("POST {}: {what}", self.agent.endpoint()), stderr: String::new() }
    }

    fn next_event(&mut self, msg: Value) -> Result<AgentEvent, AgentError> {
        let answer = self.send(msg)?;
        let kind = answer.get("type").and_then(Value::as_str).unwrap_or("").to_string();
        match serde_json::from_value::<Answer>(answer.clone()) {
            Ok(Answer::ToolCall { call_id, name, version, arguments }) => Ok(AgentEvent::ToolCall { call_id, name, version, arguments }),
            Ok(Answer::Message { text }) => Ok(AgentEvent::Message(text)),
            Ok(Answer::Escalate { reason }) => Ok(AgentEvent::Escalate(reason)),
            Err(e) if ["tool.call", "agent.message", "escalate"].contains(&kind.as_str()) => {
                Err(self.protocol(format!("a `{kind}` answer that does not fit the protocol ({e}): {}", excerpt(&answer.to_string()))))
            }
            Err(_) => Err(self.protocol(format!(
                "expected a tool.call, agent.message or escalate answer, got {}: {}",
                if kind.is_empty() { "no `type`".to_string() } else { format!("`{kind}`") },
                excerpt(&answer.to_string())
            ))),
        }
    }
}

impl Session for HttpSession<'_> {
    fn customer_message(&mut self, text: &str) -> Result<AgentEvent, AgentError> {
        self.next_event(to_agent::customer_message(&self.session, text))
    }

    fn tool_result(&mut self, call_id: &str, content: &Value, is_error: bool) -> Result<AgentEvent, AgentError> {
        self.next_event(to_agent::tool_result(&self.session, call_id, content, is_error))
    }

    fn end(&mut self) -> Result<(), AgentError> {
        if self.ended {
            return Ok(());
        }
        self.ended = true;
        // Any JSON object acknowledges the end (`{"type": "session.ended"}` by convention).
        self.send(to_agent::session_end(&self.session)).map(|_| ())
    }
}
