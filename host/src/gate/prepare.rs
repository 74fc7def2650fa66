//! What replaying a selection of scenarios needs, made ready before the first one
//! runs: the plugins they name (assertion criteria, `[world]` simulators, the
//! simulated customer's broker), loaded once each and checked to implement the right
//! world, and a factory of drivers for the agent under test (one per worker).
//! `ratchet gate`, `ratchet regenerate --against` and an embedder share it, so a
//! misconfigured suite fails here, before any agent starts, the same way for all.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use super::criteria::AssertionPlugins;
use super::customer::SimulatedCustomer;
use super::Harness;
use crate::agent::exec::{ExecDriver, SharedDriver, SharedProcess};
use crate::agent::http::{HttpAgent, HttpDriver};
use crate::agent::openai::{OpenAiAgent, OpenAiDriver, SetupError};
use crate::agent::wasm::WasmDriver;
use crate::agent::{AgentConfig, Driver, DriverKind};
use crate::config::Project;
use crate::llm::{Mode, ModelBroker};
use crate::loader::{self, LoadError};
use crate::plugin::{Failure, PluginError, Runtime, WorldKind};
use crate::project::PathError;
use crate::schema::{Check, Scenario, WhenDone};

/// Why the plugins or the agent of a run could not be made ready.
#[derive(Debug, Error)]
pub enum PrepareError {
    /// The plugin runtime could not be created (an engine setting this machine refuses).
    #[error("the plugin runtime: {0}")]
    Runtime(#[source] Failure),
    /// A plugin is needed but no runtime was given (a caller's mistake, not the user's).
    #[error("no plugin runtime for `{0}`")]
    NoRuntime(String),
    /// A scenario's `[world] simulator` did not load.
    #[error("scenario `{scenario}`, [world] simulator: {source}")]
    Simulator {
        /// The scenario naming it.
        scenario: String,
        /// Why it did not load.
        source: LoadError,
    },
    /// A plugin named by a `kind = "plugin"` criterion did not load.
    #[error("scenario `{scenario}`, criterion `{criterion}`: {source}")]
    Assertion {
        /// The scenario.
        scenario: String,
        /// The criterion naming the plugin.
        criterion: String,
        /// Why it did not load.
        source: LoadError,
    },
    /// A plugin loaded but implements another world than the field naming it needs.
    #[error("scenario `{scenario}`: {field} `{plugin}` implements `{found}`, not `{wanted}`")]
    WrongWorld {
        /// The scenario.
        scenario: String,
        /// What named it (`[world] simulator`, `plugin`).
        field: &'static str,
        /// The plugin's name.
        plugin: String,
        /// The world it implements.
        found: &'static str,
        /// The world needed.
        wanted: &'static str,
    },
    /// A scenario simulates its customer but the runtime has no model broker.
    #[error("no model broker for the simulated customer")]
    NoBroker,
    /// The exec agent's program cannot be started (checked once, not one `error`
    /// verdict per scenario).
    #[error("{}: field `agent.command`: cannot start the agent: {source}", file.display())]
    AgentProgram {
        /// The agent config file.
        file: PathBuf,
        /// Why.
        source: crate::agent::exec::ProgramError,
    },
    /// The wasm agent's component could not be read.
    #[error("{}: agent.component: {source}", file.display())]
    AgentComponent {
        /// The agent config file.
        file: PathBuf,
        /// Why.
        source: PathError,
    },
    /// The wasm agent's component did not load.
    #[error("{}: {source}", file.display())]
    AgentLoad {
        /// The agent config file.
        file: PathBuf,
        /// What the runtime said.
        source: PluginError,
    },
    /// The wasm agent's component is not an agent.
    #[error("{}: {} implements `{found}`, not `agent`", file.display(), component.display())]
    NotAnAgent {
        /// The agent config file.
        file: PathBuf,
        /// The component.
        component: PathBuf,
        /// The world it implements.
        found: &'static str,
    },
    /// The http agent's settings or token are not usable.
    #[error("{}: agent.{field}: {message}", file.display())]
    Http {
        /// The agent config file.
        file: PathBuf,
        /// The field at fault.
        field: &'static str,
        /// Why.
        message: String,
    },
    /// The openai agent's prompt or tool schemas could not be loaded.
    #[error("{}: {source}", file.display())]
    OpenAi {
        /// The agent config file.
        file: PathBuf,
        /// Why.
        source: SetupError,
    },
}

impl PrepareError {
    /// Whether this is ratchet's own failure (exit as an internal error) rather than
    /// the project's configuration (a usage error the user fixes).
    pub fn is_internal(&self) -> bool {
        matches!(self, PrepareError::Runtime(_) | PrepareError::NoRuntime(_) | PrepareError::NoBroker)
    }
}

/// A factory of drivers for the agent under test (one per worker).
pub type DriverFactory = Box<dyn Fn() -> Box<dyn Driver> + Sync>;

/// What replaying needs, plus what reports its usage afterwards.
pub struct Prepared {
    /// The plugins the scenarios name and `[conversation]`.
    pub harness: Harness,
    /// One driver per worker.
    pub factory: DriverFactory,
    /// The shared openai agent (its usage counters), when the driver is `openai`.
    pub openai: Option<Arc<OpenAiAgent>>,
    /// The model broker of LLM-judged criteria (its counts), when plugins were loaded.
    pub judge: Option<Arc<ModelBroker>>,
}

/// Whether replaying `scenarios` needs the plugin runtime: an assertion criterion, a
/// simulator, or a simulated customer (its model broker lives with the runtime).
pub fn needs_plugins(scenarios: &[&Scenario]) -> bool {
    scenarios.iter().any(|s| {
        s.world.is_some()
            || s.script.as_ref().is_some_and(|p| p.when_done == WhenDone::Simulate)
            || s.criteria.iter().any(|c| matches!(c.check, Check::Plugin { .. }))
    })
}

/// Load the plugins `scenarios` use (the harness) and prepare the agent's driver
/// (`agent`, read from `agent_file`); model answers come in `mode`.
pub fn prepare(project: &Project, agent: &AgentConfig, agent_file: &Path, scenarios: &[&Scenario], mode: Mode) -> Result<Prepared, PrepareError> {
    if agent.driver == DriverKind::Exec {
        crate::agent::exec::resolve_program(agent, &project.root).map_err(|source| PrepareError::AgentProgram { file: agent_file.to_path_buf(), source })?;
    }
    let needs_runtime = agent.driver == DriverKind::Wasm || needs_plugins(scenarios);
    let runtime = if needs_runtime { Some(loader::runtime(project, mode).map_err(PrepareError::Runtime)?) } else { None };
    let harness = harness(project, runtime.as_ref(), scenarios)?;
    let judge = runtime.as_ref().and_then(loader::broker);
    let file = || agent_file.to_path_buf();
    let wasm_agent = match (agent.driver, &runtime) {
        (DriverKind::Wasm, Some(runtime)) => {
            let rel = agent.component.clone().expect("validated: a wasm agent names its component");
            let bytes = crate::project::read_in_root(&project.root, &rel).map_err(|source| PrepareError::AgentComponent { file: file(), source })?;
            let name = rel.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| agent.name.clone());
            let p = runtime.load(&name, &bytes, project.config.sandbox.clone()).map_err(|source| PrepareError::AgentLoad { file: file(), source })?;
            if p.world().kind != WorldKind::Agent {
                return Err(PrepareError::NotAnAgent { file: file(), component: rel, found: p.world().kind.name() });
            }
            Some(Arc::new(p))
        }
        _ => None,
    };
    let openai = match agent.driver {
        DriverKind::Openai => Some(Arc::new(OpenAiAgent::load(agent, &project.root).map_err(|source| PrepareError::OpenAi { file: file(), source })?)),
        _ => None,
    };
    let http = match agent.driver {
        DriverKind::Http => Some(Arc::new(HttpAgent::load(agent).map_err(|(field, message)| PrepareError::Http { file: file(), field, message })?)),
        _ => None,
    };
    // One agent process for every worker, when asked for (the agent must say it can).
    let one_process = (agent.driver == DriverKind::Exec && agent.concurrent_sessions).then(|| SharedProcess::new(agent.clone(), project.root.clone()));
    let root = project.root.clone();
    let agent = agent.clone();
    let shared = openai.clone();
    let factory: DriverFactory = Box::new(move || -> Box<dyn Driver> {
        match (&wasm_agent, &shared, &http) {
            (Some(p), _, _) => Box::new(WasmDriver::new(p.clone(), agent.config.clone())),
            (None, Some(o), _) => Box::new(OpenAiDriver::new(o.clone())),
            (None, None, Some(h)) => Box::new(HttpDriver::new(h.clone())),
            (None, None, None) => match &one_process {
                Some(p) => Box::new(SharedDriver::new(p.clone())),
                None => Box::new(ExecDriver::new(agent.clone(), root.clone())),
            },
        }
    });
    Ok(Prepared { harness, factory, openai, judge })
}

