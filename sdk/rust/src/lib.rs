//! # ratchet-sdk
//!
//! Write ratchet plugins in Rust. A plugin is a WebAssembly component that
//! ratchet runs sandboxed and deterministically; there are five kinds, one
//! per WIT world of `ratchet:plugin@0.1.3`:
//!
//! | kind | implement | export with | used by |
//! |---|---|---|---|
//! | scorecard | [`Scorecard`] | [`export_scorecard!`] | `ratchet detect` |
//! | assertion | [`Assertion`] | [`export_assertion!`] | `ratchet gate` (criterion kind `plugin`) |
//! | adapter | [`Adapter`] | [`export_adapter!`] | `ratchet detect` (vendor exports) |
//! | agent | [`Agent`] | [`export_agent!`] | `ratchet gate` (the agent under test, `driver = "wasm"`) |
//! | simulator | [`Simulator`] | [`export_simulator!`] | `ratchet gate` (answers tool calls no fixture matches; keeps the world for outcome criteria) and `ratchet regenerate` (seeds the world) |
//!
//! ```
//! use ratchet_sdk::{Conversation, CriterionResult, PluginInfo, Scorecard, ScorecardResult, Value};
//!
//! pub struct Polite;
//!
//! impl Scorecard for Polite {
//!     fn info() -> PluginInfo {
//!         PluginInfo::new("polite", "0.1.0", "Agent says please")
//!     }
//!     fn score(c: &Conversation, _params: &Value) -> Result<ScorecardResult, String> {
//!         let ok = c.agent_turns().any(|t| ratchet_sdk::text::contains_any_ci(&t.text, &["please"]));
//!         let crit = if ok {
//!             CriterionResult::pass("says-please", "the agent said please")
//!         } else {
//!             CriterionResult::fail("says-please", "the agent never said please", None)
//!         };
//!         Ok(ScorecardResult::from_criteria(vec![crit]))
//!     }
//! }
//!
//! ratchet_sdk::export_scorecard!(Polite);
//! ```
//!
//! The crate is `crate-type = ["cdylib", "rlib"]`: the `rlib` lets native unit
//! tests call `Polite::score` directly on conversations loaded with
//! [`Conversation::from_json`]; the `cdylib`, built for
//! `wasm32-unknown-unknown` and wrapped with `wasm-tools component new`, is the
//! plugin (`scripts/build-plugins` does both steps).
//!
//! The types here mirror the WIT records and ratchet's canonical JSON; JSON
//! values cross the boundary as canonical text (sorted keys, compact), so the
//! same result is always the same bytes. The conversation's open-ended fields
//! (tool-call arguments, tool-result content, memory values) are [`Json`]: kept
//! as the host's text and parsed on first access, so a plugin pays only for
//! what it reads.
//!
//! Components built with the SDK allocate from a bump arena before the standard
//! allocator ([`arena`], default feature `arena`): every call runs on a fresh
//! instance, so most of its memory is never reused anyway.

#![warn(missing_docs)]

pub mod agent;
pub mod arena;
pub mod json;
pub mod judge;
pub mod model;
pub mod params;
pub mod results;
pub mod sidecar;
pub mod simulator;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod text;
pub mod v0_1;

pub use agent::{Action, CurrentTurn};
pub use json::Json;
pub use model::{
    truthy, value_text, AgentState, Channel, Conversation, Impact, MemoryEntry, Outcome, Role, RoutingContext, StateFact, StateSource, ToolCall, ToolRef,
    ToolResult, Turn, SCHEMA_VERSION,
};
pub use params::Params;
pub use results::{Converted, CriterionResult, PluginInfo, ScorecardResult, SuggestedCriterion, Verdict};
/// Re-exported so plugins need no direct `serde_json` dependency for params.
pub use serde_json::{self, json, Value};
pub use sidecar::SideCar;
pub use simulator::{Observed, Simulated, ToolRequest};

/// A scorecard: scores one conversation (used by `ratchet detect` to flag
/// failures and to propose regression criteria).
pub trait Scorecard {
    /// Name, version and description of the plugin.
    fn info() -> PluginInfo;

    /// Scores `conversation`; `params` is the JSON object configured for this
    /// scorecard in `ratchet.toml` (`{}` when none is configured: the host always
    /// sends an object). `Err` means the plugin
    /// could not score (bad params, unusable input), not a low score.
    fn score(conversation: &Conversation, params: &Value) -> Result<ScorecardResult, String>;
}

/// An assertion: decides pass/fail for one replayed transcript (a scenario
/// criterion of kind `plugin` in `ratchet gate`).
pub trait Assertion {
    /// Name, version and description of the plugin.
    fn info() -> PluginInfo;

