//! Typed access to a plugin's JSON parameters with defaults and precise error
//! messages, so every plugin validates `params` the same way in one line each.

use serde_json::{Map, Value};

/// A view of a plugin's `params` object. `null` counts as an empty object
/// (no parameters configured).
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Params<'a> {
    /// Wraps `params`; errors unless it is an object or `null`.
    pub fn new(params: &'a Value) -> Result<Self, String> {
        match params {
            Value::Object(m) => Ok(Params { map: Some(m) }),
            Value::Null => Ok(Params { map: None }),
            other => Err(format!("params must be a JSON object, got {}", kind_of(other))),
        }
    }

    /// Errors on any key not in `known`: a misspelt parameter must not be
    /// silently ignored (the same rule the host applies to its own formats).
    /// With several unknown keys, the first in sorted order is named (whatever
    /// order the map keeps: the same message natively and in the component).
    pub fn deny_unknown(&self, known: &[&str]) -> Result<(), String> {
        if let Some(m) = self.map {
            if let Some(k) = m.keys().filter(|k| !known.contains(&k.as_str())).min() {
                return Err(format!("unknown param `{k}`, expected one of {}", known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")));
            }
        }
        Ok(())
    }

    /// The raw value of `key`, if present and not `null`.
    pub fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// A string parameter, or `default` when absent.
    pub fn str(&self, key: &str, default: &str) -> Result<String, String> {
        match self.get(key) {
            None => Ok(default.to_string()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(format!("param `{key}` must be a string, got {}", kind_of(v))),
        }
    }

    /// A list-of-strings parameter, or `default` when absent. A single string
    /// is accepted as a one-element list.
    pub fn str_list(&self, key: &str, default: &[&str]) -> Result<Vec<String>, String> {
        match self.get(key) {
            None => Ok(default.iter().map(|s| s.to_string()).collect()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(format!("param `{key}[{i}]` must be a string, got {}", kind_of(other))),
                })
                .collect(),
            Some(v) => Err(format!("param `{key}` must be a list of strings, got {}", kind_of(v))),
        }
    }

    /// A non-negative integer parameter, or `default` when absent.
    pub fn u64(&self, key: &str, default: u64) -> Result<u64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.as_u64().ok_or_else(|| format!("param `{key}` must be a non-negative integer, got {v}")),
        }
    }

    /// A boolean parameter, or `default` when absent.
    pub fn bool(&self, key: &str, default: bool) -> Result<bool, String> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(format!("param `{key}` must be true or false, got {v}")),
        }
    }

    /// A number parameter, or `default` when absent.
    pub fn f64(&self, key: &str, default: f64) -> Result<f64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.as_f64().ok_or_else(|| format!("param `{key}` must be a number, got {v}")),
        }
    }
}

/// The JSON type name of `v`, for error messages.
pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_values() {
        let v = json!({"a": "x", "l": ["p", "q"], "n": 3, "b": true, "s": "one"});
        let p = Params::new(&v).unwrap();
        assert_eq!(p.str("a", "d").unwrap(), "x");
        assert_eq!(p.str("missing", "d").unwrap(), "d");
        assert_eq!(p.str_list("l", &[]).unwrap(), vec!["p", "q"]);
        assert_eq!(p.str_list("s", &[]).unwrap(), vec!["one"]);
        assert_eq!(p.str_list("missing", &["z"]).unwrap(), vec!["z"]);
        assert_eq!(p.u64("n", 0).unwrap(), 3);
        assert!(p.bool("b", false).unwrap());
        assert_eq!(p.f64("n", 0.0).unwrap(), 3.0);
        assert!(p.deny_unknown(&["a", "l", "n", "b", "s"]).is_ok());
        assert_eq!(p.deny_unknown(&["a", "l", "n", "b"]).unwrap_err(), "unknown param `s`, expected one of `a`, `l`, `n`, `b`");
    }

    #[test]
    fn null_is_empty_and_errors_are_precise() {
        let p = Params::new(&Value::Null).unwrap();
        assert_eq!(p.u64("k", 7).unwrap(), 7);
        assert!(Params::new(&json!([1])).unwrap_err().contains("an array"));
        let v = json!({"n": -1, "l": ["a", 2]});
        let p = Params::new(&v).unwrap();
        assert_eq!(p.u64("n", 0).unwrap_err(), "param `n` must be a non-negative integer, got -1");
        assert_eq!(p.str_list("l", &[]).unwrap_err(), "param `l[1]` must be a string, got a number");
    }
}
