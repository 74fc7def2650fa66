//! A side-car agent state for adapters.
//!
//! Vendor exports rarely carry the whole canonical agent state: a trace has
//! no knowledge-base hash, a call report no prompt version or routing queue.
//! An adapter can take such a state captured beside the export as its option
//! `state` (a canonical agent state object) and merge it into every
//! conversation it produces: each field the side-car sets wins over what the
//! source carried, and, because it is then known, the adapter does not list it
//! in [`Converted::missing`](crate::Converted::missing).
//!
//! ```
//! use ratchet_sdk::{json, AgentState, SideCar};
//!
//! let side = SideCar::from_value(&json!({"kb_version_hash": "sha256:6f1c", "routing": {"queue": "billing"}})).unwrap();
//! let mut state = AgentState { model: Some("gpt-4o".into()), ..AgentState::default() };
//! side.apply(&mut state);
//! assert_eq!(state.kb_version_hash.as_deref(), Some("sha256:6f1c"));
//! assert_eq!(state.model.as_deref(), Some("gpt-4o"));
//! assert!(side.sets("state.routing.queue") && !side.sets("state.model"));
//! ```

use std::collections::BTreeSet;

use serde_json::Value;

use crate::model::AgentState;
use crate::params::kind_of;

/// An agent state captured beside the source export, and which of its fields
/// were set (those override the export and are not reported missing).
#[derive(Debug, Clone, Default)]
pub struct SideCar {
    /// The side-car state.
    pub state: AgentState,
    /// Canonical paths of the fields it sets, e.g. `state.memory_snapshot`,
    /// `state.routing.locale`.
    pub provided: BTreeSet<String>,
}

impl SideCar {
    /// Reads a canonical agent state object (the adapter option `state`); a
    /// field counts as set when its key is present and not null (an empty
    /// list is a set, empty value).
    pub fn from_value(v: &Value) -> Result<SideCar, String> {
        let Value::Object(o) = v else {
            return Err(format!("option `state` must be a canonical agent state object, got {}", kind_of(v)));
        };
        let state: AgentState = serde_json::from_value(v.clone()).map_err(|e| format!("option `state`: {e}"))?;
        let mut provided = BTreeSet::new();
        for k in ["memory_snapshot", "kb_version_hash", "tool_registry", "prompt_version", "model"] {
            if o.get(k).is_some_and(|v| !v.is_null()) {
                provided.insert(format!("state.{k}"));
            }
        }
        if let Some(Value::Object(r)) = o.get("routing") {
            for k in ["time_of_day", "locale", "queue", "extra"] {
                if r.get(k).is_some_and(|v| !v.is_null()) {
                    provided.insert(format!("state.routing.{k}"));
                }
            }
        }
        Ok(SideCar { state, provided })
    }

    /// True when the side-car sets the field at `path`.
    pub fn sets(&self, path: &str) -> bool {
        self.provided.contains(path)
    }

