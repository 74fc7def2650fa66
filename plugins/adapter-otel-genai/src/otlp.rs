//! Reading OTLP JSON trace exports into flat [`Span`]s.
//!
//! The input is the JSON encoding of OTLP's `ExportTraceServiceRequest`
//! (what the OpenTelemetry Collector's `file` exporter and OTLP/HTTP JSON
//! carry): `resourceSpans[].scopeSpans[].spans[]`. Field names are
//! lowerCamelCase as the OTLP/JSON spec requires; the protobuf snake_case
//! names (`trace_id`, `start_time_unix_nano`, ...) and the pre-1.0
//! `instrumentationLibrarySpans` are accepted too, since older exporters
//! wrote them. Attribute values (`AnyValue`) become plain JSON:
//!
//! | OTLP `AnyValue` | JSON |
//! |---|---|
//! | `{"stringValue": s}` | string |
//! | `{"boolValue": b}` | boolean |
//! | `{"intValue": "123"}` (string or number) | integer |
//! | `{"doubleValue": 1.5}` | number (`"NaN"`/`"Infinity"` stay strings) |
//! | `{"arrayValue": {"values": [...]}}` | array |
//! | `{"kvlistValue": {"values": [{"key", "value"}]}}` | object |
//! | `{"bytesValue": "base64"}` | the base64 string |
//! | `{}` | null |

use std::collections::BTreeMap;

use ratchet_sdk::json::{split_documents, SplitError};
use ratchet_sdk::params::kind_of;
use serde_json::{Map, Value};

/// One span of the export with its attributes decoded to JSON: the unit the
/// conversation rebuild works on, independent of how the export nested it.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Where the span is in the input, for error messages, e.g.
    /// `line 2: resourceSpans[0].scopeSpans[1].spans[3] (span "chat gpt-4o")`.
    pub label: String,
    /// Hex trace id, as exported.
    pub trace_id: String,
    /// Hex span id, as exported.
    pub span_id: String,
    /// The parent's span id (same trace), `None` for a root span.
    pub parent_span_id: Option<String>,
    /// Span name, e.g. `chat gpt-4o`.
    pub name: String,
    /// Start time, nanoseconds since the Unix epoch (`None` when absent or 0).
    pub start_ns: Option<u64>,
    /// End time, nanoseconds since the Unix epoch (`None` when absent or 0).
    pub end_ns: Option<u64>,
    /// Span attributes, decoded (a later duplicate key wins).
    pub attributes: BTreeMap<String, Value>,
    /// The attributes of the resource that emitted the span (shared by its spans).
    pub resource: std::sync::Arc<BTreeMap<String, Value>>,
    /// Span events in export order.
    pub events: Vec<SpanEvent>,
    /// `Some(status message)` when the span's status code is ERROR.
    pub error: Option<String>,
    /// Position in the input: a total order that breaks ties deterministically.
    pub seq: usize,
}

/// A span event (`spans[].events[]`): GenAI content may be recorded on the
/// `gen_ai.client.inference.operation.details` event instead of the span.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanEvent {
    /// Event name.
    pub name: String,
    /// Event time, nanoseconds since the Unix epoch.
    pub time_ns: Option<u64>,
    /// Event attributes, decoded.
    pub attributes: BTreeMap<String, Value>,
    /// A log record's body, decoded (`None` for span events, which have none):
    /// the pre-1.37 GenAI events carry their message there.
    pub body: Option<Value>,
}

impl Span {
    /// A string attribute; `Err` when it is present with another type.
    pub fn str_attr(&self, key: &str) -> Result<Option<&str>, String> {
        match self.attributes.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(format!("{}: attribute `{key}`: expected a string, got {}", self.label, kind_of(v))),
        }
    }

    /// A non-empty string attribute (empty strings count as absent).
    pub fn nonempty_attr(&self, key: &str) -> Result<Option<&str>, String> {
        Ok(self.str_attr(key)?.filter(|s| !s.trim().is_empty()))
    }

    /// `gen_ai.operation.name`, if any.
    pub fn operation(&self) -> Result<Option<&str>, String> {
        self.str_attr("gen_ai.operation.name")
    }
}

