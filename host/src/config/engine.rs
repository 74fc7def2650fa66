//! `[plugins]`: the named plugins of a project and their per-plugin overrides of
//! the sandbox limits. (`[engine]` and `[sandbox]` are the runtime's own types:
//! [`ratchet_runtime::limits`].)

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use ratchet_runtime::limits::Limits;

/// One named plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    /// Component file, relative to the project root (escapes are refused).
    pub path: PathBuf,
    /// Overrides of the sandbox limits for this plugin only.
    #[serde(default)]
    pub fuel: Option<u64>,
    /// Memory override, MiB.
    #[serde(default)]
    pub memory_mib: Option<u32>,
    /// Timeout override, ms.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Output size override, bytes.
    #[serde(default)]
    pub max_output_bytes: Option<u64>,
    /// Seed override for WASI random.
    #[serde(default)]
    pub wasi_random_seed: Option<u64>,
    /// A directory inside the project the plugin may read (WASI guests only), seen at `/data`.
    #[serde(default)]
    pub grant_dir: Option<PathBuf>,
    /// Whether the plugin may ask a model through the host (`ratchet:plugin/model`,
    /// configured in `[model]`): LLM-judged scorecards and assertions need it.
    #[serde(default)]
    pub grant_model: bool,
}

impl PluginEntry {
    /// The limits this plugin runs with: the defaults, overridden by its own entry.
    pub fn limits(&self, defaults: &Limits) -> Limits {
        let mut l = defaults.clone();
        if let Some(v) = self.fuel {
            l.fuel = v;
        }
        if let Some(v) = self.memory_mib {
            l.memory_mib = v;
        }
        if let Some(v) = self.timeout_ms {
            l.timeout_ms = v;
        }
        if let Some(v) = self.max_output_bytes {
            l.max_output_bytes = v;
        }
        if let Some(v) = self.wasi_random_seed {
            l.wasi_random_seed = v;
        }
        l
    }
}
