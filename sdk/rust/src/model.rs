//! The canonical conversation, as idiomatic Rust.
//!
//! These types mirror the WIT `types` interface *and* ratchet's canonical JSON
//! (snake_case field names), so the same value can come from the host over the
//! component boundary or from a `.json` file in a plugin author's native test.
//!
//! Serialisation follows the host's canonical schema exactly (`docs/schema.md`):
//! * `schema_version` is always written; absent options, empty lists/maps,
//!   empty turn text, `is_error: false` and an empty `routing` are omitted;
//! * on input every field except `id`, `channel` and `turns` may be missing and
//!   takes its default; unknown fields and unknown schema versions are errors,
//!   as in the host (a typo in a test fixture must not go unnoticed).
//!
//! A turn's `index` is its position in `turns`: it is not written to JSON and is
//! recomputed whenever a [`Conversation`] is deserialised.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::json::Json;

/// The canonical schema version these types implement; written as
/// `schema_version` so files say which shape they follow.
pub const SCHEMA_VERSION: u32 = 1;

fn default_schema_version() -> u32 {
    SCHEMA_VERSION
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Where the conversation happened; scorecards may judge chat and voice differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// A text chat.
    Chat,
    /// A phone/voice call (turn text is a transcript).
    Voice,
}

/// Who produced a turn; most checks look only at one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The (scripted, in replay) customer.
    Customer,
    /// The AI agent under test.
    Agent,
    /// A tool's answer to an agent's tool call.
    Tool,
    /// A system/instruction message.
    System,
}

/// A tool the agent asked to run: the thing most policy criteria are about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    /// Correlates the call with its [`ToolResult`].
    pub id: String,
    /// Tool name as the agent's tool registry names it.
    pub name: String,
    /// Arguments, normally a JSON object (`null` when the source had none);
    /// parsed on first access (see [`Json`]).
    #[serde(default)]
    pub arguments: Json,
}

/// What a tool returned: the account state the agent saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolResult {
    /// The [`ToolCall::id`] this answers.
    pub call_id: String,
    /// Tool name, repeated for convenience.
    #[serde(default)]
    pub name: String,
    /// Result payload, any JSON value; parsed on first access (see [`Json`]).
    #[serde(default)]
    pub content: Json,
    /// True when the tool reported an error.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_error: bool,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// Position in the conversation, from 0. Not part of the JSON: filled from
    /// the position when a [`Conversation`] is deserialised, carried explicitly
    /// over the WIT boundary.
    #[serde(default, skip_serializing)]
    pub index: u32,
    /// Who produced the turn.
    pub role: Role,
    /// What was said (empty for pure tool-call turns).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Tool calls made in this (agent) turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Present on `tool` turns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_result: Option<ToolResult>,
    /// Milliseconds since the conversation started, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_ms: Option<u64>,
    /// Milliseconds the agent took to produce this turn, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
}

impl Turn {
    /// A turn with just a role and text: the common case when building test
    /// conversations by hand.
    pub fn new(index: u32, role: Role, text: impl Into<String>) -> Self {
        Turn { index, role, text: text.into(), tool_calls: Vec::new(), tool_result: None, offset_ms: None, latency_ms: None }
    }

    /// True for agent turns, the ones scorecards judge.
    pub fn is_agent(&self) -> bool {
        self.role == Role::Agent
    }

    /// True for customer turns (what the customer asked for).
    pub fn is_customer(&self) -> bool {
        self.role == Role::Customer
    }
}

/// One memory entry relevant to the session (e.g. `account.supervisor_flag`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryEntry {
    /// Dotted key, e.g. `account.subscription_status`.
    pub key: String,
    /// Any JSON value; parsed on first access (see [`Json`]).
    pub value: Json,
}

/// A tool available to the agent, at a version: replay fixtures are keyed by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolRef {
    /// Tool id.
    pub id: String,
    /// Tool version.
    pub version: String,
}

/// Context that affected routing (time of day, locale, queue...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Anything else the platform records; a sorted map so output is stable
    /// (WIT carries it as a sorted `list<key-value>`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

impl RoutingContext {
    /// True when nothing is known about routing (then it is not written).
    pub fn is_empty(&self) -> bool {
        self.time_of_day.is_none() && self.locale.is_none() && self.queue.is_none() && self.extra.is_empty()
    }
}

