//! `ratchet detect` and `ratchet rank`.

mod split;

use std::io::Seek;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::anyhow;
use clap::Args;
use serde_json::Value;

use super::plugin_cmd::Format;
use super::{exit, CliError, CliResult};
use ratchet::config::Project;
use ratchet::detect::sidecar::StateSideCar;
use ratchet::detect::{self, input, Checkpoint, Detector, Partition, RunOptions, RunVerdict};
use ratchet::plugin::WorldKind;
use ratchet::schema::{self, FailureEvent};

#[derive(Args)]
pub struct DetectArgs {
    /// Conversation files (`.jsonl`: one per line; `.json`: one per file), directories
    /// of them, or `-` for stdin (the default).
    inputs: Vec<PathBuf>,
    /// Convert each record with this adapter plugin (a name from ratchet.toml, a component path, or `builtin:NAME` for an adapter shipped with ratchet, e.g. builtin:adapter-otel-genai).
    #[arg(long)]
    adapter: Option<String>,
    /// Options for the adapter (a JSON object).
    #[arg(long)]
    adapter_options: Option<String>,
    /// A side-car agent state for what the source lacks (KB hash, tool registry,
    /// prompt version, routing): one canonical state object for every conversation,
    /// or JSON Lines `{"conversation_id": ..., "state": {...}}`, one per conversation.
    /// Merged into each conversation (its set fields win), with or without an adapter.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Write failure events (JSONL) here instead of stdout.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Where rejected records go (default: <out>.rejects.jsonl, or rejects.jsonl).
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// Only conversations of partition k of n (by conversation-id hash), e.g. 2/4.
    #[arg(long)]
    partition: Option<Partition>,
    /// Make the run restartable: progress is saved here after every batch, and a
    /// re-run resumes after the last saved record (needs --out).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Threads scoring conversations.
    #[arg(long, short, default_value_t = 1)]
    jobs: usize,
    /// Records per batch (between checkpoints).
    #[arg(long, default_value_t = 512)]
    batch: usize,
    /// After detecting, match every failure event against this suite's archived
    /// scenarios: a match resurrects the archived scenario (its bug came back), with
    /// the conversation recorded as evidence. Needs --out.
    #[arg(long)]
    match_suite: Option<PathBuf>,
    /// Split the run across N processes, one per partition (`--partition k/N` each),
    /// and merge their outputs into exactly what one process writes. With a scorecard
    /// plugin, processes scale better than --jobs threads (see docs/detect.md).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    processes: u32,
    /// Internal, set by --processes: run as one partition's worker, writing the
    /// events, rejects, input positions and counts into this directory.
    #[arg(long, hide = true)]
    worker_dir: Option<PathBuf>,
    /// How records are framed: `records` (one conversation source per JSONL line or
    /// `.json` file), `otlp` (OpenTelemetry JSON Lines read as one stream across lines
    /// and files, regrouped into conversations before the adapter; see
    /// docs/detect.md), or `auto`: `otlp` with the adapter-otel-genai adapter.
    #[arg(long, value_enum, default_value = "auto")]
    framing: Framing,
    /// `--framing otlp`: a conversation grouped by `gen_ai.conversation.id` or the group
    /// attribute (adapter option `group_attribute`, default `session.id`) is complete
    /// when the stream's time has moved this far past its last span or log record
    /// (e.g. 30m, 90s, 2h).
    #[arg(long, default_value = "30m")]
    idle_gap: String,
    /// Exit 0 despite rejected records and scorecard errors when they are at most this
    /// share of what was read ((rejected + errors) / (rejected + seen), 0 to 1). By
    /// default any reject or scorecard error exits 4, after everything else is written.
    #[arg(long, default_value_t = 0.0)]
    max_reject_rate: f64,
    /// Receive OTLP/HTTP at this address (e.g. 127.0.0.1:4318, or :0 for any free
    /// port) instead of reading files: an OpenTelemetry SDK or Collector exports
    /// traces and logs (`POST /v1/traces`, `/v1/logs`; protobuf or JSON, optionally
    /// gzip) straight to ratchet. Each request is written to the spool and synced
    /// before its 200, and completed conversations are scored as they complete.
    /// Needs --adapter (otel-genai), --out and --checkpoint; runs until SIGINT or
    /// SIGTERM; restart with the same flags to resume (see docs/detect.md).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// `--listen`: the write-ahead spool, OTLP JSON Lines (default: <out>.otlp.jsonl).
    /// It is also a file `ratchet detect` reads.
    #[arg(long, requires = "listen")]
    spool: Option<PathBuf>,
    /// `json` prints the summary as JSON on stderr.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// LLM-judged plugins ask the model for what is not recorded yet (default), or
    /// afresh with --record.
    #[command(flatten)]
    model: super::ModelModeArgs,
}

