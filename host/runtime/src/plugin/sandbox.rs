//! Per-call store state: the memory limiter, the bounded log the guest writes to,
//! and — for guests that import WASI — a WASI context with nothing real in it:
//! a fixed clock, seeded randomness, no files, no network, no environment.

use std::convert::Infallible;
use std::path::Path;

use serde::Serialize;
use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{FsPerms, HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::limits::Limits;

/// Longest log line kept, in bytes; longer lines are cut.
const MAX_LOG_LINE: usize = 4096;
/// Where a granted directory appears inside a WASI guest.
pub const GRANT_GUEST_PATH: &str = "/data";
/// Captured stdout/stderr of a WASI guest, in bytes.
const MAX_STDIO: usize = 64 << 10;

/// Everything one plugin call's store holds.
pub struct StoreState {
    pub(crate) limiter: MemoryLimiter,
    pub(crate) logs: LogBuffer,
    pub(crate) abort_reason: Option<String>,
    wasi: Option<WasiState>,
    /// The model grant, when the plugin has one (`grant_model = true`).
    pub(crate) model: Option<ModelGrant>,
    /// The model calls made during this plugin call, in order.
    pub(crate) model_calls: Vec<crate::model::ModelCall>,
    /// Model calls attempted in this plugin call, failed ones included (the cap's count).
    model_attempts: u32,
    /// Wall time spent waiting for model answers and not yet credited back to the
    /// call's wall-clock deadline (a judge's network wait is not the guest's time).
    pub(crate) model_wait: std::time::Duration,
    /// The labels `ratchet:plugin/labels.get` answers with (the conversation of
    /// this call: a scorecard's, an assertion's transcript's).
    pub(crate) labels: Vec<(String, String)>,
    /// What an adapter attached during `convert`, by conversation id
    /// (`ratchet:plugin/labels.attach`); `None` outside `convert`.
    pub(crate) attached: Option<std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>>,
}

/// A plugin's permission to ask a model, and through whom.
#[derive(Clone)]
pub struct ModelGrant {
    /// The model access (ratchet's broker records and replays).
    pub access: std::sync::Arc<dyn crate::model::ModelAccess>,
    /// The plugin's name, for messages.
    pub plugin: String,
}

struct WasiState {
    ctx: WasiCtx,
    table: ResourceTable,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl StoreState {
    /// State for one call under `limits`; `wasi` when the component imports WASI.
    /// `grant` is a directory (already checked to be inside the project) that a WASI
    /// guest sees read-only at `/data`.
    pub fn new(limits: &Limits, wasi: bool, grant: Option<&Path>, model: Option<ModelGrant>) -> wasmtime::Result<Self> {
        Ok(StoreState {
            limiter: MemoryLimiter::new(u64::from(limits.memory_mib) << 20),
            logs: LogBuffer::new(limits.max_log_lines as usize),
            abort_reason: None,
            wasi: if wasi { Some(WasiState::new(limits, grant)?) } else { None },
            model,
            model_calls: Vec::new(),
            model_attempts: 0,
            model_wait: std::time::Duration::ZERO,
            labels: Vec::new(),
            attached: None,
        })
    }

    /// The `ratchet:plugin/model` import: ask the granted model access, count the call,
    /// and remember the wait so the deadline can be extended by it.
    pub fn model_complete(&mut self, request: &crate::model::ChatRequest) -> Result<crate::model::Answer, crate::model::ModelError> {
        use crate::model::ModelError;
        let Some(grant) = self.model.clone() else {
            return Err(ModelError::Denied(
                "this plugin may not call a model: add `grant_model = true` to its [plugins.NAME] entry in ratchet.toml (and configure [model])".into(),
            ));
        };
        let max = grant.access.max_calls_per_plugin_call();
        // Every attempt counts, failed ones too: a guest retrying a failing request in
        // a loop must not send the endpoint an unbounded number of them.
        if self.model_attempts >= max {
            return Err(ModelError::Invalid(format!(
                "plugin `{}` made more than {max} model calls in one call (model.max_calls_per_plugin_call)",
                grant.plugin
            )));
        }
        self.model_attempts += 1;
        let started = std::time::Instant::now();
        let out = grant.access.complete(&grant.plugin, request);
        self.model_wait += started.elapsed();
        let (answer, call) = out?;
        self.model_calls.push(call);
        Ok(answer)
    }

    /// For a call on a restored live instance (`plugin::live`): the WASI resource
    /// table takes no entry, so the instance's handle tables cannot change; a guest
    /// that needs a resource fails the call, which is then answered by a fresh instance.
    pub(crate) fn refuse_wasi_resources(&mut self) {
        if let Some(w) = &mut self.wasi {
            w.table.set_max_capacity(0);
        }
    }

    /// Whether no WASI resource is held (as when a fresh instance starts).
    pub(crate) fn wasi_resources_untouched(&self) -> bool {
        self.wasi.as_ref().is_none_or(|w| w.table.is_empty())
    }

    /// Move what a WASI guest printed into the log, once the call is over.
    pub fn drain_stdio(&mut self) {
        if let Some(w) = &self.wasi {
            for (stream, pipe) in [("stdout", &w.stdout), ("stderr", &w.stderr)] {
                let bytes = pipe.contents();
                if !bytes.is_empty() {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.logs.push(LogLevel::Info, format!("[{stream}] {}", text.trim_end()));
                }
            }
        }
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        // WASI functions are only linked for components that import WASI, and those
        // always get a WASI state (see `Plugin::new_store`).
        let w = self.wasi.as_mut().expect("WASI linked only for WASI guests, which always get a WASI state");
        WasiCtxView { ctx: &mut w.ctx, table: &mut w.table }
    }
}

impl WasiState {
    fn new(limits: &Limits, grant: Option<&Path>) -> wasmtime::Result<Self> {
        let stdout = MemoryOutputPipe::new(MAX_STDIO);
        let stderr = MemoryOutputPipe::new(MAX_STDIO);
        let mut b = WasiCtxBuilder::new();
        // No args, no env, empty stdin, captured stdout/stderr. No directories
        // (the builder starts empty) except an explicit read-only grant.
        b.stdout(stdout.clone()).stderr(stderr.clone());
        if let Some(dir) = grant {
            b.preopened_dir(dir, GRANT_GUEST_PATH, FsPerms::ReadOnly)?;
        }
        // No network of any kind.
        b.allow_tcp(false).allow_udp(false).allow_ip_name_lookup(false);
        // Time stands still (wall clock) or advances only when read (monotonic).
        b.wall_clock(FixedWallClock { unix_seconds: limits.wasi_clock_unix });
        b.monotonic_clock(SteppingMonotonicClock { now: 0.into() });
        // Random numbers come from a seeded generator.
        b.secure_random(SeededRng::new(limits.wasi_random_seed));
        b.insecure_random(SeededRng::new(limits.wasi_random_seed ^ 0x9E37_79B9_7F4A_7C15));
        b.insecure_random_seed(u128::from(limits.wasi_random_seed) | (0x5EED_u128 << 64));
        Ok(WasiState { ctx: b.build(), table: ResourceTable::new(), stdout, stderr })
    }
}

/// Wall clock fixed at a configured instant.
struct FixedWallClock {
    unix_seconds: u64,
}

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(1)
    }
    fn now(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.unix_seconds)
    }
}