/// The agent state at call time: what replay must reproduce, and what policy
/// checks compare the agent's actions with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentState {
    /// Memory entries relevant to the session.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub memory_snapshot: Vec<MemoryEntry>,
    /// Knowledge-base version hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kb_version_hash: Option<String>,
    /// Tools available to the agent, with versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_registry: Vec<ToolRef>,
    /// Prompt version identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_version: Option<String>,
    /// Model identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Routing context.
    #[serde(default, skip_serializing_if = "RoutingContext::is_empty")]
    pub routing: RoutingContext,
}

impl AgentState {
    /// The memory-snapshot value stored under `key`, if any (first match).
    /// Agents read what they know about the customer (`customer.email`) here.
    pub fn memory(&self, key: &str) -> Option<&Value> {
        self.memory_snapshot.iter().find(|e| e.key == key).map(|e| e.value.as_value())
    }
}

/// How the conversation ended, and what went wrong visibly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// The conversation was handed to a human.
    #[serde(default)]
    pub escalated: bool,
    /// The customer complained.
    #[serde(default)]
    pub complaint: bool,
    /// Compliance flags raised by the platform.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compliance_flags: Vec<String>,
    /// Why the conversation ended, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_reason: Option<String>,
}

/// Money at stake, used to rank failure modes by business impact.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Impact {
    /// Revenue at risk.
    #[serde(default)]
    pub revenue_at_risk: f64,
    /// Refund amount.
    #[serde(default)]
    pub refund_amount: f64,
    /// Compliance exposure.
    #[serde(default)]
    pub compliance_exposure: f64,
    /// Cost of the escalation.
    #[serde(default)]
    pub escalation_cost: f64,
    /// ISO 4217 currency of the amounts, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

/// A whole conversation with the agent state it ran under: the input of every
/// scorecard and assertion, the output of every adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ConversationRepr")]
pub struct Conversation {
    /// Canonical schema version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Conversation id.
    pub id: String,
    /// Chat or voice.
    pub channel: Channel,
    /// RFC 3339 timestamp, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// The turns, in order; `turns[i].index == i`.
    pub turns: Vec<Turn>,
    /// How it ended.
    pub outcome: Outcome,
    /// Money at stake.
    pub impact: Impact,
    /// Agent state at call time.
    pub state: AgentState,
    /// What the platform recorded about the conversation besides the dialogue
    /// (ticket tags, account tier, expected outcome), sorted by key. Inside a
    /// component the host supplies them (WIT 0.1.3 `labels`): a scorecard or an
    /// assertion finds them here; an adapter sets them here and they reach
    /// the host with the conversation.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub labels: std::collections::BTreeMap<String, String>,
}

/// Wire shape of [`Conversation`]: identical, with defaults, so deserialising
/// can renumber turn indices from their positions.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConversationRepr {
    #[serde(default = "default_schema_version")]
    schema_version: u32,
    id: String,
    channel: Channel,
    #[serde(default)]
    started_at: Option<String>,
    turns: Vec<Turn>,
    #[serde(default)]
    outcome: Outcome,
    #[serde(default)]
    impact: Impact,
    #[serde(default)]
    state: AgentState,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

impl TryFrom<ConversationRepr> for Conversation {
    type Error = String;

    fn try_from(r: ConversationRepr) -> Result<Self, String> {
        if r.schema_version != SCHEMA_VERSION {
            return Err(format!("unknown schema_version {}: this SDK reads schema_version {SCHEMA_VERSION}", r.schema_version));
        }
        let mut c = Conversation {
            schema_version: r.schema_version,
            id: r.id,
            channel: r.channel,
            started_at: r.started_at,
            turns: r.turns,
            outcome: r.outcome,
            impact: r.impact,
            state: r.state,
            labels: r.labels,
        };
        c.renumber();
        Ok(c)
    }
}

impl Conversation {
    /// An empty conversation with defaults everywhere: a starting point for
    /// adapters and hand-built test cases.
    pub fn new(id: impl Into<String>, channel: Channel) -> Self {
        Conversation {
            schema_version: SCHEMA_VERSION,
            id: id.into(),
            channel,
            started_at: None,
            turns: Vec::new(),
            outcome: Outcome::default(),
            impact: Impact::default(),
            state: AgentState::default(),
            labels: Default::default(),
        }
    }

    /// Parses canonical conversation JSON (turn indices come from positions).
    /// Exists so native tests can load the same files the host reads.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Canonical JSON text (keys sorted, compact): the same bytes for the same
    /// conversation.
    pub fn to_json(&self) -> String {
        crate::json::to_canonical_string(self)
    }

