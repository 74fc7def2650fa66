//! What `ratchet plugin build` records beside a component (`NAME.wasm.source.json`):
//! the plugin directory it was built from and a digest of that directory's source
//! files. A plugin author edits `plugin.py`, forgets to rebuild, and runs the old
//! component: with the record, `ratchet plugin run`, `plugin inspect` and `detect`
//! say so instead of silently scoring with yesterday's logic.
//!
//! The record only speaks for the component it was written with (it carries that
//! component's sha256): a component rebuilt another way, or copied over, has no
//! valid record and gets no warning. Source files are the language's code and
//! manifests (`*.rs`, `*.py`, `*.js`, `*.mjs`, `*.cjs`, `*.ts`, `*.wit`, `Cargo.toml`,
//! `Cargo.lock`, `pyproject.toml`, `package.json`), not tests (`test_*.py`,
//! `*.test.js`), samples or docs, and nothing under `build/`, `target/`,
//! `node_modules/`, `__pycache__/` or a hidden directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The record's file name suffix, appended to the component's file name.
pub const SUFFIX: &str = ".source.json";

/// What a build recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildRecord {
    /// Format of this record (1).
    pub format: u32,
    /// The plugin directory, absolute.
    pub source: PathBuf,
    /// sha256 over the source files' relative paths and bytes, hex.
    pub source_sha256: String,
    /// sha256 of the component the build wrote, hex.
    pub component_sha256: String,
}

/// Where the record of `component` lives.
pub fn record_path(component: &Path) -> PathBuf {
    let mut name = component.file_name().unwrap_or_default().to_os_string();
    name.push(SUFFIX);
    component.with_file_name(name)
}

fn is_source(rel: &Path) -> bool {
    let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.starts_with("test_") || name.ends_with(".test.js") || name.ends_with(".test.mjs") {
        return false;
    }
    matches!(name, "Cargo.toml" | "Cargo.lock" | "pyproject.toml" | "package.json")
        || ["rs", "py", "js", "mjs", "cjs", "ts", "wit"].iter().any(|e| rel.extension().is_some_and(|x| x == *e))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if name.starts_with('.') || matches!(name.as_ref(), "build" | "target" | "node_modules" | "__pycache__" | "dist") {
                continue;
            }
            walk(root, &path, out)?;
        } else if kind.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
            if is_source(&rel) {
                out.push(rel);
            }
        }
    }
    Ok(())
}

/// The digest of `dir`'s source files (see the module docs), hex.
pub fn source_digest(dir: &Path) -> std::io::Result<String> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    let mut h = Sha256::new();
    for rel in files {
        let bytes = std::fs::read(dir.join(&rel))?;
        let name = rel.to_string_lossy();
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    Ok(hex::encode(h.finalize()))
}

/// Write the record of `component` (just built from `source`), atomically.
pub fn write(component: &Path, source: &Path) -> std::io::Result<BuildRecord> {
    let bytes = std::fs::read(component)?;
    let record = BuildRecord {
        format: 1,
        source: source.to_path_buf(),
        source_sha256: source_digest(source)?,
        component_sha256: hex::encode(Sha256::digest(&bytes)),
    };
    let text = serde_json::to_string_pretty(&record).expect("a record serialises") + "\n";
    crate::fsutil::write_atomic(&record_path(component), text.as_bytes()).map_err(std::io::Error::other)?;
    Ok(record)
}

/// Whether `component` (its `bytes`) is older than the source it was built from: a
/// one-line warning naming both and the command that rebuilds it, or `None` when it
/// is current, has no valid record, or its source is gone.
pub fn stale(component: &Path, bytes: &[u8]) -> Option<String> {
    let text = std::fs::read_to_string(record_path(component)).ok()?;
    let record: BuildRecord = serde_json::from_str(&text).ok()?;
    if record.format != 1 || record.component_sha256 != hex::encode(Sha256::digest(bytes)) || !record.source.is_dir() {
        return None;
    }
    let now = source_digest(&record.source).ok()?;
    (now != record.source_sha256).then(|| {
        format!(
            "{} is older than its source: {} changed since it was built; rebuild with `ratchet plugin build {}`",
            component.display(),
            record.source.display(),
            record.source.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_edit_makes_the_component_stale_a_test_or_sample_edit_does_not() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        std::fs::create_dir_all(dir.join("samples")).unwrap();
        std::fs::create_dir_all(dir.join("build")).unwrap();
        std::fs::write(dir.join("plugin.py"), "def score(): return 1\n").unwrap();
        std::fs::write(dir.join("pyproject.toml"), "[project]\nname = \"p\"\n").unwrap();
        std::fs::write(dir.join("test_plugin.py"), "# test\n").unwrap();
        std::fs::write(dir.join("samples/a.json"), "{}").unwrap();
        let component = dir.join("build/p.wasm");
        std::fs::write(&component, b"\0asm component").unwrap();
        write(&component, &dir).unwrap();
        let bytes = std::fs::read(&component).unwrap();
        assert_eq!(stale(&component, &bytes), None, "just built");
        std::fs::write(dir.join("test_plugin.py"), "# another test\n").unwrap();
        std::fs::write(dir.join("samples/a.json"), "{\"x\": 1}").unwrap();
        std::fs::write(dir.join("build/other.txt"), "x").unwrap();
        assert_eq!(stale(&component, &bytes), None, "tests, samples and build outputs are not the source");
        std::fs::write(dir.join("plugin.py"), "def score(): return 0\n").unwrap();
        let warning = stale(&component, &bytes).expect("stale");
        assert!(warning.contains("older than its source") && warning.contains("ratchet plugin build"), "{warning}");
        // A record speaks only for the component it was written with.
        assert_eq!(stale(&component, b"\0asm another component"), None);
        // A malformed record is no record.
        std::fs::write(record_path(&component), "{not json").unwrap();
        assert_eq!(stale(&component, &bytes), None);
    }
}
