//! The world a replay runs in: the scenario's `[world]` state, moved forward by
//! its tool simulator after every call, and what each call changed — what
//! `world-state` criteria read.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The world before and after a replay, and the calls that changed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorldTrace {
    /// The world before the conversation (the scenario's `[world]` state).
    pub initial: Value,
    /// The world after the last call.
    #[serde(rename = "final")]
    pub last: Value,
    /// Every call that changed the world, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
}

/// One call that changed the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The transcript turn of the call.
    pub turn: u32,
    /// The tool called.
    pub tool: String,
    /// JSON Pointers of what it changed (the deepest changed objects' fields; a list
    /// that changed is named whole).
    pub paths: Vec<String>,
}

impl WorldTrace {
    /// A world nothing has changed yet.
    pub fn new(initial: Value) -> WorldTrace {
        WorldTrace { last: initial.clone(), initial, changes: Vec::new() }
    }

    /// Record `world` as the state after the call at `turn` to `tool`.
    pub fn advance(&mut self, turn: u32, tool: &str, world: Value) {
        let paths = diff_paths(&self.last, &world);
        if !paths.is_empty() {
            self.changes.push(Change { turn, tool: tool.to_string(), paths });
        }
        self.last = world;
    }

    /// The latest call that changed `path` or something inside or above it.
    pub fn last_change_of(&self, path: &str) -> Option<&Change> {
        self.changes.iter().rev().find(|c| c.paths.iter().any(|p| overlaps(p, path)))
    }
}

/// Whether two JSON Pointers name the same place, or one contains the other.
pub fn overlaps(a: &str, b: &str) -> bool {
    let within = |x: &str, y: &str| x == y || (x.starts_with(y) && x.as_bytes().get(y.len()) == Some(&b'/')) || y.is_empty();
    within(a, b) || within(b, a)
}

/// JSON Pointers of the differences between `a` and `b`: fields of objects
/// are compared one by one (an added or removed field is named); anything else
/// that differs — a scalar, a list — is named whole.
pub fn diff_paths(a: &Value, b: &Value) -> Vec<String> {
    fn walk(a: &Value, b: &Value, at: &mut String, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))).collect();
                keys.sort();
                for k in keys {
                    let len = at.len();
                    at.push('/');
                    at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    match (x.get(k), y.get(k)) {
                        (Some(p), Some(q)) => walk(p, q, at, out),
                        _ => out.push(at.clone()),
                    }
                    at.truncate(len);
                }
            }
            _ if super::criteria::json_eq(a, b) => {}
            _ => out.push(at.clone()),
        }
    }
    let mut out = Vec::new();
    walk(a, b, &mut String::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diffs_name_fields_and_whole_lists() {
        let a = json!({"accounts": {"A-1": {"status": "active", "plan": "x"}}, "refunds": [], "a/b": 1});
        let b = json!({"accounts": {"A-1": {"status": "cancelled", "plan": "x"}, "A-2": {}}, "refunds": [{"amount": 1}], "a/b": 1.0});
        assert_eq!(diff_paths(&a, &b), vec!["/accounts/A-1/status", "/accounts/A-2", "/refunds"]);
        assert!(diff_paths(&a, &a).is_empty());
        assert!(overlaps("/accounts/A-1/status", "/accounts/A-1") && overlaps("/accounts", "/accounts/A-1/status") && overlaps("", "/x"));
        assert!(!overlaps("/accounts/A-10", "/accounts/A-1"));
    }
}
