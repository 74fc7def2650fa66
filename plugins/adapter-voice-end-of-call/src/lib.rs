//! # adapter-voice-end-of-call
//!
//! A ratchet adapter: turns a voice platform's end-of-call webhook report
//! (the `end-of-call-report` server message voice-agent platforms such as
//! Vapi POST when a call ends) into canonical voice conversations, so phone
//! agents feed `ratchet detect` with the call's transcript, tool calls,
//! timings and outcome.
//!
//! ## Input
//! One report, a JSON array of reports, or JSONL (one per line). A report is
//! the webhook body `{"message": {"type": "end-of-call-report", ...}}` or the
//! object inside `message`; a call object as the platform's call API returns
//! it (`{"id", "startedAt", "endedReason", "artifact", ...}`) is accepted too.
//! Other server messages (`status-update`, `transcript`, ...) in a batch are
//! skipped with a log line.
//!
//! ## Mapping
//!
//! | source | canonical field |
//! |---|---|
//! | `call.id` (else the top-level `id` of a call object) | `id` |
//! | — | `channel` = `voice` |
//! | `startedAt` (else `call.startedAt`) | `started_at` (as sent, validated as RFC 3339) |
//! | `artifact.messages[]` (else `messages[]`) | `turns[]`, in order |
//! | role `system` | `system` turn |
//! | role `user` | `customer` turn |
//! | role `bot` / `assistant` | `agent` turn |
//! | role `tool_calls`, `toolCalls[] {id, function {name, arguments}}` | `agent` turn with `tool_calls[]` (JSON-string arguments parsed) |
//! | role `tool_call_result` / `tool`, `{toolCallId, name, result}` | `tool` turn, `tool_result {call_id, name, content}` (a JSON-string result parsed); an `error` field sets `is_error` |
//! | `message` | `turns[].text` |
//! | `secondsFromStart` × 1000 (else `time` − `startedAt`) | `turns[].offset_ms` |
//! | agent message `time` − the customer's preceding message `endTime` | `turns[].latency_ms` (the first agent turn after a customer turn) |
//! | `artifact.transcript` (`AI: ...` / `User: ...` lines), only when there are no messages | `turns[]` without timing |
//! | `endedReason` (else `call.endedReason`) | `outcome.ended_reason` |
//! | `endedReason` naming a forward or transfer (not a failed one), or listed in option `escalation_reasons` | `outcome.escalated = true` |
//! | `call.assistantOverrides.model.model`, else `assistant.model.model` | `state.model` |
//! | `assistant.model.tools[]` (`function.name`, or the built-in tool's `type`) ∪ tools called | `state.tool_registry[].id` |
//! | option `tool_versions` | `state.tool_registry[].version` |
//! | `call.assistantOverrides.variableValues` (the values the prompt was rendered with) | `state.memory_snapshot[]`, sorted by key |
//! | `assistant.transcriber.language` when it is a locale (`en-US`) | `state.routing.locale` |
//! | `analysis.successEvaluation` | `state.routing.extra.success_evaluation` (a signal, never a complaint) |
//! | `assistant.name`, `call.type` (a call object's `type`) | `state.routing.extra.assistant_name`, `.call_type` |
//! | `call.metadata` (else a call object's `metadata`: the custom fields set when the call was created) | `labels`, one per key (strings as they are, other values as canonical JSON) |
//! | option `state` (a side-car agent state) | any `state` field it sets, overriding the report |
//!
//! Not mapped: `cost`/`costs` (the platform's bill, not business impact),
//! `customer.number` (personal data, not routing), `analysis.summary` and
//! `analysis.structuredData` (post-call model output, not agent state),
//! recordings.
//!
//! ## Options
//! `{"state": {...}, "tool_versions": {"lookup_account": "1.4.0"}, "escalation_reasons": ["..."]}`,
//! all optional; unknown keys are errors. `state` is a canonical agent state
//! captured beside the report: each field it sets wins and is not reported
//! missing (`routing.extra` keys are merged).
//!
//! ## Output
//! One [`Converted`] per report, in input order. `missing` always lists
//! `outcome.complaint`, `outcome.compliance_flags`, `impact`,
//! `state.kb_version_hash`, `state.prompt_version`,
//! `state.routing.time_of_day` and `state.routing.queue` (the report has no
//! such fields), and when absent: `started_at`, `turns.tool_calls` and
//! `turns.offset_ms` (transcript fallback), `turns.latency_ms` (agent turns
//! answer the customer but none has timing),
//! `outcome.escalated` and `outcome.ended_reason` (no `endedReason`),
//! `state.memory_snapshot`, `state.tool_registry` (no tool list: only the
//! tools seen called), `state.tool_registry.version`, `state.model`,
//! `state.routing.locale`. Fields the side-car state sets are never missing.
//!
//! Malformed input is an error naming the report (and call id), the message
//! index and the field.

