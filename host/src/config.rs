//! `ratchet.toml`: the project's configuration. Every field has a safe default, so a
//! project without the file runs on embedded defaults.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::schema::{self, SchemaError};

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
    pub tiers: crate::tiers::TierPolicy,
    /// The model endpoint LLM-judged plugins reach through the host, and where its
    /// answers are recorded for replay.
    #[serde(default)]
    pub model: ModelConfig,
}

/// `[model]`: the OpenAI-compatible endpoint behind the `ratchet:plugin/model`
/// import (plugins with `grant_model = true`), and the recordings that make
/// judged verdicts replay identically. The URL and key come from environment
/// variables named here, never from a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Environment variable holding the base URL (unset: `https://api.openai.com/v1`).
    pub base_url_env: String,
    /// Environment variable holding the API key (not needed for a server on localhost).
    pub api_key_env: String,
    /// The judge model used when a plugin's request names none.
    pub model: String,
    /// Directory of recorded answers, relative to the project root (commit it).
    pub recordings: PathBuf,
    /// Per-request timeout, ms.
    pub request_timeout_ms: u64,
    /// Retries on 408/429/5xx and connection errors.
    pub retries: u32,
    /// First backoff when the server sends no `Retry-After`, ms.
    pub retry_backoff_ms: u64,
    /// Most requests in flight across all workers.
    pub max_concurrency: u32,
    /// Most model calls one plugin call may make.
    pub max_calls_per_plugin_call: u32,
    /// USD per million prompt tokens, for the cost line.
    pub price_per_million_input_tokens: Option<f64>,
    /// USD per million completion tokens, for the cost line.
    pub price_per_million_output_tokens: Option<f64>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            base_url_env: "OPENAI_BASE_URL".into(),
            api_key_env: "OPENAI_API_KEY".into(),
            model: "gpt-4o-mini".into(),
            recordings: PathBuf::from("recordings/model"),
            request_timeout_ms: 60_000,
            retries: 4,
            retry_backoff_ms: 500,
            max_concurrency: 4,
            max_calls_per_plugin_call: 16,
            price_per_million_input_tokens: None,
            price_per_million_output_tokens: None,
        }
    }
}

/// `[regenerate]`: PII scrubbing and the project's own criterion derivation rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegenerateConfig {
    /// `[regenerate.scrub]`: what personal data to replace with placeholders.
    pub scrub: crate::regenerate::scrub::ScrubConfig,
    /// `[[regenerate.guards]]`: criteria (same fields as a scenario's `[[criteria]]`)
    /// added to a regenerated scenario whenever they fail on the flagged conversation —
    /// the project's standing rules, e.g. "never cancel without an active subscription".
    pub guards: Vec<crate::schema::Criterion>,
    /// `[[regenerate.templates]]`: criteria always added for a failure mode.
    pub templates: Vec<CriteriaTemplate>,
}

/// Criteria every scenario of one failure mode gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriteriaTemplate {
    /// The failure-mode cluster it applies to.
    pub failure_mode: String,
    /// The criteria (same fields as a scenario's `[[criteria]]`).
    pub criteria: Vec<crate::schema::Criterion>,
}

/// `[promote]`: the fuzzy match that merges a new scenario into a known one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PromoteConfig {
    /// At or above this similarity the new scenario is merged into the match (hit +1).
    pub merge_threshold: f64,
    /// From this similarity up to the merge threshold a match is shown as a near miss
    /// for a person to decide.
    pub near_miss: f64,
    /// How much each signal counts (normalised to sum 1).
    pub weights: SimilarityWeights,
}

impl Default for PromoteConfig {
    fn default() -> Self {
        PromoteConfig { merge_threshold: 0.85, near_miss: 0.7, weights: SimilarityWeights::default() }
    }
}

/// Weights of the similarity signals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimilarityWeights {
    /// The normalised customer turns (strsim Sørensen–Dice on their content words).
    pub text: f64,
    /// Same failure-mode cluster (1 or 0).
    pub failure_mode: f64,
    /// Overlap of the criteria (Jaccard on kind + tool or plugin).
    pub criteria: f64,
    /// Overlap of the tools called (Jaccard on fixture tool names).
    pub tools: f64,
}

