//! Changing the suite on disk: one writer at a time, all-or-nothing batches,
//! edits that keep a scenario file's comments, and names that cannot leave the
//! suite directory. `promote` and `tiers` write through here.
//!
//! A batch is all-or-nothing even when the process is killed (kill -9, OOM, power
//! cut) in the middle: every file is first staged beside its target and synced,
//! then a journal listing the renames ([`JOURNAL_FILE`]) is written atomically —
//! the commit point — then the renames are done and the journal removed. Killed
//! before the journal exists, the suite is untouched and the staged files are stale
//! temporary files; killed after, the next process that takes the lock (every
//! writer, and every reader that finds a journal, see [`crate::suite::load`])
//! finishes the renames. Either way the suite is the old or the new state.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml_edit::{value, ArrayOfTables, Item, Table};

use crate::fsutil::{self, FileLock, FsError};

/// The lock file inside the suite directory.
pub const LOCK_FILE: &str = ".ratchet.lock";

/// The journal of a batch being committed, inside the suite directory: present only
/// between "every file staged" and "every file renamed into place".
pub const JOURNAL_FILE: &str = ".ratchet-commit.json";

/// What [`JOURNAL_FILE`] holds: the renames of one batch, staged file to target,
/// both relative to the suite, then the files the batch removes (a scenario whose
/// cluster another file now holds).
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    renames: Vec<(PathBuf, PathBuf)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    removals: Vec<PathBuf>,
}

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
    // First finish a batch a killed writer had committed (its staged files are
    // needed), then remove what is left of batches that never got that far.
    recover(dir)?;
    remove_stale_temps(dir);
    Ok(lock)
}

/// Whether a killed writer left a committed batch unfinished (a journal).
pub fn needs_recovery(dir: &Path) -> bool {
    std::fs::symlink_metadata(dir.join(JOURNAL_FILE)).is_ok()
}

/// Finish the renames of a batch whose writer was killed after its commit point
/// (see the module doc); the caller holds the lock. Every path in the journal must
/// stay in the suite, and every staged file must be a temporary file beside its
/// target: a planted journal cannot move anything else. Returns whether there was
/// a journal.
fn recover(dir: &Path) -> Result<bool, StoreError> {
    let path = fsutil::confined(dir, Path::new(JOURNAL_FILE))?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(StoreError::Io { path, source }),
    };
    let bad = |message: String| StoreError::Edit {
        file: path.clone(),
        message: format!("{message}; the unfinished batch cannot be completed: check the suite, then remove this file"),
    };
    let journal: Journal = serde_json::from_str(&text).map_err(|e| bad(format!("not a commit journal ({e})")))?;
    let mut renames = Vec::new();
    let removals: Vec<PathBuf> = journal.removals.iter().map(|r| fsutil::confined(dir, r)).collect::<Result<_, FsError>>()?;
    for (staged, target) in &journal.renames {
        let ok = staged.parent() == target.parent() && staged.file_name().and_then(|n| n.to_str()).is_some_and(fsutil::is_temp_name);
        if !ok {
            return Err(bad(format!("`{}` is not a staged file beside `{}`", staged.display(), target.display())));
        }
        renames.push((fsutil::confined(dir, staged)?, fsutil::confined(dir, target)?));
    }
    for (staged, target) in renames {
        match std::fs::rename(&staged, &target) {
            Ok(()) => {}
            // Renamed before the kill.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(StoreError::Io { path: target, source }),
        }
    }
    remove_files(dir, &removals)?;
    std::fs::remove_file(&path).map_err(|source| StoreError::Io { path, source })?;
    Ok(true)
}

/// Remove the files a batch drops (gone already is fine), and a folder each leaves empty.
fn remove_files(dir: &Path, removals: &[PathBuf]) -> Result<(), StoreError> {
    for target in removals {
        match std::fs::remove_file(target) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(StoreError::Io { path: target.clone(), source }),
        }
        if let Some(parent) = target.parent().filter(|p| *p != dir) {
            let _ = std::fs::remove_dir(parent);
        }
    }
    Ok(())
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

