//! Drivers for the agent under test. A driver starts sessions; a session receives
//! the scripted customer lines and the replayed tool results, and returns what the
//! agent does next. Four drivers: `exec` (a subprocess speaking JSON lines, see
//! docs/agent-protocol.md), `http` (the same messages, one POST each, to an agent
//! running as a service), `wasm` (an agent compiled to a component) and `openai`
//! (a system prompt, a model and tool schemas against an OpenAI-compatible chat
//! completions endpoint, see docs/openai-driver.md).

pub mod exec;
pub mod http;
pub mod openai;
pub mod recorded;
pub mod wasm;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::{self, Scenario, SchemaError};

/// The agent config file (TOML): which agent, through which driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentFile {
    /// The one `[agent]` table.
    pub agent: AgentConfig,
}

/// How to run the agent under test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// A name for reports.
    #[serde(default = "default_name")]
    pub name: String,
    /// `exec`, `http`, `wasm` or `openai`.
    pub driver: DriverKind,
    /// exec: the command and its arguments (relative paths from the project root).
    #[serde(default)]
    pub command: Vec<String>,
    /// exec: extra environment variables for the agent process.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// exec: run every worker's sessions on one agent process, interleaved by
    /// session id (the agent's `ready` must say `concurrent_sessions: true`);
    /// `gate --concurrent-sessions` sets it too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub concurrent_sessions: bool,
    /// http: the URL of the agent service every message is POSTed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// wasm: the component implementing the `agent` world (inside the project root).
    #[serde(default)]
    pub component: Option<PathBuf>,
    /// wasm: the JSON object passed to the component as `config`.
    #[serde(default = "empty_object")]
    pub config: Value,
    /// Longest the agent may take to answer one message (ms).
    #[serde(default = "default_turn_timeout")]
    pub turn_timeout_ms: u64,
    /// Longest one scenario may take (ms).
    #[serde(default = "default_scenario_timeout")]
    pub scenario_timeout_ms: u64,
    /// Most tool calls the agent may make before replying (a loop guard).
    #[serde(default = "default_max_tool_calls")]
    pub max_tool_calls_per_turn: u32,

    // --- openai driver (docs/openai-driver.md); unset fields take the documented defaults ---
    /// openai: the API base URL (default `https://api.openai.com/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// openai: the environment variable holding the API key (default `OPENAI_API_KEY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// openai: the model id (required by the openai driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// openai: the system prompt file, inside the project (the prompt version under test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<PathBuf>,
    /// openai: a JSON file holding the chat completions `tools` array (function schemas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<PathBuf>,
    /// openai: sampling temperature (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// openai: sampling seed, passed through when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// openai: `max_tokens` of each completion, passed through when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// openai: the tool the model calls to hand off to a human (an escalation, not a replayed call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_tool: Option<String>,
    /// openai: most requests in flight at once, across all gate workers (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// openai: retries of a request after a 408/429/5xx answer or a connection error (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// openai: the first retry's delay when the server gives no `Retry-After`, doubled per retry (default 500 ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_backoff_ms: Option<u64>,
    /// openai: longest one HTTP request may take (default 60000 ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout_ms: Option<u64>,
    /// openai: USD per million prompt tokens, for the cost line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_million_input_tokens: Option<f64>,
    /// openai: USD per million completion tokens, for the cost line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_per_million_output_tokens: Option<f64>,
}

impl Default for AgentConfig {
    /// An `exec` config with no command and the default limits (fill in what you need).
    fn default() -> Self {
        AgentConfig {
            name: default_name(),
            driver: DriverKind::Exec,
            command: Vec::new(),
            env: Default::default(),
            concurrent_sessions: false,
            url: None,
            component: None,
            config: empty_object(),
            turn_timeout_ms: default_turn_timeout(),
            scenario_timeout_ms: default_scenario_timeout(),
            max_tool_calls_per_turn: default_max_tool_calls(),
            base_url: None,
            api_key_env: None,
            model: None,
            system_prompt: None,
            tools: None,
            temperature: None,
            seed: None,
            max_tokens: None,
            escalate_tool: None,
            max_concurrency: None,
            retries: None,
            retry_backoff_ms: None,
            request_timeout_ms: None,
            price_per_million_input_tokens: None,
            price_per_million_output_tokens: None,
        }
    }
}

