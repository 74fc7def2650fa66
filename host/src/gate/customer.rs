//! The simulated customer: when a scenario's scripted lines run out before a fix
//! reaches its decisive step — it asked for a confirmation, or one more detail —
//! a model plays the customer on, from the real customer's goal and what they
//! disclosed (`[script]`). Its lines go through the model broker and are recorded
//! like LLM judgements (`recordings/model/`), so the gate replays them offline and
//! byte for byte; in replay a line with no recording is an `error` verdict, never a
//! silent pass.
//!
//! The request is fixed text: changing the prompt below changes every recording
//! key, so it is versioned by [`PROMPT_VERSION`] and only changed on purpose.

use std::sync::Arc;

use serde_json::{json, Value};

use super::replay::Customer;
use crate::llm::{ChatRequest, Message, MessageRole, ModelBroker};
use crate::schema::{Conversation, Role, ScriptPolicy};

/// The name broker calls are made under (in errors, counts and `plugin`-like messages).
pub const CUSTOMER: &str = "simulated-customer";

/// Bumped whenever the request text below changes (old recordings then no longer match).
pub const PROMPT_VERSION: &str = "ratchet simulated customer v1";

/// A simulated customer answering through the model broker.
pub struct SimulatedCustomer {
    broker: Arc<ModelBroker>,
}

impl SimulatedCustomer {
    /// A customer whose lines come from `broker` (replayed in `ratchet gate`).
    pub fn new(broker: Arc<ModelBroker>) -> SimulatedCustomer {
        SimulatedCustomer { broker }
    }

    /// The request for the customer's next line: the goal, the facts, and the
    /// conversation as the customer saw it (what was said, not the tool calls).
    pub fn request(policy: &ScriptPolicy, transcript: &Conversation) -> ChatRequest {
        let facts = if policy.facts.is_empty() {
            "(nothing beyond your goal)".to_string()
        } else {
            policy.facts.iter().map(|f| format!("- {f}")).collect::<Vec<_>>().join("\n")
        };
        let system = format!(
            "{PROMPT_VERSION}\n\
             You play a customer of a support service in a regression test.\n\
             Your goal: {}\n\
             What you have told the support agent, and may repeat:\n{facts}\n\
             Answer the agent's last message as this customer would, in one short line, only to move toward your goal. \
             Never invent account details, order numbers, names or amounts you were not given. \
             You are done when your goal is met, when it is refused, or when the agent asks nothing of you. \
             Answer as JSON: {{\"say\": \"your line, empty when done\", \"done\": true or false}}.",
            policy.goal
        );
        let mut lines = Vec::new();
        for (i, t) in transcript.turns.iter().enumerate() {
            let who = match t.role {
                Role::Customer => "CUSTOMER",
                Role::Agent if !t.text.is_empty() => "AGENT",
                _ => continue,
            };
            lines.push(format!("[{i}] {who}: {}", t.text));
        }
        ChatRequest {
            model: String::new(),
            messages: vec![
                Message { role: MessageRole::System, content: system },
                Message { role: MessageRole::User, content: format!("CONVERSATION:\n{}", lines.join("\n")) },
            ],
            temperature: 0.0,
            max_tokens: Some(200),
            json_schema: Some(
                json!({
                    "type": "object",
                    "properties": {"say": {"type": "string"}, "done": {"type": "boolean"}},
                    "required": ["say", "done"],
                    "additionalProperties": false
                })
                .to_string(),
            ),
        }
    }
}

impl Customer for SimulatedCustomer {
    fn next_line(&self, policy: &ScriptPolicy, transcript: &Conversation) -> Result<Option<String>, String> {
        let (answer, _) = self.broker.complete(CUSTOMER, &Self::request(policy, transcript)).map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&answer.content).map_err(|e| format!("the answer ({}) is not JSON: {e}", answer.key))?;
        let done = v.get("done").and_then(Value::as_bool).ok_or_else(|| format!("the answer ({}) has no boolean `done`", answer.key))?;
        let say = v.get("say").and_then(Value::as_str).unwrap_or("").trim().to_string();
        Ok((!done && !say.is_empty()).then_some(say))
    }
}