/// Monotonic clock that advances 1 µs per read: deterministic, yet code that waits
/// for time to pass does not spin forever (fuel ends it anyway).
struct SteppingMonotonicClock {
    now: std::sync::atomic::AtomicU64,
}

impl HostMonotonicClock for SteppingMonotonicClock {
    fn resolution(&self) -> u64 {
        1_000
    }
    fn now(&self) -> u64 {
        // `now` takes &self: an atomic gives the interior mutability.
        self.now.fetch_add(1_000, std::sync::atomic::Ordering::Relaxed)
    }
}

/// xoshiro256** seeded through splitmix64: small, fast, and the same numbers for
/// the same seed forever (no dependency on a crate's choice of algorithm).
pub struct SeededRng {
    s: [u64; 4],
}

impl SeededRng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        SeededRng { s: [next(), next(), next(), next()] }
    }

    fn next(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }
}

impl rand_core::TryRng for SeededRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next() >> 32) as u32)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Ok(())
    }
}

/// Caps linear memory (summed over all memories of the instance) and records the
/// peak, and whether the cap was what stopped the guest.
pub struct MemoryLimiter {
    limit: u64,
    pub(crate) current: u64,
    pub(crate) peak: u64,
    pub(crate) hit: bool,
}

impl MemoryLimiter {
    fn new(limit: u64) -> Self {
        MemoryLimiter { limit, current: 0, peak: 0, hit: false }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let grow = (desired as u64).saturating_sub(current as u64);
        let total = self.current.saturating_add(grow);
        if total > self.limit {
            self.hit = true;
            return Ok(false);
        }
        self.current = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// Severity of a guest log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Chatty detail.
    Debug,
    /// Normal progress.
    Info,
    /// Something odd.
    Warn,
    /// Something failed.
    Error,
}

/// One line a guest logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    /// Severity.
    pub level: LogLevel,
    /// The text (cut at 4 KiB).
    pub message: String,
}

