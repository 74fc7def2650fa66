//! `ratchet plugin inspect|run|new`: the plugin author's loop, after Shopify's
//! function-runner — one call, its output, and what it cost — and a new plugin
//! from a template, in Rust, Python or JavaScript.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use super::{exit, CliError, CliResult};
use ratchet::config::{Limits, Project};
use ratchet::plugin::{CacheOutcome, Call, Plugin, PluginError, Runtime, WorldKind};
use ratchet::schema::{self, Conversation};

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Show a component's world, WIT version, imports, exports and digest.
    Inspect(InspectArgs),
    /// Run one plugin call and print its output, fuel, peak memory and time.
    Run(RunArgs),
    /// Create a new plugin (scorecard, assertion, adapter or tool simulator) in Rust, Python or JavaScript
    /// that builds and passes its own sample test out of the box.
    New(NewArgs),
    /// Build a plugin directory into a component with its language's toolchain and the SDK
    /// packages (Rust: cargo + wasm-tools; Python: ratchet-sdk; JavaScript: @ratchet-dev/sdk).
    Build(super::plugin_build::BuildArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    Rust,
    Python,
    Js,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Scorecard,
    Assertion,
    Adapter,
    Simulator,
}

#[derive(Args)]
pub struct NewArgs {
    /// The plugin's name: lower-case letters, digits and single dashes, starting with a letter (e.g. `refund-policy`).
    name: String,
    /// The language to write it in.
    #[arg(long, value_enum)]
    lang: LangArg,
    /// What kind of plugin (the WIT world it implements).
    #[arg(long, value_enum)]
    kind: KindArg,
    /// The directory to create (default: ./NAME). An existing directory must be empty.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Build against a ratchet checkout's `sdk/` directory by relative path (for developing
    /// the SDKs themselves). Without it the plugin depends on the SDK packages by name and
    /// version (`ratchet-sdk`, `@ratchet-dev/sdk`), never on a checkout.
    #[arg(long = "sdk-path", alias = "sdk", env = "RATCHET_SDK_DIR")]
    sdk: Option<PathBuf>,
}

/// `--format` (one enum for every command: [`super::OutputFormat`]).
pub use super::OutputFormat as Format;

#[derive(Args)]
pub struct InspectArgs {
    /// A component file, the name of a plugin in ratchet.toml, or `builtin:NAME` (a plugin shipped with ratchet).
    plugin: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Compile without reading or writing the precompiled cache.
    #[arg(long)]
    no_cache: bool,
}

#[derive(Args)]
pub struct RunArgs {
    /// A component file, the name of a plugin in ratchet.toml, or `builtin:NAME` (a plugin shipped with ratchet).
    plugin: String,
    /// Input file (`-` for stdin): a conversation JSON for scorecards; a conversation,
    /// or `{"transcript": ..., "params": ...}`, for assertions; the raw export for adapters;
    /// for agents, a conversation so far (the agent's next action is printed); for simulators,
    /// `{"world": {...}, "request": {"tool", "version", "arguments"}}` (one call) or
    /// `{"observed": [...]}` (seed a world).
    #[arg(long, short)]
    input: PathBuf,
    /// Parameters (a JSON object) for the scorecard, assertion, adapter or simulator.
    #[arg(long)]
    params: Option<String>,
    /// Run the call N times on fresh instances and check every output is identical.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Fuel limit for the call (overrides ratchet.toml).
    #[arg(long)]
    fuel: Option<u64>,
    /// Memory limit in MiB (overrides ratchet.toml).
    #[arg(long)]
    memory_mib: Option<u32>,
    /// Wall-clock timeout in ms (overrides ratchet.toml).
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// Output format: `text` prints the output on stdout and the costs on stderr.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Compile without reading or writing the precompiled cache.
    #[arg(long)]
    no_cache: bool,
    /// LLM-judged plugins: serve recorded answers only; a question with no recording
    /// is an error (what `ratchet gate` does). Default: record what is missing.
    #[arg(long, conflicts_with_all = ["record", "record_missing"])]
    replay: bool,
    #[command(flatten)]
    model: super::ModelModeArgs,
}

pub fn run(cmd: PluginCommand, config: Option<&Path>) -> CliResult {
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    // A new plugin needs no project.
    let cmd = match cmd {
        PluginCommand::New(a) => return new(&cwd, a),
        PluginCommand::Build(a) => return super::plugin_build::build(a),
        other => other,
    };
    let project = Project::discover(&cwd, config).map_err(CliError::usage)?;
    match cmd {
        PluginCommand::Inspect(a) => inspect(&project, a),
        PluginCommand::Run(a) => run_once(&project, a),
        PluginCommand::New(_) | PluginCommand::Build(_) => unreachable!("handled above"),
    }
}

