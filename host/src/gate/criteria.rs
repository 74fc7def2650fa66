//! Evaluates scenario criteria on a replayed transcript. Every outcome names the
//! criterion, the turn it points at, and a reason a human can act on.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// The kind name of a check, as written in scenario files.
pub fn kind_name(c: &Check) -> &'static str {
    match c {
        Check::MustCallTool { .. } => "must-call-tool",
        Check::MustNotCallTool { .. } => "must-not-call-tool",
        Check::MustSay { .. } => "must-say",
        Check::MustNotSay { .. } => "must-not-say",
        Check::ToolOrder { .. } => "tool-order",
        Check::MustEscalate {} => "must-escalate",
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

/// JSON equality that treats 1 and 1.0 as equal.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w))),
        _ => a == b,
    }
}

/// `expected` is a subset of `actual`: every key of an expected object is present
/// with a matching value; other values compare equal.
pub fn subset(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => e.iter().all(|(k, v)| a.get(k).is_some_and(|w| subset(v, w))),
        _ => json_eq(expected, actual),
    }
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

/// Evaluate one criterion. `Err` is an evaluation error (a plugin failed): the
/// scenario's verdict becomes `error`, not `fail`.
pub fn evaluate(c: &Criterion, t: &Conversation, plugins: &AssertionPlugins) -> Result<CriterionOutcome, String> {
    let out = |passed: bool, reason: String, turn: Option<usize>| CriterionOutcome {
        id: c.id.clone(),
        kind: kind_name(&c.check).into(),
        passed,
        reason,
        turn: turn.map(|x| x as u32),
    };
    Ok(match &c.check {
        Check::MustCallTool { tool, arguments, within_turns } => {
            let until = deadline(t, *within_turns);
            let named: Vec<_> = calls(t).into_iter().filter(|(_, call)| &call.name == tool).collect();
            let ok = named.iter().find(|(i, call)| *i < until && arguments.as_ref().is_none_or(|a| subset(a, &call.arguments)));
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
        Check::MustNotCallTool { tool, unless } => {
            let mut verdict = out(true, format!("`{tool}` was not called"), None);
            for (i, call) in calls(t).into_iter().filter(|(_, call)| &call.name == tool) {
                match unless {
                    None => {
                        verdict = out(false, format!("called `{tool}` with {} at turn {i}", call.arguments), Some(i));
                        break;
                    }
                    Some(cond) => {
                        let (ok, seen) = holds(t, cond, i);
                        if ok {
                            verdict = out(true, format!("`{tool}` was called at turn {i} when allowed ({seen})"), Some(i));
                        } else {
                            verdict = out(false, format!("called `{tool}` at turn {i} although {seen}; allowed only when it equals {}", cond.equals), Some(i));
                            break;
                        }
                    }
                }
            }
            verdict
        }
        Check::MustSay { pattern, within_turns, when_called } => {
            let re = compile(pattern)?;
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
            let re = compile(pattern)?;
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
        Check::MustEscalate {} => {
            if t.outcome.escalated {
                out(true, "the agent escalated to a human".into(), t.turns.iter().rposition(|x| x.role == Role::System))
            } else {
                out(false, "the agent never escalated to a human".into(), None)
            }
        }
        Check::MustNotEscalate {} => {
            if t.outcome.escalated {
                out(false, "the agent escalated to a human".into(), t.turns.iter().rposition(|x| x.role == Role::System))
            } else {
                out(true, "the agent did not escalate".into(), None)
            }
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
            let p = plugins.get(plugin).ok_or_else(|| format!("criterion `{}`: assertion plugin `{plugin}` is not loaded", c.id))?;
            let v = p.check(t, params).map_err(|e| format!("criterion `{}`: {e}", c.id))?.output;
            out(v.passed, format!("{}: {}", p.id().name, v.reason), v.turn.map(|x| x as usize))
        }
    })
}
