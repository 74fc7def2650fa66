//! # adapter-openai-chat
//!
//! A ratchet adapter: turns OpenAI chat-completions transcripts into canonical
//! conversations.
//!
//! ## Input
//! One JSON object, a JSON array of objects, or JSONL (one object per line):
//!
//! ```json
//! {"id": "chat-1", "messages": [...], "metadata": {"channel": "chat", "model": "gpt-4o"}}
//! ```
//!
//! * `id` (string or number) and `messages` are required; a top-level `model`
//!   (as in a chat-completions request body) is used when `metadata` has none.
//! * Messages: `role` `system`/`developer` → system, `user` → customer,
//!   `assistant` → agent, `tool` → tool. `content` is a string, an array of
//!   parts (`{"type": "text", "text": ...}`; non-text parts are skipped) or
//!   null. Assistant `tool_calls[].function.arguments` (a JSON string) is
//!   parsed; arguments that are not valid JSON (a real model failure) are kept
//!   as a JSON string. Tool `content` is parsed as JSON when it parses, else
//!   kept as a string; `tool_result.name` comes from the matching call.
//! * `metadata` (optional) may carry `channel`, `started_at`, `escalated`,
//!   `complaint`, `ended_reason`, `compliance_flags`, `prompt_version`,
//!   `model`, `kb_version_hash`, `locale`, `queue`, `time_of_day`; every other
//!   key becomes one of the conversation's **labels** (a string as it is, a
//!   number or boolean as its JSON text, an object or array as canonical JSON;
//!   null skipped): OpenAI's stored-completion `metadata` is where teams put
//!   ticket tags, account tiers and expected outcomes.
//! * `tools` (optional, as in a chat-completions request body: `{"type":
//!   "function", "function": {"name", "description", "parameters"}}`, or the
//!   Responses API's flat `{"type": "function", "name", ...}`) becomes the
//!   state's tool registry: each tool at version `sha256:` + the first 12 hex
//!   digits of its canonical definition, so a changed tool schema is a new
//!   version.
//!
//! ## Options
//! Defaults for what the export lacks: `channel` (else `chat`), `model`,
//! `prompt_version`, `kb_version_hash`, `locale`, `queue`. Unknown options are
//! errors.
//!
//! ## Output
//! One [`Converted`] per input conversation; `missing` lists every canonical
//! field the source did not carry (dotted snake_case paths such as
//! `state.kb_version_hash`) — reported, never invented. Malformed input is an
//! error naming the conversation, the message index and the field.

use std::collections::BTreeMap;

use ratchet_sdk::json::{split_documents, SplitError};
use ratchet_sdk::params::kind_of;
use ratchet_sdk::{log, Adapter, Channel, Conversation, Converted, LogLevel, Params, PluginInfo, Role, ToolCall, ToolResult, Turn, Value};
use serde_json::Map;
use sha2::Digest;

/// The plugin (a unit struct: all state is in the arguments).
pub struct OpenAiChat;

/// Option keys this adapter understands.
const OPTION_KEYS: &[&str] = &["channel", "model", "prompt_version", "kb_version_hash", "locale", "queue"];

/// Defaults from the adapter's options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Channel when metadata has none (`chat` if unset).
    pub channel: Option<Channel>,
    /// Model identifier when the source has none.
    pub model: Option<String>,
    /// Prompt version when the source has none.
    pub prompt_version: Option<String>,
    /// Knowledge-base hash when the source has none.
    pub kb_version_hash: Option<String>,
    /// Locale when the source has none.
    pub locale: Option<String>,
    /// Queue when the source has none.
    pub queue: Option<String>,
}

impl Options {
    /// Reads the options object (or null).
    pub fn from_params(options: &Value) -> Result<Options, String> {
        let p = Params::new(options).map_err(|e| e.replace("params", "options"))?;
        p.deny_unknown(OPTION_KEYS).map_err(|e| e.replace("unknown param", "unknown option"))?;
        let opt = |k: &str| -> Result<Option<String>, String> {
            match p.get(k) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(v) => Err(format!("option `{k}` must be a string, got {}", kind_of(v))),
            }
        };
        Ok(Options {
            channel: opt("channel")?.map(|c| parse_channel(&c).map_err(|e| format!("option `channel`: {e}"))).transpose()?,
            model: opt("model")?,
            prompt_version: opt("prompt_version")?,
            kb_version_hash: opt("kb_version_hash")?,
            locale: opt("locale")?,
            queue: opt("queue")?,
        })
    }
}