    /// Overrides `state`'s fields with the ones the side-car sets
    /// (`routing.extra` is merged key by key, the side-car winning).
    pub fn apply(&self, state: &mut AgentState) {
        let s = &self.state;
        if self.sets("state.memory_snapshot") {
            state.memory_snapshot = s.memory_snapshot.clone();
        }
        if self.sets("state.kb_version_hash") {
            state.kb_version_hash = s.kb_version_hash.clone();
        }
        if self.sets("state.tool_registry") {
            state.tool_registry = s.tool_registry.clone();
        }
        if self.sets("state.prompt_version") {
            state.prompt_version = s.prompt_version.clone();
        }
        if self.sets("state.model") {
            state.model = s.model.clone();
        }
        if self.sets("state.routing.time_of_day") {
            state.routing.time_of_day = s.routing.time_of_day.clone();
        }
        if self.sets("state.routing.locale") {
            state.routing.locale = s.routing.locale.clone();
        }
        if self.sets("state.routing.queue") {
            state.routing.queue = s.routing.queue.clone();
        }
        for (k, v) in &s.routing.extra {
            state.routing.extra.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{MemoryEntry, ToolRef};
    use serde_json::json;

    #[test]
    fn parses_an_object_and_records_the_fields_it_sets() {
        let side = SideCar::from_value(&json!({
            "memory_snapshot": [],
            "kb_version_hash": "sha256:6f1c",
            "prompt_version": null,
            "routing": {"locale": "en-GB", "queue": null, "extra": {"tier": "gold"}}
        }))
        .unwrap();
        assert_eq!(
            side.provided.iter().map(String::as_str).collect::<Vec<_>>(),
            vec!["state.kb_version_hash", "state.memory_snapshot", "state.routing.extra", "state.routing.locale"],
            "an empty list is set, null is not"
        );
        assert!(side.sets("state.memory_snapshot"));
        assert!(side.sets("state.routing.locale"));
        assert!(!side.sets("state.prompt_version"));
        assert!(!side.sets("state.routing.queue"));
        assert!(!side.sets("state.model"));
        assert_eq!(side.state.kb_version_hash.as_deref(), Some("sha256:6f1c"));
        assert_eq!(side.state.routing.locale.as_deref(), Some("en-GB"));

        let empty = SideCar::from_value(&json!({})).unwrap();
        assert!(empty.provided.is_empty());
    }

    #[test]
    fn apply_overrides_set_fields_and_merges_routing_extra() {
        let side = SideCar::from_value(&json!({
            "memory_snapshot": [],
            "tool_registry": [{"id": "lookup_account", "version": "1.4.0"}],
            "model": "gpt-4o-mini",
            "routing": {"queue": "billing", "extra": {"assistant_name": "Ava v2", "tier": "gold"}}
        }))
        .unwrap();
        let mut state = AgentState {
            memory_snapshot: vec![MemoryEntry { key: "plan".into(), value: json!("pro").into() }],
            tool_registry: vec![ToolRef { id: "lookup_account".into(), version: String::new() }, ToolRef { id: "endCall".into(), version: String::new() }],
            prompt_version: Some("support-v1".into()),
            model: Some("gpt-4o".into()),
            ..AgentState::default()
        };
        state.routing.locale = Some("en-US".into());
        state.routing.queue = Some("general".into());
        state.routing.extra.insert("assistant_name".into(), "Ava".into());
        state.routing.extra.insert("call_type".into(), "inboundPhoneCall".into());

        side.apply(&mut state);

        assert!(state.memory_snapshot.is_empty(), "a set, empty list replaces the export's");
        assert_eq!(state.tool_registry, vec![ToolRef { id: "lookup_account".into(), version: "1.4.0".into() }]);
        assert_eq!(state.model.as_deref(), Some("gpt-4o-mini"));
        assert_eq!(state.routing.queue.as_deref(), Some("billing"));
        // Fields the side-car does not set are kept.
        assert_eq!(state.prompt_version.as_deref(), Some("support-v1"));
        assert_eq!(state.kb_version_hash, None);
        assert_eq!(state.routing.locale.as_deref(), Some("en-US"));
        assert_eq!(state.routing.time_of_day, None);
        // `routing.extra` is merged key by key, the side-car winning.
        assert_eq!(
            state.routing.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>(),
            vec![("assistant_name", "Ava v2"), ("call_type", "inboundPhoneCall"), ("tier", "gold")]
        );
    }

    #[test]
    fn errors_name_option_state() {
        for (v, want) in [
            (json!([]), "option `state` must be a canonical agent state object, got an array"),
            (json!("x"), "option `state` must be a canonical agent state object, got a string"),
            (json!(null), "option `state` must be a canonical agent state object, got null"),
        ] {
            assert_eq!(SideCar::from_value(&v).unwrap_err(), want);
        }
        let e = SideCar::from_value(&json!({"modle": "x"})).unwrap_err();
        assert!(e.starts_with("option `state`: unknown field `modle`"), "{e}");
        let e = SideCar::from_value(&json!({"model": 7})).unwrap_err();
        assert!(e.starts_with("option `state`: "), "{e}");
    }
}
