//! The host module of the `ratchet:plugin@0.1.x` series: its bindings, and the
//! conversions between its types and ratchet's own. Nothing outside this module
//! sees a 0.1 WIT type: [`Bound`] takes and returns ratchet's own types
//! ([`crate::schema`], [`super::AgentAction`]), so the rest of ratchet does not
//! know which series a plugin speaks.
//!
//! The bindings come from the newest 0.1 WIT (`wit/since_v0.1.3`: 0.1.1 added the
//! `model` import, 0.1.2 the `simulator` world, 0.1.3 the `labels` import); components
//! built against 0.1.0, 0.1.1 or 0.1.2 link to the same definitions through wasmtime's semver-compatible name
//! matching (`ratchet:plugin/host@0.1.0` finds `host@0.1.2`), so they keep working
//! unchanged. One module per series
//! (Zed-style): when `@0.2.0` ships, a `v0_2` module sits beside this one, and
//! [`super::Series`] picks between them by the version a component was built against.

use serde_json::Value;
use wasmtime::component::{Component, ComponentExportIndex, ComponentNamedList, Instance, InstancePre, Lift, Lower};
use wasmtime::Store;

use super::inspect::WorldKind;
use super::sandbox::{LogLevel, StoreState};
use super::{AgentAction, Answer};
use crate::schema;

mod borrowed;

// Generated code: documented by the WIT it comes from.
#[allow(missing_docs)]
mod bindings {
    pub mod scorecard {
        wasmtime::component::bindgen!({
            path: "wit/since_v0.1.3",
            world: "scorecard",
        });
    }
    pub mod assertion {
        wasmtime::component::bindgen!({
            path: "wit/since_v0.1.3",
            world: "assertion",
            with: {
                "ratchet:plugin/types": super::scorecard::ratchet::plugin::types,
                "ratchet:plugin/host": super::scorecard::ratchet::plugin::host,
                "ratchet:plugin/model": super::scorecard::ratchet::plugin::model,
                "ratchet:plugin/labels": super::scorecard::ratchet::plugin::labels,
            },
        });
    }
    pub mod agent {
        wasmtime::component::bindgen!({
            path: "wit/since_v0.1.3",
            world: "agent",
            with: {
                "ratchet:plugin/types": super::scorecard::ratchet::plugin::types,
                "ratchet:plugin/host": super::scorecard::ratchet::plugin::host,
            },
        });
    }
    pub mod adapter {
        wasmtime::component::bindgen!({
            path: "wit/since_v0.1.3",
            world: "adapter",
            with: {
                "ratchet:plugin/types": super::scorecard::ratchet::plugin::types,
                "ratchet:plugin/host": super::scorecard::ratchet::plugin::host,
                "ratchet:plugin/labels": super::scorecard::ratchet::plugin::labels,
            },
        });
    }
    pub mod simulator {
        wasmtime::component::bindgen!({
            path: "wit/since_v0.1.3",
            world: "simulator",
            with: {
                "ratchet:plugin/types": super::scorecard::ratchet::plugin::types,
                "ratchet:plugin/host": super::scorecard::ratchet::plugin::host,
            },
        });
    }
}

pub use bindings::adapter::{Adapter, AdapterPre};
pub use bindings::agent::{Agent, AgentPre};
pub use bindings::assertion::{Assertion, AssertionPre};
pub use bindings::scorecard::{Scorecard, ScorecardPre};
pub use bindings::simulator::{Simulator, SimulatorPre};

use bindings::adapter::exports::ratchet::plugin::converter as wit_converter;
use bindings::agent::exports::ratchet::plugin::responder as wit_responder;
use bindings::assertion::exports::ratchet::plugin::asserter as wit_asserter;
use bindings::scorecard::exports::ratchet::plugin::scorer as wit_scorer;
use bindings::scorecard::ratchet::plugin::host as wit_host;
use bindings::scorecard::ratchet::plugin::labels as wit_labels;
use bindings::scorecard::ratchet::plugin::model as wit_model;
use bindings::scorecard::ratchet::plugin::types as wit;
use bindings::simulator::exports::ratchet::plugin::simulation as wit_simulation;