    /// Checks `transcript`; `params` is the criterion's parameters from the
    /// scenario file. `Err` means the check could not run, not a failure.
    fn check(transcript: &Conversation, params: &Value) -> Result<Verdict, String>;
}

/// An adapter: turns a vendor's export into canonical conversations.
pub trait Adapter {
    /// Name, version and description of the plugin.
    fn info() -> PluginInfo;

    /// Converts `input` (one file, or one line of a JSONL stream); `options`
    /// is the adapter's JSON object from `ratchet.toml`. Fields the source
    /// lacks go in [`Converted::missing`], never invented.
    fn convert(input: &[u8], options: &Value) -> Result<Vec<Converted>, String>;
}

/// An agent under test, compiled to a component (world `agent`): `ratchet
/// gate` replays scenarios against it through the `wasm` driver.
///
/// The agent is stateless: for every step the host passes the agent state
/// snapshot the scenario restores, the channel, the whole transcript so far
/// (the latest turn last) and the agent's `config`, and asks for the next
/// [`Action`]. After a [`Action::CallTool`] the host appends the call (an
/// agent turn) and the fixture's result (a tool turn) and asks again; after a
/// [`Action::Reply`] it plays the next customer line; [`Action::Escalate`]
/// ends the session. [`CurrentTurn`] reads "what have I done about the
/// customer's latest message" from the transcript.
///
/// ```
/// use ratchet_sdk::{Action, Agent, AgentState, Channel, PluginInfo, Turn, Value};
///
/// pub struct Echo;
///
/// impl Agent for Echo {
///     fn info() -> PluginInfo {
///         PluginInfo::new("echo", "0.1.0", "Repeats the customer")
///     }
///     fn next(_state: &AgentState, _channel: Channel, transcript: &[Turn], _config: &Value) -> Result<Action, String> {
///         let last = transcript.iter().rev().find(|t| t.is_customer()).ok_or("no customer turn yet")?;
///         Ok(Action::reply(format!("You said: {}", last.text)))
///     }
/// }
///
/// ratchet_sdk::export_agent!(Echo);
/// ```
pub trait Agent {
    /// Name, version and description of the agent.
    fn info() -> PluginInfo;

    /// The agent's next action. `config` is the `config` table of the agent
    /// config file (`{}` when none; e.g. `{"prompt_version": "support-v2"}`).
    /// `Err` means the agent cannot go on (the scenario's verdict is `error`),
    /// not that it refuses the customer: that is a [`Action::Reply`].
    fn next(state: &AgentState, channel: Channel, transcript: &[Turn], config: &Value) -> Result<Action, String>;
}

/// A tool simulator (world `simulator`, since WIT 0.1.2): answers tool calls
/// from a world state. See [`simulator`] for what it is for.
///
/// ```
/// use ratchet_sdk::{json, Observed, PluginInfo, Simulated, Simulator, ToolRequest, Value};
///
/// pub struct Counter;
///
/// impl Simulator for Counter {
///     fn info() -> PluginInfo {
///         PluginInfo::new("counter", "0.1.0", "A counter the agent can read and bump")
///     }
///     fn seed(observed: &[Observed], _params: &Value) -> Result<Value, String> {
///         // The first read tells the starting value.
///         let first = observed.iter().find(|o| o.request.tool == "read" && !o.is_error);
///         Ok(json!({"count": first.map(|o| o.result["count"].clone()).unwrap_or(json!(0))}))
///     }
///     fn call(world: &Value, request: &ToolRequest, _params: &Value) -> Result<Option<Simulated>, String> {
///         let count = world["count"].as_i64().ok_or("world.count is not a number")?;
///         Ok(match request.tool.as_str() {
///             "read" => Some(Simulated::ok(json!({"count": count}), world.clone())),
///             "bump" => Some(Simulated::ok(json!({"ok": true}), json!({"count": count + 1}))),
///             _ => None, // not modelled: the gate applies its missing-fixture policy
///         })
///     }
/// }
///
/// ratchet_sdk::export_simulator!(Counter);
///
/// let world = Counter::seed(&[], &json!({})).unwrap();
/// let after = Counter::call(&world, &ToolRequest::new("bump", json!({})), &json!({})).unwrap().unwrap();
/// assert_eq!(after.world, json!({"count": 1}));
/// ```
pub trait Simulator {
    /// Name, version and description of the simulator.
    fn info() -> PluginInfo;

    /// The world before the conversation, reconstructed from every call it made
    /// and every result it got, in order. `params` is the simulator's JSON object
    /// from `ratchet.toml` (`{}` when none).
    fn seed(observed: &[Observed], params: &Value) -> Result<Value, String>;