    /// Sets every `turns[i].index` to `i`; call after building turns by hand.
    pub fn renumber(&mut self) {
        for (i, t) in self.turns.iter_mut().enumerate() {
            t.index = i as u32;
        }
    }

    /// Appends a turn, setting its index; returns the index.
    pub fn push_turn(&mut self, mut turn: Turn) -> u32 {
        let index = self.turns.len() as u32;
        turn.index = index;
        self.turns.push(turn);
        index
    }

    /// The turn at `index`, if any.
    pub fn turn(&self, index: u32) -> Option<&Turn> {
        self.turns.get(index as usize)
    }

    /// Turns produced by `role`, in order.
    pub fn turns_by(&self, role: Role) -> impl Iterator<Item = &Turn> {
        self.turns.iter().filter(move |t| t.role == role)
    }

    /// Agent turns, in order: what scorecards judge.
    pub fn agent_turns(&self) -> impl Iterator<Item = &Turn> {
        self.turns_by(Role::Agent)
    }

    /// Customer turns, in order: what the customer asked for.
    pub fn customer_turns(&self) -> impl Iterator<Item = &Turn> {
        self.turns_by(Role::Customer)
    }

    /// Every tool call with the index of the turn that made it, in order.
    pub fn tool_calls(&self) -> impl Iterator<Item = (u32, &ToolCall)> {
        self.turns.iter().flat_map(|t| t.tool_calls.iter().map(move |c| (t.index, c)))
    }

    /// Tool calls to the tool named `name`, with their turn index.
    pub fn tool_calls_named<'a>(&'a self, name: &str) -> impl Iterator<Item = (u32, &'a ToolCall)> + 'a {
        let name = name.to_owned();
        self.tool_calls().filter(move |(_, c)| c.name == name)
    }

    /// Every tool result with the index of its (tool) turn, in order.
    pub fn tool_results(&self) -> impl Iterator<Item = (u32, &ToolResult)> {
        self.turns.iter().filter_map(|t| t.tool_result.as_ref().map(|r| (t.index, r)))
    }

    /// The result answering the call `call_id`, if the conversation has one.
    pub fn tool_result_for(&self, call_id: &str) -> Option<&ToolResult> {
        self.tool_results().map(|(_, r)| r).find(|r| r.call_id == call_id)
    }

    /// Results of the tool named `name`, with their turn index, in order. The
    /// name is taken from the result, or from the matching call when the
    /// result carries none.
    pub fn tool_results_named<'a>(&'a self, name: &str) -> impl Iterator<Item = (u32, &'a ToolResult)> + 'a {
        let name = name.to_owned();
        self.tool_results().filter(move |(_, r)| r.name == name || (r.name.is_empty() && self.tool_calls().any(|(_, c)| c.id == r.call_id && c.name == name)))
    }

    /// The latest non-error result of tool `name` in a turn `<= at_turn`
    /// (pass `u32::MAX` for "anywhere"), with its turn index.
    pub fn latest_tool_result(&self, name: &str, at_turn: u32) -> Option<(u32, &ToolResult)> {
        self.tool_results_named(name).filter(|(i, r)| *i <= at_turn && !r.is_error).last()
    }

    /// The memory-snapshot value stored under `key`, if any (first match).
    pub fn memory(&self, key: &str) -> Option<&Value> {
        self.state.memory(key)
    }

    /// What the agent could know about the state key `key` (e.g.
    /// `account.subscription_status`) at turn `at_turn`: the field named like
    /// the key's last segment (`subscription_status`) in the latest non-error
    /// result of tool `lookup_tool` up to that turn (the freshest truth the
    /// agent saw), else the memory snapshot's entry for `key`. This is the
    /// lookup most policy checks need ("was the subscription active when it
    /// cancelled?").
    pub fn state_value(&self, key: &str, lookup_tool: &str, at_turn: u32) -> Option<&Value> {
        self.state_fact(key, lookup_tool, at_turn).map(|f| f.value)
    }

    /// [`Conversation::state_value`] plus where the value came from, so a
    /// check can explain itself and propose the right scenario condition.
    pub fn state_fact(&self, key: &str, lookup_tool: &str, at_turn: u32) -> Option<StateFact<'_>> {
        let field = key.rsplit('.').next().unwrap_or(key);
        self.tool_results_named(lookup_tool)
            .filter(|(i, r)| *i <= at_turn && !r.is_error)
            .filter_map(|(i, r)| r.content.get(field).map(|v| (i, v)))
            .last()
            .map(|(turn, value)| StateFact { value, source: StateSource::ToolResult { tool: lookup_tool.to_string(), field: field.to_string(), turn } })
            .or_else(|| self.memory(key).map(|value| StateFact { value, source: StateSource::Memory { key: key.to_string() } }))
    }
}

