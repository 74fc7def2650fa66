//! Tiers: keep the fast path fast while nothing is forgotten.
//!
//! From the run ledger (what the gate saw), the scenarios' provenance (what
//! production saw) and `[tiers]` in `ratchet.toml`, [`plan`] decides each
//! scenario's tier:
//!
//! * **pinned** scenarios (the smoke set) are always fast;
//! * a scenario idle — no failure in the ledger, no production hit, not created —
//!   for `archive_after_days` is **archived** (kept for audit, skipped by the gate
//!   unless asked; still matched by `promote` and `detect --match-suite`);
//! * idle for `demote_after_days`, it is **slow** (nightly);
//! * the others compete for the **fast** tier (every PR): ranked by value per second
//!   of replay — value from production hits, recent ledger failures and business
//!   impact — and taken while the tier stays within `fast_size` scenarios and its
//!   estimated wall time (recorded replay durations at `jobs` concurrency) within the
//!   PR budget: a greedy knapsack, every choice explained.
//!
//! Moves are applied by editing the files in place (history entry with when and why)
//! in one all-or-nothing batch; the last applied batch can be undone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{RankWeights, TierPolicy};
use crate::gate::ledger::LedgerEntry;
use crate::gate::ScenarioVerdict;
use crate::schema::{Scenario, Tier};
use crate::suite::store::{commit, lock, Pending, StoreError};
use crate::suite::Loaded;

/// What the plan knows about one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Facts {
    /// Scenario id.
    pub id: String,
    /// File, relative to the suite.
    pub file: String,
    /// Failure-mode cluster.
    pub failure_mode: String,
    /// Current tier.
    pub tier: Tier,
    /// Production hits.
    pub hits: u32,
    /// Latest activity (Unix s): ledger failure, production hit or creation.
    pub last_activity: Option<i64>,
    /// What that activity was.
    pub last_activity_kind: &'static str,
    /// Latest sign of the bug itself (Unix s): a ledger failure or a production hit.
    pub last_bug: Option<i64>,
    /// When it was last archived (Unix s), from its history.
    pub archived_at: Option<i64>,
    /// Ledger failures within `demote_after_days`.
    pub recent_failures: u32,
    /// Weighted impact cost.
    pub impact: f64,
    /// Estimated replay time, ms (latest ledger duration, else the median).
    pub duration_ms: u64,
    /// Whether `duration_ms` was recorded (not estimated).
    pub duration_known: bool,
    /// In the smoke set.
    pub pinned: bool,
    /// The value the fast tier ranks by.
    pub value: f64,
}

fn created_at(s: &Scenario) -> Option<i64> {
    let created = s.history.iter().find(|h| h.action == "created").and_then(|h| crate::time::parse_rfc3339(&h.at));
    created.or_else(|| s.provenance.first_seen.as_deref().and_then(crate::time::parse_rfc3339))
}

