//! `ratchet regenerate` (failure event → checked scenario file) and `ratchet
//! promote` (scenario → suite, merged into a known failure when it is one).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;
use clap::Args;
use serde_json::{json, Value};

use super::gate_cmd::{harness, needs_plugins, prepare};
use super::plugin_cmd::Format;
use super::progress::Progress;
use super::{exit, CliError, CliResult};
use ratchet::agent::recorded::RecordedDriver;
use ratchet::agent::AgentConfig;
use ratchet::config::Project;
use ratchet::fsutil::write_atomic;
use ratchet::gate::{ScenarioResult, ScenarioVerdict};
use ratchet::promote::{self, Decision};
use ratchet::regenerate::render::{describe, to_checked_toml, Notes};
use ratchet::regenerate::{self, Options};
use ratchet::schema::{FailureEvent, Scenario};

#[derive(Args)]
pub struct RegenerateArgs {
    /// Failure events: a JSON file holding one event, or JSONL as `ratchet detect`
    /// writes it (`-` for stdin).
    events: PathBuf,
    /// Only this event id (repeatable; default: every event in the file).
    #[arg(long = "event")]
    event_ids: Vec<String>,
    /// Directory to write scenario files to (`<id>.toml`).
    #[arg(long, default_value = ".ratchet/candidates")]
    out_dir: PathBuf,
    /// Write the one scenario to this file instead.
    #[arg(long, short, conflicts_with = "out_dir")]
    output: Option<PathBuf>,
    /// Also replay each scenario against this agent (a candidate fix) and report the verdict.
    #[arg(long)]
    against: Option<PathBuf>,
    /// Skip the reproduce check (the scenario is written even if it guards nothing).
    #[arg(long)]
    no_check: bool,
    /// Time recorded in the scenario's history (RFC 3339; default: now).
    #[arg(long)]
    now: Option<String>,
    /// `json` prints one result object per event on stdout.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// LLM-judged plugins ask the model for what is not recorded yet (default), or
    /// afresh with --record.
    #[command(flatten)]
    model: super::ModelModeArgs,
}

