//! The canonical conversation: what every adapter produces, what detect scores and
//! what replay reproduces. One schema for detect, regenerate and replay.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::SchemaVersion;

/// A whole conversation between a customer and the agent, with the agent state it ran under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Conversation {
    /// Version of this schema; ratchet refuses versions it does not know.
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// Stable identifier from the source system (call id, chat id, trace id).
    pub id: String,
    /// Chat or voice.
    pub channel: Channel,
    /// RFC 3339 start time, when the source records it.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "rfc3339_opt")]
    pub started_at: Option<String>,
    /// The turns, in order.
    pub turns: Vec<Turn>,
    /// How it ended and what visibly went wrong.
    #[serde(default)]
    pub outcome: Outcome,
    /// Money at stake, for ranking failure modes by business impact.
    #[serde(default)]
    pub impact: Impact,
    /// The agent state at call time: what replay must reproduce.
    #[serde(default)]
    pub state: AgentState,
    /// The state of the systems behind the agent's tools when the conversation
    /// started, as the platform captured it (a JSON object, in the shape of the
    /// project's tool simulator): `ratchet regenerate` makes it the scenario's
    /// `[world]` instead of reconstructing one from what the conversation observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world: Option<Value>,
    /// What the platform recorded about the conversation besides the dialogue
    /// (ticket tags, account tier, expected outcome, a CRM field), as string
    /// key/value pairs: adapters fill them from the export, scorecards and
    /// assertions read them (WIT 0.1.3 `labels`), `[detect.impact_from_labels]`
    /// takes impact amounts from them. Sorted by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// Where the conversation happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Text chat (web, app, messaging).
    Chat,
    /// A phone or voice-assistant call, transcribed.
    Voice,
}

/// Who produced a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The customer (the scripted side in replay).
    Customer,
    /// The agent under test.
    Agent,
    /// A tool answering an agent's tool call.
    Tool,
    /// Platform messages (system prompt excerpts, hold music notices...).
    System,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// Who spoke.
    pub role: Role,
    /// What was said; empty for pure tool-call turns.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Tool calls the agent made in this turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// On `tool` turns: what the tool returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_result: Option<ToolResult>,
    /// Milliseconds since the conversation started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_ms: Option<u64>,
    /// Milliseconds the agent took to produce this turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

/// A tool the agent asked to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    /// Correlates the call with its result.
    pub id: String,
    /// Tool name as the tool registry names it.
    pub name: String,
    /// Arguments (a JSON object).
    #[serde(default)]
    pub arguments: Value,
}

/// What a tool returned to the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolResult {
    /// The [`ToolCall::id`] this answers.
    pub call_id: String,
    /// Tool name, repeated so a result reads on its own.
    pub name: String,
    /// The payload, any JSON value.
    #[serde(default)]
    pub content: Value,
    /// True when the tool reported an error.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_error: bool,
}

/// How the conversation ended, and what visibly went wrong.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// Handed to a human.
    #[serde(default)]
    pub escalated: bool,
    /// The customer complained (survey, ticket, chargeback...).
    #[serde(default)]
    pub complaint: bool,
    /// Compliance rules the platform flagged, e.g. `pci:card-read-back`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compliance_flags: Vec<String>,
    /// Why it ended (`customer-ended-call`, `agent-transferred`, `silence-timeout`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_reason: Option<String>,
}

/// Money at stake in the conversation, for ranking by business impact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Impact {
    /// Recurring revenue put at risk (a wrongful cancellation, a churn signal).
    #[serde(default, deserialize_with = "amount")]
    pub revenue_at_risk: f64,
    /// Money refunded or charged back.
    #[serde(default, deserialize_with = "amount")]
    pub refund_amount: f64,
    /// Estimated regulatory exposure.
    #[serde(default, deserialize_with = "amount")]
    pub compliance_exposure: f64,
    /// Cost of the human hand-off.
    #[serde(default, deserialize_with = "amount")]
    pub escalation_cost: f64,
    /// ISO 4217 code for all amounts above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// The agent state at call time: the snapshot taken on failure, and what replay restores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentState {
    /// The memory entries relevant to the session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_snapshot: Vec<MemoryEntry>,
    /// Hash of the knowledge-base snapshot the agent read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kb_version_hash: Option<String>,
    /// The tools available to the agent, with their versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_registry: Vec<ToolRef>,
    /// Version of the system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_version: Option<String>,
    /// Model identifier, e.g. `gpt-4o-2024-08-06`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Context that affected routing.
    #[serde(default, skip_serializing_if = "RoutingContext::is_empty")]
    pub routing: RoutingContext,
}

/// One memory entry relevant to the session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemoryEntry {
    /// Dotted key, e.g. `account.subscription_status`.
    pub key: String,
    /// Any JSON value.
    pub value: Value,
}

/// A tool available to the agent, at a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolRef {
    /// Tool name as the agent calls it.
    pub id: String,
    /// The tool's version; replay fixtures are keyed by it.
    pub version: String,
}

/// Context that affected routing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingContext {
    /// Local time of day, `HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_of_day: Option<String>,
    /// BCP 47 locale, e.g. `en-US`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// Queue or skill the conversation was routed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Anything else the platform records.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl RoutingContext {
    /// True when nothing is known about routing (keeps serialised files short).
    pub fn is_empty(&self) -> bool {
        self.time_of_day.is_none() && self.locale.is_none() && self.queue.is_none() && self.extra.is_empty()
    }
}

impl AgentState {
    /// The memory value under `key`, if the snapshot has it.
    pub fn memory(&self, key: &str) -> Option<&Value> {
        self.memory_snapshot.iter().find(|e| e.key == key).map(|e| &e.value)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// An optional RFC 3339 time, refused when it is anything else ("yesterday",
/// "2026-11-24"): times are compared and windowed, a guess would misplace the event.
pub(crate) fn rfc3339_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<String>::deserialize(d)?;
    if let Some(s) = &v {
        if crate::time::parse_rfc3339(s).is_none() {
            let shown: String = s.chars().take(40).collect();
            let more = if s.chars().count() > 40 { "…" } else { "" };
            return Err(serde::de::Error::custom(format!("`{shown}{more}` is not an RFC 3339 time (like 2026-11-24T09:31:00Z)")));
        }
    }
    Ok(v)
}

/// An amount of money at stake: finite and not negative, so sums and rankings stay numbers.
fn amount<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !v.is_finite() || v < 0.0 {
        return Err(serde::de::Error::custom(format!("{v} is not an amount: must be a finite number, 0 or more")));
    }
    Ok(v)
}
