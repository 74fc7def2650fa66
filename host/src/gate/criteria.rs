//! Evaluates scenario criteria on a replayed transcript. Every outcome names the
//! criterion, the turn it points at, and a reason a human can act on.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::world::WorldTrace;
use crate::config::ConversationConfig;
use crate::plugin::Plugin;
use crate::schema::pattern::compile;
use crate::schema::{Check, Condition, Conversation, Criterion, Role};

/// The result of one criterion on one replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionOutcome {
    /// The criterion's id.
    pub id: String,
    /// Its kind (`must-not-call-tool`...).
    pub kind: String,
    /// Pass or fail.
    pub passed: bool,
    /// Why, for the report.
    pub reason: String,
    /// The transcript turn it points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<u32>,
}

/// Assertion plugins by the name scenarios use (`plugin = "..."`).
pub type AssertionPlugins = BTreeMap<String, Arc<Plugin>>;

/// What judging a transcript needs besides the criterion: the assertion plugins
/// criteria name, how to read the conversation (`[conversation]`: escalation
/// tools, failed results), and the world the replay left behind, if it had one.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// Assertion plugins by name.
    pub plugins: &'a AssertionPlugins,
    /// `[conversation]` from ratchet.toml.
    pub rules: &'a ConversationConfig,
    /// The replay's world (scenarios with a `[world]`).
    pub world: Option<&'a WorldTrace>,
}

impl<'a> Context<'a> {
    /// A context with plugins and rules and no world.
    pub fn new(plugins: &'a AssertionPlugins, rules: &'a ConversationConfig) -> Context<'a> {
        Context { plugins, rules, world: None }
    }
}

/// The kind name of a check, as written in scenario files.
pub fn kind_name(c: &Check) -> &'static str {
    match c {
        Check::MustCallTool { .. } => "must-call-tool",
        Check::MustNotCallTool { .. } => "must-not-call-tool",
        Check::MustSay { .. } => "must-say",
        Check::MustNotSay { .. } => "must-not-say",
        Check::ToolOrder { .. } => "tool-order",
        Check::MustEscalate {} => "must-escalate",
        Check::WorldState { .. } => "world-state",
        Check::MustNotEscalate {} => "must-not-escalate",
        Check::MaxTurns { .. } => "max-turns",
        Check::Plugin { .. } => "plugin",
    }
}

/// Indices of the agent's replies (agent turns with text), in order.
fn replies(t: &Conversation) -> Vec<usize> {
    t.turns.iter().enumerate().filter(|(_, x)| x.role == Role::Agent && !x.text.is_empty()).map(|(i, _)| i).collect()
}

/// (turn index, call) for every tool call, in order.
fn calls(t: &Conversation) -> Vec<(usize, &crate::schema::ToolCall)> {
    t.turns.iter().enumerate().flat_map(|(i, x)| x.tool_calls.iter().map(move |c| (i, c))).collect()
}

/// The turn index before which something must happen "within N agent replies".
fn deadline(t: &Conversation, within: Option<u32>) -> usize {
    match within {
        None => t.turns.len(),
        // `within_turns = 0` is refused when the scenario loads; treat it as "before anything".
        Some(0) => 0,
        Some(n) => replies(t).get(n as usize - 1).map(|i| i + 1).unwrap_or(t.turns.len()),
    }
}

fn excerpt(s: &str) -> String {
    let mut e: String = s.chars().take(120).collect();
    if s.chars().count() > 120 {
        e.push('…');
    }
    e
}

/// JSON equality that compares numbers by value (1 and 1.0 are equal).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w))),
        _ => a == b,
    }
}

/// `expected` is a subset of `actual`: every key of an expected object is present
/// with a matching value; every item of an expected list is matched by a distinct
/// item of the actual list, in any order (extra actual items are fine); other
/// values compare equal, numbers by value.
pub fn subset(expected: &Value, actual: &Value) -> bool {
    subset_with(expected, actual, false)
}

/// [`subset`], with lists matched in order when `ordered` (the expected items
/// must appear as a subsequence of the actual ones).
pub fn subset_with(expected: &Value, actual: &Value, ordered: bool) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().all(|(k, v)| a.get(k).is_some_and(|w| subset_with(v, w, ordered))),
        (Value::Array(e), Value::Array(a)) if ordered => {
            let mut rest = a.iter();
            e.iter().all(|x| rest.any(|y| subset_with(x, y, true)))
        }
        (Value::Array(e), Value::Array(a)) => lists_match(e, a),
        _ => json_eq(expected, actual),
    }
}

