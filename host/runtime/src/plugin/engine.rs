//! The one wasmtime [`Engine`] a ratchet process runs plugins on, configured for
//! determinism first and speed second. Every setting says why it is there.

use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use wasmtime::{Config, Engine, EngineWeak, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, WasmBacktraceDetails};

use crate::limits::{Allocator, EngineSettings};

/// How often the wall-clock backstop advances. A call's timeout is rounded up to it.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Bytes of each pooled linear memory kept resident between instances.
const KEEP_RESIDENT: usize = 8 << 20;

/// Build the engine for `settings`.
pub fn build(settings: &EngineSettings) -> wasmtime::Result<Engine> {
    let mut config = Config::new();

    // Plugins are components defined by WIT; core modules are not accepted as plugins.
    config.wasm_component_model(true);

    // Fuel makes runaway plugins stop at the same instruction on every machine: a
    // deterministic limit, unlike wall-clock time.
    config.consume_fuel(true);
    // Epoch interruption is the wall-clock backstop for what fuel does not meter
    // (a long host call, a pathological compile); it is never the primary limit.
    config.epoch_interruption(true);

    // Determinism: NaNs produced by float ops are canonicalised, so a scorer doing
    // float maths gives the same bits on every CPU.
    config.cranelift_nan_canonicalization(true);
    // Determinism: relaxed-SIMD instructions have one defined result, not the CPU's.
    config.relaxed_simd_deterministic(true);
    // Determinism: no threads and no shared memory, so no scheduling races in a guest.
    // (wasmtime's `threads` feature is not even compiled in; this makes it explicit.)
    config.shared_memory(false);

    // Error messages name guest functions (from the name section) but must not depend
    // on the WASMTIME_BACKTRACE_DETAILS environment variable: fixed here.
    config.wasm_backtrace_details(WasmBacktraceDetails::Disable);

    // Plugins are compiled once and cached, so spend compile time on fast code.
    config.cranelift_opt_level(OptLevel::Speed);
    // Large (Python/JS) components compile on all cores.
    config.parallel_compilation(true);

    // `RATCHET_PERFMAP=1` writes /tmp/perf-<pid>.map so `perf report` names guest
    // functions (for profiling plugins; no effect on what a plugin computes).
    if std::env::var_os("RATCHET_PERFMAP").is_some_and(|v| v == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }

    // Instance memory starts as a copy-on-write image of the component's data
    // segments: a fresh instance per conversation does not copy the heap.
    config.memory_init_cow(true);

    let max_memory = u64::from(settings.max_memory_mib) << 20;
    match settings.allocator {
        Allocator::Pooling => {
            // Pre-reserved slots make a fresh instance per call cost microseconds.
            // Sized for many concurrent plugin calls and for big (Python/JS) guests
            // that have several core instances and tables.
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(256);
            pool.total_core_instances(2048);
            pool.total_memories(256);
            pool.total_tables(2048);
            pool.max_core_instances_per_component(64);
            pool.max_memories_per_component(4);
            pool.max_tables_per_component(32);
            pool.max_memories_per_module(2);
            pool.max_tables_per_module(8);
            pool.table_elements(200_000);
            pool.max_core_instance_size(16 << 20);
            pool.max_component_instance_size(4 << 20);
            // Speed: after a call, reset the pages the instance dirtied with memset
            // instead of handing them back to the kernel, so the next fresh instance
            // does not page-fault on every page it touches (measured: most of a
            // small call's cost). pagemap_scan (Linux >= 6.7) finds the dirty
            // pages; elsewhere the first `keep_resident` bytes are memset.
            pool.linear_memory_keep_resident(KEEP_RESIDENT);
            pool.table_keep_resident(KEEP_RESIDENT / 16);
            pool.pagemap_scan(wasmtime::Enabled::Auto);
            // A slot holds the largest memory any plugin may be granted.
            pool.max_memory_size(max_memory as usize);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        Allocator::OnDemand => {
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
        }
    }

    let engine = Engine::new(&config)?;
    start_epoch_ticker(&engine);
    Ok(engine)
}

/// One background thread advances the epoch of every live engine; it holds only weak
/// references, so dropping an engine needs no shutdown call.
fn start_epoch_ticker(engine: &Engine) {
    static ENGINES: OnceLock<Mutex<Vec<EngineWeak>>> = OnceLock::new();
    let mut started = false;
    let engines = ENGINES.get_or_init(|| {
        started = true;
        Mutex::new(Vec::new())
    });
    engines.lock().unwrap_or_else(|e| e.into_inner()).push(engine.weak());
    if started {
        std::thread::Builder::new()
            .name("ratchet-epoch".into())
            .spawn(move || loop {
                std::thread::sleep(EPOCH_TICK);
                let mut list = engines.lock().unwrap_or_else(|e| e.into_inner());
                list.retain(|weak| match weak.upgrade() {
                    Some(engine) => {
                        engine.increment_epoch();
                        true
                    }
                    None => false,
                });
            })
            .expect("spawning the epoch thread");
    }
}

/// Epoch ticks for a timeout in milliseconds (rounded up, at least 1).
pub fn ticks_for(timeout_ms: u64) -> u64 {
    let tick = EPOCH_TICK.as_millis() as u64;
    timeout_ms.div_ceil(tick).max(1) + 1
}