/// A component bound through this series' bindings: the pre-linked instance of
/// its world, and where its function that takes conversation data lives.
pub(super) enum Bound {
    Scorecard(ScorecardPre<StoreState>, GuestFunc),
    Assertion(AssertionPre<StoreState>, GuestFunc),
    Adapter(AdapterPre<StoreState>),
    Agent(AgentPre<StoreState>, GuestFunc),
    Simulator(SimulatorPre<StoreState>),
}

fn wrong_world(wanted: WorldKind) -> wasmtime::Error {
    wasmtime::format_err!("not a {} component", wanted.name())
}

impl Bound {
    /// Check that `pre` really implements `kind`'s world at 0.1.x and find its functions.
    pub(super) fn new(pre: InstancePre<StoreState>, component: &Component, kind: WorldKind) -> wasmtime::Result<Bound> {
        Ok(match kind {
            WorldKind::Scorecard => Bound::Scorecard(ScorecardPre::new(pre)?, GuestFunc::score(component)?),
            WorldKind::Assertion => Bound::Assertion(AssertionPre::new(pre)?, GuestFunc::check(component)?),
            WorldKind::Adapter => Bound::Adapter(AdapterPre::new(pre)?),
            WorldKind::Agent => Bound::Agent(AgentPre::new(pre)?, GuestFunc::next(component)?),
            WorldKind::Simulator => Bound::Simulator(SimulatorPre::new(pre)?),
        })
    }

    /// The pre-linked instance (for its engine).
    pub(super) fn instance_pre(&self) -> &InstancePre<StoreState> {
        match self {
            Bound::Scorecard(p, _) => p.instance_pre(),
            Bound::Assertion(p, _) => p.instance_pre(),
            Bound::Adapter(p) => p.instance_pre(),
            Bound::Agent(p, _) => p.instance_pre(),
            Bound::Simulator(p) => p.instance_pre(),
        }
    }

    /// `info()` on a fresh instance.
    pub(super) fn info(&self, s: &mut Store<StoreState>) -> wasmtime::Result<schema::PluginInfo> {
        let info = match self {
            Bound::Scorecard(p, _) => p.instantiate(&mut *s)?.ratchet_plugin_scorer().call_info(s)?,
            Bound::Assertion(p, _) => p.instantiate(&mut *s)?.ratchet_plugin_asserter().call_info(s)?,
            Bound::Adapter(p) => p.instantiate(&mut *s)?.ratchet_plugin_converter().call_info(s)?,
            Bound::Agent(p, _) => p.instantiate(&mut *s)?.ratchet_plugin_responder().call_info(s)?,
            Bound::Simulator(p) => p.instantiate(&mut *s)?.ratchet_plugin_simulation().call_info(s)?,
        };
        Ok(info_from_wit(info))
    }

    /// `score(conversation, params)` on a fresh instance.
    pub(super) fn score(
        &self,
        s: &mut Store<StoreState>,
        conversation: &schema::Conversation,
        params: &str,
    ) -> wasmtime::Result<Answer<schema::ScorecardResult>> {
        let Bound::Scorecard(pre, _) = self else { return Err(wrong_world(WorldKind::Scorecard)) };
        let instance = pre.instance_pre().instantiate(&mut *s)?;
        self.score_on(s, &instance, conversation, params)
    }

    /// `score(conversation, params)` on `instance` (a fresh one, or a restored live one).
    pub(super) fn score_on(
        &self,
        s: &mut Store<StoreState>,
        instance: &Instance,
        conversation: &schema::Conversation,
        params: &str,
    ) -> wasmtime::Result<Answer<schema::ScorecardResult>> {
        let Bound::Scorecard(_, score) = self else { return Err(wrong_world(WorldKind::Scorecard)) };
        s.data_mut().labels = labels_of(conversation);
        let result = score.call_score(s, instance, conversation, params)?;
        Ok(Answer::from(result.map(|r| scorecard_from_wit(r, conversation.turns.len()))))
    }

    /// `check(transcript, params)` on a fresh instance.
    pub(super) fn check(&self, s: &mut Store<StoreState>, transcript: &schema::Conversation, params: &str) -> wasmtime::Result<Answer<schema::Verdict>> {
        let Bound::Assertion(pre, _) = self else { return Err(wrong_world(WorldKind::Assertion)) };
        let instance = pre.instance_pre().instantiate(&mut *s)?;
        self.check_on(s, &instance, transcript, params)
    }

