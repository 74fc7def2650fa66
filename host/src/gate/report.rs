//! Gate reports: the JSON result file (input to `report merge` and to the tiers
//! logic), JUnit XML for CI systems, a Markdown summary for PR comments and
//! `$GITHUB_STEP_SUMMARY`, and the HTML page ([`super::html`]). Files are written to a
//! temporary name and renamed.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::{Deserialize, Serialize};

use super::markdown as md;
use super::{ScenarioResult, ScenarioVerdict};
use crate::llm::broker::BrokerStats;
use crate::llm::ModelUsage;
use crate::schema::{Role, SchemaVersion};
use crate::suite::{Filter, Shard};

/// The gate's result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// Version of this format.
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// The agent under test, as it identified itself.
    pub agent: String,
    /// What was selected (tier, tags...), for humans.
    pub selection: String,
    /// Shards this report covers (several after a merge).
    #[serde(default)]
    pub shards: Vec<Shard>,
    /// Scenarios in the whole selection, every shard together: what `report merge`
    /// checks the shards add up to (shards split from different ledgers would not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection_size: Option<usize>,
    /// Attempts per scenario.
    pub repeat: u32,
    /// Per-scenario results, sorted by id.
    pub scenarios: Vec<ScenarioResult>,
    /// Counts.
    pub summary: Summary,
    /// Requests, tokens, latency and cost of a model endpoint (openai driver only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_usage: Option<ModelUsage>,
    /// Answers of LLM-judged criteria: replayed, recorded, failed, and the live usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge: Option<BrokerStats>,
}

/// A ticket-ready item for one scenario that did not pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// Scenario id.
    pub scenario: String,
    /// Ticket title.
    pub title: String,
    /// Failure-mode cluster (a label for the tracker).
    pub failure_mode: String,
    /// fail, flaky or error.
    pub verdict: ScenarioVerdict,
    /// One line: the failing criterion and its reason.
    pub summary: String,
    /// The scenario file, relative to the suite.
    pub file: String,
    /// The ticket body (Markdown).
    pub markdown: String,
}

/// Counts per verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Scenarios selected.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed.
    pub failed: usize,
    /// Flaky.
    pub flaky: usize,
    /// Error.
    pub error: usize,
    /// Not run (budget).
    pub not_run: usize,
}

impl Summary {
    /// Count `results`.
    pub fn of(results: &[ScenarioResult]) -> Summary {
        let n = |v: ScenarioVerdict| results.iter().filter(|r| r.verdict == v).count();
        Summary {
            total: results.len(),
            passed: n(ScenarioVerdict::Pass),
            failed: n(ScenarioVerdict::Fail),
            flaky: n(ScenarioVerdict::Flaky),
            error: n(ScenarioVerdict::Error),
            not_run: n(ScenarioVerdict::NotRun),
        }
    }

    /// Whether the deploy may proceed: everything selected ran and passed.
    pub fn gate_passes(&self) -> bool {
        self.passed == self.total
    }
}

impl GateReport {
    /// Assemble a report from results.
    pub fn new(agent: String, filter: &Filter, shard: Option<Shard>, repeat: u32, mut scenarios: Vec<ScenarioResult>) -> GateReport {
        scenarios.sort_by(|a, b| a.id.cmp(&b.id));
        let summary = Summary::of(&scenarios);
        GateReport {
            schema_version: Default::default(),
            agent,
            selection: describe(filter),
            shards: shard.into_iter().collect(),
            selection_size: None,
            repeat,
            scenarios,
            summary,
            model_usage: None,
            judge: None,
        }
    }

