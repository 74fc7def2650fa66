//! The canonical, versioned formats ratchet reads and writes: conversations (with the
//! agent state snapshot), failure events, plugin results and scenario files.
//!
//! Everything here is plain serde data. Loading goes through [`load_json`] /
//! [`load_toml`] so every error names the file, the line and column, and the path of
//! the field (`turns[3].role`) — a vendor targeting the schema should never have to guess.

mod conversation;
mod event;
pub mod id;
pub mod pattern;
#[cfg(test)]
mod proptests;
mod results;
mod scenario;

pub use conversation::*;
pub use event::*;
pub use results::*;
pub use scenario::*;

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The one schema version this build reads and writes.
pub const CURRENT_SCHEMA_VERSION: u32 = 1;

/// The `schema_version` field of every ratchet file.
///
/// A dedicated type so that an unknown version is rejected *while parsing*, with a
/// message that says which versions this build understands, instead of being
/// misread as the current one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct SchemaVersion(u32);

impl Default for SchemaVersion {
    fn default() -> Self {
        SchemaVersion(CURRENT_SCHEMA_VERSION)
    }
}

impl SchemaVersion {
    /// The numeric version.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        if v == u64::from(CURRENT_SCHEMA_VERSION) {
            Ok(SchemaVersion(CURRENT_SCHEMA_VERSION))
        } else {
            Err(serde::de::Error::custom(format!("unknown schema_version {v}: this ratchet reads schema_version {CURRENT_SCHEMA_VERSION}")))
        }
    }
}

impl JsonSchema for SchemaVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SchemaVersion".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Version of the ratchet schema this document follows. Optional on input (defaults to the current version); unknown versions are rejected.",
            "type": "integer",
            "const": CURRENT_SCHEMA_VERSION,
        })
    }
}

/// A file that could not be read or parsed, with enough position to fix it.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file could not be read at all.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file was read but is not a valid document of the expected kind.
    #[error("{}", .0)]
    Invalid(Box<Located>),
}

/// A parse or validation problem located in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file (or `<stdin>`, or `<arg>`).
    pub path: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// Path of the offending field, e.g. `turns[3].role`, when known.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": ")?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl SchemaError {
    /// Build an `Invalid` error.
    pub fn invalid(path: impl Into<String>, line: Option<usize>, column: Option<usize>, field: Option<String>, message: impl Into<String>) -> Self {
        SchemaError::Invalid(Box::new(Located { path: path.into(), line, column, field, message: message.into() }))
    }
}

/// Largest document ratchet reads whole (a scenario, a result file, a config file):
/// a bigger or endless input (a symlink to `/dev/zero`) is refused instead of
/// exhausting memory.
pub const MAX_DOCUMENT_BYTES: u64 = 256 << 20;

/// Read a whole document as text: at most [`MAX_DOCUMENT_BYTES`], and UTF-8 — an
/// invalid byte is an error at its line and column, never decoded lossily.
pub fn read_text(path: &Path) -> Result<String, SchemaError> {
    use std::io::Read;
    let io = |source| SchemaError::Io { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(SchemaError::invalid(
            path.display().to_string(),
            None,
            None,
            None,
            format!("larger than {} MiB: not a ratchet document", MAX_DOCUMENT_BYTES >> 20),
        ));
    }
    utf8_text(bytes, &path.display().to_string())
}

/// The name a document read from standard input (`-`) goes by in messages.
pub const STDIN: &str = "<stdin>";

/// [`read_text`], with `-` meaning standard input (named [`STDIN`] in errors): the
/// command-line convention every ratchet command that reads a document follows.
pub fn read_input(path: &Path) -> Result<String, SchemaError> {
    use std::io::Read;
    if path != Path::new("-") {
        return read_text(path);
    }
    let io = |source| SchemaError::Io { path: PathBuf::from(STDIN), source };
    let mut bytes = Vec::new();
    std::io::stdin().lock().take(MAX_DOCUMENT_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(SchemaError::invalid(STDIN, None, None, None, format!("larger than {} MiB: not a ratchet document", MAX_DOCUMENT_BYTES >> 20)));
    }
    utf8_text(bytes, STDIN)
}

