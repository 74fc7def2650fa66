//! Grouping spans into conversations and rebuilding each conversation's
//! turns in time order.
//!
//! ## Grouping
//! A span belongs to the conversation named by its own
//! `gen_ai.conversation.id`, else by its nearest ancestor's (instrumentations
//! often set it only on the `invoke_agent` span), else by the one id the rest
//! of its trace carries; a trace with no id at all is its own conversation,
//! named by its trace id. Groups without a conversational GenAI span (`chat`,
//! `generate_content`, `text_completion`, `invoke_agent`, `invoke_workflow`,
//! `execute_tool`, or any span carrying messages) are not conversations
//! (embeddings, retrieval, plain HTTP) and are dropped.
//!
//! ## Turns
//! Spans are visited by start time (then input order):
//! * a span carrying messages (attributes, or the
//!   `gen_ai.client.inference.operation.details` span event) contributes its
//!   `gen_ai.system_instructions` and `gen_ai.input.messages` at its start
//!   time and its first `gen_ai.output.messages` choice at its end time (the
//!   model's latency: end − start). A span whose descendants carry messages
//!   is skipped: an `invoke_agent` span repeats what its `chat` spans say;
//! * each chat span's input repeats the history, so only new messages become
//!   turns: tool calls and tool results are recognised by call id anywhere;
//!   other messages by role and text, matched in order (a customer saying
//!   "yes" twice stays twice);
//! * an `execute_tool` span adds the tool result (`gen_ai.tool.call.result`)
//!   at its end time, unless the transcript already has it; an error status
//!   or `error.type` marks the result `is_error` (a failed run without a
//!   result gets the error text, replaced by the response a later chat input
//!   shows the model, if any). A tool run no chat span
//!   shows (content capture off) becomes an agent turn with the call
//!   (`gen_ai.tool.name`, `gen_ai.tool.call.arguments`) plus the result.
//!
//! Calls recorded without an id get `otel:<spanId>:<n>` so results can point
//! at them; results without an id answer the oldest unanswered call.

use std::collections::{BTreeMap, BTreeSet};

use ratchet_sdk::json::canonical_string;
use ratchet_sdk::params::kind_of;
use ratchet_sdk::{log, LogLevel, Role, ToolCall, ToolResult, Turn, Value};

use crate::messages::{json_or_string, parse_messages, parse_system_instructions, Piece, RawCall};
use crate::otlp::Span;
use crate::time::ms_between;

/// The span event that carries GenAI content when it is not on the span
/// (`events.yaml`, semconv v1.41.1).
pub const DETAILS_EVENT: &str = "gen_ai.client.inference.operation.details";

/// Operations whose spans make a group a conversation.
const CONVERSATIONAL_OPS: &[&str] = &["chat", "generate_content", "text_completion", "invoke_agent", "invoke_workflow", "execute_tool"];

/// Model inference operations: their model attributes name the model that
/// actually answered.
const INFERENCE_OPS: &[&str] = &["chat", "generate_content", "text_completion"];

/// A content attribute from the span, else from its last operation-details
/// event that has it.
pub fn content_attr<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
    match span.attributes.get(key) {
        Some(v) if !v.is_null() => Some(v),
        _ => span
            .events
            .iter()
            .rev()
            .filter(|e| e.name == DETAILS_EVENT)
            .find_map(|e| e.attributes.get(key).or_else(|| e.body.as_ref().and_then(|b| b.get(key))).filter(|v| !v.is_null())),
    }
}

/// A JSON-valued content attribute: structured, or a JSON string (decoded;
/// invalid JSON, such as a truncated export, is an error).
pub fn json_attr(span: &Span, key: &str) -> Result<Option<Value>, String> {
    match content_attr(span, key) {
        None => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s).map(Some).map_err(|e| format!("{}: attribute `{key}`: invalid JSON: {e}", span.label)),
        Some(v) => Ok(Some(v.clone())),
    }
}

/// True when the span records input or output messages.
pub fn has_messages(span: &Span) -> bool {
    content_attr(span, "gen_ai.input.messages").is_some() || content_attr(span, "gen_ai.output.messages").is_some()
}