    /// Combine the shard reports of one run (each named by its origin, for messages)
    /// into the report of the whole run. Refuses reports of different agents,
    /// selections or repeat counts; a set of shards that is incomplete (a shard
    /// missing), overlapping (a shard or a scenario twice) or mixes splits (`1/2`
    /// with `1/4`); a whole run (no shard) with anything else; and shards that do not
    /// add up to the selection they were split from.
    pub fn merge(reports: Vec<(String, GateReport)>) -> Result<GateReport, MergeError> {
        check_shards(&reports)?;
        let mut it = reports.into_iter();
        let (first, mut merged) = it.next().ok_or(MergeError::Nothing)?;
        let mut origin_of: std::collections::BTreeMap<String, String> = merged.scenarios.iter().map(|s| (s.id.clone(), first.clone())).collect();
        // An empty shard (more shards than scenarios) started no agent, so its report
        // names the agent config, not the identity the agent announces: it takes the
        // agent of the shards that ran, and is not compared with them.
        let mut agent_from = first.clone();
        for (origin, r) in it {
            if merged.scenarios.is_empty() && !r.scenarios.is_empty() {
                merged.agent = r.agent.clone();
                agent_from = origin.clone();
            } else if r.agent != merged.agent && !r.scenarios.is_empty() {
                return Err(MergeError::OtherAgent { origin, agent: r.agent, expected: merged.agent, first: agent_from });
            }
            if r.selection != merged.selection || r.repeat != merged.repeat {
                return Err(MergeError::OtherRun {
                    origin,
                    run: format!("`{}` (repeat {})", r.selection, r.repeat),
                    expected: format!("`{}` (repeat {})", merged.selection, merged.repeat),
                    first,
                });
            }
            for s in r.scenarios {
                if let Some(other) = origin_of.get(&s.id) {
                    return Err(MergeError::ScenarioTwice { origin, id: s.id, other: other.clone() });
                }
                origin_of.insert(s.id.clone(), origin.clone());
                merged.scenarios.push(s);
            }
            merged.shards.extend(r.shards);
            if let Some(u) = &r.model_usage {
                merged.model_usage.get_or_insert_with(ModelUsage::default).merge(u);
            }
            if let Some(j) = &r.judge {
                merged.judge.get_or_insert_with(BrokerStats::default).merge(j);
            }
        }
        merged.scenarios.sort_by(|a, b| a.id.cmp(&b.id));
        merged.shards.sort_by_key(|s| s.index);
        if let Some(n) = merged.selection_size.filter(|n| *n != merged.scenarios.len()) {
            return Err(MergeError::DifferentLedgers { held: merged.scenarios.len(), selected: n });
        }
        merged.summary = Summary::of(&merged.scenarios);
        Ok(merged)
    }

    /// JUnit XML: one testsuite per tier, one testcase per scenario (classname = failure mode).
    pub fn junit(&self) -> String {
        let mut report = Report::new("ratchet gate");
        for tier in ["fast", "slow", "archive"] {
            let in_tier: Vec<&ScenarioResult> = self.scenarios.iter().filter(|s| format!("{:?}", s.tier).to_lowercase() == tier).collect();
            if in_tier.is_empty() {
                continue;
            }
            let mut suite = TestSuite::new(format!("ratchet.{tier}"));
            for s in in_tier {
                let status = match s.verdict {
                    ScenarioVerdict::Pass => TestCaseStatus::success(),
                    ScenarioVerdict::NotRun => {
                        let mut st = TestCaseStatus::skipped();
                        st.set_message("not run: the time budget ran out");
                        st
                    }
                    v => {
                        let kind = if v == ScenarioVerdict::Error { NonSuccessKind::Error } else { NonSuccessKind::Failure };
                        let mut st = TestCaseStatus::non_success(kind);
                        st.set_message(headline(s));
                        st.set_type(v.label());
                        st.set_description(details(s));
                        st
                    }
                };
                let mut case = TestCase::new(s.id.clone(), status);
                case.set_classname(s.failure_mode.clone());
                case.set_time(Duration::from_millis(s.duration_ms()));
                suite.add_test_case(case);
            }
            report.add_test_suite(suite);
        }
        report.to_string().unwrap_or_else(|e| format!("<!-- cannot serialise JUnit: {e} -->"))
    }

