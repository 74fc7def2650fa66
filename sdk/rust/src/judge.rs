//! Ask a language model from an LLM-judged scorecard or assertion.
//!
//! Inside a component, [`complete`] calls the host's `ratchet:plugin/model`
//! import (WIT 0.1.1). The host sends the request to the endpoint the user
//! configured in `[model]`, and records the answer under the sha256 of the
//! canonical request; `ratchet gate` replays recorded answers only, so the same
//! question always gets the same answer and the verdict is deterministic. The
//! plugin needs `grant_model = true` in its `[plugins.NAME]` entry; without it
//! every call returns [`JudgeError::Denied`].
//!
//! In native unit tests there is no host: install a stand-in judge with
//! [`set_native_judge`] (per thread) and test the plugin's prompt building and
//! answer parsing without Wasm or a network.
//!
//! ```
//! use ratchet_sdk::judge::{self, Request, Response};
//! use ratchet_sdk::json;
//!
//! judge::set_native_judge(|req: &Request| {
//!     assert!(req.messages[1].content.contains("refund"));
//!     Ok(Response::text(r#"{"passed": false, "reason": "no supervisor check"}"#))
//! });
//! let req = Request::new()
//!     .system("You grade support conversations. Answer in JSON.")
//!     .user("Did the agent check the supervisor flag before the refund?")
//!     .schema(json!({"type": "object", "properties": {"passed": {"type": "boolean"}, "reason": {"type": "string"}},
//!                    "required": ["passed", "reason"], "additionalProperties": false}));
//! let (answer, _) = judge::complete_json(&req).unwrap();
//! assert_eq!(answer["passed"], false);
//! ```

use serde_json::Value;

/// Who says a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Instructions to the judge.
    System,
    /// The question (and the transcript under judgement).
    User,
    /// An earlier answer (few-shot examples).
    Assistant,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: String,
}

/// A chat completion request. Build it with [`Request::new`] and the chained setters.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Model id; empty means the judge model configured in `[model]`.
    pub model: String,
    /// The messages, in order.
    pub messages: Vec<Message>,
    /// Sampling temperature (0 by default: judging wants the likeliest answer).
    pub temperature: f64,
    /// Most completion tokens.
    pub max_tokens: Option<u32>,
    /// A JSON Schema the answer must follow (sent as a strict `json_schema` response format).
    pub json_schema: Option<Value>,
}

impl Default for Request {
    fn default() -> Self {
        Self::new()
    }
}

impl Request {
    /// An empty request at temperature 0 for the configured judge model.
    pub fn new() -> Request {
        Request { model: String::new(), messages: Vec::new(), temperature: 0.0, max_tokens: None, json_schema: None }
    }
    /// Add a system message.
    pub fn system(mut self, text: impl Into<String>) -> Request {
        self.messages.push(Message { role: Role::System, content: text.into() });
        self
    }
    /// Add a user message.
    pub fn user(mut self, text: impl Into<String>) -> Request {
        self.messages.push(Message { role: Role::User, content: text.into() });
        self
    }
    /// Add an assistant message (a worked example).
    pub fn assistant(mut self, text: impl Into<String>) -> Request {
        self.messages.push(Message { role: Role::Assistant, content: text.into() });
        self
    }
    /// Ask a specific model instead of the configured one.
    pub fn model(mut self, model: impl Into<String>) -> Request {
        self.model = model.into();
        self
    }
    /// Limit the answer's length.
    pub fn max_tokens(mut self, n: u32) -> Request {
        self.max_tokens = Some(n);
        self
    }
    /// Require a structured answer following `schema`.
    pub fn schema(mut self, schema: Value) -> Request {
        self.json_schema = Some(schema);
        self
    }
}

/// The model's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The answer text (JSON text when a schema was set).
    pub content: String,
    /// The model that answered.
    pub model: String,
    /// `sha256:<hex>` of the canonical request: the recording's name.
    pub key: String,
}

