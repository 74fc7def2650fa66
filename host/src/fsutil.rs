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

/// A temporary file in `dir` to be renamed over an output: created like
/// `std::fs::write` creates files, 0666 minus the umask (tempfile's own default, 0600,
/// would leave reports and event files unreadable to a web server or another CI user).
pub fn temp_file_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir)
}

/// Write `contents` to `path` atomically (temporary file in the same directory, then
/// rename), or directly when `path` is a device, FIFO or symlink (see [`replaceable`]).
/// For outputs the user names; files ratchet names itself go through [`write_confined`].
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if !replaceable(path) {
        return std::fs::OpenOptions::new().write(true).open(path)?.write_all(contents);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = temp_file_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
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
    fn a_lock_is_exclusive_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".lock");
        let held = FileLock::acquire(&path, Duration::ZERO).unwrap();
        assert!(matches!(FileLock::acquire(&path, Duration::from_millis(50)), Err(FsError::Locked { .. })));
        drop(held);
        FileLock::acquire(&path, Duration::ZERO).unwrap();
    }
}
