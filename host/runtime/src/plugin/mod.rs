//! The sandboxed plugin runtime: loads WebAssembly components that implement one
//! of ratchet's WIT worlds and calls them with fuel, memory and wall-clock limits,
//! a fresh instance per call, and no access to anything the call does not pass in.
//!
//! * [`engine`] — the wasmtime engine settings (determinism, pooling).
//! * [`cache`] — precompiled artifacts on disk.
//! * [`sandbox`] — per-call store state: limiter, log, deterministic WASI.
//! * [`inspect`] — what a component is, without running it.
//! * [`v0_1`] — the host module of the `ratchet:plugin@0.1.x` series (0.1.0 and
//!   0.1.1): its bindings and conversions. One module per series, chosen by
//!   [`Series`]; everything above this module sees ratchet's own types only.

pub mod cache;
pub mod engine;
pub mod error;
pub mod inspect;
mod live;
pub mod reset;
pub mod sandbox;
pub mod v0_1;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Instance, InstancePre, Linker};
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

pub use cache::{CacheOutcome, ComponentCache};
pub use error::{Failure, PluginError, PluginId};
pub use inspect::{Inspection, Series, World, WorldKind, LABELS_IMPORT, MODEL_IMPORT};
pub use sandbox::{LogLevel, LogLine, ModelGrant, StoreState};

use crate::limits::{EngineSettings, Limits};
use crate::model::ModelAccess;
use crate::schema;

/// One engine, its linkers and its cache: create once per process, load many plugins.
pub struct Runtime {
    engine: Engine,
    /// Host imports only: what a pure (wasm32-unknown-unknown) guest may import.
    linker: Linker<StoreState>,
    /// Host imports plus the deterministic WASI, for guests that import WASI.
    wasi_linker: Linker<StoreState>,
    cache: Option<ComponentCache>,
    max_memory_mib: u32,
    model: Option<std::sync::Arc<dyn ModelAccess>>,
}

impl Runtime {
    /// A runtime with `settings` (`settings.cache_dir`, else the default cache
    /// location); `use_cache = false` disables the precompile cache.
    pub fn new(settings: &EngineSettings, use_cache: bool) -> Result<Runtime, Failure> {
        let engine = engine::build(settings).map_err(|e| Failure::Host(format!("cannot create the engine: {e:#}")))?;
        // Every series' host interfaces go into both linkers: a component links to the
        // ones of the version it was built against.
        let mut linker = Linker::new(&engine);
        let mut wasi_linker = Linker::new(&engine);
        for series in Series::ALL {
            series.add_host_to_linker(&mut linker).map_err(|e| Failure::Host(format!("{e:#}")))?;
            series.add_host_to_linker(&mut wasi_linker).map_err(|e| Failure::Host(format!("{e:#}")))?;
        }
        wasmtime_wasi::p2::add_to_linker_sync(&mut wasi_linker).map_err(|e| Failure::Host(format!("{e:#}")))?;
        let cache = if use_cache { settings.cache_dir.clone().or_else(ComponentCache::default_dir).map(|d| ComponentCache::new(d, &engine)) } else { None };
        Ok(Runtime { engine, linker, wasi_linker, cache, max_memory_mib: settings.max_memory_mib, model: None })
    }

    /// Attach the model access that plugins granted `grant_model` will ask (see
    /// [`Plugin::grant_model`]): ratchet's recording broker, or an embedder's own.
    pub fn with_model_access(mut self, access: std::sync::Arc<dyn ModelAccess>) -> Runtime {
        self.model = Some(access);
        self
    }

    /// The model access, when one is attached.
    pub fn model_access(&self) -> Option<&std::sync::Arc<dyn ModelAccess>> {
        self.model.as_ref()
    }

    /// The engine (for benchmarks and tools).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The cache, when enabled.
    pub fn cache(&self) -> Option<&ComponentCache> {
        self.cache.as_ref()
    }