/// The harness of `scenarios`: the assertion plugins their `kind = "plugin"`
/// criteria name and the simulators their `[world]`s name, loaded once each, and
/// the project's `[conversation]`.
pub fn harness(project: &Project, runtime: Option<&Runtime>, scenarios: &[&Scenario]) -> Result<Harness, PrepareError> {
    let mut harness = Harness::with_rules(project.config.conversation.clone());
    for s in scenarios {
        let Some(w) = &s.world else { continue };
        if harness.simulators.contains_key(&w.simulator) {
            continue;
        }
        let runtime = runtime.ok_or_else(|| PrepareError::NoRuntime(w.simulator.clone()))?;
        let p = loader::load(project, runtime, &w.simulator).map_err(|source| PrepareError::Simulator { scenario: s.id.clone(), source })?;
        if p.world().kind != WorldKind::Simulator {
            return Err(PrepareError::WrongWorld {
                scenario: s.id.clone(),
                field: "[world] simulator",
                plugin: w.simulator.clone(),
                found: p.world().kind.name(),
                wanted: "simulator",
            });
        }
        harness.simulators.insert(w.simulator.clone(), Arc::new(p));
    }
    harness.assertions = assertion_plugins(project, runtime, scenarios)?;
    if scenarios.iter().any(|s| s.script.as_ref().is_some_and(|p| p.when_done == WhenDone::Simulate)) {
        let broker = runtime.and_then(loader::broker).ok_or(PrepareError::NoBroker)?;
        harness.customer = Some(SimulatedCustomer::new(broker));
    }
    Ok(harness)
}

/// The assertion plugins named by `scenarios`' `kind = "plugin"` criteria, loaded once each.
fn assertion_plugins(project: &Project, runtime: Option<&Runtime>, scenarios: &[&Scenario]) -> Result<AssertionPlugins, PrepareError> {
    let mut plugins = AssertionPlugins::new();
    for s in scenarios {
        for c in &s.criteria {
            let Check::Plugin { plugin, .. } = &c.check else { continue };
            if plugins.contains_key(plugin) {
                continue;
            }
            let runtime = runtime.ok_or_else(|| PrepareError::NoRuntime(plugin.clone()))?;
            let p =
                loader::load(project, runtime, plugin).map_err(|source| PrepareError::Assertion { scenario: s.id.clone(), criterion: c.id.clone(), source })?;
            if p.world().kind != WorldKind::Assertion {
                return Err(PrepareError::WrongWorld {
                    scenario: s.id.clone(),
                    field: "plugin",
                    plugin: plugin.clone(),
                    found: p.world().kind.name(),
                    wanted: "assertion",
                });
            }
            plugins.insert(plugin.clone(), Arc::new(p));
        }
    }
    Ok(plugins)
}
