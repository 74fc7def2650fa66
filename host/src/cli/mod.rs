//! Command-line parsing and dispatch.

/// `println!` for a command's output on stdout, without its panic when the reader
/// has gone (`ratchet schema scenario | head`): see [`stdout_closed`].
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            $crate::cli::stdout_closed(e);
        }
    }};
}

mod demo_cmd;
mod detect_cmd;
mod examples;
mod gate_cmd;
mod init_cmd;
mod plugin_build;
mod plugin_cmd;
mod progress;
mod regenerate_cmd;
mod schema_cmd;
mod shell_cmd;
mod tiers_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Exit codes, documented in docs/exit-codes.md.
pub mod exit {
    /// Everything passed.
    pub const OK: i32 = 0;
    /// The gate failed: a scenario failed (deploy blocked).
    pub const GATE_FAILED: i32 = 1;
    /// Usage, configuration or input error: fix the command or the file named.
    pub const USAGE: i32 = 2;
    /// A plugin failed (trap, out of fuel or memory, timeout, malformed output).
    pub const PLUGIN: i32 = 3;
    /// `detect`: the stream was processed and everything else written, but records
    /// were rejected or scorecards failed on conversations (above `--max-reject-rate`).
    pub const REJECTS: i32 = 4;
    /// A bug in ratchet itself.
    pub const INTERNAL: i32 = 70;
    /// Try again later: another `ratchet promote` holds the suite lock (EX_TEMPFAIL).
    pub const BUSY: i32 = 75;
    /// The reader of stdout went away (`| head`): the shell's status for SIGPIPE.
    pub const CLOSED_PIPE: i32 = 141;
}

/// stdout failed: the reader closed the pipe (`| head`), or the disk is full. Rust
/// ignores SIGPIPE (and must: a crashed exec agent's closed stdin is an `error`
/// verdict, not ratchet's death), so a closed pipe ends the command here, quietly,
/// with the shell's status for a process killed by SIGPIPE (128 + 13), never a zero
/// that would hide a failing gate under `set -o pipefail`; any other write error is
/// reported.
pub fn stdout_closed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(exit::CLOSED_PIPE);
    }
    eprintln!("error: cannot write to stdout: {e}");
    std::process::exit(exit::INTERNAL);
}

/// An error at the CLI edge, carrying its exit code.
pub struct CliError {
    pub code: i32,
    pub error: anyhow::Error,
}

impl CliError {
    pub fn usage(e: impl Into<anyhow::Error>) -> Self {
        CliError { code: exit::USAGE, error: e.into() }
    }
    pub fn plugin(e: impl Into<anyhow::Error>) -> Self {
        CliError { code: exit::PLUGIN, error: e.into() }
    }
}

pub type CliResult = Result<i32, CliError>;

/// `--format` of commands that report: for people, or one JSON document for tools.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// The plugin runtime (one wasmtime engine, precompile cache on), created only when
/// something will load a plugin: an engine reserves its pooling address space.
/// Its model broker (for plugins with `grant_model`) answers in `mode`.
fn runtime_if(project: &ratchet::config::Project, needed: bool, mode: ratchet::llm::Mode) -> Result<Option<ratchet::plugin::Runtime>, CliError> {
    if !needed {
        return Ok(None);
    }
    ratchet::loader::runtime(project, mode).map(Some).map_err(|e| CliError { code: exit::INTERNAL, error: e.into() })
}

/// Warn on stderr when the component `name` resolves to (a `[plugins]` entry's path,
/// or a file) is older than the source `ratchet plugin build` recorded for it.
fn warn_if_stale(project: &ratchet::config::Project, name: &str) {
    let path = project.config.plugins.get(name).map(|e| e.path.clone()).unwrap_or_else(|| PathBuf::from(name));
    if ratchet::install::is_builtin(&path) {
        return;
    }
    let full = project.root.join(path);
    if let Ok(bytes) = std::fs::read(&full) {
        if let Some(w) = ratchet::built::stale(&full, &bytes) {
            eprintln!("warning: {w}");
        }
    }
}

/// `--record` / `--record-missing`: where the answers of LLM-judged plugins come from.
#[derive(clap::Args, Clone, Copy, Default)]
pub struct ModelModeArgs {
    /// Ask the model afresh for every judge request and re-record every answer
    /// (needs the endpoint of [model]; review the changed recordings before committing).
    #[arg(long, conflicts_with = "record_missing")]
    record: bool,
    /// Ask the model only for judge requests with no recording yet, and record them.
    #[arg(long)]
    record_missing: bool,
}

impl ModelModeArgs {
    /// The flags as given, to pass on to child processes (`detect --processes`).
    pub fn flags(self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.record {
            v.push("--record");
        }
        if self.record_missing {
            v.push("--record-missing");
        }
        v
    }

    /// The mode these flags select, `default` when neither is given.
    pub fn mode(self, default: ratchet::llm::Mode) -> ratchet::llm::Mode {
        use ratchet::llm::Mode;
        if self.record {
            Mode::Refresh
        } else if self.record_missing {
            Mode::RecordMissing
        } else {
            default
        }
    }
}

