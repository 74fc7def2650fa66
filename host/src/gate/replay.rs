//! Replays one scenario against an agent session: the scripted customer lines in
//! order, the agent's tool calls answered, and the resulting transcript (a
//! canonical conversation) and world for the criteria to judge.
//!
//! A tool call is answered, in this order, by:
//! 1. **an exact recorded fixture** (tool, version, canonical arguments); the k-th
//!    identical call gets the k-th recorded answer (a retry after an error gets
//!    what production answered the retry, if it was recorded);
//! 2. **the scenario's simulator** (`[world]`), which answers from the world;
//!    without a simulator, a call past the recorded answers gets the last one;
//! 3. **the missing-fixture policy** (`--on-missing-fixture`): an error result, or
//!    the end of the scenario; the call is noted either way.
//!
//! With a simulator, every call also moves the world forward (unless its
//! recorded answer was an error: a rejected call changes nothing), so a mutation
//! is visible to later reads and `world-state` criteria see where it left things.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::world::WorldTrace;
use crate::agent::{AgentError, AgentEvent, Session};
use crate::plugin::{Plugin, PluginError, ToolRequest};
use crate::schema::{canonical_json, Conversation, Outcome, Role, Scenario, ScriptPolicy, ToolCall, ToolResult, Turn, WhenDone};

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
    /// No recorded fixture matched; the scenario's simulator answered.
    Simulated,
    /// The script had run out: a simulated customer said this line (`tool` is empty,
    /// `arguments` holds `{"said": LINE}`).
    SimulatedCustomer,
}

/// Why a replay could not be driven to its end (the verdict is `error`).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The agent under test failed (crash, hang, garbage, loop).
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// The scenario's tool simulator failed (trap, fuel, malformed answer).
    #[error("tool simulator: {0}")]
    Simulator(#[from] PluginError),
    /// The simulated customer had no line to give (no recording in replay, no model).
    #[error("simulated customer: {0}")]
    Customer(String),
}

/// Where a simulated customer's lines come from when a scenario's script runs out
/// (`[script] when_done = "simulate"`): recorded model answers (see
/// [`super::customer`]).
pub trait Customer: Sync {
    /// The customer's next line after `transcript`, or `None` when they are done.
    fn next_line(&self, policy: &ScriptPolicy, transcript: &Conversation) -> Result<Option<String>, String>;
}

/// How to replay: fixtures, policy, loop guard, and what answers beyond the recording.
#[derive(Clone, Copy)]
pub struct Replayer<'a> {
    /// The scenario's fixtures, indexed.
    pub fixtures: &'a Fixtures,
    /// Calls nothing answers.
    pub policy: MissingFixturePolicy,
    /// Loop guard: tool calls per agent turn.
    pub max_tool_calls: u32,
    /// The scenario's simulator, when it has a `[world]`.
    pub simulator: Option<Simulator<'a>>,
    /// The simulated customer, for scenarios whose script may be continued.
    pub customer: Option<&'a dyn Customer>,
}

/// The result of replaying a scenario once.
#[derive(Debug)]
pub struct Replay {
    /// The transcript, with the scenario's state; `outcome.escalated` set on hand-off.
    pub transcript: Conversation,
    /// Unanswered or suspicious tool calls, and calls the simulator answered.
    pub notes: Vec<ReplayNote>,
    /// The world before and after (scenarios with a `[world]`).
    pub world: Option<WorldTrace>,
    /// Set when the replay could not be driven to the end (verdict `error`).
    pub error: Option<ReplayError>,
}

/// A scenario's simulator for one replay: the loaded plugin and its parameters.
#[derive(Clone, Copy)]
pub struct Simulator<'a> {
    /// The simulator component (world `simulator`).
    pub plugin: &'a Plugin,
    /// Its parameters (the scenario's `[world] params`).
    pub params: &'a Value,
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

type Key = (String, String, String);

/// Fixture index: (tool, version, canonical arguments) → the recorded answers
/// (result, is_error), in the order they were recorded.
pub struct Fixtures {
    by_key: BTreeMap<Key, Vec<(Value, bool)>>,
    registry: BTreeMap<String, String>,
}

impl Fixtures {
    /// Index a scenario's fixtures (validated at load, so results parse).
    pub fn new(s: &Scenario) -> Fixtures {
        let mut by_key: BTreeMap<Key, Vec<(Value, bool)>> = BTreeMap::new();
        for f in &s.fixtures {
            let key = (f.tool.clone(), f.version.clone(), match_key(&f.arguments));
            by_key.entry(key).or_default().push((f.result_value().unwrap_or(Value::Null), f.is_error));
        }
        let registry = s.state.tool_registry.iter().map(|t| (t.id.clone(), t.version.clone())).collect();
        Fixtures { by_key, registry }
    }

