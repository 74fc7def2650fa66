//! Replays one scenario against an agent session: the scripted customer lines in
//! order, the agent's tool calls answered from the recorded fixtures, and the
//! resulting transcript (a canonical conversation) for the criteria to judge.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::agent::{AgentError, AgentEvent, Session};
use crate::schema::{canonical_json, Conversation, Outcome, Role, Scenario, ToolCall, ToolResult, Turn};

/// What to do when the agent calls a tool no fixture answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MissingFixturePolicy {
    /// Answer with an error result and carry on (the call is reported).
    Error,
    /// End the scenario there (the call is reported).
    End,
}

/// Something about the replay the verdict must mention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayNote {
    /// What happened.
    pub kind: NoteKind,
    /// The transcript turn of the tool call.
    pub turn: u32,
    /// The tool called.
    pub tool: String,
    /// The version used for matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The call's arguments.
    pub arguments: Value,
}

/// Kinds of replay notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    /// No recorded fixture matches the call (tool, version, canonical arguments).
    MissingFixture,
    /// The tool is not in the scenario's tool registry.
    UnknownTool,
    /// The agent called the tool at a version other than the registry's.
    VersionMismatch,
}

/// The result of replaying a scenario once.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The transcript, with the scenario's state; `outcome.escalated` set on hand-off.
    pub transcript: Conversation,
    /// Unanswered or suspicious tool calls.
    pub notes: Vec<ReplayNote>,
    /// Set when the agent could not be driven to the end (verdict `error`).
    pub error: Option<AgentError>,
}

/// Canonical JSON for matching: like [`canonical_json`], and integral floats are
/// written as integers, so `49.0` in a fixture matches an agent that sends `49`.
pub fn match_key(v: &Value) -> String {
    fn norm(v: &Value) -> Value {
        match v {
            Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(f as i64),
                _ => v.clone(),
            },
            Value::Array(a) => Value::Array(a.iter().map(norm).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), norm(x))).collect()),
            other => other.clone(),
        }
    }
    canonical_json(&norm(v))
}

/// Fixture index: (tool, version, canonical arguments) → (result, is_error).
pub struct Fixtures {
    by_key: BTreeMap<(String, String, String), (Value, bool)>,
    registry: BTreeMap<String, String>,
}

impl Fixtures {
    /// Index a scenario's fixtures (validated at load, so results parse).
    pub fn new(s: &Scenario) -> Fixtures {
        let by_key = s
            .fixtures
            .iter()
            .map(|f| ((f.tool.clone(), f.version.clone(), match_key(&f.arguments)), (f.result_value().unwrap_or(Value::Null), f.is_error)))
            .collect();
        let registry = s.state.tool_registry.iter().map(|t| (t.id.clone(), t.version.clone())).collect();
        Fixtures { by_key, registry }
    }
}

fn turn(role: Role, text: String) -> Turn {
    Turn { role, text, tool_calls: vec![], tool_result: None, offset_ms: None, latency_ms: None }
}

/// Replay `scenario` through `session`.
pub fn replay(scenario: &Scenario, fixtures: &Fixtures, session: &mut dyn Session, policy: MissingFixturePolicy, max_tool_calls: u32) -> Replay {
    let mut r = Replay {
        transcript: Conversation {
            schema_version: Default::default(),
            id: scenario.id.clone(),
            channel: scenario.channel,
            started_at: None,
            turns: Vec::new(),
            outcome: Outcome::default(),
            impact: scenario.impact.clone(),
            state: scenario.state.clone(),
        },
        notes: Vec::new(),
        error: None,
    };
    if let Err(e) = drive(scenario, fixtures, session, policy, max_tool_calls, &mut r) {
        r.error = Some(e);
        return r;
    }
    if let Err(e) = session.end() {
        r.error = Some(e);
    }
    r
}

/// Ok(()) when the session ran to its end (all lines played, escalated, or ended by policy).
fn drive(
    scenario: &Scenario,
    fixtures: &Fixtures,
    session: &mut dyn Session,
    policy: MissingFixturePolicy,
    max_tool_calls: u32,
    r: &mut Replay,
) -> Result<(), AgentError> {
    for line in &scenario.turns {
        r.transcript.turns.push(turn(Role::Customer, line.text.clone()));
        let mut event = session.customer_message(&line.text)?;
        let mut calls = 0;
        // A call id names one tool call and its result answers that call only: two
        // calls with one id in a turn make the transcript ambiguous.
        let mut call_ids = std::collections::BTreeSet::new();
        loop {
            match event {
                AgentEvent::Message(text) => {
                    r.transcript.turns.push(turn(Role::Agent, text));
                    break;
                }
                AgentEvent::Escalate(reason) => {
                    r.transcript.turns.push(turn(Role::System, format!("escalated to a human: {reason}")));
                    r.transcript.outcome.escalated = true;
                    r.transcript.outcome.ended_reason = Some("agent-escalated".into());
                    return Ok(());
                }
                AgentEvent::ToolCall { call_id, name, version, arguments } => {
                    calls += 1;
                    if calls > max_tool_calls {
                        return Err(AgentError::ToolLoop(max_tool_calls));
                    }
                    let call_turn = r.transcript.turns.len() as u32;
                    let mut t = turn(Role::Agent, String::new());
                    t.tool_calls.push(ToolCall { id: call_id.clone(), name: name.clone(), arguments: arguments.clone() });
                    r.transcript.turns.push(t);
                    if !call_ids.insert(call_id.clone()) {
                        return Err(AgentError::Protocol {
                            message: format!(
                                "call_id `{call_id}` was used twice in one turn (tool `{name}`): each tool call needs its own id, the tool result answers it"
                            ),
                            stderr: String::new(),
                        });
                    }

                    let registered = fixtures.registry.get(&name).cloned();
                    let note = |kind, version: Option<String>| ReplayNote { kind, turn: call_turn, tool: name.clone(), version, arguments: arguments.clone() };
                    match (&registered, &version) {
                        (None, _) => r.notes.push(note(NoteKind::UnknownTool, version.clone())),
                        (Some(reg), Some(v)) if reg != v => r.notes.push(note(NoteKind::VersionMismatch, Some(v.clone()))),
                        _ => {}
                    }
                    let effective = version.clone().or(registered).unwrap_or_default();
                    let key = (name.clone(), effective.clone(), match_key(&arguments));
                    let (content, is_error) = match fixtures.by_key.get(&key) {
                        Some((v, e)) => (v.clone(), *e),
                        None => {
                            r.notes.push(note(NoteKind::MissingFixture, Some(effective)));
                            if policy == MissingFixturePolicy::End {
                                r.transcript.outcome.ended_reason = Some("missing-fixture".into());
                                return Ok(());
                            }
                            (json!({"error": "no recorded fixture for this call (ratchet replay)"}), true)
                        }
                    };
                    let mut t = turn(Role::Tool, String::new());
                    t.tool_result = Some(ToolResult { call_id: call_id.clone(), name: name.clone(), content: content.clone(), is_error });
                    r.transcript.turns.push(t);
                    event = session.tool_result(&call_id, &content, is_error)?;
                }
            }
        }
    }
    r.transcript.outcome.ended_reason = Some("script-complete".into());
    Ok(())
}
