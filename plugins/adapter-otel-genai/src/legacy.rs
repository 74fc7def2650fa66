//! Message content in the shapes that came before semconv v1.37 or that other
//! instrumentations use, rewritten into the v1.41.1 shape
//! (`gen_ai.input.messages` / `gen_ai.output.messages`, role + parts) so the
//! rebuild reads one shape only.
//!
//! For a span that carries neither `gen_ai.input.messages` nor
//! `gen_ai.output.messages` (as attributes or on its
//! `gen_ai.client.inference.operation.details` event or log record), the
//! first of these that the span has is used:
//!
//! | source | becomes |
//! |---|---|
//! | indexed attributes `gen_ai.prompt.N.{role,content,tool_call_id,tool_calls.M.{id,name,arguments}}` (OpenLLMetry and others) | input messages, by N |
//! | indexed attributes `gen_ai.completion.N.{role,content,tool_calls.M.*,function_call.*}` | output messages (choices), by N |
//! | span events or log records `gen_ai.system.message`, `gen_ai.user.message`, `gen_ai.assistant.message`, `gen_ai.tool.message` (body `{content, tool_calls, id}`) | input messages, in order |
//! | span event or log record `gen_ai.choice` (body `{index, message: {role, content, tool_calls}}`) | output messages |
//! | span events `gen_ai.content.prompt` / `gen_ai.content.completion` (attributes `gen_ai.prompt` / `gen_ai.completion`: a JSON list of chat messages, or text) | input / output messages |
//!
//! Chat messages in these shapes are OpenAI-like: `content` is a string or
//! a list of `{type: "text", text}` parts, `tool_calls[]` is
//! `{id, function: {name, arguments}}` (or `{id, name, arguments}`), a tool
//! message names its call with `tool_call_id` (or `id`).

use std::collections::BTreeMap;

use ratchet_sdk::params::kind_of;
use serde_json::{json, Map, Value};

use crate::otlp::Span;
use crate::rebuild::has_messages;

/// Legacy per-message event names and the role they stand for.
const MESSAGE_EVENTS: &[(&str, &str)] =
    &[("gen_ai.system.message", "system"), ("gen_ai.user.message", "user"), ("gen_ai.assistant.message", "assistant"), ("gen_ai.tool.message", "tool")];

/// Rewrites every span's legacy content into `gen_ai.input.messages` /
/// `gen_ai.output.messages` attributes (structured values), see the module docs.
pub fn normalize(spans: &mut [Span]) -> Result<(), String> {
    for span in spans.iter_mut() {
        if has_messages(span) {
            continue;
        }
        let (input, output) = match indexed(span)? {
            Some(io) => io,
            None => events(span)?,
        };
        if let Some(v) = input {
            span.attributes.insert("gen_ai.input.messages".into(), v);
        }
        if let Some(v) = output {
            span.attributes.insert("gen_ai.output.messages".into(), v);
        }
    }
    Ok(())
}

type Io = (Option<Value>, Option<Value>);

/// `gen_ai.prompt.N.*` / `gen_ai.completion.N.*` attributes.
fn indexed(span: &Span) -> Result<Option<Io>, String> {
    let mut prompt: BTreeMap<u64, Map<String, Value>> = BTreeMap::new();
    let mut completion: BTreeMap<u64, Map<String, Value>> = BTreeMap::new();
    for (key, value) in &span.attributes {
        let (target, rest) = if let Some(rest) = key.strip_prefix("gen_ai.prompt.") {
            (&mut prompt, rest)
        } else if let Some(rest) = key.strip_prefix("gen_ai.completion.") {
            (&mut completion, rest)
        } else {
            continue;
        };
        let Some((n, field)) = rest.split_once('.') else { continue };
        let Ok(n) = n.parse::<u64>() else { continue };
        let msg = target.entry(n).or_default();
        let parts: Vec<&str> = field.split('.').collect();
        match parts.as_slice() {
            ["tool_calls", m, f] => {
                let Ok(m) = m.parse::<usize>() else { continue };
                let calls = msg.entry("tool_calls").or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(calls) = calls {
                    while calls.len() <= m.min(1024) {
                        calls.push(Value::Object(Map::new()));
                    }
                    if let Some(Value::Object(c)) = calls.get_mut(m) {
                        c.insert((*f).to_string(), value.clone());
                    }
                }
            }
            ["function_call", f] => {
                let fc = msg.entry("function_call").or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(fc) = fc {
                    fc.insert((*f).to_string(), value.clone());
                }
            }
            [f] => {
                msg.insert((*f).to_string(), value.clone());
            }
            _ => {}
        }
    }
    if prompt.is_empty() && completion.is_empty() {
        return Ok(None);
    }
    let convert = |msgs: BTreeMap<u64, Map<String, Value>>, default_role: &str, attr: &str| -> Result<Option<Value>, String> {
        if msgs.is_empty() {
            return Ok(None);
        }
        let mut out = Vec::new();
        for (n, m) in msgs {
            out.push(chat_message(&Value::Object(m), default_role, &format!("{}: attributes `{attr}.{n}.*`", span.label))?);
        }
        Ok(Some(Value::Array(out)))
    };
    Ok(Some((convert(prompt, "user", "gen_ai.prompt")?, convert(completion, "assistant", "gen_ai.completion")?)))
}

