//! `ratchet gate` and `ratchet report merge`.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;
use clap::{Args, Subcommand};

use super::{exit, CliError, CliResult};
use ratchet::agent::AgentConfig;
use ratchet::config::Project;
use ratchet::fsutil::{write_atomic, FsError};
use ratchet::gate::prepare::{DriverFactory, PrepareError, Prepared};
use ratchet::gate::replay::MissingFixturePolicy;
use ratchet::gate::report::GateReport;
use ratchet::gate::{ledger, GateOptions, Harness, Progress, ScenarioVerdict};
use ratchet::llm::Mode;
use ratchet::plugin::Runtime;
use ratchet::schema::Scenario;
use ratchet::suite::{self, Filter, Shard, TierSelection};

#[derive(Args)]
pub struct GateArgs {
    /// The agent config file (TOML, `[agent]` table: driver exec|wasm|openai).
    #[arg(long)]
    agent: PathBuf,
    /// The suite directory.
    #[arg(long, default_value = "scenarios")]
    suite: PathBuf,
    /// Which tier to run (default: fast and slow, not the archive).
    #[arg(long, value_enum)]
    tier: Option<TierSelection>,
    /// Only scenarios with this tag (repeatable: any of them).
    #[arg(long)]
    tag: Vec<String>,
    /// Only scenarios of this failure mode (repeatable).
    #[arg(long)]
    failure_mode: Vec<String>,
    /// Only this scenario id (repeatable).
    #[arg(long)]
    id: Vec<String>,
    /// Scenarios run at once.
    #[arg(long, short, default_value_t = 1)]
    jobs: usize,
    /// Run only shard i of n (balanced by recorded durations), e.g. 2/4.
    #[arg(long)]
    shard: Option<Shard>,
    /// Replay each scenario k times: pass only if all k pass; disagreement is `flaky`.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Stop starting scenarios after this many seconds; the rest are reported `not-run`.
    #[arg(long)]
    budget_secs: Option<u64>,
    /// What to do when the agent calls a tool no fixture answers.
    #[arg(long, value_enum, default_value = "error")]
    on_missing_fixture: MissingFixturePolicy,
    #[command(flatten)]
    outputs: ReportOutputs,
    /// The run ledger to append to (default: <suite>/ledger.jsonl).
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Do not append to the run ledger.
    #[arg(long)]
    no_ledger: bool,
    /// Report failures but exit 0 (the nightly slow tier "opens tickets, doesn't block deploys").
    #[arg(long)]
    no_block: bool,
    /// Write one ticket-ready Markdown file per failing scenario into this directory,
    /// plus `tickets.json` listing them.
    #[arg(long)]
    tickets: Option<PathBuf>,
    /// Time recorded in the ledger (RFC 3339; default: now).
    #[arg(long)]
    now: Option<String>,
    /// No progress lines.
    #[arg(long, short)]
    quiet: bool,
    /// Run every worker's sessions on one exec agent process, interleaved by session
    /// id (the agent's `ready` must say `concurrent_sessions: true`); the same as
    /// `concurrent_sessions = true` in the agent file.
    #[arg(long)]
    concurrent_sessions: bool,
    /// `json` prints the result file on stdout (for machines) instead of the text summary.
    #[arg(long, value_enum, default_value = "text")]
    format: super::plugin_cmd::Format,
    /// LLM-judged criteria replay recorded answers unless one of these is given.
    #[command(flatten)]
    model: super::ModelModeArgs,
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Combine shard result files into one report (exit 0 if every scenario passed, else 1).
    Merge(MergeArgs),
    /// Render a result file as the self-contained HTML report (exit 0 once written, whatever the verdicts).
    Html(HtmlArgs),
}

