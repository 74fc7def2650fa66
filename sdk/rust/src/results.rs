//! What plugins return: scorecard results, verdicts, converted conversations
//! and plugin info, mirroring the WIT records with canonical JSON shapes (so
//! golden tests can compare them with `.expected.json` files).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::Conversation;

/// What a plugin says about itself; `ratchet` shows it in listings and reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginInfo {
    /// Short machine name, e.g. `policy-keywords`.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// One line for humans.
    pub description: String,
}

impl PluginInfo {
    /// Builds the info from three strings, usually `env!("CARGO_PKG_NAME")`,
    /// `env!("CARGO_PKG_VERSION")` and a literal.
    pub fn new(name: impl Into<String>, version: impl Into<String>, description: impl Into<String>) -> Self {
        PluginInfo { name: name.into(), version: version.into(), description: description.into() }
    }
}

/// One named check inside a scorecard: reports can point at the turn that failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriterionResult {
    /// Criterion name, e.g. `no-false-confirmation`.
    pub name: String,
    /// In [0, 1].
    pub score: f64,
    /// Whether the criterion passed.
    pub passed: bool,
    /// Why, for humans.
    #[serde(default)]
    pub reason: String,
    /// The turn the result points at, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
}

impl CriterionResult {
    /// A passing criterion (score 1): the short way to say "fine, because...".
    pub fn pass(name: impl Into<String>, reason: impl Into<String>) -> Self {
        CriterionResult { name: name.into(), score: 1.0, passed: true, reason: reason.into(), turn: None }
    }

    /// A failing criterion (score 0) pointing at `turn`.
    pub fn fail(name: impl Into<String>, reason: impl Into<String>, turn: Option<u32>) -> Self {
        CriterionResult { name: name.into(), score: 0.0, passed: false, reason: reason.into(), turn }
    }

    /// Sets the turn the result points at (builder style).
    pub fn at_turn(mut self, turn: u32) -> Self {
        self.turn = Some(turn);
        self
    }
}

/// A scenario criterion a scorecard proposes for `ratchet regenerate`, in the
/// built-in kinds the gate implements (`must-not-call-tool`, `must-say`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestedCriterion {
    /// A built-in criterion kind, or `plugin`.
    pub kind: String,
    /// The criterion's parameters, a JSON object.
    #[serde(default)]
    pub params: Value,
    /// Why: shown as a comment in the scenario file.
    #[serde(default)]
    pub reason: String,
}

impl SuggestedCriterion {
    /// Builds a suggestion; `params` is usually a `serde_json::json!({...})`.
    pub fn new(kind: impl Into<String>, params: Value, reason: impl Into<String>) -> Self {
        SuggestedCriterion { kind: kind.into(), params, reason: reason.into() }
    }
}

/// What a scorecard returns for one conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScorecardResult {
    /// Overall score in [0, 1]; the host compares it with a threshold.
    pub score: f64,
    /// The individual checks.
    #[serde(default)]
    pub criteria: Vec<CriterionResult>,
    /// Named flags, e.g. `compliance:unauthorised-refund`.
    #[serde(default)]
    pub flags: Vec<String>,
    /// The failure-mode cluster this conversation belongs to, if failing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_mode: Option<String>,
    /// Criteria proposed for the regression scenario.
    #[serde(default)]
    pub suggested_criteria: Vec<SuggestedCriterion>,
}

impl ScorecardResult {
    /// A result whose score is the mean of the criteria scores (1.0 when there
    /// are none: nothing was wrong). Flags, failure mode and suggestions start
    /// empty.
    pub fn from_criteria(criteria: Vec<CriterionResult>) -> Self {
        let score = if criteria.is_empty() { 1.0 } else { criteria.iter().map(|c| c.score).sum::<f64>() / criteria.len() as f64 };
        ScorecardResult { score, criteria, flags: Vec::new(), failure_mode: None, suggested_criteria: Vec::new() }
    }

    /// A result whose score is the weighted mean of the criteria scores;
    /// `weights[i]` belongs to `criteria[i]` (missing weights count as 1,
    /// negative ones as 0). All-zero weights give 1.0.
    pub fn from_weighted_criteria(criteria: Vec<CriterionResult>, weights: &[f64]) -> Self {
        let mut total = 0.0;
        let mut sum = 0.0;
        for (i, c) in criteria.iter().enumerate() {
            let w = weights.get(i).copied().unwrap_or(1.0).max(0.0);
            total += w;
            sum += w * c.score;
        }
        let mut r = Self::from_criteria(criteria);
        r.score = if total > 0.0 { sum / total } else { 1.0 };
        r
    }

    /// True when every criterion passed.
    pub fn all_passed(&self) -> bool {
        self.criteria.iter().all(|c| c.passed)
    }

    /// The first failing criterion, if any: handy to pick a failure mode.
    pub fn first_failure(&self) -> Option<&CriterionResult> {
        self.criteria.iter().find(|c| !c.passed)
    }
}

/// What an assertion returns for one replayed transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// Pass or fail.
    pub passed: bool,
    /// Why, for the gate report.
    #[serde(default)]
    pub reason: String,
    /// The turn the verdict points at, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
}

impl Verdict {
    /// A passing verdict.
    pub fn pass(reason: impl Into<String>) -> Self {
        Verdict { passed: true, reason: reason.into(), turn: None }
    }

    /// A failing verdict pointing at `turn`.
    pub fn fail(reason: impl Into<String>, turn: Option<u32>) -> Self {
        Verdict { passed: false, reason: reason.into(), turn }
    }
}

/// One conversation produced by an adapter, plus what the source lacked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Converted {
    /// The canonical conversation.
    pub conversation: Conversation,
    /// Canonical fields the source format did not carry (e.g.
    /// `state.kb_version_hash`): reported, never invented.
    #[serde(default)]
    pub missing: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_weighted_scores() {
        let crit = vec![CriterionResult::pass("a", "fine"), CriterionResult::fail("b", "bad", Some(3))];
        let r = ScorecardResult::from_criteria(crit.clone());
        assert_eq!(r.score, 0.5);
        assert!(!r.all_passed());
        assert_eq!(r.first_failure().unwrap().name, "b");
        assert_eq!(ScorecardResult::from_weighted_criteria(crit.clone(), &[3.0, 1.0]).score, 0.75);
        assert_eq!(ScorecardResult::from_weighted_criteria(crit, &[0.0, 0.0]).score, 1.0);
        assert_eq!(ScorecardResult::from_criteria(vec![]).score, 1.0);
    }

    #[test]
    fn result_json_shape() {
        let mut r = ScorecardResult::from_criteria(vec![CriterionResult::pass("a", "ok").at_turn(2)]);
        r.suggested_criteria.push(SuggestedCriterion::new("must-escalate", serde_json::json!({}), "asked"));
        assert_eq!(
            crate::json::to_canonical_string(&r),
            r#"{"criteria":[{"name":"a","passed":true,"reason":"ok","score":1.0,"turn":2}],"flags":[],"score":1.0,"suggested_criteria":[{"kind":"must-escalate","params":{},"reason":"asked"}]}"#
        );
        let v = Verdict::fail("no", Some(1));
        assert_eq!(crate::json::to_canonical_string(&v), r#"{"passed":false,"reason":"no","turn":1}"#);
        assert!(Verdict::pass("yes").passed);
    }
}
