//! GenAI message JSON (`gen_ai.input.messages`, `gen_ai.output.messages`,
//! `gen_ai.system_instructions`; schemas `gen-ai-input-messages.json`,
//! `gen-ai-output-messages.json`, `gen-ai-system-instructions.json` of
//! semconv v1.41.1) turned into [`Piece`]s: one canonical turn each, before
//! the rebuild decides which are new.
//!
//! | message / part | piece |
//! |---|---|
//! | role `system` (or `developer`) | [`Piece::Line`] with role system |
//! | role `user` (or `human`) | [`Piece::Line`] with role customer |
//! | role `assistant` (or `model`, Gemini's name) | [`Piece::Agent`] |
//! | role `tool` (or `function`) | one [`Piece::Result`] per `tool_call_response` part |
//! | `text` part | the piece's text (parts joined with `\n`) |
//! | `tool_call` part (`id`, `name`, `arguments`) | a call of the agent piece; `arguments` given as a JSON string are parsed |
//! | `tool_call_response` part (`id`, `response`) | a [`Piece::Result`] (also inside `user` messages, as Anthropic-style APIs send them); a JSON-string response is parsed |
//! | `server_tool_call` / `server_tool_call_response` | a call of the agent piece / its result (provider-run tools such as code interpreters) |
//! | `reasoning`, `blob`, `file`, `uri`, other part types | skipped: the canonical turn has no place for them |
//!
//! Parts are read in order, so `[text, server_tool_call, server_tool_call_response, text]`
//! becomes agent (text + call), tool (result), agent (text).

use ratchet_sdk::params::kind_of;
use ratchet_sdk::Role;
use serde_json::{Map, Value};

/// One canonical turn read from a message, before tool names and ids are
/// resolved against the transcript.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// A system or customer line.
    Line {
        /// [`Role::System`] or [`Role::Customer`].
        role: Role,
        /// The text parts, joined with newlines.
        text: String,
    },
    /// What the agent said and/or the tools it called.
    Agent {
        /// The text parts, joined with newlines.
        text: String,
        /// Tool calls in part order.
        calls: Vec<RawCall>,
    },
    /// A tool's answer.
    Result {
        /// The call it answers (`None` when the instrumentation recorded no id).
        call_id: Option<String>,
        /// The response payload.
        content: Value,
    },
}

/// A tool call as recorded (the id may be missing: the schema allows null).
#[derive(Debug, Clone, PartialEq)]
pub struct RawCall {
    /// `tool_call.id`, if recorded.
    pub id: Option<String>,
    /// Tool name.
    pub name: String,
    /// Arguments (a JSON string is parsed; `null` when none were recorded).
    pub arguments: Value,
}

/// A JSON string that holds JSON is parsed (`"{\"a\": 1}"` → object);
/// anything else is kept as it is. Tool arguments and results are recorded
/// both ways in the wild.
pub fn json_or_string(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str::<Value>(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

fn str_field(o: &Map<String, Value>, k: &str, at: &str) -> Result<Option<String>, String> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(format!("{at}.{k}: expected a string, got {}", kind_of(v))),
    }
}

fn req_str(o: &Map<String, Value>, k: &str, at: &str) -> Result<String, String> {
    str_field(o, k, at)?.ok_or_else(|| format!("{at}: missing `{k}` (a string)"))
}

/// Reads a message list (`gen_ai.input.messages` or `gen_ai.output.messages`,
/// already decoded from its JSON string). `at` names the attribute in errors.
pub fn parse_messages(v: &Value, at: &str) -> Result<Vec<Vec<Piece>>, String> {
    let items = match v {
        Value::Array(items) => items,
        other => return Err(format!("{at}: expected an array of messages, got {}", kind_of(other))),
    };
    items.iter().enumerate().map(|(i, m)| parse_message(m, &format!("{at}[{i}]"))).collect()
}

/// Reads `gen_ai.system_instructions`: an array of parts (text parts kept),
/// or a plain string. `None` when it holds no text.
pub fn parse_system_instructions(v: &Value, at: &str) -> Result<Option<Piece>, String> {
    let text = match v {
        Value::Null => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Array(parts) => {
            let mut texts = Vec::new();
            for (k, part) in parts.iter().enumerate() {
                let at = format!("{at}[{k}]");
                let p = part.as_object().ok_or_else(|| format!("{at}: expected a part object, got {}", kind_of(part)))?;
                if req_str(p, "type", &at)? == "text" {
                    texts.push(req_str(p, "content", &at)?);
                }
            }
            texts.join("\n")
        }
        other => return Err(format!("{at}: expected an array of parts, got {}", kind_of(other))),
    };
    Ok((!text.trim().is_empty()).then_some(Piece::Line { role: Role::System, text }))
}

