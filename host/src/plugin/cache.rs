//! On-disk cache of precompiled components.
//!
//! Compiling a 15 MB Python component takes ~12 s; loading its precompiled artifact
//! takes milliseconds. Artifacts are keyed by the component's sha256 *and* the
//! engine's compatibility hash (wasmtime version + every setting that affects
//! code), so a changed setting never loads stale code. Files are written to a
//! temporary name and renamed, and carry their own sha256 trailer, so a torn or
//! corrupted file is detected and recompiled, never executed.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::Engine;

/// Where a component came from on this load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from a precompiled artifact.
    Hit,
    /// Compiled, and the artifact stored for next time.
    Miss,
    /// Compiled; no cache configured or the cache directory is unusable.
    Disabled,
}

/// A directory of precompiled artifacts.
#[derive(Debug, Clone)]
pub struct ComponentCache {
    dir: PathBuf,
    engine_key: String,
}

impl ComponentCache {
    /// A cache in `dir` for artifacts of `engine`.
    pub fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut hasher = Sha256Hasher(Sha256::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hex::encode(&hasher.0.finalize()[..8]);
        ComponentCache { dir, engine_key }
    }

    /// The default directory: `$RATCHET_CACHE_DIR`, `$XDG_CACHE_HOME/ratchet`, `~/.cache/ratchet`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(dir) = std::env::var_os("RATCHET_CACHE_DIR") {
            return Some(PathBuf::from(dir));
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            return Some(PathBuf::from(dir).join("ratchet"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("ratchet"))
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_for(&self, digest_hex: &str) -> PathBuf {
        self.dir.join(format!("{digest_hex}-{}.cwasm", self.engine_key))
    }

    /// Load the component whose bytes have `digest_hex`, compiling on a miss.
    pub fn load_or_compile(&self, engine: &Engine, bytes: &[u8], digest_hex: &str) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.path_for(digest_hex);
        if let Some(component) = self.try_load(engine, &path) {
            return Ok((component, CacheOutcome::Hit));
        }
        let component = Component::new(engine, bytes)?;
        let outcome = match component.serialize().map_err(|e| e.to_string()).and_then(|art| self.store(&path, &art).map_err(|e| e.to_string())) {
            Ok(()) => CacheOutcome::Miss,
            Err(_) => CacheOutcome::Disabled,
        };
        Ok((component, outcome))
    }

    fn try_load(&self, engine: &Engine, path: &Path) -> Option<Component> {
        let data = std::fs::read(path).ok()?;
        if data.len() < 32 {
            let _ = std::fs::remove_file(path);
            return None;
        }
        let (artifact, trailer) = data.split_at(data.len() - 32);
        if Sha256::digest(artifact).as_slice() != trailer {
            // Torn or tampered: never hand it to the deserializer.
            let _ = std::fs::remove_file(path);
            return None;
        }
        // SAFETY: the artifact was produced by `Component::serialize` on an engine
        // with the same compatibility hash (it is in the file name), and its bytes
        // are exactly those written (sha256 trailer checked above). wasmtime also
        // re-checks its own header and engine settings.
        match unsafe { Component::deserialize(engine, artifact) } {
            Ok(c) => Some(c),
            Err(_) => {
                let _ = std::fs::remove_file(path);
                None
            }
        }
    }

    fn store(&self, path: &Path, artifact: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(artifact)?;
        tmp.write_all(&Sha256::digest(artifact))?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Feeds `Hash` output into sha256, so the engine key is stable across runs
/// (std's `DefaultHasher` is not guaranteed to be).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn finish(&self) -> u64 {
        0 // unused: the digest is read with finalize()
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}
