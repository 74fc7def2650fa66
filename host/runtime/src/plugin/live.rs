//! Live instances put back after every call: how a large component (a Python or
//! JavaScript plugin, 12–19 MB) scores conversation after conversation without paying
//! for a fresh instance each time, and without anything carrying over (issue 20).
//!
//! A [`Live`] instance is instantiated from the component [`super::reset`] rewrote;
//! right after instantiation its written globals are saved into their shadows and its
//! linear memory is copied. After each call the globals are restored, the pages the
//! call wrote are copied back, and the next call gets a new [`StoreState`] (a fresh
//! WASI context: seeded random, fixed clock, and a resource table that refuses new
//! entries, so no handle can be created, kept or dropped). The instance is then in
//! the state a fresh one starts in; anything that could break that — the memory grew,
//! the call trapped or failed, the restore failed — discards the instance, and the
//! caller answers from a fresh instance instead. `host/tests/it/isolation.rs` holds
//! the tests: stateful guests in every order and split, byte for byte.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex};

use wasmtime::component::{Instance, InstancePre, TypedFunc};
use wasmtime::Store;

use super::reset::{InstanceExports, MemoryProbe, MemorySnapshot, MEMORY};
use super::StoreState;

/// Fuel for the host's own calls into the instance (save, restore, the memory probe):
/// plenty for restoring thousands of globals, and never charged to a conversation.
const RESET_FUEL: u64 = 50_000_000;

/// `/proc/self/pagemap`, when readable: which pages a call wrote (without it every
/// page is compared).
static PAGEMAP: LazyLock<Option<std::fs::File>> = LazyLock::new(|| std::fs::File::open("/proc/self/pagemap").ok());

/// Calls in a row that failed on a live instance and again on a fresh one before a
/// plugin goes back to fresh instances: each such call runs twice (a plugin that
/// loops until its fuel or time runs out would double both), and a plugin failing
/// call after call gains nothing from reuse. One success resets the count, so a
/// plugin that fails on a few inputs keeps its live instances.
pub(crate) const FAILURES_BEFORE_FRESH: u32 = 3;

/// The idle live instances of one plugin, and whether reuse is still on for it.
pub(crate) struct Pool {
    exports: Vec<InstanceExports>,
    idle: Mutex<Vec<Live>>,
    disabled: AtomicBool,
    /// Calls in a row that failed both live and fresh.
    failures: AtomicU32,
}

impl Pool {
    /// A pool for a component rewritten with `exports`.
    pub(crate) fn new(exports: Vec<InstanceExports>) -> Pool {
        Pool { exports, idle: Mutex::new(Vec::new()), disabled: AtomicBool::new(false), failures: AtomicU32::new(0) }
    }

    /// A live call succeeded.
    pub(crate) fn succeeded(&self) {
        self.failures.store(0, Ordering::Relaxed);
    }

    /// A call failed on a live instance and again on a fresh one; the
    /// `FAILURES_BEFORE_FRESH`th in a row turns reuse off.
    pub(crate) fn failed_on_both(&self) {
        if self.failures.fetch_add(1, Ordering::Relaxed) + 1 >= FAILURES_BEFORE_FRESH {
            self.disable();
        }
    }

    /// Whether calls may use live instances (off once a call needed what a restored
    /// instance refuses, e.g. a WASI resource).
    pub(crate) fn enabled(&self) -> bool {
        !self.disabled.load(Ordering::Relaxed)
    }

    /// Turn reuse off for this plugin: fresh instances from now on.
    pub(crate) fn disable(&self) {
        self.disabled.store(true, Ordering::Relaxed);
        self.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// An idle instance, or a new one from `pre` with `state`.
    pub(crate) fn take(&self, pre: &InstancePre<StoreState>, state: impl FnOnce() -> wasmtime::Result<StoreState>) -> wasmtime::Result<Live> {
        if let Some(live) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(live);
        }
        Live::new(pre, state()?, &self.exports)
    }

    /// Give back an instance that was restored.
    pub(crate) fn put(&self, live: Live) {
        if self.enabled() {
            self.idle.lock().unwrap_or_else(|e| e.into_inner()).push(live);
        }
    }
}

/// One instance kept alive between calls, and what puts it back.
pub(crate) struct Live {
    /// Its store (the state is replaced before every call).
    pub(crate) store: Store<StoreState>,
    /// The instance.
    pub(crate) instance: Instance,
    snapshot: MemorySnapshot,
    /// The memory limiter's count after instantiation (what a fresh instance's
    /// limiter holds when its call starts).
    memory_total: u64,
    /// The fuel instantiation burned (start functions): a fresh instance's call is
    /// charged it, so a live call is too — the same fuel count, the same limit.
    instantiate_fuel: u64,
    probe: TypedFunc<(), (MemoryProbe,)>,
    restores: Vec<TypedFunc<(), (u32,)>>,
}

impl Live {
    fn new(pre: &InstancePre<StoreState>, state: StoreState, exports: &[InstanceExports]) -> wasmtime::Result<Live> {
        let mut store = Store::new(pre.engine(), state);
        store.limiter(|s| &mut s.limiter);
        store.set_fuel(RESET_FUEL)?;
        store.set_epoch_deadline(u64::MAX / 2);
        store.data_mut().refuse_wasi_resources();
        let instance = pre.instantiate(&mut store)?;
        let memory_total = store.data().limiter.current;
        let instantiate_fuel = RESET_FUEL - store.get_fuel()?;
        if !store.data().wasi_resources_untouched() {
            wasmtime::bail!("instantiation created WASI resources");
        }
        for e in exports {
            instance.get_typed_func::<(), ()>(&mut store, &e.save)?.call(&mut store, ())?;
        }
        let restores = exports.iter().map(|e| instance.get_typed_func::<(), (u32,)>(&mut store, &e.restore)).collect::<wasmtime::Result<Vec<_>>>()?;
        let probe = instance.get_typed_func::<(), (MemoryProbe,)>(&mut store, MEMORY)?;
        let at = probe.call(&mut store, ())?.0;
        // SAFETY: the instance is live and no wasm runs in it (we hold its store).
        let snapshot = unsafe { MemorySnapshot::take(at) };
        Ok(Live { store, instance, snapshot, memory_total, instantiate_fuel, probe, restores })
    }

    /// The memory limiter's count right after instantiation, for the next call's state.
    pub(crate) fn memory_total(&self) -> u64 {
        self.memory_total
    }

    /// The fuel instantiation burned, charged to every call.
    pub(crate) fn instantiate_fuel(&self) -> u64 {
        self.instantiate_fuel
    }

    /// Put the instance back to its state right after instantiation; `Err` when that
    /// cannot be done (it must then be discarded).
    pub(crate) fn restore(&mut self) -> Result<(), String> {
        let e = |e: wasmtime::Error| format!("{e:#}");
        if !self.store.data().wasi_resources_untouched() {
            return Err("the call created WASI resources".into());
        }
        self.store.set_fuel(RESET_FUEL).map_err(e)?;
        self.store.set_epoch_deadline(u64::MAX / 2);
        for f in &self.restores {
            f.call(&mut self.store, ()).map_err(e)?;
        }
        let now = self.probe.call(&mut self.store, ()).map_err(e)?.0;
        // SAFETY: the same live instance; no wasm runs in it.
        unsafe { self.snapshot.restore(now, PAGEMAP.as_ref()) }.map(|_| ())
    }
}