impl Response {
    /// A response with this text (for native test judges).
    pub fn text(content: impl Into<String>) -> Response {
        Response { content: content.into(), model: "native-test-judge".into(), key: String::new() }
    }
}

/// Why there is no answer. Each carries the host's explanation.
#[derive(Debug, Clone, PartialEq)]
pub enum JudgeError {
    /// The plugin has no `grant_model = true`.
    Denied(String),
    /// Replay mode and this question was never recorded.
    NotRecorded(String),
    /// The endpoint failed or is not configured.
    Unavailable(String),
    /// The request is unusable.
    Invalid(String),
}

impl std::fmt::Display for JudgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JudgeError::Denied(m) => write!(f, "model call denied: {m}"),
            JudgeError::NotRecorded(m) => write!(f, "model answer not recorded: {m}"),
            JudgeError::Unavailable(m) => write!(f, "model unavailable: {m}"),
            JudgeError::Invalid(m) => write!(f, "invalid model request: {m}"),
        }
    }
}

impl std::error::Error for JudgeError {}

/// Ask the model (through the host inside a component; through the judge set
/// with [`set_native_judge`] in native tests).
pub fn complete(request: &Request) -> Result<Response, JudgeError> {
    #[cfg(target_arch = "wasm32")]
    {
        crate::v0_1::model_complete(request)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        native::call(request)
    }
}

/// [`complete`], then parse the answer as JSON; errors are messages ready to return
/// from `score`/`check`.
pub fn complete_json(request: &Request) -> Result<(Value, Response), String> {
    let r = complete(request).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_str(r.content.trim()).map_err(|e| format!("the judge's answer is not JSON ({e}): {}", r.content))?;
    Ok((v, r))
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::cell::RefCell;

    use super::{JudgeError, Request, Response};

    type Judge = Box<dyn Fn(&Request) -> Result<Response, JudgeError>>;

    thread_local! {
        static JUDGE: RefCell<Option<Judge>> = const { RefCell::new(None) };
    }

    pub(super) fn set(judge: Judge) {
        JUDGE.with(|j| *j.borrow_mut() = Some(judge));
    }

    pub(super) fn call(request: &Request) -> Result<Response, JudgeError> {
        JUDGE.with(|j| match &*j.borrow() {
            Some(judge) => judge(request),
            None => Err(JudgeError::Unavailable("no judge in a native test: install one with ratchet_sdk::judge::set_native_judge".into())),
        })
    }
}

/// Native tests only: answer this thread's [`complete`] calls with `judge`.
#[cfg(not(target_arch = "wasm32"))]
pub fn set_native_judge(judge: impl Fn(&Request) -> Result<Response, JudgeError> + 'static) {
    native::set(Box::new(judge));
}

/// The conversation as plain text for a judge prompt, one line per turn with its
/// index in brackets (so the judge can name the deciding turn), tool calls and
/// results as canonical JSON. The same conversation always renders to the same
/// text, so the same question has the same recording key.
///
/// ```text
/// [0] CUSTOMER: Please cancel my plan.
/// [1] AGENT calls lookup_account {"email":"[EMAIL_1]"}
/// [2] TOOL lookup_account returned {"plan":"premium","subscription_status":"active"}
/// [3] AGENT: Done - your plan is cancelled.
/// ```
pub fn render_transcript(conversation: &crate::Conversation) -> String {
    use crate::Role as R;
    let mut out = String::new();
    for (i, t) in conversation.turns.iter().enumerate() {
        let who = match t.role {
            R::Customer => "CUSTOMER",
            R::Agent => "AGENT",
            R::Tool => "TOOL",
            R::System => "SYSTEM",
        };
        let text = t.text.trim();
        if !text.is_empty() {
            out.push_str(&format!("[{i}] {who}: {}\n", text.replace('\n', " ")));
        }
        for c in &t.tool_calls {
            out.push_str(&format!("[{i}] {who} calls {} {}\n", c.name, crate::json::canonical_string(&c.arguments)));
        }
        if let Some(r) = &t.tool_result {
            let verb = if r.is_error { "failed with" } else { "returned" };
            out.push_str(&format!("[{i}] {who} {} {verb} {}\n", r.name, crate::json::canonical_string(&r.content)));
        }
        if text.is_empty() && t.tool_calls.is_empty() && t.tool_result.is_none() {
            out.push_str(&format!("[{i}] {who}: (empty)\n"));
        }
    }
    out
}