/// Each expected item matched by a distinct actual item (a bipartite matching,
/// augmenting paths): `[{sku: A}, {sku: A}]` needs two `A` lines, not one.
fn lists_match(expected: &[Value], actual: &[Value]) -> bool {
    if expected.len() > actual.len() {
        return false;
    }
    let fits: Vec<Vec<usize>> = expected.iter().map(|x| (0..actual.len()).filter(|&j| subset_with(x, &actual[j], false)).collect()).collect();
    let mut owner: Vec<Option<usize>> = vec![None; actual.len()];
    fn augment(i: usize, fits: &[Vec<usize>], owner: &mut [Option<usize>], seen: &mut [bool]) -> bool {
        for &j in &fits[i] {
            if seen[j] {
                continue;
            }
            seen[j] = true;
            if owner[j].is_none_or(|k| augment(k, fits, owner, seen)) {
                owner[j] = Some(i);
                return true;
            }
        }
        false
    }
    (0..expected.len()).all(|i| augment(i, &fits, &mut owner, &mut vec![false; actual.len()]))
}

/// ` through `TOOL`` when the hand-off at turn `i` was a tool call.
fn by_tool(t: &Conversation, i: usize) -> String {
    t.turns.get(i).and_then(|x| x.tool_calls.first()).map(|c| format!(" through `{}` at turn {i}", c.name)).unwrap_or_default()
}

fn field<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, seg| cur.get(seg))
}

/// Whether `cond` holds at turn `at` (looking only at what came before).
fn holds(t: &Conversation, cond: &Condition, at: usize) -> (bool, String) {
    if let Some(key) = &cond.state {
        return match t.state.memory(key) {
            Some(v) => (json_eq(v, &cond.equals), format!("state `{key}` is {v}")),
            None => (false, format!("state `{key}` is absent")),
        };
    }
    let tool = cond.tool_result.as_deref().unwrap_or_default();
    let path = cond.field.as_deref().unwrap_or_default();
    let latest = t.turns[..at].iter().rev().filter_map(|x| x.tool_result.as_ref()).find(|r| r.name == tool);
    match latest {
        None => (false, format!("`{tool}` had not returned anything before")),
        Some(r) => match field(&r.content, path) {
            Some(v) => (json_eq(v, &cond.equals), format!("`{tool}.{path}` was {v}")),
            None => (false, format!("`{tool}` returned no `{path}`")),
        },
    }
}

/// A call a `must-not-call-tool` criterion looks at: one to its tool, with its
/// arguments, that took effect (or any attempt, with `count_failed_attempts`).
#[derive(Debug, Clone, PartialEq)]
pub struct ForbiddenCall {
    /// The transcript turn of the call.
    pub turn: usize,
    /// The call's id.
    pub call_id: String,
    /// Allowed by the criterion's `unless` condition at that point.
    pub allowed: bool,
    /// What the verdict says about it.
    pub reason: String,
}

/// The calls a `must-not-call-tool` check counts, in order (an allowed call
/// included; stop reading at the first that is not allowed to get the verdict),
/// and how many attempts the tool rejected were left out. Empty for other kinds.
pub fn forbidden_calls(check: &Check, t: &Conversation, rules: &ConversationConfig) -> (Vec<ForbiddenCall>, usize) {
    let Check::MustNotCallTool { tool, unless, arguments, ordered, count_failed_attempts } = check else { return (Vec::new(), 0) };
    let mut out = Vec::new();
    let mut rejected = 0;
    for (i, call) in calls(t).into_iter().filter(|(_, call)| &call.name == tool) {
        if arguments.as_ref().is_some_and(|a| !subset_with(a, &call.arguments, *ordered)) {
            continue;
        }
        if !count_failed_attempts && !rules.took_effect(t, &call.id) {
            rejected += 1;
            continue;
        }
        let (allowed, reason) = match unless {
            None => (false, format!("called `{tool}` with {} at turn {i}", call.arguments)),
            Some(cond) => {
                let (ok, seen) = holds(t, cond, i);
                if ok {
                    (true, format!("`{tool}` was called at turn {i} when allowed ({seen})"))
                } else {
                    (false, format!("called `{tool}` at turn {i} although {seen}; allowed only when it equals {}", cond.equals))
                }
            }
        };
        out.push(ForbiddenCall { turn: i, call_id: call.id.clone(), allowed, reason });
    }
    (out, rejected)
}