/// The spans of one conversation.
#[derive(Debug)]
pub struct Group<'a> {
    /// `gen_ai.conversation.id`, or the trace id when no span carries one.
    pub id: String,
    /// The group's spans by start time (spans without one last), then input order.
    pub spans: Vec<&'a Span>,
}

/// Groups spans into conversations (see the module docs): by
/// `gen_ai.conversation.id`, else by `group_attribute` (e.g. `session.id`;
/// `None` to skip), else by trace; ordered by their earliest span, then id.
pub fn group<'a>(spans: &'a [Span], group_attribute: Option<&str>) -> Result<Vec<Group<'a>>, String> {
    let mut by_id: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, s) in spans.iter().enumerate() {
        by_id.entry((s.trace_id.as_str(), s.span_id.as_str())).or_insert(i);
    }
    let parent = |i: usize| -> Option<usize> {
        let s = &spans[i];
        s.parent_span_id.as_deref().and_then(|p| by_id.get(&(s.trace_id.as_str(), p)).copied())
    };
    // For each grouping attribute in turn: the span's own value, else its
    // nearest ancestor's, else the one value the rest of its trace carries.
    let resolve = |key: &str| -> Result<Vec<Option<String>>, String> {
        let own: Vec<Option<String>> = spans.iter().map(|s| attr_text(s, key)).collect::<Result<_, _>>()?;
        let mut per_trace: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (s, c) in spans.iter().zip(&own) {
            if let Some(c) = c {
                per_trace.entry(s.trace_id.as_str()).or_default().insert(c);
            }
        }
        let mut out = Vec::with_capacity(spans.len());
        for i in 0..spans.len() {
            let mut found = None;
            let mut cur = i;
            // Bounded walk: a (malformed) parent cycle cannot loop forever.
            for _ in 0..=spans.len() {
                if let Some(c) = &own[cur] {
                    found = Some(c.clone());
                    break;
                }
                match parent(cur) {
                    Some(p) => cur = p,
                    None => break,
                }
            }
            let found =
                found.or_else(|| per_trace.get(spans[i].trace_id.as_str()).filter(|ids| ids.len() == 1).and_then(|ids| ids.first().map(|s| s.to_string())));
            out.push(found);
        }
        Ok(out)
    };
    let conv = resolve("gen_ai.conversation.id")?;
    let attr = match group_attribute {
        Some(k) if !k.is_empty() => resolve(k)?,
        _ => vec![None; spans.len()],
    };

    // (0, conversation id), (1, attribute value), (2, trace id): kinds never collide.
    let mut groups: BTreeMap<(u8, String), Vec<&Span>> = BTreeMap::new();
    for i in 0..spans.len() {
        let key = match (&conv[i], &attr[i]) {
            (Some(c), _) => (0, c.clone()),
            (None, Some(a)) => (1, a.clone()),
            (None, None) => (2, spans[i].trace_id.clone()),
        };
        groups.entry(key).or_default().push(&spans[i]);
    }

    let mut out = Vec::new();
    for ((_, id), mut members) in groups {
        let mut conversational = false;
        for s in &members {
            conversational |= has_messages(s) || s.operation()?.is_some_and(|op| CONVERSATIONAL_OPS.contains(&op));
        }
        if !conversational {
            continue;
        }
        members.sort_by_key(|s| (s.start_ns.is_none(), s.start_ns, s.end_ns, s.seq));
        out.push(Group { id, spans: members });
    }
    out.sort_by(|a, b| {
        let ka = (a.spans[0].start_ns.is_none(), a.spans[0].start_ns);
        let kb = (b.spans[0].start_ns.is_none(), b.spans[0].start_ns);
        ka.cmp(&kb).then_with(|| a.id.cmp(&b.id))
    });
    Ok(out)
}

/// A grouping attribute as text (strings as they are, numbers and booleans
/// printed); `Err` for arrays and maps.
fn attr_text(span: &Span, key: &str) -> Result<Option<String>, String> {
    match span.attributes.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
        Some(v) => Err(format!("{}: attribute `{key}`: expected a string, got {}", span.label, kind_of(v))),
    }
}

