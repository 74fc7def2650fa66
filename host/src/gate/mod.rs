//! `ratchet gate`: replay a selection of the suite against the agent under test and
//! decide whether the deploy may proceed.
//!
//! * [`replay`] — drive one scenario through an agent session with tool fixtures;
//! * [`prepare`] — the plugins a selection names and the agent's drivers, ready before it runs;
//! * [`criteria`] — judge the replayed transcript;
//! * [`report`] — the JSON result file, JUnit XML, Markdown, merge;
//! * [`html`] — the self-contained HTML report a person opens after a run;
//! * [`ledger`] — the run history the retirement logic reads;
//! * [`world`] — the world a replay runs in (scenarios with a `[world]` and a simulator);
//! * [`customer`] — the simulated customer who carries on when a script runs out (recorded).

pub mod criteria;
pub mod customer;
pub mod html;
pub mod ledger;
pub mod markdown;
pub mod prepare;
pub mod replay;
pub mod report;
pub mod world;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::agent::Driver;
use crate::config::ConversationConfig;
use crate::plugin::Plugin;
use crate::schema::{Conversation, Tier};
use crate::suite::Loaded;
use criteria::{AssertionPlugins, CriterionOutcome};
use replay::{Fixtures, MissingFixturePolicy, ReplayNote};
use world::WorldTrace;

/// A scenario's verdict in a gate run, over its repeats. Not the assertion plugin's
/// pass/fail result ([`crate::schema::Verdict`]), which is one criterion's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioVerdict {
    /// Every criterion passed (on every repeat).
    Pass,
    /// A criterion failed (on every repeat): the bug is back.
    Fail,
    /// Repeats disagreed: reported as flaky, never as pass or fail.
    Flaky,
    /// The agent could not be driven (crash, hang, garbage) or a plugin failed.
    Error,
    /// Not run: the time budget ran out first.
    NotRun,
}

impl ScenarioVerdict {
    /// Lowercase label.
    pub fn label(self) -> &'static str {
        match self {
            ScenarioVerdict::Pass => "pass",
            ScenarioVerdict::Fail => "fail",
            ScenarioVerdict::Flaky => "flaky",
            ScenarioVerdict::Error => "error",
            ScenarioVerdict::NotRun => "not-run",
        }
    }
}

/// What replaying and judging scenarios needs besides the agent under test: the
/// plugins scenarios name — assertions (`kind = "plugin"` criteria) and tool
/// simulators (`[world] simulator`) — and how a conversation is read
/// (`[conversation]`: escalation tools, failed tool results).
#[derive(Default)]
pub struct Harness {
    /// Assertion plugins by name.
    pub assertions: AssertionPlugins,
    /// Tool simulators by name.
    pub simulators: BTreeMap<String, Arc<Plugin>>,
    /// `[conversation]` from ratchet.toml.
    pub rules: ConversationConfig,
    /// The simulated customer, for scenarios with `[script] when_done = "simulate"`.
    pub customer: Option<customer::SimulatedCustomer>,
}

impl Harness {
    /// A harness with no plugins and these rules (built-in criteria only).
    pub fn with_rules(rules: ConversationConfig) -> Harness {
        Harness { rules, ..Harness::default() }
    }
}

/// One replay of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// This attempt's verdict (pass, fail or error).
    pub verdict: ScenarioVerdict,
    /// Every criterion's outcome.
    pub criteria: Vec<CriterionOutcome>,
    /// Tool calls without fixtures, unknown tools, version mismatches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<ReplayNote>,
    /// Why the verdict is `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The replayed transcript (kept for attempts that did not pass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<Conversation>,
    /// The world before and after, and what changed it (scenarios with a `[world]`;
    /// kept for attempts that did not pass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world: Option<WorldTrace>,
    /// Wall time of this attempt, ms (the only non-deterministic field).
    pub duration_ms: u64,
}

/// One scenario's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// Scenario id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Failure-mode cluster.
    pub failure_mode: String,
    /// Tier it ran in.
    pub tier: Tier,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// File, relative to the suite directory.
    pub file: String,
    /// The verdict over all attempts.
    pub verdict: ScenarioVerdict,
    /// Each attempt (`--repeat`).
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