#[derive(Args)]
pub struct HtmlArgs {
    /// A result file written by `ratchet gate --json` or `ratchet report merge --json`.
    input: PathBuf,
    /// Where to write the page (default: the input file with the extension `.html`; `-` for stdout).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

#[derive(Args)]
pub struct MergeArgs {
    /// Result files written by `ratchet gate --json`.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    outputs: ReportOutputs,
    /// `json`: print the merged result on stdout (as `gate --format json`); `text`: the summary on stderr.
    #[arg(long, value_enum, default_value_t = super::plugin_cmd::Format::Text)]
    format: super::plugin_cmd::Format,
}

/// The report files `gate` and `report merge` can write.
#[derive(Args)]
pub struct ReportOutputs {
    /// Write the JSON result file here (input of `report merge` and `tiers`).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write JUnit XML here.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write the Markdown summary here (also appended to $GITHUB_STEP_SUMMARY when set).
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Write the self-contained HTML report here (open it in a browser; no network needed).
    #[arg(long)]
    html: Option<PathBuf>,
}

pub fn gate(a: GateArgs, config: Option<&Path>) -> CliResult {
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    let project = Project::discover(&cwd, config).map_err(CliError::usage)?;
    if a.repeat == 0 || a.jobs == 0 {
        return Err(CliError::usage(anyhow!("--repeat and --jobs must be at least 1")));
    }
    let mut agent = AgentConfig::load(&a.agent).map_err(CliError::usage)?;
    if a.concurrent_sessions {
        if agent.driver != ratchet::agent::DriverKind::Exec {
            return Err(CliError::usage(anyhow!(
                "--concurrent-sessions shares one exec agent process between the workers; {} uses the {} driver",
                a.agent.display(),
                agent.driver.name()
            )));
        }
        agent.concurrent_sessions = true;
    }

    // Load and validate the whole suite before running anything.
    let all = suite::load(&a.suite).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        CliError::usage(anyhow!("{} invalid scenario file(s), nothing was run:\n{}", list.len(), list.join("\n")))
    })?;
    let filter = Filter { tier: a.tier, tags: a.tag.clone(), failure_modes: a.failure_mode.clone(), ids: a.id.clone() };
    let mut selected: Vec<_> = all.into_iter().filter(|l| filter.selects(&l.scenario)).collect();
    let selection_size = selected.len();
    let ledger_path = a.ledger.clone().unwrap_or_else(|| a.suite.join("ledger.jsonl"));
    // Every file the run ends by writing is checked before anything runs: a typo in
    // an output path must not cost the whole replay.
    check_outputs(&a, &ledger_path)?;
    if let Some(sh) = a.shard {
        let (entries, _) = ledger::read(&ledger_path).map_err(CliError::usage)?;
        let ids: Vec<String> = selected.iter().map(|l| l.scenario.id.clone()).collect();
        let mine: BTreeSet<String> = suite::shard(&ids, &ledger::durations(&entries), sh).into_iter().collect();
        selected.retain(|l| mine.contains(&l.scenario.id));
    }
    selected.sort_by(|x, y| x.scenario.id.cmp(&y.scenario.id));
    if selected.is_empty() && (a.shard.is_none() || selection_size == 0) {
        return Err(CliError::usage(anyhow!("no scenario in {} matches the selection", a.suite.display())));
    }
    if let (true, Some(sh)) = (selected.is_empty(), a.shard) {
        // More shards than scenarios (a young suite in a CI matrix sized for later):
        // this shard's share is empty, which is no error; its report still counts for
        // `report merge`, which checks that the shards add up to the selection.
        eprintln!("note: shard {}/{} has none of the {selection_size} selected scenario(s) (more shards than scenarios): nothing to run", sh.index, sh.count);
    }

    let scenarios: Vec<&ratchet::schema::Scenario> = selected.iter().map(|l| &l.scenario).collect();
    let Prepared { harness, factory: make_driver, openai, judge } = prepare_with_usage(&project, &agent, &a.agent, &scenarios, a.model.mode(Mode::Replay))?;
    let make = || make_driver();

    let opts = GateOptions {
        jobs: a.jobs,
        repeat: a.repeat,
        on_missing_fixture: a.on_missing_fixture,
        budget: a.budget_secs.map(Duration::from_secs),
        max_tool_calls: agent.max_tool_calls_per_turn,
    };
    let show_progress = !a.quiet;
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let progress = |p: Progress| {
        if show_progress {
            let label = p.result.verdict.label().to_uppercase();
            let label = if color {
                let code = match p.result.verdict {
                    ScenarioVerdict::Pass => "32",
                    ScenarioVerdict::Fail | ScenarioVerdict::Error => "31",
                    _ => "33",
                };
                format!("\x1b[{code}m{label:<7}\x1b[0m")
            } else {
                format!("{label:<7}")
            };
            eprintln!("[{}/{}] {label} {} ({} ms)", p.done, p.total, p.result.id, p.result.duration_ms());
        }
    };
    let (results, identity) = ratchet::gate::run(&selected, &make, &harness, &opts, &progress);
    let agent_name = if identity.is_empty() { agent.name.clone() } else { identity };
    let mut report = GateReport::new(agent_name.clone(), &filter, a.shard, a.repeat, results);
    report.selection_size = Some(selection_size);
    report.model_usage = openai.as_ref().map(|o| o.usage());
    report.judge = judge.map(|b| b.stats()).filter(|s| s.replayed + s.recorded + s.failed > 0);

    write_reports(&report, &a.outputs)?;
    if let Some(dir) = &a.tickets {
        let tickets = report.tickets();
        std::fs::create_dir_all(dir).map_err(|e| CliError::usage(anyhow!("{}: {e}", dir.display())))?;
        for t in &tickets {
            // The id comes from a scenario file (or a merged report): it names a file
            // only after the id grammar and the confinement to `dir` both agree.
            ratchet::schema::id::check_id(&t.scenario).map_err(|e| CliError::usage(anyhow!("scenario id {e}: no ticket file is written for it")))?;
            ratchet::fsutil::write_confined(dir, Path::new(&format!("{}.md", t.scenario)), t.markdown.as_bytes())
                .map_err(|e| CliError::usage(anyhow!("cannot write a ticket: {e}")))?;
        }
        ratchet::fsutil::write_confined(dir, Path::new("tickets.json"), (serde_json::to_string_pretty(&tickets).expect("json") + "\n").as_bytes())
            .map_err(|e| CliError::usage(anyhow!("cannot write the ticket list: {e}")))?;
        if !a.quiet {
            eprintln!("{} ticket(s) written to {}", tickets.len(), dir.display());
        }
    }
    if !a.no_ledger {
        let now = a.now.clone().unwrap_or_else(ratchet::time::now_rfc3339);
        let (dir, file) = ledger_location(&ledger_path)?;
        ledger::append(dir, file, &now, &agent_name, &report.scenarios, LEDGER_LOCK_TIMEOUT).map_err(|e| {
            let code = if matches!(e, FsError::Locked { .. }) { exit::BUSY } else { exit::USAGE };
            CliError { code, error: anyhow!("cannot append to the ledger {} (the reports are written): {e}", ledger_path.display()) }
        })?;
    }
    match a.format {
        super::plugin_cmd::Format::Json => outln!("{}", serde_json::to_string_pretty(&report).expect("json")),
        super::plugin_cmd::Format::Text => eprint!("{}", report.terminal()),
    }
    if let Some(u) = &report.model_usage {
        eprintln!("{}", u.line());
    }
    if let Some(j) = &report.judge {
        eprintln!("judge {}", j.line());
    }
    if a.no_block && !report.summary.gate_passes() {
        eprintln!("--no-block: failures reported, exit 0 (deploys are not blocked by this tier)");
        return Ok(exit::OK);
    }
    Ok(if report.summary.gate_passes() { exit::OK } else { exit::GATE_FAILED })
}