    /// Answers `request` in `world` and returns the world after it, or `None`
    /// when this simulator does not model the tool. `Err` means the simulator
    /// cannot answer at all (a broken world): the scenario's verdict is `error`.
    fn call(world: &Value, request: &ToolRequest, params: &Value) -> Result<Option<Simulated>, String>;
}

/// Severity of a [`log`] line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Detail for the plugin author.
    Debug,
    /// Normal progress.
    Info,
    /// Something looks wrong but the plugin carries on.
    Warn,
    /// Something failed.
    Error,
}

impl LogLevel {
    /// Lowercase name, as used in log output.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Logs a line for the plugin author. Inside a component it goes to the host
/// (which keeps a bounded number of lines); on native targets (unit tests) it
/// is written to stderr.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    v0_1::host_log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[plugin {}] {}", level.as_str(), message);
}

/// The text the panic hook reports to the host: the panic payload, then
/// where it happened.
#[doc(hidden)]
pub fn panic_message(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let msg = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    };
    match info.location() {
        Some(l) => format!("{msg} (at {}:{}:{})", l.file(), l.line(), l.column()),
        None => msg,
    }
}

/// Exports a type implementing [`Scorecard`] as this component's `scorer`
/// interface (world `ratchet:plugin/scorecard@0.1.3`). Call once per plugin
/// crate, at the crate root. The component exports only `scorer` and imports
/// only `host`. On native targets it only checks the trait bound.
#[macro_export]
macro_rules! export_scorecard {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __RatchetScorecardGlue = $crate::v0_1::ScorecardGlue<$ty>;
            $crate::v0_1::scorecard::__export_scorecard!(
                __RatchetScorecardGlue with_types_in $crate::v0_1::scorecard
            );
        };
        const _: fn() = || {
            fn __ratchet_is_scorecard<T: $crate::Scorecard>() {}
            __ratchet_is_scorecard::<$ty>();
        };
    };
}

/// Exports a type implementing [`Assertion`] as this component's `asserter`
/// interface (world `ratchet:plugin/assertion@0.1.3`). Call once per plugin
/// crate, at the crate root.
#[macro_export]
macro_rules! export_assertion {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __RatchetAssertionGlue = $crate::v0_1::AssertionGlue<$ty>;
            $crate::v0_1::assertion::__export_assertion!(
                __RatchetAssertionGlue with_types_in $crate::v0_1::assertion
            );
        };
        const _: fn() = || {
            fn __ratchet_is_assertion<T: $crate::Assertion>() {}
            __ratchet_is_assertion::<$ty>();
        };
    };
}

/// Exports a type implementing [`Agent`] as this component's `responder`
/// interface (world `ratchet:plugin/agent@0.1.3`). Call once per agent crate,
/// at the crate root. The component exports only `responder` and imports only
/// `host`.
#[macro_export]
macro_rules! export_agent {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __RatchetAgentGlue = $crate::v0_1::AgentGlue<$ty>;
            $crate::v0_1::agent::__export_agent!(
                __RatchetAgentGlue with_types_in $crate::v0_1::agent
            );
        };
        const _: fn() = || {
            fn __ratchet_is_agent<T: $crate::Agent>() {}
            __ratchet_is_agent::<$ty>();
        };
    };
}

/// Exports a type implementing [`Adapter`] as this component's `converter`
/// interface (world `ratchet:plugin/adapter@0.1.3`). Call once per plugin
/// crate, at the crate root.
#[macro_export]
macro_rules! export_adapter {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __RatchetAdapterGlue = $crate::v0_1::AdapterGlue<$ty>;
            $crate::v0_1::adapter::__export_adapter!(
                __RatchetAdapterGlue with_types_in $crate::v0_1::adapter
            );
        };
        const _: fn() = || {
            fn __ratchet_is_adapter<T: $crate::Adapter>() {}
            __ratchet_is_adapter::<$ty>();
        };
    };
}

/// Exports a type implementing [`Simulator`] as this component's `simulation`
/// interface (world `ratchet:plugin/simulator@0.1.3`). Call once per simulator
/// crate, at the crate root. The component exports only `simulation` and imports
/// only `host`.
#[macro_export]
macro_rules! export_simulator {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            type __RatchetSimulatorGlue = $crate::v0_1::SimulatorGlue<$ty>;
            $crate::v0_1::simulator::__export_simulator!(
                __RatchetSimulatorGlue with_types_in $crate::v0_1::simulator
            );
        };
        const _: fn() = || {
            fn __ratchet_is_simulator<T: $crate::Simulator>() {}
            __ratchet_is_simulator::<$ty>();
        };
    };
}