/// Input positions (`Span::seq`) of spans whose descendants carry messages:
/// their own messages repeat their children's and are skipped.
pub fn shadowed(spans: &[Span]) -> BTreeSet<usize> {
    let mut by_id: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, s) in spans.iter().enumerate() {
        by_id.entry((s.trace_id.as_str(), s.span_id.as_str())).or_insert(i);
    }
    let mut out = BTreeSet::new();
    for s in spans.iter().filter(|s| has_messages(s)) {
        let mut cur = s;
        for _ in 0..spans.len() {
            let Some(p) = cur.parent_span_id.as_deref().and_then(|p| by_id.get(&(cur.trace_id.as_str(), p))) else { break };
            cur = &spans[*p];
            if !out.insert(cur.seq) {
                break; // already walked from here
            }
        }
    }
    out
}

/// One rebuilt conversation, before options and missing-field bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Rebuilt {
    /// The turns in order, `offset_ms` relative to `start_ns`.
    pub turns: Vec<Turn>,
    /// The earliest span start, nanoseconds since the Unix epoch.
    pub start_ns: Option<u64>,
    /// `gen_ai.response.model`, else `gen_ai.request.model`.
    pub model: Option<String>,
    /// `gen_ai.agent.version`, else `gen_ai.prompt.name`, else `gen_ai.agent.name`.
    pub prompt_version: Option<String>,
    /// Tool names from `gen_ai.tool.definitions` (`None`: no span had any).
    pub tool_definitions: Option<BTreeSet<String>>,
    /// Model calls (chat, generate_content, text_completion spans) that
    /// carry no message content in any shape: content capture was off.
    pub contentless: usize,
}

/// Rebuilds one conversation (see the module docs). Errors are prefixed
/// with the conversation id.
pub fn rebuild(group: &Group<'_>, shadowed: &BTreeSet<usize>) -> Result<Rebuilt, String> {
    rebuild_inner(group, shadowed).map_err(|e| format!("conversation \"{}\": {e}", group.id))
}

fn rebuild_inner(group: &Group<'_>, shadowed: &BTreeSet<usize>) -> Result<Rebuilt, String> {
    let mut b = Builder::default();
    for s in &group.spans {
        if s.operation()? == Some("execute_tool") {
            if let (Some(id), Some(name)) = (s.nonempty_attr("gen_ai.tool.call.id")?, s.nonempty_attr("gen_ai.tool.name")?) {
                b.exec_names.entry(id.trim().to_string()).or_insert_with(|| name.to_string());
            }
        }
    }
    for s in &group.spans {
        if s.operation()? == Some("execute_tool") {
            b.tool_span(s)?;
        } else if has_messages(s) && !shadowed.contains(&s.seq) {
            b.message_span(s)?;
        }
    }

    let start_ns = group.spans.iter().filter_map(|s| s.start_ns).min();
    let mut turns = b.turns;
    for (t, time) in turns.iter_mut().zip(&b.times) {
        t.offset_ms = match (start_ns, time) {
            (Some(start), Some(t)) => Some(ms_between(start, *t)),
            _ => None,
        };
    }

    let inference: Vec<&Span> = group.spans.iter().copied().filter(|s| matches!(s.operation(), Ok(Some(op)) if INFERENCE_OPS.contains(&op))).collect();
    let model = match first_attr(&inference, "gen_ai.response.model")? {
        Some(m) => Some(m),
        None => match first_attr(&inference, "gen_ai.request.model")? {
            Some(m) => Some(m),
            None => match first_attr(&group.spans, "gen_ai.response.model")? {
                Some(m) => Some(m),
                None => first_attr(&group.spans, "gen_ai.request.model")?,
            },
        },
    };
    let mut models = BTreeSet::new();
    for s in &inference {
        if let Some(m) = s.nonempty_attr("gen_ai.response.model")?.or(s.nonempty_attr("gen_ai.request.model")?) {
            models.insert(m);
        }
    }
    if models.len() > 1 {
        let all: Vec<&str> = models.into_iter().collect();
        log(LogLevel::Warn, &format!("conversation \"{}\": spans used several models ({}); state.model is the first one seen", group.id, all.join(", ")));
    }
    let prompt_version = match first_attr(&group.spans, "gen_ai.agent.version")? {
        Some(v) => Some(v),
        None => match first_attr(&group.spans, "gen_ai.prompt.name")? {
            Some(v) => Some(v),
            None => first_attr(&group.spans, "gen_ai.agent.name")?,
        },
    };
    let mut tool_definitions: Option<BTreeSet<String>> = None;
    for s in &group.spans {
        if let Some(defs) = json_attr(s, "gen_ai.tool.definitions")? {
            let names = tool_definition_names(&defs, &format!("{}: gen_ai.tool.definitions", s.label))?;
            tool_definitions.get_or_insert_with(BTreeSet::new).extend(names);
        }
    }
    let contentless = inference.iter().filter(|s| !has_messages(s)).count();
    Ok(Rebuilt { turns, start_ns, model, prompt_version, tool_definitions, contentless })
}

