//! The scenario file (TOML): one production failure, frozen as a deterministic
//! regression test. Written by `ratchet regenerate`, readable and editable by hand.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AgentState, Channel, Impact, SchemaError, SchemaVersion};

/// A regression scenario: scripted customer turns, the agent state to restore,
/// recorded tool results to replay, and explicit pass/fail criteria.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Version of this schema.
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// Stable id, also the file name (`<id>.toml`).
    pub id: String,
    /// One line for humans.
    pub title: String,
    /// The failure-mode cluster this scenario guards against.
    pub failure_mode: String,
    /// Free-form tags for selection (`--tag`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Which tier runs it.
    #[serde(default)]
    pub tier: Tier,
    /// Chat or voice (drivers may care).
    #[serde(default = "default_channel")]
    pub channel: Channel,
    /// Where the scenario came from.
    #[serde(default)]
    pub provenance: Provenance,
    /// Business impact of the original failure.
    #[serde(default)]
    pub impact: Impact,
    /// The agent state at call time, restored before replay.
    #[serde(default)]
    pub state: AgentState,
    /// The labels of the conversation this scenario came from (scrubbed), what
    /// the platform recorded about it (ticket tags, account tier...): replay
    /// hands them to assertions as the transcript's labels (WIT 0.1.3 `labels`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The customer's lines, played in order, verbatim.
    pub turns: Vec<ScriptedTurn>,
    /// What happens when the scripted lines run out (default: the conversation ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<ScriptPolicy>,
    /// Recorded tool results that answer the agent's tool calls.
    #[serde(default)]
    pub fixtures: Vec<Fixture>,
    /// The world the conversation ran in and the simulator that answers the calls
    /// no fixture matches (and keeps the world for `world-state` criteria).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world: Option<World>,
    /// What the agent must and must not do; at least one.
    pub criteria: Vec<Criterion>,
    /// What happened to this scenario since it was created (merges, tier moves,
    /// resurrections), oldest first: every move is explained and reversible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// The failing run this scenario was regenerated from, scrubbed: what `promote`
    /// checks another failure's criteria against ("would this scenario have caught
    /// that one, and that one this?").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<Recording>,
}

/// `[recording]`: the failing conversation a scenario came from (PII scrubbed like
/// the rest of the file), as JSON text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// The canonical conversation (`ratchet schema conversation`) as JSON text.
    pub conversation_json: String,
}

impl Recording {
    /// The recorded conversation.
    pub fn conversation(&self) -> Result<super::Conversation, SchemaError> {
        super::parse_json(&self.conversation_json, "[recording] conversation_json")
    }
}

/// One recorded change to a scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// RFC 3339 time of the change.
    pub at: String,
    /// What happened: `created`, `merged`, `resurrected`, `demoted`, `archived`, `promoted`...
    pub action: String,
    /// Why, for humans (the matching conversation and similarity, the rule applied...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

fn default_channel() -> Channel {
    Channel::Chat
}

/// The suite tier a scenario belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Runs on every PR and blocks deploys.
    #[default]
    Fast,
    /// Runs nightly; failures open tickets.
    Slow,
    /// Kept for audit; skipped unless asked.
    Archive,
}

/// Where a scenario came from and how often production hit it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Ids of the production conversations that showed this failure.
    #[serde(default)]
    pub source_conversations: Vec<String>,
    /// Failure event id it was regenerated from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_event: Option<String>,
    /// How many production failures merged into this scenario.
    #[serde(default = "one")]
    pub hits: u32,
    /// RFC 3339 time of the first production hit.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::conversation::rfc3339_opt")]
    pub first_seen: Option<String>,
    /// RFC 3339 time of the latest production hit.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::conversation::rfc3339_opt")]
    pub last_seen: Option<String>,
    /// `hand-written` or `ratchet regenerate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

fn one() -> u32 {
    1
}

/// One scripted customer line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptedTurn {
    /// Exactly what the customer said.
    pub text: String,
}

/// A recorded tool result: answers a call to `tool` at `version` with `arguments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Tool name.
    pub tool: String,
    /// Tool version; a call at another version does not match.
    pub version: String,
    /// The call's arguments; matched canonically (key order and whitespace do not matter).
    #[serde(default = "empty_object")]
    pub arguments: Value,
    /// The recorded result as a TOML value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The recorded result as JSON text, for results TOML cannot express (JSON `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_json: Option<String>,
    /// The tool reported an error.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