fn parse_message(m: &Value, at: &str) -> Result<Vec<Piece>, String> {
    let o = m.as_object().ok_or_else(|| format!("{at}: expected a message object with `role` and `parts`, got {}", kind_of(m)))?;
    let role_name = req_str(o, "role", at)?;
    let role = match role_name.as_str() {
        "system" | "developer" => Role::System,
        "user" | "human" => Role::Customer,
        "assistant" | "model" => Role::Agent,
        "tool" | "function" => Role::Tool,
        other => return Err(format!("{at}.role: unsupported role \"{other}\" (expected system, user, assistant or tool)")),
    };
    // Pre-1.37 instrumentations wrote `content` as a string instead of `parts`.
    let legacy;
    let parts: &[Value] = match (o.get("parts"), o.get("content")) {
        (Some(Value::Array(parts)), _) => parts,
        (Some(v), _) if !v.is_null() => return Err(format!("{at}.parts: expected an array of parts, got {}", kind_of(v))),
        (_, Some(Value::String(s))) => {
            legacy = [serde_json::json!({"type": "text", "content": s})];
            &legacy
        }
        _ => return Err(format!("{at}: missing `parts` (an array of message parts)")),
    };

    let mut out = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    let mut calls: Vec<RawCall> = Vec::new();
    // A tool message may name its call at message level (OpenAI's `tool_call_id`).
    let message_call_id = match str_field(o, "tool_call_id", at)? {
        Some(id) => Some(id),
        None => str_field(o, "id", at)?,
    };

    let flush = |out: &mut Vec<Piece>, texts: &mut Vec<String>, calls: &mut Vec<RawCall>| {
        if texts.is_empty() && calls.is_empty() {
            return;
        }
        let text = std::mem::take(texts).join("\n");
        let piece = match role {
            Role::Agent => Piece::Agent { text, calls: std::mem::take(calls) },
            Role::Tool => Piece::Result { call_id: message_call_id.clone(), content: json_or_string(&Value::String(text)) },
            _ => Piece::Line { role, text },
        };
        out.push(piece);
    };

    for (k, part) in parts.iter().enumerate() {
        let at = format!("{at}.parts[{k}]");
        let p = part.as_object().ok_or_else(|| format!("{at}: expected a part object with `type`, got {}", kind_of(part)))?;
        let ty = req_str(p, "type", &at)?;
        match ty.as_str() {
            "text" => texts.push(req_str(p, "content", &at)?),
            "tool_call" | "server_tool_call" => {
                if role != Role::Agent {
                    return Err(format!("{at}: a {ty} part in a \"{role_name}\" message (only assistant messages call tools)"));
                }
                let arguments = if ty == "tool_call" {
                    p.get("arguments").map(json_or_string).unwrap_or(Value::Null)
                } else {
                    p.get("server_tool_call").cloned().unwrap_or(Value::Null)
                };
                calls.push(RawCall { id: str_field(p, "id", &at)?.filter(|s| !s.trim().is_empty()), name: req_str(p, "name", &at)?, arguments });
            }
            "tool_call_response" | "server_tool_call_response" => {
                flush(&mut out, &mut texts, &mut calls);
                let key = if ty == "tool_call_response" { "response" } else { "server_tool_call_response" };
                // The registry's own example writes `result`; the schema says `response`.
                let content = match p.get(key).or_else(|| p.get("result")) {
                    Some(v) => json_or_string(v),
                    None => return Err(format!("{at}: missing `{key}`")),
                };
                // The spec's example has " call_..." with a stray space: ids are trimmed.
                let call_id = str_field(p, "id", &at)?.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).or_else(|| message_call_id.clone());
                out.push(Piece::Result { call_id, content });
            }
            // reasoning, blob, file, uri and custom parts have no canonical place.
            _ => {}
        }
    }
    flush(&mut out, &mut texts, &mut calls);
    if out.is_empty() {
        match role {
            Role::Tool => return Err(format!("{at}: a tool message without a tool_call_response or text part")),
            Role::Agent => out.push(Piece::Agent { text: String::new(), calls: Vec::new() }),
            _ => out.push(Piece::Line { role, text: String::new() }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_example_tool_call_round_trip() {
        // From examples-llm-calls.md, "Tool calls (functions)", span 2 input.
        let v = json!([
            {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
            {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_VSPygqKTWdrhaFErNvMV18Yl", "name": "get_weather", "arguments": {"location": "Paris"}}]},
            {"role": "tool", "parts": [{"type": "tool_call_response", "id": " call_VSPygqKTWdrhaFErNvMV18Yl", "response": "rainy, 57°F"}]}
        ]);
        let m = parse_messages(&v, "in").unwrap();
        assert_eq!(m[0], vec![Piece::Line { role: Role::Customer, text: "Weather in Paris?".into() }]);
        assert_eq!(
            m[1],
            vec![Piece::Agent {
                text: String::new(),
                calls: vec![RawCall { id: Some("call_VSPygqKTWdrhaFErNvMV18Yl".into()), name: "get_weather".into(), arguments: json!({"location": "Paris"}) }]
            }]
        );
        assert_eq!(m[2], vec![Piece::Result { call_id: Some("call_VSPygqKTWdrhaFErNvMV18Yl".into()), content: json!("rainy, 57°F") }]);
    }

    #[test]
    fn parts_are_read_in_order_and_unknown_parts_skipped() {
        let v = json!([{"role": "assistant", "finish_reason": "stop", "parts": [
            {"type": "reasoning", "content": "hmm"},
            {"type": "text", "content": "Let me run that."},
            {"type": "server_tool_call", "id": "s1", "name": "code_interpreter", "server_tool_call": {"type": "code_interpreter", "code": "1+1"}},
            {"type": "server_tool_call_response", "id": "s1", "server_tool_call_response": {"type": "code_interpreter", "outputs": [2]}},
            {"type": "text", "content": "It is 2."},
            {"type": "blob", "modality": "image", "content": "aGk="}
        ]}, {"role": "user", "parts": [{"type": "tool_call_response", "id": "t1", "response": "{\"ok\": true}"}, {"type": "text", "content": "and?"}]}]);
        let m = parse_messages(&v, "out").unwrap();
        assert_eq!(m[0].len(), 3);
        assert!(matches!(&m[0][0], Piece::Agent { text, calls } if text == "Let me run that." && calls[0].arguments["code"] == "1+1"));
        assert_eq!(m[0][1], Piece::Result { call_id: Some("s1".into()), content: json!({"type": "code_interpreter", "outputs": [2]}) });
        assert_eq!(m[0][2], Piece::Agent { text: "It is 2.".into(), calls: vec![] });
        assert_eq!(m[1][0], Piece::Result { call_id: Some("t1".into()), content: json!({"ok": true}) });
        assert_eq!(m[1][1], Piece::Line { role: Role::Customer, text: "and?".into() });
    }

    #[test]
    fn legacy_content_tool_text_and_empty_messages() {
        let v = json!([
            {"role": "developer", "content": "Be brief."},
            {"role": "tool", "tool_call_id": "c9", "parts": [{"type": "text", "content": "{\"status\": \"none\"}"}]},
            {"role": "user", "parts": [{"type": "uri", "modality": "image", "uri": "https://x"}]},
            {"role": "model", "parts": []}
        ]);
        let m = parse_messages(&v, "in").unwrap();
        assert_eq!(m[0][0], Piece::Line { role: Role::System, text: "Be brief.".into() });
        assert_eq!(m[1][0], Piece::Result { call_id: Some("c9".into()), content: json!({"status": "none"}) });
        assert_eq!(m[2][0], Piece::Line { role: Role::Customer, text: String::new() });
        assert_eq!(m[3][0], Piece::Agent { text: String::new(), calls: vec![] });
    }

    #[test]
    fn system_instructions() {
        let p = parse_system_instructions(&json!([{"type": "text", "content": "A"}, {"type": "text", "content": "B"}]), "si").unwrap();
        assert_eq!(p, Some(Piece::Line { role: Role::System, text: "A\nB".into() }));
        assert_eq!(parse_system_instructions(&json!("plain"), "si").unwrap(), Some(Piece::Line { role: Role::System, text: "plain".into() }));
        assert_eq!(parse_system_instructions(&json!([]), "si").unwrap(), None);
        assert_eq!(parse_system_instructions(&json!(5), "si").unwrap_err(), "si: expected an array of parts, got a number");
    }

    #[test]
    fn malformed_messages_are_precise() {
        let cases = [
            (json!({}), "m: expected an array of messages, got an object"),
            (json!([3]), "m[0]: expected a message object with `role` and `parts`, got a number"),
            (json!([{"parts": []}]), "m[0]: missing `role` (a string)"),
            (json!([{"role": "robot", "parts": []}]), "m[0].role: unsupported role \"robot\" (expected system, user, assistant or tool)"),
            (json!([{"role": "user"}]), "m[0]: missing `parts` (an array of message parts)"),
            (json!([{"role": "user", "parts": "hi"}]), "m[0].parts: expected an array of parts, got a string"),
            (json!([{"role": "user", "parts": [{"content": "x"}]}]), "m[0].parts[0]: missing `type` (a string)"),
            (json!([{"role": "user", "parts": [{"type": "text"}]}]), "m[0].parts[0]: missing `content` (a string)"),
            (json!([{"role": "user", "parts": [{"type": "text", "content": 4}]}]), "m[0].parts[0].content: expected a string, got a number"),
            (json!([{"role": "assistant", "parts": [{"type": "tool_call", "id": "c"}]}]), "m[0].parts[0]: missing `name` (a string)"),
            (
                json!([{"role": "user", "parts": [{"type": "tool_call", "name": "x"}]}]),
                "m[0].parts[0]: a tool_call part in a \"user\" message (only assistant messages call tools)",
            ),
            (json!([{"role": "tool", "parts": [{"type": "tool_call_response", "id": "c"}]}]), "m[0].parts[0]: missing `response`"),
            (json!([{"role": "tool", "parts": []}]), "m[0]: a tool message without a tool_call_response or text part"),
        ];
        for (v, want) in cases {
            assert_eq!(parse_messages(&v, "m").unwrap_err(), want, "{v}");
        }
    }
}
