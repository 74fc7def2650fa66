//! # %%NAME%%
//!
//! A ratchet adapter: turns a vendor's export into canonical conversations. The
//! example format is one JSON object per conversation:
//!
//! ```json
//! {"conversation_id": "vendor-7f3a", "channel": "voice", "started_at": "2026-11-24T09:31:04Z",
//!  "messages": [{"from": "customer", "text": "..."}, {"from": "bot", "text": "..."}]}
//! ```
//!
//! `channel` defaults to the `default_channel` option (`chat`). What the format does
//! not carry is listed in `missing`, never invented.

use ratchet_sdk::{json, Adapter, Channel, Conversation, Converted, Params, PluginInfo, Role, Turn, Value};

/// The plugin (all state is in the arguments).
pub struct %%TYPE%%;

/// Canonical fields this format never has.
pub const MISSING: &[&str] = &["state.kb_version_hash", "state.model", "state.prompt_version", "state.tool_registry"];

fn channel(v: &str) -> Option<Channel> {
    match v {
        "chat" => Some(Channel::Chat),
        "voice" => Some(Channel::Voice),
        _ => None,
    }
}

impl Adapter for %%TYPE%% {
    fn info() -> PluginInfo {
        PluginInfo::new("%%NAME%%", env!("CARGO_PKG_VERSION"), "Vendor messages export -> canonical conversations")
    }

    fn convert(input: &[u8], options: &Value) -> Result<Vec<Converted>, String> {
        let p = Params::new(options)?;
        p.deny_unknown(&["default_channel"])?;
        let default = p.str("default_channel", "chat")?;
        let default = channel(&default).ok_or_else(|| format!("option `default_channel` must be \"chat\" or \"voice\", got {}", json!(default)))?;

        let v: Value = serde_json_from_slice(input)?;
        let Value::Object(o) = &v else { return Err("input must be a JSON object with `conversation_id` and `messages`".into()) };
        let id = o.get("conversation_id").and_then(Value::as_str).ok_or("`conversation_id` must be a string")?;
        let mut c = Conversation::new(id, default);
        if let Some(ch) = o.get("channel") {
            c.channel = ch.as_str().and_then(channel).ok_or_else(|| format!("`channel` must be \"chat\" or \"voice\", got {}", ratchet_sdk::json::canonical_string(ch)))?;
        }
        match o.get("started_at") {
            None => {}
            Some(Value::String(s)) => c.started_at = Some(s.clone()),
            Some(_) => return Err("`started_at` must be a string".into()),
        }
        let messages = o.get("messages").and_then(Value::as_array).ok_or("`messages` must be an array")?;
        for (i, m) in messages.iter().enumerate() {
            let role = match m.get("from") {
                Some(Value::String(s)) if s == "customer" => Role::Customer,
                Some(Value::String(s)) if s == "bot" => Role::Agent,
                other => {
                    let got = other.map_or("nothing".to_string(), |v| ratchet_sdk::json::canonical_string(v));
                    return Err(format!("messages[{i}].from must be \"customer\" or \"bot\", got {got}"));
                }
            };
            let text = match m.get("text") {
                None => "",
                Some(Value::String(s)) => s,
                Some(_) => return Err(format!("messages[{i}].text must be a string")),
            };
            c.push_turn(Turn::new(0, role, text));
        }
        let mut missing: Vec<String> = MISSING.iter().map(|s| s.to_string()).collect();
        if c.started_at.is_none() {
            missing.insert(0, "started_at".into());
        }
        Ok(vec![Converted { conversation: c, missing }])
    }
}

fn serde_json_from_slice(input: &[u8]) -> Result<Value, String> {
    ratchet_sdk::serde_json::from_slice(input).map_err(|e| format!("input is not JSON: {e}"))
}

ratchet_sdk::export_adapter!(%%TYPE%%);