    /// The recorded answer for the `n`-th (0-based) call with `key`: the n-th
    /// recorded one; past the last, the last again when `repeat_last` (no simulator
    /// to ask instead).
    fn answer(&self, key: &Key, n: usize, repeat_last: bool) -> Option<&(Value, bool)> {
        let list = self.by_key.get(key)?;
        list.get(n).or(if repeat_last { list.last() } else { None })
    }
}

fn turn(role: Role, text: String) -> Turn {
    Turn { role, text, tool_calls: vec![], tool_result: None, offset_ms: None, latency_ms: None }
}

/// Replay `scenario` through `session`, with its simulator when it has a `[world]`.
pub fn replay(scenario: &Scenario, session: &mut dyn Session, how: &Replayer) -> Replay {
    let world = match (&scenario.world, how.simulator) {
        // Validated when the scenario was read.
        (Some(w), Some(_)) => Some(WorldTrace::new(w.state_value().unwrap_or_default())),
        _ => None,
    };
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
            world: None,
            labels: scenario.labels.clone(),
        },
        notes: Vec::new(),
        world,
        error: None,
    };
    if let Err(e) = drive(scenario, session, how, &mut r) {
        r.error = Some(e);
        return r;
    }
    if let Err(e) = session.end() {
        r.error = Some(e.into());
    }
    r
}

/// Whether the conversation goes on after a customer line.
enum Flow {
    /// The agent replied: the next customer line may come.
    Next,
    /// The agent escalated, or the policy ended the scenario.
    Ended,
}

/// Ok(()) when the session ran to its end (all lines played, escalated, or ended by policy).
fn drive(scenario: &Scenario, session: &mut dyn Session, how: &Replayer, r: &mut Replay) -> Result<(), ReplayError> {
    let mut used: BTreeMap<Key, usize> = BTreeMap::new();
    for line in &scenario.turns {
        if let Flow::Ended = play(&line.text, session, how, &mut used, r)? {
            return Ok(());
        }
    }
    if let Some(p) = scenario.script.as_ref().filter(|p| p.when_done == WhenDone::Simulate) {
        let customer = how.customer.ok_or_else(|| ReplayError::Customer("the scenario asks for a simulated customer and no model broker is set up".into()))?;
        for _ in 0..p.max_turns {
            let Some(said) = customer.next_line(p, &r.transcript).map_err(ReplayError::Customer)? else { break };
            r.notes.push(ReplayNote {
                kind: NoteKind::SimulatedCustomer,
                turn: r.transcript.turns.len() as u32,
                tool: String::new(),
                version: None,
                arguments: json!({ "said": said }),
            });
            if let Flow::Ended = play(&said, session, how, &mut used, r)? {
                return Ok(());
            }
        }
    }
    r.transcript.outcome.ended_reason = Some("script-complete".into());
    Ok(())
}