/// `bytes` as UTF-8 text, or an error naming `origin` and the line and column of the
/// first byte that is not UTF-8.
pub fn utf8_text(bytes: Vec<u8>, origin: &str) -> Result<String, SchemaError> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let valid = std::str::from_utf8(&bytes[..at]).unwrap_or_default();
        let (line, col) = line_col(valid, at);
        SchemaError::invalid(origin, Some(line), Some(col), None, format!("not UTF-8 (byte 0x{:02x}): ratchet documents are UTF-8 text", bytes[at]))
    })
}

/// Parse a JSON document of type `T`; `origin` names the source in errors.
pub fn parse_json<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, SchemaError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    match serde_path_to_error::deserialize::<_, T>(&mut *de) {
        // One document: anything after it but whitespace is an error, not ignored.
        Ok(v) => match de.end() {
            Ok(()) => Ok(v),
            Err(e) => Err(SchemaError::invalid(origin, Some(e.line()), Some(e.column()), None, strip_position(&e.to_string()))),
        },
        Err(e) => {
            let field = field_path(e.path());
            let inner = e.into_inner();
            let (line, col) = (inner.line(), inner.column());
            let message = strip_position(&inner.to_string());
            Err(SchemaError::invalid(origin, (line > 0).then_some(line), (col > 0).then_some(col), field, message))
        }
    }
}

/// Read and parse a JSON file of type `T`.
pub fn load_json<T: DeserializeOwned>(path: &Path) -> Result<T, SchemaError> {
    let text = read_text(path)?;
    parse_json(&text, &path.display().to_string())
}

/// Parse a TOML document of type `T`; `origin` names the source in errors.
pub fn parse_toml<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, SchemaError> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(text, origin, None, e))?;
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(e) => {
            let field = field_path(e.path());
            Err(toml_error(text, origin, field, e.into_inner()))
        }
    }
}

/// Read and parse a TOML file of type `T`.
pub fn load_toml<T: DeserializeOwned>(path: &Path) -> Result<T, SchemaError> {
    let text = read_text(path)?;
    parse_toml(&text, &path.display().to_string())
}

fn toml_error(text: &str, origin: &str, field: Option<String>, e: toml::de::Error) -> SchemaError {
    let (line, col) = match e.span() {
        Some(span) => {
            let (l, c) = line_col(text, span.start);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    SchemaError::invalid(origin, line, col, field, e.message().trim().to_string())
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, col)
}

fn field_path(p: &serde_path_to_error::Path) -> Option<String> {
    let s = p.to_string();
    (s != "." && !s.is_empty() && !s.contains('?')).then_some(s)
}

/// serde_json appends " at line X column Y"; we print the position ourselves.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// The documents whose JSON Schema `ratchet schema NAME` prints.
pub const SCHEMA_NAMES: &[&str] = &["conversation", "failure-event", "scenario", "scorecard-result", "verdict"];

/// The JSON Schema of a published document kind, or `None` for an unknown name.
pub fn json_schema(name: &str) -> Option<serde_json::Value> {
    let schema = match name {
        "conversation" => schemars::schema_for!(Conversation),
        "failure-event" => schemars::schema_for!(FailureEvent),
        "scenario" => schemars::schema_for!(Scenario),
        "scorecard-result" => schemars::schema_for!(ScorecardResult),
        "verdict" => schemars::schema_for!(Verdict),
        _ => return None,
    };
    let mut v = serde_json::to_value(schema).expect("a JSON Schema is JSON");
    if let Some(obj) = v.as_object_mut() {
        obj.insert("$id".into(), format!("https://ratchet.dev/schema/v{CURRENT_SCHEMA_VERSION}/{name}.json").into());
    }
    Some(v)
}

/// Serialise a JSON value canonically: object keys sorted, no insignificant whitespace.
///
/// Plugins receive JSON this way, and fixtures are matched on it, so the same
/// value is always the same bytes whatever order its source wrote keys in.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("string serialises"));
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&serde_json::to_string(scalar).expect("scalar serialises")),
    }
}
