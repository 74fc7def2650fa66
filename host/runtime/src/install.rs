//! What is installed with ratchet besides the binary: the **shipped plugin
//! components**, so a project can name one (`path = "builtin:adapter-openai-chat"`)
//! instead of copying it in, and every load checks the component against the digest
//! the install recorded.
//!
//! The data directory holds `plugins/manifest.json` (`{"format": 1, "plugins":
//! {NAME: {"file": "NAME.wasm", "sha256": HEX}}}`) beside the components. It is found,
//! in this order:
//! 1. `$RATCHET_DATA_DIR` (alone, when set);
//! 2. `<prefix>/share/ratchet` for a binary at `<prefix>/bin/ratchet` (what
//!    `scripts/dist`'s archive lays out);
//! 3. for a development build that runs from its checkout's `target/` (`cargo run`,
//!    the tests), that `target/`, where `scripts/build-plugins` writes the same
//!    manifest into `target/plugins/`.
//!
//! A builtin name is a plain name (letters, digits, dashes), looked up in the
//! manifest: it can never name a path, so project confinement is untouched — the
//! component is read from the install, and only from there.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The prefix of a `[plugins]` path that names a shipped component.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// The manifest's file name, inside `<data dir>/plugins/`.
pub const MANIFEST: &str = "manifest.json";

/// Why a shipped component could not be resolved or read.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// No data directory with a plugin manifest was found.
    #[error(
        "builtin:{name}: no ratchet install with shipped plugins found (looked for plugins/{MANIFEST} in: {}); install ratchet from its release archive (scripts/dist), set RATCHET_DATA_DIR, or in a checkout run scripts/build-plugins",
        .searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NotInstalled {
        /// The name asked for.
        name: String,
        /// Every data directory that was tried.
        searched: Vec<PathBuf>,
    },
    /// The name is not a plain plugin name.
    #[error("builtin:{0}: not a builtin plugin name (lower-case letters, digits and dashes, e.g. builtin:adapter-openai-chat)")]
    BadName(String),
    /// The install ships no component of that name.
    #[error("builtin:{name}: no such shipped plugin in {manifest}; shipped: {}", .available.join(", "))]
    Unknown {
        /// The name asked for.
        name: String,
        /// The manifest read.
        manifest: PathBuf,
        /// The names it lists.
        available: Vec<String>,
    },
    /// The manifest does not parse.
    #[error("{path}: not a ratchet plugin manifest: {reason}")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The component's bytes are not the ones the install recorded.
    #[error(
        "builtin:{name}: {file}: sha256 {actual} differs from {expected} recorded in the install's manifest (a damaged or modified install: reinstall ratchet)"
    )]
    Digest {
        /// The name asked for.
        name: String,
        /// The component file.
        file: PathBuf,
        /// The digest the manifest records.
        expected: String,
        /// The digest of the bytes read.
        actual: String,
    },
    /// Reading a file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// One shipped component, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipped {
    /// Its builtin name (`builtin:NAME`).
    pub name: String,
    /// The component file.
    pub file: PathBuf,
    /// Its sha256, lower-case hex.
    pub sha256: String,
}

/// The data directories tried, in order (see the module docs): `$RATCHET_DATA_DIR`
/// alone when it is set; else the install's `share/ratchet`, and for a binary that
/// lives in its checkout's `target/` (a development build), that `target/`. An
/// installed binary never reaches back into the checkout it was built from.
pub fn candidates() -> Vec<PathBuf> {
    if let Some(d) = std::env::var_os("RATCHET_DATA_DIR").filter(|d| !d.is_empty()) {
        return vec![PathBuf::from(d)];
    }
    let mut out = Vec::new();
    let exe = std::env::current_exe().ok().map(|e| e.canonicalize().unwrap_or(e));
    if let Some(prefix) = exe.as_deref().and_then(Path::parent).and_then(Path::parent) {
        out.push(prefix.join("share").join("ratchet"));
    }
    // This crate is `host/runtime` in the checkout: the workspace is two levels up.
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
    let target = checkout.canonicalize().unwrap_or(checkout).join("target");
    if exe.is_some_and(|e| e.starts_with(&target)) {
        out.push(target);
    }
    out
}

/// The first of [`candidates`] holding a plugin manifest.
pub fn data_dir() -> Option<PathBuf> {
    candidates().into_iter().find(|d| d.join("plugins").join(MANIFEST).is_file())
}