/// Play one customer line and answer the agent's tool calls until it replies.
fn play(text: &str, session: &mut dyn Session, how: &Replayer, used: &mut BTreeMap<Key, usize>, r: &mut Replay) -> Result<Flow, ReplayError> {
    let (fixtures, simulator) = (how.fixtures, how.simulator);
    r.transcript.turns.push(turn(Role::Customer, text.to_string()));
    let mut event = session.customer_message(text)?;
    let mut calls = 0;
    // A call id names one tool call and its result answers that call only: two
    // calls with one id in a turn make the transcript ambiguous.
    let mut call_ids = std::collections::BTreeSet::new();
    loop {
        match event {
            AgentEvent::Message(text) => {
                r.transcript.turns.push(turn(Role::Agent, text));
                return Ok(Flow::Next);
            }
            AgentEvent::Escalate(reason) => {
                r.transcript.turns.push(turn(Role::System, format!("escalated to a human: {reason}")));
                r.transcript.outcome.escalated = true;
                r.transcript.outcome.ended_reason = Some("agent-escalated".into());
                return Ok(Flow::Ended);
            }
            AgentEvent::ToolCall { call_id, name, version, arguments } => {
                calls += 1;
                if calls > how.max_tool_calls {
                    return Err(AgentError::ToolLoop(how.max_tool_calls).into());
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
                    }
                    .into());
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
                let nth = used.entry(key.clone()).or_insert(0);
                let recorded = fixtures.answer(&key, *nth, simulator.is_none() || r.world.is_none()).cloned();
                *nth += 1;
                // The simulator sees every call, to move the world forward.
                let simulated = match (simulator, &r.world) {
                    (Some(sim), Some(w)) => {
                        let request = ToolRequest { tool: name.clone(), version: effective.clone(), arguments: arguments.clone() };
                        sim.plugin.simulate(&canonical_json(&w.last), &request, sim.params)?.output
                    }
                    _ => None,
                };
                let (content, is_error) = match (recorded, simulated) {
                    (Some((v, e)), sim) => {
                        // A call production rejected changes nothing, whatever the model says.
                        if let (Some(a), Some(w), false) = (sim, r.world.as_mut(), e) {
                            w.advance(call_turn, &name, a.world);
                        }
                        (v, e)
                    }
                    (None, Some(a)) => {
                        r.notes.push(note(NoteKind::Simulated, Some(effective.clone())));
                        if let Some(w) = r.world.as_mut() {
                            w.advance(call_turn, &name, a.world);
                        }
                        (a.result, a.is_error)
                    }
                    (None, None) => {
                        r.notes.push(note(NoteKind::MissingFixture, Some(effective)));
                        if how.policy == MissingFixturePolicy::End {
                            r.transcript.outcome.ended_reason = Some("missing-fixture".into());
                            return Ok(Flow::Ended);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::recorded::RecordedDriver;
    use crate::agent::Driver;

    /// A recorded run that looks the account up three times with the same arguments.
    fn three_lookups() -> Conversation {
        let call = |id: &str| json!({"role": "agent", "tool_calls": [{"id": id, "name": "lookup_account", "arguments": {"email": "e@x"}}]});
        let result = |id: &str| json!({"role": "tool", "tool_result": {"call_id": id, "name": "lookup_account", "content": {"n": id}}});
        serde_json::from_value(json!({
            "id": "c", "channel": "chat",
            "turns": [{"role": "customer", "text": "hi"}, call("a"), result("a"), call("b"), result("b"), call("c"), result("c"), {"role": "agent", "text": "ok"}],
        }))
        .unwrap()
    }

    fn scenario(fixtures: &str) -> Scenario {
        Scenario::parse(
            &format!(
                "id = \"s\"\ntitle = \"t\"\nfailure_mode = \"m\"\n[[turns]]\ntext = \"hi\"\n{fixtures}\n[[criteria]]\nid = \"c\"\nkind = \"must-escalate\"\n"
            ),
            "s",
        )
        .unwrap()
    }

    fn answers(s: &Scenario) -> (Vec<(Value, bool)>, Vec<NoteKind>) {
        let mut driver = RecordedDriver::new(&three_lookups());
        let mut session = driver.start(s).unwrap();
        let fixtures = Fixtures::new(s);
        let how = Replayer { fixtures: &fixtures, policy: MissingFixturePolicy::Error, max_tool_calls: 8, simulator: None, customer: None };
        let r = replay(s, session.as_mut(), &how);
        assert!(r.error.is_none(), "{:?}", r.error);
        let results = r.transcript.turns.iter().filter_map(|t| t.tool_result.as_ref()).map(|x| (x.content.clone(), x.is_error)).collect();
        (results, r.notes.iter().map(|n| n.kind).collect())
    }

    #[test]
    fn the_kth_identical_call_gets_the_kth_recorded_answer_then_the_last() {
        let fixture = |result: &str, err: bool| {
            format!("[[fixtures]]\ntool = \"lookup_account\"\nversion = \"\"\narguments = {{ email = \"e@x\" }}\nresult = {result}\nis_error = {err}\n")
        };
        // A timeout, then the retry that worked: answered in order; past the end (no
        // simulator to ask) the last answer again.
        let s = scenario(&(fixture("{ error = \"timeout\" }", true) + &fixture("{ status = \"active\" }", false)));
        let (got, notes) = answers(&s);
        assert_eq!(got, vec![(json!({"error": "timeout"}), true), (json!({"status": "active"}), false), (json!({"status": "active"}), false)]);
        assert_eq!(notes, vec![NoteKind::UnknownTool; 3], "lookup_account is not in this scenario's registry");
        // No fixture at all: every call is noted and answered with an error.
        let (got, notes) = answers(&scenario(""));
        assert!(got.iter().all(|(_, e)| *e));
        assert_eq!(notes.iter().filter(|k| **k == NoteKind::MissingFixture).count(), 3);
    }
}
