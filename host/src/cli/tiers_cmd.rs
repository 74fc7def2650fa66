//! `ratchet tiers` (plan, and with `--apply` write, the fast/slow/archive tiers) and
//! `ratchet status` (the suite at a glance).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use serde_json::json;

use super::plugin_cmd::Format;
use super::{exit, CliError, CliResult};
use ratchet::config::Project;
use ratchet::gate::ledger;
use ratchet::schema::Tier;
use ratchet::suite;
use ratchet::tiers::{self, Move, Plan};

/// What `tiers` and `status` read: the suite, its run ledger, and when "now" is.
#[derive(Args)]
pub struct SuiteHistory {
    /// The suite directory.
    #[arg(long, default_value = "scenarios")]
    suite: PathBuf,
    /// The run ledger (default: <suite>/ledger.jsonl).
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// The time the rules are applied at (RFC 3339; default: now).
    #[arg(long)]
    now: Option<String>,
}

/// The plan at `now`, with ledger lines that were skipped.
struct Planned {
    plan: Plan,
    problems: Vec<String>,
    now: String,
    now_s: i64,
}

impl SuiteHistory {
    fn now(&self) -> String {
        self.now.clone().unwrap_or_else(ratchet::time::now_rfc3339)
    }

    /// Load suite + ledger and plan.
    fn plan(&self, project: &Project) -> Result<Planned, CliError> {
        let now = self.now();
        let now_s = ratchet::time::parse_rfc3339(&now).ok_or_else(|| CliError::usage(anyhow!("--now `{now}` is not an RFC 3339 time")))?;
        let all = suite::load(&self.suite).map_err(|errors| {
            let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            CliError::usage(anyhow!("{} invalid scenario file(s):\n{}", list.len(), list.join("\n")))
        })?;
        let ledger_path = self.ledger.clone().unwrap_or_else(|| self.suite.join("ledger.jsonl"));
        let (entries, problems) = ledger::read(&ledger_path).map_err(CliError::usage)?;
        let policy = &project.config.tiers;
        for id in &policy.pinned {
            if !all.iter().any(|l| &l.scenario.id == id) {
                return Err(CliError::usage(anyhow!("[tiers] pinned: no scenario `{id}` in {}", self.suite.display())));
            }
        }
        let facts = tiers::facts(&all, &entries, &project.config.rank, policy, now_s);
        Ok(Planned { plan: tiers::plan(facts, policy, now_s), problems, now, now_s })
    }
}

