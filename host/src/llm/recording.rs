//! Judge requests in canonical form, their keys, and the recording files that
//! make a model's answer replayable.
//!
//! A request is turned into the exact chat completions body that is sent; the
//! body's canonical JSON (keys sorted, compact) is hashed with sha256, and that
//! key names the recording `<recordings>/<hex>.json`. The file is pretty JSON so a
//! reviewer can read the question and the answer in a pull request; replay checks
//! that the stored request still hashes to its key, so an edited question cannot
//! silently serve a stale answer (an edited *answer* is a deliberate review act).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::schema::canonical_json;

/// The `format` field of a recording file.
pub const RECORDING_FORMAT: &str = "ratchet.model-recording/1";

pub use ratchet_runtime::model::{ChatRequest, Message, MessageRole, MAX_REQUEST_BYTES};

/// `sha256:<hex>` of a body's canonical JSON: the recording's key.
pub fn key_of(body: &Value) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(canonical_json(body).as_bytes())))
}

/// The file a key is recorded in, under `dir`.
pub fn path_for(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("{}.json", key.trim_start_matches("sha256:")))
}

/// Token counts of one answer, as the endpoint reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
}

/// The recorded answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    /// The assistant message text.
    pub content: String,
    /// The model id the endpoint said answered.
    pub model: String,
}

/// One recording file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// Always [`RECORDING_FORMAT`].
    pub format: String,
    /// `sha256:<hex>` of the canonical request.
    pub key: String,
    /// The exact body that was sent.
    pub request: Value,
    /// What came back.
    pub response: RecordedResponse,
    /// Tokens billed for it.
    pub usage: Tokens,
    /// How long the live call took, ms.
    pub latency_ms: u64,
}

