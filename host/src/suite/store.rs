//! Changing the suite on disk: one writer at a time, all-or-nothing batches,
//! edits that keep a scenario file's comments, and names that cannot leave the
//! suite directory. `promote` and `tiers` write through here.

use std::collections::BTreeMap;
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
    #[error("{dir}: the suite is locked by another ratchet process (`ratchet promote`, `ratchet tiers --apply`, or a `ratchet gate` appending to the ledger; waited {waited_s} s for {})", LOCK_FILE)]
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
/// if missing. Every process that changes the suite or its ledger takes it. Holding
/// it, the temporary files killed writers left in the suite are removed (see
/// [`remove_stale_temps`]).
pub fn lock(dir: &Path, timeout: Duration) -> Result<SuiteLock, StoreError> {
    let lock = SuiteLock { _lock: FileLock::acquire(&dir.join(LOCK_FILE), timeout)? };
    remove_stale_temps(dir);
    Ok(lock)
}

/// Remove, in the whole suite tree, the temporary files whose writer is gone (a
/// staging file of a killed `promote` or `tiers --apply`, a ledger or index
/// rewrite): every name [`fsutil::remove_stale_temps`] recognises, ownerless legacy
/// `.tmpXXXXXX` files included once they are old. Symlinked folders are not entered.
pub fn remove_stale_temps(dir: &Path) -> Vec<PathBuf> {
    let mut removed = fsutil::remove_stale_temps(dir, None, true);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                removed.extend(remove_stale_temps(&entry.path()));
            }
        }
    }
    removed
}

/// A file a batch changes: its new text, and what to restore on failure.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The new text.
    pub text: String,
    /// The bytes before (None: the file is new).
    pub original: Option<Vec<u8>>,
}

/// Stage every file, then rename them all into place; on a failure, put back what
/// was replaced and remove what was created. Every path is checked to stay inside
/// `dir` without passing through a symlink before anything is written. A staging
/// file is named after its target and this process ([`fsutil::temp_for`]), so one a
/// kill left behind is removed by the next [`lock`].
pub fn commit(dir: &Path, pending: &BTreeMap<PathBuf, Pending>) -> Result<(), StoreError> {
    let targets: Vec<(PathBuf, &Pending)> = pending.iter().map(|(rel, p)| Ok((fsutil::confined(dir, rel)?, p))).collect::<Result<_, FsError>>()?;
    let mut staged: Vec<(tempfile::NamedTempFile, PathBuf)> = Vec::new();
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    let remove_dirs = |created_dirs: &[PathBuf]| {
        for d in created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    };
    for (target, p) in targets {
        let parent = target.parent().unwrap_or(dir).to_path_buf();
        if !parent.exists() {
            if let Err(e) = std::fs::create_dir_all(&parent) {
                drop(staged);
                remove_dirs(&created_dirs);
                return Err(StoreError::Io { path: parent, source: e });
            }
            created_dirs.push(parent.clone());
        }
        let written = fsutil::temp_for(&target).and_then(|mut f| {
            f.write_all(p.text.as_bytes())?;
            f.as_file().sync_all()?;
            Ok(f)
        });
        match written {
            Ok(f) => staged.push((f, target)),
            Err(e) => {
                drop(staged);
                remove_dirs(&created_dirs);
                return Err(StoreError::Io { path: target, source: e });
            }
        }
    }
    let mut done: Vec<PathBuf> = Vec::new();
    let mut staged = staged.into_iter();
    while let Some((tmp, target)) = staged.next() {
        if let Err(e) = tmp.persist(&target) {
            // Undo the renames already done, newest first; the rest of the staged
            // files are removed when dropped.
            for done in done.iter().rev() {
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
            drop(staged);
            remove_dirs(&created_dirs);
            return Err(StoreError::Io { path: target, source: e.error });
        }
        done.push(target);
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
        pending.insert(PathBuf::from("m/ok.toml"), Pending { text: "x".into(), original: None });
        pending.insert(PathBuf::from("../../ratchet.toml"), Pending { text: "pwned".into(), original: None });
        assert!(matches!(commit(&suite, &pending), Err(StoreError::Confined(FsError::Escape { .. }))));
        assert!(!suite.join("m").exists());
        assert!(!dir.path().join("ratchet.toml").exists());
    }
}