/// The first non-empty string value of `key` among `spans` (in time order).
fn first_attr(spans: &[&Span], key: &str) -> Result<Option<String>, String> {
    for s in spans {
        if let Some(v) = s.nonempty_attr(key)? {
            return Ok(Some(v.to_string()));
        }
    }
    Ok(None)
}

/// Tool names from a `gen_ai.tool.definitions` value
/// (`[{"type": "function", "name": ...}]`).
fn tool_definition_names(v: &Value, at: &str) -> Result<Vec<String>, String> {
    let Value::Array(items) = v else {
        return Err(format!("{at}: expected an array of tool definitions, got {}", kind_of(v)));
    };
    items
        .iter()
        .enumerate()
        .map(|(k, d)| match d.get("name") {
            Some(Value::String(n)) if !n.is_empty() => Ok(n.clone()),
            _ if !d.is_object() => Err(format!("{at}[{k}]: expected a tool definition object, got {}", kind_of(d))),
            Some(other) => Err(format!("{at}[{k}].name: expected a non-empty string, got {}", kind_of(other))),
            None => Err(format!("{at}[{k}]: missing `name` (a string)")),
        })
        .collect()
}

/// The transcript under construction.
#[derive(Default)]
struct Builder {
    turns: Vec<Turn>,
    /// When each turn happened (ns), parallel to `turns`.
    times: Vec<Option<u64>>,
    /// How to recognise each turn when a later input repeats it (`None`:
    /// recognised by call id instead), parallel to `turns`.
    keys: Vec<Option<String>>,
    /// Tool call id → index of the agent turn that made it.
    call_at: BTreeMap<String, usize>,
    /// Tool call id → tool name.
    call_name: BTreeMap<String, String>,
    /// Tool call id → index of the tool turn that answered it.
    result_at: BTreeMap<String, usize>,
    /// Calls without a result yet, oldest first.
    pending: Vec<String>,
    /// Tool call id → tool name from `execute_tool` spans, for results whose
    /// call is not in the transcript.
    exec_names: BTreeMap<String, String>,
    /// Calls whose result turn holds only a failed tool span's error text:
    /// the response a later chat input shows the model replaces it.
    error_only: BTreeSet<String>,
}

impl Builder {
    /// The index of the turn `piece` repeats, recognised by call id.
    fn known(&self, piece: &Piece) -> Option<usize> {
        match piece {
            Piece::Result { call_id: Some(id), .. } => self.result_at.get(id).copied(),
            Piece::Agent { calls, .. } => calls.iter().filter_map(|c| c.id.as_ref()).find_map(|id| self.call_at.get(id).copied()),
            _ => None,
        }
    }