/// A file a batch changes: its new text (or its removal), and what to restore on failure.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The new text (ignored when `remove`).
    pub text: String,
    /// The bytes before (None: the file is new).
    pub original: Option<Vec<u8>>,
    /// Remove the file (a scenario whose cluster another file of the batch now holds).
    pub remove: bool,
}

impl Pending {
    /// Write `text` (a new file when `original` is None).
    pub fn write(text: String, original: Option<Vec<u8>>) -> Pending {
        Pending { text, original, remove: false }
    }
}

/// Stage every file, write the journal (the commit point), rename them all into
/// place, remove the files the batch drops, remove the journal (see the module doc);
/// on a failure before the commit point nothing changes, on a failure while renaming
/// what was replaced is put back and what was created removed (removals come after
/// every rename: a failed one leaves an extra file, never a missing one). Every path is checked to stay inside `dir` without
/// passing through a symlink before anything is written. A staging file is named
/// after its target and this process ([`fsutil::temp_for`]), so one a kill left
/// behind is removed by the next [`lock`]. The caller holds the lock.
pub fn commit(dir: &Path, pending: &BTreeMap<PathBuf, Pending>) -> Result<(), StoreError> {
    let all: Vec<(PathBuf, &Path, &Pending)> =
        pending.iter().map(|(rel, p)| Ok((fsutil::confined(dir, rel)?, rel.as_path(), p))).collect::<Result<_, FsError>>()?;
    let removals: Vec<(PathBuf, &Path)> = all.iter().filter(|(_, _, p)| p.remove).map(|(t, rel, _)| (t.clone(), *rel)).collect();
    let targets: Vec<(PathBuf, &Path, &Pending)> = all.into_iter().filter(|(_, _, p)| !p.remove).collect();
    let journal_path = fsutil::confined(dir, Path::new(JOURNAL_FILE))?;
    // (staged file, target, target relative to the suite)
    let mut staged: Vec<(PathBuf, PathBuf, &Path)> = Vec::new();
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    let abandon = |staged: &[(PathBuf, PathBuf, &Path)], created_dirs: &[PathBuf]| {
        for (tmp, _, _) in staged {
            let _ = std::fs::remove_file(tmp);
        }
        for d in created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    };
    for (target, rel, p) in targets {
        let parent = target.parent().unwrap_or(dir).to_path_buf();
        if !parent.exists() {
            if let Err(e) = std::fs::create_dir_all(&parent) {
                abandon(&staged, &created_dirs);
                return Err(StoreError::Io { path: parent, source: e });
            }
            created_dirs.push(parent.clone());
        }
        let written = fsutil::temp_for(&target).and_then(|mut f| {
            f.write_all(p.text.as_bytes())?;
            f.as_file().sync_all()?;
            f.keep().map(|(_, path)| path).map_err(|e| e.error)
        });
        match written {
            Ok(tmp) => staged.push((tmp, target, rel)),
            Err(e) => {
                abandon(&staged, &created_dirs);
                return Err(StoreError::Io { path: target, source: e });
            }
        }
    }
    let journal = Journal {
        renames: staged
            .iter()
            .map(|(tmp, _, rel)| (rel.parent().unwrap_or(Path::new("")).join(tmp.file_name().expect("a temporary file has a name")), rel.to_path_buf()))
            .collect(),
        removals: removals.iter().map(|(_, rel)| rel.to_path_buf()).collect(),
    };
    if let Err(e) = fsutil::write_confined(dir, Path::new(JOURNAL_FILE), serde_json::to_string(&journal).expect("json").as_bytes()) {
        abandon(&staged, &created_dirs);
        return Err(e.into());
    }
    for (i, (tmp, target, _)) in staged.iter().enumerate() {
        if let Err(e) = std::fs::rename(tmp, target) {
            // Not committed after all: drop the journal first (a kill from here on
            // must not finish the batch), then undo the renames already done,
            // newest first, and remove the rest of the staged files.
            let _ = std::fs::remove_file(&journal_path);
            for (_, done, rel) in staged[..i].iter().rev() {
                match pending.get(*rel).and_then(|p| p.original.as_ref()) {
                    Some(bytes) => {
                        let _ = fsutil::write_atomic(done, bytes);
                    }
                    None => {
                        let _ = std::fs::remove_file(done);
                    }
                }
            }
            abandon(&staged[i..], &created_dirs);
            return Err(StoreError::Io { path: target.clone(), source: e });
        }
    }
    remove_files(dir, &removals.into_iter().map(|(t, _)| t).collect::<Vec<_>>())?;
    std::fs::remove_file(&journal_path).map_err(|source| StoreError::Io { path: journal_path, source })?;
    Ok(())
}