/// How long a gate waits for the ledger's lock (held by another gate appending, or a
/// `promote` / `tiers --apply` changing the suite) before exiting 75.
const LEDGER_LOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// The ledger's directory (whose lock serialises appends) and its file name there.
fn ledger_location(path: &Path) -> Result<(&Path, &Path), CliError> {
    let file = path.file_name().ok_or_else(|| CliError::usage(anyhow!("--ledger {}: not a file name", path.display())))?;
    Ok((ratchet::fsutil::parent_dir(path), Path::new(file)))
}

/// Fail fast (exit 2, before any scenario runs) when a report, the tickets folder or
/// the ledger could not be written at the end.
fn check_outputs(a: &GateArgs, ledger_path: &Path) -> Result<(), CliError> {
    let o = &a.outputs;
    for (flag, path) in [("--json", &o.json), ("--junit", &o.junit), ("--markdown", &o.markdown), ("--html", &o.html)] {
        if let Some(p) = path {
            ratchet::fsutil::check_writable(p).map_err(|e| CliError::usage(anyhow!("{flag} {}: cannot write it: {e}", p.display())))?;
        }
    }
    if let Some(dir) = &a.tickets {
        if dir.exists() && !dir.is_dir() {
            return Err(CliError::usage(anyhow!("--tickets {}: not a directory", dir.display())));
        }
        ratchet::fsutil::check_writable(&dir.join("tickets.json"))
            .map_err(|e| CliError::usage(anyhow!("--tickets {}: cannot write in it: {e}", dir.display())))?;
    }
    if !a.no_ledger {
        let (dir, file) = ledger_location(ledger_path)?;
        let path = ratchet::fsutil::confined(dir, file).map_err(|e| CliError::usage(anyhow!("the ledger: {e}")))?;
        ratchet::fsutil::check_writable(&path).map_err(|e| CliError::usage(anyhow!("the ledger {}: cannot write it: {e}", path.display())))?;
    }
    Ok(())
}