    /// Load a component from a file opened by the caller (see [`crate::project::read_in_root`]).
    pub fn load_file(&self, name: &str, path: &Path, limits: Limits) -> Result<Plugin, PluginError> {
        let bytes = std::fs::read(path).map_err(|e| PluginError {
            plugin: PluginId { name: name.into(), digest: "sha256:?".into() },
            failure: Failure::Read(format!("{}: {e}", path.display())),
        })?;
        self.load(name, &bytes, limits)
    }

    /// Compile (or load from cache), check the world, and pre-link a component.
    pub fn load(&self, name: &str, bytes: &[u8], limits: Limits) -> Result<Plugin, PluginError> {
        let digest_hex = hex::encode(Sha256::digest(bytes));
        let id = PluginId { name: name.to_string(), digest: format!("sha256:{digest_hex}") };
        let fail = |failure: Failure| PluginError { plugin: id.clone(), failure };
        if limits.memory_mib > self.max_memory_mib {
            return Err(fail(Failure::Host(format!("memory_mib {} exceeds engine.max_memory_mib {}", limits.memory_mib, self.max_memory_mib))));
        }
        let started = Instant::now();
        // Large components (Python, JavaScript) run on live instances restored after
        // every call (see `live`), compiled from their rewritten form; the plugin's
        // identity stays the original's digest.
        // The rewritten form is cached under a key derived from the original digest
        // and the rewrite's version, so a cache hit needs no rewrite.
        let reuse_key = (bytes.len() >= REUSE_MIN_BYTES && reuse_allowed())
            .then(|| hex::encode(Sha256::digest(format!("ratchet-reset-v{}:{digest_hex}", reset::REWRITE_VERSION))));
        let cached = match (&reuse_key, &self.cache) {
            (Some(key), Some(cache)) => cache.load_cached(&self.engine, key).map(|c| (c, CacheOutcome::Hit)),
            _ => None,
        };
        let rewritten = cached.is_some();
        let (component, cache, rewritten) = match cached {
            Some((c, o)) => (c, o, rewritten),
            None => {
                let restorable = reuse_key.as_ref().and_then(|_| reset::instrument(bytes).ok());
                let (compiled, key) = match (&restorable, &reuse_key) {
                    (Some(r), Some(key)) => (r.bytes.as_slice(), key.as_str()),
                    _ => (bytes, digest_hex.as_str()),
                };
                let (c, o) = match &self.cache {
                    Some(cache) => cache.load_or_compile(&self.engine, compiled, key),
                    None => Component::new(&self.engine, compiled).map(|c| (c, CacheOutcome::Disabled)),
                }
                .map_err(|e| fail(Failure::Compile(format!("{e:#}"))))?;
                (c, o, restorable.is_some())
            }
        };
        let load_time = started.elapsed();
        let inspection = inspect::inspect(&self.engine, &component);
        let world = inspection.world.clone().map_err(fail)?;
        let uses_wasi = inspection.uses_wasi();
        let linker = if uses_wasi { &self.wasi_linker } else { &self.linker };
        let pre = linker.instantiate_pre(&component).map_err(|e| fail(Failure::Link(format!("{e:#}"))))?;
        let bound = match world.series {
            Series::V0_1 => Bound::V0_1(v0_1::Bound::new(pre, &component, world.kind).map_err(|e| fail(Failure::WrongWorld(format!("{e:#}"))))?),
        };
        let reuse = match world.kind {
            WorldKind::Scorecard | WorldKind::Assertion | WorldKind::Simulator if rewritten => {
                Some(live::Pool::new(reset::exports_of(&self.engine, &component)))
            }
            _ => None,
        };
        Ok(Plugin {
            id,
            world,
            uses_wasi,
            limits,
            bound,
            inspection,
            grant: None,
            model: None,
            load: LoadStats { cache, time: load_time, size: bytes.len() as u64 },
            reuse,
        })
    }
}

/// A component bound through the host module of its WIT series (Zed-style: one
/// module per series; a new series adds a variant and a module, nothing else here
/// changes shape).
enum Bound {
    /// `ratchet:plugin@0.1.x`.
    V0_1(v0_1::Bound),
}

impl Bound {
    fn instance_pre(&self) -> &InstancePre<StoreState> {
        match self {
            Bound::V0_1(b) => b.instance_pre(),
        }
    }
}

