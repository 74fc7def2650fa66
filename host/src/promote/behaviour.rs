//! Is a new failure one the suite already guards? Not "do the words look alike"
//! — support dialogues in one domain share most of their words — but "would the
//! scenario have caught it": the existing scenario's criteria, evaluated on the
//! candidate's recorded run, flag every kind of failure the candidate's own
//! criteria flag there; and the other way round, so neither loses coverage when
//! one is merged into the other.
//!
//! A criterion's *signature* is what it guards, without the values one scenario's
//! data fixes: the kind and the tool (`must-not-call-tool:create_return`), the
//! pattern, the tool order. Whether it applies to the other run is decided by
//! evaluating it, values included (`must-not-call-tool create_return` with
//! `order_id = "O-2"` does not fail on a run that returned order `O-7`).
//! `world-state` criteria are not evaluated here (that needs the simulator). When
//! a scenario's evaluable criteria say nothing about a run, its outcome checks
//! stand for the failure: each counts as failing, and is covered only by an
//! identical criterion of the other scenario (same path, same check, same value) —
//! repeats of one task share them, different tasks do not. Next to an evaluable
//! criterion that fails they add nothing: their values are what that behaviour did
//! to this one customer's world (an account id, an amount), and counting them would
//! keep every instance of one failure apart. `plugin` criteria are
//! not evaluated either: they never make two failures the same, and a scenario
//! whose only failing criteria are plugins is never merged.

use std::collections::BTreeMap;

use crate::config::ConversationConfig;
use crate::gate::criteria::{self, kind_name, AssertionPlugins, Context};
use crate::schema::{Check, Conversation, Scenario};

/// What a criterion guards, independent of the scenario's own values; `None` for
/// kinds this module does not evaluate (`world-state`, `plugin`).
pub fn signature(c: &Check) -> Option<String> {
    let target = match c {
        Check::MustCallTool { tool, .. } | Check::MustNotCallTool { tool, .. } => tool.clone(),
        Check::MustSay { pattern, .. } | Check::MustNotSay { pattern } => pattern.clone(),
        Check::ToolOrder { tools } => tools.join(">"),
        Check::MaxTurns { max } => max.to_string(),
        Check::MustEscalate {} | Check::MustNotEscalate {} => String::new(),
        Check::WorldState { .. } | Check::Plugin { .. } => return None,
    };
    Some(format!("{}:{target}", kind_name(c)))
}

/// The criteria of `s` that fail on `run`, by signature (each with the first
/// criterion id that has it). When none of the evaluable criteria fails, the
/// `world-state` criteria stand for the failure, by their whole check (see the
/// module doc), as if they failed.
pub fn failing(s: &Scenario, run: &Conversation, rules: &ConversationConfig) -> BTreeMap<String, String> {
    let plugins = AssertionPlugins::new();
    let ctx = Context::new(&plugins, rules);
    let mut out = BTreeMap::new();
    for c in &s.criteria {
        let Some(sig) = signature(&c.check) else { continue };
        if let Ok(o) = criteria::evaluate(c, run, &ctx) {
            if !o.passed {
                out.entry(sig).or_insert_with(|| c.id.clone());
            }
        }
    }
    if out.is_empty() {
        for c in &s.criteria {
            if let Check::WorldState { .. } = &c.check {
                let whole = crate::schema::canonical_json(&serde_json::to_value(&c.check).unwrap_or_default());
                out.entry(format!("world-state:{whole}")).or_insert_with(|| c.id.clone());
            }
        }
    }
    out
}

/// The first of `labels` both scenarios carry with different values, as (label,
/// existing's value, candidate's value): they are different situations (a contact
/// reason the platform assigned, say), so not one failure, whatever their criteria
/// say. `None` when no such label tells them apart.
pub fn other_situation(existing: &Scenario, candidate: &Scenario, labels: &[String]) -> Option<(String, String, String)> {
    labels.iter().find_map(|l| match (existing.labels.get(l), candidate.labels.get(l)) {
        (Some(a), Some(b)) if a != b => Some((l.clone(), a.clone(), b.clone())),
        _ => None,
    })
}