fn write_reports(report: &GateReport, out: &ReportOutputs) -> Result<(), CliError> {
    let (json, junit, markdown) = (out.json.as_deref(), out.junit.as_deref(), out.markdown.as_deref());
    let write = |p: &Path, bytes: &[u8]| write_atomic(p, bytes).map_err(|e| CliError::usage(anyhow!("{}: cannot write: {e}", p.display())));
    if let Some(p) = json {
        write(p, (serde_json::to_string_pretty(report).expect("json") + "\n").as_bytes())?;
    }
    if let Some(p) = junit {
        write(p, report.junit().as_bytes())?;
    }
    let md = report.markdown();
    if let Some(p) = markdown {
        write(p, md.as_bytes())?;
    }
    if let Some(p) = out.html.as_deref() {
        write(p, report.html().as_bytes())?;
    }
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new().append(true).create(true).open(summary) {
            let _ = f.write_all(md.as_bytes());
        }
    }
    Ok(())
}

pub use ratchet::gate::prepare::needs_plugins;

/// A project's mistake is a usage error; ratchet's own (no runtime) an internal one.
fn prepare_error(e: PrepareError) -> CliError {
    let code = if e.is_internal() { exit::INTERNAL } else { exit::USAGE };
    CliError { code, error: e.into() }
}

/// Load the plugins `scenarios` use (the harness) and prepare the agent's driver.
pub fn prepare(project: &Project, agent: &AgentConfig, agent_file: &Path, scenarios: &[&Scenario], mode: Mode) -> Result<(Harness, DriverFactory), CliError> {
    prepare_with_usage(project, agent, agent_file, scenarios, mode).map(|p| (p.harness, p.factory))
}

/// [`prepare`], also returning the shared openai agent and the judge broker.
pub fn prepare_with_usage(project: &Project, agent: &AgentConfig, agent_file: &Path, scenarios: &[&Scenario], mode: Mode) -> Result<Prepared, CliError> {
    ratchet::gate::prepare::prepare(project, agent, agent_file, scenarios, mode).map_err(prepare_error)
}

/// The harness of `scenarios` (their plugins, loaded once each, and `[conversation]`).
pub fn harness(project: &Project, runtime: Option<&Runtime>, scenarios: &[&Scenario]) -> Result<Harness, CliError> {
    ratchet::gate::prepare::harness(project, runtime, scenarios).map_err(prepare_error)
}

pub fn report(cmd: ReportCommand) -> CliResult {
    match cmd {
        ReportCommand::Merge(a) => {
            let mut reports = Vec::new();
            for p in &a.inputs {
                reports.push((p.display().to_string(), ratchet::schema::load_json::<GateReport>(p).map_err(CliError::usage)?));
            }
            let merged = GateReport::merge(reports).map_err(|e| CliError::usage(anyhow!(e)))?;
            write_reports(&merged, &a.outputs)?;
            match a.format {
                super::plugin_cmd::Format::Json => outln!("{}", serde_json::to_string_pretty(&merged).expect("json")),
                super::plugin_cmd::Format::Text => eprint!("{}", merged.terminal()),
            }
            Ok(if merged.summary.gate_passes() { exit::OK } else { exit::GATE_FAILED })
        }
        ReportCommand::Html(a) => {
            let output = a.output.clone().unwrap_or_else(|| a.input.with_extension("html"));
            if output == a.input {
                return Err(CliError::usage(anyhow!("{}: the output would overwrite the input; pass -o PATH", a.input.display())));
            }
            let report = ratchet::schema::load_json::<GateReport>(&a.input).map_err(CliError::usage)?;
            let html = report.html();
            if output == Path::new("-") {
                use std::io::Write;
                std::io::stdout().write_all(html.as_bytes()).map_err(|e| CliError::usage(anyhow!("cannot write to stdout: {e}")))?;
                return Ok(exit::OK);
            }
            write_atomic(&output, html.as_bytes()).map_err(|e| CliError::usage(anyhow!("{}: cannot write: {e}", output.display())))?;
            let s = &report.summary;
            eprintln!("wrote {} ({} scenario(s), gate {})", output.display(), s.total, if s.gate_passes() { "passed" } else { "failed" });
            Ok(exit::OK)
        }
    }
}
