//! Writing files so that nothing is lost or half-written, and nothing lands outside
//! the directory it belongs to. The bottom layer: it knows nothing of ratchet's
//! formats, and every other module writes through it.
//!
//! * [`write_atomic`] — an output the user named (`--out`, `--junit`): written to a
//!   temporary file beside it and renamed into place, so a crash never leaves half a
//!   file; devices and FIFOs (`/dev/stdout`) are written in place.
//! * [`confined`] / [`write_confined`] — a file ratchet derives a name for inside a
//!   directory it manages (a scenario file from its id, a ticket, the ledger, a model
//!   recording): the relative path may not be absolute, contain `..`, or pass through
//!   a symlink, so a hostile id or a planted symlink cannot write elsewhere.
//! * [`FileLock`] — an exclusive OS lock on a file (released when the process dies),
//!   what serialises writers of one suite.
//! * [`temp_for`] / [`remove_stale_temps`] — temporary files carry their writer's
//!   pid in their name, so the next run writing the same file (or holding the suite)
//!   removes what a killed run left behind, and only that.

use std::fs::File;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a file could not be written or locked where it was asked to be.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The relative path is absolute, has a `..`, or is empty: it would leave its directory.
    #[error("{path}: refused: the path leaves {root} (an absolute path, `..`, or an empty name)")]
    Escape {
        /// The offending relative path.
        path: String,
        /// The directory it must stay in.
        root: String,
    },
    /// A component of the path (or the file itself) is a symlink: following it could write anywhere.
    #[error("{path}: refused: it is a symlink, and ratchet does not write through symlinks inside {root}")]
    Symlink {
        /// The symlink.
        path: String,
        /// The directory being written in.
        root: String,
    },
    /// Another process held the lock for longer than the timeout.
    #[error("{path}: locked by another ratchet process (waited {waited_s} s)")]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited_s: u64,
    },
    /// The OS refused.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

impl FsError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FsError + '_ {
        move |source| FsError::Io { path: path.to_path_buf(), source }
    }
}

/// Whether `path` may be replaced by renaming a temporary file over it: it does not
/// exist yet, or is a regular file. Devices, FIFOs and symlinks (`/dev/null`,
/// `/dev/stdout`, a named pipe) are written in place instead — renaming over them
/// would replace the device itself.
pub fn replaceable(path: &Path) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(m) => m.file_type().is_file(),
        Err(_) => true,
    }
}

/// How old a temporary file without an owner in its name (tempfile's `.tmpXXXXXX`,
/// written by ratchet before temporary names carried the writer's pid) must be before
/// a run holding its directory removes it: no write of ours takes that long.
pub const LEGACY_TEMP_AGE: Duration = Duration::from_secs(3600);

/// A temporary file to be renamed over `target`, in the same directory: named
/// `.{name}.{pid}.{random}.tmp` (so a later run can tell whose it is and whether that
/// process is gone, see [`remove_stale_temps`]), created like `std::fs::write`
/// creates files, 0666 minus the umask (tempfile's own default, 0600, would leave
/// reports and event files unreadable to a web server or another CI user).
/// Temporary files of the same target left by a killed run are removed first.
pub fn temp_for(target: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = parent_dir(target);
    let name = temp_stem(&target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into()));
    remove_stale_temps(dir, Some(&name), false);
    let prefix = format!(".{name}.{}.", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp").rand_bytes(6);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}

/// The part of a target's name its temporary files carry: at most 200 bytes, so
/// `.{stem}.{pid}.{random}.tmp` stays within the 255 bytes a file name may have.
fn temp_stem(name: &str) -> String {
    let mut end = name.len().min(200);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// The directory a file is in (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Who wrote a temporary file, read from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TempOwner {
    /// `.{name}.{pid}.{random}.tmp` ([`temp_for`]) or `.{name}.promote.{pid}.tmp`
    /// (the suite's staging files before they were made by [`temp_for`]).
    Pid(u32),
    /// `.tmpXXXXXX`: tempfile's default name, no owner recorded.
    Unknown,
}

/// Whether `name` is one of ratchet's temporary files, and whose (see [`TempOwner`]).
fn temp_owner(name: &str) -> Option<TempOwner> {
    let inner = name.strip_prefix('.')?;
    if let Some(rand) = inner.strip_prefix("tmp") {
        if rand.len() == 6 && rand.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Some(TempOwner::Unknown);
        }
    }
    let inner = inner.strip_suffix(".tmp")?;
    let pid = |s: &str| (!s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse::<u32>().ok()).flatten();
    let (rest, last) = inner.rsplit_once('.')?;
    // `.{name}.promote.{pid}.tmp`
    if let (Some(p), Some(stem)) = (pid(last), rest.strip_suffix(".promote")) {
        return (!stem.is_empty()).then_some(TempOwner::Pid(p));
    }
    // `.{name}.{pid}.{random}.tmp`
    let (stem, p) = rest.rsplit_once('.')?;
    (last.len() == 6 && last.bytes().all(|b| b.is_ascii_alphanumeric()) && !stem.is_empty()).then_some(())?;
    pid(p).map(TempOwner::Pid)
}