    /// `check(transcript, params)` on `instance` (a fresh one, or a restored live one).
    pub(super) fn check_on(
        &self,
        s: &mut Store<StoreState>,
        instance: &Instance,
        transcript: &schema::Conversation,
        params: &str,
    ) -> wasmtime::Result<Answer<schema::Verdict>> {
        let Bound::Assertion(_, check) = self else { return Err(wrong_world(WorldKind::Assertion)) };
        s.data_mut().labels = labels_of(transcript);
        let result = check.call_check(s, instance, transcript, params)?;
        Ok(Answer::from(result.map(|v| verdict_from_wit(v, transcript.turns.len()))))
    }

    /// `convert(input, options)` on a fresh instance (`&String`: the generated binding's type).
    #[allow(clippy::ptr_arg)]
    pub(super) fn convert(&self, s: &mut Store<StoreState>, input: &[u8], options: &String) -> wasmtime::Result<Answer<Vec<schema::Converted>>> {
        let Bound::Adapter(pre) = self else { return Err(wrong_world(WorldKind::Adapter)) };
        s.data_mut().attached = Some(Default::default());
        let result = pre.instantiate(&mut *s)?.ratchet_plugin_converter().call_convert(&mut *s, input, options)?;
        let mut attached = s.data_mut().attached.take().unwrap_or_default();
        let result = result.map(|list| {
            converted_from_wit(list).map(|mut out| {
                for c in &mut out {
                    if let Some(labels) = attached.remove(&c.conversation.id) {
                        c.conversation.labels.extend(labels);
                    }
                }
                out
            })
        });
        for id in attached.keys() {
            s.data_mut().logs.push(LogLevel::Warn, format!("labels attached to `{id}`, a conversation this convert did not return: dropped"));
        }
        Ok(Answer::from(result))
    }

    /// `next(state, channel, transcript, config)` on a fresh instance.
    pub(super) fn next(
        &self,
        s: &mut Store<StoreState>,
        state: &schema::AgentState,
        channel: schema::Channel,
        transcript: &[schema::Turn],
        config: &str,
    ) -> wasmtime::Result<Answer<AgentAction>> {
        let Bound::Agent(pre, next) = self else { return Err(wrong_world(WorldKind::Agent)) };
        let instance = pre.instance_pre().instantiate(&mut *s)?;
        let result = next.call_next(s, &instance, state, channel, transcript, config)?;
        Ok(Answer::from(result.map(action_from_wit)))
    }

    /// `seed(observed, params)` on a fresh instance (`&String`: the generated binding's type).
    #[allow(clippy::ptr_arg)]
    pub(super) fn seed(&self, s: &mut Store<StoreState>, observed: &[super::Observed], params: &String) -> wasmtime::Result<Answer<Value>> {
        let Bound::Simulator(pre) = self else { return Err(wrong_world(WorldKind::Simulator)) };
        let simulator = pre.instantiate(&mut *s)?;
        seed_with(&simulator, s, observed, params)
    }

    /// `seed` on `instance`, a live one restored after every call (its exports found by name).
    #[allow(clippy::ptr_arg)]
    pub(super) fn seed_on(
        &self,
        s: &mut Store<StoreState>,
        instance: &Instance,
        observed: &[super::Observed],
        params: &String,
    ) -> wasmtime::Result<Answer<Value>> {
        let simulator = Simulator::new(&mut *s, instance)?;
        seed_with(&simulator, s, observed, params)
    }

    /// `call(world, request, params)` on a fresh instance (`&String`: the generated binding's type).
    #[allow(clippy::ptr_arg)]
    pub(super) fn simulate(
        &self,
        s: &mut Store<StoreState>,
        world: &String,
        request: &super::ToolRequest,
        params: &String,
    ) -> wasmtime::Result<Answer<Option<super::Simulated>>> {
        let Bound::Simulator(pre) = self else { return Err(wrong_world(WorldKind::Simulator)) };
        let simulator = pre.instantiate(&mut *s)?;
        simulate_with(&simulator, s, world, request, params)
    }