#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use ratchet_sdk::json::{split_documents, SplitError};
use ratchet_sdk::params::kind_of;
use ratchet_sdk::{
    log, Adapter, Channel, Conversation, Converted, LogLevel, MemoryEntry, Params, PluginInfo, Role, SideCar, ToolCall, ToolRef, ToolResult, Turn, Value,
};
use serde_json::Map;

pub mod time;

/// The plugin (a unit struct: all state is in the arguments).
pub struct VoiceEndOfCall;

/// Option keys this adapter understands.
const OPTION_KEYS: &[&str] = &["state", "tool_versions", "escalation_reasons"];

/// The report type this adapter converts.
const REPORT_TYPE: &str = "end-of-call-report";

/// The adapter's options, parsed: what the report cannot tell.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Tool name → version, for `state.tool_registry`.
    pub tool_versions: BTreeMap<String, String>,
    /// More `endedReason` values that mean the call went to a human.
    pub escalation_reasons: BTreeSet<String>,
    /// A side-car agent state merged into every conversation.
    pub state: Option<SideCar>,
}

impl Options {
    /// Reads the options object (or null).
    pub fn from_params(options: &Value) -> Result<Options, String> {
        let p = Params::new(options).map_err(|e| e.replace("params", "options"))?;
        p.deny_unknown(OPTION_KEYS).map_err(|e| e.replace("unknown param", "unknown option"))?;
        let mut tool_versions = BTreeMap::new();
        match p.get("tool_versions") {
            None => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    match v {
                        Value::String(s) => tool_versions.insert(k.clone(), s.clone()),
                        other => return Err(format!("option `tool_versions.{k}` must be a version string, got {}", kind_of(other))),
                    };
                }
            }
            Some(v) => return Err(format!("option `tool_versions` must be an object of tool name to version, got {}", kind_of(v))),
        }
        let escalation_reasons = p.str_list("escalation_reasons", &[]).map_err(|e| e.replace("param", "option"))?.into_iter().collect();
        let state = p.get("state").map(SideCar::from_value).transpose()?;
        Ok(Options { tool_versions, escalation_reasons, state })
    }

    /// True when `reason` means the call was handed to a human: a forward
    /// or transfer that did not fail, or a reason listed in the options.
    pub fn is_escalation(&self, reason: &str) -> bool {
        let r = reason.to_ascii_lowercase();
        self.escalation_reasons.contains(reason) || ((r.contains("forward") || r.contains("transfer")) && !r.contains("fail") && !r.contains("error"))
    }
}

impl Adapter for VoiceEndOfCall {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "adapter-voice-end-of-call",
            env!("CARGO_PKG_VERSION"),
            "Voice end-of-call webhook reports (Vapi-style) to canonical voice conversations",
        )
    }

    fn convert(input: &[u8], options: &Value) -> Result<Vec<Converted>, String> {
        let opts = Options::from_params(options)?;
        let text = std::str::from_utf8(input).map_err(|e| format!("input is not UTF-8 text: {e}"))?;
        let mut out = Vec::new();
        for (label, doc) in split_input(text)? {
            if let Some(c) = convert_one(&label, &doc, &opts)? {
                out.push(c);
            }
        }
        Ok(out)
    }
}

