//! The `openai` driver: the agent under test is a system prompt file (the prompt
//! version), a model id and a tool registry (the chat completions `tools` array),
//! run against an OpenAI-compatible `/chat/completions` endpoint (OpenAI, vLLM,
//! Ollama, llama.cpp...). See docs/openai-driver.md.
//!
//! Each scripted customer line becomes a `user` message; the model's `tool_calls`
//! become [`AgentEvent::ToolCall`]s answered from the scenario's fixtures, appended as
//! `tool` messages; once every call of an assistant message has its result the model
//! is asked again, until it answers with `content` ([`AgentEvent::Message`]) or calls
//! the configured escalation tool ([`AgentEvent::Escalate`]).
//!
//! HTTP (timeouts, retries with backoff, the concurrency cap, usage counters) is
//! [`crate::llm::ChatEndpoint`]'s, shared with the model import of LLM-judged
//! plugins; whatever fails becomes an [`AgentError`] naming the endpoint and
//! status, never the API key.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{AgentConfig, AgentError, AgentEvent, Driver, Session};
use crate::llm::endpoint::{excerpt, url_host, CallError, ChatEndpoint, EndpointSettings};
pub use crate::llm::endpoint::{is_loopback, ModelUsage};
use crate::schema::Scenario;

/// Default `base_url`.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Default `api_key_env`.
pub const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";
/// The openai fields of an [`AgentConfig`], validated, with defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiSettings {
    /// Where requests go and how hard to try: base URL (without a trailing `/`),
    /// model, concurrency, retries, timeouts, prices. Its `api_key` is `None` here:
    /// the key is read from `api_key_env` when the agent is loaded.
    pub endpoint: EndpointSettings,
    /// Environment variable holding the API key.
    pub api_key_env: String,
    /// System prompt file, relative to the project root.
    pub system_prompt: PathBuf,
    /// Tools file, relative to the project root.
    pub tools: Option<PathBuf>,
    /// Sampling temperature.
    pub temperature: f64,
    /// Sampling seed.
    pub seed: Option<i64>,
    /// `max_tokens` per completion.
    pub max_tokens: Option<u32>,
    /// The hand-off tool.
    pub escalate_tool: Option<String>,
}

impl OpenAiSettings {
    /// Validate the openai fields of `a`; an error is (field, message).
    pub fn from_config(a: &AgentConfig) -> Result<OpenAiSettings, (&'static str, String)> {
        let base_url = a.base_url.clone().unwrap_or_else(|| DEFAULT_BASE_URL.into()).trim_end_matches('/').to_string();
        match url_host(&base_url) {
            Some(h) if !h.is_empty() => {}
            _ => return Err(("base_url", format!("`{base_url}` is not an http(s) URL, e.g. \"http://localhost:11434/v1\""))),
        }
        let api_key_env = a.api_key_env.clone().unwrap_or_else(|| DEFAULT_API_KEY_ENV.into());
        if api_key_env.is_empty() || api_key_env.contains('=') {
            return Err(("api_key_env", "must name an environment variable, e.g. \"OPENAI_API_KEY\"".into()));
        }
        let model = match &a.model {
            Some(m) if !m.trim().is_empty() => m.clone(),
            _ => return Err(("model", "the openai driver needs a model id, e.g. model = \"gpt-4o-mini\"".into())),
        };
        let Some(system_prompt) = a.system_prompt.clone() else {
            return Err((
                "system_prompt",
                "the openai driver needs a system prompt file (the prompt version under test), e.g. \"prompts/support-v2.md\"".into(),
            ));
        };
        let temperature = a.temperature.unwrap_or(0.0);
        if !(0.0..=2.0).contains(&temperature) {
            return Err(("temperature", format!("{temperature} is outside 0..=2")));
        }
        let max_concurrency = a.max_concurrency.unwrap_or(4);
        if max_concurrency == 0 {
            return Err(("max_concurrency", "must be at least 1".into()));
        }
        let request_timeout_ms = a.request_timeout_ms.unwrap_or(60_000);
        if request_timeout_ms == 0 {
            return Err(("request_timeout_ms", "must be positive".into()));
        }
        if a.max_tokens == Some(0) {
            return Err(("max_tokens", "must be at least 1".into()));
        }
        for (field, price) in
            [("price_per_million_input_tokens", a.price_per_million_input_tokens), ("price_per_million_output_tokens", a.price_per_million_output_tokens)]
        {
            if price.is_some_and(|p| !p.is_finite() || p < 0.0) {
                return Err((field, "must be a non-negative number (USD per million tokens)".into()));
            }
        }
        if a.escalate_tool.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(("escalate_tool", "must name a function of the tools file".into()));
        }
        Ok(OpenAiSettings {
            endpoint: EndpointSettings {
                base_url,
                api_key: None,
                model,
                max_concurrency: max_concurrency as usize,
                retries: a.retries.unwrap_or(4),
                retry_backoff_ms: a.retry_backoff_ms.unwrap_or(500),
                request_timeout_ms,
                price_in: a.price_per_million_input_tokens,
                price_out: a.price_per_million_output_tokens,
            },
            api_key_env,
            system_prompt,
            tools: a.tools.clone(),
            temperature,
            seed: a.seed,
            max_tokens: a.max_tokens,
            escalate_tool: a.escalate_tool.clone(),
        })
    }
}