/// Gather the facts of every scenario of the suite.
pub fn facts(suite: &[Loaded], ledger: &[LedgerEntry], weights: &RankWeights, policy: &TierPolicy, now: i64) -> Vec<Facts> {
    let recent_from = now - i64::from(policy.demote_after_days) * 86_400;
    let mut last_failure: BTreeMap<&str, i64> = BTreeMap::new();
    let mut recent: BTreeMap<&str, u32> = BTreeMap::new();
    let mut durations: BTreeMap<&str, (i64, u64)> = BTreeMap::new();
    for e in ledger {
        let Some(at) = crate::time::parse_rfc3339(&e.at) else { continue };
        if at > now {
            continue;
        }
        if matches!(e.verdict, ScenarioVerdict::Fail | ScenarioVerdict::Flaky) {
            let t = last_failure.entry(e.scenario.as_str()).or_insert(at);
            *t = (*t).max(at);
            if at >= recent_from {
                *recent.entry(e.scenario.as_str()).or_default() += 1;
            }
        }
        if e.verdict != ScenarioVerdict::Error {
            let d = durations.entry(e.scenario.as_str()).or_insert((at, e.duration_ms));
            if at >= d.0 {
                *d = (at, e.duration_ms);
            }
        }
    }
    let mut known: Vec<u64> = suite.iter().filter_map(|l| durations.get(l.scenario.id.as_str()).map(|d| d.1)).collect();
    known.sort();
    let median = known.get(known.len() / 2).copied().unwrap_or(1000).max(1);
    suite
        .iter()
        .map(|l| {
            let s = &l.scenario;
            let i = &s.impact;
            let impact = weights.revenue_at_risk * i.revenue_at_risk
                + weights.compliance_exposure * i.compliance_exposure
                + weights.refund_amount * i.refund_amount
                + weights.escalation_cost * i.escalation_cost;
            let failed = last_failure.get(s.id.as_str()).copied();
            let hit = s.provenance.last_seen.as_deref().and_then(crate::time::parse_rfc3339);
            let last_bug = failed.max(hit);
            let candidates = [(failed, "failed in the ledger"), (hit, "hit in production"), (created_at(s), "created")];
            let (last_activity, last_activity_kind) =
                candidates.iter().filter_map(|(t, k)| t.map(|t| (t, *k))).max_by_key(|(t, _)| *t).map(|(t, k)| (Some(t), k)).unwrap_or((None, "none recorded"));
            let archived_at = s.history.iter().rev().find(|h| h.action == "archived").and_then(|h| crate::time::parse_rfc3339(&h.at));
            let recent_failures = recent.get(s.id.as_str()).copied().unwrap_or(0);
            let w = &policy.weights;
            let value = w.hits * (1.0 + f64::from(s.provenance.hits)).ln()
                + w.recent_failures * (1.0 + f64::from(recent_failures)).ln()
                + w.impact * (1.0 + impact.max(0.0)).log10();
            let (duration_ms, duration_known) = match durations.get(s.id.as_str()) {
                Some((_, d)) => ((*d).max(1), true),
                None => (median, false),
            };
            Facts {
                id: s.id.clone(),
                file: l.file.display().to_string(),
                failure_mode: s.failure_mode.clone(),
                tier: s.tier,
                hits: s.provenance.hits,
                last_activity,
                last_activity_kind,
                last_bug,
                archived_at,
                recent_failures,
                impact,
                duration_ms,
                duration_known,
                pinned: policy.pinned.contains(&s.id),
                value,
            }
        })
        .collect()
}

/// The decision for one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// The facts it rests on.
    pub facts: Facts,
    /// The tier it should be in.
    pub to: Tier,
    /// Why, in one sentence.
    pub why: String,
}

impl Decision {
    /// Whether the tier changes.
    pub fn moves(&self) -> bool {
        self.facts.tier != self.to
    }
}

/// The plan for the whole suite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// One decision per scenario, sorted by id.
    pub decisions: Vec<Decision>,
    /// Scenarios in the planned fast tier.
    pub fast_count: usize,
    /// Their summed replay time, ms.
    pub fast_work_ms: u64,
    /// Estimated wall time of the fast tier at `jobs` concurrency, ms.
    pub fast_wall_ms: u64,
    /// The budget, ms.
    pub budget_ms: u64,
}

/// Estimated wall time of replaying `durations` with `jobs` workers: the larger of
/// the even split and the longest single scenario.
pub fn wall_ms(durations: impl Iterator<Item = u64>, jobs: usize) -> u64 {
    let (sum, max) = durations.fold((0u64, 0u64), |(s, m), d| (s + d, m.max(d)));
    (sum.div_ceil(jobs.max(1) as u64)).max(max)
}

fn days(secs: i64) -> i64 {
    secs / 86_400
}

