//! Agents under test as components: what an [`crate::Agent`] returns, and
//! helpers for reading the transcript the way a *stateless* agent must.
//!
//! The `agent` world is stateless: on every step the host passes the agent
//! state snapshot, the channel and the whole transcript so far, and asks for
//! the next [`Action`]. The host appends each tool call (an `agent` turn with
//! empty text and one entry in `tool_calls`) and its result (a `tool` turn)
//! before asking again, so "what have I already done about the customer's
//! latest message?" is answered by reading the turns after it:
//! [`CurrentTurn`] does that.

use crate::json::Json;
use crate::model::{Role, ToolCall, ToolResult, Turn};

/// What the agent does next: the WIT `responder.action` variant.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Reply to the customer: ends the agent's turn.
    Reply(String),
    /// Call a tool. The host answers from the scenario's fixtures, appends
    /// the call and its result to the transcript and asks again. The call's
    /// `id` is the agent's choice ([`next_call_id`] gives a deterministic one).
    CallTool(ToolCall),
    /// Hand off to a human (the reason): ends the session.
    Escalate(String),
}

impl Action {
    /// `Action::Reply(text)`.
    pub fn reply(text: impl Into<String>) -> Self {
        Action::Reply(text.into())
    }

    /// `Action::CallTool` with the given call id, tool name and arguments
    /// (normally a JSON object: a `Value` or a [`crate::Json`]).
    pub fn call_tool(id: impl Into<String>, name: impl Into<String>, arguments: impl Into<Json>) -> Self {
        Action::CallTool(ToolCall { id: id.into(), name: name.into(), arguments: arguments.into() })
    }

    /// `Action::Escalate(reason)`.
    pub fn escalate(reason: impl Into<String>) -> Self {
        Action::Escalate(reason.into())
    }
}

/// A fresh, deterministic tool-call id for the next call: `call-N`, where N is
/// one more than the number of tool calls in `transcript`. Same transcript,
/// same id: replays stay byte-identical.
pub fn next_call_id(transcript: &[Turn]) -> String {
    let made = transcript.iter().map(|t| t.tool_calls.len()).sum::<usize>();
    format!("call-{}", made + 1)
}

/// The customer's latest message and what the agent has done about it so far
/// (the turns after it): the working memory of a stateless agent.
#[derive(Debug, Clone, Copy)]
pub struct CurrentTurn<'a> {
    /// The latest customer turn.
    pub customer: &'a Turn,
    /// Every turn after it, in order (the agent's tool calls and their results).
    pub after: &'a [Turn],
}

impl<'a> CurrentTurn<'a> {
    /// The latest customer turn of `transcript` and the turns after it; `None`
    /// when the customer has not spoken yet.
    pub fn of(transcript: &'a [Turn]) -> Option<Self> {
        let i = transcript.iter().rposition(|t| t.role == Role::Customer)?;
        Some(CurrentTurn { customer: &transcript[i], after: &transcript[i + 1..] })
    }

    /// True when an agent turn with text follows the customer's message: the
    /// agent has already replied to it.
    pub fn answered(&self) -> bool {
        self.after.iter().any(|t| t.role == Role::Agent && !t.text.is_empty())
    }

    /// The tool calls made since the customer's message, each with its result
    /// when the transcript has one (matched on `call_id`).
    pub fn calls(&self) -> impl Iterator<Item = (&'a ToolCall, Option<&'a ToolResult>)> + 'a {
        let after = self.after;
        after.iter().flat_map(|t| t.tool_calls.iter()).map(move |c| {
            let result = after.iter().filter_map(|t| t.tool_result.as_ref()).find(|r| r.call_id == c.id);
            (c, result)
        })
    }

    /// The latest call to `tool` since the customer's message, with its
    /// result if there is one yet.
    pub fn last_call(&self, tool: &str) -> Option<(&'a ToolCall, Option<&'a ToolResult>)> {
        self.calls().filter(|(c, _)| c.name == tool).last()
    }

    /// The result of the latest call to `tool` since the customer's message
    /// (error results included: check `is_error`).
    pub fn result_of(&self, tool: &str) -> Option<&'a ToolResult> {
        self.last_call(tool).and_then(|(_, r)| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Conversation;
    use serde_json::json;

    fn transcript() -> Vec<Turn> {
        Conversation::from_json(
            &json!({"id": "t", "channel": "chat", "turns": [
                {"role": "customer", "text": "cancel please"},
                {"role": "agent", "text": "", "tool_calls": [{"id": "call-1", "name": "lookup_account", "arguments": {"email": "a@b"}}]},
                {"role": "tool", "tool_result": {"call_id": "call-1", "name": "lookup_account", "content": {"subscription_status": "none"}}},
                {"role": "agent", "text": "Nothing to cancel."},
                {"role": "customer", "text": "refund then"},
                {"role": "agent", "text": "", "tool_calls": [{"id": "call-2", "name": "lookup_account", "arguments": {"email": "a@b"}}]},
                {"role": "tool", "tool_result": {"call_id": "call-2", "content": {"supervisor_flag": true}}},
                {"role": "agent", "text": "", "tool_calls": [{"id": "call-3", "name": "issue_refund", "arguments": {}}]}
            ]})
            .to_string(),
        )
        .unwrap()
        .turns
    }

    #[test]
    fn current_turn_reads_what_happened_since_the_customer_spoke() {
        let t = transcript();
        let cur = CurrentTurn::of(&t).unwrap();
        assert_eq!(cur.customer.text, "refund then");
        assert_eq!(cur.after.len(), 3);
        assert!(!cur.answered());
        // The lookup of the *first* request is not part of this one.
        assert_eq!(cur.calls().count(), 2);
        assert_eq!(cur.result_of("lookup_account").unwrap().content, json!({"supervisor_flag": true}));
        let (call, result) = cur.last_call("issue_refund").unwrap();
        assert_eq!((call.id.as_str(), result), ("call-3", None));
        assert!(cur.result_of("issue_refund").is_none());
        assert!(cur.last_call("cancel_subscription").is_none());

        let first = CurrentTurn::of(&t[..4]).unwrap();
        assert!(first.answered());
        assert!(CurrentTurn::of(&[]).is_none());
    }

    #[test]
    fn call_ids_count_every_call_so_far() {
        let t = transcript();
        assert_eq!(next_call_id(&t), "call-4");
        assert_eq!(next_call_id(&t[..1]), "call-1");
    }

    #[test]
    fn constructors() {
        assert_eq!(Action::reply("hi"), Action::Reply("hi".into()));
        assert_eq!(Action::escalate("asked"), Action::Escalate("asked".into()));
        let Action::CallTool(c) = Action::call_tool("call-1", "lookup_account", json!({"email": "x"})) else { panic!() };
        assert_eq!((c.id.as_str(), c.name.as_str(), c.arguments.as_value()), ("call-1", "lookup_account", &json!({"email": "x"})));
    }
}
