//! `ratchet.toml`: the project's configuration. Every field has a safe default, so a
//! project without the file runs on embedded defaults.

//!
//! Layering: this module sits just above [`crate::schema`] and imports nothing else
//! of ratchet. Each section lives in its own file with its own `validate` (the
//! phase it configures reads it from here), so a phase never reaches into another
//! phase to read its settings.

mod conversation;
mod detect;
mod engine;
mod model;
mod promote;
pub mod regenerate;
mod tiers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::schema::{self, SchemaError};

pub use conversation::ConversationConfig;
pub use detect::{DetectConfig, ImpactFromLabels, RankWeights, ScorecardEntry};
pub use engine::PluginEntry;
pub use model::ModelConfig;
pub use promote::{PromoteConfig, SimilarityWeights};
pub use ratchet_runtime::limits::{Allocator, EngineSettings, Limits};
pub use regenerate::{CriteriaTemplate, RegenerateConfig, ScrubConfig, ScrubPattern};
pub use tiers::{TierPolicy, ValueWeights};

/// The file name ratchet looks for, from the working directory upwards.
pub const CONFIG_FILE: &str = "ratchet.toml";

/// The parsed `ratchet.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Engine-wide settings: allocator, memory ceiling, cache.
    #[serde(default)]
    pub engine: EngineSettings,
    /// Sandbox limits every plugin gets unless its own entry overrides them.
    #[serde(default)]
    pub sandbox: Limits,
    /// Named plugins: scorecards, assertions and adapters the project uses.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginEntry>,
    /// What `ratchet detect` flags.
    #[serde(default)]
    pub detect: DetectConfig,
    /// How `ratchet rank` weighs business impact.
    #[serde(default)]
    pub rank: RankWeights,
    /// How `ratchet regenerate` scrubs personal data and derives criteria.
    #[serde(default)]
    pub regenerate: RegenerateConfig,
    /// How `ratchet promote` decides a new scenario is a known failure.
    #[serde(default)]
    pub promote: PromoteConfig,
    /// How `ratchet tiers` sizes the fast tier and retires idle scenarios.
    #[serde(default)]
    pub tiers: TierPolicy,
    /// The model endpoint LLM-judged plugins reach through the host, and where its
    /// answers are recorded for replay.
    #[serde(default)]
    pub model: ModelConfig,
    /// How a conversation is read everywhere: escalation tools, failed tool results.
    #[serde(default)]
    pub conversation: ConversationConfig,
}

/// A loaded configuration and the project root it belongs to.
#[derive(Debug, Clone)]
pub struct Project {
    /// Directory that holds `ratchet.toml` (or the working directory when there is none).
    /// Plugin paths are resolved inside it.
    pub root: PathBuf,
    /// The config file, when one was found.
    pub config_path: Option<PathBuf>,
    /// The parsed configuration (defaults when there is no file).
    pub config: Config,
}

impl Project {
    /// Load `explicit` if given, else search `ratchet.toml` from `start` upwards; with no
    /// file anywhere, the embedded defaults apply and `start` is the root. The nearest
    /// `ratchet.toml` that exists is the one: a directory (or a dangling symlink) of
    /// that name is an error, never skipped for one further up.
    pub fn discover(start: &Path, explicit: Option<&Path>) -> Result<Project, SchemaError> {
        let found = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => start.ancestors().map(|d| d.join(CONFIG_FILE)).find(|p| std::fs::symlink_metadata(p).is_ok()),
        };
        if let Some(path) = &found {
            if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
                return Err(SchemaError::Io {
                    path: path.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file (a directory?): ratchet's configuration is a TOML file"),
                });
            }
        }
        match found {
            Some(path) => {
                let text = schema::read_text(&path)?;
                let config = Config::parse(&text, &path.display().to_string())?;
                let root = path.parent().map(Path::to_path_buf).filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| PathBuf::from("."));
                Ok(Project { root, config_path: Some(path), config })
            }
            None => Ok(Project { root: start.to_path_buf(), config_path: None, config: Config::default() }),
        }
    }
}

impl Config {
    /// Parse and validate a `ratchet.toml` text.
    pub fn parse(text: &str, origin: &str) -> Result<Config, SchemaError> {
        let config: Config = schema::parse_toml(text, origin)?;
        config.validate(origin)?;
        Ok(config)
    }

    /// Every section checks its own fields ([`DetectConfig::validate`],
    /// [`ModelConfig::validate`]...); this adds what crosses sections (a scorecard
    /// names a declared plugin; limits within the engine's ceiling).
    fn validate(&self, origin: &str) -> Result<(), SchemaError> {
        self.check().map_err(|(field, message)| SchemaError::invalid(origin, None, None, Some(field), message))
    }

    fn check(&self) -> Result<(), (String, String)> {
        self.engine.validate()?;
        self.sandbox.validate("sandbox.", self.engine.max_memory_mib)?;
        for (name, entry) in &self.plugins {
            entry.limits(&self.sandbox).validate(&format!("plugins.{name}."), self.engine.max_memory_mib)?;
        }
        self.detect.validate()?;
        if let Some(sim) = &self.regenerate.simulator {
            if !self.plugins.contains_key(sim) {
                return Err(("regenerate.simulator".into(), format!("`{sim}` is not declared in [plugins]")));
            }
        }
        for (i, sc) in self.detect.scorecards.iter().enumerate() {
            if !self.plugins.contains_key(&sc.plugin) {
                return Err((format!("detect.scorecards[{i}].plugin"), format!("`{}` is not declared in [plugins]", sc.plugin)));
            }
        }
        self.rank.validate()?;
        self.tiers.validate()?;
        self.regenerate.validate()?;
        self.model.validate()?;
        self.promote.validate()?;
        self.conversation.validate()?;
        Ok(())
    }
}
