//! `ratchet detect --processes N`: one run split across N child processes.
//!
//! The parent re-executes its own binary once per partition (`--partition k/N`, plus the
//! hidden `--worker-dir`), each child writing its events, rejects, input positions and
//! counts into a private directory next to the final output. When all have succeeded the
//! parent merges them ([`ratchet::detect::merge`]) into the final output — a temporary
//! file renamed when complete, or stdout — byte for byte what one process writes. When
//! one fails, the others are killed, nothing is written, and the parent exits with the
//! child's exit code.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::anyhow;

use super::{io_err, parent, DetectArgs, Sink};
use crate::cli::{exit, CliError, CliResult};
use ratchet::detect::merge::{self, MergeError, PartOutput};
use ratchet::detect::workers::{self, Failure, Worker, WorkerError};
use ratchet::detect::{self, input, Checkpoint, Detector, Partition, RunOptions, Sinks, Stats};
use ratchet::llm::broker::BrokerStats;
use ratchet::llm::ModelBroker;

/// A worker's files, inside its directory.
const EVENTS: &str = "events.jsonl";
const REJECTS: &str = "rejects.jsonl";
const POSITIONS: &str = "positions";
const STATS: &str = "stats.json";
const JUDGE: &str = "judge.json";
const STDERR: &str = "stderr";

/// Refuse what a split run cannot do (exit 2, like every usage error).
pub(super) fn check_args(a: &DetectArgs) -> Result<(), CliError> {
    if a.worker_dir.is_some() {
        if a.partition.is_none() || a.processes > 1 || a.out.is_some() || a.rejects.is_some() || a.checkpoint.is_some() || a.match_suite.is_some() {
            return Err(CliError::usage(anyhow!(
                "--worker-dir is internal to --processes: it takes --partition and none of --out, --rejects, --checkpoint, --match-suite, --processes"
            )));
        }
        return Ok(());
    }
    if a.processes <= 1 {
        return Ok(());
    }
    if a.partition.is_some() {
        return Err(CliError::usage(anyhow!(
            "--processes {} splits the run into partitions itself: use either --processes or --partition (one process per --partition k/n)",
            a.processes
        )));
    }
    if a.checkpoint.is_some() {
        return Err(CliError::usage(anyhow!(
            "--checkpoint does not work with --processes: for a restartable split run, start one `ratchet detect --partition k/n --checkpoint FILE-k --out OUT-k` per process"
        )));
    }
    Ok(())
}

/// The child side: run this partition, writing into `dir`.
pub(super) fn worker(
    detector: &Detector,
    records: impl Iterator<Item = Result<input::Record, input::ReadError>>,
    opts: &RunOptions,
    dir: &Path,
    judge: Option<&ModelBroker>,
) -> CliResult {
    let create = |name: &str| {
        let p = dir.join(name);
        std::fs::File::create(&p).map(|f| (std::io::BufWriter::new(f), p.clone())).map_err(|e| io_err(&p, e))
    };
    let (mut events, events_path) = create(EVENTS)?;
    let (mut rejects, rejects_path) = create(REJECTS)?;
    let (mut positions, positions_path) = create(POSITIONS)?;
    let sinks = Sinks { events: &mut events, rejects: &mut rejects, positions: Some(&mut positions) };
    let stats = detect::run_to(detector, records, sinks, opts, Checkpoint::default(), &mut |_| Ok(())).map_err(|e| io_err(&events_path, e))?;
    for (w, p) in [(&mut events, &events_path), (&mut rejects, &rejects_path), (&mut positions, &positions_path)] {
        w.flush().map_err(|e| io_err(p, e))?;
    }
    // The model calls of LLM-judged scorecards, for the parent's `judge` line.
    let judge_path = dir.join(JUDGE);
    let judge = judge.map(|b| b.stats()).unwrap_or_default();
    ratchet::fsutil::write_atomic(&judge_path, serde_json::to_string(&judge).expect("json").as_bytes()).map_err(|e| io_err(&judge_path, e))?;
    // Written last: its presence says the partition is complete.
    let stats_path = dir.join(STATS);
    ratchet::fsutil::write_atomic(&stats_path, serde_json::to_string(&stats).expect("json").as_bytes()).map_err(|e| io_err(&stats_path, e))?;
    Ok(exit::OK)
}