/// Reads every span of the input: one OTLP JSON export request object
/// (`ExportTraceServiceRequest` and/or `ExportLogsServiceRequest`), a JSON
/// array of them, or JSONL with one per line (the collector's file exporter).
/// Spans come back in input order (`seq`). Log records become events of the
/// span they name (`traceId` + `spanId`), in input order after its own
/// events; records of a span the input lacks make a stand-in span (see
/// [`attach_logs`]).
pub fn parse_input(input: &[u8]) -> Result<Vec<Span>, String> {
    let text = std::str::from_utf8(input).map_err(|e| format!("input is not UTF-8 text: {e}"))?;
    let mut spans = Vec::new();
    let mut logs = Vec::new();
    for (prefix, doc) in split_input(text)? {
        read_request(&prefix, &doc, &mut spans, &mut logs)?;
    }
    attach_logs(&mut spans, logs);
    Ok(spans)
}

/// One OTLP log record (`resourceLogs[].scopeLogs[].logRecords[]`).
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// Where it is in the input, for error messages.
    pub label: String,
    /// Trace id (hex), when the record was emitted inside a span.
    pub trace_id: Option<String>,
    /// Span id (hex), when the record was emitted inside a span.
    pub span_id: Option<String>,
    /// `eventName`, else the `event.name` attribute (older SDKs).
    pub name: String,
    /// `timeUnixNano`, else `observedTimeUnixNano`.
    pub time_ns: Option<u64>,
    /// Attributes, decoded.
    pub attributes: BTreeMap<String, Value>,
    /// Body, decoded.
    pub body: Value,
}

/// Hands each log record to the span it was emitted in, as a [`SpanEvent`]
/// with its body. Records whose span is not in the input are gathered per
/// (trace, span) into a stand-in span: its name is `chat`, its
/// `gen_ai.operation.name` the records' own or `chat`, its times the
/// records' first and last. Records outside any trace share one stand-in
/// span of trace `logs-without-trace`.
pub fn attach_logs(spans: &mut Vec<Span>, logs: Vec<LogRecord>) {
    let mut at: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (i, s) in spans.iter().enumerate() {
        at.entry((s.trace_id.clone(), s.span_id.clone())).or_insert(i);
    }
    for log in logs {
        let trace = log.trace_id.clone().unwrap_or_else(|| "logs-without-trace".to_string());
        let span = log.span_id.clone().unwrap_or_default();
        let i = match at.get(&(trace.clone(), span.clone())) {
            Some(&i) => i,
            None => {
                let seq = spans.iter().map(|s| s.seq + 1).max().unwrap_or(0);
                let mut attributes = BTreeMap::new();
                let op = log.attributes.get("gen_ai.operation.name").cloned().unwrap_or_else(|| Value::String("chat".into()));
                attributes.insert("gen_ai.operation.name".to_string(), op);
                for k in ["gen_ai.conversation.id", "gen_ai.request.model", "gen_ai.response.model"] {
                    if let Some(v) = log.attributes.get(k) {
                        attributes.insert(k.to_string(), v.clone());
                    }
                }
                spans.push(Span {
                    label: format!("{} (log records of span \"{span}\", which the input lacks)", log.label),
                    trace_id: trace.clone(),
                    span_id: span.clone(),
                    parent_span_id: None,
                    name: "chat".into(),
                    start_ns: log.time_ns,
                    end_ns: log.time_ns,
                    attributes,
                    resource: Default::default(),
                    events: Vec::new(),
                    error: None,
                    seq,
                });
                at.insert((trace, span), spans.len() - 1);
                spans.len() - 1
            }
        };
        let s = &mut spans[i];
        if s.label.contains("which the input lacks") {
            s.start_ns = min_some(s.start_ns, log.time_ns);
            s.end_ns = s.end_ns.max(log.time_ns);
        }
        s.events.push(SpanEvent { name: log.name, time_ns: log.time_ns, attributes: log.attributes, body: Some(log.body) });
    }
}

