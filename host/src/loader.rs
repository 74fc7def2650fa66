//! The plugins a project names, loaded the way its `ratchet.toml` says: the runtime
//! with ratchet's model broker attached, each `[plugins]` entry's component, limits
//! and grants (`grant_dir`, `grant_model`), and a check that it implements the world
//! the caller needs. The commands (`detect`, `regenerate`, `gate`, `plugin run`) and
//! an embedder driving the loop from Rust all load plugins through here, so a
//! plugin behaves the same whichever of them runs it.

use std::path::PathBuf;
use std::sync::Arc;

use thiserror::Error;

use crate::config::{PluginEntry, Project};
use crate::llm::{Mode, ModelBroker};
use crate::plugin::{Failure, Plugin, PluginError, Runtime, WorldKind};
use crate::project::PathError;

/// Why a plugin the project names could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The name is not in `[plugins]`, not a component file inside the project and
    /// not a `builtin:NAME` the install ships.
    #[error("`{name}` is neither a plugin in ratchet.toml nor a component inside the project ({reason})")]
    Unknown {
        /// The name as given.
        name: String,
        /// Why reading it as a file inside the project failed (in the message, not
        /// chained as a source: printed once).
        reason: PathError,
    },
    /// The `[plugins]` entry's component could not be read.
    #[error(transparent)]
    Read(#[from] PathError),
    /// The component did not load (not a ratchet component, a WIT version this host
    /// does not serve, a compile error).
    #[error("{}: {source}", path.display())]
    Load {
        /// The component's path as configured.
        path: PathBuf,
        /// What the runtime said.
        source: PluginError,
    },
    /// A grant could not be applied (a `grant_dir` outside the project...).
    #[error(transparent)]
    Grant(PluginError),
    /// `grant_model` on a runtime without a model broker.
    #[error("plugin `{0}`: no model broker in this runtime")]
    NoModelBroker(String),
}

/// The plugin runtime for `project` (one engine, its precompile cache on), with
/// ratchet's model broker answering plugins' model requests in `mode`.
pub fn runtime(project: &Project, mode: Mode) -> Result<Runtime, Failure> {
    let runtime = Runtime::new(&project.config.engine, true)?;
    Ok(runtime.with_model_access(Arc::new(ModelBroker::new(&project.config.model, &project.root, mode))))
}

/// The runtime's model broker, when it is ratchet's own (for its counts and the
/// simulated customer).
pub fn broker(runtime: &Runtime) -> Option<Arc<ModelBroker>> {
    let any: Arc<dyn std::any::Any + Send + Sync> = runtime.model_access()?.clone();
    any.downcast::<ModelBroker>().ok()
}

/// Load a plugin by its `[plugins]` name (limits, directory and model grants from
/// its entry) or, for a name that is not configured, as a component file inside the
/// project or a shipped `builtin:NAME`, with the project's `[sandbox]` limits.
pub fn load(project: &Project, runtime: &Runtime, name: &str) -> Result<Plugin, LoadError> {
    let entry = project.config.plugins.get(name);
    let (bytes, limits, path) = match entry {
        Some(entry) => (crate::project::read_component(&project.root, &entry.path)?, entry.limits(&project.config.sandbox), entry.path.clone()),
        None => {
            let p = PathBuf::from(name);
            let bytes = match crate::project::read_component(&project.root, &p) {
                Ok(bytes) => bytes,
                // A builtin's own error says what is wrong (not installed, no such name, digest).
                Err(e) if crate::install::is_builtin(&p) => return Err(LoadError::Read(e)),
                Err(reason) => return Err(LoadError::Unknown { name: name.to_string(), reason }),
            };
            (bytes, project.config.sandbox.clone(), p)
        }
    };
    let plugin = runtime.load(name, &bytes, limits).map_err(|source| LoadError::Load { path, source })?;
    match entry {
        Some(entry) => grant(project, runtime, entry, plugin),
        None => Ok(plugin),
    }
}

/// [`load`], then `Ok(Err(kind))` when the plugin implements another world than
/// `want` (the caller words that error: it knows which field named the plugin).
pub fn load_kind(project: &Project, runtime: &Runtime, name: &str, want: WorldKind) -> Result<Result<Plugin, WorldKind>, LoadError> {
    let p = load(project, runtime, name)?;
    let kind = p.world().kind;
    Ok(if kind == want { Ok(p) } else { Err(kind) })
}

/// Apply a `[plugins]` entry's grants (`grant_dir`, `grant_model`) to a loaded plugin.
pub fn grant(project: &Project, runtime: &Runtime, entry: &PluginEntry, mut plugin: Plugin) -> Result<Plugin, LoadError> {
    if let Some(dir) = &entry.grant_dir {
        plugin = plugin.grant_dir(&project.root, dir).map_err(LoadError::Grant)?;
    }
    if entry.grant_model {
        let access = runtime.model_access().ok_or_else(|| LoadError::NoModelBroker(plugin.id().name.clone()))?;
        plugin = plugin.grant_model(access.clone());
    }
    Ok(plugin)
}
