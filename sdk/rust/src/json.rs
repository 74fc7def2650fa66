//! Canonical JSON: object keys sorted (by UTF-8 bytes), no insignificant
//! whitespace. Everything the SDK sends to the host as JSON text goes through
//! here, so a plugin's output is the same bytes whenever its values are equal
//! (independent of `serde_json`'s `preserve_order` feature or insertion order).

use serde::Serialize;
use serde_json::{Map, Value};

/// Returns `value` with every object's keys sorted, recursively.
pub fn canonicalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonicalize(&map[k]));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonicalize).collect()),
        other => other.clone(),
    }
}

/// Canonical JSON text of a JSON value.
pub fn canonical_string(value: &Value) -> String {
    // Serialising a `Value` cannot fail: keys are strings and numbers finite.
    serde_json::to_string(&canonicalize(value)).expect("a serde_json::Value always serialises")
}

/// Canonical JSON text of any serialisable value (e.g. a result, for golden
/// files). Panics only if `value`'s `Serialize` impl fails, which the SDK's
/// own types never do.
pub fn to_canonical_string<T: Serialize + ?Sized>(value: &T) -> String {
    let v = serde_json::to_value(value).expect("value serialises to JSON");
    canonical_string(&v)
}

/// Canonical, human-readable JSON (sorted keys, two-space indent, trailing
/// newline): the format of the `.expected.json` golden files.
pub fn to_canonical_pretty<T: Serialize + ?Sized>(value: &T) -> String {
    let v = serde_json::to_value(value).expect("value serialises to JSON");
    let mut s = serde_json::to_string_pretty(&canonicalize(&v)).expect("a Value serialises");
    s.push('\n');
    s
}

/// Parses JSON text received from the host, naming `what` (e.g. `params`,
/// `turns[3].tool_calls[0].arguments`) in the error.
pub fn parse(what: &str, text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("invalid JSON in {what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_recursively_and_is_compact() {
        let v = json!({"b": 1, "a": {"z": [ {"y": 1, "x": 2} ], "c": null}});
        assert_eq!(canonical_string(&v), r#"{"a":{"c":null,"z":[{"x":2,"y":1}]},"b":1}"#);
    }

    #[test]
    fn same_value_same_bytes_whatever_insertion_order() {
        let a: Value = serde_json::from_str(r#"{"k2": 2, "k1": 1}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"k1": 1, "k2": 2}"#).unwrap();
        assert_eq!(canonical_string(&a), canonical_string(&b));
    }

    #[test]
    fn parse_names_the_field() {
        let e = parse("params", "{nope").unwrap_err();
        assert!(e.starts_with("invalid JSON in params:"), "{e}");
    }
}