fn min_some(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Splits the input into (error prefix, JSON document) pairs.
fn split_input(text: &str) -> Result<Vec<(String, Value)>, String> {
    let docs = split_documents(text).map_err(|e| match e {
        SplitError::Empty => "input is empty: expected an OTLP JSON trace export (an object with `resourceSpans`, an array of them, or JSONL)".to_string(),
        SplitError::Invalid(whole) => format!("invalid JSON: {whole}"),
        SplitError::Line { line, error, .. } => format!("line {line}: invalid JSON: {error}"),
    })?;
    Ok(docs
        .into_iter()
        .map(|d| {
            let prefix = match (d.line, d.top_level) {
                (Some(line), _) => format!("line {line}: "),
                (None, true) => String::new(),
                (None, false) => format!("document {}: ", d.index),
            };
            (prefix, d.value)
        })
        .collect())
}

/// A field by its lowerCamelCase OTLP/JSON name or its protobuf snake_case
/// name; `null` counts as absent.
fn field<'a>(o: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a Value> {
    o.get(camel).or_else(|| o.get(snake)).filter(|v| !v.is_null())
}

fn object<'a>(v: &'a Value, at: &str, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object().ok_or_else(|| format!("{at}: expected {what}, got {}", kind_of(v)))
}

fn array<'a>(v: Option<&'a Value>, at: &str) -> Result<&'a [Value], String> {
    match v {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(v) => Err(format!("{at}: expected an array, got {}", kind_of(v))),
    }
}

fn read_request(prefix: &str, doc: &Value, out: &mut Vec<Span>, logs: &mut Vec<LogRecord>) -> Result<(), String> {
    let Some(o) = doc.as_object() else {
        return Err(format!("{prefix}expected an OTLP JSON ExportTraceServiceRequest object with `resourceSpans`, got {}", kind_of(doc)));
    };
    let resource_logs = field(o, "resourceLogs", "resource_logs");
    if resource_logs.is_some() {
        read_logs(prefix, resource_logs, logs)?;
    }
    let Some(resource_spans) = field(o, "resourceSpans", "resource_spans") else {
        if resource_logs.is_some() {
            return Ok(());
        }
        let hint = if o.contains_key("resourceMetrics") || o.contains_key("resource_metrics") {
            " (this is an OTLP metrics export: export the traces and logs, where GenAI spans and events live)"
        } else {
            ""
        };
        return Err(format!("{prefix}missing `resourceSpans` and `resourceLogs`: expected an OTLP JSON trace or logs export (ExportTraceServiceRequest, ExportLogsServiceRequest){hint}"));
    };
    for (i, rs) in array(Some(resource_spans), &format!("{prefix}resourceSpans"))?.iter().enumerate() {
        let at = format!("{prefix}resourceSpans[{i}]");
        let rs = object(rs, &at, "a ResourceSpans object")?;
        let resource = match field(rs, "resource", "resource") {
            Some(r) => {
                let r = object(r, &format!("{at}.resource"), "a Resource object")?;
                std::sync::Arc::new(read_attributes(field(r, "attributes", "attributes"), &format!("{at}.resource.attributes"))?)
            }
            None => Default::default(),
        };
        let (scope_key, scopes) = match field(rs, "scopeSpans", "scope_spans") {
            Some(v) => ("scopeSpans", Some(v)),
            None => ("instrumentationLibrarySpans", field(rs, "instrumentationLibrarySpans", "instrumentation_library_spans")),
        };
        for (j, ss) in array(scopes, &format!("{at}.{scope_key}"))?.iter().enumerate() {
            let at = format!("{at}.{scope_key}[{j}]");
            let ss = object(ss, &at, "a ScopeSpans object")?;
            for (k, span) in array(field(ss, "spans", "spans"), &format!("{at}.spans"))?.iter().enumerate() {
                let seq = out.len();
                out.push(read_span(&format!("{at}.spans[{k}]"), span, seq, resource.clone())?);
            }
        }
    }
    Ok(())
}