/// The JSON Schema of a yes/no judgement: `{"answer": "yes"|"no", "reason": string,
/// "turn": integer|null}` (strict: all fields required, nothing else allowed).
pub fn yes_no_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "answer": {"type": "string", "enum": ["yes", "no"]},
            "reason": {"type": "string"},
            "turn": {"type": ["integer", "null"]}
        },
        "required": ["answer", "reason", "turn"],
        "additionalProperties": false
    })
}

/// A parsed yes/no judgement.
#[derive(Debug, Clone, PartialEq)]
pub struct YesNo {
    /// `true` for "yes".
    pub yes: bool,
    /// The judge's one-sentence reason.
    pub reason: String,
    /// The turn the judge pointed at, if it is a turn of the conversation.
    pub turn: Option<u32>,
}

impl YesNo {
    /// The reason as a verdict or criterion line: `judge: <the judge's sentence>`
    /// (`judge: yes` / `judge: no` when it gave none).
    pub fn reason_line(&self) -> String {
        if self.reason.is_empty() {
            format!("judge: {}", if self.yes { "yes" } else { "no" })
        } else {
            format!("judge: {}", self.reason)
        }
    }
}

/// Read a [`yes_no_schema`] answer; `turns` bounds the turn index (an index
/// outside the conversation is dropped, not trusted).
pub fn parse_yes_no(v: &Value, turns: usize) -> Result<YesNo, String> {
    let yes = match v.get("answer").and_then(Value::as_str).map(|s| s.trim().to_ascii_lowercase()) {
        Some(a) if a == "yes" => true,
        Some(a) if a == "no" => false,
        _ => return Err(format!("the judge's answer has no `answer` of \"yes\" or \"no\": {v}")),
    };
    let reason = v.get("reason").and_then(Value::as_str).unwrap_or("").trim().to_string();
    let turn = v.get("turn").and_then(Value::as_u64).filter(|t| (*t as usize) < turns).map(|t| t as u32);
    Ok(YesNo { yes, reason, turn })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, Conversation, Role as R, ToolCall, ToolResult, Turn};

    #[test]
    fn transcript_rendering_is_stable_and_indexed() {
        let mut c = Conversation::new("c1", Channel::Chat);
        c.push_turn(Turn::new(0, R::Customer, "Cancel\nplease"));
        let mut t = Turn::new(0, R::Agent, "");
        t.tool_calls.push(ToolCall { id: "1".into(), name: "lookup".into(), arguments: serde_json::json!({"b": 1, "a": 2}).into() });
        c.push_turn(t);
        let mut t = Turn::new(0, R::Tool, "");
        t.tool_result = Some(ToolResult { call_id: "1".into(), name: "lookup".into(), content: serde_json::json!({"ok": true}).into(), is_error: false });
        c.push_turn(t);
        c.push_turn(Turn::new(0, R::Agent, "Done."));
        assert_eq!(
            render_transcript(&c),
            "[0] CUSTOMER: Cancel please\n[1] AGENT calls lookup {\"a\":2,\"b\":1}\n[2] TOOL lookup returned {\"ok\":true}\n[3] AGENT: Done.\n"
        );
    }

    #[test]
    fn yes_no_answers_are_checked() {
        let v = serde_json::json!({"answer": "Yes", "reason": " ok ", "turn": 3});
        assert_eq!(parse_yes_no(&v, 4).unwrap(), YesNo { yes: true, reason: "ok".into(), turn: Some(3) });
        assert_eq!(parse_yes_no(&v, 3).unwrap().turn, None);
        assert!(parse_yes_no(&serde_json::json!({"answer": "maybe"}), 3).is_err());
    }
}