/// Why an openai agent cannot be set up (reading its files, its key).
#[derive(Debug, thiserror::Error)]
#[error("field `agent.{field}`: {message}")]
pub struct SetupError {
    /// The agent file field at fault.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

fn setup_err(field: &'static str, message: impl Into<String>) -> SetupError {
    SetupError { field, message: message.into() }
}

/// An openai agent, ready to run: settings, prompt, tools, key, HTTP client, the
/// concurrency cap and the usage counters. Shared (`Arc`) by all workers' drivers.
pub struct OpenAiAgent {
    s: OpenAiSettings,
    name: String,
    system_prompt: String,
    tools: Vec<Value>,
    identity: String,
    scenario_timeout: Duration,
    http: ChatEndpoint,
}

impl OpenAiAgent {
    /// Read the prompt and tools files (inside `root`) and the API key (from the
    /// environment), and build the HTTP client.
    pub fn load(cfg: &AgentConfig, root: &Path) -> Result<OpenAiAgent, SetupError> {
        let s = OpenAiSettings::from_config(cfg).map_err(|(f, m)| setup_err(f, m))?;
        let api_key = match std::env::var(&s.api_key_env) {
            Ok(k) if !k.trim().is_empty() => Some(k.trim().to_string()),
            _ if is_loopback(&s.endpoint.base_url) => None,
            _ => {
                return Err(setup_err(
                    "api_key_env",
                    format!(
                        "the environment variable `{}` is not set: export the API key for {} (it is read from the environment, never from a file), \
                         or point base_url at a local server",
                        s.api_key_env, s.endpoint.base_url
                    ),
                ))
            }
        };
        let prompt_bytes = crate::project::read_in_root(root, &s.system_prompt).map_err(|e| setup_err("system_prompt", e.to_string()))?;
        let system_prompt =
            String::from_utf8(prompt_bytes).map_err(|_| setup_err("system_prompt", format!("{}: not UTF-8 text", s.system_prompt.display())))?;
        if system_prompt.trim().is_empty() {
            return Err(setup_err("system_prompt", format!("{}: the prompt is empty", s.system_prompt.display())));
        }
        let tools = match &s.tools {
            Some(p) => load_tools(root, p)?,
            None => Vec::new(),
        };
        if let Some(t) = &s.escalate_tool {
            let names: BTreeSet<&str> = tools.iter().filter_map(|x| x["function"]["name"].as_str()).collect();
            if !names.contains(t.as_str()) {
                let file = s.tools.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "(no tools file)".into());
                return Err(setup_err("escalate_tool", format!("`{t}` is not a function of {file}: the model could not call it")));
            }
        }
        let digest = hex::encode(Sha256::digest(system_prompt.as_bytes()));
        let prompt_name = s.system_prompt.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let identity = format!("{} ({}, prompt {}@{})", cfg.name, s.endpoint.model, prompt_name, &digest[..8]);
        let http = ChatEndpoint::new(EndpointSettings { api_key, ..s.endpoint.clone() });
        Ok(OpenAiAgent { name: cfg.name.clone(), system_prompt, tools, identity, scenario_timeout: Duration::from_millis(cfg.scenario_timeout_ms), http, s })
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &str {
        self.http.endpoint()
    }

    /// The usage so far, with the cost when both prices are set.
    pub fn usage(&self) -> ModelUsage {
        self.http.usage()
    }

    /// POST a chat completions request before the scenario's deadline.
    fn complete(&self, body: &Value, deadline: Instant) -> Result<Value, AgentError> {
        let name = format!("scenario_timeout_ms of {} ms", self.scenario_timeout.as_millis());
        self.http.complete(body, deadline, &name).map_err(|e| match e {
            CallError::Deadline => self.scenario_timeout_error(),
            CallError::Failed(m) => AgentError::Endpoint(m),
            CallError::Malformed(m) => protocol(m),
        })
    }

