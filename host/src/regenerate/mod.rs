//! Regenerate: a failure event becomes a regression scenario.
//!
//! The customer's lines become the script (verbatim, in order), the agent state
//! snapshot becomes the scenario's state, every recorded tool call and its result
//! becomes a replay fixture, and criteria are derived from what went wrong:
//! the scorecards' suggested criteria, built-in rules, the project's guards and
//! the templates for the failure mode (`[regenerate]` in `ratchet.toml`). Personal
//! data is scrubbed first ([`scrub`]), consistently everywhere.
//!
//! The scenario is then checked, not hoped: [`reproduce`] replays it against the
//! recorded behaviour ([`crate::agent::recorded`]) and it must fail there; a
//! scenario whose criteria all pass on the failing conversation is rejected.

pub mod render;
pub mod scrub;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::agent::Driver;
use crate::config::{ConversationConfig, RegenerateConfig};
use crate::gate::criteria::{self, AssertionPlugins};
use crate::gate::replay::{match_key, MissingFixturePolicy};
use crate::gate::{GateOptions, Harness, ScenarioResult};
use crate::plugin::{Observed, Plugin, ToolRequest};
use crate::schema::id::slug;
use crate::schema::{
    canonical_json, Check, Conversation, Criterion, FailureEvent, Fixture, FlagReason, HistoryEntry, Provenance, Role, Scenario, ScriptedTurn, Tier, World,
};
use crate::suite::Loaded;
use scrub::{Place, ScrubReport, Scrubber};

/// A regenerated scenario and everything a person (or `promote`) wants to know about it.
#[derive(Debug, Clone)]
pub struct Regenerated {
    /// The scenario.
    pub scenario: Scenario,
    /// Where each criterion came from (same order as `scenario.criteria`).
    pub origins: Vec<String>,
    /// The flagged conversation after scrubbing: what the recorded agent plays back.
    pub recorded: Conversation,
    /// What was scrubbed (counts only).
    pub scrubbed: ScrubReport,
    /// Things a person should look at (calls without results, dropped nulls...).
    pub warnings: Vec<String>,
}

/// Why an event cannot become a scenario.
#[derive(Debug, thiserror::Error)]
pub enum RegenerateError {
    /// The conversation has no customer line to script.
    #[error("event `{event}`: the conversation has no customer turn, so there is nothing to script")]
    NoCustomerTurns {
        /// The event id.
        event: String,
    },
    /// The tool simulator could not reconstruct or replay the conversation's world.
    #[error("event `{event}`: tool simulator `{simulator}`: {message}")]
    Simulator {
        /// The event id.
        event: String,
        /// The simulator's name in ratchet.toml.
        simulator: String,
        /// What failed.
        message: String,
    },
    /// Nothing said what went wrong in a way a criterion can check.
    #[error(
        "event `{event}`: no criterion could be derived (no scorecard suggested one, no built-in rule or guard applies, no template for failure mode `{failure_mode}`); add a [[regenerate.templates]] entry for it in ratchet.toml"
    )]
    NoCriteria {
        /// The event id.
        event: String,
        /// Its failure mode.
        failure_mode: String,
    },
}

/// What regeneration needs besides the event.
pub struct Options<'a> {
    /// `[regenerate]` from `ratchet.toml`.
    pub config: &'a RegenerateConfig,
    /// `[detect] expected_escalation_pattern`: a customer asking for a human.
    pub escalation_pattern: &'a str,
    /// `[conversation]`: escalation tools, failed tool results.
    pub rules: &'a ConversationConfig,
    /// The `[regenerate] simulator`, loaded: seeds each scenario's `[world]`.
    pub simulator: Option<NamedSimulator<'a>>,
    /// RFC 3339 time recorded in the scenario's history.
    pub now: String,
}