    /// `simulate` on `instance`, a live one restored after every call (its exports found by name).
    #[allow(clippy::ptr_arg)]
    pub(super) fn simulate_on(
        &self,
        s: &mut Store<StoreState>,
        instance: &Instance,
        world: &String,
        request: &super::ToolRequest,
        params: &String,
    ) -> wasmtime::Result<Answer<Option<super::Simulated>>> {
        let simulator = Simulator::new(&mut *s, instance)?;
        simulate_with(&simulator, s, world, request, params)
    }
}

#[allow(clippy::ptr_arg)]
fn seed_with(simulator: &Simulator, s: &mut Store<StoreState>, observed: &[super::Observed], params: &String) -> wasmtime::Result<Answer<Value>> {
    let observed: Vec<wit_simulation::Observed> = observed
        .iter()
        .map(|o| wit_simulation::Observed { request: request_to_wit(&o.request), result: schema::canonical_json(&o.result), is_error: o.is_error })
        .collect();
    let result = simulator.ratchet_plugin_simulation().call_seed(&mut *s, &observed, params)?;
    Ok(Answer::from(result.map(|world| parse_json("seed's world", &world))))
}

#[allow(clippy::ptr_arg)]
fn simulate_with(
    simulator: &Simulator,
    s: &mut Store<StoreState>,
    world: &String,
    request: &super::ToolRequest,
    params: &String,
) -> wasmtime::Result<Answer<Option<super::Simulated>>> {
    let result = simulator.ratchet_plugin_simulation().call_call(&mut *s, world, &request_to_wit(request), params)?;
    Ok(Answer::from(result.map(|answer| answer.map(simulated_from_wit).transpose())))
}

fn request_to_wit(r: &super::ToolRequest) -> wit_simulation::ToolRequest {
    wit_simulation::ToolRequest { tool: r.tool.clone(), version: r.version.clone(), arguments: schema::canonical_json(&r.arguments) }
}

/// Convert and validate a simulator's answer: result and world must be JSON, the
/// world an object.
fn simulated_from_wit(a: wit_simulation::Answer) -> Result<super::Simulated, String> {
    let world = parse_json("answer.world", &a.world)?;
    if !world.is_object() {
        return Err("answer.world must be a JSON object (the whole world after the call)".into());
    }
    Ok(super::Simulated { result: parse_json("answer.result", &a.result)?, is_error: a.is_error, world })
}

/// Add the host interfaces (`host`: `log`, `abort-reason`; `model`: `complete`;
/// `labels`: `get`, `attach`) to a linker.
pub fn add_host_to_linker(linker: &mut wasmtime::component::Linker<StoreState>) -> wasmtime::Result<()> {
    wit_host::add_to_linker::<StoreState, wasmtime::component::HasSelf<StoreState>>(linker, |s| s)?;
    wit_model::add_to_linker::<StoreState, wasmtime::component::HasSelf<StoreState>>(linker, |s| s)?;
    wit_labels::add_to_linker::<StoreState, wasmtime::component::HasSelf<StoreState>>(linker, |s| s)
}

/// The versioned export names the guest functions are looked up by (a 0.1.0
/// component's `scorer@0.1.0` matches through semver compatibility).
const SCORER_INTERFACE: &str = "ratchet:plugin/scorer@0.1.3";
const ASSERTER_INTERFACE: &str = "ratchet:plugin/asserter@0.1.3";
const RESPONDER_INTERFACE: &str = "ratchet:plugin/responder@0.1.3";

/// Where a guest function that takes conversation data (a scorer's `score`, an
/// asserter's `check`, an agent's `next`) lives in a component: found once at load.
/// Its calls lower their arguments straight from ratchet's own types
/// ([`borrowed`]), never through owned copies of every string.
#[derive(Debug, Clone, Copy)]
pub struct GuestFunc(ComponentExportIndex);

impl GuestFunc {
    /// `score` of a scorecard component.
    pub fn score(component: &Component) -> wasmtime::Result<GuestFunc> {
        Self::find(component, SCORER_INTERFACE, "score")
    }

    /// `check` of an assertion component.
    pub fn check(component: &Component) -> wasmtime::Result<GuestFunc> {
        Self::find(component, ASSERTER_INTERFACE, "check")
    }

    /// `next` of an agent component.
    pub fn next(component: &Component) -> wasmtime::Result<GuestFunc> {
        Self::find(component, RESPONDER_INTERFACE, "next")
    }