    fn scenario_timeout_error(&self) -> AgentError {
        AgentError::Timeout { what: "scenario timeout", timeout_ms: self.scenario_timeout.as_millis() as u64, stderr: String::new() }
    }

    fn request_body(&self, messages: &[Value]) -> Value {
        let mut body = json!({"model": self.s.endpoint.model, "messages": messages, "temperature": self.s.temperature});
        if !self.tools.is_empty() {
            body["tools"] = Value::Array(self.tools.clone());
        }
        if let Some(seed) = self.s.seed {
            body["seed"] = json!(seed);
        }
        if let Some(m) = self.s.max_tokens {
            body["max_tokens"] = json!(m);
        }
        body
    }
}

fn protocol(message: String) -> AgentError {
    AgentError::Protocol { message, stderr: String::new() }
}

/// Read and check a tools file: a JSON array of `{"type": "function", "function": {"name", "parameters"...}}`.
fn load_tools(root: &Path, path: &Path) -> Result<Vec<Value>, SetupError> {
    let shown = path.display();
    let bytes = crate::project::read_in_root(root, path).map_err(|e| setup_err("tools", e.to_string()))?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| setup_err("tools", format!("{shown}: not JSON: {e}")))?;
    let Value::Array(items) = v else {
        return Err(setup_err("tools", format!("{shown}: must be a JSON array (the chat completions `tools` list)")));
    };
    let mut names = BTreeSet::new();
    for (i, t) in items.iter().enumerate() {
        let bad = |m: &str| Err(setup_err("tools", format!("{shown}: [{i}]: {m}")));
        if t.get("type").and_then(Value::as_str) != Some("function") {
            return bad("`type` must be \"function\"");
        }
        let Some(name) = t["function"]["name"].as_str().filter(|n| !n.is_empty()) else {
            return bad("missing `function.name`");
        };
        if let Some(p) = t["function"].get("parameters") {
            if !p.is_object() {
                return bad(&format!("`function.parameters` of `{name}` must be a JSON schema object"));
            }
        }
        if !names.insert(name.to_string()) {
            return bad(&format!("the function `{name}` is defined twice"));
        }
    }
    Ok(items)
}

/// The scenario's state as a deployment would give it to the model: the memory
/// snapshot as a second system message (none when the snapshot is empty).
pub fn context_message(scenario: &Scenario) -> Option<String> {
    if scenario.state.memory_snapshot.is_empty() {
        return None;
    }
    let mut text = String::from("Customer context:");
    for m in &scenario.state.memory_snapshot {
        let value = match &m.value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        text.push_str(&format!("\n- {} = {}", m.key, value));
    }
    Some(text)
}

/// One worker's driver: sessions against the shared [`OpenAiAgent`].
pub struct OpenAiDriver {
    agent: Arc<OpenAiAgent>,
}

impl OpenAiDriver {
    /// A driver using `agent` (shared by all workers, so the cap and the counters are global).
    pub fn new(agent: Arc<OpenAiAgent>) -> Self {
        OpenAiDriver { agent }
    }
}

impl Driver for OpenAiDriver {
    fn start<'a>(&'a mut self, scenario: &'a Scenario) -> Result<Box<dyn Session + 'a>, AgentError> {
        let mut messages = vec![json!({"role": "system", "content": self.agent.system_prompt})];
        if let Some(ctx) = context_message(scenario) {
            messages.push(json!({"role": "system", "content": ctx}));
        }
        let deadline = Instant::now() + self.agent.scenario_timeout;
        Ok(Box::new(OpenAiSession { agent: &self.agent, messages, queue: VecDeque::new(), awaiting: None, deadline }))
    }

    fn describe(&self) -> String {
        if self.agent.identity.is_empty() {
            self.agent.name.clone()
        } else {
            self.agent.identity.clone()
        }
    }
}

/// A tool call of the last assistant message not yet handed to the host.
struct PendingCall {
    id: String,
    name: String,
    arguments: Value,
}

struct OpenAiSession<'a> {
    agent: &'a OpenAiAgent,
    messages: Vec<Value>,
    queue: VecDeque<PendingCall>,
    awaiting: Option<String>,
    deadline: Instant,
}