/// A scenario document whose `history` is not an array of tables, so no entry can be
/// appended to it.
#[derive(Debug, thiserror::Error)]
#[error("`history` is not an array of tables ([[history]])")]
pub struct HistoryNotATable;

/// Append a `[[history]]` entry to a scenario document being edited in place (what
/// promote merges and tier moves record).
pub fn push_history(root: &mut Table, at: &str, action: &str, detail: &str) -> Result<(), HistoryNotATable> {
    if !root.contains_key("history") {
        root.insert("history", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    let history = root.get_mut("history").and_then(Item::as_array_of_tables_mut).ok_or(HistoryNotATable)?;
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

    /// A staged file as a killed writer (pid beyond pid_max: gone) leaves it.
    fn staged(dir: &Path, target: &str, tag: &str, text: &str) -> String {
        let name = format!(".{target}.4294967.{tag}.tmp");
        std::fs::write(dir.join(&name), text).unwrap();
        name
    }

    #[test]
    fn a_batch_killed_after_its_journal_is_finished_by_the_next_lock() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.toml"), "new a").unwrap(); // renamed before the kill
        std::fs::write(d.join("b.toml"), "old b").unwrap();
        let b = staged(d, "b.toml", "bbbbbb", "new b");
        let a = ".a.toml.4294967.aaaaaa.tmp";
        let journal = serde_json::json!({"renames": [[a, "a.toml"], [b, "b.toml"]]});
        std::fs::write(d.join(JOURNAL_FILE), journal.to_string()).unwrap();
        assert!(needs_recovery(d));
        drop(lock(d, Duration::ZERO).unwrap());
        assert_eq!(std::fs::read_to_string(d.join("a.toml")).unwrap(), "new a");
        assert_eq!(std::fs::read_to_string(d.join("b.toml")).unwrap(), "new b");
        let mut left: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left, [LOCK_FILE, "a.toml", "b.toml"]);
    }

    #[test]
    fn a_batch_killed_before_its_journal_leaves_the_suite_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("m")).unwrap();
        std::fs::write(d.join("m/a.toml"), "old a").unwrap();
        staged(&d.join("m"), "a.toml", "aaaaaa", "new a");
        std::fs::write(d.join("m/.x.toml.promote.4294967.tmp"), "older staging name").unwrap();
        drop(lock(d, Duration::ZERO).unwrap());
        assert_eq!(std::fs::read_to_string(d.join("m/a.toml")).unwrap(), "old a");
        assert_eq!(std::fs::read_dir(d.join("m")).unwrap().count(), 1, "staged files removed");
    }

    #[test]
    fn a_planted_journal_moves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let suite = dir.path().join("suite");
        std::fs::create_dir(&suite).unwrap();
        std::fs::write(dir.path().join("ratchet.toml"), "mine").unwrap();
        std::fs::write(suite.join("a.toml"), "a").unwrap();
        let t = staged(&suite, "a.toml", "aaaaaa", "x");
        for renames in [
            serde_json::json!([[t, "../ratchet.toml"]]),
            serde_json::json!([["a.toml", "b.toml"]]),
            serde_json::json!([["../ratchet.toml", "a.toml"]]),
            serde_json::json!("nonsense"),
        ] {
            std::fs::write(suite.join(JOURNAL_FILE), serde_json::json!({"renames": renames}).to_string()).unwrap();
            let e = lock(&suite, Duration::ZERO).unwrap_err();
            assert!(e.to_string().contains(JOURNAL_FILE) || matches!(e, StoreError::Confined(_)), "{e}");
            assert_eq!(std::fs::read_to_string(dir.path().join("ratchet.toml")).unwrap(), "mine");
            assert_eq!(std::fs::read_to_string(suite.join("a.toml")).unwrap(), "a");
        }
    }

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