/// What a guest function gave back, already in ratchet's own types.
pub(crate) enum Answer<T> {
    /// A well-formed output.
    Valid(T),
    /// The guest returned its own error (`Err(message)`).
    Refused(String),
    /// The guest returned something that breaks the contract (a score of 2, bad JSON).
    Malformed(String),
}

impl<T> From<Result<Result<T, String>, String>> for Answer<T> {
    /// From `Ok(validated conversion)` or the guest's `Err`.
    fn from(r: Result<Result<T, String>, String>) -> Answer<T> {
        match r {
            Ok(Ok(v)) => Answer::Valid(v),
            Ok(Err(m)) => Answer::Malformed(m),
            Err(m) => Answer::Refused(m),
        }
    }
}

/// A tool call put to a simulator: what the agent asked for.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRequest {
    /// Tool name.
    pub tool: String,
    /// Tool version (from the call, else the scenario's registry; may be empty).
    #[serde(default)]
    pub version: String,
    /// Arguments, a JSON object.
    pub arguments: serde_json::Value,
}

/// A call a recorded conversation made and what it returned: what a simulator
/// reconstructs the world from (`seed`).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observed {
    /// The call.
    pub request: ToolRequest,
    /// The recorded result.
    pub result: serde_json::Value,
    /// The tool reported an error.
    #[serde(default)]
    pub is_error: bool,
}

/// A simulator's answer to one tool call: the result, and the world after it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulated {
    /// The tool's result.
    pub result: serde_json::Value,
    /// The tool reports an error.
    pub is_error: bool,
    /// The whole world after the call (a JSON object).
    pub world: serde_json::Value,
}

/// What an agent component decided to do next (the agent world's `next`), in
/// ratchet's own terms whatever WIT series the component speaks.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentAction {
    /// Reply to the customer.
    Reply(String),
    /// Call a tool.
    CallTool(schema::ToolCall),
    /// Hand off to a human.
    Escalate(String),
}

/// How a component was loaded.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LoadStats {
    /// From the cache, compiled, or compiled without a cache.
    #[serde(serialize_with = "ser_cache")]
    pub cache: CacheOutcome,
    /// Compile or deserialize time.
    #[serde(serialize_with = "ser_duration_us", rename = "time_us")]
    pub time: Duration,
    /// Component size in bytes.
    pub size: u64,
}

/// What one call cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CallStats {
    /// Fuel burnt, instantiation included: deterministic for the same input.
    pub fuel_consumed: u64,
    /// Peak linear memory of the instance, bytes.
    pub peak_memory_bytes: u64,
    /// Wall time of instantiate + call (not deterministic; for humans).
    #[serde(serialize_with = "ser_duration_us", rename = "wall_time_us")]
    pub wall_time: Duration,
}

/// A successful call: the output, what it cost, and what the guest logged.
#[derive(Debug, Clone)]
pub struct Call<T> {
    /// The validated output.
    pub output: T,
    /// Fuel, memory, time.
    pub stats: CallStats,
    /// The guest's log lines (bounded) and how many were dropped.
    pub logs: Vec<LogLine>,
    /// Log lines past `max_log_lines`, counted not stored.
    pub logs_dropped: u64,
    /// The model calls the plugin made (LLM-judged plugins), with cost and latency.
    pub model_calls: Vec<crate::model::ModelCall>,
}

/// What a call left behind besides its output: costs, log lines, model calls.
struct Record {
    stats: CallStats,
    logs: Vec<LogLine>,
    logs_dropped: u64,
    model_calls: Vec<crate::model::ModelCall>,
}

/// A loaded, pre-linked plugin. Each call gets a fresh instance: nothing leaks
/// from one conversation to the next.
pub struct Plugin {
    id: PluginId,
    world: World,
    uses_wasi: bool,
    limits: Limits,
    bound: Bound,
    inspection: Inspection,
    grant: Option<PathBuf>,
    model: Option<ModelGrant>,
    load: LoadStats,
    /// Live instances restored after every call, for a large scorecard, assertion or simulator
    /// whose state can be restored (`live`, `reset`); `None`: a fresh instance per call.
    reuse: Option<live::Pool>,
}