fn read_logs(prefix: &str, resource_logs: Option<&Value>, out: &mut Vec<LogRecord>) -> Result<(), String> {
    for (i, rl) in array(resource_logs, &format!("{prefix}resourceLogs"))?.iter().enumerate() {
        let at = format!("{prefix}resourceLogs[{i}]");
        let rl = object(rl, &at, "a ResourceLogs object")?;
        for (j, sl) in array(field(rl, "scopeLogs", "scope_logs"), &format!("{at}.scopeLogs"))?.iter().enumerate() {
            let at = format!("{at}.scopeLogs[{j}]");
            let sl = object(sl, &at, "a ScopeLogs object")?;
            for (k, rec) in array(field(sl, "logRecords", "log_records"), &format!("{at}.logRecords"))?.iter().enumerate() {
                out.push(read_log(&format!("{at}.logRecords[{k}]"), rec)?);
            }
        }
    }
    Ok(())
}

fn read_log(at: &str, v: &Value) -> Result<LogRecord, String> {
    let o = object(v, at, "a LogRecord object")?;
    let id = |camel: &str, snake: &str| -> Result<Option<String>, String> {
        match field(o, camel, snake) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() || s.bytes().all(|b| b == b'0') => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(format!("{at}.{camel}: expected a hex string, got {}", kind_of(v))),
        }
    };
    let trace_id = id("traceId", "trace_id")?;
    let span_id = id("spanId", "span_id")?;
    let attributes = read_attributes(field(o, "attributes", "attributes"), &format!("{at}.attributes"))?;
    let name = match field(o, "eventName", "event_name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) | None => match attributes.get("event.name") {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        },
        Some(v) => return Err(format!("{at}.eventName: expected a string, got {}", kind_of(v))),
    };
    let label = format!("{at} (log record \"{name}\")");
    let time_ns = match nanos(field(o, "timeUnixNano", "time_unix_nano"), &format!("{label}.timeUnixNano"))? {
        Some(t) => Some(t),
        None => nanos(field(o, "observedTimeUnixNano", "observed_time_unix_nano"), &format!("{label}.observedTimeUnixNano"))?,
    };
    let body = match field(o, "body", "body") {
        None => Value::Null,
        Some(b) => any_value(b, &format!("{label}.body"))?,
    };
    Ok(LogRecord { label, trace_id, span_id, name, time_ns, attributes, body })
}