ratchet_sdk::export_adapter!(VoiceEndOfCall);

/// Splits the input into (label for errors, JSON document) pairs.
fn split_input(text: &str) -> Result<Vec<(String, Value)>, String> {
    let docs = split_documents(text).map_err(|e| match e {
        SplitError::Empty => "input is empty: expected an end-of-call report object, a JSON array of them, or JSONL".to_string(),
        SplitError::Invalid(whole) => format!("invalid JSON: {whole}"),
        SplitError::Line { index, line, error } => format!("report {index} (line {line}): invalid JSON: {error}"),
    })?;
    docs.into_iter()
        .map(|d| {
            if d.top_level && !d.value.is_object() {
                return Err(format!("input must be an end-of-call report object, a JSON array of them, or JSONL; got {}", kind_of(&d.value)));
            }
            let label = match d.line {
                Some(line) => format!("report {} (line {line})", d.index),
                None => format!("report {}", d.index),
            };
            Ok((label, d.value))
        })
        .collect()
}

/// Typed reads from a JSON object with errors that say where.
#[derive(Clone, Copy)]
struct Obj<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// `v` as an object; `Err` names `at` and what was expected.
    fn of(v: &'a Value, at: &str, what: &str) -> Result<Self, String> {
        match v {
            Value::Object(map) => Ok(Obj { map }),
            other => Err(format!("{at}: expected {what}, got {}", kind_of(other))),
        }
    }

    /// An optional nested object (absent or null → `None`).
    fn obj(&self, k: &str, at: &str) -> Result<Option<Obj<'a>>, String> {
        match self.get(k) {
            None => Ok(None),
            Some(v) => Obj::of(v, &format!("{at}.{k}"), "an object").map(Some),
        }
    }

    fn get(&self, k: &str) -> Option<&'a Value> {
        self.map.get(k).filter(|v| !v.is_null())
    }

    fn str(&self, k: &str, at: &str) -> Result<Option<&'a str>, String> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(format!("{at}.{k}: expected a string, got {}", kind_of(v))),
        }
    }

    fn req_str(&self, k: &str, at: &str) -> Result<&'a str, String> {
        self.str(k, at)?.ok_or_else(|| format!("{at}: missing `{k}` (a string)"))
    }

    /// A finite number (seconds, epoch milliseconds).
    fn num(&self, k: &str, at: &str) -> Result<Option<f64>, String> {
        match self.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_f64().filter(|f| f.is_finite()).map(Some).ok_or_else(|| format!("{at}.{k}: expected a finite number, got {n}")),
            Some(v) => Err(format!("{at}.{k}: expected a number, got {}", kind_of(v))),
        }
    }
}

/// A JSON string that holds JSON is parsed; anything else is kept.
fn json_or_string(v: &Value) -> Value {
    match v {
        Value::String(s) => serde_json::from_str::<Value>(s).unwrap_or_else(|_| v.clone()),
        other => other.clone(),
    }
}

/// Milliseconds from a non-negative number of seconds, rounded.
fn seconds_to_ms(s: f64) -> Option<u64> {
    (0.0..1e12).contains(&s).then(|| (s * 1000.0).round() as u64)
}

/// A BCP 47-looking tag (`en`, `en-US`, `pt-BR`, `zh-Hant-TW`); transcriber
/// settings such as `multi` are not locales.
fn is_locale(s: &str) -> bool {
    let mut parts = s.split('-');
    let lang = parts.next().unwrap_or_default();
    (2..=3).contains(&lang.len())
        && lang.bytes().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_alphanumeric()))
}