/// A tool simulator and the name scenarios refer to it by.
#[derive(Clone, Copy)]
pub struct NamedSimulator<'a> {
    /// Its `[plugins]` name (written into `[world] simulator`).
    pub name: &'a str,
    /// The loaded component.
    pub plugin: &'a Plugin,
    /// Its parameters (written into `[world] params`).
    pub params: &'a Value,
}

/// The failure mode of an event: the event's own, else named after its first reason.
pub fn failure_mode(event: &FailureEvent) -> String {
    if let Some(m) = event.failure_mode.as_deref().filter(|m| !m.trim().is_empty()) {
        return m.to_string();
    }
    match event.reasons.first() {
        Some(FlagReason::UnexpectedEscalation) => "unexpected-escalation".into(),
        Some(FlagReason::ComplianceFlag { flag }) => slug(flag),
        Some(FlagReason::Complaint) => "customer-complaint".into(),
        Some(FlagReason::BelowThreshold { scorecard, .. }) => format!("{}-below-threshold", slug(scorecard)),
        None => "unclassified".into(),
    }
}

fn has_null(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.iter().any(has_null),
        Value::Object(o) => o.values().any(has_null),
        _ => false,
    }
}

fn excerpt(s: &str, n: usize) -> String {
    let mut e: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        e.push('…');
    }
    e
}

/// The order events are regenerated in, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOrder {
    /// Indices into the events, in the order to take them.
    pub indices: Vec<usize>,
    /// True: oldest first (every event has a time). False: input order, because
    /// `undated` events carry no time to order them by.
    pub by_time: bool,
    /// Events with neither `detected_at` nor a conversation `started_at`.
    pub undated: usize,
}

/// Oldest first when every event carries a time ([`FailureEvent::time`]; ties keep
/// input order); input order otherwise: an export without times has nothing else to
/// go by, and half-sorting would interleave the undated events arbitrarily.
pub fn order(events: &[FailureEvent]) -> EventOrder {
    let times: Vec<Option<i64>> = events.iter().map(FailureEvent::time).collect();
    let undated = times.iter().filter(|t| t.is_none()).count();
    let mut indices: Vec<usize> = (0..events.len()).collect();
    let by_time = undated == 0;
    if by_time {
        indices.sort_by_key(|&i| times[i]);
    }
    EventOrder { indices, by_time, undated }
}