fn new(cwd: &Path, a: NewArgs) -> CliResult {
    use ratchet::scaffold::{self, Kind, Lang, Request, Sdk};
    let lang = match a.lang {
        LangArg::Rust => Lang::Rust,
        LangArg::Python => Lang::Python,
        LangArg::Js => Lang::Js,
    };
    let kind = match a.kind {
        KindArg::Scorecard => Kind::Scorecard,
        KindArg::Assertion => Kind::Assertion,
        KindArg::Adapter => Kind::Adapter,
        KindArg::Simulator => Kind::Simulator,
    };
    scaffold::validate_name(&a.name).map_err(CliError::usage)?;
    let dir = a.dir.unwrap_or_else(|| PathBuf::from(&a.name));
    let sdk = match &a.sdk {
        Some(p) => Sdk::Path(scaffold::find_sdk(&[cwd.join(p)]).map_err(CliError::usage)?),
        None => Sdk::Packages,
    };
    let created = scaffold::create(&Request { lang, kind, name: a.name.clone(), dir: dir.clone(), sdk: sdk.clone() }, cwd).map_err(CliError::usage)?;
    let shown = match (&sdk, lang) {
        (Sdk::Path(p), _) => format!("the checkout's SDK at {}", p.display()),
        (Sdk::Packages, Lang::Rust) => format!("ratchet-sdk {}", scaffold::SDK_VERSION),
        (Sdk::Packages, Lang::Python) => format!("ratchet-sdk=={}", scaffold::SDK_VERSION),
        (Sdk::Packages, Lang::Js) => format!("{}@{}", scaffold::JS_PACKAGE, scaffold::SDK_VERSION),
    };
    outln!("created {} {} plugin `{}` in {} (SDK: {shown})", lang.name(), kind.name(), a.name, dir.display());
    for f in &created.files {
        outln!("  {}", f.display());
    }
    outln!("next:");
    for step in &created.next_steps {
        outln!("  {step}");
    }
    Ok(exit::OK)
}

/// Resolve a plugin argument: a configured name (path confined to the project root)
/// or a file path given on the command line (the user's explicit choice).
fn load(project: &Project, runtime: &Runtime, arg: &str, overrides: impl FnOnce(&mut Limits)) -> Result<Plugin, CliError> {
    let entry = project.config.plugins.get(arg);
    let (name, bytes, mut limits) = match entry {
        Some(entry) => {
            let bytes = ratchet::project::read_component(&project.root, &entry.path)
                .map_err(|e| CliError::usage(anyhow!("plugin `{arg}` in {}: {e}", config_name(project))))?;
            super::warn_if_stale(project, arg);
            (arg.to_string(), bytes, entry.limits(&project.config.sandbox))
        }
        None if ratchet::install::is_builtin(Path::new(arg)) => {
            let name = &arg[ratchet::install::BUILTIN_PREFIX.len()..];
            let (bytes, _) = ratchet::install::read_builtin(name).map_err(CliError::usage)?;
            (name.to_string(), bytes, project.config.sandbox.clone())
        }
        None => {
            let path = Path::new(arg);
            let bytes = std::fs::read(path).map_err(|e| {
                let known: Vec<&String> = project.config.plugins.keys().collect();
                let hint = if known.is_empty() {
                    String::new()
                } else {
                    format!(" (configured plugins: {})", known.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
                };
                CliError::usage(anyhow!("{arg}: {e}{hint}"))
            })?;
            if let Some(w) = ratchet::built::stale(path, &bytes) {
                eprintln!("warning: {w}");
            }
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| arg.to_string());
            (name, bytes, project.config.sandbox.clone())
        }
    };
    overrides(&mut limits);
    let plugin = runtime.load(&name, &bytes, limits).map_err(plugin_error)?;
    match entry {
        Some(entry) => ratchet::loader::grant(project, runtime, entry, plugin).map_err(CliError::usage),
        None => Ok(plugin),
    }
}

fn config_name(project: &Project) -> String {
    project.config_path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "the embedded defaults".into())
}