fn default_name() -> String {
    "agent".into()
}
fn empty_object() -> Value {
    Value::Object(Default::default())
}
fn default_turn_timeout() -> u64 {
    10_000
}
fn default_scenario_timeout() -> u64 {
    60_000
}
fn default_max_tool_calls() -> u32 {
    16
}

/// The drivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriverKind {
    /// A subprocess speaking JSON lines.
    Exec,
    /// A service: each protocol message is one HTTP POST, answered in the response.
    Http,
    /// A Wasm component (world `agent`).
    Wasm,
    /// A system prompt, a model and tool schemas against an OpenAI-compatible endpoint.
    Openai,
}

impl DriverKind {
    /// The name used in agent files.
    pub fn name(self) -> &'static str {
        match self {
            DriverKind::Exec => "exec",
            DriverKind::Http => "http",
            DriverKind::Wasm => "wasm",
            DriverKind::Openai => "openai",
        }
    }
}

impl AgentConfig {
    /// Load and validate an agent config file.
    pub fn load(path: &Path) -> Result<AgentConfig, SchemaError> {
        let file: AgentFile = schema::load_toml(path)?;
        let a = file.agent;
        let origin = path.display().to_string();
        let bad = |field: &str, msg: &str| Err(SchemaError::invalid(origin.clone(), None, None, Some(format!("agent.{field}")), msg.to_string()));
        if let Some((field, users)) = a.field_of_another_driver() {
            let users: Vec<&str> = users.iter().map(|d| d.name()).collect();
            return bad(field, &format!("only the {} driver uses this field (this agent's driver is `{}`)", users.join(" and "), a.driver.name()));
        }
        match a.driver {
            DriverKind::Exec if a.command.is_empty() => return bad("command", "the exec driver needs a command, e.g. [\"python3\", \"agent.py\"]"),
            DriverKind::Wasm if a.component.is_none() => return bad("component", "the wasm driver needs a component path"),
            DriverKind::Openai => {
                if let Err((field, msg)) = openai::OpenAiSettings::from_config(&a) {
                    return bad(field, &msg);
                }
            }
            DriverKind::Http => {
                if let Err((field, msg)) = http::HttpSettings::from_config(&a) {
                    return bad(field, &msg);
                }
            }
            _ => {}
        }
        if a.turn_timeout_ms == 0 || a.scenario_timeout_ms == 0 {
            return bad("turn_timeout_ms", "timeouts must be positive");
        }
        if !a.config.is_object() {
            return bad("config", "must be a table");
        }
        Ok(a)
    }
}

