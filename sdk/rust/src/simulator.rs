//! Tool simulators (world `simulator`, since WIT 0.1.2): answer an agent's tool
//! calls from a model of the world the conversation ran in, so a replay can let
//! a correct agent take another path than the failing run (an extra lookup, the
//! right mutation with other arguments) while outcome criteria check where the
//! agent left the world.
//!
//! A simulator is two pure functions over JSON, unit-testable natively:
//! [`crate::Simulator::seed`] reconstructs the world before the conversation
//! from what it observed (every recorded call and result), and
//! [`crate::Simulator::call`] answers one call in a world and returns the world
//! after it. Nothing persists between calls: the host passes the whole world in
//! and keeps what comes back.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One tool call as the agent made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRequest {
    /// Tool name as the agent calls it.
    pub tool: String,
    /// The tool's version (from the call, else the scenario's registry; may be empty).
    #[serde(default)]
    pub version: String,
    /// Arguments, a JSON object.
    pub arguments: Value,
}

impl ToolRequest {
    /// A request for `tool` with `arguments` (version left empty), for tests.
    pub fn new(tool: impl Into<String>, arguments: Value) -> ToolRequest {
        ToolRequest { tool: tool.into(), version: String::new(), arguments }
    }

    /// The string argument `key`, if present.
    pub fn arg_str(&self, key: &str) -> Option<&str> {
        self.arguments.get(key).and_then(Value::as_str)
    }
}

/// A call the recorded conversation made, with what it returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    /// The call.
    pub request: ToolRequest,
    /// The recorded result.
    pub result: Value,
    /// The tool reported an error.
    #[serde(default)]
    pub is_error: bool,
}

/// A simulator's answer to one call: the tool's result and the whole world after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Simulated {
    /// The tool's result.
    pub result: Value,
    /// True when the tool reports an error (a rejected call should change nothing).
    pub is_error: bool,
    /// The whole world after the call (a JSON object; unchanged for reads).
    pub world: Value,
}

impl Simulated {
    /// A successful result; `world` is the world after the call.
    pub fn ok(result: Value, world: Value) -> Simulated {
        Simulated { result, is_error: false, world }
    }

    /// An error result; the world is unchanged (pass it back as it came).
    pub fn error(result: Value, world: Value) -> Simulated {
        Simulated { result, is_error: true, world }
    }
}
