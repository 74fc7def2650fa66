//! The settings of the plugin runtime (`[engine]` in ratchet.toml) and the limits
//! every plugin call runs under (`[sandbox]`, overridable per plugin): what an
//! embedder sets too, so they live with the runtime, not with ratchet.toml.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Settings shared by every plugin the process runs (one wasmtime engine).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineSettings {
    /// How instance memory is allocated: `pooling` (fast, reserves address space up
    /// front) or `on-demand` (plain mmap per instance).
    pub allocator: Allocator,
    /// Largest memory any plugin may be granted, in MiB: sizes the pooling allocator's slots.
    pub max_memory_mib: u32,
    /// Where precompiled components are cached. Default: `$RATCHET_CACHE_DIR`, else
    /// `$XDG_CACHE_HOME/ratchet`, else `~/.cache/ratchet`.
    pub cache_dir: Option<PathBuf>,
}

/// Limits and deterministic-WASI settings for one plugin call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Fuel (roughly, Wasm instructions) one call may burn, instantiation included.
    pub fuel: u64,
    /// Linear memory one instance may grow to, in MiB.
    pub memory_mib: u32,
    /// Wall-clock backstop for one call, in milliseconds (fuel normally stops runaways first).
    pub timeout_ms: u64,
    /// Largest result a plugin may return, in bytes of JSON.
    pub max_output_bytes: u64,
    /// Log lines kept per call (the rest are counted, not stored).
    pub max_log_lines: u32,
    /// For WASI guests: the fixed wall-clock time they see, in Unix seconds.
    pub wasi_clock_unix: u64,
    /// For WASI guests: the seed of their (deterministic) random numbers.
    pub wasi_random_seed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 10_000_000_000,
            memory_mib: 256,
            timeout_ms: 10_000,
            max_output_bytes: 4 << 20,
            max_log_lines: 200,
            wasi_clock_unix: 1_767_225_600, // 2026-01-01T00:00:00Z
            wasi_random_seed: 0,
        }
    }
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings { allocator: Allocator::Pooling, max_memory_mib: 1024, cache_dir: None }
    }
}

/// Instance allocation strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allocator {
    /// Pre-reserved slots, copy-on-write memory images: cheap fresh instances.
    Pooling,
    /// One mmap per instance: no up-front reservation.
    OnDemand,
}

impl EngineSettings {
    /// Check the engine-wide numbers; the error names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let max = self.max_memory_mib;
        if max == 0 || max > 4096 {
            return Err(("engine.max_memory_mib".into(), format!("{max} is out of range 1..=4096")));
        }
        Ok(())
    }
}

impl Limits {
    /// Check one set of limits (`prefix` is `sandbox.` or `plugins.NAME.`) against the
    /// engine's memory ceiling.
    pub fn validate(&self, prefix: &str, max_memory_mib: u32) -> Result<(), (String, String)> {
        if self.memory_mib == 0 || self.memory_mib > max_memory_mib {
            return Err((format!("{prefix}memory_mib"), format!("{} is out of range 1..={max_memory_mib} (engine.max_memory_mib)", self.memory_mib)));
        }
        if self.fuel == 0 {
            return Err((format!("{prefix}fuel"), "must be positive".into()));
        }
        if self.timeout_ms == 0 {
            return Err((format!("{prefix}timeout_ms"), "must be positive".into()));
        }
        Ok(())
    }
}