/// `--framing`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Framing {
    /// `otlp` with adapter-otel-genai, else `records`.
    Auto,
    /// One record per JSONL line or `.json` file.
    Records,
    /// OpenTelemetry JSON Lines as one stream, one record per conversation.
    Otlp,
}

/// `--idle-gap`: `90s`, `30m`, `2h`, `1d`, in nanoseconds.
fn parse_gap(s: &str) -> Option<u64> {
    let secs: i64 = match s.strip_suffix('s') {
        Some(n) => n.parse().ok()?,
        None => ratchet::time::parse_window(s)?,
    };
    u64::try_from(secs).ok().filter(|s| *s > 0).map(|s| s.saturating_mul(1_000_000_000))
}

pub fn detect(a: DetectArgs, config: Option<&Path>) -> CliResult {
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    let project = Project::discover(&cwd, config).map_err(CliError::usage)?;
    if a.match_suite.is_some() && a.out.is_none() {
        return Err(CliError::usage(anyhow!("--match-suite reads the events back: use it with --out")));
    }
    if a.checkpoint.is_some() && a.out.is_none() {
        return Err(CliError::usage(anyhow!("--checkpoint needs --out (a restart must be able to truncate the output)")));
    }
    split::check_args(&a)?;
    if a.listen.is_some() {
        check_listen_args(&a)?;
    }
    if !(0.0..=1.0).contains(&a.max_reject_rate) {
        return Err(CliError::usage(anyhow!("--max-reject-rate {}: expected a share between 0 and 1", a.max_reject_rate)));
    }
    let idle_gap_ns = parse_gap(&a.idle_gap).ok_or_else(|| CliError::usage(anyhow!("--idle-gap `{}`: expected e.g. 90s, 30m, 2h", a.idle_gap)))?;
    let inputs = input::expand(&a.inputs).map_err(|e| CliError::usage(anyhow!(e)))?;

    let needs_runtime = !project.config.detect.scorecards.is_empty() || a.adapter.is_some();
    // Live traffic: LLM-judged scorecards ask the model and record each answer, so the
    // failure event's judgement can be replayed later.
    let runtime = super::runtime_if(&project, needs_runtime, a.model.mode(ratchet::llm::Mode::RecordMissing))?;
    let mut scorecards = Vec::new();
    for entry in &project.config.detect.scorecards {
        super::warn_if_stale(&project, &entry.plugin);
        let p = ratchet::loader::load(&project, runtime.as_ref().expect("runtime"), &entry.plugin).map_err(CliError::usage)?;
        if p.world().kind != WorldKind::Scorecard {
            return Err(CliError::usage(anyhow!(
                "detect.scorecards `{}`: plugin `{}` implements `{}`, not `scorecard`",
                entry.name,
                entry.plugin,
                p.world().kind.name()
            )));
        }
        scorecards.push((entry.clone(), Arc::new(p)));
    }
    let side_car = match &a.state {
        Some(path) => Some(StateSideCar::load(path).map_err(|e| CliError::usage(anyhow!("--state {e}")))?),
        None => None,
    };
    let adapter = match &a.adapter {
        None => None,
        Some(name) => {
            super::warn_if_stale(&project, name);
            let p = ratchet::loader::load(&project, runtime.as_ref().expect("runtime"), name).map_err(CliError::usage)?;
            if p.world().kind != WorldKind::Adapter {
                return Err(CliError::usage(anyhow!("--adapter `{name}` implements `{}`, not `adapter`", p.world().kind.name())));
            }
            let mut options: Value = match &a.adapter_options {
                Some(t) => serde_json::from_str(t).map_err(|e| CliError::usage(anyhow!("--adapter-options: {e}")))?,
                None => Value::Object(Default::default()),
            };
            if !options.is_object() {
                return Err(CliError::usage(anyhow!("--adapter-options must be a JSON object")));
            }
            // A single state also goes to the adapter (as before), which then does
            // not report the fields it sets as missing.
            if let Some(StateSideCar::All(state)) = &side_car {
                options["state"] = Value::Object(state.clone());
            }
            Some((Arc::new(p), options))
        }
    };
    let adapter_options = adapter.as_ref().map(|(_, o)| o.clone());
    // The adapter's own name (its info), whatever ratchet.toml calls it.
    let adapter_name = match &adapter {
        Some((p, _)) => Some(p.info().map_err(|e| CliError { code: exit::PLUGIN, error: anyhow!("--adapter: {e}") })?.output.name),
        None => None,
    };
    let detector_adapter_name = |_: &Detector| adapter_name.clone();
    let detector = Detector::new(project.config.detect.clone(), scorecards, adapter)
        .map_err(|e| CliError::usage(anyhow!(e)))?
        .with_rules(project.config.conversation.clone())
        .with_state(side_car.clone());
    let opts = RunOptions { partition: a.partition, jobs: a.jobs, batch: a.batch };
    let reject_path = a.rejects.clone().unwrap_or_else(|| match &a.out {
        Some(o) => PathBuf::from(format!("{}.rejects.jsonl", o.display())),
        None => PathBuf::from("rejects.jsonl"),
    });
    let otlp = match a.framing {
        Framing::Otlp => true,
        Framing::Records => false,
        Framing::Auto => detector_adapter_name(&detector).as_deref() == Some("adapter-otel-genai"),
    };
    if otlp && a.adapter.is_none() {
        return Err(CliError::usage(anyhow!("--framing otlp regroups OpenTelemetry exports for an adapter: use it with --adapter (e.g. otel-genai)")));
    }
    let group_attribute = match adapter_options.as_ref().and_then(|o| o.get("group_attribute")) {
        None => Some("session.id".to_string()),
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(_) => None,
    };
    if let Some(addr) = &a.listen {
        if !otlp {
            return Err(CliError::usage(anyhow!("--listen receives OpenTelemetry exports: use it with --adapter otel-genai (and --framing auto or otlp)")));
        }
        let frame = detect::otlp::FramerOptions { group_attribute, idle_gap_ns, hold_open: None };
        return listen(&a, addr, &detector, frame, &reject_path);
    }
    let records = input::Records::new(inputs.clone()).hold_unterminated(a.checkpoint.is_some()).json_lines(otlp);
    let held = records.held.clone();
    let records: Box<dyn Iterator<Item = Result<input::Record, input::ReadError>>> = if otlp {
        let opts = detect::otlp::FramerOptions { group_attribute, idle_gap_ns, hold_open: a.checkpoint.is_some().then(|| held.clone()) };
        Box::new(detect::otlp::Framer::new(records, opts))
    } else {
        Box::new(records)
    };

    let broker = runtime.as_ref().and_then(ratchet::loader::broker);
    let (stats, judge) = if let Some(dir) = &a.worker_dir {
        return split::worker(&detector, records, &opts, dir, broker.as_deref());
    } else if a.processes > 1 {
        // The plugins were loaded to check the configuration (and to fill the compile
        // cache for the children): the children load their own.
        drop(detector);
        drop(runtime);
        split::run(&a, config, &inputs, &reject_path)?
    } else {
        let stats = run_here(&a, &detector, records, &opts, &reject_path)?;
        (stats, broker.map(|b| b.stats()))
    };
    for origin in held.borrow().iter() {
        eprintln!("detect: {origin}: the last line has no newline yet (still being written?): left unread for the next run");
    }
    if let Some(StateSideCar::ById(states)) = &side_car {
        if !states.is_empty() && stats.seen > 0 && stats.with_side_car_state == 0 {
            eprintln!(
                "detect: warning: none of the {} conversation id(s) in the --state side-car matched a conversation read; no state was merged",
                states.len()
            );
        }
    }
    if stats.without_content > 0 {
        eprintln!(
            "detect: warning: {} conversation(s) came without message content: their model calls were recorded without the messages (content capture off; see docs/detect.md for the setting), so only tool calls were examined",
            stats.without_content
        );
    }
    if stats.rejected + stats.errors > 0 {
        if let Ok(text) = std::fs::read_to_string(&reject_path) {
            for line in text.lines().take(5) {
                if let Ok(r) = serde_json::from_str::<detect::Reject>(line) {
                    if r.error.starts_with(&r.origin) {
                        eprintln!("reject: {}", r.error);
                    } else {
                        eprintln!("reject: {}: {}", r.origin, r.error);
                    }
                }
            }
        }
        eprintln!("detect: {} record(s) rejected and {} conversation(s) failed a scorecard: see {}", stats.rejected, stats.errors, reject_path.display());
    }
    // Any reject or scorecard error exits 4 (once everything else is done), unless
    // --max-reject-rate allows it; said before the summary, which stays the last line.
    let verdict = stats.verdict(a.max_reject_rate);
    if verdict == RunVerdict::RejectsAboveLimit {
        eprintln!(
            "detect: exit {}: {} rejected record(s) and {} scorecard error(s) are {:.4} of what was read, above --max-reject-rate {} (everything else is written)",
            exit::REJECTS,
            stats.rejected,
            stats.errors,
            stats.reject_rate(),
            a.max_reject_rate
        );
    }
    match a.format {
        Format::Json => eprintln!("{}", serde_json::to_string(&stats).expect("json")),
        Format::Text => eprintln!("{}", stats.line()),
    }
    if let Some(j) = judge.filter(|s| s.replayed + s.recorded + s.failed > 0) {
        eprintln!("judge {}", j.line());
    }
    if let (Some(suite), Some(out)) = (&a.match_suite, &a.out) {
        match_suite(&project, suite, out)?;
    }
    // Some conversations failing a scorecard is traffic (they are in the reject file);
    // every one of them failing is a broken plugin or host, and nothing was judged.
    Ok(match verdict {
        RunVerdict::ScorecardsBroken => {
            eprintln!(
                "detect: every conversation ({}) failed a scorecard, so none was judged: the plugin (or its limits, or the host) is broken, not the traffic; see {}",
                stats.seen,
                reject_path.display()
            );
            exit::PLUGIN
        }
        RunVerdict::RejectsAboveLimit => exit::REJECTS,
        RunVerdict::Clean | RunVerdict::RejectsAllowed => exit::OK,
    })
}