    /// Markdown summary for a PR comment or `$GITHUB_STEP_SUMMARY`.
    pub fn markdown(&self) -> String {
        let s = &self.summary;
        let mut out = String::new();
        let icon = if s.gate_passes() { "✅ ratchet gate passed" } else { "❌ ratchet gate failed: deploy blocked" };
        let _ = writeln!(out, "## {icon}\n");
        let _ = writeln!(
            out,
            "Agent {} · {} · {} scenario(s): **{} passed**, {} failed, {} flaky, {} error, {} not run\n",
            md::code(&self.agent),
            md::text(&self.selection),
            s.total,
            s.passed,
            s.failed,
            s.flaky,
            s.error,
            s.not_run
        );
        let bad: Vec<&ScenarioResult> = self.scenarios.iter().filter(|r| r.verdict != ScenarioVerdict::Pass).collect();
        if !bad.is_empty() {
            let _ = writeln!(out, "| verdict | scenario | failure mode | criterion | turn | reason |\n|---|---|---|---|---|---|");
            for r in &bad {
                let failing = r.failing();
                if failing.is_empty() {
                    let why = r.attempts.iter().find_map(|a| a.error.clone()).unwrap_or_else(|| r.verdict.label().to_string());
                    let _ = writeln!(out, "| {} | {} | {} | | | {} |", r.verdict.label(), md::code(&r.id), md::text(&r.failure_mode), md::text(&why));
                }
                for c in failing {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {} | {} |",
                        r.verdict.label(),
                        md::code(&r.id),
                        md::text(&r.failure_mode),
                        md::code(&c.id),
                        c.turn.map(|t| t.to_string()).unwrap_or_default(),
                        md::text(&c.reason)
                    );
                }
            }
        }
        out
    }

    /// The self-contained HTML report (see [`super::html`]): what a person opens after a run.
    pub fn html(&self) -> String {
        super::html::render(self)
    }

    /// One ticket per scenario that did not pass (fail, flaky, error): what a nightly
    /// slow-tier run files instead of blocking a deploy.
    pub fn tickets(&self) -> Vec<Ticket> {
        self.scenarios
            .iter()
            .filter(|r| matches!(r.verdict, ScenarioVerdict::Fail | ScenarioVerdict::Flaky | ScenarioVerdict::Error))
            .map(|r| {
                let title = format!("[ratchet] {} {}: {}", r.verdict.label(), r.id, r.failure_mode);
                let mut body = String::new();
                let _ = writeln!(body, "# [ratchet] {} {}: {}\n", r.verdict.label(), md::text(&r.id), md::text(&r.failure_mode));
                let what = match r.verdict {
                    ScenarioVerdict::Fail => "failed",
                    ScenarioVerdict::Flaky => "was flaky (repeats disagreed)",
                    _ => "could not be run",
                };
                let _ = writeln!(
                    body,
                    "The regression scenario {} ({}) {what} against {} ({}).\n",
                    md::code(&r.id),
                    md::text(&r.title),
                    md::code(&self.agent),
                    md::text(&self.selection)
                );
                let _ = writeln!(
                    body,
                    "- **failure mode**: {}\n- **tier**: {}\n- **scenario file**: {}",
                    md::text(&r.failure_mode),
                    format!("{:?}", r.tier).to_lowercase(),
                    md::code(&r.file)
                );
                let _ = writeln!(body, "- **why**: {}\n", md::text(&headline(r)));
                let _ = writeln!(body, "{}", md::block(&details(r)));
                let _ = writeln!(body, "Reproduce: {}", md::code(&format!("ratchet gate --agent <agent.toml> --id {}", r.id)));
                Ticket {
                    scenario: r.id.clone(),
                    title,
                    failure_mode: r.failure_mode.clone(),
                    verdict: r.verdict,
                    summary: headline(r),
                    file: r.file.clone(),
                    markdown: body,
                }
            })
            .collect()
    }

    /// The terminal summary lines.
    pub fn terminal(&self) -> String {
        let mut out = String::new();
        for r in self.scenarios.iter().filter(|r| r.verdict != ScenarioVerdict::Pass) {
            let _ = writeln!(out, "{:<7} {} ({})", r.verdict.label().to_uppercase(), r.id, r.failure_mode);
            let _ = write!(out, "{}", indent(&details(r), "        "));
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "\n{} scenario(s): {} passed, {} failed, {} flaky, {} error, {} not run — {}",
            s.total,
            s.passed,
            s.failed,
            s.flaky,
            s.error,
            s.not_run,
            if s.gate_passes() { "gate passed" } else { "gate FAILED: deploy blocked" }
        );
        out
    }
}

