//! What a plugin's `ratchet:plugin/model` import asks for and gets back, and the
//! [`ModelAccess`] trait the runtime calls to answer it. The runtime knows no
//! endpoint and no recording: the embedder supplies the access (ratchet's own is
//! its model broker, which records and replays answers; a test can supply a fake).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::schema::canonical_json;

/// Largest canonical request accepted, bytes (a judge prompt, not a corpus).
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    /// Instructions.
    System,
    /// The question.
    User,
    /// A previous model answer (few-shot examples).
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who says it.
    pub role: MessageRole,
    /// What is said.
    pub content: String,
}

/// A plugin's request, host-side (converted from the WIT record).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// Model id; empty means the configured judge model.
    pub model: String,
    /// The conversation with the model.
    pub messages: Vec<Message>,
    /// Sampling temperature.
    pub temperature: f64,
    /// Most completion tokens.
    pub max_tokens: Option<u32>,
    /// JSON Schema text for a structured answer.
    pub json_schema: Option<String>,
}

impl ChatRequest {
    /// The chat completions body this request becomes, with `default_model` filled
    /// in; an error says what is wrong with the request.
    pub fn body(&self, default_model: &str) -> Result<Value, String> {
        if self.messages.is_empty() {
            return Err("the request has no messages".into());
        }
        if !self.temperature.is_finite() || !(0.0..=2.0).contains(&self.temperature) {
            return Err(format!("temperature {} is outside 0..=2", self.temperature));
        }
        if self.max_tokens == Some(0) {
            return Err("max-tokens must be at least 1".into());
        }
        let model = if self.model.trim().is_empty() { default_model } else { self.model.trim() };
        let mut body = json!({"model": model, "messages": self.messages, "temperature": self.temperature});
        if let Some(m) = self.max_tokens {
            body["max_tokens"] = json!(m);
        }
        if let Some(schema) = &self.json_schema {
            let schema: Value = serde_json::from_str(schema).map_err(|e| format!("json-schema is not JSON: {e}"))?;
            if !schema.is_object() {
                return Err("json-schema must be a JSON object (a JSON Schema)".into());
            }
            body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "answer", "strict": true, "schema": schema}});
        }
        if canonical_json(&body).len() > MAX_REQUEST_BYTES {
            return Err(format!("the request is larger than {} KiB", MAX_REQUEST_BYTES >> 10));
        }
        Ok(body)
    }
}

/// Why a model call gave no answer (mirrors the WIT `model-error`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The plugin has no `grant_model = true`.
    #[error("denied: {0}")]
    Denied(String),
    /// Replay and no recording.
    #[error("not recorded: {0}")]
    NotRecorded(String),
    /// The endpoint failed or is not configured.
    #[error("model unavailable: {0}")]
    Unavailable(String),
    /// The request is unusable.
    #[error("invalid model request: {0}")]
    Invalid(String),
}

/// The answer a plugin gets.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The assistant message text.
    pub content: String,
    /// The model that answered.
    pub model: String,
    /// The recording key.
    pub key: String,
}

/// What one model call cost: reported per plugin call and summed per run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelCall {
    /// Recording key.
    pub key: String,
    /// The model that answered.
    pub model: String,
    /// Served from a recording (no network, no cost now).
    pub replayed: bool,
    /// Latency of the live call (for a replay: of the call that was recorded), ms.
    pub latency_ms: u64,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Cost in USD of the live call, when prices are configured (a replay costs nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

/// How plugins granted model access get their answers: implemented by ratchet's
/// model broker (recorded, replayed), or by an embedder's own client.
pub trait ModelAccess: std::any::Any + Send + Sync {
    /// Answer `request` for the plugin named `plugin`: the answer and what it cost.
    fn complete(&self, plugin: &str, request: &ChatRequest) -> Result<(Answer, ModelCall), ModelError>;
    /// Most model calls one plugin call may make.
    fn max_calls_per_plugin_call(&self) -> u32;
}