/// The `[regenerate] simulator`, loaded and checked to be a simulator.
fn regenerate_simulator(project: &ratchet::config::Project, runtime: Option<&ratchet::plugin::Runtime>) -> Result<Option<ratchet::plugin::Plugin>, CliError> {
    let Some(name) = &project.config.regenerate.simulator else { return Ok(None) };
    let runtime = runtime.ok_or_else(|| CliError { code: exit::INTERNAL, error: anyhow::anyhow!("no plugin runtime for `{name}`") })?;
    match ratchet::loader::load_kind(project, runtime, name, ratchet::plugin::WorldKind::Simulator) {
        Ok(Ok(p)) => Ok(Some(p)),
        Ok(Err(kind)) => Err(CliError::usage(anyhow::anyhow!("[regenerate] simulator `{name}` implements `{}`, not `simulator`", kind.name()))),
        Err(e) => Err(CliError::usage(anyhow::anyhow!("[regenerate] simulator: {e}"))),
    }
}

#[derive(Parser)]
#[command(
    name = "ratchet",
    version = env!("RATCHET_LONG_VERSION"),
    about = "Turn every production failure of an AI support agent into a deterministic regression scenario, and gate every agent change on all of them."
)]
struct Cli {
    /// Path to ratchet.toml (default: searched from the working directory upwards).
    #[arg(long, global = true, env = "RATCHET_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a ratchet project here: ratchet.toml, scenarios/, agent.toml, .gitignore and a CI workflow.
    Init(init_cmd::InitArgs),
    /// Run the whole loop on the bundled example (traffic → detect → regenerate → promote → gate).
    Demo(demo_cmd::DemoArgs),
    /// Print the JSON Schema of a ratchet format (conversation, failure-event, scenario...).
    Schema(schema_cmd::SchemaArgs),
    /// Inspect and run plugins: the plugin author's loop.
    #[command(subcommand)]
    Plugin(plugin_cmd::PluginCommand),
    /// Check that files parse as ratchet formats (kind from the extension or --kind).
    Validate(schema_cmd::ValidateArgs),
    /// Score live conversations and emit a failure event for each flagged one.
    Detect(detect_cmd::DetectArgs),
    /// Rank failure modes of recent failure events by business impact.
    Rank(detect_cmd::RankArgs),
    /// Turn failure events into scenario files, checked to reproduce the failure.
    Regenerate(regenerate_cmd::RegenerateArgs),
    /// Put scenarios into the suite, merging each into a known failure when it is one.
    Promote(regenerate_cmd::PromoteArgs),
    /// Replay the suite against the agent under test; exit 1 blocks the deploy.
    Gate(gate_cmd::GateArgs),
    /// Plan (and with --apply write) the fast/slow/archive tiers from the run ledger.
    Tiers(tiers_cmd::TiersArgs),
    /// The suite at a glance: tiers, clusters, most-hit, close to demotion, fast-tier time.
    Status(tiers_cmd::StatusArgs),
    /// Work with gate result files.
    #[command(subcommand)]
    Report(gate_cmd::ReportCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(shell_cmd::CompletionsArgs),
    /// Print the man page, or write one per command into --out-dir.
    Man(shell_cmd::ManArgs),
}

/// Parse arguments, run, print errors; returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return code;
        }
    };
    let result = match cli.command {
        Command::Schema(a) => schema_cmd::schema(a),
        Command::Validate(a) => schema_cmd::validate(a),
        Command::Plugin(c) => plugin_cmd::run(c, cli.config.as_deref()),
        Command::Gate(a) => gate_cmd::gate(a, cli.config.as_deref()),
        Command::Detect(a) => detect_cmd::detect(a, cli.config.as_deref()),
        Command::Rank(a) => detect_cmd::rank(a, cli.config.as_deref()),
        Command::Report(c) => gate_cmd::report(c),
        Command::Tiers(a) => tiers_cmd::tiers(a, cli.config.as_deref()),
        Command::Status(a) => tiers_cmd::status(a, cli.config.as_deref()),
        Command::Demo(a) => demo_cmd::demo(a, cli.config.as_deref()),
        Command::Init(a) => init_cmd::init(a),
        Command::Regenerate(a) => regenerate_cmd::regenerate(a, cli.config.as_deref()),
        Command::Promote(a) => regenerate_cmd::promote(a, cli.config.as_deref()),
        Command::Completions(a) => shell_cmd::completions(a),
        Command::Man(a) => shell_cmd::man(a),
    };
    match result {
        Ok(code) => code,
        Err(CliError { code, error }) => {
            eprintln!("error: {}", describe(&error));
            code
        }
    }
}

/// An error and its causes, each said once. Library errors put their cause's text in
/// their own message, so that they read well alone (`{path}: {source}`); anyhow's
/// `{:#}` would then print the cause a second time ("x.toml: denied: denied"). A
/// cause whose text the message already holds is left out; context added at the
/// edge (`.context(...)`) still gets its cause appended.
fn describe(error: &anyhow::Error) -> String {
    let mut out = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::describe;
    use anyhow::Context;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct Io {
        path: String,
        source: std::io::Error,
    }

    fn io(path: &str) -> Io {
        Io { path: path.into(), source: std::io::Error::other("denied") }
    }

    #[test]
    fn a_cause_already_in_the_message_is_said_once() {
        assert_eq!(describe(&anyhow::Error::new(io("x.toml"))), "x.toml: denied");
    }

    #[test]
    fn context_added_at_the_edge_keeps_its_cause() {
        let e = Err::<(), _>(io("x.toml")).context("reading the suite").unwrap_err();
        assert_eq!(describe(&e), "reading the suite: x.toml: denied");
        assert_eq!(describe(&anyhow::anyhow!("plain")), "plain");
    }
}
