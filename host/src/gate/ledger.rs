//! The run ledger: one JSON line per scenario per gate run (when, agent, verdict,
//! duration, failing criteria). The tiering/retirement logic reads it; shard
//! balancing reads the latest duration of each scenario from it.
//!
//! Concurrent gates (one per shard, at once) append to one ledger: an append takes
//! the lock of the ledger's directory — for `<suite>/ledger.jsonl` the suite lock
//! promote and tiers take — then reads, appends and renames the whole file into
//! place. So no line is lost between two writers, and a kill never leaves half a
//! line (an O_APPEND write would be neither: see docs/gate.md).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ScenarioResult, ScenarioVerdict};
use crate::fsutil::{self, FileLock, FsError};
use crate::suite::store::LOCK_FILE;

/// One ledger line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// RFC 3339 time of the run.
    pub at: String,
    /// The agent under test.
    pub agent: String,
    /// Scenario id.
    pub scenario: String,
    /// Its verdict.
    pub verdict: ScenarioVerdict,
    /// Wall time over attempts, ms.
    pub duration_ms: u64,
    /// Ids of the failing criteria.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failing: Vec<String>,
}

/// Append one entry per result (not-run scenarios are not recorded) to `dir/file`,
/// under the lock of `dir` (waiting up to `lock_timeout`). The file is written
/// through [`fsutil::write_confined`]: a symlinked ledger is refused, not followed.
pub fn append(dir: &Path, file: &Path, at: &str, agent: &str, results: &[ScenarioResult], lock_timeout: Duration) -> Result<(), FsError> {
    let _lock = FileLock::acquire(&dir.join(LOCK_FILE), lock_timeout)?;
    let path = fsutil::confined(dir, file)?;
    // Bytes, not text: a line someone broke is kept as it is (readers skip it).
    let mut text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => return Err(FsError::Io { path, source }),
    };
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    for r in results.iter().filter(|r| r.verdict != ScenarioVerdict::NotRun) {
        let e = LedgerEntry {
            at: at.to_string(),
            agent: agent.to_string(),
            scenario: r.id.clone(),
            verdict: r.verdict,
            duration_ms: r.duration_ms(),
            failing: r.failing().iter().map(|c| c.id.clone()).collect(),
        };
        text.extend_from_slice(serde_json::to_string(&e).expect("json").as_bytes());
        text.push(b'\n');
    }
    fsutil::write_confined(dir, file, &text)?;
    Ok(())
}

/// Read a ledger (a missing one is empty). Malformed lines — not JSON, not UTF-8, not
/// a ledger entry — are reported by line number and skipped; a ledger that cannot be
/// read at all (a directory, no permission) is an error, never taken for an empty
/// history (tiers would then retire every scenario).
pub fn read(path: &Path) -> Result<(Vec<LedgerEntry>, Vec<String>), crate::schema::SchemaError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(source) => return Err(crate::schema::SchemaError::Io { path: path.to_path_buf(), source }),
    };
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let origin = format!("{}:{}", path.display(), i + 1);
        let Ok(line) = std::str::from_utf8(line) else {
            problems.push(format!("{origin}: not UTF-8"));
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        match crate::schema::parse_json::<LedgerEntry>(line, &origin) {
            Ok(e) => entries.push(e),
            Err(e) => problems.push(e.to_string()),
        }
    }
    Ok((entries, problems))
}

/// The latest recorded duration of each scenario.
pub fn durations(entries: &[LedgerEntry]) -> BTreeMap<String, u64> {
    entries.iter().map(|e| (e.scenario.clone(), e.duration_ms)).collect()
}