impl Fixture {
    /// The recorded result as JSON, from whichever of `result` / `result_json` is set.
    pub fn result_value(&self) -> Result<Value, String> {
        match (&self.result, &self.result_json) {
            (Some(v), None) => Ok(v.clone()),
            (None, Some(text)) => serde_json::from_str(text).map_err(|e| format!("result_json is not valid JSON: {e}")),
            (Some(_), Some(_)) => Err("set either `result` or `result_json`, not both".into()),
            (None, None) => Err("missing `result` (or `result_json`)".into()),
        }
    }
}

/// `[script]`: when the failing customer's lines run out before a fix reaches its
/// decisive step (it asked for a confirmation, one more detail), a simulated
/// customer may carry on from the real customer's goal and what they disclosed.
/// Its lines come from the model broker and are recorded like LLM judgements, so
/// the gate replays them offline; a missing recording is an `error`, never a pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptPolicy {
    /// `end` (the conversation ends with the last scripted line) or `simulate`.
    #[serde(default)]
    pub when_done: WhenDone,
    /// What the customer came for, in their words (scrubbed).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub goal: String,
    /// What the real customer disclosed (placeholders, order ids...), which the
    /// simulated customer may repeat; it invents nothing else.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<String>,
    /// Most simulated customer lines.
    #[serde(default = "three")]
    pub max_turns: u32,
}

fn three() -> u32 {
    3
}

/// What happens when the scripted customer lines run out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WhenDone {
    /// The conversation ends (the default: replay is exactly the script).
    #[default]
    End,
    /// A simulated customer carries on, recorded (see [`ScriptPolicy`]).
    Simulate,
}

/// `[world]`: the state of the systems behind the agent's tools when the failure
/// happened, and the tool simulator (a plugin) that answers calls from it. With a
/// world, a fix may take another path than the failing run (another lookup, the
/// right mutation with other arguments) and still be replayed faithfully.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct World {
    /// The simulator: a plugin name from ratchet.toml `[plugins]` (world `simulator`),
    /// or a component path inside the project.
    pub simulator: String,
    /// Parameters passed to the simulator (a table).
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    pub params: Value,
    /// The world before the conversation, as a TOML table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Value>,
    /// The world before the conversation as JSON text (what `ratchet regenerate`
    /// writes: worlds often hold `null`, which TOML cannot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_json: Option<String>,
}

fn is_empty_object(v: &Value) -> bool {
    v.as_object().is_some_and(|o| o.is_empty())
}

impl World {
    /// The world as JSON, from whichever of `state` / `state_json` is set.
    pub fn state_value(&self) -> Result<Value, String> {
        let v = match (&self.state, &self.state_json) {
            (Some(v), None) => v.clone(),
            (None, Some(text)) => serde_json::from_str(text).map_err(|e| format!("state_json is not valid JSON: {e}"))?,
            (Some(_), Some(_)) => return Err("set either `state` or `state_json`, not both".into()),
            (None, None) => return Err("missing `state` (or `state_json`): the world before the conversation".into()),
        };
        if !v.is_object() {
            return Err("the world must be a table / JSON object".into());
        }
        Ok(v)
    }
}

/// A pass/fail criterion, evaluated on the replayed transcript.
///
/// In the file it is one flat table: `id`, `why`, `kind` and the kind's own fields.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Criterion {
    /// Stable id, named in verdicts.
    pub id: String,
    /// Where the criterion came from and why it exists (a comment for humans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// What it checks.
    #[serde(flatten)]
    pub check: Check,
}

// serde cannot combine `flatten` with `deny_unknown_fields`, and a typo in a
// criterion must not be silently ignored: split off `id`/`why`, then parse the
// rest strictly as a `Check`.
impl<'de> Deserialize<'de> for Criterion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            id: String,
            #[serde(default)]
            why: Option<String>,
            #[serde(flatten)]
            rest: serde_json::Map<String, Value>,
        }
        let raw = Raw::deserialize(d)?;
        if !raw.rest.contains_key("kind") {
            return Err(serde::de::Error::custom(format!("criterion `{}` has no `kind`", raw.id)));
        }
        let check = Check::deserialize(Value::Object(raw.rest)).map_err(|e| serde::de::Error::custom(format!("criterion `{}`: {e}", raw.id)))?;
        Ok(Criterion { id: raw.id, why: raw.why, check })
    }
}