/// Converts one report; `Ok(None)` for another server message type.
fn convert_one(label: &str, doc: &Value, opts: &Options) -> Result<Option<Converted>, String> {
    let top = Obj::of(doc, label, "an end-of-call report object")?;
    // The webhook body wraps the report in `message`.
    let (report, base) = match top.get("message") {
        Some(Value::Object(map)) => (Obj { map }, "message."),
        _ => (top, ""),
    };
    let at_field = |f: &str| format!("{label}: {base}{f}");
    let here = format!("{label}: {}", base.trim_end_matches('.'));
    let here = here.trim_end_matches(": ").to_string();
    // A call object (top-level `id`, no `call`) uses `type` for the call type.
    let call_object = report.get("call").is_none() && report.get("id").is_some();
    match report.get("type") {
        None => {}
        Some(Value::String(t)) if t == REPORT_TYPE || call_object => {}
        Some(Value::String(t)) => {
            log(LogLevel::Warn, &format!("{label}: a \"{t}\" message, not an {REPORT_TYPE}: skipped"));
            return Ok(None);
        }
        Some(v) => return Err(format!("{}: expected a string, got {}", at_field("type"), kind_of(v))),
    }

    let call = report.obj("call", &here)?;
    let call_at = at_field("call");
    let id = match call.map(|c| c.str("id", &call_at)).transpose()?.flatten() {
        Some(id) => id.to_string(),
        None => match report.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(v) => return Err(format!("{}: expected a string, got {}", at_field("id"), kind_of(v))),
            None => return Err(format!("{here}: missing `call.id` (the call's id)")),
        },
    };
    if id.trim().is_empty() {
        return Err(format!("{here}: `call.id` is empty"));
    }
    let label = format!("{label} (call \"{id}\")");
    let at_field = |f: &str| format!("{label}: {base}{f}");
    let here = format!("{label}: {}", base.trim_end_matches('.'));
    let here = here.trim_end_matches(": ").to_string();

    // Report fields fall back to the same field on the call object.
    let pick_str = |k: &str| -> Result<Option<(String, String)>, String> {
        if let Some(s) = report.str(k, &here)? {
            return Ok(Some((s.to_string(), at_field(k))));
        }
        match call {
            Some(c) => Ok(c.str(k, &at_field("call"))?.map(|s| (s.to_string(), at_field(&format!("call.{k}"))))),
            None => Ok(None),
        }
    };
    let started = match pick_str("startedAt")? {
        Some((s, at)) => {
            let ms = time::parse_rfc3339_ms(&s).ok_or_else(|| format!("{at}: not an RFC 3339 timestamp: \"{s}\""))?;
            Some((s, ms))
        }
        None => None,
    };
    let ended_reason = pick_str("endedReason")?.map(|(s, _)| s);

    let artifact = report.obj("artifact", &here)?;
    let artifact_at = at_field("artifact");
    let (messages, messages_at) = match artifact.and_then(|a| a.get("messages")) {
        Some(m) => (Some(m), format!("{artifact_at}.messages")),
        None => (report.get("messages"), at_field("messages")),
    };
    let (turns, from_transcript) = match messages {
        Some(Value::Array(items)) => (read_messages(items, &messages_at, started.as_ref().map(|(_, ms)| *ms))?, false),
        Some(v) => return Err(format!("{messages_at}: expected an array of messages, got {}", kind_of(v))),
        None => {
            let (transcript, t_at) = match artifact.map(|a| a.str("transcript", &artifact_at)).transpose()?.flatten() {
                Some(t) => (Some(t), format!("{artifact_at}.transcript")),
                None => (report.str("transcript", &here)?, at_field("transcript")),
            };
            match transcript {
                Some(t) => (read_transcript(t, &t_at)?, true),
                None => return Err(format!("{here}: no `artifact.messages` and no transcript: nothing to convert")),
            }
        }
    };

    // The assistant as configured, and the per-call overrides.
    let assistant = match report.obj("assistant", &here)? {
        Some(a) => Some((a, at_field("assistant"))),
        None => match call {
            Some(c) => c.obj("assistant", &call_at)?.map(|a| (a, at_field("call.assistant"))),
            None => None,
        },
    };
    let overrides = match call {
        Some(c) => c.obj("assistantOverrides", &call_at)?.map(|o| (o, at_field("call.assistantOverrides"))),
        None => None,
    };
    let mut model = None;
    let mut tools: Option<BTreeSet<String>> = None;
    let mut locale = None;
    let mut assistant_name = None;
    // Overrides first: they are what the call ran with.
    for (a, at) in overrides.iter().chain(assistant.iter()) {
        if let Some(m) = a.obj("model", at)? {
            let m_at = format!("{at}.model");
            if model.is_none() {
                model = m.str("model", &m_at)?.filter(|s| !s.is_empty()).map(str::to_string);
            }
            if tools.is_none() {
                if let Some(list) = m.get("tools") {
                    tools = Some(tool_names(list, &format!("{m_at}.tools"))?);
                }
            }
        }
        if locale.is_none() {
            if let Some(t) = a.obj("transcriber", at)? {
                locale = t.str("language", &format!("{at}.transcriber"))?.filter(|l| is_locale(l)).map(str::to_string);
            }
        }
        if assistant_name.is_none() {
            assistant_name = a.str("name", at)?.filter(|s| !s.is_empty()).map(str::to_string);
        }
    }
    let mut memory = Vec::new();
    if let Some((o, at)) = &overrides {
        if let Some(vars) = o.obj("variableValues", at)? {
            let mut keys: Vec<&String> = vars.map.keys().collect();
            keys.sort();
            memory = keys.into_iter().filter_map(|k| vars.get(k).map(|v| MemoryEntry { key: k.clone(), value: v.clone().into() })).collect();
        }
    }
    let mut extra = BTreeMap::new();
    if let Some(analysis) = report.obj("analysis", &here)? {
        match analysis.get("successEvaluation") {
            None => {}
            Some(Value::String(s)) => {
                extra.insert("success_evaluation".to_string(), s.clone());
            }
            Some(v @ (Value::Bool(_) | Value::Number(_))) => {
                extra.insert("success_evaluation".to_string(), v.to_string());
            }
            Some(v) => return Err(format!("{}: expected a string, boolean or number, got {}", at_field("analysis.successEvaluation"), kind_of(v))),
        }
    }
    if let Some(name) = assistant_name {
        extra.insert("assistant_name".to_string(), name);
    }
    let call_type = match call {
        Some(c) => c.str("type", &call_at)?,
        None if call_object => report.str("type", &here)?,
        None => None,
    };
    if let Some(ty) = call_type {
        extra.insert("call_type".to_string(), ty.to_string());
    }

    // The platform's per-call custom fields (set when the call was created): labels.
    let mut labels = BTreeMap::new();
    let metadata = match call {
        Some(c) => c.obj("metadata", &call_at)?,
        None => report.obj("metadata", &here)?,
    };
    if let Some(m) = metadata {
        labels.extend(m.map.iter().filter_map(|(k, v)| ratchet_sdk::value_text(Some(v)).map(|text| (k.clone(), text))));
    }

    let mut c = Conversation::new(id, Channel::Voice);
    c.labels = labels;
    c.started_at = started.map(|(s, _)| s);
    c.outcome.escalated = ended_reason.as_deref().is_some_and(|r| opts.is_escalation(r));
    c.outcome.ended_reason = ended_reason;
    let defined = tools.is_some();
    let mut names = tools.unwrap_or_default();
    names.extend(turns.iter().flat_map(|t: &Turn| t.tool_calls.iter().map(|call| call.name.clone())));
    c.state.tool_registry = names.into_iter().map(|name| ToolRef { version: opts.tool_versions.get(&name).cloned().unwrap_or_default(), id: name }).collect();
    let unversioned = c.state.tool_registry.iter().any(|t| t.version.is_empty());
    c.state.model = model;
    c.state.memory_snapshot = memory;
    c.state.routing.locale = locale;
    c.state.routing.extra = extra;
    let has_turns = !turns.is_empty();
    let all_offsets = turns.iter().all(|t| t.offset_ms.is_some());
    // Latency applies to agent turns that answer the customer.
    let mut answers = false;
    let mut after_customer = false;
    for t in &turns {
        match t.role {
            Role::Customer => after_customer = true,
            Role::Agent => answers |= std::mem::take(&mut after_customer),
            _ => {}
        }
    }
    let any_latency = turns.iter().any(|t| t.latency_ms.is_some());
    c.turns = turns;
    c.renumber();
    if let Some(side) = &opts.state {
        side.apply(&mut c.state);
    }

    let side = |path: &str| opts.state.as_ref().is_some_and(|s| s.sets(path));
    let mut missing = Vec::new();
    let mut note = |present: bool, field: &str| {
        if !present && !side(field) {
            missing.push(field.to_string());
        }
    };
    note(c.started_at.is_some(), "started_at");
    note(!from_transcript, "turns.tool_calls");
    note(!has_turns || all_offsets, "turns.offset_ms");
    note(!answers || any_latency, "turns.latency_ms");
    note(c.outcome.ended_reason.is_some(), "outcome.escalated");
    note(false, "outcome.complaint");
    note(false, "outcome.compliance_flags");
    note(c.outcome.ended_reason.is_some(), "outcome.ended_reason");
    note(false, "impact");
    note(!c.state.memory_snapshot.is_empty(), "state.memory_snapshot");
    note(false, "state.kb_version_hash");
    note(defined, "state.tool_registry");
    note(!unversioned || side("state.tool_registry"), "state.tool_registry.version");
    note(false, "state.prompt_version");
    note(c.state.model.is_some(), "state.model");
    note(false, "state.routing.time_of_day");
    note(c.state.routing.locale.is_some(), "state.routing.locale");
    note(false, "state.routing.queue");
    Ok(Some(Converted { conversation: c, missing }))
}