impl Adapter for OpenAiChat {
    fn info() -> PluginInfo {
        PluginInfo::new("adapter-openai-chat", env!("CARGO_PKG_VERSION"), "OpenAI chat messages (tool_calls, role tool) to canonical conversations")
    }

    fn convert(input: &[u8], options: &Value) -> Result<Vec<Converted>, String> {
        let opts = Options::from_params(options)?;
        let text = std::str::from_utf8(input).map_err(|e| format!("input is not UTF-8 text: {e}"))?;
        split_input(text)?.into_iter().map(|(label, doc)| convert_one(&label, &doc, &opts)).collect()
    }
}

ratchet_sdk::export_adapter!(OpenAiChat);

/// Splits the input into (label for errors, JSON document) pairs.
fn split_input(text: &str) -> Result<Vec<(String, Value)>, String> {
    let docs = split_documents(text).map_err(|e| match e {
        SplitError::Empty => "input is empty: expected a JSON object, a JSON array of objects, or JSONL".to_string(),
        SplitError::Invalid(whole) => format!("invalid JSON: {whole}"),
        SplitError::Line { index, line, error } => format!("conversation {index} (line {line}): invalid JSON: {error}"),
    })?;
    docs.into_iter()
        .map(|d| {
            if d.top_level && !d.value.is_object() {
                return Err(format!("input must be a JSON object, a JSON array of objects, or JSONL; got {}", kind_of(&d.value)));
            }
            let label = match d.line {
                Some(line) => format!("conversation {} (line {line})", d.index),
                None => format!("conversation {}", d.index),
            };
            Ok((label, d.value))
        })
        .collect()
}

fn parse_channel(s: &str) -> Result<Channel, String> {
    match s {
        "chat" => Ok(Channel::Chat),
        "voice" => Ok(Channel::Voice),
        other => Err(format!("unknown channel \"{other}\", expected \"chat\" or \"voice\"")),
    }
}

/// Typed reads from a JSON object with errors that say where.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    at: String,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, at: String, what: &str) -> Result<Self, String> {
        match v {
            Value::Object(map) => Ok(Obj { map, at }),
            other => Err(format!("{at}: expected {what}, got {}", kind_of(other))),
        }
    }

    fn get(&self, k: &str) -> Option<&'a Value> {
        self.map.get(k).filter(|v| !v.is_null())
    }

    fn opt_str(&self, k: &str) -> Result<Option<String>, String> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(format!("{}.{k}: expected a string, got {}", self.at, kind_of(v))),
        }
    }

    fn req_str(&self, k: &str) -> Result<String, String> {
        self.opt_str(k)?.ok_or_else(|| format!("{}: missing `{k}` (a string)", self.at))
    }

    fn opt_bool(&self, k: &str) -> Result<Option<bool>, String> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(format!("{}.{k}: expected true or false, got {}", self.at, kind_of(v))),
        }
    }
}

/// What a conversation's metadata (or the options) said, field by field.
struct Meta {
    started_at: Option<String>,
    escalated: Option<bool>,
    complaint: Option<bool>,
    ended_reason: Option<String>,
    compliance_flags: Option<Vec<String>>,
    prompt_version: Option<String>,
    model: Option<String>,
    kb_version_hash: Option<String>,
    locale: Option<String>,
    queue: Option<String>,
    time_of_day: Option<String>,
    channel: Option<Channel>,
    labels: BTreeMap<String, String>,
}

/// The metadata keys that are canonical fields; the others are labels.
const META_FIELDS: &[&str] = &[
    "channel",
    "started_at",
    "escalated",
    "complaint",
    "ended_reason",
    "compliance_flags",
    "prompt_version",
    "model",
    "kb_version_hash",
    "locale",
    "queue",
    "time_of_day",
];