    /// Role-and-content key for pieces that have no call id to go by.
    fn content_key(piece: &Piece) -> Option<String> {
        match piece {
            Piece::Line { role, text } => Some(format!("{}\u{1f}{}", if *role == Role::System { "system" } else { "customer" }, text.trim())),
            Piece::Agent { text, calls } if calls.is_empty() || calls.iter().any(|c| c.id.is_none()) => {
                let calls: Vec<String> = calls.iter().map(|c| format!("{}{}", c.name, canonical_string(&c.arguments))).collect();
                Some(format!("agent\u{1f}{}\u{1f}{}", text.trim(), calls.join("\u{1e}")))
            }
            Piece::Result { call_id: None, content } => Some(format!("tool\u{1f}{}", canonical_string(content))),
            _ => None,
        }
    }

    /// A call id for a call recorded without one: unique, stable, and
    /// traceable to its span.
    fn synthetic_id(&self, span_id: &str) -> String {
        (0..).map(|n| format!("otel:{span_id}:{n}")).find(|id| !self.call_at.contains_key(id)).expect("an unbounded range always yields a free id")
    }

    /// Appends `piece` as a turn.
    fn add(&mut self, piece: Piece, time: Option<u64>, latency_ms: Option<u64>, span: &Span) -> Result<(), String> {
        let key = Self::content_key(&piece);
        let index = self.turns.len();
        let turn = match piece {
            Piece::Line { role, text } => Turn::new(0, role, text),
            Piece::Agent { text, calls } => {
                let mut turn = Turn::new(0, Role::Agent, text);
                turn.latency_ms = latency_ms;
                for call in calls {
                    let id = match call.id {
                        Some(id) => id,
                        None => self.synthetic_id(&span.span_id),
                    };
                    if self.call_at.contains_key(&id) {
                        return Err(format!("{}: tool call id \"{id}\" is used twice in one message", span.label));
                    }
                    self.call_at.insert(id.clone(), index);
                    self.call_name.insert(id.clone(), call.name.clone());
                    self.pending.push(id.clone());
                    turn.tool_calls.push(ToolCall { id, name: call.name, arguments: call.arguments.into() });
                }
                turn
            }
            Piece::Result { call_id, content } => {
                let call_id = match call_id {
                    Some(id) => id,
                    None => self
                        .pending
                        .first()
                        .cloned()
                        .ok_or_else(|| format!("{}: a tool result without a call id, and no earlier tool call is waiting for a result", span.label))?,
                };
                let name = match self.call_name.get(&call_id).or_else(|| self.exec_names.get(&call_id)) {
                    Some(n) => n.clone(),
                    None => {
                        log(LogLevel::Warn, &format!("{}: the result for call \"{call_id}\" has no matching tool call; its tool name is unknown", span.label));
                        String::new()
                    }
                };
                self.pending.retain(|p| p != &call_id);
                self.result_at.insert(call_id.clone(), index);
                let mut turn = Turn::new(0, Role::Tool, "");
                turn.tool_result = Some(ToolResult { call_id, name, content: content.into(), is_error: false });
                turn
            }
        };
        self.turns.push(turn);
        self.times.push(time);
        self.keys.push(key);
        Ok(())
    }