impl AgentConfig {
    /// The first field set that this agent's driver does not read, with the drivers
    /// that do: one table for every driver, so a field meant for another driver is
    /// refused by name instead of silently ignored.
    pub fn field_of_another_driver(&self) -> Option<(&'static str, &'static [DriverKind])> {
        use DriverKind::{Exec, Http, Openai, Wasm};
        let endpoint: &'static [DriverKind] = &[Openai, Http];
        let openai: &'static [DriverKind] = &[Openai];
        [
            ("command", !self.command.is_empty(), &[Exec] as &'static [DriverKind]),
            ("env", !self.env.is_empty(), &[Exec]),
            ("concurrent_sessions", self.concurrent_sessions, &[Exec]),
            ("url", self.url.is_some(), &[Http]),
            ("component", self.component.is_some(), &[Wasm]),
            ("base_url", self.base_url.is_some(), openai),
            ("api_key_env", self.api_key_env.is_some(), endpoint),
            ("model", self.model.is_some(), openai),
            ("system_prompt", self.system_prompt.is_some(), openai),
            ("tools", self.tools.is_some(), openai),
            ("temperature", self.temperature.is_some(), openai),
            ("seed", self.seed.is_some(), openai),
            ("max_tokens", self.max_tokens.is_some(), openai),
            ("escalate_tool", self.escalate_tool.is_some(), openai),
            ("max_concurrency", self.max_concurrency.is_some(), endpoint),
            ("retries", self.retries.is_some(), endpoint),
            ("retry_backoff_ms", self.retry_backoff_ms.is_some(), endpoint),
            ("request_timeout_ms", self.request_timeout_ms.is_some(), endpoint),
            ("price_per_million_input_tokens", self.price_per_million_input_tokens.is_some(), openai),
            ("price_per_million_output_tokens", self.price_per_million_output_tokens.is_some(), openai),
        ]
        .into_iter()
        .find(|(_, set, users)| *set && !users.contains(&self.driver))
        .map(|(field, _, users)| (field, users))
    }
}

/// What the agent did in answer to a message.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// It wants a tool: answer with [`Session::tool_result`].
    ToolCall {
        /// Correlation id.
        call_id: String,
        /// Tool name.
        name: String,
        /// Tool version the agent states, if any.
        version: Option<String>,
        /// Arguments.
        arguments: Value,
    },
    /// It replied to the customer: its turn is over.
    Message(String),
    /// It handed off to a human: the session is over.
    Escalate(String),
}

/// Why the agent could not be driven: the scenario's verdict becomes `error`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    /// The agent could not be started.
    #[error("cannot start the agent: {0}")]
    Start(String),
    /// The agent process exited in the middle of a session.
    #[error("the agent exited unexpectedly ({status}){}", stderr_tail(.stderr))]
    Crashed {
        /// Exit status as text.
        status: String,
        /// Last lines of its stderr.
        stderr: String,
    },
    /// No answer within the per-turn or per-scenario timeout.
    #[error("the agent did not answer within {timeout_ms} ms ({what}){}", stderr_tail(.stderr))]
    Timeout {
        /// Which timeout.
        what: &'static str,
        /// Its value.
        timeout_ms: u64,
        /// Last lines of its stderr.
        stderr: String,
    },
    /// The agent said something that is not a protocol message.
    #[error("protocol error: {message}{}", stderr_tail(.stderr))]
    Protocol {
        /// What was wrong, with the offending line.
        message: String,
        /// Last lines of its stderr.
        stderr: String,
    },
    /// A wasm agent failed (trap, fuel, memory...).
    #[error("{0}")]
    Plugin(String),
    /// The agent made too many tool calls without replying.
    #[error("the agent made more than {0} tool calls without replying (loop guard)")]
    ToolLoop(u32),
    /// The model endpoint failed (openai driver): status, endpoint and a body excerpt.
    #[error("{0}")]
    Endpoint(String),
}

fn stderr_tail(s: &str) -> String {
    if s.trim().is_empty() {
        String::new()
    } else {
        format!("; agent stderr (tail):\n{}", s.trim_end())
    }
}

/// One scenario's conversation with the agent.
pub trait Session {
    /// Deliver the next scripted customer line; returns the agent's answer.
    fn customer_message(&mut self, text: &str) -> Result<AgentEvent, AgentError>;
    /// Deliver a tool result; returns the agent's next event.
    fn tool_result(&mut self, call_id: &str, content: &Value, is_error: bool) -> Result<AgentEvent, AgentError>;
    /// No more customer lines.
    fn end(&mut self) -> Result<(), AgentError>;
}

/// Starts sessions. One driver per worker thread (exec drivers own a process).
pub trait Driver: Send {
    /// Start a session for `scenario`.
    fn start<'a>(&'a mut self, scenario: &'a Scenario) -> Result<Box<dyn Session + 'a>, AgentError>;
    /// Identity for reports: `name` and version as the agent reports it.
    fn describe(&self) -> String;
}
