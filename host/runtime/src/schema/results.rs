//! What plugins return, in host form. The plugin runtime converts each WIT version's
//! types into these, so the rest of ratchet never depends on a WIT version.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Conversation;

/// What a plugin says about itself (`info` export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginInfo {
    /// Short machine name.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// One line for humans.
    pub description: String,
}

/// A scorecard's judgement of one conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScorecardResult {
    /// Overall score in [0, 1].
    pub score: f64,
    /// Named checks, each with its own score and reason.
    #[serde(default)]
    pub criteria: Vec<CriterionResult>,
    /// Named flags, e.g. `compliance:refund-without-supervisor`.
    #[serde(default)]
    pub flags: Vec<String>,
    /// The failure-mode cluster, when failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_mode: Option<String>,
    /// Scenario criteria the scorecard proposes for `ratchet regenerate`.
    #[serde(default)]
    pub suggested_criteria: Vec<SuggestedCriterion>,
}

/// One named check inside a scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionResult {
    /// Criterion name, stable across runs.
    pub name: String,
    /// In [0, 1].
    pub score: f64,
    /// Whether the check passed.
    pub passed: bool,
    /// Why, in one sentence.
    pub reason: String,
    /// The turn the result points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
}

/// A scenario criterion proposed by a scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestedCriterion {
    /// A built-in criterion kind (`must-not-call-tool`...) or `plugin`.
    pub kind: String,
    /// The criterion's parameters (a JSON object).
    pub params: Value,
    /// Why: becomes a comment in the scenario file.
    pub reason: String,
}

/// An assertion plugin's decision on one replayed transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// Pass or fail.
    pub passed: bool,
    /// Why, for the gate report.
    pub reason: String,
    /// The turn the verdict points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
}

/// One conversation produced by an adapter plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Converted {
    /// The canonical conversation.
    pub conversation: Conversation,
    /// Canonical fields the source did not carry: reported, never invented.
    #[serde(default)]
    pub missing: Vec<String>,
}
