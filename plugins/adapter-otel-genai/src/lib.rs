//! # adapter-otel-genai
//!
//! A ratchet adapter: turns OpenTelemetry traces that follow the GenAI
//! semantic conventions (v1.41.1), exported as OTLP JSON, into canonical
//! conversations. Agents instrumented with OpenTelemetry (directly, or through
//! a framework's instrumentation) can then feed `ratchet detect` without a
//! vendor-specific export.
//!
//! ## Input
//! OTLP JSON trace and log exports (`ExportTraceServiceRequest`:
//! `{"resourceSpans": [{"resource": ..., "scopeSpans": [{"scope": ..., "spans": [...]}]}]}`,
//! `ExportLogsServiceRequest`: `{"resourceLogs": [... "logRecords": [...]]}`):
//! one object, a JSON array of them, or JSONL with one per line (what the
//! OpenTelemetry file exporters write). All documents of the input are
//! pooled before grouping, so a conversation may span lines; log records
//! join the span they were emitted in. See [`otlp`] for the encoding
//! details and [`legacy`] for the older content shapes (pre-1.37 events,
//! `gen_ai.content.*`, indexed `gen_ai.prompt.N.*`).
//!
//! `ratchet detect` frames such streams itself (`--framing otlp`, the
//! default with this adapter): it reads JSON Lines as one stream across
//! lines and files, regroups spans and log records per conversation the
//! same way as below, and hands the adapter one conversation at a time.
//!
//! ## Mapping
//!
//! | source (span attribute unless noted) | canonical field |
//! |---|---|
//! | `gen_ai.conversation.id` (own, nearest ancestor's, or the trace's one id) | conversation grouping and `id`; else the `group_attribute` option's attribute (default `session.id`, same rule); else the `traceId` |
//! | `gen_ai.system_instructions` | a `system` turn |
//! | `gen_ai.input.messages` (new messages only; JSON string or structured) | `turns[]` at the span's start time |
//! | `gen_ai.output.messages` (the first choice) | `agent` turns at the span's end time |
//! | message `role` `system` / `user` / `assistant` / `tool` | `system` / `customer` / `agent` / `tool` |
//! | `text` parts | `turns[].text` |
//! | `tool_call` parts `{id, name, arguments}` | `turns[].tool_calls[]` |
//! | `tool_call_response` parts `{id, response}` | `tool` turn `tool_result {call_id, content}`; `name` from the call |
//! | `execute_tool` span: `gen_ai.tool.call.id`, `gen_ai.tool.name`, `gen_ai.tool.call.arguments`, `gen_ai.tool.call.result` | the tool call and its `tool` turn when the messages lack them |
//! | `execute_tool` span status ERROR or `error.type` | `tool_result.is_error = true` |
//! | event `gen_ai.client.inference.operation.details` | the same content attributes, when the span lacks them |
//! | earliest `startTimeUnixNano` of the conversation's spans | `started_at` (RFC 3339, UTC) |
//! | message time − `started_at` | `turns[].offset_ms` |
//! | chat span end − start | `latency_ms` of the agent turn it produced |
//! | `gen_ai.response.model`, else `gen_ai.request.model` (inference spans first) | `state.model` |
//! | `gen_ai.agent.version`, else `gen_ai.prompt.name`, else `gen_ai.agent.name` | `state.prompt_version` |
//! | `gen_ai.tool.definitions[].name` ∪ tools called | `state.tool_registry[].id` |
//! | option `tool_versions` | `state.tool_registry[].version` |
//! | option `channel` (default `chat`) | `channel` |
//! | option `state` (a side-car agent state) | any `state` field it sets, overriding the trace |
//!
//! How turns are reconstructed without duplicating the history every chat
//! span repeats is described in [`rebuild`].
//!
//! ## Options
//! `{"state": {...}, "tool_versions": {"lookup_account": "1.4.0"}, "channel": "chat" | "voice", "group_attribute": "session.id"}`,
//! all optional; unknown keys are errors.
//! * `group_attribute`: the span attribute grouping requests into a
//!   conversation when they carry no `gen_ai.conversation.id` (default
//!   `session.id`; `null` or `""`: by trace only).
//! * `state`: a canonical agent state snapshot captured beside the traces
//!   (memory, knowledge-base hash, tool versions, routing): each field it sets
//!   wins over the trace and is not reported missing; `routing.extra` keys are
//!   merged.
//! * `tool_versions`: versions of the tools in the registry.
//! * `channel`: the traces carry none.
//! * `label_prefixes`: resource and span attributes under these prefixes become
//!   the conversation's **labels**, the prefix cut off (default:
//!   `ratchet.label.`, OpenLLMetry's `traceloop.association.properties.` and
//!   Langfuse's `langfuse.trace.metadata.`; `[]`: none). So
//!   `ratchet.label.account_tier = "gold"` on any span of the conversation, or on
//!   its resource, is the label `account_tier`.
//!
//! ## Output
//! One [`Converted`] per conversation, ordered by start time. `missing` lists
//! the canonical fields the export did not carry, always: `outcome.escalated`,
//! `outcome.complaint`, `outcome.compliance_flags`, `outcome.ended_reason`,
//! `impact`, `state.memory_snapshot`, `state.kb_version_hash` and
//! `state.routing.*` (GenAI conventions have no such attributes), plus when
//! absent: `started_at`, `turns` (content capture was off: no messages),
//! `turns.content` (some model-call span carries no message content in any
//! shape: capture was off; a warning names the count),
//! `turns.offset_ms`, `turns.latency_ms`, `state.model`, `state.prompt_version`,
//! `state.tool_registry` (no tool definitions: the registry lists only the
//! tools seen called) and `state.tool_registry.version` (a tool without a
//! version; its version is left empty). Fields the side-car state sets are
//! never missing.
//!
//! Malformed input is an error naming the line/document, the span (its path
//! in the export and name), the attribute, the message index and the field;
//! errors found while rebuilding also name the conversation.

