//! Drivers for the agent under test. A driver starts sessions; a session receives
//! the scripted customer lines and the replayed tool results, and returns what the
//! agent does next. Two drivers: `exec` (a subprocess speaking JSON lines, see
//! docs/agent-protocol.md) and `wasm` (an agent compiled to a component).

pub mod exec;
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
    /// `exec` or `wasm`.
    pub driver: DriverKind,
    /// exec: the command and its arguments (relative paths from the project root).
    #[serde(default)]
    pub command: Vec<String>,
    /// exec: extra environment variables for the agent process.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
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
    /// A Wasm component (world `agent`).
    Wasm,
}

impl AgentConfig {
    /// Load and validate an agent config file.
    pub fn load(path: &Path) -> Result<AgentConfig, SchemaError> {
        let file: AgentFile = schema::load_toml(path)?;
        let a = file.agent;
        let origin = path.display().to_string();
        let bad = |field: &str, msg: &str| Err(SchemaError::invalid(origin.clone(), None, None, Some(format!("agent.{field}")), msg.to_string()));
        match a.driver {
            DriverKind::Exec if a.command.is_empty() => return bad("command", "the exec driver needs a command, e.g. [\"python3\", \"agent.py\"]"),
            DriverKind::Wasm if a.component.is_none() => return bad("component", "the wasm driver needs a component path"),
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