/// Decide every scenario's tier at `now` (Unix seconds).
pub fn plan(facts: Vec<Facts>, policy: &TierPolicy, now: i64) -> Plan {
    let budget_ms = policy.pr_budget_secs * 1000;
    let mut decisions: Vec<Decision> = Vec::with_capacity(facts.len());
    let mut contenders: Vec<Facts> = Vec::new();
    for f in facts {
        let idle = f.last_activity.map(|t| now - t);
        let idle_days = idle.map(days);
        let since = match (idle_days, f.last_activity_kind) {
            (Some(d), kind) => format!("last {kind} {d} day(s) ago"),
            (None, _) => "no dated activity".to_string(),
        };
        // An archived scenario comes back only when its bug does: a ledger failure or a
        // production hit after it was archived (or, with no archive date recorded,
        // within the demotion window). Being merely younger than the archive age is not
        // evidence (someone archived it on purpose).
        let archived_stays = f.tier == Tier::Archive && !f.pinned && {
            let since = f.archived_at.unwrap_or(now - i64::from(policy.demote_after_days) * 86_400);
            f.last_bug.is_none_or(|t| t <= since)
        };
        if f.pinned {
            decisions.push(Decision { to: Tier::Fast, why: "pinned: in the smoke set ([tiers] pinned)".into(), facts: f });
        } else if archived_stays {
            decisions.push(Decision { to: Tier::Archive, why: format!("archived, and its bug has not come back since ({since})"), facts: f });
        } else if idle_days.is_some_and(|d| d >= i64::from(policy.archive_after_days)) {
            decisions.push(Decision {
                to: Tier::Archive,
                why: format!("no failure and no production hit for {} days or more ({since})", policy.archive_after_days),
                facts: f,
            });
        } else if idle_days.is_some_and(|d| d >= i64::from(policy.demote_after_days)) {
            decisions.push(Decision {
                to: Tier::Slow,
                why: format!("no failure and no production hit for {} days or more ({since})", policy.demote_after_days),
                facts: f,
            });
        } else if idle.is_none() && f.tier != Tier::Fast {
            // Without any date, idleness cannot be shown: leave slow/archived ones alone.
            decisions.push(Decision {
                to: f.tier,
                why: "no dated activity (no ledger failure, last_seen or creation date): left where it is".into(),
                facts: f,
            });
        } else {
            contenders.push(f);
        }
    }
    // Pinned scenarios take their place in the budget first.
    let mut count = decisions.iter().filter(|d| d.to == Tier::Fast).count();
    let mut work: Vec<u64> = decisions.iter().filter(|d| d.to == Tier::Fast).map(|d| d.facts.duration_ms).collect();
    // Greedy knapsack: best value per second first.
    contenders.sort_by(|a, b| {
        let da = a.value / (a.duration_ms as f64 / 1000.0).max(0.001);
        let db = b.value / (b.duration_ms as f64 / 1000.0).max(0.001);
        db.total_cmp(&da).then(b.value.total_cmp(&a.value)).then(a.id.cmp(&b.id))
    });
    for (rank, f) in contenders.into_iter().enumerate() {
        let density = f.value / (f.duration_ms as f64 / 1000.0).max(0.001);
        let worth = format!("value {:.2} for {:.2} s ({:.2}/s, rank {} among active scenarios)", f.value, f.duration_ms as f64 / 1000.0, density, rank + 1);
        let with = wall_ms(work.iter().copied().chain([f.duration_ms]), policy.jobs);
        let (to, why) = if count >= policy.fast_size {
            (Tier::Slow, format!("active, but the fast tier is full ({} scenarios): {worth}", policy.fast_size))
        } else if with > budget_ms {
            (
                Tier::Slow,
                format!(
                    "active, but adding it would take the fast tier to {:.1} s, over the {} s PR budget: {worth}",
                    with as f64 / 1000.0,
                    policy.pr_budget_secs
                ),
            )
        } else {
            count += 1;
            work.push(f.duration_ms);
            (Tier::Fast, format!("in the fast tier: {worth}"))
        };
        decisions.push(Decision { facts: f, to, why });
    }
    decisions.sort_by(|a, b| a.facts.id.cmp(&b.facts.id));
    let fast: Vec<u64> = decisions.iter().filter(|d| d.to == Tier::Fast).map(|d| d.facts.duration_ms).collect();
    Plan { fast_count: fast.len(), fast_work_ms: fast.iter().sum(), fast_wall_ms: wall_ms(fast.iter().copied(), policy.jobs), budget_ms, decisions }
}