#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};

use ratchet_sdk::params::kind_of;
use ratchet_sdk::{log, Adapter, Channel, Conversation, Converted, LogLevel, Params, PluginInfo, Role, SideCar, ToolRef, Value};

pub mod legacy;
pub mod messages;
pub mod otlp;
pub mod rebuild;
pub mod time;

/// The plugin (a unit struct: all state is in the arguments).
pub struct OtelGenAi;

/// Option keys this adapter understands.
const OPTION_KEYS: &[&str] = &["state", "tool_versions", "channel", "group_attribute", "label_prefixes"];

/// Attribute prefixes whose attributes become the conversation's labels, unless
/// the `label_prefixes` option says otherwise: `ratchet.label.` (set your own),
/// OpenLLMetry's association properties and Langfuse's trace metadata, where
/// those libraries put a conversation's custom properties.
pub const DEFAULT_LABEL_PREFIXES: &[&str] = &["ratchet.label.", "traceloop.association.properties.", "langfuse.trace.metadata."];

/// The attribute that groups spans into conversations when they carry no
/// `gen_ai.conversation.id`, unless the `group_attribute` option says otherwise.
pub const DEFAULT_GROUP_ATTRIBUTE: &str = "session.id";

/// The adapter's options, parsed: what the traces cannot tell.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Channel of every conversation (`chat` if unset).
    pub channel: Option<Channel>,
    /// Tool name → version, for `state.tool_registry`.
    pub tool_versions: BTreeMap<String, String>,
    /// A side-car agent state merged into every conversation.
    pub state: Option<SideCar>,
    /// The attribute grouping spans without `gen_ai.conversation.id` (`None`: trace only).
    pub group_attribute: Option<String>,
    /// Resource and span attributes under these prefixes are labels (the prefix cut off).
    pub label_prefixes: Vec<String>,
}

impl Options {
    /// Reads the options object (or null).
    pub fn from_params(options: &Value) -> Result<Options, String> {
        let p = Params::new(options).map_err(|e| e.replace("params", "options"))?;
        p.deny_unknown(OPTION_KEYS).map_err(|e| e.replace("unknown param", "unknown option"))?;
        let channel = match p.get("channel") {
            None => None,
            Some(Value::String(c)) => Some(match c.as_str() {
                "chat" => Channel::Chat,
                "voice" => Channel::Voice,
                other => return Err(format!("option `channel`: unknown channel \"{other}\", expected \"chat\" or \"voice\"")),
            }),
            Some(v) => return Err(format!("option `channel` must be a string, got {}", kind_of(v))),
        };
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
        let state = p.get("state").map(SideCar::from_value).transpose()?;
        let group_attribute = match p.get("group_attribute") {
            None => Some(DEFAULT_GROUP_ATTRIBUTE.to_string()),
            Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(s.trim().to_string()),
            Some(v) => return Err(format!("option `group_attribute` must be an attribute name (a string) or null, got {}", kind_of(v))),
        };
        let label_prefixes = match p.get("label_prefixes") {
            None => DEFAULT_LABEL_PREFIXES.iter().map(|s| s.to_string()).collect(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) if !s.is_empty() => Ok(s.clone()),
                    other => Err(format!("option `label_prefixes[{i}]` must be a non-empty attribute prefix (a string), got {}", kind_of(other))),
                })
                .collect::<Result<_, _>>()?,
            Some(v) => return Err(format!("option `label_prefixes` must be a list of attribute prefixes, got {}", kind_of(v))),
        };
        Ok(Options { channel, tool_versions, state, group_attribute, label_prefixes })
    }
}