/// The shards of `reports` must be exactly `1/n..n/n` of one `n`, each once (a
/// report without shards is a whole run and must be alone); every report must give
/// the same selection size.
/// Why shard reports do not combine into one run's report (`ratchet gate --merge`).
/// Each names the report (its origin, e.g. the file) that does not fit.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// No report was given.
    #[error("nothing to merge")]
    Nothing,
    /// A whole run (no `--shard`) given with other reports: it overlaps all of them.
    #[error("{origin}: a whole run (no --shard), it overlaps every other report given")]
    WholeRunWithOthers {
        /// The whole run's origin.
        origin: String,
    },
    /// Shards split from selections of different sizes.
    #[error("{origin}: split from a selection of {size} scenario(s), {first} from {expected}: not shards of one run")]
    OtherSelection {
        /// The report that differs.
        origin: String,
        /// Its selection's size.
        size: String,
        /// The first report's selection size.
        expected: String,
        /// The first report's origin.
        first: String,
    },
    /// Shards of different splits (`1/2` with `1/4`).
    #[error("{origin}: shard {index}/{count} of a split in {count}, but {first} is of a split in {expected}")]
    OtherSplit {
        /// The report that differs.
        origin: String,
        /// Its shard index.
        index: u32,
        /// Its shard count.
        count: u32,
        /// The first report's origin.
        first: String,
        /// The first report's shard count.
        expected: u32,
    },
    /// One shard given twice.
    #[error("{origin}: shard {index}/{count} is also in {other} (overlapping shards)")]
    ShardTwice {
        /// The second report holding it.
        origin: String,
        /// The shard's index.
        index: u32,
        /// The shard count.
        count: u32,
        /// The first report holding it.
        other: String,
    },
    /// Shards missing: a merge of some shards is not the gate's verdict.
    #[error("incomplete: shard(s) {missing} missing (given: {given}); a merge of some shards is not the gate's verdict")]
    Incomplete {
        /// The missing shards (`2/4, 3/4`).
        missing: String,
        /// The shards given, with their origins.
        given: String,
    },
    /// A report of another agent.
    #[error("{origin}: a report of agent `{agent}`, not `{expected}` like {first}")]
    OtherAgent {
        /// The report that differs.
        origin: String,
        /// Its agent.
        agent: String,
        /// The agent of the reports that ran scenarios so far.
        expected: String,
        /// The report that agent was taken from (the first that ran scenarios).
        first: String,
    },
    /// A report of another selection or repeat count.
    #[error("{origin}: a run of {run}, not {expected} like {first}: not shards of one run")]
    OtherRun {
        /// The report that differs.
        origin: String,
        /// Its selection and repeat count.
        run: String,
        /// The first report's selection and repeat count.
        expected: String,
        /// The first report's origin.
        first: String,
    },
    /// One scenario in two shards.
    #[error("{origin}: scenario `{id}` is also in {other} (overlapping shards)")]
    ScenarioTwice {
        /// The second report holding it.
        origin: String,
        /// The scenario's id.
        id: String,
        /// The first report holding it.
        other: String,
    },
    /// The shards do not add up to the selection they were split from.
    #[error(
        "the shards hold {held} scenario(s) but the selection they were split from had {selected}: they were balanced on different ledgers \
         (a shard that started after another appended its durations). Run every shard from the same ledger, e.g. with --no-ledger"
    )]
    DifferentLedgers {
        /// Scenarios in the shards.
        held: usize,
        /// Scenarios in the selection.
        selected: usize,
    },
}

fn check_shards(reports: &[(String, GateReport)]) -> Result<(), MergeError> {
    let Some((first, head)) = reports.first() else { return Err(MergeError::Nothing) };
    if let Some((whole, _)) = reports.iter().find(|(_, r)| r.shards.is_empty()) {
        if reports.len() > 1 {
            return Err(MergeError::WholeRunWithOthers { origin: whole.clone() });
        }
        return Ok(());
    }
    let count = head.shards[0].count;
    let mut seen: std::collections::BTreeMap<u32, &str> = std::collections::BTreeMap::new();
    for (origin, r) in reports {
        if r.selection_size != head.selection_size {
            return Err(MergeError::OtherSelection {
                origin: origin.clone(),
                size: format!("{:?}", r.selection_size),
                expected: format!("{:?}", head.selection_size),
                first: first.clone(),
            });
        }
        for sh in &r.shards {
            if sh.count != count {
                return Err(MergeError::OtherSplit { origin: origin.clone(), index: sh.index, count: sh.count, first: first.clone(), expected: count });
            }
            if let Some(other) = seen.insert(sh.index, origin) {
                return Err(MergeError::ShardTwice { origin: origin.clone(), index: sh.index, count, other: other.to_string() });
            }
        }
    }
    let missing: Vec<String> = (1..=count).filter(|i| !seen.contains_key(i)).map(|i| format!("{i}/{count}")).collect();
    if !missing.is_empty() {
        return Err(MergeError::Incomplete {
            missing: missing.join(", "),
            given: seen.iter().map(|(i, o)| format!("{i}/{count} in {o}")).collect::<Vec<_>>().join(", "),
        });
    }
    Ok(())
}