/// Whether `name` is a temporary file name ratchet writes or wrote ([`temp_for`],
/// the suite's older staging files, tempfile's default names).
pub fn is_temp_name(name: &str) -> bool {
    temp_owner(name).is_some()
}

/// Whether process `pid` is alive on this host (ours counts as alive: its temporary
/// files may be in use by another thread).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        let Ok(p) = libc::pid_t::try_from(pid) else { return false };
        if p <= 0 {
            return false;
        }
        // SAFETY: signal 0 only checks that the process exists and may be signalled.
        let r = unsafe { libc::kill(p, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// Remove the temporary files a killed ratchet run left in `dir` (not recursive):
/// only ratchet's own names (see [`temp_for`]), of `target` when given, and only
/// stale ones — the process named in the file name is gone (a live pid, even a
/// reused one, keeps the file) or, with `legacy`, an ownerless `.tmpXXXXXX` older
/// than [`LEGACY_TEMP_AGE`] (only in directories ratchet manages: the suite, the
/// cache). Symlinks and directories are never touched. Best effort: returns what
/// was removed.
pub fn remove_stale_temps(dir: &Path, target: Option<&str>, legacy: bool) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return removed };
    let prefix = target.map(|t| format!(".{}.", temp_stem(t)));
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if prefix.as_deref().is_some_and(|p| !name.starts_with(p)) {
            continue;
        }
        let Some(owner) = temp_owner(name) else { continue };
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.file_type().is_file() {
            continue;
        }
        let stale = match owner {
            TempOwner::Pid(pid) => !process_alive(pid),
            TempOwner::Unknown => legacy && meta.modified().ok().and_then(|m| m.elapsed().ok()).is_some_and(|age| age >= LEGACY_TEMP_AGE),
        };
        if stale && std::fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed
}

/// Write `contents` to `path` atomically (temporary file in the same directory, then
/// rename), or directly when `path` is a device, FIFO or symlink (see [`replaceable`]).
/// For outputs the user names; files ratchet names itself go through [`write_confined`].
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if !replaceable(path) {
        return std::fs::OpenOptions::new().write(true).open(path)?.write_all(contents);
    }
    std::fs::create_dir_all(parent_dir(path))?;
    let mut tmp = temp_for(path)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Check, before a long run, that [`write_atomic`] will be able to write `path` when
/// the run ends: it is not a directory, its directory exists (created if missing)
/// and a temporary file can be created there (one is, and removed). A device, FIFO
/// or symlink the user named is written in place and is not probed.
pub fn check_writable(path: &Path) -> Result<(), FsError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(FsError::Io { path: path.to_path_buf(), source: std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory") })
        }
        Ok(_) if !replaceable(path) => return Ok(()),
        _ => {}
    }
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir).map_err(FsError::io(dir))?;
    temp_for(path).map(drop).map_err(FsError::io(dir))
}

/// `root/relative`, checked to stay inside `root`: `relative` must be a non-empty
/// relative path of plain names (no `..`, no `/` prefix), and no part of it that
/// exists may be a symlink (the file itself included). Parts that do not exist yet
/// are fine: they will be created as plain directories and files.
pub fn confined(root: &Path, relative: &Path) -> Result<PathBuf, FsError> {
    let escape = || FsError::Escape { path: relative.display().to_string(), root: root.display().to_string() };
    let mut parts = Vec::new();
    for c in relative.components() {
        match c {
            Component::Normal(name) => parts.push(name),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return Err(escape()),
        }
    }
    if parts.is_empty() {
        return Err(escape());
    }
    let mut path = root.to_path_buf();
    for name in parts {
        path.push(name);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(FsError::Symlink { path: path.display().to_string(), root: root.display().to_string() });
            }
            Ok(_) => {}
            // Missing from here on: nothing below can be a symlink yet.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(root.join(relative)),
            Err(e) => return Err(FsError::Io { path, source: e }),
        }
    }
    Ok(path)
}

/// Write `contents` to `root/relative` atomically, refusing paths that leave `root`
/// or pass through a symlink (see [`confined`]); missing directories are created.
pub fn write_confined(root: &Path, relative: &Path, contents: &[u8]) -> Result<PathBuf, FsError> {
    let path = confined(root, relative)?;
    if let Ok(m) = std::fs::symlink_metadata(&path) {
        if !m.file_type().is_file() {
            return Err(FsError::Io {
                path,
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "exists and is not a regular file (a directory, device or FIFO)"),
            });
        }
    }
    write_atomic(&path, contents).map_err(FsError::io(&path))?;
    Ok(path)
}