/// `--listen` needs a restartable run in one process, and no input files.
fn check_listen_args(a: &DetectArgs) -> Result<(), CliError> {
    let refuse = |why: &str| Err(CliError::usage(anyhow!("--listen {why}")));
    if !a.inputs.is_empty() {
        return refuse("receives its input over HTTP: give no input files (to read a spool or an export file, run detect on it without --listen)");
    }
    if a.out.is_none() || a.checkpoint.is_none() {
        return refuse("needs --out and --checkpoint: what was acknowledged is scored exactly once, across restarts");
    }
    if a.adapter.is_none() {
        return refuse("needs --adapter otel-genai (the OTLP GenAI adapter) to turn spans and log records into conversations");
    }
    if a.processes > 1 || a.partition.is_some() || a.worker_dir.is_some() {
        return refuse("runs in one process: scale out with the Collector's load-balancing exporter keyed by trace id (docs/detect.md)");
    }
    if a.match_suite.is_some() {
        return refuse("runs until stopped: run `ratchet detect --match-suite` on the events afterwards");
    }
    Ok(())
}

/// `--listen`: receive into the spool, detect from it as it grows, until a stop
/// signal; then answer what is in flight, score what completed, save and exit.
fn listen(a: &DetectArgs, addr: &str, detector: &Detector, frame: detect::otlp::FramerOptions, reject_path: &Path) -> CliResult {
    use detect::listen::{self as live, Follow, Listener, Spool};
    use std::sync::atomic::{AtomicBool, Ordering};
    let out = a.out.as_ref().expect("checked");
    let spool_path = a.spool.clone().unwrap_or_else(|| PathBuf::from(format!("{}.otlp.jsonl", out.display())));
    let (spool, cut) = Spool::open(&spool_path).map_err(CliError::usage)?;
    if cut > 0 {
        eprintln!("detect: {}: cut {cut} byte(s) of a last line without its newline (a write cut short by a crash, never acknowledged)", spool_path.display());
    }
    let spool = Arc::new(spool);
    // SIGINT/SIGTERM/SIGHUP are recorded, not fatal (the split run's mechanism): the
    // stopper below turns one into a clean stop.
    let interrupts = detect::workers::catch_interrupts();
    // While traffic is recent, the clock moves conversations to completion: for as
    // long as the idle gap (or a root span's grace) could still be waiting.
    let clock_for = std::time::Duration::from_nanos(frame.idle_gap_ns.max(detect::otlp::ROOT_GRACE_NS)) + live::TICK * 3;
    let listener = Listener::start(addr, spool.clone(), 4, clock_for).map_err(CliError::usage)?;
    eprintln!(
        "detect: listening on http://{} (OTLP/HTTP: POST /v1/traces and /v1/logs, protobuf or JSON); spool {}; stop with Ctrl-C or SIGTERM",
        listener.addr,
        spool_path.display()
    );
    let follow_stop = Arc::new(AtomicBool::new(false));
    let records = Follow::new(spool.clone(), follow_stop.clone()).map_err(|e| io_err(&spool_path, e))?;
    let stopper = {
        let follow_stop = follow_stop.clone();
        std::thread::spawn(move || {
            while detect::workers::take_interrupt().is_none() {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            // Everything acknowledged is in the spool before the reader stops at its end.
            listener.stop();
            follow_stop.store(true, Ordering::SeqCst);
        })
    };
    // At the end (a stop), open conversations stay open: the next run completes them.
    let held = std::rc::Rc::new(std::cell::RefCell::new(vec![spool_path.display().to_string()]));
    let framer = detect::otlp::Framer::new(records, detect::otlp::FramerOptions { hold_open: Some(held), ..frame });
    // One conversation per batch: each is scored and saved as soon as it completes.
    let opts = RunOptions { partition: None, jobs: a.jobs, batch: 1 };
    let stats = run_here(a, detector, framer, &opts, reject_path)?;
    let _ = stopper.join();
    drop(interrupts);
    if stats.rejected + stats.errors > 0 {
        eprintln!("detect: {} record(s) rejected and {} conversation(s) failed a scorecard: see {}", stats.rejected, stats.errors, reject_path.display());
    }
    match a.format {
        Format::Json => eprintln!("{}", serde_json::to_string(&stats).expect("json")),
        Format::Text => eprintln!("{}", stats.line()),
    }
    Ok(match stats.verdict(a.max_reject_rate) {
        RunVerdict::ScorecardsBroken => exit::PLUGIN,
        RunVerdict::RejectsAboveLimit => exit::REJECTS,
        RunVerdict::Clean | RunVerdict::RejectsAllowed => exit::OK,
    })
}

/// One process: events to `--out` (in place with a checkpoint, else a temporary file
/// renamed when complete) or stdout, rejects to `reject_path`.
fn run_here(
    a: &DetectArgs,
    detector: &Detector,
    records: impl Iterator<Item = Result<input::Record, input::ReadError>>,
    opts: &RunOptions,
    reject_path: &Path,
) -> Result<detect::Stats, CliError> {
    // On a terminal: conversations examined so far, what was flagged and rejected.
    let progress = super::progress::Progress::counter("conversation(s)");
    let show = |cp: &Checkpoint| {
        let s = &cp.stats;
        progress.set(s.seen, format!("{} record(s) read, {} flagged, {} rejected", s.records, s.flagged, s.rejected + s.errors));
    };
    let stats = match (&a.out, &a.checkpoint) {
        // Restartable: write in place; a restart truncates to the checkpoint's sizes.
        (Some(out_path), Some(cp_path)) => {
            let resume: Checkpoint = if cp_path.exists() { schema::load_json(cp_path).map_err(CliError::usage)? } else { Checkpoint::default() };
            // Both files must still hold what the checkpoint counts: a shorter (or
            // missing) file would be padded with NUL bytes, and the records it lost
            // are not re-read.
            check_resumable(out_path, resume.output_bytes, cp_path)?;
            check_resumable(reject_path, resume.reject_bytes, cp_path)?;
            let out = open_at(out_path, resume.output_bytes).map_err(|e| io_err(out_path, e))?;
            let mut rejects = open_at(reject_path, resume.reject_bytes).map_err(|e| io_err(reject_path, e))?;
            let mut save = |cp: &Checkpoint| {
                show(cp);
                out.sync_data()?;
                ratchet::fsutil::write_atomic(cp_path, serde_json::to_string_pretty(cp).expect("json").as_bytes())
            };
            let mut out_w = std::io::BufWriter::new(out.try_clone().map_err(|e| io_err(out_path, e))?);
            detect::run(detector, records, &mut out_w, &mut rejects, opts, resume, &mut save).map_err(|e| io_err(out_path, e))?
        }
        // One shot: to a file (temporary file, renamed when complete) or stdout.
        (out_path, _) => {
            let mut out = match out_path {
                Some(p) => Sink::file(p).map_err(|e| io_err(p, e))?,
                None => Sink::Stdout(std::io::BufWriter::new(std::io::stdout())),
            };
            let mut rejects = Sink::file(reject_path).map_err(|e| io_err(reject_path, e))?;
            let stats = detect::run(detector, records, &mut out, &mut rejects, opts, Checkpoint::default(), &mut |cp| {
                show(cp);
                Ok(())
            })
            .map_err(|e| io_err(out_path.as_deref().unwrap_or(Path::new("<stdout>")), e))?;
            if let Some(p) = out_path {
                out.finish(p, true).map_err(|e| io_err(p, e))?;
            }
            // A reject file appears only when something was rejected.
            rejects.finish(reject_path, stats.rejected + stats.errors > 0).map_err(|e| io_err(reject_path, e))?;
            stats
        }
    };
    Ok(stats)
}

/// An I/O error on a file named in the command: exit 2, naming the file.
fn io_err(what: &Path, e: std::io::Error) -> CliError {
    CliError::usage(anyhow!("{}: {e}", what.display()))
}

/// `--match-suite`: regenerate each event in memory and merge it into a matching
/// archived scenario (resurrecting it); nothing is added to the suite.
fn match_suite(project: &Project, suite: &Path, events: &Path) -> Result<(), CliError> {
    let text = std::fs::read_to_string(events).map_err(|e| CliError::usage(anyhow!("{}: {e}", events.display())))?;
    let now = ratchet::time::now_rfc3339();
    let runtime = super::runtime_if(project, project.config.regenerate.simulator.is_some(), ratchet::llm::Mode::Replay)?;
    let simulator = super::regenerate_simulator(project, runtime.as_ref())?;
    let opts = ratchet::regenerate::Options {
        config: &project.config.regenerate,
        escalation_pattern: &project.config.detect.expected_escalation_pattern,
        rules: &project.config.conversation,
        simulator: simulator.as_ref().map(|p| ratchet::regenerate::NamedSimulator {
            name: &p.id().name,
            plugin: p,
            params: &project.config.regenerate.simulator_params,
        }),
        now: now.clone(),
    };
    let mut candidates = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let origin = format!("{}:{}", events.display(), i + 1);
        let event: ratchet::schema::FailureEvent = schema::parse_json(line, &origin).map_err(CliError::usage)?;
        if let Ok(r) = ratchet::regenerate::regenerate(&event, &opts) {
            let text = ratchet::regenerate::render::to_toml(&r.scenario, &Default::default());
            candidates.push((PathBuf::from(origin), r.scenario, text));
        }
    }
    let popts = ratchet::promote::Options {
        config: project.config.promote.clone(),
        now,
        prefilter: true,
        dry_run: false,
        lock_timeout: std::time::Duration::from_secs(60),
        only_archived: true,
        rules: project.config.conversation.clone(),
    };
    let (outcomes, _) = ratchet::promote::promote(suite, &candidates, &popts).map_err(|e| CliError::usage(anyhow!(e)))?;
    let mut resurrected = 0;
    for o in &outcomes {
        if let ratchet::promote::Decision::Merged { into, resurrected: true, .. } = &o.decision {
            resurrected += 1;
            eprintln!("resurrected {}/{}: {} matched it (similarity {})", suite.display(), into.file.display(), o.candidate.display(), into.similarity);
        }
    }
    eprintln!("match-suite: {} event(s) matched against {}: {resurrected} archived scenario(s) resurrected", outcomes.len(), suite.display());
    Ok(())
}

