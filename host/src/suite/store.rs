//! Changing the suite on disk: one writer at a time, all-or-nothing batches,
//! edits that keep a scenario file's comments, and names that cannot leave the
//! suite directory. `promote` and `tiers` write through here.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml_edit::{value, ArrayOfTables, Item, Table};

use crate::fsutil::{self, FileLock, FsError};

/// The lock file inside the suite directory.
pub const LOCK_FILE: &str = ".ratchet.lock";

/// Why the suite could not be changed (it is unchanged in every case).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another ratchet process held the suite lock for longer than the timeout.
    #[error("{dir}: the suite is locked by another ratchet process (`ratchet promote` or `ratchet tiers --apply`; waited {waited_s} s for {})", LOCK_FILE)]
    Locked {
        /// Suite directory.
        dir: PathBuf,
        /// How long we waited.
        waited_s: u64,
    },
    /// A path would leave the suite, or passes through a symlink.
    #[error(transparent)]
    Confined(FsError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A scenario file could not be edited (hand-edited into a shape the edit cannot update).
    #[error("{file}: cannot update it: {message}")]
    Edit {
        /// The file.
        file: PathBuf,
        /// Why.
        message: String,
    },
}

impl From<FsError> for StoreError {
    fn from(e: FsError) -> StoreError {
        match e {
            FsError::Locked { path, waited_s } => StoreError::Locked { dir: path.parent().map(Path::to_path_buf).unwrap_or(path), waited_s },
            FsError::Io { path, source } => StoreError::Io { path, source },
            other => StoreError::Confined(other),
        }
    }
}

/// Holds the suite's lock until dropped.
#[derive(Debug)]
pub struct SuiteLock {
    _lock: FileLock,
}

/// Take the suite's exclusive lock, waiting up to `timeout`; the directory is created
/// if missing. Every process that changes the suite or its ledger takes it.
pub fn lock(dir: &Path, timeout: Duration) -> Result<SuiteLock, StoreError> {
    Ok(SuiteLock { _lock: FileLock::acquire(&dir.join(LOCK_FILE), timeout)? })
}

/// A file a batch changes: its new text (or its removal), and what to restore on failure.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The new text (ignored when `remove`).
    pub text: String,
    /// The bytes before (None: the file is new).
    pub original: Option<Vec<u8>>,
    /// Remove the file (a scenario replaced by another file of its cluster).
    pub remove: bool,
}

impl Pending {
    /// Write `text` (a new file when `original` is None).
    pub fn write(text: String, original: Option<Vec<u8>>) -> Pending {
        Pending { text, original, remove: false }
    }
}

/// Stage every file, then rename them all into place; on a failure, put back what
/// was replaced and remove what was created. Removals come last, once every write is
/// in place (a failed removal leaves an extra file, never a missing one). Every path
/// is checked to stay inside `dir` without passing through a symlink before
/// anything is written.
pub fn commit(dir: &Path, pending: &BTreeMap<PathBuf, Pending>) -> Result<(), StoreError> {
    let all: Vec<(PathBuf, &Pending)> = pending.iter().map(|(rel, p)| Ok((fsutil::confined(dir, rel)?, p))).collect::<Result<_, FsError>>()?;
    let removals: Vec<PathBuf> = all.iter().filter(|(_, p)| p.remove).map(|(t, _)| t.clone()).collect();
    let targets: Vec<(PathBuf, &Pending)> = all.into_iter().filter(|(_, p)| !p.remove).collect();
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    let cleanup = |staged: &[(PathBuf, PathBuf)], created_dirs: &[PathBuf]| {
        for (tmp, _) in staged {
            let _ = std::fs::remove_file(tmp);
        }
        for d in created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    };
    for (target, p) in targets {
        let parent = target.parent().unwrap_or(dir).to_path_buf();
        if !parent.exists() {
            if let Err(e) = std::fs::create_dir_all(&parent) {
                cleanup(&staged, &created_dirs);
                return Err(StoreError::Io { path: parent, source: e });
            }
            created_dirs.push(parent.clone());
        }
        let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = parent.join(format!(".{name}.promote.{}.tmp", std::process::id()));
        let written = File::create(&tmp).and_then(|mut f| {
            f.write_all(p.text.as_bytes())?;
            f.sync_all()
        });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            cleanup(&staged, &created_dirs);
            return Err(StoreError::Io { path: tmp, source: e });
        }
        staged.push((tmp, target));
    }
    for (i, (tmp, target)) in staged.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, target) {
            // Undo the renames already done, newest first.
            for (_, done) in staged[..i].iter().rev() {
                let rel = done.strip_prefix(dir).unwrap_or(done);
                match pending.get(rel).and_then(|p| p.original.as_ref()) {
                    Some(bytes) => {
                        let _ = fsutil::write_atomic(done, bytes);
                    }
                    None => {
                        let _ = std::fs::remove_file(done);
                    }
                }
            }
            cleanup(&staged[i..], &created_dirs);
            return Err(StoreError::Io { path: target.clone(), source: e });
        }
    }
    for target in removals {
        match std::fs::remove_file(&target) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Io { path: target, source: e }),
        }
        // A failure-mode folder left empty goes too.
        if let Some(parent) = target.parent().filter(|p| *p != dir) {
            let _ = std::fs::remove_dir(parent);
        }
    }
    Ok(())
}

/// Append a `[[history]]` entry to a scenario document being edited in place (what
/// promote merges and tier moves record).
pub fn push_history(root: &mut Table, at: &str, action: &str, detail: &str) -> Result<(), String> {
    if !root.contains_key("history") {
        root.insert("history", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let history = root.get_mut("history").and_then(Item::as_array_of_tables_mut).ok_or("`history` is not an array of tables ([[history]])")?;
    let mut t = Table::new();
    t.insert("at", value(at));
    t.insert("action", value(action));
    t.insert("detail", value(detail));
    history.push(t);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_with_an_escaping_path_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let suite = dir.path().join("suite");
        std::fs::create_dir(&suite).unwrap();
        let mut pending = BTreeMap::new();
        pending.insert(PathBuf::from("m/ok.toml"), Pending::write("x".into(), None));
        pending.insert(PathBuf::from("../../ratchet.toml"), Pending::write("pwned".into(), None));
        assert!(matches!(commit(&suite, &pending), Err(StoreError::Confined(FsError::Escape { .. }))));
        assert!(!suite.join("m").exists());
        assert!(!dir.path().join("ratchet.toml").exists());
    }
}