/// An exclusive lock on a file, held until dropped. The OS releases it when the
/// process dies, so a killed run never leaves the directory locked.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Take the lock on `path` (created if missing), waiting up to `timeout`.
    pub fn acquire(path: &Path, timeout: Duration) -> Result<FileLock, FsError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(FsError::io(dir))?;
        }
        if std::fs::symlink_metadata(path).is_ok_and(|m| !m.file_type().is_file()) {
            return Err(FsError::Symlink { path: path.display().to_string(), root: path.parent().unwrap_or(path).display().to_string() });
        }
        let file = File::options().create(true).truncate(false).write(true).open(path).map_err(FsError::io(path))?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FileLock { _file: file }),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < timeout => std::thread::sleep(Duration::from_millis(20)),
                Err(std::fs::TryLockError::WouldBlock) => return Err(FsError::Locked { path: path.to_path_buf(), waited_s: started.elapsed().as_secs() }),
                Err(std::fs::TryLockError::Error(e)) => return Err(FsError::Io { path: path.to_path_buf(), source: e }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confined_refuses_escapes_and_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for bad in ["../x.toml", "/etc/passwd", "a/../../x", "", "."] {
            assert!(matches!(confined(root, Path::new(bad)), Err(FsError::Escape { .. })), "{bad}");
        }
        assert_eq!(confined(root, Path::new("a/b.toml")).unwrap(), root.join("a/b.toml"));
        std::fs::create_dir(root.join("real")).unwrap();
        #[cfg(unix)]
        {
            let outside = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
            assert!(matches!(confined(root, Path::new("link/x.toml")), Err(FsError::Symlink { .. })));
            std::os::unix::fs::symlink(outside.path().join("f"), root.join("real/f.toml")).unwrap();
            assert!(matches!(write_confined(root, Path::new("real/f.toml"), b"x"), Err(FsError::Symlink { .. })));
            assert!(!outside.path().join("f").exists(), "nothing written through the symlink");
        }
        write_confined(root, Path::new("new/dir/x.toml"), b"ok").unwrap();
        assert_eq!(std::fs::read(root.join("new/dir/x.toml")).unwrap(), b"ok");
    }

    #[test]
    fn temp_names_say_whose_they_are() {
        assert_eq!(temp_owner(".ev.jsonl.123.aB3xYz.tmp"), Some(TempOwner::Pid(123)));
        assert_eq!(temp_owner(".x.toml.promote.4567.tmp"), Some(TempOwner::Pid(4567)));
        assert_eq!(temp_owner(".tmpAb12Cd"), Some(TempOwner::Unknown));
        for not_ours in ["ev.jsonl", ".ratchet.lock", ".ev.jsonl.123.tmp", ".tmpAb1", ".x.abc.aB3xYz.tmp", "..1.aB3xYz.tmp", ".git", ".ratchet-tiers-last.json"]
        {
            assert_eq!(temp_owner(not_ours), None, "{not_ours}");
        }
        let dir = tempfile::tempdir().unwrap();
        let t = temp_for(&dir.path().join("ev.jsonl")).unwrap();
        let name = t.path().file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(temp_owner(&name), Some(TempOwner::Pid(std::process::id())), "{name}");
        // A target with the longest name a file may have still gets a temporary file.
        let long = dir.path().join("é".repeat(127));
        write_atomic(&long, b"x").unwrap();
        assert_eq!(std::fs::read(&long).unwrap(), b"x");
    }

    #[test]
    fn only_stale_temps_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // A pid that cannot be alive (beyond pid_max) and our own (alive).
        let dead = ".ev.jsonl.4294967.aaaaaa.tmp";
        let mine = format!(".ev.jsonl.{}.bbbbbb.tmp", std::process::id());
        let other_target = ".report.json.4294967.cccccc.tmp";
        let legacy = ".tmpAb12Cd";
        for n in [dead, &mine, other_target, legacy, "keep.txt"] {
            std::fs::write(dir.path().join(n), "x").unwrap();
        }
        let removed = remove_stale_temps(dir.path(), Some("ev.jsonl"), false);
        assert_eq!(removed, vec![dir.path().join(dead)]);
        // A fresh ownerless file is kept even where legacy names are cleaned.
        let removed = remove_stale_temps(dir.path(), None, true);
        assert_eq!(removed, vec![dir.path().join(other_target)]);
        assert!(dir.path().join(&mine).exists() && dir.path().join(legacy).exists() && dir.path().join("keep.txt").exists());
    }

    #[test]
    fn a_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let held = FileLock::acquire(&path, Duration::ZERO).unwrap();
        assert!(matches!(FileLock::acquire(&path, Duration::from_millis(50)), Err(FsError::Locked { .. })));
        drop(held);
        FileLock::acquire(&path, Duration::ZERO).unwrap();
    }
}
