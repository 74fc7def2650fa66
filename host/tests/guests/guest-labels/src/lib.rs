//! Test guest: a scorecard that reports the conversation's labels (WIT 0.1.3
//! `labels.get`, read by the SDK into `Conversation::labels`) as flags
//! `label:KEY=VALUE`, fails when the label `verdict` is `bad`, and takes its
//! failure mode from the label `failure_mode`: so a test sees exactly what a
//! plugin was given.

use ratchet_sdk::{Conversation, CriterionResult, PluginInfo, Scorecard, ScorecardResult, Value};

/// The guest's scorecard.
pub struct Labels;

impl Scorecard for Labels {
    fn info() -> PluginInfo {
        PluginInfo::new("guest-labels", env!("CARGO_PKG_VERSION"), "reports the labels it was given")
    }

    fn score(c: &Conversation, _params: &Value) -> Result<ScorecardResult, String> {
        let check = match c.labels.get("verdict").map(String::as_str) {
            Some("bad") => CriterionResult::fail("label-verdict", "the conversation is labelled verdict=bad", None),
            _ => CriterionResult::pass("label-verdict", "no verdict=bad label"),
        };
        let mut r = ScorecardResult::from_criteria(vec![check]);
        r.flags = c.labels.iter().map(|(k, v)| format!("label:{k}={v}")).collect();
        if r.score < 1.0 {
            r.failure_mode = c.labels.get("failure_mode").cloned().or_else(|| Some("labelled-bad".into()));
        }
        Ok(r)
    }
}

ratchet_sdk::export_scorecard!(Labels);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natively_the_labels_are_the_conversations() {
        let mut c = Conversation::new("c", ratchet_sdk::Channel::Chat);
        c.labels.insert("verdict".into(), "bad".into());
        c.labels.insert("tier".into(), "gold".into());
        let r = Labels::score(&c, &Value::Null).unwrap();
        assert_eq!(r.flags, ["label:tier=gold", "label:verdict=bad"]);
        assert_eq!(r.failure_mode.as_deref(), Some("labelled-bad"));
    }
}