impl Default for SimilarityWeights {
    fn default() -> Self {
        SimilarityWeights { text: 0.25, failure_mode: 0.3, criteria: 0.3, tools: 0.15 }
    }
}

/// `[detect]`: the scorecards every conversation runs through, and the built-in
/// triggers for what a score does not capture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// `[[detect.scorecards]]`, run on every conversation in order.
    pub scorecards: Vec<ScorecardEntry>,
    /// Flag conversations that escalated to a human without the customer asking for one.
    pub flag_unexpected_escalation: bool,
    /// A customer line matching this regex makes an escalation expected.
    pub expected_escalation_pattern: String,
    /// Flag conversations that carry compliance flags (from the platform or a scorecard).
    pub flag_compliance: bool,
    /// Flag conversations the customer complained about.
    pub flag_complaint: bool,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            scorecards: Vec::new(),
            flag_unexpected_escalation: true,
            expected_escalation_pattern:
                r"(?i)\b(human|real person|a person|supervisor|manager|representative|someone else|operator|live agent|real agent|an agent)\b".into(),
            flag_compliance: true,
            flag_complaint: true,
        }
    }
}

/// One scorecard of `[detect]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScorecardEntry {
    /// Name in reports and failure events.
    pub name: String,
    /// The plugin: a name from `[plugins]`.
    pub plugin: String,
    /// Conversations scoring below this are flagged.
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// When several scorecards flag a conversation, the failure mode comes from the one
    /// with the largest `weight × (threshold − score)`.
    #[serde(default = "default_weight")]
    pub weight: f64,
    /// Parameters passed to the plugin (a table).
    #[serde(default = "empty_table")]
    pub params: serde_json::Value,
}

fn default_threshold() -> f64 {
    0.7
}
fn default_weight() -> f64 {
    1.0
}
fn empty_table() -> serde_json::Value {
    serde_json::Value::Object(Default::default())
}

/// `[rank]`: weights of each impact field in a failure mode's cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RankWeights {
    /// Weight of `impact.revenue_at_risk`.
    pub revenue_at_risk: f64,
    /// Weight of `impact.compliance_exposure`.
    pub compliance_exposure: f64,
    /// Weight of `impact.refund_amount`.
    pub refund_amount: f64,
    /// Weight of `impact.escalation_cost`.
    pub escalation_cost: f64,
}