/// The parent side: run `a.processes` children on `inputs` (already expanded, to know
/// whether stdin is among them), merge their outputs into `--out` (or stdout) and
/// `reject_path`, and return the counts of the whole run (and of its model calls).
pub(super) fn run(a: &DetectArgs, config: Option<&Path>, inputs: &[PathBuf], reject_path: &Path) -> Result<(Stats, Option<BrokerStats>), CliError> {
    let n = a.processes;
    // A Ctrl-C or `kill` stops the children and lets the working directory be removed
    // (declared first, so dropped last: after `work` is gone).
    let _interrupts = workers::catch_interrupts();
    let exe =
        std::env::current_exe().map_err(|e| CliError { code: exit::INTERNAL, error: anyhow!("--processes: cannot find the ratchet binary to run: {e}") })?;
    // The children's files go next to the final output (same filesystem, and where the
    // user made room); removed when this function returns, whatever happens.
    let base = work_dir_base(a.out.as_deref(), reject_path);
    let work = tempfile::Builder::new().prefix(".ratchet-detect-").tempdir_in(&base).map_err(|e| {
        let named = a.out.as_deref().unwrap_or(reject_path);
        CliError::usage(anyhow!("{}: cannot create the partitions' working directory: {e}", named.display()))
    })?;
    let mut specs = Vec::new();
    for k in 1..=n {
        let partition = Partition { index: k, count: n };
        let dir = work.path().join(k.to_string());
        std::fs::create_dir(&dir).map_err(|e| io_err(&dir, e))?;
        specs.push(Worker { partition, command: worker_command(&exe, a, config, partition, &dir), stderr: dir.join(STDERR) });
    }
    // Every child reads the whole stream (and keeps its partition): stdin is copied to all.
    let feed_stdin = inputs.iter().any(|p| p == Path::new("-"));
    // On a terminal: that the processes are at work, and for how long (each child's
    // counts stay in its own partition until the merge).
    let progress = crate::cli::progress::Progress::spinner(format!("detect: {n} process(es) scoring their partitions"));
    workers::run_all(specs, feed_stdin).map_err(|e| worker_error(e, n))?;
    drop(progress);

    let mut parts = Vec::new();
    let mut judge = BrokerStats::default();
    for k in 1..=n {
        let dir = work.path().join(k.to_string());
        let part: BrokerStats = ratchet::schema::load_json(&dir.join(JUDGE)).map_err(|e| CliError {
            code: exit::INTERNAL,
            error: anyhow!("--processes {n}: partition {k}/{n} exited successfully without its model-call counts: {e}"),
        })?;
        judge.merge(&part);
        let stats: Stats = ratchet::schema::load_json(&dir.join(STATS))
            .map_err(|e| CliError { code: exit::INTERNAL, error: anyhow!("--processes {n}: partition {k}/{n} exited successfully without its counts: {e}") })?;
        parts.push(PartOutput {
            partition: Partition { index: k, count: n },
            events: dir.join(EVENTS),
            rejects: dir.join(REJECTS),
            positions: dir.join(POSITIONS),
            stats,
        });
    }
    let mut out = match &a.out {
        Some(p) => Sink::file(p).map_err(|e| io_err(p, e))?,
        None => Sink::Stdout(std::io::BufWriter::new(std::io::stdout())),
    };
    let mut rejects = Sink::file(reject_path).map_err(|e| io_err(reject_path, e))?;
    let out_name = a.out.clone().unwrap_or_else(|| PathBuf::from("<stdout>"));
    let stats = {
        let mut out_w = std::io::BufWriter::with_capacity(1 << 16, &mut out);
        let mut rejects_w = std::io::BufWriter::new(&mut rejects);
        let stats = merge::merge(&parts, &mut out_w, &mut rejects_w).map_err(|e| merge_error(e, n))?;
        out_w.flush().map_err(|e| io_err(&out_name, e))?;
        rejects_w.flush().map_err(|e| io_err(reject_path, e))?;
        stats
    };
    // Interrupted while merging: keep nothing (the temporary files are discarded).
    if let Some(signal) = workers::take_interrupt() {
        return Err(worker_error(WorkerError::Interrupted { signal }, n));
    }
    if let Some(p) = &a.out {
        out.finish(p, true).map_err(|e| io_err(p, e))?;
    }
    // As in one process: a reject file appears only when something was rejected.
    rejects.finish(reject_path, stats.rejected + stats.errors > 0).map_err(|e| io_err(reject_path, e))?;
    Ok((stats, Some(judge)))
}