/// Where one-shot output goes: a temporary file renamed over a regular target when
/// complete, a device/FIFO/symlink written in place, or stdout.
enum Sink {
    Temp(tempfile::NamedTempFile),
    Direct(std::fs::File),
    Stdout(std::io::BufWriter<std::io::Stdout>),
}

impl Sink {
    fn file(path: &Path) -> std::io::Result<Sink> {
        if ratchet::fsutil::replaceable(path) {
            Ok(Sink::Temp(ratchet::fsutil::temp_for(path)?))
        } else {
            Ok(Sink::Direct(std::fs::OpenOptions::new().write(true).open(path)?))
        }
    }

    /// Put the file in place (`keep`), or discard the temporary file.
    fn finish(self, path: &Path, keep: bool) -> std::io::Result<()> {
        match self {
            Sink::Temp(t) if keep => {
                t.as_file().sync_all()?;
                t.persist(path).map(|_| ()).map_err(|e| e.error)
            }
            _ => Ok(()),
        }
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Temp(t) => t.write(buf),
            Sink::Direct(f) => f.write(buf),
            Sink::Stdout(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Temp(t) => t.flush(),
            Sink::Direct(f) => f.flush(),
            Sink::Stdout(s) => s.flush(),
        }
    }
}

fn parent(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// A restart may cut `path` back to the `bytes` the checkpoint counts (a torn tail
/// after them is normal), never extend it: a removed or shortened output is an error
/// that says how to start over.
fn check_resumable(path: &Path, bytes: u64, checkpoint: &Path) -> Result<(), CliError> {
    if bytes == 0 {
        return Ok(());
    }
    let have = match std::fs::metadata(path) {
        Ok(m) if m.is_file() => m.len(),
        Ok(_) => return Err(CliError::usage(anyhow!("{}: not a regular file; the checkpoint {} resumes a file", path.display(), checkpoint.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(io_err(path, e)),
    };
    if have < bytes {
        return Err(CliError::usage(anyhow!(
            "{}: holds {have} bytes but the checkpoint {} says {bytes} were written: the file was removed or cut since, so resuming would lose \
             events. Restore it, or delete {} to start over from the first record",
            path.display(),
            checkpoint.display(),
            checkpoint.display()
        )));
    }
    Ok(())
}

/// Open `path` for appending after truncating it to `len` bytes (creating it if needed).
fn open_at(path: &Path, len: u64) -> std::io::Result<std::fs::File> {
    let mut f = std::fs::OpenOptions::new().create(true).truncate(false).read(true).write(true).open(path)?;
    f.set_len(len)?;
    f.seek(std::io::SeekFrom::End(0))?;
    Ok(f)
}

#[derive(Args)]
pub struct RankArgs {
    /// Failure-event files (JSONL, as written by `ratchet detect`).
    #[arg(required = true)]
    events: Vec<PathBuf>,
    /// Only events detected in this window before --now, e.g. 30d, 12h.
    #[arg(long, default_value = "30d")]
    since: String,
    /// End of the window (RFC 3339; default: now).
    #[arg(long)]
    now: Option<String>,
    /// Show only the N costliest failure modes.
    #[arg(long)]
    top: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn rank(a: RankArgs, config: Option<&Path>) -> CliResult {
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    let project = Project::discover(&cwd, config).map_err(CliError::usage)?;
    let span = ratchet::time::parse_window(&a.since).ok_or_else(|| CliError::usage(anyhow!("--since `{}`: expected e.g. 30d, 12h, 90m", a.since)))?;
    let now = match &a.now {
        Some(n) => ratchet::time::parse_rfc3339(n).ok_or_else(|| CliError::usage(anyhow!("--now `{n}` is not an RFC 3339 time")))?,
        None => ratchet::time::parse_rfc3339(&ratchet::time::now_rfc3339()).expect("own format"),
    };
    // Streamed: events are aggregated one at a time, never held all in memory.
    let bad = std::cell::Cell::new(0u64);
    let records = input::Records::new(input::expand(&a.events).map_err(|e| CliError::usage(anyhow!(e)))?);
    let events = records.filter_map(|rec| {
        let parsed = match rec {
            Ok(r) => std::str::from_utf8(&r.bytes)
                .map_err(|e| format!("{}: {e}", r.origin))
                .and_then(|t| schema::parse_json::<FailureEvent>(t, &r.origin).map_err(|e| e.to_string())),
            Err(e) => Err(format!("{}: {}", e.origin, e.message)),
        };
        parsed
            .map_err(|e| {
                bad.set(bad.get() + 1);
                eprintln!("rank: skipped {e}");
            })
            .ok()
    });
    let mut ranking = ratchet::rank::rank(events, &project.config.rank, Some((now - span, now)));
    let bad = bad.get();
    if bad > 0 && ranking.events + ranking.outside_window == 0 {
        let files: Vec<String> = a.events.iter().map(|p| p.display().to_string()).collect();
        return Err(CliError::usage(anyhow!("no readable failure event in {} ({bad} record(s) skipped, each named above)", files.join(", "))));
    }
    let notes = rank_notes(&ranking);
    if let Some(n) = a.top {
        ranking.modes.truncate(n);
    }
    let by_count = ranking.ranked_by == ratchet::rank::RankedBy::Count;
    match a.format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "since": a.since,
                "now": ratchet::time::format_unix(now),
                "ranked_by": ranking.ranked_by,
                "events": ranking.events,
                "undated": ranking.undated,
                "without_impact": ranking.without_impact,
                "outside_window": ranking.outside_window,
                "skipped": bad,
                "notes": notes,
                "modes": ranking.modes,
            }))
            .expect("json")
        ),
        Format::Text => {
            if by_count {
                outln!("{:<4} {:<44} {:>6}  example", "rank", "failure mode", "events");
            } else {
                outln!(
                    "{:<4} {:<44} {:>6} {:>12} {:>10} {:>10} {:>10} {:>10}  example",
                    "rank",
                    "failure mode",
                    "events",
                    "cost",
                    "revenue",
                    "compliance",
                    "refunds",
                    "escalation"
                );
            }
            for (i, m) in ranking.modes.iter().enumerate() {
                let mixed = if m.currencies.len() > 1 { format!("  (mixed currencies: {})", m.currencies.join(",")) } else { String::new() };
                if by_count {
                    outln!("{:<4} {:<44} {:>6}  {}", i + 1, m.failure_mode, m.count, m.example_conversation);
                } else {
                    outln!(
                        "{:<4} {:<44} {:>6} {:>12} {:>10} {:>10} {:>10} {:>10}  {}{mixed}",
                        i + 1,
                        m.failure_mode,
                        m.count,
                        amount(m.cost),
                        amount(m.revenue_at_risk),
                        amount(m.compliance_exposure),
                        amount(m.refund_amount),
                        amount(m.escalation_cost),
                        m.example_conversation,
                    );
                }
            }
            if ranking.modes.is_empty() {
                outln!("(no failure events in the last {})", a.since);
            }
            for n in &notes {
                outln!("note: {n}");
            }
            if bad > 0 {
                eprintln!("rank: {bad} unreadable record(s) skipped");
            }
        }
    }
    Ok(exit::OK)
}

/// What a reader must know to read the ranking right (printed and in the JSON).
fn rank_notes(r: &ratchet::rank::Ranking) -> Vec<String> {
    let mut notes = Vec::new();
    if r.undated > 0 {
        notes.push(format!(
            "{} of {} event(s) carry no time (no detected_at, no conversation started_at): counted whatever --since says, in input order",
            r.undated, r.events
        ));
    }
    if r.ranked_by == ratchet::rank::RankedBy::Count && r.events > 0 {
        notes.push(
            "no event carries an impact (revenue_at_risk, compliance_exposure, refund_amount, escalation_cost): modes are ranked by event count, each with its first event in input order as the example"
                .into(),
        );
    } else if r.without_impact > 0 {
        notes.push(format!("{} of {} event(s) carry no impact: they add to the counts, not to the costs", r.without_impact, r.events));
    }
    if r.outside_window > 0 {
        notes.push(format!("{} event(s) outside the window were left out", r.outside_window));
    }
    notes
}

/// An amount in a fixed-width column: two decimals, or scientific notation when huge.
fn amount(x: f64) -> String {
    if x.abs() >= 1e12 {
        format!("{x:.3e}")
    } else {
        format!("{x:.2}")
    }
}