/// The built-in criterion kinds, plus `plugin` for everything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Check {
    /// The agent must call `tool` (with at least `arguments`), within `within_turns` agent turns.
    MustCallTool {
        /// Tool name.
        tool: String,
        /// A subset of arguments the call must carry: objects by key, lists item by
        /// item (each expected item matched by a distinct actual one), numbers by value.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arguments: Option<Value>,
        /// Deadline in agent turns.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        within_turns: Option<u32>,
        /// Lists in `arguments` must match in order (default: any order).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ordered: bool,
    },
    /// The agent must not call `tool` (with `arguments`, when given), unless
    /// `unless` holds. Only calls that took effect count — not one the tool
    /// rejected with an error — unless `count_failed_attempts`.
    MustNotCallTool {
        /// Tool name.
        tool: String,
        /// A condition under which the call is allowed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unless: Option<Condition>,
        /// Only calls carrying these arguments count (a subset, as in `must-call-tool`):
        /// "not with the wrong order id".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        arguments: Option<Value>,
        /// Lists in `arguments` must match in order (default: any order).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        ordered: bool,
        /// Count calls the tool rejected too (an attempt is the failure).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        count_failed_attempts: bool,
    },
    /// An agent turn must match `pattern` (a regex), within `within_turns` agent turns.
    MustSay {
        /// Regular expression.
        pattern: String,
        /// Deadline in agent turns.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        within_turns: Option<u32>,
        /// Only when the agent calls this tool ("state the policy before refunding"):
        /// an agent that never calls it passes, and the reply reporting the first call
        /// may carry the pattern too.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        when_called: Option<String>,
    },
    /// No agent turn may match `pattern` (a regex).
    MustNotSay {
        /// Regular expression.
        pattern: String,
    },
    /// These tools, when called, must be called in this order.
    ToolOrder {
        /// Tool names, in the required order.
        tools: Vec<String>,
    },
    /// The agent must hand off to a human.
    MustEscalate {},
    /// The agent must not hand off to a human.
    MustNotEscalate {},
    /// The conversation must end within `max` agent turns.
    MaxTurns {
        /// Maximum agent turns.
        max: u32,
    },
    /// The world the replay left behind (the scenario's `[world]` after every call,
    /// through its simulator) at `path`: the robust check of an outcome, whatever
    /// path the agent took. Exactly one of `equals`, `not_equals`, `unchanged`, `absent`.
    WorldState {
        /// A JSON Pointer (RFC 6901) into the world, e.g. `/accounts/A-1/status`.
        path: String,
        /// The value there must equal this (numbers by value).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        equals: Option<Value>,
        /// The value there must not be this: the state the failure left ("the order
        /// must not end up cancelled"), whichever tool would put it there.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        not_equals: Option<Value>,
        /// The value there must be what it was before the conversation.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unchanged: bool,
        /// Nothing may be there.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        absent: bool,
    },
    /// An assertion plugin decides.
    Plugin {
        /// The plugin's name in ratchet.toml, or a path to its component.
        plugin: String,
        /// Parameters passed to the plugin.
        #[serde(default = "empty_object")]
        params: Value,
    },
}

/// A condition on the agent state or on a prior tool result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// A memory snapshot key, e.g. `account.subscription_status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// A tool whose latest result is inspected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_result: Option<String>,
    /// The field of that tool result (dotted path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value the state or field must equal.
    pub equals: Value,
}