/// Why a stored recording cannot be replayed; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The file exists but could not be read.
    #[error("{}: {source}", path.display())]
    Unreadable {
        /// The recording file.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// Not a recording: invalid JSON, or fields that are missing or unknown.
    #[error(transparent)]
    Invalid(#[from] crate::schema::SchemaError),
    /// Written by a ratchet with another recording format.
    #[error("{}: unknown recording format `{format}` (this ratchet reads `{RECORDING_FORMAT}`)", path.display())]
    UnknownFormat {
        /// The recording file.
        path: PathBuf,
        /// The format it declares.
        format: String,
    },
    /// The stored request does not hash to the key the file is named by: it was
    /// edited, so its answer is not the answer to the question asked.
    #[error("{}: the stored request does not hash to the file's key {key} (was the question edited by hand? re-record it with --record)", path.display())]
    KeyMismatch {
        /// The recording file.
        path: PathBuf,
        /// The key asked for.
        key: String,
    },
}

impl Recording {
    /// Read and check the recording of `key` in `dir`; `Ok(None)` when there is none.
    pub fn load(dir: &Path, key: &str) -> Result<Option<Recording>, RecordingError> {
        let path = path_for(dir, key);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(RecordingError::Unreadable { path, source }),
        };
        let r: Recording = crate::schema::parse_json(&text, &path.display().to_string())?;
        if r.format != RECORDING_FORMAT {
            return Err(RecordingError::UnknownFormat { path, format: r.format });
        }
        if r.key != key || key_of(&r.request) != key {
            return Err(RecordingError::KeyMismatch { path, key: key.to_string() });
        }
        Ok(Some(r))
    }

    /// Write this recording into `root/dir` (the project root and `[model]
    /// recordings`) atomically, as pretty JSON; the directory is created if missing.
    /// The file stays inside the project: a recordings directory (or any folder on
    /// the way) that is a symlink is refused, not written through.
    pub fn save(&self, root: &Path, dir: &Path) -> Result<PathBuf, crate::fsutil::FsError> {
        let file = path_for(dir, &self.key);
        let mut text = serde_json::to_string_pretty(self).expect("a recording serialises");
        text.push('\n');
        crate::fsutil::write_confined(root, &file, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> ChatRequest {
        ChatRequest {
            model: String::new(),
            messages: vec![Message { role: MessageRole::User, content: "Did the agent check the flag?".into() }],
            temperature: 0.0,
            max_tokens: Some(200),
            json_schema: Some(r#"{"type":"object","properties":{"passed":{"type":"boolean"}}}"#.into()),
        }
    }

    #[test]
    fn key_is_stable_and_covers_what_is_sent() {
        let a = req().body("judge-1").unwrap();
        assert_eq!(key_of(&a), key_of(&req().body("judge-1").unwrap()));
        // Key order inside the schema text does not matter; the model does.
        let mut r = req();
        r.json_schema = Some(r#"{"properties":{"passed":{"type":"boolean"}},"type":"object"}"#.into());
        assert_eq!(key_of(&a), key_of(&r.body("judge-1").unwrap()));
        assert_ne!(key_of(&a), key_of(&req().body("judge-2").unwrap()));
        let mut r = req();
        r.model = "judge-2".into();
        assert_eq!(key_of(&r.body("judge-1").unwrap()), key_of(&req().body("judge-2").unwrap()));
    }

    #[test]
    fn bad_requests_say_why() {
        let mut r = req();
        r.temperature = 3.0;
        assert!(r.body("m").unwrap_err().contains("temperature 3"));
        let mut r = req();
        r.json_schema = Some("[1]".into());
        assert!(r.body("m").unwrap_err().contains("JSON object"));
        let mut r = req();
        r.messages.clear();
        assert!(r.body("m").unwrap_err().contains("no messages"));
    }

    #[test]
    fn save_load_round_trip_and_tamper_check() {
        let dir = tempfile::tempdir().unwrap();
        let body = req().body("m").unwrap();
        let key = key_of(&body);
        let rec = Recording {
            format: RECORDING_FORMAT.into(),
            key: key.clone(),
            request: body,
            response: RecordedResponse { content: "{\"passed\":true}".into(), model: "m-2026".into() },
            usage: Tokens { prompt_tokens: 10, completion_tokens: 3 },
            latency_ms: 12,
        };
        rec.save(dir.path(), Path::new(".")).unwrap();
        assert_eq!(Recording::load(dir.path(), &key).unwrap(), Some(rec.clone()));
        assert_eq!(Recording::load(dir.path(), "sha256:00").unwrap(), None);
        let path = path_for(dir.path(), &key);
        let edited = std::fs::read_to_string(&path).unwrap().replace("check the flag", "check the box");
        std::fs::write(&path, edited).unwrap();
        assert!(Recording::load(dir.path(), &key).unwrap_err().to_string().contains("does not hash"));
        // A newer format, or a file that is not a recording, is named, never served.
        rec.save(dir.path(), Path::new(".")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace(RECORDING_FORMAT, "ratchet.model-recording/9")).unwrap();
        assert!(Recording::load(dir.path(), &key).unwrap_err().to_string().contains("unknown recording format `ratchet.model-recording/9`"));
        std::fs::write(&path, "{\"format\": ").unwrap();
        let err = Recording::load(dir.path(), &key).unwrap_err();
        assert!(matches!(err, RecordingError::Invalid(_)) && err.to_string().contains(&path.display().to_string()), "{err}");
        // There but unreadable (a directory in its place): an error naming it, not "no recording".
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let err = Recording::load(dir.path(), &key).unwrap_err();
        assert!(matches!(err, RecordingError::Unreadable { .. }) && err.to_string().starts_with(&path.display().to_string()), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_recordings_directory_is_not_written_through() {
        let project = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let body = req().body("m").unwrap();
        let rec = Recording {
            format: RECORDING_FORMAT.into(),
            key: key_of(&body),
            request: body,
            response: RecordedResponse { content: "{}".into(), model: "m".into() },
            usage: Tokens::default(),
            latency_ms: 1,
        };
        std::fs::create_dir(project.path().join("recordings")).unwrap();
        std::os::unix::fs::symlink(outside.path(), project.path().join("recordings/model")).unwrap();
        let e = rec.save(project.path(), Path::new("recordings/model")).unwrap_err();
        assert!(matches!(e, crate::fsutil::FsError::Symlink { .. }), "{e}");
        std::os::unix::fs::symlink(outside.path(), project.path().join("linked")).unwrap();
        assert!(rec.save(project.path(), Path::new("linked/model")).is_err());
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "nothing written outside the project");
        // A plain directory, created when missing, is fine.
        let saved = rec.save(project.path(), Path::new("recordings/real")).unwrap();
        assert_eq!(Recording::load(&project.path().join("recordings/real"), &rec.key).unwrap(), Some(rec));
        assert!(saved.starts_with(project.path()));
    }
}
