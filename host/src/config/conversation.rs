//! `[conversation]`: how ratchet reads a conversation, the same way in detect,
//! regenerate and the gate — which tool calls hand the customer to a human, and
//! what a tool result that did not take effect looks like.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema::{Conversation, ToolResult};

/// `[conversation]` in `ratchet.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConversationConfig {
    /// Tools whose call hands the conversation to a human (`handoff_to_human`,
    /// `transfer`): a call that took effect counts as escalating, like the
    /// platform's own `outcome.escalated`, in detect, derived criteria and the gate.
    pub escalation_tools: Vec<String>,
    /// A regular expression matched against a tool result's canonical JSON: a
    /// match means the call did not take effect (besides `is_error` and the
    /// built-in shapes, see [`ConversationConfig::failed`]).
    pub error_result_pattern: Option<String>,
}

impl ConversationConfig {
    /// Check the pattern; the error names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if let Some(p) = &self.error_result_pattern {
            crate::schema::pattern::compile(p).map_err(|e| ("conversation.error_result_pattern".to_string(), e.to_string()))?;
        }
        for (i, t) in self.escalation_tools.iter().enumerate() {
            if t.trim().is_empty() {
                return Err((format!("conversation.escalation_tools[{i}]"), "must name a tool".into()));
            }
        }
        Ok(())
    }

    /// Whether calling `tool` hands the customer to a human.
    pub fn is_escalation_tool(&self, tool: &str) -> bool {
        self.escalation_tools.iter().any(|t| t == tool)
    }

    /// Whether a tool result says the call did not take effect: `is_error`, or a
    /// result object with a non-null top-level `error`, `"ok": false` or
    /// `"success": false`, or a match of `error_result_pattern`.
    pub fn failed(&self, r: &ToolResult) -> bool {
        if r.is_error {
            return true;
        }
        if let Some(o) = r.content.as_object() {
            if o.get("error").is_some_and(|e| !e.is_null()) || o.get("ok") == Some(&Value::Bool(false)) || o.get("success") == Some(&Value::Bool(false)) {
                return true;
            }
        }
        match &self.error_result_pattern {
            // Validated when the config was read.
            Some(p) => crate::schema::pattern::compile(p).is_ok_and(|re| re.is_match(&crate::schema::canonical_json(&r.content))),
            None => false,
        }
    }

    /// Whether the call with `call_id` took effect: its result (the first one
    /// answering it) did not fail. A call with no result counts as taking effect.
    pub fn took_effect(&self, c: &Conversation, call_id: &str) -> bool {
        match c.turns.iter().filter_map(|t| t.tool_result.as_ref()).find(|r| r.call_id == call_id) {
            Some(r) => !self.failed(r),
            None => true,
        }
    }

    /// The turn where the customer was handed to a human: the platform's
    /// `outcome.escalated` (the last `system` turn, if any, else the end), or the
    /// first escalation-tool call that took effect. `None`: no hand-off.
    pub fn escalation(&self, c: &Conversation) -> Option<usize> {
        let by_tool = c
            .turns
            .iter()
            .enumerate()
            .find_map(|(i, t)| t.tool_calls.iter().any(|call| self.is_escalation_tool(&call.name) && self.took_effect(c, &call.id)).then_some(i));
        if c.outcome.escalated {
            return by_tool.or_else(|| c.turns.iter().rposition(|t| t.role == crate::schema::Role::System)).or(Some(c.turns.len().saturating_sub(1)));
        }
        by_tool
    }
}