/// Why a criterion could not be evaluated. Any of these makes the scenario's
/// verdict `error` (the criterion says nothing about the agent), never `fail`.
#[derive(Debug, thiserror::Error)]
pub enum CriterionError {
    /// The criterion's `pattern` is not a valid regular expression (validation
    /// catches this for scenario files; a criterion built in code can still have one).
    #[error("criterion `{id}`: bad pattern: {message}")]
    BadPattern {
        /// The criterion's id.
        id: String,
        /// What the regex compiler said.
        message: String,
    },
    /// A `world-state` criterion in a scenario replayed without a world.
    #[error("criterion `{id}`: a world-state criterion needs the replay's world (the scenario's [world])")]
    NoWorld {
        /// The criterion's id.
        id: String,
    },
    /// A `plugin` criterion naming an assertion plugin that is not loaded.
    #[error("criterion `{id}`: assertion plugin `{plugin}` is not loaded")]
    PluginNotLoaded {
        /// The criterion's id.
        id: String,
        /// The plugin it names.
        plugin: String,
    },
    /// The assertion plugin failed (trap, fuel, memory, malformed output, ...).
    #[error("criterion `{id}`: {source}")]
    Plugin {
        /// The criterion's id.
        id: String,
        /// The sandbox's typed failure.
        source: crate::plugin::PluginError,
    },
}