#[derive(Args)]
pub struct PromoteArgs {
    /// Scenario files to promote (written by `ratchet regenerate`, or by hand).
    #[arg(required = true)]
    scenarios: Vec<PathBuf>,
    /// The suite directory.
    #[arg(long, default_value = "scenarios")]
    suite: PathBuf,
    /// Decide and report; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Seconds to wait for another promote holding the suite lock.
    #[arg(long, default_value_t = 60)]
    lock_timeout_secs: u64,
    /// Time recorded in histories (RFC 3339; default: now).
    #[arg(long)]
    now: Option<String>,
    /// Compare against every scenario without the exact pre-filter (slower; for measurements).
    #[arg(long, hide = true)]
    no_prefilter: bool,
    /// `json` prints the outcomes on stdout.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// Read failure events: one JSON document, or JSON lines (errors name the line).
fn read_events(path: &Path) -> Result<Vec<FailureEvent>, CliError> {
    let origin = if path == Path::new("-") { ratchet::schema::STDIN.to_string() } else { path.display().to_string() };
    let text = ratchet::schema::read_input(path).map_err(CliError::usage)?;
    let trimmed = text.trim_start();
    // One pretty-printed event spans lines; JSONL has one per line.
    let single = trimmed.starts_with('{') && serde_json::from_str::<Value>(&text).is_ok();
    if single {
        return Ok(vec![ratchet::schema::parse_json::<FailureEvent>(&text, &origin).map_err(CliError::usage)?]);
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let e = ratchet::schema::parse_json::<FailureEvent>(line, &format!("{origin}:{}", i + 1)).map_err(CliError::usage)?;
        out.push(e);
    }
    if out.is_empty() {
        return Err(CliError::usage(anyhow!("{origin}: no failure event in the file")));
    }
    Ok(out)
}

fn verdict_json(r: &ScenarioResult) -> Value {
    let a = r.attempts.first();
    json!({
        "verdict": r.verdict.label(),
        "summary": describe(r),
        "failing": r.failing().iter().map(|c| json!({"id": c.id, "turn": c.turn, "reason": c.reason})).collect::<Vec<_>>(),
        "notes": a.map(|a| serde_json::to_value(&a.notes).unwrap_or_default()).unwrap_or_default(),
        "error": a.and_then(|a| a.error.clone()),
    })
}

pub fn regenerate(a: RegenerateArgs, config: Option<&Path>) -> CliResult {
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    let project = Project::discover(&cwd, config).map_err(CliError::usage)?;
    let mut events = read_events(&a.events)?;
    if !a.event_ids.is_empty() {
        for id in &a.event_ids {
            if !events.iter().any(|e| &e.event_id == id) {
                return Err(CliError::usage(anyhow!("{}: no event with id `{id}`", a.events.display())));
            }
        }
        events.retain(|e| a.event_ids.contains(&e.event_id));
    }
    if a.output.is_some() && events.len() != 1 {
        return Err(CliError::usage(anyhow!(
            "--output takes one scenario but {} holds {} events: use --event ID or --out-dir",
            a.events.display(),
            events.len()
        )));
    }
    // Oldest first, or input order when an event carries no time (said below).
    let order = regenerate::order(&events);
    let mut slots: Vec<Option<FailureEvent>> = events.into_iter().map(Some).collect();
    let events: Vec<(usize, FailureEvent)> = order.indices.iter().filter_map(|&i| slots[i].take().map(|e| (i + 1, e))).collect();
    let order_label = if order.by_time { "time" } else { "input" };
    if order.undated > 0 && a.format == Format::Text {
        eprintln!(
            "regenerate: {} of {} event(s) carry no time (no detected_at, no conversation started_at): taken in input order; their scenarios have no first_seen/last_seen",
            order.undated,
            events.len()
        );
    }
    let now = a.now.clone().unwrap_or_else(ratchet::time::now_rfc3339);
    // A new scenario's LLM-judged criteria are judged live once and recorded (the
    // recordings then go into the pull request with the scenario).
    let mode = a.model.mode(ratchet::llm::Mode::RecordMissing);
    // The plugin runtime is created when a plugin will run: the simulator that seeds
    // worlds, or (after regenerating) an assertion or simulator the scenarios name.
    let mut runtime = super::runtime_if(&project, project.config.regenerate.simulator.is_some(), mode)?;
    let simulator = super::regenerate_simulator(&project, runtime.as_ref())?;
    let opts = Options {
        config: &project.config.regenerate,
        escalation_pattern: &project.config.detect.expected_escalation_pattern,
        rules: &project.config.conversation,
        simulator: simulator.as_ref().map(|p| regenerate::NamedSimulator {
            name: &p.id().name,
            plugin: p,
            params: &project.config.regenerate.simulator_params,
        }),
        now,
    };

    // Regenerate everything first (input problems stopped the run above, before
    // anything is written). An event that yields no usable scenario is rejected with
    // its reason; the others go on.
    let mut regenerated = Vec::new();
    let mut unusable = Vec::new();
    // Where each event is in the input (1-based) and its time, for the JSON output.
    let mut placed: std::collections::BTreeMap<String, (usize, Option<String>)> = std::collections::BTreeMap::new();
    let progress = Progress::bar(events.len() as u64, "regenerate");
    for (position, e) in &events {
        placed.insert(e.event_id.clone(), (*position, e.time().map(ratchet::time::format_unix)));
        match regenerate::regenerate(e, &opts) {
            Ok(r) => regenerated.push(r),
            Err(err @ regenerate::RegenerateError::Simulator { .. }) => return Err(CliError::plugin(anyhow!(err))),
            Err(err) => unusable.push((e.event_id.clone(), err.to_string())),
        }
        progress.inc();
    }
    drop(progress);
    let place = |event: &str| {
        let (position, time) = placed.get(event).cloned().unwrap_or((0, None));
        json!({"position": position, "time": time, "order": order_label})
    };

    let scenarios: Vec<&Scenario> = regenerated.iter().map(|r| &r.scenario).collect();
    if runtime.is_none() {
        runtime = super::runtime_if(&project, needs_plugins(&scenarios), mode)?;
    }
    let plugins = harness(&project, runtime.as_ref(), &scenarios)?;
    let against = match &a.against {
        Some(path) => {
            let agent = AgentConfig::load(path).map_err(CliError::usage)?;
            let (p, factory) = prepare(&project, &agent, path, &scenarios, mode)?;
            Some((path.display().to_string(), agent, p, factory))
        }
        None => None,
    };

    let mut code = if unusable.is_empty() { exit::OK } else { exit::GATE_FAILED };
    let mut results = Vec::new();
    for (event, why) in &unusable {
        match a.format {
            Format::Json => results.push(json!({"event": event, "input": place(event), "scenario": null, "file": null, "rejected": why})),
            Format::Text => eprintln!("event {event}: REJECTED, no scenario written: {why}"),
        }
    }
    let progress = Progress::bar(regenerated.len() as u64, if a.no_check && against.is_none() { "write" } else { "check" });
    for r in &regenerated {
        progress.inc();
        let s = &r.scenario;
        let recorded = if a.no_check { None } else { Some(regenerate::reproduce(s, &mut RecordedDriver::new(&r.recorded), &plugins, 64)) };
        let candidate = against.as_ref().map(|(name, agent, p, factory)| {
            let mut driver = factory();
            (name.as_str(), regenerate::reproduce(s, driver.as_mut(), p, agent.max_tool_calls_per_turn))
        });
        let event = s.provenance.source_event.clone().unwrap_or_default();
        let mut rejected = None;
        if let Some(rec) = &recorded {
            match rec.verdict {
                ScenarioVerdict::Fail => {}
                ScenarioVerdict::Pass => {
                    rejected = Some(format!(
                        "every derived criterion passes on the failing conversation itself, so the scenario would guard nothing; add a [[regenerate.templates]] entry for failure mode `{}` or a guard in ratchet.toml, or write the criterion by hand (--no-check writes the file anyway)",
                        s.failure_mode
                    ))
                }
                _ => rejected = Some(format!("the reproduce check could not run: {}", describe(rec))),
            }
        }
        let notes = Notes {
            origins: &r.origins,
            scrubbed: Some(&r.scrubbed),
            warnings: &r.warnings,
            recorded: recorded.as_ref(),
            against: candidate.as_ref().map(|(n, res)| (*n, res)),
        };
        let mut file = None;
        if rejected.is_none() {
            let text = to_checked_toml(s, &notes).map_err(|e| CliError { code: exit::INTERNAL, error: e.into() })?;
            let path = a.output.clone().unwrap_or_else(|| a.out_dir.join(format!("{}.toml", s.id)));
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| CliError::usage(anyhow!("{}: {e}", dir.display())))?;
            }
            write_atomic(&path, (text + "\n").as_bytes()).map_err(|e| CliError::usage(anyhow!("{}: cannot write: {e}", path.display())))?;
            file = Some(path);
        } else {
            let plugin_error = recorded.as_ref().is_some_and(|rec| rec.verdict == ScenarioVerdict::Error);
            code = code.max(if plugin_error { exit::PLUGIN } else { exit::GATE_FAILED });
        }