/// Why two scenarios are the same failure: for each direction, which of one's
/// criteria caught the other's run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SameFailure {
    /// Criterion ids of the existing scenario that fail on the candidate's run.
    pub existing_catches_candidate: Vec<String>,
    /// Criterion ids of the candidate that fail on the existing scenario's run.
    pub candidate_catches_existing: Vec<String>,
}

impl std::fmt::Display for SameFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "its criteria [{}] fail on the new run and the new scenario's [{}] fail on its run",
            self.existing_catches_candidate.join(", "),
            self.candidate_catches_existing.join(", ")
        )
    }
}

/// Whether `existing` and `candidate` guard the same failure: each one's criteria
/// fail on the other's recorded run with every signature the other fails with on
/// its own run. `None` when they do not, or cannot be compared (a recording is
/// missing, or nothing comparable fails).
pub fn same_failure(existing: &Scenario, candidate: &Scenario, rules: &ConversationConfig) -> Option<SameFailure> {
    let e_run = existing.recording.as_ref()?.conversation().ok()?;
    let c_run = candidate.recording.as_ref()?.conversation().ok()?;
    let covers = |judge: &Scenario, owner: &Scenario, run: &Conversation| -> Option<Vec<String>> {
        let own = failing(owner, run, rules);
        if own.is_empty() {
            return None;
        }
        let caught = failing(judge, run, rules);
        own.keys().all(|sig| caught.contains_key(sig)).then(|| caught.values().cloned().collect())
    };
    let existing_catches_candidate = covers(existing, candidate, &c_run)?;
    let candidate_catches_existing = covers(candidate, existing, &e_run)?;
    Some(SameFailure { existing_catches_candidate, candidate_catches_existing })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(criteria: &str, calls: &[(&str, &str)]) -> Scenario {
        let mut turns = vec![serde_json::json!({"role": "customer", "text": "please help"})];
        for (i, (tool, order)) in calls.iter().enumerate() {
            let id = format!("c{i}");
            turns.push(serde_json::json!({"role": "agent", "tool_calls": [{"id": id, "name": tool, "arguments": {"order_id": order}}]}));
            turns.push(serde_json::json!({"role": "tool", "tool_result": {"call_id": id, "name": tool, "content": {"ok": true}}}));
        }
        turns.push(serde_json::json!({"role": "agent", "text": "Done."}));
        let run = serde_json::json!({"id": "r", "channel": "chat", "turns": turns});
        let text = format!(
            "id = \"s\"\ntitle = \"t\"\nfailure_mode = \"m\"\n[[turns]]\ntext = \"please help\"\n{criteria}\n[recording]\nconversation_json = '''\n{}\n'''\n",
            serde_json::to_string_pretty(&run).unwrap()
        );
        Scenario::parse(&text, "t").unwrap()
    }

    const WRONG_RETURN_O2: &str =
        "[[criteria]]\nid = \"not-o2\"\nkind = \"must-not-call-tool\"\ntool = \"create_return\"\narguments = { order_id = \"O-2\" }\n";
    const WRONG_RETURN_O7: &str =
        "[[criteria]]\nid = \"not-o7\"\nkind = \"must-not-call-tool\"\ntool = \"create_return\"\narguments = { order_id = \"O-7\" }\n";
    const POLICY: &str = "[[criteria]]\nid = \"policy\"\nkind = \"must-say\"\npattern = \"(?i)policy\"\n";
    const NO_REFUND: &str = "[[criteria]]\nid = \"no-refund\"\nkind = \"must-not-call-tool\"\ntool = \"refund_order\"\n";

    #[test]
    fn the_same_task_merges_another_task_with_the_same_words_does_not() {
        let rules = ConversationConfig::default();
        let a = scenario(WRONG_RETURN_O2, &[("create_return", "O-2")]);
        let again = scenario(WRONG_RETURN_O2, &[("create_return", "O-2")]);
        let other_task = scenario(WRONG_RETURN_O7, &[("create_return", "O-7")]);
        let why = same_failure(&a, &again, &rules).expect("the same failure");
        assert_eq!(why.existing_catches_candidate, vec!["not-o2"]);
        assert!(same_failure(&a, &other_task, &rules).is_none(), "the wrong order differs: not caught");
    }

    #[test]
    fn world_state_criteria_match_only_their_twin() {
        let rules = ConversationConfig::default();
        let ws = |order: &str| {
            format!(
                "[world]\nsimulator = \"s\"\nstate = {{ orders = {{}} }}\n\n[[criteria]]\nid = \"cancelled\"\nkind = \"world-state\"\npath = \"/orders/{order}/status\"\nequals = \"cancelled\"\n"
            )
        };
        let a = scenario(&ws("O-1"), &[("get_order", "O-1")]);
        let again = scenario(&ws("O-1"), &[("get_order", "O-1")]);
        let other = scenario(&ws("O-9"), &[("get_order", "O-9")]);
        assert!(same_failure(&a, &again, &rules).is_some(), "the same outcome check: the same task");
        assert!(same_failure(&a, &other, &rules).is_none(), "another order: another task");
    }

    #[test]
    fn outcome_values_of_one_customer_do_not_split_a_failure_caught_otherwise() {
        // The demo's refund-without-supervisor-flag: every instance refunds (caught by
        // the same must-not-call-tool) and carries an outcome check on its own
        // account. The accounts differ; the failure is one.
        let rules = ConversationConfig::default();
        let with_outcome = |account: &str| {
            format!(
                "{NO_REFUND}[world]\nsimulator = \"s\"\nstate = {{ accounts = {{}} }}\n\n[[criteria]]\nid = \"no-refund-recorded\"\nkind = \"world-state\"\npath = \"/accounts/{account}/refunds\"\nunchanged = true\n"
            )
        };
        let a = scenario(&with_outcome("A-1"), &[("refund_order", "O-1")]);
        let b = scenario(&with_outcome("A-2"), &[("refund_order", "O-5")]);
        let why = same_failure(&a, &b, &rules).expect("one failure, two customers");
        assert_eq!(why.existing_catches_candidate, vec!["no-refund"]);
        // Where nothing evaluable fails the outcome check still decides (previous test).
    }

    #[test]
    fn a_situation_label_keeps_apart_what_the_criteria_would_merge() {
        let mut a = scenario(POLICY, &[]);
        let mut b = a.clone();
        let labels = vec!["contact_reason".to_string()];
        assert!(other_situation(&a, &b, &labels).is_none(), "no label: nothing to say");
        a.labels.insert("contact_reason".into(), "refund".into());
        assert!(other_situation(&a, &b, &labels).is_none(), "only one carries it");
        b.labels.insert("contact_reason".into(), "refund".into());
        assert!(other_situation(&a, &b, &labels).is_none(), "same situation");
        b.labels.insert("contact_reason".into(), "delivery".into());
        assert_eq!(other_situation(&a, &b, &labels), Some(("contact_reason".into(), "refund".into(), "delivery".into())));
        assert!(other_situation(&a, &b, &[]).is_none(), "not configured: labels do not count");
    }

    #[test]
    fn a_shared_generic_criterion_does_not_swallow_a_distinct_failure() {
        let rules = ConversationConfig::default();
        // Both fail "state the policy"; only the candidate also refunds.
        let existing = scenario(POLICY, &[]);
        let candidate = scenario(&format!("{POLICY}{NO_REFUND}"), &[("refund_order", "O-1")]);
        assert!(same_failure(&existing, &candidate, &rules).is_none(), "merging would lose the refund guard");
        // Without a recording nothing is compared (and nothing merged).
        let mut bare = existing.clone();
        bare.recording = None;
        assert!(same_failure(&bare, &existing, &rules).is_none());
    }
}
