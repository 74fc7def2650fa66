//! Canonical JSON: object keys sorted (by UTF-8 bytes), no insignificant
//! whitespace. Everything the SDK sends to the host as JSON text goes through
//! here, so a plugin's output is the same bytes whenever its values are equal
//! (independent of `serde_json`'s `preserve_order` feature or insertion order).

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A JSON value that may still be the text it arrived as: the type of the
/// conversation's open-ended fields ([`crate::ToolCall::arguments`],
/// [`crate::ToolResult::content`], [`crate::MemoryEntry::value`]).
///
/// Inside a component these fields arrive from the host as JSON text; most
/// plugins read a few of them (a lookup result, a memory key), so the text is
/// parsed on first access, once, instead of all of it up front. Read it like a
/// [`Value`] (`args.get("email")`, `content["status"]`, `&*json`: it
/// dereferences to one); build it from a `Value` (`json!({...}).into()`).
/// Equality, `Debug`, `Display` and serde go through the value, so a `Json`
/// serialises exactly like the `Value` it holds, and native tests that load
/// conversations from files see no difference.
pub struct Json {
    /// The text the value is parsed from on first access, while it is the
    /// authority (cleared when the value is borrowed mutably).
    text: Option<String>,
    value: OnceLock<Value>,
}

impl Json {
    /// Wraps a value (same as `Json::from(value)`).
    pub fn new(value: Value) -> Json {
        Json { text: None, value: OnceLock::from(value) }
    }

    /// Parses JSON text now (an error names what is wrong with it).
    pub fn parse(text: &str) -> Result<Json, serde_json::Error> {
        serde_json::from_str(text).map(Json::new)
    }

    /// Keeps `text` unparsed until first access. Only for text known to be
    /// valid JSON: the host's canonical JSON (the WIT contract).
    pub(crate) fn lazy(text: String) -> Json {
        Json { text: Some(text), value: OnceLock::new() }
    }

    /// The value, parsing the text on first call.
    pub fn as_value(&self) -> &Value {
        self.value.get_or_init(|| {
            let text = self.text.as_deref().unwrap_or("null");
            // Only the host's JSON text is kept unparsed, and the host sends valid JSON.
            serde_json::from_str(text).unwrap_or_else(|e| panic!("invalid JSON text from the host ({e}): {text}"))
        })
    }

    /// The value, mutably (the text it came from is dropped).
    pub fn as_value_mut(&mut self) -> &mut Value {
        self.as_value();
        self.text = None;
        self.value.get_mut().expect("parsed just above")
    }

    /// The value, by value.
    pub fn into_value(mut self) -> Value {
        self.as_value();
        self.value.take().expect("parsed just above")
    }

    /// True once the value exists (always, unless it is JSON text from the host
    /// that nothing has read yet).
    pub fn is_parsed(&self) -> bool {
        self.value.get().is_some()
    }
}

impl Default for Json {
    /// `null`.
    fn default() -> Json {
        Json::new(Value::Null)
    }
}

impl From<Value> for Json {
    fn from(value: Value) -> Json {
        Json::new(value)
    }
}

impl From<Json> for Value {
    fn from(json: Json) -> Value {
        json.into_value()
    }
}

impl Deref for Json {
    type Target = Value;
    fn deref(&self) -> &Value {
        self.as_value()
    }
}

impl DerefMut for Json {
    fn deref_mut(&mut self) -> &mut Value {
        self.as_value_mut()
    }
}

impl AsRef<Value> for Json {
    fn as_ref(&self) -> &Value {
        self.as_value()
    }
}

impl Clone for Json {
    fn clone(&self) -> Json {
        Json { text: self.text.clone(), value: self.value.clone() }
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Json) -> bool {
        self.as_value() == other.as_value()
    }
}

impl PartialEq<Value> for Json {
    fn eq(&self, other: &Value) -> bool {
        self.as_value() == other
    }
}

impl PartialEq<Json> for Value {
    fn eq(&self, other: &Json) -> bool {
        self == other.as_value()
    }
}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_value(), f)
    }
}

impl fmt::Display for Json {
    /// Compact JSON, like `Value`'s `Display`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_value(), f)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.as_value().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        Value::deserialize(deserializer).map(Json::new)
    }
}

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

/// One JSON document of an adapter's input (see [`split_documents`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Position among the documents, from 0.
    pub index: usize,
    /// 1-based line, for JSONL input.
    pub line: Option<usize>,
    /// True when the whole input was this one document (not an array item or a line).
    pub top_level: bool,
    /// The parsed document.
    pub value: Value,
}

/// Why an input could not be split into documents.
#[derive(Debug, Clone, PartialEq)]
pub enum SplitError {
    /// Nothing but whitespace.
    Empty,
    /// Not JSON, and not JSONL either (the whole-input parse error).
    Invalid(String),
    /// JSONL whose line `line` (document `index`) is not JSON.
    Line {
        /// Position among the documents.
        index: usize,
        /// 1-based line.
        line: usize,
        /// The parse error.
        error: String,
    },
}

/// Split an adapter input into documents: one JSON value, a JSON array (each item a
/// document) or JSONL (each non-blank line a document). Vendor exports come in all
/// three shapes; every adapter needs the same split, with positions for its errors.
pub fn split_documents(text: &str) -> Result<Vec<Document>, SplitError> {
    if text.trim().is_empty() {
        return Err(SplitError::Empty);
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => Ok(items.into_iter().enumerate().map(|(index, value)| Document { index, line: None, top_level: false, value }).collect()),
        Ok(value) => Ok(vec![Document { index: 0, line: None, top_level: true, value }]),
        Err(whole) => {
            let lines: Vec<(usize, &str)> = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).collect();
            if lines.len() < 2 {
                return Err(SplitError::Invalid(whole.to_string()));
            }
            lines
                .into_iter()
                .enumerate()
                .map(|(index, (n, l))| match serde_json::from_str::<Value>(l) {
                    Ok(value) => Ok(Document { index, line: Some(n + 1), top_level: false, value }),
                    Err(e) => Err(SplitError::Line { index, line: n + 1, error: e.to_string() }),
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod split_tests {
    use super::*;

    #[test]
    fn object_array_and_jsonl() {
        let one = split_documents(r#" {"a": 1} "#).unwrap();
        assert_eq!(one.len(), 1);
        assert!(one[0].top_level && one[0].line.is_none());
        let arr = split_documents(r#"[{"a": 1}, 2]"#).unwrap();
        assert_eq!(arr.iter().map(|d| (d.index, d.top_level)).collect::<Vec<_>>(), vec![(0, false), (1, false)]);
        let jsonl = split_documents("{\"a\": 1}\n\n{\"b\": 2}\n").unwrap();
        assert_eq!(jsonl.iter().map(|d| (d.index, d.line)).collect::<Vec<_>>(), vec![(0, Some(1)), (1, Some(3))]);
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(split_documents("  \n "), Err(SplitError::Empty));
        assert!(matches!(split_documents("{\"a\": "), Err(SplitError::Invalid(_))));
        assert!(matches!(split_documents("{\"a\": 1}\n{bad\n"), Err(SplitError::Line { index: 1, line: 2, .. })));
    }
}