/// A bounded log: a guest that logs a million lines costs the host a counter.
#[derive(Debug, Default)]
pub struct LogBuffer {
    max: usize,
    pub(crate) lines: Vec<LogLine>,
    pub(crate) dropped: u64,
}

impl LogBuffer {
    fn new(max: usize) -> Self {
        LogBuffer { max, lines: Vec::new(), dropped: 0 }
    }

    pub(crate) fn push(&mut self, level: LogLevel, mut message: String) {
        if self.lines.len() >= self.max {
            self.dropped += 1;
            return;
        }
        truncate_utf8(&mut message, MAX_LOG_LINE);
        self.lines.push(LogLine { level, message });
    }
}

/// Cut a string to at most `max` bytes on a char boundary, marking the cut (for
/// untrusted text shown in messages: a guest's log line, an agent's bad output).
pub fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("…[cut]");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{Answer, ChatRequest, Message, MessageRole, ModelAccess, ModelCall, ModelError};

    fn request() -> ChatRequest {
        ChatRequest {
            model: String::new(),
            messages: vec![Message { role: MessageRole::User, content: "q?".into() }],
            temperature: 0.0,
            max_tokens: None,
            json_schema: None,
        }
    }

    /// A model access that has nothing recorded: every call fails, none reaches a network.
    struct NothingRecorded;

    impl ModelAccess for NothingRecorded {
        fn complete(&self, plugin: &str, _: &ChatRequest) -> Result<(Answer, ModelCall), ModelError> {
            Err(ModelError::NotRecorded(format!("{plugin}: nothing recorded")))
        }
        fn max_calls_per_plugin_call(&self) -> u32 {
            3
        }
    }

    #[test]
    fn no_grant_is_denied() {
        let mut s = StoreState::new(&Limits::default(), false, None, None).unwrap();
        assert!(matches!(s.model_complete(&request()), Err(ModelError::Denied(m)) if m.contains("grant_model = true")));
    }

    #[test]
    fn the_call_cap_counts_failed_attempts_too() {
        let access: Arc<dyn ModelAccess> = Arc::new(NothingRecorded);
        let mut s = StoreState::new(&Limits::default(), false, None, Some(ModelGrant { access, plugin: "p".into() })).unwrap();
        for _ in 0..3 {
            assert!(matches!(s.model_complete(&request()), Err(ModelError::NotRecorded(_))));
        }
        match s.model_complete(&request()) {
            Err(ModelError::Invalid(m)) => assert!(m.contains("more than 3 model calls"), "{m}"),
            other => panic!("expected the cap, got {other:?}"),
        }
    }
}
