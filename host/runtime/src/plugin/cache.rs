//! On-disk cache of precompiled components.
//!
//! Compiling a 15 MB Python component takes ~12 s; loading its precompiled artifact
//! takes milliseconds. Artifacts are keyed by the component's sha256 *and* the
//! engine's compatibility hash (wasmtime version + every setting that affects
//! code), so a changed setting never loads stale code. Files are written to a
//! temporary name and renamed, and end with the sha256 of the component they were
//! compiled from and a sha256 trailer over everything before it: a torn or corrupted
//! file, and another component's valid artifact copied over this key, are detected,
//! recompiled and replaced, never executed under this component's name and digest.
//!
//! The trailer is a checksum, not a signature: whoever can write the cache
//! directory can forge an entry. The directory must be as trusted as the ratchet
//! binary itself (docs/security.md).

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

    /// Load the component whose bytes have `digest_hex`, compiling on a miss (or on
    /// an entry that is not this component's, which is replaced).
    pub fn load_or_compile(&self, engine: &Engine, bytes: &[u8], digest_hex: &str) -> wasmtime::Result<(Component, CacheOutcome)> {
        let path = self.path_for(digest_hex);
        let digest = hex::decode(digest_hex).ok().filter(|d| d.len() == 32);
        if let Some(component) = digest.as_deref().and_then(|d| self.try_load(engine, &path, d)) {
            return Ok((component, CacheOutcome::Hit));
        }
        let component = Component::new(engine, bytes)?;
        let stored = match &digest {
            Some(d) => component.serialize().map_err(|e| e.to_string()).and_then(|art| self.store(&path, &art, d).map_err(|e| e.to_string())),
            None => Err("not a sha256 digest".to_string()),
        };
        let outcome = match stored {
            Ok(()) => CacheOutcome::Miss,
            Err(_) => CacheOutcome::Disabled,
        };
        Ok((component, outcome))
    }

    /// The cached artifact for `digest_hex`, if there is an intact one (nothing is
    /// compiled): for a derived key whose bytes are costly to produce (`reset`).
    pub fn load_cached(&self, engine: &Engine, digest_hex: &str) -> Option<Component> {
        let digest = hex::decode(digest_hex).ok().filter(|d| d.len() == 32)?;
        self.try_load(engine, &self.path_for(digest_hex), &digest)
    }

    /// The artifact in `path` if it is intact and was compiled from the component
    /// whose sha256 is `digest`; anything else is removed (to be recompiled).
    fn try_load(&self, engine: &Engine, path: &Path, digest: &[u8]) -> Option<Component> {
        let data = std::fs::read(path).ok()?;
        let Some(artifact) = verified_artifact(&data, digest) else {
            // Torn, tampered, of another format, or another component's artifact:
            // never hand it to the deserializer.
            let _ = std::fs::remove_file(path);
            return None;
        };
        // SAFETY: the artifact was produced by `Component::serialize` on an engine
        // with the same compatibility hash (it is in the file name), from the
        // component with this digest (recorded in the file), and its bytes are
        // exactly those written (sha256 trailer checked above). wasmtime also
        // re-checks its own header and engine settings. A cache directory an
        // attacker can write defeats this: it must be trusted (see the module doc).
        match unsafe { Component::deserialize(engine, artifact) } {
            Ok(c) => Some(c),
            Err(_) => {
                let _ = std::fs::remove_file(path);
                None
            }
        }
    }

    fn store(&self, path: &Path, artifact: &[u8], digest: &[u8]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        // Temporary files of killed runs (any entry's, and ownerless old ones).
        crate::fsutil::remove_stale_temps(&self.dir, None, true);
        let mut tmp = crate::fsutil::temp_for(path)?;
        let mut trailer = Sha256::new();
        trailer.update(artifact);
        trailer.update(digest);
        tmp.write_all(artifact)?;
        tmp.write_all(digest)?;
        tmp.write_all(&trailer.finalize())?;
        tmp.as_file().sync_all()?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

/// An entry's layout: the artifact, the sha256 of the component it was compiled
/// from (32 bytes), and the sha256 of both (32 bytes). Returns the artifact when the
/// trailer matches and the recorded component digest is `digest`.
fn verified_artifact<'a>(data: &'a [u8], digest: &[u8]) -> Option<&'a [u8]> {
    let body_len = data.len().checked_sub(32)?;
    let (body, trailer) = data.split_at(body_len);
    if Sha256::digest(body).as_slice() != trailer {
        return None;
    }
    let artifact_len = body.len().checked_sub(32)?;
    let (artifact, recorded) = body.split_at(artifact_len);
    (recorded == digest).then_some(artifact)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_bound_to_its_component() {
        let (mine, other) = (Sha256::digest(b"component a"), Sha256::digest(b"component b"));
        let entry = |artifact: &[u8], digest: &[u8]| {
            let mut v = artifact.to_vec();
            v.extend_from_slice(digest);
            let t = Sha256::digest(&v);
            v.extend_from_slice(&t);
            v
        };
        let good = entry(b"artifact", &mine);
        assert_eq!(verified_artifact(&good, &mine), Some(&b"artifact"[..]));
        assert_eq!(verified_artifact(&entry(b"artifact", &other), &mine), None, "another component's entry");
        let mut torn = good.clone();
        torn[2] ^= 1;
        assert_eq!(verified_artifact(&torn, &mine), None);
        // The previous layout (artifact + its sha256) is not mistaken for a bound entry.
        let mut old = b"artifact".to_vec();
        old.extend_from_slice(&Sha256::digest(b"artifact"));
        assert_eq!(verified_artifact(&old, &mine), None);
        assert_eq!(verified_artifact(&good[..40], &mine), None);
        assert_eq!(verified_artifact(b"", &mine), None);
    }
}