impl Scenario {
    /// Parse a scenario file and check what serde cannot: non-empty turns and
    /// criteria, unique criterion ids, well-formed fixtures and conditions.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, SchemaError> {
        let scenario: Scenario = super::parse_toml(text, origin)?;
        scenario.validate(text, origin)?;
        Ok(scenario)
    }

    /// Read and parse a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Scenario, SchemaError> {
        let text = super::read_text(path)?;
        Scenario::parse(&text, &path.display().to_string())
    }

    fn validate(&self, text: &str, origin: &str) -> Result<(), SchemaError> {
        // Best-effort line numbers for semantic errors: the n-th `[[table]]` header.
        let nth_table = |table: &str, n: usize| -> Option<usize> {
            let header = format!("[[{table}]]");
            text.lines().enumerate().filter(|(_, l)| l.trim_start().starts_with(&header)).nth(n).map(|(i, _)| i + 1)
        };
        let err = |line: Option<usize>, field: String, message: String| Err(SchemaError::invalid(origin, line, None, Some(field), message));
        if let Err(e) = super::id::check_id(&self.id) {
            let line = text.lines().position(|l| l.trim_start().starts_with("id") && l.trim_start()[2..].trim_start().starts_with('=')).map(|i| i + 1);
            return err(line, "id".into(), e.to_string());
        }
        let i = &self.impact;
        for (name, v) in [
            ("revenue_at_risk", i.revenue_at_risk),
            ("refund_amount", i.refund_amount),
            ("compliance_exposure", i.compliance_exposure),
            ("escalation_cost", i.escalation_cost),
        ] {
            if !v.is_finite() {
                let line = text.lines().position(|l| l.trim_start().starts_with(name)).map(|i| i + 1);
                return err(line, format!("impact.{name}"), format!("must be a finite amount, not {v}"));
            }
        }
        if self.turns.is_empty() {
            return err(None, "turns".into(), "a scenario needs at least one scripted customer turn ([[turns]])".into());
        }
        if self.criteria.is_empty() {
            return err(None, "criteria".into(), "a scenario needs at least one criterion ([[criteria]]): without one it guards nothing".into());
        }
        for (i, f) in self.fixtures.iter().enumerate() {
            if let Err(message) = f.result_value() {
                return err(nth_table("fixtures", i), format!("fixtures[{i}]"), message);
            }
            if !f.arguments.is_object() {
                return err(nth_table("fixtures", i), format!("fixtures[{i}].arguments"), "must be a table (the call's arguments)".into());
            }
        }
        if let Some(p) = &self.script {
            let line = text.lines().position(|l| l.trim() == "[script]").map(|i| i + 1);
            if p.when_done == WhenDone::Simulate && p.goal.trim().is_empty() {
                return err(line, "script.goal".into(), "a simulated customer needs the goal it pursues".into());
            }
            if p.max_turns == 0 || p.max_turns > 20 {
                return err(line, "script.max_turns".into(), format!("{} is out of range 1..=20", p.max_turns));
            }
        }
        if let Some(w) = &self.world {
            let line = text.lines().position(|l| l.trim() == "[world]").map(|i| i + 1);
            if let Err(message) = w.state_value() {
                return err(line, "world".into(), message);
            }
            if w.simulator.trim().is_empty() {
                return err(line, "world.simulator".into(), "must name the simulator plugin".into());
            }
            if !w.params.is_object() {
                return err(line, "world.params".into(), "must be a table".into());
            }
        }
        if let Some(r) = &self.recording {
            if let Err(e) = r.conversation() {
                let line = text.lines().position(|l| l.trim() == "[recording]").map(|i| i + 1);
                return err(line, "recording.conversation_json".into(), format!("not a conversation: {e}"));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, c) in self.criteria.iter().enumerate() {
            if !seen.insert(c.id.as_str()) {
                return err(nth_table("criteria", i), format!("criteria[{i}].id"), format!("duplicate criterion id `{}`", c.id));
            }
            let zero_window = match &c.check {
                Check::MustCallTool { within_turns: Some(0), .. } | Check::MustSay { within_turns: Some(0), .. } => Some("within_turns"),
                Check::MaxTurns { max: 0 } => Some("max"),
                _ => None,
            };
            if let Some(field) = zero_window {
                return err(nth_table("criteria", i), format!("criteria[{i}].{field}"), "must be at least 1 (it counts agent replies)".into());
            }
            if let Check::MustSay { pattern, .. } | Check::MustNotSay { pattern } = &c.check {
                if let Err(e) = super::pattern::compile(pattern) {
                    return err(nth_table("criteria", i), format!("criteria[{i}].pattern"), e.to_string());
                }
            }
            if let Check::WorldState { path, equals, not_equals, unchanged, absent } = &c.check {
                let set = usize::from(equals.is_some()) + usize::from(not_equals.is_some()) + usize::from(*unchanged) + usize::from(*absent);
                if set != 1 {
                    return err(
                        nth_table("criteria", i),
                        format!("criteria[{i}]"),
                        "a world-state criterion takes exactly one of `equals = VALUE`, `not_equals = VALUE`, `unchanged = true`, `absent = true`".into(),
                    );
                }
                if !(path.is_empty() || path.starts_with('/')) {
                    return err(
                        nth_table("criteria", i),
                        format!("criteria[{i}].path"),
                        format!("`{path}` is not a JSON Pointer: it starts with `/` (e.g. `/accounts/A-1/status`), or is empty for the whole world"),
                    );
                }
                if self.world.is_none() {
                    return err(
                        nth_table("criteria", i),
                        format!("criteria[{i}]"),
                        "a world-state criterion needs the scenario's [world] (the state and the simulator that keeps it)".into(),
                    );
                }
            }
            if let Check::MustNotCallTool { unless: Some(cond), .. } = &c.check {
                let ok = match (&cond.state, &cond.tool_result, &cond.field) {
                    (Some(_), None, None) => true,
                    (None, Some(_), Some(_)) => true,
                    _ => false,
                };
                if !ok {
                    return err(
                        nth_table("criteria", i),
                        format!("criteria[{i}].unless"),
                        "a condition is either `state = KEY` or `tool_result = TOOL` with `field = PATH`, plus `equals`".into(),
                    );
                }
            }
        }
        Ok(())
    }
}