/// True when `path` (a `[plugins]` path as written) names a shipped component.
pub fn is_builtin(path: &Path) -> bool {
    path.to_str().is_some_and(|s| s.starts_with(BUILTIN_PREFIX))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Every component the manifest of `data_dir` lists, sorted by name.
pub fn shipped(data_dir: &Path) -> Result<Vec<Shipped>, InstallError> {
    let path = data_dir.join("plugins").join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|source| InstallError::Io { path: path.clone(), source })?;
    let bad = |reason: String| InstallError::Manifest { path: path.clone(), reason };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if v["format"] != 1 {
        return Err(bad(format!("`format` is {}, expected 1", v["format"])));
    }
    let plugins = v["plugins"].as_object().ok_or_else(|| bad("`plugins` is not an object".into()))?;
    let mut out = Vec::new();
    for (name, p) in plugins {
        let file = p["file"].as_str().ok_or_else(|| bad(format!("plugins.{name}.file is not a string")))?;
        let sha = p["sha256"].as_str().ok_or_else(|| bad(format!("plugins.{name}.sha256 is not a string")))?;
        // The file is a plain name in the plugins directory: a manifest cannot point elsewhere.
        if !valid_name(name) || file.contains(['/', '\\']) || file.starts_with('.') || sha.len() != 64 || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad(format!("plugins.{name}: a name, a file name in the same directory and a sha256 are expected")));
        }
        out.push(Shipped { name: name.clone(), file: data_dir.join("plugins").join(file), sha256: sha.to_ascii_lowercase() });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Reads the shipped component `name` (without the `builtin:` prefix) from the
/// install, checked against the manifest's digest; returns its bytes and file.
pub fn read_builtin(name: &str) -> Result<(Vec<u8>, PathBuf), InstallError> {
    if !valid_name(name) {
        return Err(InstallError::BadName(name.to_string()));
    }
    let dir = data_dir().ok_or_else(|| InstallError::NotInstalled { name: name.to_string(), searched: candidates() })?;
    let list = shipped(&dir)?;
    let s = list.iter().find(|s| s.name == name).ok_or_else(|| InstallError::Unknown {
        name: name.to_string(),
        manifest: dir.join("plugins").join(MANIFEST),
        available: list.iter().map(|s| s.name.clone()).collect(),
    })?;
    let bytes = std::fs::read(&s.file).map_err(|source| InstallError::Io { path: s.file.clone(), source })?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != s.sha256 {
        return Err(InstallError::Digest { name: name.to_string(), file: s.file.clone(), expected: s.sha256.clone(), actual });
    }
    Ok((bytes, s.file.clone()))
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_development_build_finds_its_workspace_target() {
        if std::env::var_os("RATCHET_DATA_DIR").is_some() {
            return; // the variable alone decides; nothing else to check
        }
        // This test binary is a development build in the workspace's target/ (the
        // one holding Cargo.lock), whatever crate directory it was compiled in.
        let target = candidates().pop().expect("a candidate");
        assert!(target.ends_with("target"), "{}", target.display());
        assert!(target.join("..").join("Cargo.lock").is_file(), "{} is not the workspace's target/", target.display());
    }

    use super::*;

    #[test]
    fn names_cannot_be_paths() {
        for bad in ["", "../x", "a/b", "A", "x.wasm", "-x"] {
            assert!(matches!(read_builtin(bad), Err(InstallError::BadName(_))), "{bad}");
        }
        assert!(is_builtin(Path::new("builtin:adapter-openai-chat")));
        assert!(!is_builtin(Path::new("target/plugins/x.wasm")));
    }

    #[test]
    fn a_manifest_cannot_point_outside_its_directory() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("plugins")).unwrap();
        let sha = "0".repeat(64);
        std::fs::write(d.path().join("plugins").join(MANIFEST), format!(r#"{{"format":1,"plugins":{{"x":{{"file":"../../etc/passwd","sha256":"{sha}"}}}}}}"#))
            .unwrap();
        let e = shipped(d.path()).unwrap_err().to_string();
        assert!(e.contains("plugins.x") && e.contains("manifest.json"), "{e}");
        std::fs::write(d.path().join("plugins").join(MANIFEST), format!(r#"{{"format":1,"plugins":{{"x":{{"file":"x.wasm","sha256":"{sha}"}}}}}}"#)).unwrap();
        assert_eq!(shipped(d.path()).unwrap()[0].file, d.path().join("plugins/x.wasm"));
    }
}