fn read_span(at: &str, v: &Value, seq: usize, resource: std::sync::Arc<BTreeMap<String, Value>>) -> Result<Span, String> {
    let o = object(v, at, "a Span object")?;
    let id = |camel: &str, snake: &str| -> Result<Option<String>, String> {
        match field(o, camel, snake) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(format!("{at}.{camel}: expected a hex string, got {}", kind_of(v))),
        }
    };
    let trace_id = id("traceId", "trace_id")?.ok_or_else(|| format!("{at}: missing `traceId`"))?;
    let span_id = id("spanId", "span_id")?.ok_or_else(|| format!("{at}: missing `spanId`"))?;
    let parent_span_id = id("parentSpanId", "parent_span_id")?;
    let name = match field(o, "name", "name") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => return Err(format!("{at}.name: expected a string, got {}", kind_of(v))),
    };
    let label = format!("{at} (span \"{name}\")");
    let start_ns = nanos(field(o, "startTimeUnixNano", "start_time_unix_nano"), &format!("{label}.startTimeUnixNano"))?;
    let end_ns = nanos(field(o, "endTimeUnixNano", "end_time_unix_nano"), &format!("{label}.endTimeUnixNano"))?;
    let attributes = read_attributes(field(o, "attributes", "attributes"), &format!("{label}.attributes"))?;
    let mut events = Vec::new();
    for (e, ev) in array(field(o, "events", "events"), &format!("{label}.events"))?.iter().enumerate() {
        let at = format!("{label}.events[{e}]");
        let eo = object(ev, &at, "a span event object")?;
        let name = match field(eo, "name", "name") {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => return Err(format!("{at}.name: expected a string, got {}", kind_of(v))),
        };
        events.push(SpanEvent {
            name,
            time_ns: nanos(field(eo, "timeUnixNano", "time_unix_nano"), &format!("{at}.timeUnixNano"))?,
            attributes: read_attributes(field(eo, "attributes", "attributes"), &format!("{at}.attributes"))?,
            body: None,
        });
    }
    let error = match field(o, "status", "status") {
        None => None,
        Some(Value::Object(s)) => {
            let is_error = match s.get("code") {
                None | Some(Value::Null) => false,
                Some(Value::Number(n)) => n.as_u64() == Some(2),
                Some(Value::String(c)) => c == "STATUS_CODE_ERROR",
                Some(v) => return Err(format!("{label}.status.code: expected a status code (0, 1, 2 or \"STATUS_CODE_...\"), got {}", kind_of(v))),
            };
            let message = match s.get("message") {
                Some(Value::String(m)) => m.clone(),
                _ => String::new(),
            };
            is_error.then_some(message)
        }
        Some(v) => return Err(format!("{label}.status: expected an object, got {}", kind_of(v))),
    };
    Ok(Span { label, trace_id, span_id, parent_span_id, name, start_ns, end_ns, attributes, resource, events, error, seq })
}

/// A `fixed64` nanosecond timestamp: OTLP/JSON writes it as a decimal string,
/// some exporters as a number. 0 means "not set".
fn nanos(v: Option<&Value>, at: &str) -> Result<Option<u64>, String> {
    let n = match v {
        None => return Ok(None),
        Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| format!("{at}: expected nanoseconds since the Unix epoch, got \"{s}\""))?,
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| format!("{at}: expected nanoseconds since the Unix epoch, got {n}"))?,
        Some(v) => return Err(format!("{at}: expected nanoseconds since the Unix epoch (a string of digits), got {}", kind_of(v))),
    };
    Ok((n > 0).then_some(n))
}

/// A `KeyValue` list (`[{"key": ..., "value": AnyValue}]`) as a sorted map.
fn read_attributes(v: Option<&Value>, at: &str) -> Result<BTreeMap<String, Value>, String> {
    let mut out = BTreeMap::new();
    for (i, kv) in array(v, at)?.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let kv = object(kv, &at, "a {\"key\", \"value\"} object")?;
        let key = match kv.get("key") {
            Some(Value::String(k)) => k.clone(),
            Some(v) => return Err(format!("{at}.key: expected a string, got {}", kind_of(v))),
            None => return Err(format!("{at}: missing `key`")),
        };
        let value = match kv.get("value") {
            None | Some(Value::Null) => Value::Null,
            Some(v) => any_value(v, &format!("{at}.value (`{key}`)"))?,
        };
        out.insert(key, value);
    }
    Ok(out)
}