fn describe(f: &Filter) -> String {
    let mut parts = vec![format!("tier {}", f.tier.map(|t| format!("{t:?}").to_lowercase()).unwrap_or_else(|| "all".into()))];
    if !f.tags.is_empty() {
        parts.push(format!("tags {}", f.tags.join(",")));
    }
    if !f.failure_modes.is_empty() {
        parts.push(format!("failure modes {}", f.failure_modes.join(",")));
    }
    if !f.ids.is_empty() {
        parts.push(format!("ids {}", f.ids.join(",")));
    }
    parts.join(", ")
}

fn indent(s: &str, pad: &str) -> String {
    s.lines().map(|l| format!("{pad}{l}\n")).collect()
}

/// One line: the first failing criterion (or the error).
pub fn headline(r: &ScenarioResult) -> String {
    if r.verdict == ScenarioVerdict::Flaky {
        let v: Vec<&str> = r.attempts.iter().map(|a| a.verdict.label()).collect();
        return format!("flaky: repeats disagreed ({})", v.join(", "));
    }
    if let Some(c) = r.failing().first() {
        return format!("criterion `{}` failed{}: {}", c.id, c.turn.map(|t| format!(" at turn {t}")).unwrap_or_default(), c.reason);
    }
    r.attempts.iter().find_map(|a| a.error.clone()).unwrap_or_else(|| r.verdict.label().into())
}

/// Failing criteria, replay notes, and the transcript excerpt around the failing turn.
pub fn details(r: &ScenarioResult) -> String {
    let mut out = String::new();
    let Some(a) = r.attempts.iter().find(|a| a.verdict != ScenarioVerdict::Pass) else { return out };
    if r.verdict == ScenarioVerdict::Flaky {
        let _ = writeln!(out, "{}", headline(r));
    }
    if let Some(e) = &a.error {
        let _ = writeln!(out, "error: {e}");
    }
    for c in a.criteria.iter().filter(|c| !c.passed) {
        let _ = writeln!(out, "✗ {} [{}]{}: {}", c.id, c.kind, c.turn.map(|t| format!(" turn {t}")).unwrap_or_default(), c.reason);
    }
    for n in &a.notes {
        let _ = writeln!(out, "! {:?} at turn {}: {} {} {}", n.kind, n.turn, n.tool, n.version.clone().unwrap_or_default(), n.arguments);
    }
    if let Some(t) = &a.transcript {
        let focus = a.criteria.iter().filter(|c| !c.passed).find_map(|c| c.turn).map(|x| x as usize);
        let (from, to) = match focus {
            Some(f) => (f.saturating_sub(3), (f + 2).min(t.turns.len())),
            None => (t.turns.len().saturating_sub(4), t.turns.len()),
        };
        let _ = writeln!(out, "transcript (turns {from}..{}):", to.saturating_sub(1));
        for (i, turn) in t.turns.iter().enumerate().take(to).skip(from) {
            let who = match turn.role {
                Role::Customer => "customer",
                Role::Agent => "agent",
                Role::Tool => "tool",
                Role::System => "system",
            };
            let what = if !turn.text.is_empty() {
                turn.text.clone()
            } else if let Some(c) = turn.tool_calls.first() {
                format!("→ {}({})", c.name, c.arguments)
            } else if let Some(res) = &turn.tool_result {
                format!("← {}", res.content)
            } else {
                String::new()
            };
            let mark = if Some(i) == focus { ">>" } else { "  " };
            let _ = writeln!(out, "{mark} {i:>3} {who:<8} {what}");
        }
    }
    out
}