/// Turn a failure event into a scenario (not yet checked: see [`reproduce`]).
pub fn regenerate(event: &FailureEvent, opts: &Options) -> Result<Regenerated, RegenerateError> {
    let mut scrubber = Scrubber::new(&opts.config.scrub, &event.conversation.state);
    let recorded = scrubber.conversation(&event.conversation);
    let mut warnings = Vec::new();
    let mode = failure_mode(event);

    let turns: Vec<ScriptedTurn> = recorded.turns.iter().filter(|t| t.role == Role::Customer).map(|t| ScriptedTurn { text: t.text.clone() }).collect();
    if turns.is_empty() {
        return Err(RegenerateError::NoCustomerTurns { event: event.event_id.clone() });
    }

    // State: TOML has no null, so memory entries holding one are left out (a
    // missing entry reads the same as a null one to every criterion).
    let mut state = recorded.state.clone();
    state.memory_snapshot.retain(|e| {
        let keep = !has_null(&e.value);
        if !keep {
            warnings.push(format!("memory entry `{}` holds a null: left out of the scenario's state (TOML has no null)", e.key));
        }
        keep
    });

    let fixtures = fixtures(&recorded, &mut warnings);

    // Criteria, from every source, first origin wins on duplicates.
    let mut criteria: Vec<(Criterion, String)> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut add = |c: Criterion, origin: String, list: &mut Vec<(Criterion, String)>| {
        let key = canonical_json(&serde_json::to_value(&c.check).unwrap_or_default());
        if seen.insert(key) {
            list.push((c, origin));
        }
    };

    for run in &event.scorecards {
        let digest = run
            .plugin_digest
            .strip_prefix("sha256:")
            .map(|d| format!("sha256:{}", d.chars().take(12).collect::<String>()))
            .unwrap_or_else(|| run.plugin_digest.clone());
        for (i, s) in run.result.suggested_criteria.iter().enumerate() {
            let params = scrubber.value(&s.params, Place::Criteria);
            let mut obj = match params {
                Value::Object(o) => o,
                _ => {
                    warnings.push(format!("scorecard `{}` suggested criterion {i} ({}) with parameters that are not an object: skipped", run.name, s.kind));
                    continue;
                }
            };
            obj.insert("kind".into(), json!(s.kind));
            match serde_json::from_value::<Check>(Value::Object(obj)) {
                Ok(check) => {
                    let why = scrubber.text(&s.reason, Place::Criteria);
                    add(Criterion { id: String::new(), why: Some(why), check }, format!("suggested by scorecard `{}` ({digest})", run.name), &mut criteria)
                }
                Err(e) => warnings.push(format!("scorecard `{}` suggested an invalid `{}` criterion: {e}; skipped", run.name, s.kind)),
            }
        }
    }

    // Built-in rules.
    if event.reasons.iter().any(|r| matches!(r, FlagReason::UnexpectedEscalation)) {
        add(
            Criterion {
                id: String::new(),
                why: Some("the conversation was escalated to a human although the customer did not ask for one".into()),
                check: Check::MustNotEscalate {},
            },
            "built-in rule: unexpected escalation → must-not-escalate".into(),
            &mut criteria,
        );
    }
    if let Ok(re) = regex::Regex::new(opts.escalation_pattern) {
        let asked = recorded.turns.iter().enumerate().find(|(_, t)| t.role == Role::Customer && re.is_match(&t.text));
        if let Some((i, t)) = asked {
            if opts.rules.escalation(&recorded).is_none() {
                add(
                    Criterion {
                        id: String::new(),
                        why: Some(format!("the customer asked for a human at turn {i} (\"{}\") and was not handed off", excerpt(&t.text, 60))),
                        check: Check::MustEscalate {},
                    },
                    "built-in rule: escalation asked for but missed → must-escalate".into(),
                    &mut criteria,
                );
            }
        }
    }

    // The project's guards: added when they fail on the flagged conversation.
    let no_plugins = AssertionPlugins::new();
    let ctx = criteria::Context::new(&no_plugins, opts.rules);
    for (i, g) in opts.config.guards.iter().enumerate() {
        match criteria::evaluate(g, &recorded, &ctx) {
            Ok(o) if !o.passed => {
                let why = g.why.clone().map(|w| format!("{w} ({})", o.reason)).unwrap_or(o.reason);
                add(
                    Criterion { id: g.id.clone(), why: Some(why), check: g.check.clone() },
                    format!("guard `{}` (regenerate.guards[{i}] in ratchet.toml) fails on this conversation", g.id),
                    &mut criteria,
                )
            }
            Ok(_) => {}
            Err(e) => warnings.push(format!("guard `{}` could not be evaluated: {e}", g.id)),
        }
    }
    for t in opts.config.templates.iter().filter(|t| t.failure_mode == mode) {
        for c in &t.criteria {
            add(c.clone(), format!("template for failure mode `{mode}` in ratchet.toml"), &mut criteria);
        }
    }
    // The world: seeded by the simulator from what the conversation observed, then
    // moved forward by its recorded calls. What a forbidden call left in the world
    // becomes a `world-state` criterion — "must not end up like this" — robust
    // whichever path (or tool) a fix or a regression takes.
    let mut world = None;
    if let Some(sim) = opts.simulator {
        let fail = |message: String| RegenerateError::Simulator { event: event.event_id.clone(), simulator: sim.name.to_string(), message };
        let observed = observed_calls(&recorded);
        let list: Vec<Observed> = observed.iter().map(|(_, o)| o.clone()).collect();
        // The world the platform captured (scrubbed with the rest), else the one the
        // simulator reconstructs from what the conversation observed.
        let initial = match &recorded.world {
            Some(w) if w.is_object() => w.clone(),
            Some(_) => return Err(fail("the conversation's `world` is not a JSON object".into())),
            None => sim.plugin.seed(&list, sim.params).map_err(|e| fail(e.to_string()))?.output,
        };
        if !initial.is_object() {
            return Err(fail("seed returned a world that is not a JSON object".into()));
        }
        let after = replay_recorded(&initial, &observed, sim).map_err(fail)?;
        let mut outcome_checks = Vec::new();
        for (c, _) in &criteria {
            let Check::MustNotCallTool { tool, .. } = &c.check else { continue };
            let (calls, _) = criteria::forbidden_calls(&c.check, &recorded, opts.rules);
            for bad in calls.iter().filter(|x| !x.allowed) {
                let Some((before, world_after)) = after.get(&bad.turn) else { continue };
                for path in crate::gate::world::diff_paths(before, world_after) {
                    // A removal has no "must not be" value; the call criterion covers it.
                    let Some(value) = world_after.pointer(&path).filter(|v| !v.is_null()).cloned() else { continue };
                    outcome_checks.push((tool.clone(), bad.turn, path, value));
                }
            }
        }
        for (tool, turn, path, value) in outcome_checks {
            let shown = excerpt(&value.to_string(), 80);
            add(
                Criterion {
                    id: String::new(),
                    why: Some(format!(
                        "the forbidden `{tool}` call at turn {turn} left `{path}` = {shown} in the world: whatever path the agent takes, the world must not end up like that"
                    )),
                    check: Check::WorldState { path, equals: None, not_equals: Some(value), unchanged: false, absent: false },
                },
                format!("built-in rule: what a forbidden `{tool}` call changed in the world → world-state not_equals (simulator `{}`)", sim.name),
                &mut criteria,
            );
        }
        let mut text = serde_json::to_string_pretty(&initial).expect("a world is JSON");
        text.push('\n');
        world = Some(World { simulator: sim.name.to_string(), params: sim.params.clone(), state: None, state_json: Some(text) });
    }
    if criteria.is_empty() {
        return Err(RegenerateError::NoCriteria { event: event.event_id.clone(), failure_mode: mode });
    }
    let (criteria, origins) = name_criteria(criteria);

    let title = title(event, &mut scrubber, &mode);
    let when = recorded.started_at.clone().or_else(|| event.detected_at.clone());
    let script = opts.config.simulate_customer.then(|| script_policy(&turns, &state));
    let mut scenario = Scenario {
        schema_version: Default::default(),
        id: String::new(),
        title,
        failure_mode: mode.clone(),
        tags: vec!["regenerated".into(), format!("{:?}", recorded.channel).to_lowercase()],
        tier: Tier::Fast,
        channel: recorded.channel,
        provenance: Provenance {
            source_conversations: vec![recorded.id.clone()],
            source_event: Some(event.event_id.clone()),
            hits: 1,
            first_seen: when.clone(),
            last_seen: when,
            created_by: Some("ratchet regenerate".into()),
        },
        impact: recorded.impact.clone(),
        state,
        labels: recorded.labels.clone(),
        script,
        turns,
        fixtures,
        world,
        criteria,
        history: vec![HistoryEntry {
            at: opts.now.clone(),
            action: "created".into(),
            detail: format!("regenerated from failure event {} (conversation {})", event.event_id, recorded.id),
        }],
        // The run without its captured world (that is the [world] section already).
        recording: Some(crate::schema::Recording {
            conversation_json: serde_json::to_string_pretty(&Conversation { world: None, ..recorded.clone() }).expect("a conversation is JSON") + "\n",
        }),
    };
    scenario.id = content_id(&scenario);
    Ok(Regenerated { scenario, origins, recorded, scrubbed: scrubber.report().clone(), warnings })
}