/// A state value and where it came from (see [`Conversation::state_fact`]).
#[derive(Debug, Clone, PartialEq)]
pub struct StateFact<'a> {
    /// The value.
    pub value: &'a Value,
    /// Where it was found.
    pub source: StateSource,
}

/// Where a state value was found: reasons and suggested scenario conditions
/// (`{state = KEY}` vs `{tool_result = TOOL, field = PATH}`) differ by source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateSource {
    /// Field `field` of the result of tool `tool` in turn `turn`.
    ToolResult {
        /// The lookup tool.
        tool: String,
        /// The field read from its result.
        field: String,
        /// The (tool) turn holding the result.
        turn: u32,
    },
    /// The memory snapshot entry `key`.
    Memory {
        /// The memory key.
        key: String,
    },
}

impl StateSource {
    /// A short human description, e.g. `lookup_account result at turn 2` or
    /// `memory account.subscription_status`.
    pub fn describe(&self) -> String {
        match self {
            StateSource::ToolResult { tool, turn, .. } => format!("{tool} result at turn {turn}"),
            StateSource::Memory { key } => format!("memory {key}"),
        }
    }
}

/// Loose truthiness of a JSON state value: `true`, `"true"`/`"yes"`/`"y"`/`"1"`
/// (any case) and non-zero numbers are true; everything else, including a
/// missing value, is false. Exists because platforms store flags inconsistently.
pub fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => {
            matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "yes" | "y" | "1")
        }
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        _ => false,
    }
}