fn read_meta(top: &Obj<'_>, label: &str, opts: &Options) -> Result<Meta, String> {
    let empty = Value::Object(Map::new());
    let m = Obj::new(top.get("metadata").unwrap_or(&empty), format!("{label}: metadata"), "an object")?;
    let compliance_flags = match m.get("compliance_flags") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(format!("{}.compliance_flags[{i}]: expected a string, got {}", m.at, kind_of(other))),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(v) => Err(format!("{}.compliance_flags: expected an array of strings, got {}", m.at, kind_of(v)))?,
    };
    let channel = match m.opt_str("channel")? {
        Some(c) => Some(parse_channel(&c).map_err(|e| format!("{}.channel: {e}", m.at))?),
        None => opts.channel,
    };
    Ok(Meta {
        started_at: m.opt_str("started_at")?,
        escalated: m.opt_bool("escalated")?,
        complaint: m.opt_bool("complaint")?,
        ended_reason: m.opt_str("ended_reason")?,
        compliance_flags,
        prompt_version: m.opt_str("prompt_version")?.or_else(|| opts.prompt_version.clone()),
        model: m.opt_str("model")?.or(top.opt_str("model")?).or_else(|| opts.model.clone()),
        kb_version_hash: m.opt_str("kb_version_hash")?.or_else(|| opts.kb_version_hash.clone()),
        locale: m.opt_str("locale")?.or_else(|| opts.locale.clone()),
        queue: m.opt_str("queue")?.or_else(|| opts.queue.clone()),
        time_of_day: m.opt_str("time_of_day")?,
        channel,
        labels: m
            .map
            .iter()
            .filter(|(k, _)| !META_FIELDS.contains(&k.as_str()))
            .filter_map(|(k, v)| ratchet_sdk::value_text(Some(v)).map(|text| (k.clone(), text)))
            .collect(),
    })
}

/// The state's tool registry from the export's tool definitions (`tools`), each at
/// the version its definition's digest names; `None` when the export has none.
fn tool_registry(top: &Obj<'_>, label: &str) -> Result<Option<Vec<ratchet_sdk::ToolRef>>, String> {
    let tools = match top.get("tools") {
        None => return Ok(None),
        Some(Value::Array(t)) => t,
        Some(v) => return Err(format!("{label}.tools: expected an array of tool definitions, got {}", kind_of(v))),
    };
    let mut out = Vec::with_capacity(tools.len());
    for (k, tool) in tools.iter().enumerate() {
        let t = Obj::new(tool, format!("{label}.tools[{k}]"), "a tool definition object")?;
        // Chat completions nest the definition in `function`; the Responses API does not.
        let def = match t.get("function") {
            Some(f) => f,
            None => tool,
        };
        let d = Obj::new(def, format!("{}.function", t.at), "an object with `name`")?;
        let name = d.req_str("name")?;
        let digest = sha2::Sha256::digest(ratchet_sdk::json::to_canonical_string(def).as_bytes());
        let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        out.push(ratchet_sdk::ToolRef { id: name, version: format!("sha256:{hex}") });
    }
    Ok(Some(out))
}

/// The text of a message's `content`: a string, text parts joined by
/// newlines, or empty for null/absent.
fn content_text(content: Option<&Value>, at: &str) -> Result<String, String> {
    match content {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::new();
            for (k, part) in parts.iter().enumerate() {
                let p = Obj::new(part, format!("{at}.content[{k}]"), "a content part object")?;
                let ty = p.req_str("type")?;
                match ty.as_str() {
                    "text" | "input_text" | "output_text" => texts.push(p.req_str("text")?),
                    "refusal" => texts.push(p.req_str("refusal")?),
                    // Images, audio, files: no canonical place for them.
                    _ => {}
                }
            }
            Ok(texts.join("\n"))
        }
        Some(v) => Err(format!("{at}.content: expected a string, an array of parts or null, got {}", kind_of(v))),
    }
}