/// The simulated customer's brief: the goal is the customer's first line, the facts
/// what they disclosed (scrubbed placeholders and identifiers in their lines, the
/// customer's memory entries). Everything here is already scrubbed.
fn script_policy(turns: &[ScriptedTurn], state: &crate::schema::AgentState) -> crate::schema::ScriptPolicy {
    static TOKEN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let token = TOKEN.get_or_init(|| regex::Regex::new(r"\[[A-Z][A-Z_]*_\d+\]|\b[A-Z]{1,6}-?\d{3,}\b").expect("a valid pattern"));
    let mut facts: Vec<String> = Vec::new();
    for t in turns {
        for m in token.find_iter(&t.text) {
            let f = format!("you mentioned {}", m.as_str());
            if !facts.contains(&f) {
                facts.push(f);
            }
        }
    }
    for e in state.memory_snapshot.iter().filter(|e| e.key.starts_with("customer.")) {
        if let Some(v) = e.value.as_str() {
            facts.push(format!("your {} is {v}", e.key.trim_start_matches("customer.").replace('_', " ")));
        }
    }
    crate::schema::ScriptPolicy {
        when_done: crate::schema::WhenDone::Simulate,
        goal: turns.first().map(|t| t.text.clone()).unwrap_or_default(),
        facts,
        max_turns: 3,
    }
}