/// The child's command line: the same detect, on the same inputs, for one partition.
fn worker_command(exe: &Path, a: &DetectArgs, config: Option<&Path>, partition: Partition, dir: &Path) -> Command {
    // `--flag=value`, so that a value starting with `-` is never taken for a flag.
    fn opt(flag: &str, value: impl Into<OsString>) -> OsString {
        let mut s = OsString::from(format!("--{flag}="));
        s.push(value.into());
        s
    }
    let mut c = Command::new(exe);
    if let Some(cfg) = config {
        c.arg(opt("config", cfg));
    }
    c.arg("detect");
    if let Some(v) = &a.adapter {
        c.arg(opt("adapter", v));
    }
    if let Some(v) = &a.adapter_options {
        c.arg(opt("adapter-options", v));
    }
    if let Some(v) = &a.state {
        c.arg(opt("state", v));
    }
    c.arg(opt("jobs", a.jobs.to_string()));
    c.arg(opt("framing", format!("{:?}", a.framing).to_lowercase()));
    c.arg(opt("idle-gap", &a.idle_gap));
    c.arg(opt("batch", a.batch.to_string()));
    c.arg(opt("partition", partition.to_string()));
    c.arg(opt("worker-dir", dir));
    // Where LLM-judged scorecards' answers come from: the same mode in every child.
    c.args(a.model.flags());
    // The inputs as given (a directory is expanded by each child alike; the merge checks
    // that every child read the same number of records).
    c.arg("--").args(&a.inputs);
    c
}

/// Where the children's directory goes: next to the output, or next to the reject file
/// (output to stdout or a device), or the system's temporary directory.
fn work_dir_base(out: Option<&Path>, rejects: &Path) -> PathBuf {
    let replaceable = ratchet::fsutil::replaceable;
    match out {
        Some(o) if replaceable(o) => parent(o).to_path_buf(),
        _ if replaceable(rejects) => parent(rejects).to_path_buf(),
        _ => std::env::temp_dir(),
    }
}

/// A failed child: its exit code (2 usage/input/output, 3 plugin...), or 70 when it
/// did not exit by itself (killed by a signal) or could not be started.
fn worker_error(e: WorkerError, n: u32) -> CliError {
    let (code, stopped) = match &e {
        WorkerError::Failed { failure: Failure::Exit(c), .. } if *c > 0 => (*c, "the other partitions were stopped"),
        WorkerError::Failed { .. } | WorkerError::Spawn { .. } => (exit::INTERNAL, "the other partitions were stopped"),
        WorkerError::Io { .. } => (exit::USAGE, "the other partitions were stopped"),
        // The shell's convention for a process ended by a signal.
        WorkerError::Interrupted { signal } => (128 + signal, "the partitions were stopped and their files removed"),
    };
    CliError { code, error: anyhow!("detect --processes {n}: {e}\n({stopped}; nothing was written)") }
}

fn merge_error(e: MergeError, n: u32) -> CliError {
    let code = match &e {
        MergeError::Io { .. } | MergeError::InputChanged { .. } => exit::USAGE,
        MergeError::Inconsistent(_) => exit::INTERNAL,
    };
    CliError { code, error: anyhow!("detect --processes {n}: {e}") }
}