    /// A span with `gen_ai.*.messages`: new input history at its start, the
    /// first output choice at its end.
    fn message_span(&mut self, span: &Span) -> Result<(), String> {
        let mut input = Vec::new();
        if let Some(v) = content_attr(span, "gen_ai.system_instructions") {
            // A JSON string of parts, structured parts, or (leniently) plain text.
            let v = match v {
                Value::String(s) => serde_json::from_str::<Value>(s).unwrap_or_else(|_| v.clone()),
                other => other.clone(),
            };
            input.extend(parse_system_instructions(&v, &format!("{}: gen_ai.system_instructions", span.label))?);
        }
        if let Some(v) = json_attr(span, "gen_ai.input.messages")? {
            input.extend(parse_messages(&v, &format!("{}: gen_ai.input.messages", span.label))?.into_iter().flatten());
        }
        // Match the input against the transcript: by call id anywhere, else
        // by content in order from the last match.
        let mut from = 0;
        for piece in input {
            if let Some(q) = self.known(&piece) {
                if let Piece::Result { call_id: Some(id), content } = &piece {
                    if self.error_only.remove(id) {
                        if let Some(r) = self.turns[q].tool_result.as_mut() {
                            r.content = content.clone().into();
                        }
                    }
                }
                from = from.max(q + 1);
                continue;
            }
            if let Some(key) = Self::content_key(&piece) {
                if let Some(q) = (from..self.keys.len()).find(|&q| self.keys[q].as_deref() == Some(key.as_str())) {
                    from = q + 1;
                    continue;
                }
            }
            self.add(piece, span.start_ns, None, span)?;
            from = self.turns.len();
        }

        if let Some(v) = json_attr(span, "gen_ai.output.messages")? {
            let choices = parse_messages(&v, &format!("{}: gen_ai.output.messages", span.label))?;
            if choices.len() > 1 {
                log(LogLevel::Info, &format!("{}: {} output messages (choices); the first is taken as the agent's reply", span.label, choices.len()));
            }
            let mut latency = match (span.start_ns, span.end_ns) {
                (Some(s), Some(e)) => Some(ms_between(s, e)),
                _ => None,
            };
            for piece in choices.into_iter().next().unwrap_or_default() {
                if self.known(&piece).is_some() {
                    continue;
                }
                let l = if matches!(piece, Piece::Agent { .. }) { latency.take() } else { None };
                self.add(piece, span.end_ns, l, span)?;
            }
        }
        Ok(())
    }

    /// An `execute_tool` span: the result (and the call, when no chat span
    /// showed it).
    fn tool_span(&mut self, span: &Span) -> Result<(), String> {
        let name = match span.nonempty_attr("gen_ai.tool.name")? {
            Some(n) => n.to_string(),
            None => span
                .name
                .strip_prefix("execute_tool ")
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .ok_or_else(|| format!("{}: an execute_tool span without `gen_ai.tool.name`", span.label))?,
        };
        let call_id = span.nonempty_attr("gen_ai.tool.call.id")?.map(|s| s.trim().to_string());
        let arguments = span.attributes.get("gen_ai.tool.call.arguments").filter(|v| !v.is_null()).map(json_or_string);
        let result = span.attributes.get("gen_ai.tool.call.result").filter(|v| !v.is_null()).map(json_or_string);
        let error = match (span.nonempty_attr("error.type")?, span.error.as_deref().filter(|m| !m.is_empty())) {
            (Some(t), Some(m)) => Some(format!("{t}: {m}")),
            (Some(t), None) => Some(t.to_string()),
            (None, Some(m)) => Some(m.to_string()),
            (None, None) => span.error.as_ref().map(|_| "error".to_string()),
        };

        // Without an id, the tool run answers the oldest unanswered call of that tool.
        let id = call_id.or_else(|| self.pending.iter().find(|p| self.call_name.get(*p) == Some(&name)).cloned());
        let id = match id {
            Some(id) if self.call_at.contains_key(&id) => id,
            other => {
                let id = other.unwrap_or_else(|| self.synthetic_id(&span.span_id));
                let call = RawCall { id: Some(id.clone()), name, arguments: arguments.unwrap_or(Value::Null) };
                self.add(Piece::Agent { text: String::new(), calls: vec![call] }, span.start_ns, None, span)?;
                id
            }
        };
        if let Some(&at) = self.result_at.get(&id) {
            if error.is_some() {
                if let Some(r) = self.turns[at].tool_result.as_mut() {
                    r.is_error = true;
                }
            }
            return Ok(());
        }
        let content = match (result, &error) {
            (Some(r), _) => r,
            (None, Some(e)) => {
                self.error_only.insert(id.clone());
                Value::String(e.clone())
            }
            (None, None) => return Ok(()), // content not captured: a later chat input may carry it
        };
        self.add(Piece::Result { call_id: Some(id), content }, span.end_ns, None, span)?;
        if error.is_some() {
            if let Some(r) = self.turns.last_mut().and_then(|t| t.tool_result.as_mut()) {
                r.is_error = true;
            }
        }
        Ok(())
    }
}