/// Every call of a recorded conversation that got a result, with that result and
/// the turn of the call, in the order of the results (what a simulator seeds a
/// world from).
pub fn observed_calls(c: &Conversation) -> Vec<(usize, Observed)> {
    let registry: BTreeMap<&str, &str> = c.state.tool_registry.iter().map(|t| (t.id.as_str(), t.version.as_str())).collect();
    let mut calls: BTreeMap<&str, (usize, &crate::schema::ToolCall)> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, t) in c.turns.iter().enumerate() {
        for call in &t.tool_calls {
            calls.insert(call.id.as_str(), (i, call));
        }
        let Some(r) = &t.tool_result else { continue };
        let Some((at, call)) = calls.remove(r.call_id.as_str()) else { continue };
        let version = registry.get(call.name.as_str()).map(|v| v.to_string()).unwrap_or_default();
        out.push((
            at,
            Observed {
                request: ToolRequest { tool: call.name.clone(), version, arguments: call.arguments.clone() },
                result: r.content.clone(),
                is_error: r.is_error,
            },
        ));
    }
    out
}

/// The recorded calls replayed through the simulator from `initial`: for each call
/// turn, the world before and after the call (a call production rejected changes
/// nothing, and is left out).
fn replay_recorded(initial: &Value, observed: &[(usize, Observed)], sim: NamedSimulator) -> Result<BTreeMap<usize, (Value, Value)>, String> {
    let mut world = initial.clone();
    let mut out = BTreeMap::new();
    for (turn, o) in observed {
        if o.is_error {
            continue;
        }
        let answer = sim.plugin.simulate(&canonical_json(&world), &o.request, sim.params).map_err(|e| e.to_string())?.output;
        if let Some(a) = answer {
            out.insert(*turn, (world, a.world.clone()));
            world = a.world;
        }
    }
    Ok(out)
}