        match a.format {
            Format::Json => results.push(json!({
                "event": event,
                "input": place(&event),
                "scenario": s.id,
                "failure_mode": s.failure_mode,
                "file": file.as_ref().map(|p| p.display().to_string()),
                "rejected": rejected,
                "criteria": s.criteria.iter().zip(&r.origins).map(|(c, o)| json!({"id": c.id, "kind": ratchet::gate::criteria::kind_name(&c.check), "from": o})).collect::<Vec<_>>(),
                "reproduce": recorded.as_ref().map(verdict_json),
                "against": candidate.as_ref().map(|(n, res)| json!({"agent": n, "result": verdict_json(res)})),
                "scrubbed": r.scrubbed,
                "warnings": r.warnings,
            })),
            Format::Text => progress.suspend(|| {
                match (&file, &rejected) {
                    (Some(p), _) => eprintln!("event {event}: scenario {} → {}", s.id, p.display()),
                    (None, Some(why)) => eprintln!("event {event}: REJECTED, no scenario written: {why}"),
                    (None, None) => {}
                }
                for (c, o) in s.criteria.iter().zip(&r.origins) {
                    eprintln!("  criterion {} ({}) from {o}", c.id, ratchet::gate::criteria::kind_name(&c.check));
                }
                if let Some(rec) = &recorded {
                    eprintln!("  reproduce check: against the recorded behaviour it {}", describe(rec));
                    for c in rec.failing() {
                        eprintln!("    FAILS {}{}: {}", c.id, c.turn.map(|t| format!(" (turn {t})")).unwrap_or_default(), c.reason);
                    }
                }
                if let Some((n, res)) = &candidate {
                    eprintln!("  against {n}: {}", describe(res));
                    for c in res.failing() {
                        eprintln!("    FAILS {}{}: {}", c.id, c.turn.map(|t| format!(" (turn {t})")).unwrap_or_default(), c.reason);
                    }
                }
                let lines = r.scrubbed.lines();
                eprintln!("  scrubbed: {}", if lines.is_empty() { "nothing found".to_string() } else { lines.join("; ") });
                for w in &r.warnings {
                    eprintln!("  note: {w}");
                }
            }),
        }
    }
    drop(progress);
    if a.format == Format::Json {
        outln!("{}", serde_json::to_string_pretty(&results).expect("json"));
    }
    Ok(code)
}

