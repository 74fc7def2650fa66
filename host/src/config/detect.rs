//! `[detect]` and `[rank]`: what is flagged, and how failure modes are weighed.

use serde::{Deserialize, Serialize};

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

impl DetectConfig {
    /// Check thresholds, parameters and the escalation pattern; the error names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (i, sc) in self.scorecards.iter().enumerate() {
            if !(0.0..=1.0).contains(&sc.threshold) {
                return Err((format!("detect.scorecards[{i}].threshold"), format!("{} is outside [0, 1]", sc.threshold)));
            }
            if !sc.params.is_object() {
                return Err((format!("detect.scorecards[{i}].params"), "must be a table".into()));
            }
        }
        if let Err(e) = regex::Regex::new(&self.expected_escalation_pattern) {
            return Err(("detect.expected_escalation_pattern".into(), format!("invalid regular expression: {e}")));
        }
        Ok(())
    }
}

impl RankWeights {
    /// Weights must be finite and non-negative.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (field, w) in [
            ("revenue_at_risk", self.revenue_at_risk),
            ("compliance_exposure", self.compliance_exposure),
            ("refund_amount", self.refund_amount),
            ("escalation_cost", self.escalation_cost),
        ] {
            if !w.is_finite() || w < 0.0 {
                return Err((format!("rank.{field}"), format!("{w} must be a non-negative number")));
            }
        }
        Ok(())
    }
}