/// Every recorded tool call with its result, as fixtures keyed like replay keys them.
fn fixtures(c: &Conversation, warnings: &mut Vec<String>) -> Vec<Fixture> {
    let registry: BTreeMap<&str, &str> = c.state.tool_registry.iter().map(|t| (t.id.as_str(), t.version.as_str())).collect();
    let mut calls: BTreeMap<&str, (usize, &crate::schema::ToolCall)> = BTreeMap::new();
    let mut answered: BTreeSet<&str> = BTreeSet::new();
    let mut out: Vec<Fixture> = Vec::new();
    let mut keys: BTreeMap<(String, String, String), Vec<usize>> = BTreeMap::new();
    for (i, t) in c.turns.iter().enumerate() {
        for call in &t.tool_calls {
            calls.insert(call.id.as_str(), (i, call));
        }
        let Some(r) = &t.tool_result else { continue };
        let Some(&(at, call)) = calls.get(r.call_id.as_str()) else {
            warnings.push(format!("turn {i}: a `{}` result answers call `{}`, which was never made: no fixture", r.name, r.call_id));
            continue;
        };
        answered.insert(call.id.as_str());
        let version = match registry.get(call.name.as_str()) {
            Some(v) => v.to_string(),
            None => {
                warnings.push(format!("turn {at}: `{}` is not in the state's tool registry: its fixture has an empty version", call.name));
                String::new()
            }
        };
        if has_null(&call.arguments) || !call.arguments.is_object() {
            warnings.push(format!("turn {at}: the arguments of `{}` are not a table without nulls: no fixture (the replay will report the call)", call.name));
            continue;
        }
        let key = (call.name.clone(), version.clone(), match_key(&call.arguments));
        let (result, result_json) = if has_null(&r.content) { (None, Some(canonical_json(&r.content))) } else { (Some(r.content.clone()), None) };
        keys.entry(key).or_default().push(out.len());
        out.push(Fixture { tool: call.name.clone(), version, arguments: call.arguments.clone(), result, result_json, is_error: r.is_error });
    }
    // The same call answered again: the replay answers the k-th identical call with
    // the k-th recorded answer, so when the answers differ (a retry that worked, a
    // read after a write) every one is kept, in order; when they are all the same,
    // one fixture says it all.
    let mut drop: BTreeSet<usize> = BTreeSet::new();
    for positions in keys.values().filter(|p| p.len() > 1) {
        let first = &out[positions[0]];
        if positions[1..].iter().all(|&j| out[j].result == first.result && out[j].result_json == first.result_json && out[j].is_error == first.is_error) {
            drop.extend(positions[1..].iter().copied());
        }
    }
    let out: Vec<Fixture> = out.into_iter().enumerate().filter(|(i, _)| !drop.contains(i)).map(|(_, f)| f).collect();
    for (id, (at, call)) in &calls {
        if !answered.contains(id) {
            warnings.push(format!("turn {at}: the call to `{}` has no recorded result: no fixture (the replay will report the call)", call.name));
        }
    }
    out
}

