//! `ratchet rank`: failure events grouped by failure mode and ranked by business
//! impact — the "start with the highest-cost failure" view.
//!
//! Exports are not all complete: an event may carry no time (no `detected_at`, no
//! `started_at`) or no impact at all. An undated event cannot be placed in a
//! window, so it is counted whatever the window, in input order; when no event
//! carries an impact the modes are ranked by how often they failed. [`Ranking`]
//! says which, so the output can say it instead of printing a column of zeros.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::RankWeights;
use crate::schema::{FailureEvent, Impact};

/// One failure mode's line in the ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeRank {
    /// The failure-mode cluster (`unclassified` when none was given).
    pub failure_mode: String,
    /// Events in the window.
    pub count: u64,
    /// Weighted cost: the ranking key when any event carries an impact.
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
    /// The conversation to regenerate first: the costliest of the mode, or the first
    /// in input order when no event of the ranking carries an impact.
    pub example_conversation: String,
    /// Its event id.
    pub example_event: String,
}

/// What the modes are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RankedBy {
    /// Weighted cost, then count: some event carries an impact.
    Cost,
    /// Count: no event carries an impact (every amount absent or 0), so a cost
    /// column would be all zeros and rank nothing.
    Count,
}

/// The ranking and what it rests on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranking {
    /// The modes, first to fix first.
    pub modes: Vec<ModeRank>,
    /// What `modes` is ordered by.
    pub ranked_by: RankedBy,
    /// Events ranked.
    pub events: u64,
    /// Of those, events with no time (neither `detected_at` nor the conversation's
    /// `started_at`): counted whatever the window says, in input order.
    pub undated: u64,
    /// Of those, events without any impact amount.
    pub without_impact: u64,
    /// Dated events outside the window: left out.
    pub outside_window: u64,
}

/// A sum that stays a number: amounts are finite (checked when read) but a sum or a
/// weighted product of huge ones could overflow; it stops at the largest `f64`.
fn add(a: f64, b: f64) -> f64 {
    let s = a + b;
    if s.is_finite() {
        s
    } else {
        f64::MAX
    }
}

fn weighted(w: f64, x: f64) -> f64 {
    let p = w * x;
    if p.is_finite() {
        p
    } else if p.is_nan() {
        0.0
    } else {
        f64::MAX
    }
}

fn has_impact(i: &Impact) -> bool {
    i.revenue_at_risk > 0.0 || i.compliance_exposure > 0.0 || i.refund_amount > 0.0 || i.escalation_cost > 0.0
}

/// Rank events. `window` = (from, to) in Unix seconds applies to events with a time
/// ([`FailureEvent::time`]); events without one are ranked and counted in `undated`.
pub fn rank(events: impl Iterator<Item = FailureEvent>, weights: &RankWeights, window: Option<(i64, i64)>) -> Ranking {
    // Per mode: the line, the cost of its costliest example, and its first event in
    // input order (the example when the ranking is by count).
    let mut modes: BTreeMap<String, (ModeRank, f64, (String, String))> = BTreeMap::new();
    let mut r = Ranking { modes: Vec::new(), ranked_by: RankedBy::Count, events: 0, undated: 0, without_impact: 0, outside_window: 0 };
    for e in events {
        match (e.time(), window) {
            (Some(t), Some((from, to))) if t < from || t > to => {
                r.outside_window += 1;
                continue;
            }
            (None, _) => r.undated += 1,
            _ => {}
        }
        r.events += 1;
        let i = &e.conversation.impact;
        if !has_impact(i) {
            r.without_impact += 1;
        }
        let cost = [
            weighted(weights.revenue_at_risk, i.revenue_at_risk),
            weighted(weights.compliance_exposure, i.compliance_exposure),
            weighted(weights.refund_amount, i.refund_amount),
            weighted(weights.escalation_cost, i.escalation_cost),
        ]
        .into_iter()
        .fold(0.0, add);
        let name = e.failure_mode.clone().unwrap_or_else(|| "unclassified".into());
        let first = (e.conversation.id.clone(), e.event_id.clone());
        let (m, best, _) = modes.entry(name.clone()).or_insert_with(|| {
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
                first,
            )
        });
        m.count += 1;
        m.cost = add(m.cost, cost);
        m.revenue_at_risk = add(m.revenue_at_risk, i.revenue_at_risk);
        m.compliance_exposure = add(m.compliance_exposure, i.compliance_exposure);
        m.refund_amount = add(m.refund_amount, i.refund_amount);
        m.escalation_cost = add(m.escalation_cost, i.escalation_cost);
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
    r.ranked_by = if r.events > r.without_impact { RankedBy::Cost } else { RankedBy::Count };
    let by_count = r.ranked_by == RankedBy::Count;
    let mut out: Vec<ModeRank> = modes
        .into_values()
        .map(|(mut m, _, (conversation, event))| {
            if by_count {
                m.example_conversation = conversation;
                m.example_event = event;
            }
            m
        })
        .collect();
    match r.ranked_by {
        RankedBy::Cost => out.sort_by(|a, b| b.cost.total_cmp(&a.cost).then(b.count.cmp(&a.count)).then(a.failure_mode.cmp(&b.failure_mode))),
        RankedBy::Count => out.sort_by(|a, b| b.count.cmp(&a.count).then(a.failure_mode.cmp(&b.failure_mode))),
    }
    r.modes = out;
    r
}
