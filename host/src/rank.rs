//! `ratchet rank`: failure events grouped by failure mode and ranked by business
//! impact — the "start with the highest-cost failure" view.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::RankWeights;
use crate::schema::FailureEvent;

/// One failure mode's line in the ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeRank {
    /// The failure-mode cluster (`unclassified` when none was given).
    pub failure_mode: String,
    /// Events in the window.
    pub count: u64,
    /// Weighted cost: the ranking key.
    pub cost: f64,
    /// Sum of `impact.revenue_at_risk`.
    pub revenue_at_risk: f64,
    /// Sum of `impact.compliance_exposure`.
    pub compliance_exposure: f64,
    /// Sum of `impact.refund_amount`.
    pub refund_amount: f64,
    /// Sum of `impact.escalation_cost`.
    pub escalation_cost: f64,
    /// Currencies seen (amounts are summed as given; mixed currencies are flagged).
    pub currencies: Vec<String>,
    /// The costliest conversation of the mode: the one to regenerate first.
    pub example_conversation: String,
    /// Its event id.
    pub example_event: String,
}

/// Rank events. `window` = (from, to) in Unix seconds; events without a parsable
/// `detected_at` are counted in `undated` and left out.
pub fn rank(events: impl Iterator<Item = FailureEvent>, weights: &RankWeights, window: Option<(i64, i64)>) -> (Vec<ModeRank>, u64) {
    let mut modes: BTreeMap<String, (ModeRank, f64)> = BTreeMap::new();
    let mut undated = 0;
    for e in events {
        if let Some((from, to)) = window {
            match e.detected_at.as_deref().and_then(crate::time::parse_rfc3339) {
                Some(t) if t >= from && t <= to => {}
                Some(_) => continue,
                None => {
                    undated += 1;
                    continue;
                }
            }
        }
        let i = &e.conversation.impact;
        let cost = weights.revenue_at_risk * i.revenue_at_risk
            + weights.compliance_exposure * i.compliance_exposure
            + weights.refund_amount * i.refund_amount
            + weights.escalation_cost * i.escalation_cost;
        let name = e.failure_mode.clone().unwrap_or_else(|| "unclassified".into());
        let (m, best) = modes.entry(name.clone()).or_insert_with(|| {
            (
                ModeRank {
                    failure_mode: name,
                    count: 0,
                    cost: 0.0,
                    revenue_at_risk: 0.0,
                    compliance_exposure: 0.0,
                    refund_amount: 0.0,
                    escalation_cost: 0.0,
                    currencies: vec![],
                    example_conversation: String::new(),
                    example_event: String::new(),
                },
                f64::NEG_INFINITY,
            )
        });
        m.count += 1;
        m.cost += cost;
        m.revenue_at_risk += i.revenue_at_risk;
        m.compliance_exposure += i.compliance_exposure;
        m.refund_amount += i.refund_amount;
        m.escalation_cost += i.escalation_cost;
        if let Some(c) = &i.currency {
            if !m.currencies.contains(c) {
                m.currencies.push(c.clone());
                m.currencies.sort();
            }
        }
        // Costliest example; ties go to the smallest conversation id (deterministic).
        if cost > *best || (cost == *best && e.conversation.id < m.example_conversation) {
            *best = cost;
            m.example_conversation = e.conversation.id.clone();
            m.example_event = e.event_id.clone();
        }
    }
    let mut out: Vec<ModeRank> = modes.into_values().map(|(m, _)| m).collect();
    out.sort_by(|a, b| b.cost.total_cmp(&a.cost).then(b.count.cmp(&a.count)).then(a.failure_mode.cmp(&b.failure_mode)));
    (out, undated)
}