/// Legacy per-message events (span events or log records) and the
/// `gen_ai.content.*` span events.
fn events(span: &Span) -> Result<Io, String> {
    let mut input = Vec::new();
    let mut output = Vec::new();
    let mut content_prompt = None;
    let mut content_completion = None;
    for (i, e) in span.events.iter().enumerate() {
        let at = format!("{}: event {i} `{}`", span.label, e.name);
        let body = e.body.clone().unwrap_or(Value::Null);
        if let Some((_, role)) = MESSAGE_EVENTS.iter().find(|(n, _)| *n == e.name) {
            input.push(chat_message(&event_message(&body, e), role, &at)?);
        } else if e.name == "gen_ai.choice" {
            let message = match &body {
                Value::Object(o) => o.get("message").cloned().unwrap_or(Value::Null),
                _ => Value::Null,
            };
            let message = match message {
                Value::Null => event_message(&body, e),
                m => m,
            };
            output.push(chat_message(&message, "assistant", &format!("{at}.body.message"))?);
        } else if e.name == "gen_ai.content.prompt" {
            content_prompt = e.attributes.get("gen_ai.prompt").cloned();
        } else if e.name == "gen_ai.content.completion" {
            content_completion = e.attributes.get("gen_ai.completion").cloned();
        }
    }
    if input.is_empty() {
        if let Some(v) = content_prompt {
            input = message_list(&v, "user", &format!("{}: event `gen_ai.content.prompt` attribute `gen_ai.prompt`", span.label))?;
        }
    }
    if output.is_empty() {
        if let Some(v) = content_completion {
            output = message_list(&v, "assistant", &format!("{}: event `gen_ai.content.completion` attribute `gen_ai.completion`", span.label))?;
        }
    }
    Ok(((!input.is_empty()).then_some(Value::Array(input)), (!output.is_empty()).then_some(Value::Array(output))))
}

/// A legacy event's message: its body, or (span events, which have no body)
/// its attributes minus the `gen_ai.system`-like ones.
fn event_message(body: &Value, e: &crate::otlp::SpanEvent) -> Value {
    match body {
        Value::Object(_) => body.clone(),
        Value::String(s) => json!({"content": s}),
        _ => {
            let m: Map<String, Value> =
                e.attributes.iter().filter(|(k, _)| !k.starts_with("gen_ai.") && !k.starts_with("event.")).map(|(k, v)| (k.clone(), v.clone())).collect();
            Value::Object(m)
        }
    }
}

/// `gen_ai.prompt` / `gen_ai.completion` of the `gen_ai.content.*` events: a
/// JSON list of chat messages (as a string or structured), one message, or
/// plain text.
fn message_list(v: &Value, default_role: &str, at: &str) -> Result<Vec<Value>, String> {
    let v = match v {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(parsed @ (Value::Array(_) | Value::Object(_))) => parsed,
            _ => json!([{"role": default_role, "content": s}]),
        },
        other => other.clone(),
    };
    match v {
        Value::Array(items) => items.iter().enumerate().map(|(i, m)| chat_message(m, default_role, &format!("{at}[{i}]"))).collect(),
        Value::Object(_) => Ok(vec![chat_message(&v, default_role, at)?]),
        other => Err(format!("{at}: expected a list of messages or text, got {}", kind_of(&other))),
    }
}

