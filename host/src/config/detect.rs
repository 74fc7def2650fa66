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
    /// `[detect.impact_from_labels]`: impact amounts taken from a conversation's
    /// labels, when the platform records them as labels (an order value, a refund).
    pub impact_from_labels: ImpactFromLabels,
}

/// `[detect.impact_from_labels]`: for each impact field, the label that holds it
/// (e.g. `refund_amount = "refund_usd"`). A conversation carrying the label gets
/// the field from it (a label that is not a non-negative number rejects the
/// conversation, naming the label); without the label the field is left as the
/// source set it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImpactFromLabels {
    /// Label for `impact.revenue_at_risk`.
    pub revenue_at_risk: Option<String>,
    /// Label for `impact.refund_amount`.
    pub refund_amount: Option<String>,
    /// Label for `impact.compliance_exposure`.
    pub compliance_exposure: Option<String>,
    /// Label for `impact.escalation_cost`.
    pub escalation_cost: Option<String>,
    /// Label for `impact.currency` (an ISO 4217 code, taken as written).
    pub currency: Option<String>,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            scorecards: Vec::new(),
            flag_unexpected_escalation: true,
            // A request, not a word: "get me a manager" and "speak to an agent", not
            // "password manager", "free it up for someone else" or "proceeding with
            // an agent review" (host/tests/golden/human-request/ holds both lists).
            expected_escalation_pattern: concat!(
                r"(?i)\b(?:(?:want|need|get me|give me|get|see|reach|to|with|for|is there) (?:a|an|the|your|some) (?:human|supervisor|manager|operator)",
                r"|any human|(?:real|actual|live|human) (?:person|human|being)|human (?:being|agent)|(?:live|real|human) agent",
                r"|(?:a|an|the|your|to|customer) (?:representative|rep)",
                r"|(?:speak|talk|chat)(?:ing)? (?:to|with) (?:someone|somebody|an? agent|the agent|your agent|a person|a real|an actual)",
                r"|(?:a|any) person (?:i|we) (?:can|could) (?:speak|talk)",
                r"|(?:transfer|connect|put)(?:red|ed)? me (?:to|with|through to) (?:an? |the |your )?(?:agent|human|person|someone|somebody)",
                r"|someone (?:real|human)|human\W*(?:please|now))\b|\brepresentative\W*(?:please\W*)?$",
            )
            .into(),
            flag_compliance: true,
            flag_complaint: true,
            impact_from_labels: ImpactFromLabels::default(),
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