/// The history action for a move.
pub fn action(from: Tier, to: Tier) -> &'static str {
    match (from, to) {
        (Tier::Archive, _) => "resurrected",
        (_, Tier::Archive) => "archived",
        (Tier::Fast, Tier::Slow) => "demoted",
        (Tier::Slow, Tier::Fast) => "promoted-to-fast",
        _ => "moved",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: &str, idle_days: Option<i64>, value: f64, duration_ms: u64) -> Facts {
        Facts {
            id: id.into(),
            file: format!("{id}.toml"),
            failure_mode: "m".into(),
            tier: Tier::Fast,
            hits: 1,
            last_activity: idle_days.map(|d| 1_000_000_000 - d * 86_400),
            last_activity_kind: "created",
            last_bug: None,
            archived_at: None,
            recent_failures: 0,
            impact: 0.0,
            duration_ms,
            duration_known: true,
            pinned: false,
            value,
        }
    }

    #[test]
    fn rules_and_budget() {
        let p = TierPolicy { fast_size: 2, pr_budget_secs: 10, jobs: 1, pinned: vec!["pin".into()], ..Default::default() };
        let mut pin = f("pin", Some(500), 0.1, 3000);
        pin.pinned = true;
        let plan = plan(
            vec![
                f("old", Some(200), 9.0, 10),
                f("idle", Some(100), 9.0, 10),
                pin,
                f("a", Some(1), 5.0, 5000),
                f("b", Some(1), 1.0, 1000),
                f("c", Some(1), 0.5, 100),
            ],
            &p,
            1_000_000_000,
        );
        let to: BTreeMap<&str, Tier> = plan.decisions.iter().map(|d| (d.facts.id.as_str(), d.to)).collect();
        assert_eq!(to["old"], Tier::Archive);
        assert_eq!(to["idle"], Tier::Slow);
        assert_eq!(to["pin"], Tier::Fast);
        // c (5/s) first, then b (1/s) would make 3 fast: the size cap (2) leaves b and a slow.
        assert_eq!(to["c"], Tier::Fast);
        assert_eq!(to["b"], Tier::Slow);
        assert_eq!(to["a"], Tier::Slow);
        assert!(plan.fast_wall_ms <= plan.budget_ms);
        assert_eq!(wall_ms([4000, 1000, 1000].into_iter(), 2), 4000);
        assert_eq!(wall_ms([1000, 1000, 1000].into_iter(), 2), 1500);
    }
}

/// One applied move, as the undo log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Move {
    /// File, relative to the suite.
    pub file: String,
    /// Scenario id.
    pub id: String,
    /// Tier before.
    pub from: Tier,
    /// Tier after.
    pub to: Tier,
    /// Why.
    pub why: String,
}

/// The undo log of the last `tiers --apply`, inside the suite directory.
pub const UNDO_FILE: &str = ".ratchet-tiers-last.json";

#[derive(Serialize, Deserialize)]
struct UndoLog {
    at: String,
    moves: Vec<Move>,
}

fn tier_name(t: Tier) -> &'static str {
    match t {
        Tier::Fast => "fast",
        Tier::Slow => "slow",
        Tier::Archive => "archive",
    }
}

/// Set a scenario file's tier and append a history entry, keeping its comments.
fn edit(text: &str, to: Tier, at: &str, action: &str, detail: &str) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("not valid TOML: {e}"))?;
    let root = doc.as_table_mut();
    root.insert("tier", toml_edit::value(tier_name(to)));
    crate::suite::store::push_history(root, at, action, detail).map_err(|e| e.to_string())?;
    Ok(doc.to_string())
}