impl Default for RankWeights {
    fn default() -> Self {
        RankWeights { revenue_at_risk: 1.0, compliance_exposure: 1.0, refund_amount: 1.0, escalation_cost: 1.0 }
    }
}

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
    /// file anywhere, the embedded defaults apply and `start` is the root.
    pub fn discover(start: &Path, explicit: Option<&Path>) -> Result<Project, SchemaError> {
        let found = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => start.ancestors().map(|d| d.join(CONFIG_FILE)).find(|p| p.is_file()),
        };
        match found {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| SchemaError::Io { path: path.clone(), source })?;
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

    fn validate(&self, origin: &str) -> Result<(), SchemaError> {
        let bad = |field: String, message: String| Err(SchemaError::invalid(origin, None, None, Some(field), message));
        let max = self.engine.max_memory_mib;
        if max == 0 || max > 4096 {
            return bad("engine.max_memory_mib".into(), format!("{max} is out of range 1..=4096"));
        }
        let check = |name: &str, l: &Limits| -> Result<(), SchemaError> {
            if l.memory_mib == 0 || l.memory_mib > max {
                return bad(format!("{name}memory_mib"), format!("{} is out of range 1..={max} (engine.max_memory_mib)", l.memory_mib));
            }
            if l.fuel == 0 {
                return bad(format!("{name}fuel"), "must be positive".into());
            }
            if l.timeout_ms == 0 {
                return bad(format!("{name}timeout_ms"), "must be positive".into());
            }
            Ok(())
        };
        check("sandbox.", &self.sandbox)?;
        for (i, sc) in self.detect.scorecards.iter().enumerate() {
            if !self.plugins.contains_key(&sc.plugin) {
                return bad(format!("detect.scorecards[{i}].plugin"), format!("`{}` is not declared in [plugins]", sc.plugin));
            }
            if !(0.0..=1.0).contains(&sc.threshold) {
                return bad(format!("detect.scorecards[{i}].threshold"), format!("{} is outside [0, 1]", sc.threshold));
            }
            if !sc.params.is_object() {
                return bad(format!("detect.scorecards[{i}].params"), "must be a table".into());
            }
        }
        if let Err(e) = regex::Regex::new(&self.detect.expected_escalation_pattern) {
            return bad("detect.expected_escalation_pattern".into(), format!("invalid regular expression: {e}"));
        }
        for (name, entry) in &self.plugins {
            check(&format!("plugins.{name}."), &entry.limits(&self.sandbox))?;
        }
        if let Err((field, message)) = self.tiers.validate() {
            return bad(field, message);
        }
        if let Err((field, message)) = self.regenerate.scrub.validate() {
            return bad(field, message);
        }
        let patterns = |field: String, c: &crate::schema::Criterion| -> Result<(), SchemaError> {
            match &c.check {
                crate::schema::Check::MustSay { pattern, .. } | crate::schema::Check::MustNotSay { pattern } => {
                    crate::gate::criteria::compile(pattern).map(|_| ()).or_else(|e| bad(field, e))
                }
                _ => Ok(()),
            }
        };
        for (i, g) in self.regenerate.guards.iter().enumerate() {
            patterns(format!("regenerate.guards[{i}].pattern"), g)?;
        }
        for (i, t) in self.regenerate.templates.iter().enumerate() {
            for (j, c) in t.criteria.iter().enumerate() {
                patterns(format!("regenerate.templates[{i}].criteria[{j}].pattern"), c)?;
            }
        }
        let m = &self.model;
        for (field, v) in [("base_url_env", &m.base_url_env), ("api_key_env", &m.api_key_env)] {
            if v.is_empty() || v.contains('=') || v.contains(char::is_whitespace) {
                return bad(format!("model.{field}"), format!("`{v}` must name an environment variable, e.g. \"OPENAI_API_KEY\""));
            }
        }
        if m.recordings.is_absolute() || m.recordings.components().any(|c| matches!(c, std::path::Component::ParentDir)) || m.recordings.as_os_str().is_empty()
        {
            return bad(
                "model.recordings".into(),
                format!("`{}` must be a directory inside the project (a relative path without `..`)", m.recordings.display()),
            );
        }
        if m.model.trim().is_empty() {
            return bad("model.model".into(), "must name the judge model, e.g. \"gpt-4o-mini\"".into());
        }
        for (field, v) in [
            ("request_timeout_ms", m.request_timeout_ms),
            ("max_concurrency", u64::from(m.max_concurrency)),
            ("max_calls_per_plugin_call", u64::from(m.max_calls_per_plugin_call)),
        ] {
            if v == 0 {
                return bad(format!("model.{field}"), "must be positive".into());
            }
        }
        for (field, price) in
            [("price_per_million_input_tokens", m.price_per_million_input_tokens), ("price_per_million_output_tokens", m.price_per_million_output_tokens)]
        {
            if price.is_some_and(|p| !p.is_finite() || p < 0.0) {
                return bad(format!("model.{field}"), "must be a non-negative number (USD per million tokens)".into());
            }
        }
        let p = &self.promote;
        for (field, v) in [("merge_threshold", p.merge_threshold), ("near_miss", p.near_miss)] {
            if !(0.0..=1.0).contains(&v) {
                return bad(format!("promote.{field}"), format!("{v} is outside [0, 1]"));
            }
        }
        if p.near_miss > p.merge_threshold {
            return bad("promote.near_miss".into(), format!("{} is above merge_threshold ({})", p.near_miss, p.merge_threshold));
        }
        let w = &p.weights;
        if [w.text, w.failure_mode, w.criteria, w.tools].iter().any(|x| !x.is_finite() || *x < 0.0) || w.text + w.failure_mode + w.criteria + w.tools <= 0.0 {
            return bad("promote.weights".into(), "weights must be non-negative and not all zero".into());
        }
        Ok(())
    }
}