/// Tool names from the assistant's `model.tools[]`: a function tool's
/// `function.name`, else the built-in tool's `type` (`transferCall`,
/// `endCall`, ...), which is also the name its calls carry.
fn tool_names(v: &Value, at: &str) -> Result<BTreeSet<String>, String> {
    let Value::Array(items) = v else {
        return Err(format!("{at}: expected an array of tools, got {}", kind_of(v)));
    };
    let mut names = BTreeSet::new();
    for (k, t) in items.iter().enumerate() {
        let at = format!("{at}[{k}]");
        let t = Obj::of(t, &at, "a tool object")?;
        let name = match t.obj("function", &at)? {
            Some(f) => f.str("name", &format!("{at}.function"))?,
            None => None,
        };
        match name.or(t.str("type", &at)?) {
            Some(n) if !n.is_empty() => names.insert(n.to_string()),
            _ => return Err(format!("{at}: a tool without `function.name` or `type`")),
        };
    }
    Ok(names)
}

/// Reads `artifact.messages[]` into turns.
fn read_messages(items: &[Value], at: &str, started_ms: Option<i64>) -> Result<Vec<Turn>, String> {
    let mut turns: Vec<Turn> = Vec::with_capacity(items.len());
    let mut call_names: BTreeMap<String, String> = BTreeMap::new();
    // End of the customer's latest utterance, while no agent turn answered it yet.
    let mut awaiting: Option<f64> = None;
    for (i, m) in items.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let o = Obj::of(m, &at, "a message object with `role`")?;
        let role = o.req_str("role", &at)?;
        let text = o.str("message", &at)?.unwrap_or_default().to_string();
        let time = o.num("time", &at)?;
        let mut turn = match role {
            "system" => Turn::new(0, Role::System, text),
            "user" => Turn::new(0, Role::Customer, text),
            "bot" | "assistant" | "tool_calls" => {
                let mut turn = Turn::new(0, Role::Agent, text);
                turn.tool_calls = tool_calls(&o, &at, role == "tool_calls", &mut call_names)?;
                turn
            }
            "tool_call_result" | "tool" => {
                let call_id = o.req_str("toolCallId", &at)?.to_string();
                let name = match o.str("name", &at)?.filter(|n| !n.is_empty()) {
                    Some(n) => n.to_string(),
                    None => call_names
                        .get(&call_id)
                        .cloned()
                        .ok_or_else(|| format!("{at}.toolCallId: no earlier tool call has id \"{call_id}\" (and the message has no `name`)"))?,
                };
                let (content, is_error) = match (o.get("result"), o.get("error")) {
                    (Some(r), e) => (json_or_string(r), e.is_some()),
                    (None, Some(e)) => (json_or_string(e), true),
                    (None, None) => (Value::Null, false),
                };
                let mut turn = Turn::new(0, Role::Tool, "");
                turn.tool_result = Some(ToolResult { call_id, name, content: content.into(), is_error });
                turn
            }
            other => return Err(format!("{at}.role: unsupported role \"{other}\" (expected system, user, bot, assistant, tool_calls or tool_call_result)")),
        };
        turn.offset_ms = match o.num("secondsFromStart", &at)? {
            Some(s) => Some(seconds_to_ms(s).ok_or_else(|| format!("{at}.secondsFromStart: expected seconds from the start of the call (>= 0), got {s}"))?),
            None => match (time, started_ms) {
                (Some(t), Some(start)) if t >= start as f64 => seconds_to_ms((t - start as f64) / 1000.0),
                _ => None,
            },
        };
        match turn.role {
            Role::Customer => awaiting = o.num("endTime", &at)?,
            Role::Agent => {
                if let (Some(end), Some(t)) = (awaiting.take(), time) {
                    turn.latency_ms = seconds_to_ms((t - end) / 1000.0);
                }
            }
            _ => {}
        }
        turns.push(turn);
    }
    Ok(turns)
}