/// Apply `moves` to the suite at `dir` as one all-or-nothing batch under the suite
/// lock, the undo log included in the same batch (so it always describes the last
/// applied moves). Every file a move names — from the plan or from an undo log,
/// which anyone could have edited — is read and written only inside the suite and
/// never through a symlink. With no moves, only the lock is taken (which also tidies
/// what a killed writer left, see [`crate::suite::store::lock`]).
pub fn apply(dir: &std::path::Path, moves: &[Move], now: &str, lock_timeout: std::time::Duration) -> Result<(), StoreError> {
    let _lock = lock(dir, lock_timeout)?;
    if moves.is_empty() {
        return Ok(());
    }
    let mut pending: BTreeMap<std::path::PathBuf, Pending> = BTreeMap::new();
    for m in moves {
        let path = crate::fsutil::confined(dir, std::path::Path::new(&m.file)).map_err(StoreError::from)?;
        let text = std::fs::read_to_string(&path).map_err(|source| StoreError::Io { path: path.clone(), source })?;
        let current = Scenario::parse(&text, &path.display().to_string()).map_err(|e| StoreError::Edit { file: path.clone(), message: e.to_string() })?;
        if current.tier != m.from {
            return Err(StoreError::Edit {
                file: path,
                message: format!("its tier is `{}` now, not `{}` as planned: run tiers again", tier_name(current.tier), tier_name(m.from)),
            });
        }
        let new = edit(&text, m.to, now, action(m.from, m.to), &format!("{} → {}: {}", tier_name(m.from), tier_name(m.to), m.why))
            .map_err(|message| StoreError::Edit { file: path.clone(), message })?;
        Scenario::parse(&new, &path.display().to_string()).map_err(|e| StoreError::Edit { file: path.clone(), message: e.to_string() })?;
        if pending.insert(m.file.clone().into(), Pending::write(new, Some(text.into_bytes()))).is_some() {
            return Err(StoreError::Edit { file: path, message: "moved twice in one batch".into() });
        }
    }
    let log = UndoLog { at: now.to_string(), moves: moves.to_vec() };
    let undo = crate::fsutil::confined(dir, std::path::Path::new(UNDO_FILE))?;
    let original = std::fs::read(&undo).ok();
    pending.insert(UNDO_FILE.into(), Pending::write(serde_json::to_string_pretty(&log).expect("json"), original));
    commit(dir, &pending)
}

/// Why the last applied batch of tier moves cannot be undone; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum UndoError {
    /// The undo log's path leads out of the suite (a symlinked folder on the way).
    #[error(transparent)]
    Confined(#[from] crate::fsutil::FsError),
    /// No batch was applied (or it was undone already): the log is missing.
    #[error("{}: no applied tier moves to undo (the file is missing)", path.display())]
    NothingToUndo {
        /// Where the undo log would be.
        path: std::path::PathBuf,
    },
    /// The log cannot be read, or is not an undo log.
    #[error(transparent)]
    Invalid(#[from] crate::schema::SchemaError),
    /// A move in the log names a file outside the suite (the log was edited).
    #[error("{}: field `moves[{index}].file`: {source}", path.display())]
    OutsideSuite {
        /// The undo log.
        path: std::path::PathBuf,
        /// The move's position in the log.
        index: usize,
        /// Why its file is not inside the suite.
        source: crate::fsutil::FsError,
    },
}

/// The moves that undo the last applied batch (each scenario back to its tier before).
pub fn undo_moves(dir: &std::path::Path) -> Result<Vec<Move>, UndoError> {
    let path = crate::fsutil::confined(dir, std::path::Path::new(UNDO_FILE))?;
    if !path.exists() {
        return Err(UndoError::NothingToUndo { path });
    }
    let text = crate::schema::read_text(&path)?;
    let log: UndoLog = crate::schema::parse_json(&text, &path.display().to_string())?;
    for (index, m) in log.moves.iter().enumerate() {
        if let Err(source) = crate::fsutil::confined(dir, std::path::Path::new(&m.file)) {
            return Err(UndoError::OutsideSuite { path, index, source });
        }
    }
    Ok(log
        .moves
        .into_iter()
        .map(|m| Move { why: format!("undo of the tier moves applied at {}", log.at), from: m.to, to: m.from, file: m.file, id: m.id })
        .collect())
}