    fn find(component: &Component, interface: &str, name: &str) -> wasmtime::Result<GuestFunc> {
        let iface = component.get_export_index(None, interface).ok_or_else(|| wasmtime::format_err!("no exported instance named `{interface}`"))?;
        let func = component.get_export_index(Some(&iface), name).ok_or_else(|| wasmtime::format_err!("`{interface}` has no function `{name}`"))?;
        Ok(GuestFunc(func))
    }

    /// Call it on `instance` with `params`; the types are checked against the
    /// component's, as the generated bindings do.
    fn call<P, R>(self, store: &mut Store<StoreState>, instance: &Instance, params: P) -> wasmtime::Result<R>
    where
        P: ComponentNamedList + Lower,
        (R,): ComponentNamedList + Lift,
    {
        let (result,) = instance.get_typed_func::<P, (R,)>(&mut *store, &self.0)?.call(&mut *store, params)?;
        Ok(result)
    }

    /// `score(conversation, params)`.
    pub fn call_score(
        self,
        store: &mut Store<StoreState>,
        instance: &Instance,
        conversation: &schema::Conversation,
        params: &str,
    ) -> wasmtime::Result<Result<wit_scorer::ScorecardResult, String>> {
        self.call(store, instance, (&borrowed::Conversation::new(conversation), params))
    }

    /// `check(transcript, params)`.
    pub fn call_check(
        self,
        store: &mut Store<StoreState>,
        instance: &Instance,
        transcript: &schema::Conversation,
        params: &str,
    ) -> wasmtime::Result<Result<wit_asserter::Verdict, String>> {
        self.call(store, instance, (&borrowed::Conversation::new(transcript), params))
    }

    /// `next(state, channel, transcript, config)`.
    pub fn call_next(
        self,
        store: &mut Store<StoreState>,
        instance: &Instance,
        state: &schema::AgentState,
        channel: schema::Channel,
        transcript: &[schema::Turn],
        config: &str,
    ) -> wasmtime::Result<Result<wit_responder::Action, String>> {
        let turns = borrowed::turns(transcript);
        self.call(store, instance, (&borrowed::AgentState::new(state), channel_to_wit(channel), turns.as_slice(), config))
    }
}

impl wit_model::Host for StoreState {
    fn complete(&mut self, request: wit_model::ChatRequest) -> Result<wit_model::ChatResponse, wit_model::ModelError> {
        use crate::model::{ChatRequest, Message, MessageRole, ModelError};
        let request = ChatRequest {
            model: request.model,
            messages: request
                .messages
                .into_iter()
                .map(|m| Message {
                    role: match m.role {
                        wit_model::MessageRole::System => MessageRole::System,
                        wit_model::MessageRole::User => MessageRole::User,
                        wit_model::MessageRole::Assistant => MessageRole::Assistant,
                    },
                    content: m.content,
                })
                .collect(),
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            json_schema: request.json_schema,
        };
        match self.model_complete(&request) {
            Ok(a) => Ok(wit_model::ChatResponse { content: a.content, model: a.model, key: a.key }),
            Err(ModelError::Denied(m)) => Err(wit_model::ModelError::Denied(m)),
            Err(ModelError::NotRecorded(m)) => Err(wit_model::ModelError::NotRecorded(m)),
            Err(ModelError::Unavailable(m)) => Err(wit_model::ModelError::Unavailable(m)),
            Err(ModelError::Invalid(m)) => Err(wit_model::ModelError::Invalid(m)),
        }
    }
}

impl wit_host::Host for StoreState {
    fn log(&mut self, level: wit_host::LogLevel, message: String) {
        let level = match level {
            wit_host::LogLevel::Debug => LogLevel::Debug,
            wit_host::LogLevel::Info => LogLevel::Info,
            wit_host::LogLevel::Warn => LogLevel::Warn,
            wit_host::LogLevel::Error => LogLevel::Error,
        };
        self.logs.push(level, message);
    }

    fn abort_reason(&mut self, mut message: String) {
        super::sandbox::truncate_utf8(&mut message, 4096);
        self.abort_reason = Some(message);
    }
}

impl wit_labels::Host for StoreState {
    fn get(&mut self) -> Vec<wit::KeyValue> {
        self.labels.iter().map(|(key, value)| wit::KeyValue { key: key.clone(), value: value.clone() }).collect()
    }