/// Load failures that are the user's input (not a component, wrong world) exit 2;
/// failures while running exit 3.
fn plugin_error(e: PluginError) -> CliError {
    use ratchet::plugin::Failure::*;
    match e.failure {
        Read(_) | Compile(_) | WrongWorld(_) | UnsupportedVersion(_) | Link(_) => CliError::usage(e),
        _ => CliError::plugin(e),
    }
}

fn runtime(project: &Project, no_cache: bool, mode: ratchet::llm::Mode) -> Result<Runtime, CliError> {
    let runtime = Runtime::new(&project.config.engine, !no_cache).map_err(|e| CliError { code: exit::INTERNAL, error: e.into() })?;
    Ok(runtime.with_model_access(std::sync::Arc::new(ratchet::llm::ModelBroker::new(&project.config.model, &project.root, mode))))
}

fn inspect(project: &Project, a: InspectArgs) -> CliResult {
    let runtime = runtime(project, a.no_cache, ratchet::llm::Mode::Replay)?;
    let plugin = load(project, &runtime, &a.plugin, |_| {})?;
    let model = match (plugin.imports_model(), plugin.has_model_grant()) {
        (false, _) => "no",
        (true, true) => "yes (granted: answers are recorded and replayed, see [model])",
        (true, false) => "imports ratchet:plugin/model but has no grant: every call is denied (add grant_model = true to its [plugins] entry)",
    };
    let info = plugin.info().map_err(plugin_error)?;
    let ins = plugin.inspection();
    let load = plugin.load_stats();
    match a.format {
        Format::Json => {
            let v = json!({
                "name": plugin.id().name,
                "digest": plugin.id().digest,
                "size": load.size,
                "world": plugin.world(),
                "wasi": plugin.uses_wasi(),
                "model": {"imports": plugin.imports_model(), "granted": plugin.has_model_grant()},
                "labels": plugin.imports_labels(),
                "info": info.output,
                "imports": ins.imports,
                "exports": ins.exports,
            });
            outln!("{}", serde_json::to_string_pretty(&v).expect("json"));
        }
        Format::Text => {
            outln!("plugin    {}", plugin.id().name);
            outln!("digest    {}", plugin.id().digest);
            outln!("size      {}", human_bytes(load.size));
            outln!("world     ratchet:plugin/{}@{}", plugin.world().kind.name(), plugin.world().version);
            outln!("info      {} {} — {}", info.output.name, info.output.version, info.output.description);
            outln!("wasi      {}", if plugin.uses_wasi() { "yes (deterministic: fixed clock, seeded random, no files/network/env)" } else { "no" });
            outln!("model     {model}");
            let labels = match (plugin.imports_labels(), plugin.world().kind) {
                (false, _) => "no",
                (true, WorldKind::Adapter) => "yes (attaches labels to the conversations it returns)",
                (true, _) => "yes (reads its conversation's labels)",
            };
            outln!("labels    {labels}");
            for i in &ins.imports {
                outln!("import    {i}");
            }
            for e in &ins.exports {
                outln!("export    {e}");
            }
        }
    }
    Ok(exit::OK)
}

fn read_input(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path == Path::new("-") {
        let mut v = Vec::new();
        std::io::stdin().read_to_end(&mut v).context("reading stdin")?;
        Ok(v)
    } else {
        std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
    }
}

/// What `plugin run` feeds a plugin, parsed once outside the timed calls.
enum Input {
    Conversation(Conversation, Value),
    Bytes(Vec<u8>, Value),
    Seed(Vec<ratchet::plugin::Observed>, Value),
    Simulate(String, ratchet::plugin::ToolRequest, Value),
}

/// The input of a simulator run: one call in a world, or observations to seed from.
fn simulator_input(raw: &[u8], origin: &str, params: Value) -> Result<Input, CliError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        #[serde(default)]
        world: Option<Value>,
        #[serde(default)]
        request: Option<ratchet::plugin::ToolRequest>,
        #[serde(default)]
        observed: Option<Vec<ratchet::plugin::Observed>>,
    }
    let text = std::str::from_utf8(raw).map_err(|e| CliError::usage(anyhow!("{origin}: not UTF-8: {e}")))?;
    let doc: Doc = schema::parse_json(text, origin).map_err(CliError::usage)?;
    match doc {
        Doc { world: Some(world), request: Some(request), observed: None } => Ok(Input::Simulate(schema::canonical_json(&world), request, params)),
        Doc { world: None, request: None, observed: Some(observed) } => Ok(Input::Seed(observed, params)),
        _ => Err(CliError::usage(anyhow!(
            "{origin}: a simulator's input is {{\"world\": {{...}}, \"request\": {{\"tool\", \"version\", \"arguments\"}}}} (answer one call) or {{\"observed\": [{{\"request\", \"result\", \"is_error\"}}...]}} (seed a world)"
        ))),
    }
}

