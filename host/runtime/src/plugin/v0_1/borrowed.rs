//! Borrowed mirrors of the records the host sends into a guest (`conversation`,
//! `agent-state`, `turn` and everything under them), so a call lowers its arguments
//! straight from ratchet's own [`schema`] types instead of first cloning every string
//! into the bindgen's owned WIT values and dropping them again (~4 µs of a ~45 µs
//! call on a 20-turn conversation, on every conversation `detect` scores). They are
//! the only host -> guest conversion of these records.
//!
//! The shapes are type-checked against the component's function type when the
//! function is looked up (`get_typed_func`), exactly like the generated bindings, so a
//! field out of step with the WIT is an error at the first call, never a bad lowering.
//! `host/tests/it/sandbox.rs` has a guest echo back every field it received.

use wasmtime::component::{ComponentType, Lower};

use super::wit;
use crate::schema::{self, canonical_json};

/// `conversation`, borrowing from a [`schema::Conversation`].
#[derive(ComponentType, Lower)]
#[component(record)]
pub struct Conversation<'a> {
    id: &'a str,
    channel: wit::Channel,
    #[component(name = "started-at")]
    started_at: Option<&'a str>,
    turns: Vec<Turn<'a>>,
    outcome: Outcome<'a>,
    impact: Impact<'a>,
    state: AgentState<'a>,
}

#[derive(ComponentType, Lower)]
#[component(record)]
pub struct ToolCall<'a> {
    id: &'a str,
    name: &'a str,
    /// JSON text: written per call (the schema holds parsed values).
    arguments: String,
}

#[derive(ComponentType, Lower)]
#[component(record)]
pub struct ToolResult<'a> {
    #[component(name = "call-id")]
    call_id: &'a str,
    name: &'a str,
    content: String,
    #[component(name = "is-error")]
    is_error: bool,
}

#[derive(ComponentType, Lower)]
#[component(record)]
pub struct Turn<'a> {
    index: u32,
    role: wit::Role,
    text: &'a str,
    #[component(name = "tool-calls")]
    tool_calls: Vec<ToolCall<'a>>,
    #[component(name = "tool-result")]
    tool_result: Option<ToolResult<'a>>,
    #[component(name = "offset-ms")]
    offset_ms: Option<u64>,
    #[component(name = "latency-ms")]
    latency_ms: Option<u64>,
}

#[derive(ComponentType, Lower)]
#[component(record)]
pub struct MemoryEntry<'a> {
    key: &'a str,
    value: String,
}

#[derive(ComponentType, Lower)]
#[component(record)]
pub struct ToolRef<'a> {
    id: &'a str,
    version: &'a str,
}

#[derive(ComponentType, Lower)]
#[component(record)]
pub struct KeyValue<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(ComponentType, Lower)]
#[component(record)]
pub struct RoutingContext<'a> {
    #[component(name = "time-of-day")]
    time_of_day: Option<&'a str>,
    locale: Option<&'a str>,
    queue: Option<&'a str>,
    extra: Vec<KeyValue<'a>>,
}

#[derive(ComponentType, Lower)]
#[component(record)]
pub struct AgentState<'a> {
    #[component(name = "memory-snapshot")]
    memory_snapshot: Vec<MemoryEntry<'a>>,
    #[component(name = "kb-version-hash")]
    kb_version_hash: Option<&'a str>,
    #[component(name = "tool-registry")]
    tool_registry: Vec<ToolRef<'a>>,
    #[component(name = "prompt-version")]
    prompt_version: Option<&'a str>,
    model: Option<&'a str>,
    routing: RoutingContext<'a>,
}

#[derive(ComponentType, Lower)]
#[component(record)]
pub struct Outcome<'a> {
    escalated: bool,
    complaint: bool,
    #[component(name = "compliance-flags")]
    compliance_flags: &'a [String],
    #[component(name = "ended-reason")]
    ended_reason: Option<&'a str>,
}

#[derive(ComponentType, Lower)]
#[component(record)]
pub struct Impact<'a> {
    #[component(name = "revenue-at-risk")]
    revenue_at_risk: f64,
    #[component(name = "refund-amount")]
    refund_amount: f64,
    #[component(name = "compliance-exposure")]
    compliance_exposure: f64,
    #[component(name = "escalation-cost")]
    escalation_cost: f64,
    currency: Option<&'a str>,
}

impl<'a> Conversation<'a> {
    /// Borrow `c` for lowering (turn indices from their position, JSON values as
    /// canonical JSON text).
    pub fn new(c: &'a schema::Conversation) -> Self {
        Conversation {
            id: &c.id,
            channel: super::channel_to_wit(c.channel),
            started_at: c.started_at.as_deref(),
            turns: turns(&c.turns),
            outcome: Outcome {
                escalated: c.outcome.escalated,
                complaint: c.outcome.complaint,
                compliance_flags: &c.outcome.compliance_flags,
                ended_reason: c.outcome.ended_reason.as_deref(),
            },
            impact: Impact {
                revenue_at_risk: c.impact.revenue_at_risk,
                refund_amount: c.impact.refund_amount,
                compliance_exposure: c.impact.compliance_exposure,
                escalation_cost: c.impact.escalation_cost,
                currency: c.impact.currency.as_deref(),
            },
            state: AgentState::new(&c.state),
        }
    }
}

/// Borrow `turns` for lowering (indices from their position).
pub fn turns(turns: &[schema::Turn]) -> Vec<Turn<'_>> {
    turns.iter().enumerate().map(|(i, t)| Turn::new(i, t)).collect()
}

impl<'a> Turn<'a> {
    fn new(index: usize, t: &'a schema::Turn) -> Self {
        Turn {
            index: index as u32,
            role: super::role_to_wit(t.role),
            text: &t.text,
            tool_calls: t.tool_calls.iter().map(|c| ToolCall { id: &c.id, name: &c.name, arguments: canonical_json(&c.arguments) }).collect(),
            tool_result: t.tool_result.as_ref().map(|r| ToolResult {
                call_id: &r.call_id,
                name: &r.name,
                content: canonical_json(&r.content),
                is_error: r.is_error,
            }),
            offset_ms: t.offset_ms,
            latency_ms: t.latency_ms,
        }
    }
}

impl<'a> AgentState<'a> {
    /// Borrow `s` for lowering (memory values as canonical JSON text).
    pub fn new(s: &'a schema::AgentState) -> Self {
        AgentState {
            memory_snapshot: s.memory_snapshot.iter().map(|m| MemoryEntry { key: &m.key, value: canonical_json(&m.value) }).collect(),
            kb_version_hash: s.kb_version_hash.as_deref(),
            tool_registry: s.tool_registry.iter().map(|t| ToolRef { id: &t.id, version: &t.version }).collect(),
            prompt_version: s.prompt_version.as_deref(),
            model: s.model.as_deref(),
            routing: RoutingContext {
                time_of_day: s.routing.time_of_day.as_deref(),
                locale: s.routing.locale.as_deref(),
                queue: s.routing.queue.as_deref(),
                extra: s.routing.extra.iter().map(|(k, v)| KeyValue { key: k, value: v }).collect(),
            },
        }
    }
}