/// Readable, unique ids: `must-not-call-tool-cancel_subscription`, `must-say`, `must-say-2`...
fn name_criteria(list: Vec<(Criterion, String)>) -> (Vec<Criterion>, Vec<String>) {
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut criteria = Vec::new();
    let mut origins = Vec::new();
    for (mut c, origin) in list {
        let base = if !c.id.is_empty() {
            c.id.clone()
        } else {
            match &c.check {
                Check::MustCallTool { tool, .. } | Check::MustNotCallTool { tool, .. } => format!("{}-{tool}", criteria::kind_name(&c.check)),
                Check::Plugin { plugin, .. } => format!("plugin-{}", slug(plugin)),
                other => criteria::kind_name(other).to_string(),
            }
        };
        let mut id = base.clone();
        let mut n = 2;
        while used.contains(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        used.insert(id.clone());
        c.id = id;
        criteria.push(c);
        origins.push(origin);
    }
    (criteria, origins)
}

fn title(event: &FailureEvent, scrubber: &mut Scrubber, mode: &str) -> String {
    let flagged: BTreeSet<&str> =
        event.reasons.iter().filter_map(|r| if let FlagReason::BelowThreshold { scorecard, .. } = r { Some(scorecard.as_str()) } else { None }).collect();
    let reason = event
        .scorecards
        .iter()
        .filter(|r| flagged.contains(r.name.as_str()))
        .flat_map(|r| r.result.criteria.iter())
        .find(|c| !c.passed)
        .map(|c| c.reason.clone());
    match reason {
        Some(r) => excerpt(&scrubber.text(&r, Place::Criteria), 160),
        None => format!("{mode} (regenerated from {})", event.conversation.id),
    }
}

/// The scenario's content-hash id: `<failure-mode>-<12 hex of sha256>` over what
/// makes the scenario what it is (script, state, fixtures, criteria), so the same
/// failure regenerated twice gets the same id.
pub fn content_id(s: &Scenario) -> String {
    let checks: Vec<Value> = s.criteria.iter().map(|c| serde_json::to_value(&c.check).unwrap_or_default()).collect();
    let content = json!({
        "failure_mode": s.failure_mode,
        "turns": s.turns.iter().map(|t| &t.text).collect::<Vec<_>>(),
        "state": serde_json::to_value(&s.state).unwrap_or_default(),
        "fixtures": serde_json::to_value(&s.fixtures).unwrap_or_default(),
        "criteria": checks,
    });
    let digest = Sha256::digest(canonical_json(&content).as_bytes());
    // Ids are file names: the failure-mode part is cut so the id stays well within
    // the id grammar's length (schema::id::MAX_ID_LEN).
    let mode: String = slug(&s.failure_mode).chars().take(96).collect();
    format!("{}-{}", mode.trim_end_matches('-'), &hex::encode(digest)[..12])
}

/// Replay `scenario` once through `driver` (the recorded agent, or a candidate fix).
pub fn reproduce(scenario: &Scenario, driver: &mut dyn Driver, harness: &Harness, max_tool_calls: u32) -> ScenarioResult {
    let loaded = Loaded { file: PathBuf::from(format!("{}.toml", scenario.id)), scenario: scenario.clone() };
    let opts = GateOptions { jobs: 1, repeat: 1, on_missing_fixture: MissingFixturePolicy::Error, budget: None, max_tool_calls };
    crate::gate::run_scenario(&loaded, driver, harness, &opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_digests_in_the_event_do_not_panic() {
        // The digest comes from the event file: it is shortened by characters, not bytes.
        let event: FailureEvent = serde_json::from_value(json!({
            "event_id": "e", "reasons": [{"kind": "complaint"}],
            "scorecards": [{"name": "s", "plugin_digest": "sha256:aéééééééééééé", "threshold": 0.7,
                "result": {"score": 0.1, "suggested_criteria": [{"kind": "must-escalate", "params": {}, "reason": "r"}]}}],
            "conversation": {"id": "c", "channel": "chat", "turns": [{"role": "customer", "text": "help"}]}
        }))
        .unwrap();
        let cfg = RegenerateConfig::default();
        let rules = ConversationConfig::default();
        let r = regenerate(&event, &Options { config: &cfg, escalation_pattern: "x^", rules: &rules, simulator: None, now: "2026-01-01T00:00:00Z".into() })
            .unwrap();
        assert_eq!(r.origins, vec!["suggested by scorecard `s` (sha256:aééééééééééé)"]);
    }

    #[test]
    fn events_are_taken_oldest_first_or_in_input_order_when_one_has_no_time() {
        let ev = |id: &str, detected: Option<&str>, started: Option<&str>| -> FailureEvent {
            serde_json::from_value(json!({
                "event_id": id, "detected_at": detected, "reasons": [{"kind": "complaint"}],
                "conversation": {"id": id, "channel": "chat", "started_at": started, "turns": []}
            }))
            .unwrap()
        };
        let dated =
            [ev("c", Some("2026-11-24T10:00:00Z"), None), ev("a", None, Some("2026-11-24T08:00:00Z")), ev("b", Some("2026-11-24T09:00:00+00:00"), None)];
        assert_eq!(order(&dated), EventOrder { indices: vec![1, 2, 0], by_time: true, undated: 0 });
        let mixed = [dated[0].clone(), ev("x", None, None), dated[1].clone()];
        assert_eq!(order(&mixed), EventOrder { indices: vec![0, 1, 2], by_time: false, undated: 1 });
    }
}