/// Decodes an OTLP `AnyValue` into plain JSON (see the module table).
pub fn any_value(v: &Value, at: &str) -> Result<Value, String> {
    let o = object(v, at, "an AnyValue object such as {\"stringValue\": ...}")?;
    let Some((kind, inner)) = o.iter().find(|(_, v)| !v.is_null()) else {
        return Ok(Value::Null);
    };
    if o.values().filter(|v| !v.is_null()).count() > 1 {
        return Err(format!("{at}: an AnyValue holds exactly one of stringValue, boolValue, intValue, doubleValue, arrayValue, kvlistValue, bytesValue"));
    }
    match (kind.as_str(), inner) {
        ("stringValue" | "string_value", Value::String(s)) => Ok(Value::String(s.clone())),
        ("boolValue" | "bool_value", Value::Bool(b)) => Ok(Value::Bool(*b)),
        ("intValue" | "int_value", Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Value::Number(n.clone())),
        ("intValue" | "int_value", Value::String(s)) => {
            s.trim().parse::<i64>().map(Value::from).map_err(|_| format!("{at}.intValue: expected a 64-bit integer, got \"{s}\""))
        }
        ("doubleValue" | "double_value", Value::Number(n)) => Ok(Value::Number(n.clone())),
        ("doubleValue" | "double_value", Value::String(s)) => match s.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::from(f)),
            Ok(_) => Ok(Value::String(s.clone())),
            Err(_) => Err(format!("{at}.doubleValue: expected a number, got \"{s}\"")),
        },
        ("bytesValue" | "bytes_value", Value::String(s)) => Ok(Value::String(s.clone())),
        ("arrayValue" | "array_value", Value::Object(a)) => {
            let items = array(a.get("values").filter(|v| !v.is_null()), &format!("{at}.arrayValue.values"))?;
            items.iter().enumerate().map(|(i, item)| any_value(item, &format!("{at}.arrayValue.values[{i}]"))).collect::<Result<Vec<_>, _>>().map(Value::Array)
        }
        ("kvlistValue" | "kvlist_value", Value::Object(kv)) => {
            let at = format!("{at}.kvlistValue.values");
            let mut map = Map::new();
            for (i, entry) in array(kv.get("values").filter(|v| !v.is_null()), &at)?.iter().enumerate() {
                let at = format!("{at}[{i}]");
                let e = object(entry, &at, "a {\"key\", \"value\"} object")?;
                let key = match e.get("key") {
                    Some(Value::String(k)) => k.clone(),
                    Some(v) => return Err(format!("{at}.key: expected a string, got {}", kind_of(v))),
                    None => return Err(format!("{at}: missing `key`")),
                };
                let value = match e.get("value") {
                    None | Some(Value::Null) => Value::Null,
                    Some(v) => any_value(v, &format!("{at}.value"))?,
                };
                map.insert(key, value);
            }
            Ok(Value::Object(map))
        }
        (
            k @ ("stringValue" | "string_value" | "boolValue" | "bool_value" | "intValue" | "int_value" | "doubleValue" | "double_value" | "bytesValue"
            | "bytes_value" | "arrayValue" | "array_value" | "kvlistValue" | "kvlist_value"),
            v,
        ) => Err(format!("{at}.{k}: unexpected {}", kind_of(v))),
        (k, _) => {
            Err(format!("{at}: unknown AnyValue field `{k}` (expected stringValue, boolValue, intValue, doubleValue, arrayValue, kvlistValue or bytesValue)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn any_values_decode_to_plain_json() {
        let v = json!({"kvlistValue": {"values": [
            {"key": "s", "value": {"stringValue": "x"}},
            {"key": "i", "value": {"intValue": "-42"}},
            {"key": "j", "value": {"intValue": 7}},
            {"key": "d", "value": {"doubleValue": 1.5}},
            {"key": "n", "value": {"doubleValue": "NaN"}},
            {"key": "b", "value": {"boolValue": true}},
            {"key": "a", "value": {"arrayValue": {"values": [{"stringValue": "p"}, {}]}}},
            {"key": "e", "value": {"arrayValue": {}}},
            {"key": "y", "value": {"bytesValue": "aGk="}}
        ]}});
        assert_eq!(any_value(&v, "v").unwrap(), json!({"s": "x", "i": -42, "j": 7, "d": 1.5, "n": "NaN", "b": true, "a": ["p", null], "e": [], "y": "aGk="}));
    }

    #[test]
    fn bad_any_values_name_the_place() {
        assert_eq!(any_value(&json!({"intValue": "4x"}), "a").unwrap_err(), "a.intValue: expected a 64-bit integer, got \"4x\"");
        assert_eq!(any_value(&json!({"stringValue": 3}), "a").unwrap_err(), "a.stringValue: unexpected a number");
        assert!(any_value(&json!({"floatValue": 3}), "a").unwrap_err().starts_with("a: unknown AnyValue field `floatValue`"));
        assert!(any_value(&json!({"stringValue": "a", "boolValue": true}), "a").unwrap_err().contains("exactly one"));
        assert_eq!(any_value(&json!("x"), "a").unwrap_err(), "a: expected an AnyValue object such as {\"stringValue\": ...}, got a string");
    }

    #[test]
    fn spans_are_read_with_camel_or_snake_case_and_status() {
        let doc = json!({"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [
            {"traceId": "t1", "spanId": "s1", "parentSpanId": "", "name": "chat m", "startTimeUnixNano": "1000", "endTimeUnixNano": 2000,
             "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}],
             "status": {"code": "STATUS_CODE_ERROR", "message": "boom"}},
            {"trace_id": "t1", "span_id": "s2", "parent_span_id": "s1", "start_time_unix_nano": "0"}
        ]}]}, {"instrumentationLibrarySpans": [{"spans": [{"traceId": "t2", "spanId": "s3", "status": {"code": 1}}]}]}]});
        let spans = parse_input(doc.to_string().as_bytes()).unwrap();
        assert_eq!(spans.len(), 3);
        assert_eq!((spans[0].start_ns, spans[0].end_ns, spans[0].error.as_deref()), (Some(1000), Some(2000), Some("boom")));
        assert_eq!(spans[0].parent_span_id, None);
        assert_eq!(spans[0].operation().unwrap(), Some("chat"));
        assert_eq!((spans[1].parent_span_id.as_deref(), spans[1].start_ns), (Some("s1"), None));
        assert_eq!((spans[2].trace_id.as_str(), spans[2].error.is_none(), spans[2].seq), ("t2", true, 2));
        assert_eq!(spans[1].label, "resourceSpans[0].scopeSpans[0].spans[1] (span \"\")");
    }

    #[test]
    fn structural_errors_are_precise() {
        let cases: &[(&str, &str)] = &[
            ("", "input is empty: expected an OTLP JSON trace export (an object with `resourceSpans`, an array of them, or JSONL)"),
            ("7", "expected an OTLP JSON ExportTraceServiceRequest object with `resourceSpans`, got a number"),
            (
                "{}",
                "missing `resourceSpans` and `resourceLogs`: expected an OTLP JSON trace or logs export (ExportTraceServiceRequest, ExportLogsServiceRequest)",
            ),
            (r#"{"resourceLogs": {}}"#, "resourceLogs: expected an array, got an object"),
            (r#"{"resourceSpans": {}}"#, "resourceSpans: expected an array, got an object"),
            (r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "a"}]}]}]}"#, "resourceSpans[0].scopeSpans[0].spans[0]: missing `traceId`"),
            (
                r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "t", "spanId": "a", "name": "x", "startTimeUnixNano": "soon"}]}]}]}"#,
                "resourceSpans[0].scopeSpans[0].spans[0] (span \"x\").startTimeUnixNano: expected nanoseconds since the Unix epoch, got \"soon\"",
            ),
            (
                r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "t", "spanId": "a", "attributes": [{"value": {}}]}]}]}]}"#,
                "resourceSpans[0].scopeSpans[0].spans[0] (span \"\").attributes[0]: missing `key`",
            ),
            (r#"[{"resourceSpans": []}, 3]"#, "document 1: expected an OTLP JSON ExportTraceServiceRequest object with `resourceSpans`, got a number"),
        ];
        for (input, want) in cases {
            assert_eq!(parse_input(input.as_bytes()).unwrap_err(), *want, "input: {input}");
        }
        let e = parse_input(b"{\"resourceSpans\": []}\n{\"resourceSpans\": [}\n").unwrap_err();
        assert!(e.starts_with("line 2: invalid JSON:"), "{e}");
        let e = parse_input(b"{\"resourceSpans\": [").unwrap_err();
        assert!(e.starts_with("invalid JSON: EOF"), "{e}");
        assert!(parse_input(&[0xc3, 0x28]).unwrap_err().starts_with("input is not UTF-8"));
    }
}
