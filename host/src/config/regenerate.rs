//! `[regenerate]`: PII scrubbing and the project's own criterion derivation rules.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::schema::pattern::compile;
use crate::schema::{Check, Criterion};

/// `[regenerate]`: PII scrubbing and the project's own criterion derivation rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegenerateConfig {
    /// `[regenerate.scrub]`: what personal data to replace with placeholders.
    pub scrub: ScrubConfig,
    /// `[[regenerate.guards]]`: criteria (same fields as a scenario's `[[criteria]]`)
    /// added to a regenerated scenario whenever they fail on the flagged conversation —
    /// the project's standing rules, e.g. "never cancel without an active subscription".
    pub guards: Vec<Criterion>,
    /// `[[regenerate.templates]]`: criteria always added for a failure mode.
    pub templates: Vec<CriteriaTemplate>,
    /// A tool simulator (a `[plugins]` name, world `simulator`): when set, every
    /// regenerated scenario gets a `[world]` seeded by it from what the failing
    /// conversation observed, replays the calls no fixture matches through it, and
    /// gets `world-state` criteria for what its unwanted calls changed.
    pub simulator: Option<String>,
    /// Parameters for the simulator (a table), copied into each scenario's `[world]`.
    pub simulator_params: serde_json::Value,
    /// Write `[script] when_done = "simulate"` (with the goal and facts derived from
    /// the customer's lines) so a simulated, recorded customer may carry on when the
    /// script runs out. Off by default: replay is then exactly the script.
    pub simulate_customer: bool,
}

impl Default for RegenerateConfig {
    fn default() -> Self {
        RegenerateConfig {
            scrub: ScrubConfig::default(),
            guards: Vec::new(),
            templates: Vec::new(),
            simulator: None,
            simulator_params: serde_json::Value::Object(Default::default()),
            simulate_customer: false,
        }
    }
}

impl RegenerateConfig {
    /// Check the scrubber's labels and patterns, and the patterns of guards and
    /// templates; the error names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.scrub.validate()?;
        if !self.simulator_params.is_object() {
            return Err(("regenerate.simulator_params".into(), "must be a table".into()));
        }
        let patterns = |field: String, c: &Criterion| -> Result<(), (String, String)> {
            match &c.check {
                Check::MustSay { pattern, .. } | Check::MustNotSay { pattern } => compile(pattern).map(|_| ()).map_err(|e| (field, e.to_string())),
                _ => Ok(()),
            }
        };
        for (i, g) in self.guards.iter().enumerate() {
            patterns(format!("regenerate.guards[{i}].pattern"), g)?;
        }
        for (i, t) in self.templates.iter().enumerate() {
            for (j, c) in t.criteria.iter().enumerate() {
                patterns(format!("regenerate.templates[{i}].criteria[{j}].pattern"), c)?;
            }
        }
        Ok(())
    }
}

/// Criteria every scenario of one failure mode gets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriteriaTemplate {
    /// The failure-mode cluster it applies to.
    pub failure_mode: String,
    /// The criteria (same fields as a scenario's `[[criteria]]`).
    pub criteria: Vec<Criterion>,
}

/// `[regenerate.scrub]` in `ratchet.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScrubConfig {
    /// Scrub at all (turning it off is for synthetic data only).
    pub enabled: bool,
    /// Memory-snapshot keys whose values are personal data, with the placeholder
    /// label to use (`"customer.name" = "NAME"`). Keys whose last segment is `name`,
    /// `first_name`, `last_name`, `full_name`, `email`, `phone` or `address` are
    /// always included.
    pub state_keys: BTreeMap<String, String>,
    /// Extra patterns: `[[regenerate.scrub.patterns]]` with `label` and `regex`.
    pub patterns: Vec<ScrubPattern>,
    /// Regular expressions for the project's own identifiers (`ORD-\d+`): text they
    /// match is never replaced, whatever a detector thinks of it — a scrubbed order id
    /// in a tool call could never match the agent's real call at replay.
    pub keep: Vec<String>,
    /// Built-in detectors to turn off (labels from [`BUILTIN_DETECTORS`]), for data
    /// where one misfires; values named by the state snapshot are still replaced.
    pub disable: Vec<String>,
}

/// The labels of the scrubber's built-in detectors (what `disable` may name).
pub const BUILTIN_DETECTORS: &[&str] = &["ADDRESS", "CARD", "DOB", "EMAIL", "IBAN", "IP", "PHONE"];

impl Default for ScrubConfig {
    fn default() -> Self {
        ScrubConfig { enabled: true, state_keys: BTreeMap::new(), patterns: Vec::new(), keep: Vec::new(), disable: Vec::new() }
    }
}

/// A configured pattern: every match becomes `[LABEL_n]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrubPattern {
    /// Placeholder label, upper case (`ACCOUNT_ID`).
    pub label: String,
    /// Regular expression; the whole match is replaced.
    pub regex: String,
}

impl ScrubConfig {
    /// Check labels and compile patterns; the message names the offending entry.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (i, p) in self.patterns.iter().enumerate() {
            if !valid_label(&p.label) {
                return Err((format!("regenerate.scrub.patterns[{i}].label"), "must be upper-case letters, digits and `_`".into()));
            }
            if let Err(e) = regex::Regex::new(&p.regex) {
                return Err((format!("regenerate.scrub.patterns[{i}].regex"), format!("invalid regular expression: {e}")));
            }
        }
        for (i, k) in self.keep.iter().enumerate() {
            if let Err(e) = regex::Regex::new(k) {
                return Err((format!("regenerate.scrub.keep[{i}]"), format!("invalid regular expression: {e}")));
            }
        }
        for (i, d) in self.disable.iter().enumerate() {
            if !BUILTIN_DETECTORS.contains(&d.as_str()) {
                return Err((format!("regenerate.scrub.disable[{i}]"), format!("`{d}` is not a built-in detector (one of {})", BUILTIN_DETECTORS.join(", "))));
            }
        }
        for (key, label) in &self.state_keys {
            if !valid_label(label) {
                return Err((format!("regenerate.scrub.state_keys.{key}"), "the label must be upper-case letters, digits and `_`".into()));
            }
        }
        Ok(())
    }
}

/// A placeholder label: upper-case letters, digits and `_` (`EMAIL`, `ACCOUNT_ID`).
pub fn valid_label(l: &str) -> bool {
    !l.is_empty() && l.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}