/// A JSON state value as text for comparisons and messages: strings without
/// quotes, other values as canonical JSON (sorted keys, compact), a missing
/// value as `None`.
pub fn value_text(value: Option<&Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => Some(crate::json::canonical_string(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MINIMAL: &str = r#"{"id": "c1", "channel": "chat", "turns": [
        {"role": "customer", "text": "I want a human"},
        {"role": "agent", "tool_calls": [{"id": "k1", "name": "lookup_account", "arguments": {"id": 7}}]},
        {"role": "tool", "tool_result": {"call_id": "k1", "content": {"subscription_status": "none"}}},
        {"role": "agent", "text": "Cancelled.", "tool_calls": [{"id": "k2", "name": "cancel_subscription"}]},
        {"role": "tool", "tool_result": {"call_id": "k2", "name": "cancel_subscription", "content": "ok"}}
    ], "state": {"memory_snapshot": [{"key": "account.subscription_status", "value": "active"},
                                      {"key": "account.supervisor_flag", "value": "yes"}]}}"#;

    #[test]
    fn minimal_json_gets_defaults_and_indices() {
        let c = Conversation::from_json(MINIMAL).unwrap();
        assert_eq!(c.schema_version, 1);
        assert_eq!(c.channel, Channel::Chat);
        assert_eq!(c.turns.iter().map(|t| t.index).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
        assert_eq!(c.turns[0].tool_calls, vec![]);
        assert_eq!(c.turns[3].tool_calls[0].arguments, Value::Null);
        assert!(!c.outcome.escalated);
        assert_eq!(c.impact.refund_amount, 0.0);
        assert!(c.state.routing.extra.is_empty());
    }

    #[test]
    fn serialisation_round_trips_and_omits_what_the_host_omits() {
        let c = Conversation::from_json(MINIMAL).unwrap();
        let text = c.to_json();
        assert!(!text.contains("\"index\""));
        assert!(!text.contains("started_at"));
        assert_eq!(Conversation::from_json(&text).unwrap(), c);
        // The host's own golden output for a minimal chat, byte for byte.
        let mut m = Conversation::new("chat-1", Channel::Chat);
        m.push_turn(Turn::new(0, Role::Customer, "hello"));
        m.push_turn(Turn::new(0, Role::Agent, "Hi! How can I help?"));
        assert_eq!(
            m.to_json(),
            r#"{"channel":"chat","id":"chat-1","impact":{"compliance_exposure":0.0,"escalation_cost":0.0,"refund_amount":0.0,"revenue_at_risk":0.0},"outcome":{"complaint":false,"escalated":false},"schema_version":1,"state":{},"turns":[{"role":"customer","text":"hello"},{"role":"agent","text":"Hi! How can I help?"}]}"#
        );
    }

    #[test]
    fn labels_round_trip_sorted_and_are_left_out_when_empty() {
        let c = Conversation::from_json(r#"{"id": "x", "channel": "chat", "turns": [], "labels": {"tier": "gold", "crm": "CS-1"}}"#).unwrap();
        assert_eq!(c.labels.get("tier").map(String::as_str), Some("gold"));
        assert!(c.to_json().contains(r#""labels":{"crm":"CS-1","tier":"gold"}"#), "{}", c.to_json());
        assert!(!Conversation::new("y", Channel::Chat).to_json().contains("labels"));
        assert!(Conversation::from_json(r#"{"id": "x", "channel": "chat", "turns": [], "labels": {"n": 3}}"#).is_err());
    }

    #[test]
    fn unknown_fields_and_versions_are_refused_required_fields_enforced() {
        let e = Conversation::from_json(r#"{"id":"x","channel":"voice","turns":[],"future":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `future`"), "{e}");
        let e = Conversation::from_json(r#"{"id":"x","channel":"voice","turns":[{"role":"agent","txt":""}]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `txt`"), "{e}");
        let e = Conversation::from_json(r#"{"schema_version":7,"id":"x","channel":"voice","turns":[]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown schema_version 7"), "{e}");
        let e = Conversation::from_json(r#"{"id":"x","turns":[]}"#).unwrap_err();
        assert!(e.to_string().contains("channel"), "{e}");
        assert!(Conversation::from_json(r#"{"id":"x","channel":"fax","turns":[]}"#).is_err());
    }

    #[test]
    fn turn_and_tool_helpers() {
        let c = Conversation::from_json(MINIMAL).unwrap();
        assert_eq!(c.agent_turns().map(|t| t.index).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(c.customer_turns().count(), 1);
        let calls: Vec<_> = c.tool_calls().map(|(i, c)| (i, c.name.as_str())).collect();
        assert_eq!(calls, vec![(1, "lookup_account"), (3, "cancel_subscription")]);
        assert_eq!(c.tool_calls_named("cancel_subscription").count(), 1);
        assert_eq!(c.tool_result_for("k2").unwrap().content, json!("ok"));
        // Result k1 has no name: it is found through its call.
        assert_eq!(c.latest_tool_result("lookup_account", u32::MAX).unwrap().0, 2);
        assert!(c.latest_tool_result("lookup_account", 1).is_none());
        assert_eq!(c.turn(3).unwrap().text, "Cancelled.");
    }

    #[test]
    fn state_value_prefers_the_latest_lookup_over_memory() {
        let c = Conversation::from_json(MINIMAL).unwrap();
        let key = "account.subscription_status";
        assert_eq!(c.state_value(key, "lookup_account", 1), Some(&json!("active")));
        assert_eq!(c.state_value(key, "lookup_account", 3), Some(&json!("none")));
        assert_eq!(c.memory("account.supervisor_flag"), Some(&json!("yes")));
        assert!(truthy(c.memory("account.supervisor_flag")));
        assert!(!truthy(c.memory("nope")));
        assert!(truthy(Some(&json!(1))) && !truthy(Some(&json!("false"))));
        assert_eq!(value_text(Some(&json!("none"))).as_deref(), Some("none"));
        assert_eq!(value_text(Some(&json!(3))).as_deref(), Some("3"));
        assert_eq!(value_text(None), None);
        let f = c.state_fact(key, "lookup_account", 3).unwrap();
        assert_eq!(f.source.describe(), "lookup_account result at turn 2");
        let f = c.state_fact(key, "lookup_account", 0).unwrap();
        assert_eq!(f.source, StateSource::Memory { key: key.into() });
    }

    #[test]
    fn building_by_hand() {
        let mut c = Conversation::new("h", Channel::Voice);
        assert_eq!(c.push_turn(Turn::new(9, Role::Customer, "hi")), 0);
        assert_eq!(c.push_turn(Turn::new(9, Role::Agent, "hello")), 1);
        assert!(c.turns[1].is_agent() && c.turns[0].is_customer());
        c.turns[1].index = 5;
        c.renumber();
        assert_eq!(c.turns[1].index, 1);
    }
}