impl ScenarioResult {
    /// Total wall time over attempts, ms.
    pub fn duration_ms(&self) -> u64 {
        self.attempts.iter().map(|a| a.duration_ms).sum()
    }
    /// The failing criteria of the first attempt that did not pass.
    pub fn failing(&self) -> Vec<&CriterionOutcome> {
        self.attempts.iter().find(|a| a.verdict != ScenarioVerdict::Pass).map(|a| a.criteria.iter().filter(|c| !c.passed).collect()).unwrap_or_default()
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct GateOptions {
    /// Scenarios run at once.
    pub jobs: usize,
    /// Attempts per scenario (pass^k).
    pub repeat: u32,
    /// Unanswerable tool calls.
    pub on_missing_fixture: MissingFixturePolicy,
    /// Stop starting scenarios after this long; the rest are `not-run`.
    pub budget: Option<Duration>,
    /// Loop guard for agent tool calls per turn.
    pub max_tool_calls: u32,
}

/// A progress event, for terminal output.
pub struct Progress<'a> {
    /// Scenarios finished so far.
    pub done: usize,
    /// Scenarios selected.
    pub total: usize,
    /// The one that just finished.
    pub result: &'a ScenarioResult,
}

/// Run `scenarios` (already selected and sorted) with one driver per worker.
pub fn run(
    scenarios: &[Loaded],
    make_driver: &(dyn Fn() -> Box<dyn Driver> + Sync),
    harness: &Harness,
    opts: &GateOptions,
    progress: &(dyn Fn(Progress) + Sync),
) -> (Vec<ScenarioResult>, String) {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<ScenarioResult>>> = Mutex::new(vec![None; scenarios.len()]);
    let identity = Mutex::new(String::new());
    let jobs = opts.jobs.clamp(1, scenarios.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                let mut driver = make_driver();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(loaded) = scenarios.get(i) else { break };
                    let over_budget = opts.budget.is_some_and(|b| started.elapsed() >= b);
                    let result = if over_budget { not_run(loaded) } else { run_scenario(loaded, driver.as_mut(), harness, opts) };
                    {
                        let mut id = identity.lock().unwrap_or_else(|e| e.into_inner());
                        if id.is_empty() {
                            *id = driver.describe();
                        }
                    }
                    let n = done.fetch_add(1, Ordering::SeqCst) + 1;
                    progress(Progress { done: n, total: scenarios.len(), result: &result });
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(result);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().map(|r| r.expect("every scenario ran")).collect();
    (results, identity.into_inner().unwrap_or_else(|e| e.into_inner()))
}

fn header(l: &Loaded, verdict: ScenarioVerdict, attempts: Vec<Attempt>) -> ScenarioResult {
    let s = &l.scenario;
    ScenarioResult {
        id: s.id.clone(),
        title: s.title.clone(),
        failure_mode: s.failure_mode.clone(),
        tier: s.tier,
        tags: s.tags.clone(),
        file: l.file.display().to_string(),
        verdict,
        attempts,
    }
}

fn not_run(l: &Loaded) -> ScenarioResult {
    header(l, ScenarioVerdict::NotRun, Vec::new())
}

/// Replay one scenario `repeat` times and combine the verdicts.
pub fn run_scenario(l: &Loaded, driver: &mut dyn Driver, harness: &Harness, opts: &GateOptions) -> ScenarioResult {
    let fixtures = Fixtures::new(&l.scenario);
    let attempts: Vec<Attempt> = (0..opts.repeat.max(1)).map(|_| attempt(l, &fixtures, driver, harness, opts)).collect();
    let first = attempts[0].verdict;
    let verdict = if attempts.iter().all(|a| a.verdict == first) {
        first
    } else if attempts.iter().any(|a| a.verdict == ScenarioVerdict::Error) && attempts.iter().all(|a| a.verdict != ScenarioVerdict::Pass) {
        ScenarioVerdict::Error
    } else {
        ScenarioVerdict::Flaky
    };
    header(l, verdict, attempts)
}

fn attempt(l: &Loaded, fixtures: &Fixtures, driver: &mut dyn Driver, harness: &Harness, opts: &GateOptions) -> Attempt {
    let started = Instant::now();
    let failed = |error: String| Attempt {
        verdict: ScenarioVerdict::Error,
        criteria: vec![],
        notes: vec![],
        error: Some(error),
        transcript: None,
        world: None,
        duration_ms: started.elapsed().as_millis() as u64,
    };
    let world = l.scenario.world.as_ref();
    let simulator = match world.map(|w| (w, harness.simulators.get(&w.simulator))) {
        None => None,
        Some((w, Some(p))) => Some(replay::Simulator { plugin: p, params: &w.params }),
        Some((w, None)) => return failed(format!("the scenario's simulator `{}` is not loaded", w.simulator)),
    };
    let how = replay::Replayer {
        fixtures,
        policy: opts.on_missing_fixture,
        max_tool_calls: opts.max_tool_calls,
        simulator,
        customer: harness.customer.as_ref().map(|c| c as &dyn replay::Customer),
    };
    let replayed = match driver.start(&l.scenario) {
        Ok(mut session) => replay::replay(&l.scenario, session.as_mut(), &how),
        Err(e) => return failed(e.to_string()),
    };
    let mut outcomes = Vec::new();
    let mut error = replayed.error.as_ref().map(|e| e.to_string());
    if error.is_none() {
        let ctx = criteria::Context { plugins: &harness.assertions, rules: &harness.rules, world: replayed.world.as_ref() };
        for c in &l.scenario.criteria {
            match criteria::evaluate(c, &replayed.transcript, &ctx) {
                Ok(o) => outcomes.push(o),
                Err(e) => {
                    error = Some(e.to_string());
                    break;
                }
            }
        }
    }
    let verdict = if error.is_some() {
        ScenarioVerdict::Error
    } else if outcomes.iter().all(|o| o.passed) {
        ScenarioVerdict::Pass
    } else {
        ScenarioVerdict::Fail
    };
    let keep = verdict != ScenarioVerdict::Pass;
    Attempt {
        verdict,
        criteria: outcomes,
        notes: replayed.notes,
        error,
        transcript: keep.then_some(replayed.transcript),
        world: if keep { replayed.world } else { None },
        duration_ms: started.elapsed().as_millis() as u64,
    }
}