/// Evaluate one criterion. `Err` is an evaluation error (a plugin failed, a
/// world-state criterion without a world): the scenario's verdict becomes
/// `error`, not `fail`.
pub fn evaluate(c: &Criterion, t: &Conversation, ctx: &Context) -> Result<CriterionOutcome, CriterionError> {
    let bad_pattern = |message: String| CriterionError::BadPattern { id: c.id.clone(), message };
    let out = |passed: bool, reason: String, turn: Option<usize>| CriterionOutcome {
        id: c.id.clone(),
        kind: kind_name(&c.check).into(),
        passed,
        reason,
        turn: turn.map(|x| x as u32),
    };
    Ok(match &c.check {
        Check::MustCallTool { tool, arguments, within_turns, ordered } => {
            let until = deadline(t, *within_turns);
            let named: Vec<_> = calls(t).into_iter().filter(|(_, call)| &call.name == tool).collect();
            let ok = named.iter().find(|(i, call)| *i < until && arguments.as_ref().is_none_or(|a| subset_with(a, &call.arguments, *ordered)));
            let window = within_turns.map(|n| format!(" within {n} agent replies")).unwrap_or_default();
            match (ok, named.first()) {
                (Some((i, _)), _) => out(true, format!("called `{tool}` at turn {i}"), Some(*i)),
                (None, None) => out(false, format!("the agent never called `{tool}`"), None),
                (None, Some((i, call))) => {
                    let why = if *i >= until {
                        format!("first called at turn {i}, too late")
                    } else {
                        format!("called with {} instead of at least {}", call.arguments, arguments.clone().unwrap_or_default())
                    };
                    out(false, format!("no matching `{tool}` call{window}: {why}"), Some(*i))
                }
            }
        }
        Check::MustNotCallTool { tool, arguments, .. } => {
            let with = arguments.as_ref().map(|a| format!(" with {a}")).unwrap_or_default();
            let (calls, rejected) = forbidden_calls(&c.check, t, ctx.rules);
            let mut verdict = match calls.iter().find(|x| !x.allowed) {
                Some(bad) => out(false, bad.reason.clone(), Some(bad.turn)),
                None => match calls.last() {
                    Some(ok) => out(true, ok.reason.clone(), Some(ok.turn)),
                    None => out(true, format!("`{tool}` was not called{with}"), None),
                },
            };
            if verdict.passed && rejected > 0 {
                verdict.reason =
                    format!("{} ({rejected} attempt(s) the tool rejected do not count; `count_failed_attempts = true` counts them)", verdict.reason);
            }
            verdict
        }
        Check::MustSay { pattern, within_turns, when_called } => {
            let re = compile(pattern).map_err(|e| bad_pattern(e.to_string()))?;
            let mut until = deadline(t, *within_turns);
            if let Some(tool) = when_called {
                let Some((at, _)) = calls(t).into_iter().find(|(_, c)| &c.name == tool) else {
                    return Ok(out(true, format!("not applicable: the agent never called `{tool}`"), None));
                };
                // The reply that reports the call counts too.
                let reporting = replies(t).into_iter().find(|&i| i > at).map(|i| i + 1).unwrap_or(t.turns.len());
                until = until.max(reporting);
            }
            match replies(t).into_iter().find(|&i| i < until && re.is_match(&t.turns[i].text)) {
                Some(i) => out(true, format!("turn {i} says: \"{}\"", excerpt(&t.turns[i].text)), Some(i)),
                None => {
                    let window = within_turns.map(|n| format!(" within {n} agent replies")).unwrap_or_default();
                    out(false, format!("no agent reply matched /{pattern}/{window}"), None)
                }
            }
        }
        Check::MustNotSay { pattern } => {
            let re = compile(pattern).map_err(|e| bad_pattern(e.to_string()))?;
            match replies(t).into_iter().find(|&i| re.is_match(&t.turns[i].text)) {
                Some(i) => out(false, format!("turn {i} matched /{pattern}/: \"{}\"", excerpt(&t.turns[i].text)), Some(i)),
                None => out(true, format!("no agent reply matched /{pattern}/"), None),
            }
        }
        Check::ToolOrder { tools } => {
            let first: Vec<Option<usize>> = tools.iter().map(|name| calls(t).into_iter().find(|(_, c)| &c.name == name).map(|(i, _)| i)).collect();
            let mut verdict = out(true, format!("tools called in order: {}", tools.join(" → ")), None);
            'outer: for (a, fa) in first.iter().enumerate() {
                for (b, fb) in first.iter().enumerate().skip(a + 1) {
                    match (fa, fb) {
                        (Some(x), Some(y)) if y < x => {
                            verdict = out(false, format!("`{}` (turn {y}) was called before `{}` (turn {x})", tools[b], tools[a]), Some(*y));
                            break 'outer;
                        }
                        (None, Some(y)) => {
                            verdict = out(false, format!("`{}` (turn {y}) was called without `{}` before it", tools[b], tools[a]), Some(*y));
                            break 'outer;
                        }
                        _ => {}
                    }
                }
            }
            verdict
        }
        Check::MustEscalate {} => match ctx.rules.escalation(t) {
            Some(i) => out(true, format!("the agent escalated to a human{}", by_tool(t, i)), Some(i)),
            None => out(false, "the agent never escalated to a human".into(), None),
        },
        Check::MustNotEscalate {} => match ctx.rules.escalation(t) {
            Some(i) => out(false, format!("the agent escalated to a human{}", by_tool(t, i)), Some(i)),
            None => out(true, "the agent did not escalate".into(), None),
        },
        Check::WorldState { path, equals, not_equals, unchanged, absent } => {
            let w = ctx.world.ok_or_else(|| CriterionError::NoWorld { id: c.id.clone() })?;
            let now = w.last.pointer(path).filter(|v| !v.is_null());
            let before = w.initial.pointer(path).filter(|v| !v.is_null());
            let shown = |v: Option<&Value>| v.map(|v| excerpt(&v.to_string())).unwrap_or_else(|| "absent".into());
            let changed_at = || w.last_change_of(path).map(|ch| (format!(" (changed by `{}` at turn {})", ch.tool, ch.turn), Some(ch.turn as usize)));
            let (passed, reason, turn) = if let Some(expected) = equals {
                let ok = now.is_some_and(|v| json_eq(v, expected));
                let (how, turn) = if ok { (String::new(), None) } else { changed_at().unwrap_or_default() };
                (ok, format!("`{path}` is {}{how}; must equal {}", shown(now), excerpt(&expected.to_string())), turn)
            } else if let Some(unwanted) = not_equals {
                let ok = !now.is_some_and(|v| json_eq(v, unwanted));
                let (how, turn) = if ok { (String::new(), None) } else { changed_at().unwrap_or_default() };
                (ok, format!("`{path}` is {}{how}; must not be {}", shown(now), excerpt(&unwanted.to_string())), turn)
            } else if *unchanged {
                let ok = match (now, before) {
                    (Some(x), Some(y)) => json_eq(x, y),
                    (None, None) => true,
                    _ => false,
                };
                if ok {
                    (true, format!("`{path}` is unchanged ({})", shown(now)), None)
                } else {
                    let (how, turn) = changed_at().unwrap_or_default();
                    (false, format!("`{path}` changed from {} to {}{how}", shown(before), shown(now)), turn)
                }
            } else {
                let _ = absent;
                match now {
                    None => (true, format!("nothing at `{path}`"), None),
                    Some(v) => {
                        let (how, turn) = changed_at().unwrap_or_default();
                        (false, format!("`{path}` is {}{how}; must be absent", shown(Some(v))), turn)
                    }
                }
            };
            out(passed, reason, turn)
        }
        Check::MaxTurns { max } => {
            let n = replies(t).len() as u32;
            if n <= *max {
                out(true, format!("{n} agent replies (max {max})"), None)
            } else {
                out(false, format!("{n} agent replies, more than {max}"), replies(t).get(*max as usize).copied())
            }
        }
        Check::Plugin { plugin, params } => {
            let p = ctx.plugins.get(plugin).ok_or_else(|| CriterionError::PluginNotLoaded { id: c.id.clone(), plugin: plugin.clone() })?;
            let v = p.check(t, params).map_err(|source| CriterionError::Plugin { id: c.id.clone(), source })?.output;
            out(v.passed, format!("{}: {}", p.id().name, v.reason), v.turn.map(|x| x as usize))
        }
    })
}