fn run_once(project: &Project, a: RunArgs) -> CliResult {
    if a.repeat == 0 {
        return Err(CliError::usage(anyhow!("--repeat must be at least 1")));
    }
    let params: Option<Value> = match &a.params {
        Some(p) => {
            let v: Value = serde_json::from_str(p).map_err(|e| CliError::usage(anyhow!("--params is not valid JSON: {e}")))?;
            if !v.is_object() {
                return Err(CliError::usage(anyhow!("--params must be a JSON object")));
            }
            Some(v)
        }
        None => None,
    };
    let mode = if a.replay { ratchet::llm::Mode::Replay } else { a.model.mode(ratchet::llm::Mode::RecordMissing) };
    let runtime = runtime(project, a.no_cache, mode)?;
    let plugin = load(project, &runtime, &a.plugin, |l| {
        if let Some(v) = a.fuel {
            l.fuel = v;
        }
        if let Some(v) = a.memory_mib {
            l.memory_mib = v;
        }
        if let Some(v) = a.timeout_ms {
            l.timeout_ms = v;
        }
    })?;
    let raw = read_input(&a.input).map_err(CliError::usage)?;
    let origin = a.input.display().to_string();
    let params = params.unwrap_or_else(|| json!({}));

    // Parse the input once, outside the timed calls.
    let input = match plugin.world().kind {
        WorldKind::Scorecard => Input::Conversation(parse_conversation(&raw, &origin)?, params),
        WorldKind::Assertion => {
            let text = std::str::from_utf8(&raw).map_err(|e| CliError::usage(anyhow!("{origin}: not UTF-8: {e}")))?;
            let v: Value = serde_json::from_str(text).map_err(|e| CliError::usage(anyhow!("{origin}: {e}")))?;
            if let Some(obj) = v.as_object().filter(|o| o.contains_key("transcript")) {
                let transcript =
                    schema::parse_json::<Conversation>(&obj["transcript"].to_string(), &format!("{origin} (transcript)")).map_err(CliError::usage)?;
                let p = match (&a.params, obj.get("params")) {
                    (Some(_), _) | (None, None) => params,
                    (None, Some(p)) => p.clone(),
                };
                Input::Conversation(transcript, p)
            } else {
                Input::Conversation(parse_conversation(&raw, &origin)?, params)
            }
        }
        WorldKind::Adapter => Input::Bytes(raw, params),
        // An agent: what it does next after the conversation's turns, under its state.
        WorldKind::Agent => Input::Conversation(parse_conversation(&raw, &origin)?, params),
        // A simulator: `{"world": {...}, "request": {...}}` answers one call;
        // `{"observed": [...]}` reconstructs a world.
        WorldKind::Simulator => simulator_input(&raw, &origin, params)?,
    };

    let mut first: Option<(String, Call<Value>)> = None;
    let mut times = Vec::with_capacity(a.repeat as usize);
    for i in 0..a.repeat {
        let call = match &input {
            Input::Conversation(c, p) if plugin.world().kind == WorldKind::Scorecard => plugin.score(c, p).map(to_value),
            Input::Conversation(c, p) if plugin.world().kind == WorldKind::Agent => plugin.next_action(&c.state, c.channel, &c.turns, p).map(|call| Call {
                output: match call.output {
                    ratchet::plugin::AgentAction::Reply(t) => json!({"reply": t}),
                    ratchet::plugin::AgentAction::Escalate(r) => json!({"escalate": r}),
                    ratchet::plugin::AgentAction::CallTool(tc) => json!({"call_tool": tc}),
                },
                stats: call.stats,
                logs: call.logs,
                logs_dropped: call.logs_dropped,
                model_calls: call.model_calls,
            }),
            Input::Conversation(c, p) => plugin.check(c, p).map(to_value),
            Input::Bytes(b, p) => plugin.convert(b, p).map(to_value),
            Input::Seed(observed, p) => plugin.seed(observed, p).map(to_value),
            Input::Simulate(world, request, p) => plugin.simulate(world, request, p).map(to_value),
        }
        .map_err(plugin_error)?;
        times.push(call.stats.wall_time);
        let bytes = schema::canonical_json(&call.output);
        match &first {
            None => first = Some((bytes, call)),
            Some((expected, c0)) => {
                if &bytes != expected || call.stats.fuel_consumed != c0.stats.fuel_consumed {
                    return Err(CliError::plugin(anyhow!("non-deterministic: run {} differs from run 1 (output or fuel)", i + 1)));
                }
            }
        }
    }
    let (_, call) = first.expect("repeat >= 1");
    times.sort();
    let median = times[times.len() / 2];
    let load = plugin.load_stats();
    match a.format {
        Format::Json => {
            let v = json!({
                "plugin": {"name": plugin.id().name, "digest": plugin.id().digest, "world": plugin.world()},
                "output": call.output,
                "stats": {
                    "fuel_consumed": call.stats.fuel_consumed,
                    "fuel_limit": plugin.limits().fuel,
                    "peak_memory_bytes": call.stats.peak_memory_bytes,
                    "memory_limit_bytes": u64::from(plugin.limits().memory_mib) << 20,
                    "wall_time_us": median.as_micros() as u64,
                    "repeat": a.repeat,
                    "load": load,
                },
                "logs": call.logs,
                "logs_dropped": call.logs_dropped,
                "model_calls": call.model_calls,
            });
            outln!("{}", serde_json::to_string_pretty(&v).expect("json"));
        }
        Format::Text => {
            outln!("{}", serde_json::to_string_pretty(&call.output).expect("json"));
            for l in &call.logs {
                eprintln!("log       [{:?}] {}", l.level, l.message);
            }
            if call.logs_dropped > 0 {
                eprintln!("log       … {} more lines dropped (max_log_lines)", call.logs_dropped);
            }
            eprintln!("plugin    {} {} ({})", plugin.id().name, plugin.id().digest, format_args!("{}@{}", plugin.world().kind.name(), plugin.world().version));
            let how = match load.cache {
                CacheOutcome::Hit => "loaded from cache",
                CacheOutcome::Miss => "compiled (now cached)",
                CacheOutcome::Disabled => "compiled (no cache)",
            };
            eprintln!("load      {how} in {:.1} ms ({})", load.time.as_secs_f64() * 1e3, human_bytes(load.size));
            eprintln!("fuel      {} of {}", group(call.stats.fuel_consumed), group(plugin.limits().fuel));
            eprintln!("memory    {} peak of {}", human_bytes(call.stats.peak_memory_bytes), human_bytes(u64::from(plugin.limits().memory_mib) << 20));
            let rep = if a.repeat > 1 { format!(" (median of {}, all outputs identical)", a.repeat) } else { String::new() };
            // Large (Python, JavaScript) scorecards, assertions and simulators make
            // their calls after the first on a live instance restored after each.
            let what = if plugin.reuses_instances() && a.repeat > 1 { "per call (a live instance, restored after each)" } else { "instantiate+call" };
            eprintln!("time      {:.1} µs {what}{rep}", median.as_secs_f64() * 1e6);
            for c in &call.model_calls {
                let how = if c.replayed { "replayed".to_string() } else { format!("live, {} ms", c.latency_ms) };
                let cost = c.cost_usd.map(|x| format!(", ${x:.5}")).unwrap_or_default();
                eprintln!(
                    "model     {} {} ({how}; {} prompt + {} completion tokens{cost}) {}",
                    c.model,
                    &c.key[..c.key.len().min(19)],
                    c.prompt_tokens,
                    c.completion_tokens,
                    if c.replayed { format!("recorded latency {} ms", c.latency_ms) } else { String::new() }
                );
            }
        }
    }
    Ok(exit::OK)
}

fn parse_conversation(raw: &[u8], origin: &str) -> Result<Conversation, CliError> {
    let text = std::str::from_utf8(raw).map_err(|e| CliError::usage(anyhow!("{origin}: not UTF-8: {e}")))?;
    schema::parse_json::<Conversation>(text, origin).map_err(CliError::usage)
}

fn to_value<T: serde::Serialize>(c: Call<T>) -> Call<Value> {
    Call {
        output: serde_json::to_value(&c.output).expect("output serialises"),
        stats: c.stats,
        logs: c.logs,
        logs_dropped: c.logs_dropped,
        model_calls: c.model_calls,
    }
}

fn human_bytes(b: u64) -> String {
    if b >= 1 << 20 {
        format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64)
    } else if b >= 1 << 10 {
        format!("{:.1} KiB", b as f64 / 1024.0)
    } else {
        format!("{b} B")
    }
}

fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}
