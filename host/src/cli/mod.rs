//! Command-line parsing and dispatch.

mod demo_cmd;
mod detect_cmd;
mod gate_cmd;
mod plugin_cmd;
mod regenerate_cmd;
mod schema_cmd;
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
    /// A bug in ratchet itself.
    pub const INTERNAL: i32 = 70;
    /// Try again later: another `ratchet promote` holds the suite lock (EX_TEMPFAIL).
    pub const BUSY: i32 = 75;
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

/// The plugin runtime (one wasmtime engine, precompile cache on), created only when
/// something will load a plugin: an engine reserves its pooling address space.
fn runtime_if(project: &ratchet::config::Project, needed: bool) -> Result<Option<ratchet::plugin::Runtime>, CliError> {
    if !needed {
        return Ok(None);
    }
    ratchet::plugin::Runtime::new(&project.config.engine, true).map(Some).map_err(|e| CliError { code: exit::INTERNAL, error: e.into() })
}

#[derive(Parser)]
#[command(
    name = "ratchet",
    version,
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
        Command::Regenerate(a) => regenerate_cmd::regenerate(a, cli.config.as_deref()),
        Command::Promote(a) => regenerate_cmd::promote(a, cli.config.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(CliError { code, error }) => {
            eprintln!("error: {error:#}");
            code
        }
    }
}