/// One OpenAI-like chat message as a v1.41.1 message (`{role, parts}`).
pub fn chat_message(m: &Value, default_role: &str, at: &str) -> Result<Value, String> {
    let o = match m {
        Value::Object(o) => o,
        Value::String(s) => return Ok(json!({"role": default_role, "parts": [{"type": "text", "content": s}]})),
        Value::Null => return Ok(json!({"role": default_role, "parts": []})),
        other => return Err(format!("{at}: expected a message object, got {}", kind_of(other))),
    };
    let role = match o.get("role") {
        None | Some(Value::Null) => default_role.to_string(),
        Some(Value::String(r)) => r.clone(),
        Some(v) => return Err(format!("{at}.role: expected a string, got {}", kind_of(v))),
    };
    let mut texts = Vec::new();
    match o.get("content") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => texts.push(s.clone()),
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => texts.push(s.clone()),
                    Value::Object(p) => {
                        if let Some(Value::String(t)) = p.get("text").or_else(|| p.get("content")) {
                            texts.push(t.clone());
                        }
                    }
                    _ => {}
                }
            }
        }
        Some(other) => texts.push(other.to_string()),
    }
    let mut parts = Vec::new();
    if role == "tool" || role == "function" {
        let id = match o.get("tool_call_id").or_else(|| o.get("id")) {
            Some(Value::String(s)) => Value::String(s.clone()),
            _ => Value::Null,
        };
        parts.push(json!({"type": "tool_call_response", "id": id, "response": texts.join("\n")}));
        return Ok(json!({"role": "tool", "parts": parts}));
    }
    parts.extend(texts.into_iter().map(|t| json!({"type": "text", "content": t})));
    let mut calls: Vec<Value> = match o.get("tool_calls") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(c)) => c.clone(),
        Some(v) => return Err(format!("{at}.tool_calls: expected an array, got {}", kind_of(v))),
    };
    if let Some(fc @ Value::Object(_)) = o.get("function_call") {
        calls.push(json!({"function": fc}));
    }
    for (k, c) in calls.iter().enumerate() {
        let at = format!("{at}.tool_calls[{k}]");
        let c = c.as_object().ok_or_else(|| format!("{at}: expected a tool call object, got {}", kind_of(c)))?;
        let f = match c.get("function") {
            Some(Value::Object(f)) => f,
            _ => c,
        };
        let name = match f.get("name") {
            Some(Value::String(n)) if !n.is_empty() => n.clone(),
            _ => return Err(format!("{at}: missing the tool's `name` (a string)")),
        };
        let mut part = json!({"type": "tool_call", "name": name, "arguments": f.get("arguments").cloned().unwrap_or(Value::Null)});
        if let Some(Value::String(id)) = c.get("id") {
            part["id"] = Value::String(id.clone());
        }
        parts.push(part);
    }
    Ok(json!({"role": role, "parts": parts}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_like_messages() {
        let m = chat_message(&json!({"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}), "user", "m").unwrap();
        assert_eq!(m, json!({"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "f", "arguments": "{\"a\":1}"}]}));
        let t = chat_message(&json!({"content": "{\"ok\":true}", "id": "c1"}), "tool", "m").unwrap();
        assert_eq!(t, json!({"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "{\"ok\":true}"}]}));
        let u = chat_message(&json!({"content": [{"type": "text", "text": "hi"}]}), "user", "m").unwrap();
        assert_eq!(u, json!({"role": "user", "parts": [{"type": "text", "content": "hi"}]}));
        assert_eq!(chat_message(&json!(3), "user", "m").unwrap_err(), "m: expected a message object, got a number");
        assert_eq!(chat_message(&json!({"tool_calls": [{"id": "x"}]}), "assistant", "m").unwrap_err(), "m.tool_calls[0]: missing the tool's `name` (a string)");
        assert_eq!(chat_message(&json!({"role": 1}), "user", "m").unwrap_err(), "m.role: expected a string, got a number");
    }
}