    fn attach(&mut self, conversation_id: String, labels: Vec<wit::KeyValue>) {
        match &mut self.attached {
            Some(map) => map.entry(conversation_id).or_default().extend(labels.into_iter().map(|kv| (kv.key, kv.value))),
            None => self.logs.push(LogLevel::Warn, format!("labels attached to `{conversation_id}` outside `convert`: dropped")),
        }
    }
}

/// What `labels.get` answers during a call about `c`.
fn labels_of(c: &schema::Conversation) -> Vec<(String, String)> {
    c.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl wit::Host for StoreState {}

// ---- host -> guest ----------------------------------------------------------

/// Convert a channel.
fn channel_to_wit(c: schema::Channel) -> wit::Channel {
    match c {
        schema::Channel::Chat => wit::Channel::Chat,
        schema::Channel::Voice => wit::Channel::Voice,
    }
}

/// Convert a role.
fn role_to_wit(r: schema::Role) -> wit::Role {
    match r {
        schema::Role::Customer => wit::Role::Customer,
        schema::Role::Agent => wit::Role::Agent,
        schema::Role::Tool => wit::Role::Tool,
        schema::Role::System => wit::Role::System,
    }
}

// ---- guest -> host ----------------------------------------------------------
// Guest output is untrusted: every conversion validates and says what is wrong.

/// Convert and validate an agent component's action.
fn action_from_wit(a: wit_responder::Action) -> Result<AgentAction, String> {
    Ok(match a {
        wit_responder::Action::Reply(t) => AgentAction::Reply(t),
        wit_responder::Action::Escalate(r) => AgentAction::Escalate(r),
        wit_responder::Action::CallTool(c) => {
            let arguments = parse_json("call-tool.arguments", &c.arguments)?;
            AgentAction::CallTool(schema::ToolCall { id: c.id, name: c.name, arguments })
        }
    })
}

fn parse_json(what: &str, text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("{what} is not valid JSON: {e}"))
}

// `what` is a closure: the field's name is only formatted when it is wrong.
fn check_unit<W: std::fmt::Display>(what: impl FnOnce() -> W, v: f64) -> Result<f64, String> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{} is {v}, outside [0, 1]", what()))
    }
}

fn check_turn<W: std::fmt::Display>(what: impl FnOnce() -> W, turn: Option<u32>, turns: usize) -> Result<Option<u32>, String> {
    match turn {
        Some(t) if t as usize >= turns => Err(format!("{} points at turn {t}, but the conversation has {turns} turns", what())),
        other => Ok(other),
    }
}

/// Convert and validate a scorer's result.
fn scorecard_from_wit(r: wit_scorer::ScorecardResult, turns: usize) -> Result<schema::ScorecardResult, String> {
    let score = check_unit(|| "score", r.score)?;
    let mut criteria = Vec::with_capacity(r.criteria.len());
    for (i, c) in r.criteria.into_iter().enumerate() {
        criteria.push(schema::CriterionResult {
            score: check_unit(|| format!("criteria[{i}] (`{}`).score", c.name), c.score)?,
            turn: check_turn(|| format!("criteria[{i}] (`{}`)", c.name), c.turn, turns)?,
            name: c.name,
            passed: c.passed,
            reason: c.reason,
        });
    }
    let mut suggested = Vec::with_capacity(r.suggested_criteria.len());
    for (i, s) in r.suggested_criteria.into_iter().enumerate() {
        let params = parse_json(&format!("suggested_criteria[{i}].params"), &s.params)?;
        if !params.is_object() {
            return Err(format!("suggested_criteria[{i}].params must be a JSON object"));
        }
        suggested.push(schema::SuggestedCriterion { kind: s.kind, params, reason: s.reason });
    }
    Ok(schema::ScorecardResult { score, criteria, flags: r.flags, failure_mode: r.failure_mode, suggested_criteria: suggested })
}

/// Convert and validate an asserter's verdict.
fn verdict_from_wit(v: wit_asserter::Verdict, turns: usize) -> Result<schema::Verdict, String> {
    Ok(schema::Verdict { turn: check_turn(|| "verdict", v.turn, turns)?, passed: v.passed, reason: v.reason })
}

