//! The `wasm` driver: the agent is a component implementing the `agent` world. It is
//! stateless — each step gets the whole transcript — so replay is deterministic by
//! construction. Each step runs on a fresh instance under the sandbox limits.

use std::sync::Arc;

use serde_json::Value;

use super::{AgentError, AgentEvent, Driver, Session};
use crate::plugin::AgentAction;
use crate::plugin::Plugin;
use crate::schema::{Role, Scenario, ToolResult, Turn};

/// Drives a component agent.
pub struct WasmDriver {
    plugin: Arc<Plugin>,
    config: Value,
}

impl WasmDriver {
    /// A driver for a loaded agent component and its `config`.
    pub fn new(plugin: Arc<Plugin>, config: Value) -> Self {
        WasmDriver { plugin, config }
    }
}

impl Driver for WasmDriver {
    fn start<'a>(&'a mut self, scenario: &'a Scenario) -> Result<Box<dyn Session + 'a>, AgentError> {
        Ok(Box::new(WasmSession { driver: self, scenario, turns: Vec::new() }))
    }

    fn describe(&self) -> String {
        format!("{} ({})", self.plugin.id().name, self.plugin.id().digest.get(..19).unwrap_or_default())
    }
}

struct WasmSession<'a> {
    driver: &'a WasmDriver,
    scenario: &'a Scenario,
    turns: Vec<Turn>,
}

fn turn(role: Role, text: String) -> Turn {
    Turn { role, text, tool_calls: vec![], tool_result: None, offset_ms: None, latency_ms: None }
}

impl WasmSession<'_> {
    fn step(&mut self) -> Result<AgentEvent, AgentError> {
        let call = self
            .driver
            .plugin
            .next_action(&self.scenario.state, self.scenario.channel, &self.turns, &self.driver.config)
            .map_err(|e| AgentError::Plugin(e.to_string()))?;
        Ok(match call.output {
            AgentAction::Reply(text) => {
                self.turns.push(turn(Role::Agent, text.clone()));
                AgentEvent::Message(text)
            }
            AgentAction::Escalate(reason) => AgentEvent::Escalate(reason),
            AgentAction::CallTool(tc) => {
                let mut t = turn(Role::Agent, String::new());
                t.tool_calls.push(tc.clone());
                self.turns.push(t);
                AgentEvent::ToolCall { call_id: tc.id, name: tc.name, version: None, arguments: tc.arguments }
            }
        })
    }
}

impl Session for WasmSession<'_> {
    fn customer_message(&mut self, text: &str) -> Result<AgentEvent, AgentError> {
        self.turns.push(turn(Role::Customer, text.to_string()));
        self.step()
    }

    fn tool_result(&mut self, call_id: &str, content: &Value, is_error: bool) -> Result<AgentEvent, AgentError> {
        let name = self.turns.iter().rev().flat_map(|t| t.tool_calls.iter()).find(|c| c.id == call_id).map(|c| c.name.clone()).unwrap_or_default();
        let mut t = turn(Role::Tool, String::new());
        t.tool_result = Some(ToolResult { call_id: call_id.to_string(), name, content: content.clone(), is_error });
        self.turns.push(t);
        self.step()
    }

    fn end(&mut self) -> Result<(), AgentError> {
        Ok(())
    }
}