fn convert_one(label: &str, doc: &Value, opts: &Options) -> Result<Converted, String> {
    let top = Obj::new(doc, label.to_string(), "a JSON object with `id` and `messages`")?;
    let id = match top.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(v) => return Err(format!("{label}.id: expected a string or number, got {}", kind_of(v))),
        None => return Err(format!("{label}: missing `id`")),
    };
    let label = format!("{label} (id \"{id}\")");
    let messages = match top.get("messages") {
        Some(Value::Array(m)) => m,
        Some(v) => return Err(format!("{label}.messages: expected an array, got {}", kind_of(v))),
        None => return Err(format!("{label}: missing `messages` (an array of chat messages)")),
    };
    let meta = read_meta(&top, &label, opts)?;
    let registry = tool_registry(&top, &label)?;

    let mut conversation = Conversation::new(id, meta.channel.unwrap_or(Channel::Chat));
    // call id -> tool name, for tool results.
    let mut call_names: BTreeMap<String, String> = BTreeMap::new();
    for (j, message) in messages.iter().enumerate() {
        let at = format!("{label}: messages[{j}]");
        let m = Obj::new(message, at.clone(), "a message object")?;
        let role = m.req_str("role")?;
        let mut text = content_text(m.get("content"), &at)?;
        let turn = match role.as_str() {
            "system" | "developer" => Turn::new(0, Role::System, text),
            "user" => Turn::new(0, Role::Customer, text),
            "assistant" => {
                if text.is_empty() {
                    text = m.opt_str("refusal")?.unwrap_or_default();
                }
                if m.get("function_call").is_some() {
                    return Err(format!("{at}.function_call: legacy function calls are not supported; export `tool_calls` instead"));
                }
                let mut turn = Turn::new(0, Role::Agent, text);
                turn.tool_calls = tool_calls(&m, &at, &mut call_names)?;
                turn
            }
            "tool" => {
                let call_id = m.req_str("tool_call_id")?;
                let name = match call_names.get(&call_id) {
                    Some(n) => n.clone(),
                    None => m
                        .opt_str("name")?
                        .ok_or_else(|| format!("{at}.tool_call_id: no earlier assistant tool call has id \"{call_id}\" (and the message has no `name`)"))?,
                };
                let content = serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text));
                let mut turn = Turn::new(0, Role::Tool, "");
                turn.tool_result = Some(ToolResult { call_id, name, content: content.into(), is_error: false });
                turn
            }
            other => return Err(format!("{at}.role: unsupported role \"{other}\" (expected system, developer, user, assistant or tool)")),
        };
        conversation.push_turn(turn);
    }

    let mut missing = Vec::new();
    let mut note = |present: bool, field: &str| {
        if !present {
            missing.push(field.to_string());
        }
    };
    note(meta.started_at.is_some(), "started_at");
    note(false, "turns.offset_ms");
    note(false, "turns.latency_ms");
    note(meta.escalated.is_some(), "outcome.escalated");
    note(meta.complaint.is_some(), "outcome.complaint");
    note(meta.compliance_flags.is_some(), "outcome.compliance_flags");
    note(meta.ended_reason.is_some(), "outcome.ended_reason");
    note(false, "impact");
    note(false, "state.memory_snapshot");
    note(meta.kb_version_hash.is_some(), "state.kb_version_hash");
    note(registry.is_some(), "state.tool_registry");
    note(meta.prompt_version.is_some(), "state.prompt_version");
    note(meta.model.is_some(), "state.model");
    note(meta.time_of_day.is_some(), "state.routing.time_of_day");
    note(meta.locale.is_some(), "state.routing.locale");
    note(meta.queue.is_some(), "state.routing.queue");

    conversation.started_at = meta.started_at;
    conversation.outcome.escalated = meta.escalated.unwrap_or(false);
    conversation.outcome.complaint = meta.complaint.unwrap_or(false);
    conversation.outcome.compliance_flags = meta.compliance_flags.unwrap_or_default();
    conversation.outcome.ended_reason = meta.ended_reason;
    conversation.state.kb_version_hash = meta.kb_version_hash;
    conversation.state.prompt_version = meta.prompt_version;
    conversation.state.model = meta.model;
    conversation.state.routing.time_of_day = meta.time_of_day;
    conversation.state.routing.locale = meta.locale;
    conversation.state.routing.queue = meta.queue;
    conversation.state.tool_registry = registry.unwrap_or_default();
    conversation.labels = meta.labels;
    Ok(Converted { conversation, missing })
}