/// Components at least this large run on restored live instances: a fresh Python or
/// JavaScript instance (12–19 MB components) costs 0.9–2.5 ms; a Rust one (~0.2 MB)
/// ~5 µs, less than comparing its memory with a snapshot.
const REUSE_MIN_BYTES: usize = 4 << 20;

/// `RATCHET_FRESH_INSTANCES=1` turns live instances off (a fresh instance per call
/// for every plugin), for comparing the two.
fn reuse_allowed() -> bool {
    std::env::var_os("RATCHET_FRESH_INSTANCES").is_none_or(|v| v != "1")
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("id", &self.id)
            .field("world", &self.world)
            .field("uses_wasi", &self.uses_wasi)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Plugin {
    /// Name and digest.
    pub fn id(&self) -> &PluginId {
        &self.id
    }
    /// The world it implements.
    pub fn world(&self) -> &World {
        &self.world
    }
    /// Whether it imports WASI (and so runs with the deterministic WASI).
    pub fn uses_wasi(&self) -> bool {
        self.uses_wasi
    }
    /// Its limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
    /// Imports and exports, for `plugin inspect`.
    pub fn inspection(&self) -> &Inspection {
        &self.inspection
    }
    /// How it was loaded.
    pub fn load_stats(&self) -> LoadStats {
        self.load
    }

    /// Grant the plugin read-only access to `relative` (a directory inside `root`),
    /// visible to the guest at `/data`. Only WASI guests can read files; the path is
    /// checked with cap-std, so `..` and symlinks out of the root are refused.
    pub fn grant_dir(mut self, root: &Path, relative: &Path) -> Result<Plugin, PluginError> {
        if !self.inspection.imports.iter().any(|i| i.starts_with("wasi:filesystem/")) {
            return Err(self.fail(Failure::Grant(format!("{} does not import wasi:filesystem, so it cannot read a granted directory", relative.display()))));
        }
        crate::project::open_dir_in_root(root, relative).map_err(|e| self.fail(Failure::Grant(e.to_string())))?;
        let full = root.join(relative).canonicalize().map_err(|e| self.fail(Failure::Grant(format!("{}: {e}", relative.display()))))?;
        self.grant = Some(full);
        Ok(self)
    }

    /// Let the plugin ask a model through `access` (the `ratchet:plugin/model`
    /// import). Without this grant every model call is answered `denied`.
    pub fn grant_model(mut self, access: std::sync::Arc<dyn ModelAccess>) -> Plugin {
        self.model = Some(ModelGrant { access, plugin: self.id.name.clone() });
        self
    }

    /// Whether the component imports the model interface (an LLM-judged plugin).
    pub fn imports_model(&self) -> bool {
        self.inspection.imports.iter().any(|i| i.starts_with(MODEL_IMPORT))
    }

    /// Whether the component imports `ratchet:plugin/labels` (WIT 0.1.3): it reads
    /// its conversation's labels (scorecards, assertions) or attaches them (adapters).
    pub fn imports_labels(&self) -> bool {
        self.inspection.imports.iter().any(|i| i.starts_with(LABELS_IMPORT))
    }

    /// Whether calls run on restored live instances (a large scorecard or assertion
    /// whose state can be restored, reuse not turned off: see `live`); otherwise each
    /// call gets a fresh instance.
    pub fn reuses_instances(&self) -> bool {
        self.reuse.as_ref().is_some_and(|p| p.enabled())
    }

    /// This plugin with a fresh instance for every call, also when it could run on
    /// restored live instances (the two give the same answers and costs; for
    /// comparing them).
    pub fn without_reuse(mut self) -> Plugin {
        self.reuse = None;
        self
    }

    /// Whether the plugin holds the model grant.
    pub fn has_model_grant(&self) -> bool {
        self.model.is_some()
    }

    fn fail(&self, failure: Failure) -> PluginError {
        PluginError { plugin: self.id.clone(), failure }
    }

    fn wrong_world(&self, wanted: WorldKind) -> PluginError {
        self.fail(Failure::WrongWorld(format!(
            "expected a {} plugin (world `{}`), this component implements `{}`",
            wanted.name(),
            wanted.name(),
            self.world.kind.name()
        )))
    }

    /// Run `f` on a fresh instance under the plugin's limits, turning every way a
    /// guest can fail into a [`Failure`].
    fn call<R>(&self, f: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<R>) -> Result<(R, Record), PluginError> {
        let state = self.new_state()?;
        let mut store = Store::new(self.bound.instance_pre().engine(), state);
        store.limiter(|s| &mut s.limiter);
        self.run(&mut store, 0, f)
    }

    /// The store state for one call.
    fn new_state(&self) -> Result<StoreState, PluginError> {
        StoreState::new(&self.limits, self.uses_wasi, self.grant.as_deref(), self.model.clone()).map_err(|e| self.fail(Failure::Grant(format!("{e:#}"))))
    }

    /// Run `live` on a restored live instance when the plugin has them, else (or when
    /// the live call failed) `fresh` on a fresh instance. The two give the same answer
    /// (see `live`); a live call that fails where a fresh one succeeds means the guest
    /// needs what a restored instance refuses, and turns reuse off for the plugin, as do
    /// `live::FAILURES_BEFORE_FRESH` calls in a row failing both ways.
    fn call_reusing<R>(
        &self,
        live: impl FnOnce(&mut Store<StoreState>, &Instance) -> wasmtime::Result<R>,
        fresh: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> Result<(R, Record), PluginError> {
        let Some(pool) = self.reuse.as_ref().filter(|p| p.enabled()) else { return self.call(fresh) };
        if let Some(done) = self.call_live(pool, live) {
            pool.succeeded();
            return Ok(done);
        }
        let answer = self.call(fresh);
        match answer {
            // The guest needed what a restored instance refuses: fresh from now on.
            Ok(_) => pool.disable(),
            // It fails either way (a trap, its fuel or time ran out).
            Err(_) => pool.failed_on_both(),
        }
        answer
    }

    /// `f` on a live instance from `pool`, put back afterwards; `None` when it could not
    /// run there or failed (the instance is then discarded).
    fn call_live<R>(&self, pool: &live::Pool, f: impl FnOnce(&mut Store<StoreState>, &Instance) -> wasmtime::Result<R>) -> Option<(R, Record)> {
        let Ok(mut live) = pool.take(self.bound.instance_pre(), || Ok(self.new_state()?)) else {
            pool.disable();
            return None;
        };
        let mut state = self.new_state().ok()?;
        state.refuse_wasi_resources();
        state.limiter.current = live.memory_total();
        state.limiter.peak = live.memory_total();
        *live.store.data_mut() = state;
        let instance = live.instance;
        let spent = live.instantiate_fuel();
        let done = self.run(&mut live.store, spent, |s| f(s, &instance)).ok()?;
        if live.restore().is_ok() {
            pool.put(live);
        }
        Some(done)
    }

    /// Run `f` in `store` under the plugin's limits, `spent` fuel already charged (a
    /// live instance's instantiation), turning every way a guest can fail into a
    /// [`Failure`].
    fn run<R>(
        &self,
        store: &mut Store<StoreState>,
        spent: u64,
        f: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> Result<(R, Record), PluginError> {
        store.set_fuel(self.limits.fuel.saturating_sub(spent)).map_err(|e| self.fail(Failure::Host(format!("{e:#}"))))?;
        store.set_epoch_deadline(engine::ticks_for(self.limits.timeout_ms));
        if self.model.is_some() {
            // The wall-clock backstop measures the guest, not the network: time spent
            // waiting for model answers is credited back before the call is interrupted.
            store.epoch_deadline_callback(|mut ctx| {
                let owed = std::mem::take(&mut ctx.data_mut().model_wait);
                if owed.is_zero() {
                    Err(Trap::Interrupt.into())
                } else {
                    Ok(UpdateDeadline::Continue(engine::ticks_for(owed.as_millis() as u64)))
                }
            });
        } else {
            // No model grant, no host wait to credit: trap at the deadline (no boxed
            // callback on the per-conversation path).
            store.epoch_deadline_trap();
        }
        let started = Instant::now();
        let result = f(store);
        let wall_time = started.elapsed();
        let fuel_left = store.get_fuel().unwrap_or(0);
        store.data_mut().drain_stdio();
        let state = store.data();
        let stats = CallStats { fuel_consumed: self.limits.fuel - fuel_left, peak_memory_bytes: state.limiter.peak, wall_time };
        match result {
            Ok(r) => {
                let logs = std::mem::take(&mut store.data_mut().logs);
                let calls = std::mem::take(&mut store.data_mut().model_calls);
                Ok((r, Record { stats, logs: logs.lines, logs_dropped: logs.dropped, model_calls: calls }))
            }
            Err(e) => Err(self.fail(self.classify(e, store.data()))),
        }
    }

    fn classify(&self, e: wasmtime::Error, state: &StoreState) -> Failure {
        let trap = e.downcast_ref::<Trap>().copied();
        if state.limiter.hit {
            return Failure::OutOfMemory { limit_mib: self.limits.memory_mib };
        }
        match trap {
            Some(Trap::OutOfFuel) => Failure::OutOfFuel { limit: self.limits.fuel },
            Some(Trap::Interrupt) => Failure::Timeout { timeout_ms: self.limits.timeout_ms },
            Some(t) => Failure::Trap { trap: t.to_string(), reason: state.abort_reason.clone() },
            None => {
                // Not a trap: an instantiation or host error. Keep the root message.
                let msg = format!("{}", e.root_cause());
                if state.abort_reason.is_some() {
                    Failure::Trap { trap: msg, reason: state.abort_reason.clone() }
                } else {
                    Failure::Host(format!("{e:#}"))
                }
            }
        }
    }

    fn finish<T: Serialize>(&self, out: Result<T, String>, record: Record) -> Result<Call<T>, PluginError> {
        let output = out.map_err(|m| self.fail(Failure::MalformedOutput(m)))?;
        let bytes = json_len(&output).map_err(|e| self.fail(Failure::Host(e.to_string())))?;
        if bytes > self.limits.max_output_bytes {
            return Err(self.fail(Failure::OutputTooLarge { bytes, limit: self.limits.max_output_bytes }));
        }
        Ok(Call { output, stats: record.stats, logs: record.logs, logs_dropped: record.logs_dropped, model_calls: record.model_calls })
    }

    /// Ask the plugin to describe itself.
    pub fn info(&self) -> Result<Call<schema::PluginInfo>, PluginError> {
        let (info, record) = self.call(|s| match &self.bound {
            Bound::V0_1(b) => b.info(s),
        })?;
        self.finish(Ok(info), record)
    }

    /// Score a conversation (scorecard world).
    pub fn score(&self, conversation: &schema::Conversation, params: &serde_json::Value) -> Result<Call<schema::ScorecardResult>, PluginError> {
        self.score_with(conversation, &schema::canonical_json(params))
    }

    /// [`Plugin::score`] with the parameters already written as canonical JSON, for a
    /// caller that scores many conversations with the same parameters (`detect`).
    pub fn score_with(&self, conversation: &schema::Conversation, params_json: &str) -> Result<Call<schema::ScorecardResult>, PluginError> {
        self.expect(WorldKind::Scorecard)?;
        let (answer, record) = self.call_reusing(
            |s, i| match &self.bound {
                Bound::V0_1(b) => b.score_on(s, i, conversation, params_json),
            },
            |s| match &self.bound {
                Bound::V0_1(b) => b.score(s, conversation, params_json),
            },
        )?;
        self.answered(answer, record)
    }

    /// Check a replayed transcript (assertion world).
    pub fn check(&self, transcript: &schema::Conversation, params: &serde_json::Value) -> Result<Call<schema::Verdict>, PluginError> {
        self.expect(WorldKind::Assertion)?;
        let params = schema::canonical_json(params);
        let (answer, record) = self.call_reusing(
            |s, i| match &self.bound {
                Bound::V0_1(b) => b.check_on(s, i, transcript, &params),
            },
            |s| match &self.bound {
                Bound::V0_1(b) => b.check(s, transcript, &params),
            },
        )?;
        self.answered(answer, record)
    }

    /// Convert a vendor export into canonical conversations (adapter world).
    pub fn convert(&self, input: &[u8], options: &serde_json::Value) -> Result<Call<Vec<schema::Converted>>, PluginError> {
        self.expect(WorldKind::Adapter)?;
        let options = schema::canonical_json(options);
        let (answer, record) = self.call(|s| match &self.bound {
            Bound::V0_1(b) => b.convert(s, input, &options),
        })?;
        self.answered(answer, record)
    }

    /// Ask an agent component for its next action (agent world).
    pub fn next_action(
        &self,
        state: &schema::AgentState,
        channel: schema::Channel,
        transcript: &[schema::Turn],
        config: &serde_json::Value,
    ) -> Result<Call<AgentAction>, PluginError> {
        self.expect(WorldKind::Agent)?;
        let config = schema::canonical_json(config);
        let (answer, record) = self.call(|s| match &self.bound {
            Bound::V0_1(b) => b.next(s, state, channel, transcript, &config),
        })?;
        let action = match answer {
            Answer::Valid(a) => a,
            Answer::Refused(m) => return Err(self.fail(Failure::Guest(m))),
            Answer::Malformed(m) => return Err(self.fail(Failure::MalformedOutput(m))),
        };
        Ok(Call { output: action, stats: record.stats, logs: record.logs, logs_dropped: record.logs_dropped, model_calls: record.model_calls })
    }

    /// Reconstruct the world before a recorded conversation from what it
    /// observed (simulator world).
    pub fn seed(&self, observed: &[Observed], params: &serde_json::Value) -> Result<Call<serde_json::Value>, PluginError> {
        self.expect(WorldKind::Simulator)?;
        let params = schema::canonical_json(params);
        let (answer, record) = self.call_reusing(
            |s, i| match &self.bound {
                Bound::V0_1(b) => b.seed_on(s, i, observed, &params),
            },
            |s| match &self.bound {
                Bound::V0_1(b) => b.seed(s, observed, &params),
            },
        )?;
        self.answered(answer, record)
    }

    /// Answer one tool call in `world` (simulator world): `None` when the
    /// simulator does not model the tool. `world` is canonical JSON text.
    pub fn simulate(&self, world: &str, request: &ToolRequest, params: &serde_json::Value) -> Result<Call<Option<Simulated>>, PluginError> {
        self.expect(WorldKind::Simulator)?;
        let params = schema::canonical_json(params);
        let world = world.to_string();
        let (answer, record) = self.call_reusing(
            |s, i| match &self.bound {
                Bound::V0_1(b) => b.simulate_on(s, i, &world, request, &params),
            },
            |s| match &self.bound {
                Bound::V0_1(b) => b.simulate(s, &world, request, &params),
            },
        )?;
        self.answered(answer, record)
    }

    fn expect(&self, kind: WorldKind) -> Result<(), PluginError> {
        if self.world.kind == kind {
            Ok(())
        } else {
            Err(self.wrong_world(kind))
        }
    }

    /// A guest's answer: its own error, a contract breach, or a checked output.
    fn answered<T: Serialize>(&self, answer: Answer<T>, record: Record) -> Result<Call<T>, PluginError> {
        match answer {
            Answer::Valid(v) => self.finish(Ok(v), record),
            Answer::Refused(m) => Err(self.fail(Failure::Guest(m))),
            Answer::Malformed(m) => self.finish(Err(m), record),
        }
    }
}

/// The length of `value` as JSON, counted as it is written (nothing is kept): the
/// output-size limit is checked on every call, so it should not cost a buffer.
fn json_len<T: Serialize>(value: &T) -> serde_json::Result<u64> {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value)?;
    Ok(count.0)
}

fn ser_duration_us<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_micros() as u64)
}

fn ser_cache<S: serde::Serializer>(c: &CacheOutcome, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match c {
        CacheOutcome::Hit => "hit",
        CacheOutcome::Miss => "miss",
        CacheOutcome::Disabled => "disabled",
    })
}