/// Convert and validate a converter's output.
fn converted_from_wit(items: Vec<wit_converter::Converted>) -> Result<Vec<schema::Converted>, String> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(schema::Converted { conversation: conversation_from_wit(c.conversation).map_err(|e| format!("conversations[{i}]: {e}"))?, missing: c.missing })
        })
        .collect()
}

/// Convert and validate a WIT conversation coming from a guest.
fn conversation_from_wit(c: wit::Conversation) -> Result<schema::Conversation, String> {
    if c.id.is_empty() {
        return Err("id is empty".into());
    }
    let mut turns = Vec::with_capacity(c.turns.len());
    for (i, t) in c.turns.into_iter().enumerate() {
        let mut tool_calls = Vec::with_capacity(t.tool_calls.len());
        for (j, call) in t.tool_calls.into_iter().enumerate() {
            tool_calls.push(schema::ToolCall {
                arguments: parse_json(&format!("turns[{i}].tool_calls[{j}].arguments"), &call.arguments)?,
                id: call.id,
                name: call.name,
            });
        }
        let tool_result = match t.tool_result {
            Some(r) => Some(schema::ToolResult {
                content: parse_json(&format!("turns[{i}].tool_result.content"), &r.content)?,
                call_id: r.call_id,
                name: r.name,
                is_error: r.is_error,
            }),
            None => None,
        };
        turns.push(schema::Turn {
            role: match t.role {
                wit::Role::Customer => schema::Role::Customer,
                wit::Role::Agent => schema::Role::Agent,
                wit::Role::Tool => schema::Role::Tool,
                wit::Role::System => schema::Role::System,
            },
            text: t.text,
            tool_calls,
            tool_result,
            offset_ms: t.offset_ms,
            latency_ms: t.latency_ms,
        });
    }
    let mut memory_snapshot = Vec::with_capacity(c.state.memory_snapshot.len());
    for (i, m) in c.state.memory_snapshot.into_iter().enumerate() {
        memory_snapshot.push(schema::MemoryEntry { value: parse_json(&format!("state.memory_snapshot[{i}].value"), &m.value)?, key: m.key });
    }
    for (what, v) in [
        ("revenue_at_risk", c.impact.revenue_at_risk),
        ("refund_amount", c.impact.refund_amount),
        ("compliance_exposure", c.impact.compliance_exposure),
        ("escalation_cost", c.impact.escalation_cost),
    ] {
        if !v.is_finite() {
            return Err(format!("impact.{what} is {v}"));
        }
    }
    Ok(schema::Conversation {
        schema_version: Default::default(),
        id: c.id,
        channel: match c.channel {
            wit::Channel::Chat => schema::Channel::Chat,
            wit::Channel::Voice => schema::Channel::Voice,
        },
        started_at: c.started_at,
        turns,
        outcome: schema::Outcome {
            escalated: c.outcome.escalated,
            complaint: c.outcome.complaint,
            compliance_flags: c.outcome.compliance_flags,
            ended_reason: c.outcome.ended_reason,
        },
        impact: schema::Impact {
            revenue_at_risk: c.impact.revenue_at_risk,
            refund_amount: c.impact.refund_amount,
            compliance_exposure: c.impact.compliance_exposure,
            escalation_cost: c.impact.escalation_cost,
            currency: c.impact.currency,
        },
        state: schema::AgentState {
            memory_snapshot,
            kb_version_hash: c.state.kb_version_hash,
            tool_registry: c.state.tool_registry.into_iter().map(|t| schema::ToolRef { id: t.id, version: t.version }).collect(),
            prompt_version: c.state.prompt_version,
            model: c.state.model,
            routing: schema::RoutingContext {
                time_of_day: c.state.routing.time_of_day,
                locale: c.state.routing.locale,
                queue: c.state.routing.queue,
                extra: c.state.routing.extra.into_iter().map(|kv| (kv.key, kv.value)).collect(),
            },
        },
        // WIT 0.1 has no world: a captured world comes with canonical JSON only.
        world: None,
        // Labels come through `labels.attach` (0.1.3), merged in by `convert`.
        labels: Default::default(),
    })
}

/// Convert a plugin's self-description.
fn info_from_wit(i: wit::PluginInfo) -> schema::PluginInfo {
    schema::PluginInfo { name: i.name, version: i.version, description: i.description }
}
