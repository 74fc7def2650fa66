//! Files a project names — plugin components, directories granted to plugins — are
//! opened *inside* the project root with cap-std: `../` escapes, absolute paths
//! and symlinks pointing out of the root are refused, not followed. A plugin path
//! `builtin:NAME` is not a project path: it names a component shipped with ratchet,
//! read from the install and checked against its digest ([`crate::install`]).

use std::io::Read;
use std::path::Path;

use cap_std::ambient_authority;
use cap_std::fs::Dir;

/// Why a project path was refused or could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// The project root itself cannot be opened.
    #[error("cannot open project root {root}: {source}")]
    Root {
        /// The root.
        root: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path leaves the project root (`..`, absolute, or a symlink out).
    #[error("{path}: refused: the path leaves the project root {root} (`..`, an absolute path, or a symlink pointing outside)")]
    Escape {
        /// The offending path.
        path: String,
        /// The root.
        root: String,
    },
    /// A `builtin:NAME` component could not be resolved, read or verified.
    #[error(transparent)]
    Builtin(#[from] crate::install::InstallError),
    /// The file is missing or unreadable.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Read `relative` (a path inside `root`) with capability-based confinement.
pub fn read_in_root(root: &Path, relative: &Path) -> Result<Vec<u8>, PathError> {
    let dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(|source| PathError::Root { root: root.display().to_string(), source })?;
    let shown = relative.display().to_string();
    if relative.is_absolute() {
        return Err(PathError::Escape { path: shown, root: root.display().to_string() });
    }
    let mut file = dir.open(relative).map_err(|source| classify(source, &shown, root))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|source| PathError::Io { path: shown, source })?;
    Ok(bytes)
}

/// Read a plugin component named by a `[plugins]` path: `builtin:NAME` from the
/// install (digest-checked), anything else inside `root` ([`read_in_root`]).
pub fn read_component(root: &Path, path: &Path) -> Result<Vec<u8>, PathError> {
    match path.to_str().and_then(|s| s.strip_prefix(crate::install::BUILTIN_PREFIX)) {
        Some(name) => Ok(crate::install::read_builtin(name)?.0),
        None => read_in_root(root, path),
    }
}

/// Check that `relative` names a directory inside `root`, returning it opened.
pub fn open_dir_in_root(root: &Path, relative: &Path) -> Result<Dir, PathError> {
    let dir = Dir::open_ambient_dir(root, ambient_authority()).map_err(|source| PathError::Root { root: root.display().to_string(), source })?;
    let shown = relative.display().to_string();
    if relative.is_absolute() {
        return Err(PathError::Escape { path: shown, root: root.display().to_string() });
    }
    dir.open_dir(relative).map_err(|source| classify(source, &shown, root))
}

fn classify(source: std::io::Error, path: &str, root: &Path) -> PathError {
    // cap-std reports an escape attempt as PermissionDenied ("a path led outside of the filesystem").
    if source.kind() == std::io::ErrorKind::PermissionDenied && source.to_string().contains("outside") {
        PathError::Escape { path: path.to_string(), root: root.display().to_string() }
    } else {
        PathError::Io { path: path.to_string(), source }
    }
}