/// An assistant message's `tool_calls`, recording each call's name by id.
fn tool_calls(m: &Obj<'_>, at: &str, call_names: &mut BTreeMap<String, String>) -> Result<Vec<ToolCall>, String> {
    let calls = match m.get("tool_calls") {
        None => return Ok(Vec::new()),
        Some(Value::Array(calls)) => calls,
        Some(v) => return Err(format!("{at}.tool_calls: expected an array, got {}", kind_of(v))),
    };
    let mut out = Vec::with_capacity(calls.len());
    for (k, call) in calls.iter().enumerate() {
        let c = Obj::new(call, format!("{at}.tool_calls[{k}]"), "a tool call object")?;
        let id = c.req_str("id")?;
        if let Some(ty) = c.opt_str("type")? {
            if ty != "function" {
                return Err(format!("{}.type: unsupported tool call type \"{ty}\" (expected \"function\")", c.at));
            }
        }
        let f = Obj::new(c.get("function").unwrap_or(&Value::Null), format!("{}.function", c.at), "an object with `name` and `arguments`")?;
        let name = f.req_str("name")?;
        let arguments = match f.get("arguments") {
            None => Value::Null,
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(v) => v,
                Err(e) => {
                    log(LogLevel::Warn, &format!("{}.arguments is not valid JSON ({e}); kept as a string", f.at));
                    Value::String(s.clone())
                }
            },
            // Some exports store arguments already decoded.
            Some(v) => v.clone(),
        };
        call_names.insert(id.clone(), name.clone());
        out.push(ToolCall { id, name, arguments: arguments.into() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratchet_sdk::json;

    fn convert(v: &str) -> Result<Vec<Converted>, String> {
        OpenAiChat::convert(v.as_bytes(), &Value::Null)
    }

    #[test]
    fn minimal_object() {
        let out = convert(r#"{"id": "a", "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": null}]}"#).unwrap();
        assert_eq!(out.len(), 1);
        let c = &out[0].conversation;
        assert_eq!(c.id, "a");
        assert_eq!(c.channel, Channel::Chat);
        assert_eq!(c.turns.len(), 2);
        assert_eq!((c.turns[0].role, c.turns[0].text.as_str()), (Role::Customer, "hi"));
        assert_eq!((c.turns[1].role, c.turns[1].index), (Role::Agent, 1));
        assert!(out[0].missing.contains(&"state.kb_version_hash".to_string()));
        assert!(out[0].missing.contains(&"state.memory_snapshot".to_string()));
    }

    #[test]
    fn array_and_jsonl_and_numeric_id() {
        let arr = convert(r#"[{"id": 1, "messages": []}, {"id": "b", "messages": []}]"#).unwrap();
        assert_eq!(arr.iter().map(|c| c.conversation.id.as_str()).collect::<Vec<_>>(), vec!["1", "b"]);
        let jsonl = convert("{\"id\": \"x\", \"messages\": []}\n\n{\"id\": \"y\", \"messages\": []}\n").unwrap();
        assert_eq!(jsonl.len(), 2);
        assert_eq!(jsonl[1].conversation.id, "y");
    }

    #[test]
    fn tool_calls_results_and_content_parts() {
        let out = convert(
            &json!({"id": "t", "messages": [
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {"url": "x"}}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\": 1}"}},
                    {"id": "c2", "type": "function", "function": {"name": "broken", "arguments": "{oops"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "{\"status\": \"none\"}"},
                {"role": "tool", "tool_call_id": "c2", "content": "plain text"}
            ]})
            .to_string(),
        )
        .unwrap();
        let c = &out[0].conversation;
        assert_eq!(c.turns[0].text, "a\nb");
        assert_eq!(c.turns[1].tool_calls[0].arguments, json!({"q": 1}));
        assert_eq!(c.turns[1].tool_calls[1].arguments, json!("{oops"));
        let r = c.turns[2].tool_result.as_ref().unwrap();
        assert_eq!((r.name.as_str(), r.content.as_value()), ("lookup", &json!({"status": "none"})));
        assert_eq!(c.turns[3].tool_result.as_ref().unwrap().content, json!("plain text"));
    }

    #[test]
    fn metadata_and_options_fill_fields_and_shrink_missing() {
        let input = json!({"id": "m", "model": "top-model", "messages": [], "metadata": {
            "channel": "voice", "started_at": "2026-11-24T09:31:04Z", "escalated": true, "complaint": false,
            "prompt_version": "p1", "locale": "en-GB"}})
        .to_string();
        let out = OpenAiChat::convert(input.as_bytes(), &json!({"queue": "billing", "model": "opt-model"})).unwrap();
        let c = &out[0].conversation;
        assert_eq!(c.channel, Channel::Voice);
        assert_eq!(c.state.model.as_deref(), Some("top-model"));
        assert_eq!(c.state.routing.queue.as_deref(), Some("billing"));
        assert!(c.outcome.escalated);
        for present in ["started_at", "outcome.escalated", "state.model", "state.routing.queue", "state.routing.locale"] {
            assert!(!out[0].missing.contains(&present.to_string()), "{present}");
        }
        assert!(out[0].missing.contains(&"state.routing.time_of_day".to_string()));
    }

    #[test]
    fn other_metadata_keys_are_labels_and_tool_definitions_the_registry() {
        let input = json!({"id": "m", "messages": [], "metadata": {
            "locale": "en-GB", "ticket_tags": "billing,urgent", "account_tier": "gold", "order_value": 129.5,
            "vip": true, "crm": {"b": 1, "a": 2}, "gone": null},
            "tools": [
                {"type": "function", "function": {"name": "lookup_account", "parameters": {"type": "object"}}},
                {"type": "function", "name": "refund", "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}}}]})
        .to_string();
        let out = OpenAiChat::convert(input.as_bytes(), &json!({})).unwrap();
        let c = &out[0].conversation;
        let labels: Vec<(&str, &str)> = c.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            labels,
            [("account_tier", "gold"), ("crm", r#"{"a":2,"b":1}"#), ("order_value", "129.5"), ("ticket_tags", "billing,urgent"), ("vip", "true")],
            "canonical fields (locale) are not labels; null is skipped"
        );
        assert_eq!(c.state.routing.locale.as_deref(), Some("en-GB"));
        let registry: Vec<&str> = c.state.tool_registry.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(registry, ["lookup_account", "refund"]);
        assert!(c.state.tool_registry.iter().all(|t| t.version.starts_with("sha256:") && t.version.len() == 19), "{:?}", c.state.tool_registry);
        assert!(!out[0].missing.contains(&"state.tool_registry".to_string()));
        // A changed definition is a new version; the same definition the same one.
        let changed = input.replace(r#""type":"number""#, r#""type":"integer""#);
        let again = OpenAiChat::convert(changed.as_bytes(), &json!({})).unwrap();
        assert_eq!(again[0].conversation.state.tool_registry[0], c.state.tool_registry[0]);
        assert_ne!(again[0].conversation.state.tool_registry[1], c.state.tool_registry[1]);
        let bad = json!({"id": "m", "messages": [], "tools": [{"type": "function", "function": {"parameters": {}}}]}).to_string();
        assert_eq!(OpenAiChat::convert(bad.as_bytes(), &json!({})).unwrap_err(), "conversation 0 (id \"m\").tools[0].function: missing `name` (a string)");
    }

    #[test]
    fn malformed_inputs_have_precise_errors() {
        let cases = [
            ("", "input is empty: expected a JSON object, a JSON array of objects, or JSONL"),
            ("42", "input must be a JSON object, a JSON array of objects, or JSONL; got a number"),
            (r#"{"messages": []}"#, "conversation 0: missing `id`"),
            (r#"{"id": "a"}"#, "conversation 0 (id \"a\"): missing `messages` (an array of chat messages)"),
            (
                r#"[{"id": "a", "messages": []}, {"id": "b", "messages": [{"role": "robot"}]}]"#,
                "conversation 1 (id \"b\"): messages[0].role: unsupported role \"robot\" (expected system, developer, user, assistant or tool)",
            ),
            (r#"{"id": "a", "messages": [{"content": "x"}]}"#, "conversation 0 (id \"a\"): messages[0]: missing `role` (a string)"),
            (
                r#"{"id": "a", "messages": [{"role": "user", "content": 5}]}"#,
                "conversation 0 (id \"a\"): messages[0].content: expected a string, an array of parts or null, got a number",
            ),
            (
                r#"{"id": "a", "messages": [{"role": "assistant", "tool_calls": [{"id": "c", "function": {"arguments": "{}"}}]}]}"#,
                "conversation 0 (id \"a\"): messages[0].tool_calls[0].function: missing `name` (a string)",
            ),
            (
                r#"{"id": "a", "messages": [{"role": "tool", "tool_call_id": "zz", "content": "x"}]}"#,
                "conversation 0 (id \"a\"): messages[0].tool_call_id: no earlier assistant tool call has id \"zz\" (and the message has no `name`)",
            ),
            (
                r#"{"id": "a", "messages": [], "metadata": {"channel": "fax"}}"#,
                "conversation 0 (id \"a\"): metadata.channel: unknown channel \"fax\", expected \"chat\" or \"voice\"",
            ),
            (
                r#"{"id": "a", "messages": [], "metadata": {"escalated": "yes"}}"#,
                "conversation 0 (id \"a\"): metadata.escalated: expected true or false, got a string",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(convert(input).unwrap_err(), want, "input: {input}");
        }
        let e = convert("{\"id\": \"x\", \"messages\": []}\n{nope\n").unwrap_err();
        assert!(e.starts_with("conversation 1 (line 2): invalid JSON:"), "{e}");
        let e = convert("{\"id\": ").unwrap_err();
        assert!(e.starts_with("invalid JSON: EOF"), "{e}");
        assert!(OpenAiChat::convert(&[0xff, 0xfe], &Value::Null).unwrap_err().starts_with("input is not UTF-8"));
        assert_eq!(
            OpenAiChat::convert(b"{}", &json!({"modle": "x"})).unwrap_err(),
            "unknown option `modle`, expected one of `channel`, `model`, `prompt_version`, `kb_version_hash`, `locale`, `queue`"
        );
    }
}
