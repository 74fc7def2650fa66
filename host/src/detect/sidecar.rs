//! `detect --state FILE`: the agent state captured beside an export (knowledge-base
//! hash, tool registry, prompt version, routing) for what the export lacks, merged
//! into each conversation by the host — so it works with every adapter and with
//! canonical input alike. One state object applies to every conversation; JSON
//! Lines of `{"conversation_id": ..., "state": {...}}` give each conversation its
//! own. A field the side-car sets (present and not null) wins over what the source
//! carried; `routing` is merged field by field and `routing.extra` key by key, the
//! same rule the SDKs' `SideCar` applies inside adapters.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::schema::{AgentState, Conversation};

/// Why a side-car file cannot be used; the message names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum SideCarError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line (or the whole file) is not what a side-car holds.
    #[error("{path}:{line}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The side-car: one state for every conversation, or one per conversation id.
#[derive(Debug, Clone)]
pub enum StateSideCar {
    /// Applies to every conversation.
    All(Map<String, Value>),
    /// Applies to the conversation with that id (others are left as they are).
    ById(BTreeMap<String, Map<String, Value>>),
}

/// A state object as a side-car: it must be a valid canonical agent state.
fn state_object(v: Value) -> Result<Map<String, Value>, String> {
    let Value::Object(o) = v else {
        return Err(format!("a side-car state must be a canonical agent state object, got {}", kind(&v)));
    };
    serde_json::from_value::<AgentState>(Value::Object(o.clone())).map_err(|e| format!("not a canonical agent state: {e}"))?;
    Ok(o)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl StateSideCar {
    /// Read `path`: a single state object, or JSON Lines keyed by `conversation_id`.
    pub fn load(path: &Path) -> Result<StateSideCar, SideCarError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SideCarError::Read { path: shown.clone(), source })?;
        let invalid = |line: usize, message: String| SideCarError::Invalid { path: shown.clone(), line, message };
        // One JSON document that is not a keyed entry: the state for every conversation.
        if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&text) {
            if !o.contains_key("conversation_id") {
                return state_object(Value::Object(o)).map(StateSideCar::All).map_err(|m| invalid(1, m));
            }
        }
        let mut by_id = BTreeMap::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let n = i + 1;
            let v: Value = serde_json::from_str(line).map_err(|e| invalid(n, format!("not JSON ({e})")))?;
            let Value::Object(mut o) = v else {
                return Err(invalid(n, format!("expected {{\"conversation_id\": ..., \"state\": {{...}}}}, got {}", kind(&v))));
            };
            let id = match o.remove("conversation_id") {
                Some(Value::String(id)) if !id.is_empty() => id,
                _ => return Err(invalid(n, "`conversation_id` must be a non-empty string".into())),
            };
            let state = state_object(o.remove("state").unwrap_or(Value::Null)).map_err(|m| invalid(n, format!("`state`: {m}")))?;
            if let Some(k) = o.keys().next() {
                return Err(invalid(n, format!("unknown field `{k}` (an entry holds `conversation_id` and `state`)")));
            }
            if by_id.insert(id.clone(), state).is_some() {
                return Err(invalid(n, format!("conversation `{id}` has a side-car state already")));
            }
        }
        Ok(StateSideCar::ById(by_id))
    }

    /// The state for conversation `id`, if the side-car has one.
    fn for_id(&self, id: &str) -> Option<&Map<String, Value>> {
        match self {
            StateSideCar::All(s) => Some(s),
            StateSideCar::ById(m) => m.get(id),
        }
    }

    /// Merge this side-car's state for `c` into `c.state`; whether it had one.
    pub fn apply(&self, c: &mut Conversation) -> bool {
        let Some(side) = self.for_id(&c.id) else { return false };
        let mut state = match serde_json::to_value(&c.state) {
            Ok(Value::Object(o)) => o,
            _ => Map::new(),
        };
        for (k, v) in side {
            match (k.as_str(), v) {
                (_, Value::Null) => {}
                ("routing", Value::Object(r)) => {
                    let routing = state.entry("routing").or_insert_with(|| Value::Object(Map::new()));
                    if !routing.is_object() {
                        *routing = Value::Object(Map::new());
                    }
                    let routing = routing.as_object_mut().expect("an object");
                    for (rk, rv) in r {
                        match (rk.as_str(), rv) {
                            (_, Value::Null) => {}
                            ("extra", Value::Object(extra)) => {
                                let mine = routing.entry("extra").or_insert_with(|| Value::Object(Map::new()));
                                if let Some(mine) = mine.as_object_mut() {
                                    for (ek, ev) in extra {
                                        mine.insert(ek.clone(), ev.clone());
                                    }
                                }
                            }
                            _ => {
                                routing.insert(rk.clone(), rv.clone());
                            }
                        }
                    }
                }
                _ => {
                    state.insert(k.clone(), v.clone());
                }
            }
        }
        // Both sides are valid states, so a merge of their fields is one; if it ever
        // were not, the conversation keeps its own state and is not counted.
        match serde_json::from_value::<AgentState>(Value::Object(state)) {
            Ok(merged) => {
                c.state = merged;
                true
            }
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conversation(id: &str, state: Value) -> Conversation {
        serde_json::from_value(json!({"id": id, "channel": "chat", "turns": [], "state": state})).unwrap()
    }

    fn load(text: &str) -> Result<StateSideCar, SideCarError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.jsonl");
        std::fs::write(&p, text).unwrap();
        StateSideCar::load(&p)
    }

    #[test]
    fn set_fields_win_routing_merges_and_ids_pick_their_state() {
        let side = load(concat!(
            r#"{"conversation_id": "c1", "state": {"kb_version_hash": "sha256:aa", "model": null, "routing": {"queue": "billing", "extra": {"tier": "gold"}}}}"#,
            "\n\n",
            r#"{"conversation_id": "c2", "state": {"prompt_version": "v9"}}"#,
            "\n"
        ))
        .unwrap();
        let mut c1 = conversation("c1", json!({"model": "gpt-4o", "kb_version_hash": "sha256:old", "routing": {"locale": "en-GB", "extra": {"region": "eu"}}}));
        assert!(side.apply(&mut c1));
        let s = serde_json::to_value(&c1.state).unwrap();
        assert_eq!(s["kb_version_hash"], "sha256:aa", "a set field wins");
        assert_eq!(s["model"], "gpt-4o", "null sets nothing");
        assert_eq!(s["routing"], json!({"locale": "en-GB", "queue": "billing", "extra": {"region": "eu", "tier": "gold"}}));
        let mut c3 = conversation("c3", json!({"model": "m"}));
        assert!(!side.apply(&mut c3), "no entry: untouched");
        assert_eq!(serde_json::to_value(&c3.state).unwrap(), json!({"model": "m"}));

        let all = load(r#"{"prompt_version": "v2"}"#).unwrap();
        let mut any = conversation("zz", json!({}));
        assert!(all.apply(&mut any));
        assert_eq!(any.state.prompt_version.as_deref(), Some("v2"));
    }

    #[test]
    fn bad_files_name_the_line() {
        for (text, expected) in [
            ("{\"conversation_id\": \"a\", \"state\": {}}\n{\"conversation_id\": \"a\", \"state\": {}}\n", ":2: conversation `a` has a side-car state already"),
            ("{\"conversation_id\": \"a\", \"state\": {\"modle\": 1}}\n", ":1: `state`: not a canonical agent state"),
            ("{\"conversation_id\": 7, \"state\": {}}\n", ":1: `conversation_id` must be a non-empty string"),
            ("{\"conversation_id\": \"a\", \"state\": {}, \"x\": 1}\n", ":1: unknown field `x`"),
            ("{\"conversation_id\": \"a\", \"state\": {}}\nnot json\n", ":2: not JSON"),
            ("[1]", ":1: expected {\"conversation_id\""),
            ("{\"kb\": 1}", ":1: not a canonical agent state"),
        ] {
            let e = load(text).unwrap_err().to_string();
            assert!(e.contains(expected), "{text:?}: {e}");
        }
    }
}