impl OpenAiSession<'_> {
    /// Ask the model for its next move and turn the answer into an event.
    fn ask(&mut self) -> Result<AgentEvent, AgentError> {
        let body = self.agent.request_body(&self.messages);
        let v = self.agent.complete(&body, self.deadline)?;
        let endpoint = self.agent.endpoint();
        let Some(message) = v.pointer("/choices/0/message").filter(|m| m.is_object()) else {
            return Err(protocol(format!("POST {endpoint}: the response has no `choices[0].message`: {}", excerpt(&v.to_string()))));
        };
        let content = message.get("content").and_then(Value::as_str).map(str::to_string);
        let calls = match message.get("tool_calls") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(other) => return Err(protocol(format!("POST {endpoint}: `tool_calls` is not an array: {}", excerpt(&other.to_string())))),
        };
        if calls.is_empty() {
            let text = content.or_else(|| message.get("refusal").and_then(Value::as_str).map(str::to_string)).unwrap_or_default();
            if text.trim().is_empty() {
                let finish = v.pointer("/choices/0/finish_reason").and_then(Value::as_str).unwrap_or("none");
                return Err(protocol(format!("POST {endpoint}: the model answered with neither content nor tool calls (finish_reason: {finish})")));
            }
            self.messages.push(json!({"role": "assistant", "content": text}));
            return Ok(AgentEvent::Message(text));
        }
        let turn = self.messages.len();
        let mut history_calls = Vec::new();
        for (i, c) in calls.iter().enumerate() {
            let id = c.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string).unwrap_or_else(|| format!("call_{turn}_{i}"));
            let Some(name) = c.pointer("/function/name").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
                return Err(protocol(format!("tool call `{id}`: no `function.name`: {}", excerpt(&c.to_string()))));
            };
            let raw = c.pointer("/function/arguments").cloned().unwrap_or(Value::Null);
            let (arguments, text) = match &raw {
                Value::String(s) if s.trim().is_empty() => (json!({}), "{}".to_string()),
                Value::String(s) => match serde_json::from_str::<Value>(s) {
                    Ok(a) => (a, s.clone()),
                    Err(e) => return Err(protocol(format!("tool call `{id}` (`{name}`): the arguments are not valid JSON ({e}): {}", excerpt(s)))),
                },
                // Some servers send an object instead of a JSON string: accept it.
                Value::Object(_) => (raw.clone(), raw.to_string()),
                Value::Null => (json!({}), "{}".to_string()),
                other => return Err(protocol(format!("tool call `{id}` (`{name}`): the arguments are neither a JSON string nor an object: {other}"))),
            };
            if !arguments.is_object() {
                return Err(protocol(format!("tool call `{id}` (`{name}`): the arguments are not a JSON object: {}", excerpt(&text))));
            }
            history_calls.push(json!({"id": id, "type": "function", "function": {"name": name, "arguments": text}}));
            self.queue.push_back(PendingCall { id, name: name.to_string(), arguments });
        }
        // The assistant message with its tool_calls, as the API requires before the tool messages.
        self.messages.push(json!({"role": "assistant", "content": content, "tool_calls": history_calls}));
        self.next_call()
    }

    fn next_call(&mut self) -> Result<AgentEvent, AgentError> {
        let c = self.queue.pop_front().expect("a queued call");
        if self.agent.s.escalate_tool.as_deref() == Some(c.name.as_str()) {
            let reason = match c.arguments.get("reason").and_then(Value::as_str) {
                Some(r) => r.to_string(),
                None if c.arguments.as_object().is_some_and(|o| o.is_empty()) => format!("the model called `{}`", c.name),
                None => c.arguments.to_string(),
            };
            self.queue.clear();
            return Ok(AgentEvent::Escalate(reason));
        }
        self.awaiting = Some(c.id.clone());
        Ok(AgentEvent::ToolCall { call_id: c.id, name: c.name, version: None, arguments: c.arguments })
    }
}

impl Session for OpenAiSession<'_> {
    fn customer_message(&mut self, text: &str) -> Result<AgentEvent, AgentError> {
        if let Some(id) = &self.awaiting {
            return Err(protocol(format!("a customer message arrived while the result of tool call `{id}` was awaited")));
        }
        self.queue.clear();
        self.messages.push(json!({"role": "user", "content": text}));
        self.ask()
    }

    fn tool_result(&mut self, call_id: &str, content: &Value, is_error: bool) -> Result<AgentEvent, AgentError> {
        if self.awaiting.as_deref() != Some(call_id) {
            return Err(protocol(format!("a result for tool call `{call_id}`, which the model is not waiting for")));
        }
        self.awaiting = None;
        let text = serde_json::to_string(content).expect("json");
        let text = if is_error { format!("ERROR: {text}") } else { text };
        self.messages.push(json!({"role": "tool", "tool_call_id": call_id, "content": text}));
        if self.queue.is_empty() {
            self.ask()
        } else {
            self.next_call()
        }
    }

    fn end(&mut self) -> Result<(), AgentError> {
        Ok(())
    }
}