#[derive(Args)]
pub struct TiersArgs {
    #[command(flatten)]
    history: SuiteHistory,
    /// Write the moves (default: dry run, nothing changes).
    #[arg(long, conflicts_with = "undo")]
    apply: bool,
    /// Undo the last applied moves (each scenario back to its tier before).
    #[arg(long)]
    undo: bool,
    /// Explain every scenario's decision, not only the moves.
    #[arg(long)]
    explain: bool,
    /// `json` prints the plan on stdout.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

#[derive(Args)]
pub struct StatusArgs {
    #[command(flatten)]
    history: SuiteHistory,
    /// Scenarios within this many days of demotion or archive are listed.
    #[arg(long, default_value_t = 14)]
    warn_days: i64,
    /// `json` prints the status on stdout.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

fn name(t: Tier) -> &'static str {
    match t {
        Tier::Fast => "fast",
        Tier::Slow => "slow",
        Tier::Archive => "archive",
    }
}

fn secs(ms: u64) -> String {
    if ms >= 60_000 {
        format!("{:.1} min", ms as f64 / 60_000.0)
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// A suite change that did not happen: exit 75 when another process held the lock
/// (try again), else 2 (the message names the file).
fn store_error(e: ratchet::suite::store::StoreError) -> CliError {
    let code = if matches!(e, ratchet::suite::store::StoreError::Locked { .. }) { exit::BUSY } else { exit::USAGE };
    CliError { code, error: e.into() }
}

pub fn tiers(a: TiersArgs, config: Option<&Path>) -> CliResult {
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    let project = Project::discover(&cwd, config).map_err(CliError::usage)?;
    let suite_dir = &a.history.suite;
    if a.undo {
        let moves = tiers::undo_moves(suite_dir).map_err(|e| CliError::usage(anyhow!(e)))?;
        tiers::apply(suite_dir, &moves, &a.history.now(), Duration::from_secs(60)).map_err(store_error)?;
        eprintln!("undid {} tier move(s) in {}", moves.len(), suite_dir.display());
        return Ok(exit::OK);
    }
    let Planned { plan, problems, now, .. } = a.history.plan(&project)?;
    for p in &problems {
        eprintln!("warning: ledger line skipped: {p}");
    }
    let policy = &project.config.tiers;
    let moves: Vec<Move> = plan
        .decisions
        .iter()
        .filter(|d| d.moves())
        .map(|d| Move { file: d.facts.file.clone(), id: d.facts.id.clone(), from: d.facts.tier, to: d.to, why: d.why.clone() })
        .collect();
    if a.apply {
        // Taken even with nothing to move: the lock also finishes or tidies what a
        // killed writer left in the suite.
        tiers::apply(suite_dir, &moves, &now, Duration::from_secs(60)).map_err(store_error)?;
    }
    let count = |t: Tier| plan.decisions.iter().filter(|d| d.to == t).count();
    match a.format {
        Format::Json => {
            let out = json!({
                "now": now,
                "applied": a.apply,
                "fast": count(Tier::Fast), "slow": count(Tier::Slow), "archive": count(Tier::Archive),
                "fast_wall_ms": plan.fast_wall_ms, "fast_work_ms": plan.fast_work_ms, "budget_ms": plan.budget_ms, "jobs": policy.jobs,
                "moves": moves,
                "decisions": if a.explain { serde_json::to_value(&plan.decisions).unwrap_or_default() } else { serde_json::Value::Null },
            });
            outln!("{}", serde_json::to_string_pretty(&out).expect("json"));
        }
        Format::Text => {
            eprintln!(
                "{}: {} scenario(s) → fast {} (estimated {} at {} job(s), budget {}), slow {}, archive {}",
                suite_dir.display(),
                plan.decisions.len(),
                count(Tier::Fast),
                secs(plan.fast_wall_ms),
                policy.jobs,
                secs(plan.budget_ms),
                count(Tier::Slow),
                count(Tier::Archive)
            );
            let mut by_kind: BTreeMap<(&str, &str), Vec<&Move>> = BTreeMap::new();
            for m in &moves {
                by_kind.entry((name(m.from), name(m.to))).or_default().push(m);
            }
            if moves.is_empty() {
                eprintln!("no moves: every scenario is where the rules put it");
            }
            for ((from, to), list) in &by_kind {
                eprintln!("\n{from} → {to}: {}", list.len());
                let shown = if a.explain { list.len() } else { 10 };
                for m in list.iter().take(shown) {
                    eprintln!("  {}: {}", m.id, m.why);
                }
                if list.len() > shown {
                    eprintln!("  … {} more (--explain lists all)", list.len() - shown);
                }
            }
            if a.explain {
                eprintln!("\nevery decision:");
                for d in &plan.decisions {
                    eprintln!("  {:<7} {}: {}", name(d.to), d.facts.id, d.why);
                }
            }
            eprintln!(
                "\n{}",
                if a.apply {
                    "applied (every move is in the scenario's [[history]]; `ratchet tiers --undo` reverts)"
                } else {
                    "dry run: nothing changed (--apply writes the moves)"
                }
            );
        }
    }
    Ok(exit::OK)
}

pub fn status(a: StatusArgs, config: Option<&Path>) -> CliResult {
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    let project = Project::discover(&cwd, config).map_err(CliError::usage)?;
    let Planned { plan, now_s, .. } = a.history.plan(&project)?;
    let policy = &project.config.tiers;
    let facts: Vec<&tiers::Facts> = plan.decisions.iter().map(|d| &d.facts).collect();
    let count = |t: Tier| facts.iter().filter(|f| f.tier == t).count();
    let mut modes: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for f in &facts {
        let i = match f.tier {
            Tier::Fast => 0,
            Tier::Slow => 1,
            Tier::Archive => 2,
        };
        modes.entry(f.failure_mode.as_str()).or_default()[i] += 1;
    }
    let mut by_hits: Vec<&&tiers::Facts> = facts.iter().collect();
    by_hits.sort_by(|x, y| y.hits.cmp(&x.hits).then(x.id.cmp(&y.id)));
    let idle = |f: &tiers::Facts| f.last_activity.map(|t| (now_s - t) / 86_400);
    let near = |limit: u32, tiers_in: &[Tier]| -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = facts
            .iter()
            .filter(|f| tiers_in.contains(&f.tier) && !f.pinned)
            .filter_map(|f| idle(f).map(|d| (f.id.clone(), i64::from(limit) - d)))
            .filter(|(_, left)| *left > 0 && *left <= a.warn_days)
            .collect();
        v.sort_by(|x, y| x.1.cmp(&y.1).then(x.0.cmp(&y.0)));
        v
    };
    let near_demotion = near(policy.demote_after_days, &[Tier::Fast]);
    let near_archive = near(policy.archive_after_days, &[Tier::Fast, Tier::Slow]);
    let current_fast: Vec<u64> = facts.iter().filter(|f| f.tier == Tier::Fast).map(|f| f.duration_ms).collect();
    let current_wall = tiers::wall_ms(current_fast.iter().copied(), policy.jobs);
    let estimated = facts.iter().filter(|f| f.tier == Tier::Fast && !f.duration_known).count();
    let pending = plan.decisions.iter().filter(|d| d.moves()).count();
    // Scenarios that read alike but are different failures (not merged by promote).
    let related = match ratchet::promote::load_index(&a.history.suite) {
        Ok((entries, _)) => ratchet::promote::related(&entries, &project.config.promote),
        Err(e) => return Err(CliError::usage(anyhow!(e))),
    };
    match a.format {
        Format::Json => {
            let out = json!({
                "scenarios": facts.len(),
                "tiers": {"fast": count(Tier::Fast), "slow": count(Tier::Slow), "archive": count(Tier::Archive)},
                "failure_modes": modes.iter().map(|(m, c)| json!({"failure_mode": m, "fast": c[0], "slow": c[1], "archive": c[2]})).collect::<Vec<_>>(),
                "most_hit": by_hits.iter().take(5).map(|f| json!({"id": f.id, "hits": f.hits, "tier": name(f.tier)})).collect::<Vec<_>>(),
                "near_demotion": near_demotion.iter().map(|(id, d)| json!({"id": id, "days_left": d})).collect::<Vec<_>>(),
                "near_archive": near_archive.iter().map(|(id, d)| json!({"id": id, "days_left": d})).collect::<Vec<_>>(),
                "fast_wall_ms": current_wall, "budget_ms": plan.budget_ms, "jobs": policy.jobs, "fast_durations_estimated": estimated,
                "pending_moves": pending,
                "related": related.iter().take(20).collect::<Vec<_>>(),
            });
            outln!("{}", serde_json::to_string_pretty(&out).expect("json"));
        }
        Format::Text => {
            outln!(
                "{}: {} scenario(s) — fast {}, slow {}, archive {}",
                a.history.suite.display(),
                facts.len(),
                count(Tier::Fast),
                count(Tier::Slow),
                count(Tier::Archive)
            );
            let over = if current_wall > plan.budget_ms { " — OVER BUDGET: run `ratchet tiers`" } else { "" };
            outln!(
                "fast tier: estimated {} at {} job(s) of a {} PR budget ({} duration(s) estimated, not yet recorded){over}",
                secs(current_wall),
                policy.jobs,
                secs(plan.budget_ms),
                estimated
            );
            outln!("\nfailure mode                                    fast   slow archive");
            for (m, c) in &modes {
                outln!("{m:<46} {:>5} {:>6} {:>7}", c[0], c[1], c[2]);
            }
            outln!("\nmost hit in production:");
            for f in by_hits.iter().take(5) {
                outln!("  {:>5} hits  {} ({})", f.hits, f.id, name(f.tier));
            }
            for (title, list) in [("close to demotion (fast → slow)", &near_demotion), ("close to archive", &near_archive)] {
                outln!("\n{title}, within {} days: {}", a.warn_days, list.len());
                for (id, left) in list.iter().take(10) {
                    outln!("  {id}: {left} day(s) left");
                }
            }
            outln!("\nrelated (read alike, different failures: their criteria do not catch each other's runs): {}", related.len());
            for r in related.iter().take(10) {
                outln!("  {} ~ {} (similarity {:.2})", r.a, r.b, r.similarity.total);
            }
            outln!("\n{pending} move(s) pending: `ratchet tiers` shows them, `--apply` writes them");
        }
    }
    Ok(exit::OK)
}