/// The `toolCalls[]` of an agent message (required on `tool_calls`
/// messages), recording each call's name by id.
fn tool_calls(o: &Obj<'_>, at: &str, required: bool, call_names: &mut BTreeMap<String, String>) -> Result<Vec<ToolCall>, String> {
    let calls = match o.get("toolCalls").or_else(|| o.get("tool_calls")) {
        None if required => return Err(format!("{at}: missing `toolCalls` (an array)")),
        None => return Ok(Vec::new()),
        Some(Value::Array(calls)) => calls,
        Some(v) => return Err(format!("{at}.toolCalls: expected an array, got {}", kind_of(v))),
    };
    let mut out = Vec::with_capacity(calls.len());
    for (k, call) in calls.iter().enumerate() {
        let at = format!("{at}.toolCalls[{k}]");
        let c = Obj::of(call, &at, "a tool call object")?;
        let id = c.req_str("id", &at)?.to_string();
        let f_at = format!("{at}.function");
        let f = Obj::of(c.get("function").unwrap_or(&Value::Null), &f_at, "an object with `name` and `arguments`")?;
        let name = f.req_str("name", &f_at)?.to_string();
        let arguments = match f.get("arguments") {
            None => Value::Null,
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(v) => v,
                Err(e) => {
                    log(LogLevel::Warn, &format!("{f_at}.arguments is not valid JSON ({e}); kept as a string"));
                    Value::String(s.clone())
                }
            },
            Some(v) => v.clone(),
        };
        call_names.insert(id.clone(), name.clone());
        out.push(ToolCall { id, name, arguments: arguments.into() });
    }
    Ok(out)
}

/// Reads a plain transcript (`AI: ...` / `User: ...` lines; a line without
/// a speaker continues the previous turn).
fn read_transcript(t: &str, at: &str) -> Result<Vec<Turn>, String> {
    let mut turns: Vec<Turn> = Vec::new();
    for (n, line) in t.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let speaker = line.split_once(':').and_then(|(who, rest)| {
            let role = match who.trim().to_ascii_lowercase().as_str() {
                "ai" | "assistant" | "bot" | "agent" => Role::Agent,
                "user" | "customer" | "caller" => Role::Customer,
                _ => return None,
            };
            Some((role, rest.trim()))
        });
        match (speaker, turns.last_mut()) {
            (Some((role, text)), _) => {
                turns.push(Turn::new(0, role, text));
            }
            (None, Some(last)) => {
                last.text.push('\n');
                last.text.push_str(line);
            }
            (None, None) => return Err(format!("{at}: line {} has no speaker (expected `AI: ...` or `User: ...`)", n + 1)),
        }
    }
    Ok(turns)
}

#[cfg(test)]
mod tests;