impl Adapter for OtelGenAi {
    fn info() -> PluginInfo {
        PluginInfo::new("adapter-otel-genai", env!("CARGO_PKG_VERSION"), "OpenTelemetry GenAI traces (OTLP JSON, semconv v1.41.1) to canonical conversations")
    }

    fn convert(input: &[u8], options: &Value) -> Result<Vec<Converted>, String> {
        let opts = Options::from_params(options)?;
        let mut spans = otlp::parse_input(input)?;
        legacy::normalize(&mut spans)?;
        let shadowed = rebuild::shadowed(&spans);
        let groups = rebuild::group(&spans, opts.group_attribute.as_deref())?;
        if groups.is_empty() {
            log(LogLevel::Warn, &format!("no GenAI conversation in the export: none of its {} span(s) is a chat, agent or tool span", spans.len()));
        }
        groups
            .iter()
            .map(|g| {
                rebuild::rebuild(g, &shadowed).map(|r| {
                    let mut converted = assemble(&g.id, r, &opts);
                    converted.conversation.labels = labels(&g.spans, &opts.label_prefixes);
                    converted
                })
            })
            .collect()
    }
}

ratchet_sdk::export_adapter!(OtelGenAi);

/// The labels of a conversation: its spans' resource and span attributes under one
/// of `prefixes` (the prefix cut off): resource attributes first, then span
/// attributes (which win), each in the group's span order (later spans win). Strings as they
/// are; other values as canonical JSON.
pub fn labels(spans: &[&otlp::Span], prefixes: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let resources = spans.iter().flat_map(|s| s.resource.iter());
    for (k, v) in resources.chain(spans.iter().flat_map(|s| s.attributes.iter())) {
        let Some(key) = prefixes.iter().find_map(|p| k.strip_prefix(p.as_str())).filter(|key| !key.is_empty()) else { continue };
        if let Some(text) = ratchet_sdk::value_text(Some(v)) {
            out.insert(key.to_string(), text);
        }
    }
    out
}

/// Builds the canonical conversation and its `missing` list from a rebuilt
/// conversation and the options.
fn assemble(id: &str, r: rebuild::Rebuilt, opts: &Options) -> Converted {
    let mut c = Conversation::new(id, opts.channel.unwrap_or(Channel::Chat));
    c.started_at = r.start_ns.map(time::rfc3339);

    let defined = r.tool_definitions.is_some();
    let mut names: BTreeSet<String> = r.tool_definitions.unwrap_or_default();
    names.extend(r.turns.iter().flat_map(|t| t.tool_calls.iter().map(|call| call.name.clone())));
    c.state.tool_registry = names.into_iter().map(|name| ToolRef { version: opts.tool_versions.get(&name).cloned().unwrap_or_default(), id: name }).collect();
    let unversioned = c.state.tool_registry.iter().any(|t| t.version.is_empty());
    c.state.model = r.model;
    c.state.prompt_version = r.prompt_version;
    let has_turns = !r.turns.is_empty();
    if r.contentless > 0 {
        log(
            LogLevel::Warn,
            &format!(
                "conversation \"{id}\": {} model call span(s) carry no message content (the instrumentation's content capture is off; see docs/detect.md): turns are missing",
                r.contentless
            ),
        );
    }
    let contentless = r.contentless;
    let all_offsets = r.turns.iter().all(|t| t.offset_ms.is_some());
    let any_agent = r.turns.iter().any(|t| t.role == Role::Agent);
    let any_latency = r.turns.iter().any(|t| t.latency_ms.is_some());
    c.turns = r.turns;
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
    note(has_turns, "turns");
    // Some model calls recorded no messages: what they said is not in `turns`.
    note(contentless == 0, "turns.content");
    note(!has_turns || all_offsets, "turns.offset_ms");
    note(!any_agent || any_latency, "turns.latency_ms");
    note(false, "outcome.escalated");
    note(false, "outcome.complaint");
    note(false, "outcome.compliance_flags");
    note(false, "outcome.ended_reason");
    note(false, "impact");
    note(false, "state.memory_snapshot");
    note(false, "state.kb_version_hash");
    note(defined, "state.tool_registry");
    // The side-car's registry replaces ours, versions included.
    note(!unversioned || side("state.tool_registry"), "state.tool_registry.version");
    note(c.state.prompt_version.is_some(), "state.prompt_version");
    note(c.state.model.is_some(), "state.model");
    note(false, "state.routing.time_of_day");
    note(false, "state.routing.locale");
    note(false, "state.routing.queue");
    Converted { conversation: c, missing }
}

#[cfg(test)]
mod tests;