pub fn promote(a: PromoteArgs, config: Option<&Path>) -> CliResult {
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    let project = Project::discover(&cwd, config).map_err(CliError::usage)?;
    let mut candidates = Vec::new();
    for p in &a.scenarios {
        let text = ratchet::schema::read_input(p).map_err(CliError::usage)?;
        let origin = if p == Path::new("-") { ratchet::schema::STDIN.to_string() } else { p.display().to_string() };
        let s = Scenario::parse(&text, &origin).map_err(CliError::usage)?;
        candidates.push((p.clone(), s, text));
    }
    let opts = promote::Options {
        config: project.config.promote.clone(),
        now: a.now.clone().unwrap_or_else(ratchet::time::now_rfc3339),
        prefilter: !a.no_prefilter,
        dry_run: a.dry_run,
        lock_timeout: Duration::from_secs(a.lock_timeout_secs),
        only_archived: false,
        rules: project.config.conversation.clone(),
    };
    let (outcomes, _stats) = promote::promote(&a.suite, &candidates, &opts).map_err(|e| {
        let code = match e {
            promote::PromoteError::Store(ratchet::suite::store::StoreError::Locked { .. }) => exit::BUSY,
            _ => exit::USAGE,
        };
        CliError { code, error: e.into() }
    })?;
    match a.format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&json!({"dry_run": a.dry_run, "outcomes": outcomes})).expect("json")),
        Format::Text => {
            let suite = a.suite.display();
            let verb = |s: &str| if a.dry_run { format!("would be {s}") } else { s.to_string() };
            for o in &outcomes {
                match &o.decision {
                    Decision::Merged { into, hits, resurrected, why, replaced } => {
                        eprintln!(
                            "{}: {} into {suite}/{} (the same failure: {why}; similarity {}); hits now {hits}{}{}",
                            o.candidate.display(),
                            verb("merged"),
                            into.file.display(),
                            into.similarity,
                            if *resurrected { "; it was archived and is back in the fast tier (the bug came back)" } else { "" },
                            if replaced.is_some() { "; the candidate is the cluster's earliest failure, so its file now holds the cluster" } else { "" }
                        );
                    }
                    Decision::Added { file } => eprintln!("{}: {} as {suite}/{}", o.candidate.display(), verb("added"), file.display()),
                    Decision::AlreadyPresent { into, id } => {
                        eprintln!(
                            "{}: already guarded by `{id}` ({suite}/{}: its conversation is in the provenance); nothing to do",
                            o.candidate.display(),
                            into.display()
                        )
                    }
                    Decision::NoArchivedMatch => {}
                }
                for m in &o.near_misses {
                    match o.apart.iter().find(|x| x.file == m.file) {
                        Some(x) => eprintln!(
                            "  related: {suite}/{} (similarity {}), but another situation: label `{}` is {:?} there, {:?} here",
                            m.file.display(),
                            m.similarity,
                            x.label,
                            x.existing,
                            x.candidate
                        ),
                        None => eprintln!(
                            "  related: {suite}/{} (similarity {}), but not the same failure: their criteria do not catch each other's runs",
                            m.file.display(),
                            m.similarity
                        ),
                    }
                }
            }
            if a.dry_run {
                eprintln!("dry run: the suite was not changed");
            }
        }
    }
    Ok(exit::OK)
}
