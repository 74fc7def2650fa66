//! OTLP protobuf, as `detect --listen` receives it from an OpenTelemetry SDK or
//! Collector (`application/x-protobuf`), turned into the OTLP JSON encoding the
//! rest of detect reads (the file exporters' format): one export request, one
//! JSON line, so the listener's spool is itself a file `ratchet detect` reads.
//!
//! Only the messages of trace and log export requests, written out as `prost`
//! derives with the field numbers of opentelemetry-proto v1 (checked against the
//! descriptors of the `opentelemetry-proto` Python package, and end to end by the
//! SDK's own exporter in tests/it/listen.rs) — no code generation step, no gRPC
//! stack. Fields not listed are skipped by the decoder, as protobuf allows.
//!
//! The JSON follows the OTLP/JSON rules: ids as lowercase hex, 64-bit integers
//! and times as decimal strings, enums as numbers, lowerCamelCase keys, fields
//! at their default value left out.

// The message fields are opentelemetry-proto's own, named and numbered as there
// (opentelemetry/proto/*/v1/*.proto documents each): a doc line per field here
// would only repeat the name.
#![allow(missing_docs)]

use prost::Message;
use serde_json::{json, Map, Value};

/// `opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportTraceServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// `opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct ExportLogsServiceRequest {
    #[prost(message, repeated, tag = "1")]
    pub resource_logs: Vec<ResourceLogs>,
}

/// `trace.v1.ResourceSpans`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceSpans {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_spans: Vec<ScopeSpans>,
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `trace.v1.ScopeSpans`.
#[derive(Clone, PartialEq, Message)]
pub struct ScopeSpans {
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    #[prost(message, repeated, tag = "2")]
    pub spans: Vec<Span>,
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `trace.v1.Span`.
#[derive(Clone, PartialEq, Message)]
pub struct Span {
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
    #[prost(string, tag = "3")]
    pub trace_state: String,
    #[prost(bytes = "vec", tag = "4")]
    pub parent_span_id: Vec<u8>,
    #[prost(fixed32, tag = "16")]
    pub flags: u32,
    #[prost(string, tag = "5")]
    pub name: String,
    #[prost(int32, tag = "6")]
    pub kind: i32,
    #[prost(fixed64, tag = "7")]
    pub start_time_unix_nano: u64,
    #[prost(fixed64, tag = "8")]
    pub end_time_unix_nano: u64,
    #[prost(message, repeated, tag = "9")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "10")]
    pub dropped_attributes_count: u32,
    #[prost(message, repeated, tag = "11")]
    pub events: Vec<SpanEvent>,
    #[prost(uint32, tag = "12")]
    pub dropped_events_count: u32,
    #[prost(message, repeated, tag = "13")]
    pub links: Vec<SpanLink>,
    #[prost(uint32, tag = "14")]
    pub dropped_links_count: u32,
    #[prost(message, optional, tag = "15")]
    pub status: Option<Status>,
}

/// `trace.v1.Span.Event`.
#[derive(Clone, PartialEq, Message)]
pub struct SpanEvent {
    #[prost(fixed64, tag = "1")]
    pub time_unix_nano: u64,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "4")]
    pub dropped_attributes_count: u32,
}

/// `trace.v1.Span.Link`.
#[derive(Clone, PartialEq, Message)]
pub struct SpanLink {
    #[prost(bytes = "vec", tag = "1")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub span_id: Vec<u8>,
    #[prost(string, tag = "3")]
    pub trace_state: String,
    #[prost(message, repeated, tag = "4")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "5")]
    pub dropped_attributes_count: u32,
    #[prost(fixed32, tag = "6")]
    pub flags: u32,
}

/// `trace.v1.Status`.
#[derive(Clone, PartialEq, Message)]
pub struct Status {
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(int32, tag = "3")]
    pub code: i32,
}

/// `logs.v1.ResourceLogs`.
#[derive(Clone, PartialEq, Message)]
pub struct ResourceLogs {
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    #[prost(message, repeated, tag = "2")]
    pub scope_logs: Vec<ScopeLogs>,
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `logs.v1.ScopeLogs`.
#[derive(Clone, PartialEq, Message)]
pub struct ScopeLogs {
    #[prost(message, optional, tag = "1")]
    pub scope: Option<InstrumentationScope>,
    #[prost(message, repeated, tag = "2")]
    pub log_records: Vec<LogRecord>,
    #[prost(string, tag = "3")]
    pub schema_url: String,
}

/// `logs.v1.LogRecord`.
#[derive(Clone, PartialEq, Message)]
pub struct LogRecord {
    #[prost(fixed64, tag = "1")]
    pub time_unix_nano: u64,
    #[prost(fixed64, tag = "11")]
    pub observed_time_unix_nano: u64,
    #[prost(int32, tag = "2")]
    pub severity_number: i32,
    #[prost(string, tag = "3")]
    pub severity_text: String,
    #[prost(message, optional, tag = "5")]
    pub body: Option<AnyValue>,
    #[prost(message, repeated, tag = "6")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "7")]
    pub dropped_attributes_count: u32,
    #[prost(fixed32, tag = "8")]
    pub flags: u32,
    #[prost(bytes = "vec", tag = "9")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "10")]
    pub span_id: Vec<u8>,
    #[prost(string, tag = "12")]
    pub event_name: String,
}

/// `resource.v1.Resource`.
#[derive(Clone, PartialEq, Message)]
pub struct Resource {
    #[prost(message, repeated, tag = "1")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "2")]
    pub dropped_attributes_count: u32,
}

/// `common.v1.InstrumentationScope`.
#[derive(Clone, PartialEq, Message)]
pub struct InstrumentationScope {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub version: String,
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<KeyValue>,
    #[prost(uint32, tag = "4")]
    pub dropped_attributes_count: u32,
}

/// `common.v1.KeyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(message, optional, tag = "2")]
    pub value: Option<AnyValue>,
}

/// `common.v1.AnyValue`.
#[derive(Clone, PartialEq, Message)]
pub struct AnyValue {
    #[prost(oneof = "any_value::Value", tags = "1, 2, 3, 4, 5, 6, 7")]
    pub value: Option<any_value::Value>,
}

/// The `AnyValue.value` oneof.
pub mod any_value {
    /// One of the kinds of value an attribute or log body holds.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        #[prost(string, tag = "1")]
        StringValue(String),
        #[prost(bool, tag = "2")]
        BoolValue(bool),
        #[prost(int64, tag = "3")]
        IntValue(i64),
        #[prost(double, tag = "4")]
        DoubleValue(f64),
        #[prost(message, tag = "5")]
        ArrayValue(super::ArrayValue),
        #[prost(message, tag = "6")]
        KvlistValue(super::KeyValueList),
        #[prost(bytes = "vec", tag = "7")]
        BytesValue(Vec<u8>),
    }
}

/// `common.v1.ArrayValue`.
#[derive(Clone, PartialEq, Message)]
pub struct ArrayValue {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<AnyValue>,
}

/// `common.v1.KeyValueList`.
#[derive(Clone, PartialEq, Message)]
pub struct KeyValueList {
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<KeyValue>,
}

/// Which export service a request is for (the URL path says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// `/v1/traces`.
    Traces,
    /// `/v1/logs`.
    Logs,
}

/// Decode a protobuf export request of `signal` into its OTLP JSON form.
pub fn to_json(signal: Signal, body: &[u8]) -> Result<Value, prost::DecodeError> {
    Ok(match signal {
        Signal::Traces => {
            let req = ExportTraceServiceRequest::decode(body)?;
            json!({ "resourceSpans": req.resource_spans.iter().map(resource_spans).collect::<Vec<_>>() })
        }
        Signal::Logs => {
            let req = ExportLogsServiceRequest::decode(body)?;
            json!({ "resourceLogs": req.resource_logs.iter().map(resource_logs).collect::<Vec<_>>() })
        }
    })
}

/// An object of the fields given, the ones at their default value left out.
struct Obj(Map<String, Value>);

impl Obj {
    fn new() -> Obj {
        Obj(Map::new())
    }
    fn str(mut self, k: &str, v: &str) -> Obj {
        if !v.is_empty() {
            self.0.insert(k.into(), Value::String(v.into()));
        }
        self
    }
    fn id(self, k: &str, v: &[u8]) -> Obj {
        self.str(k, &hex::encode(v))
    }
    fn num(mut self, k: &str, v: i64) -> Obj {
        if v != 0 {
            self.0.insert(k.into(), json!(v));
        }
        self
    }
    /// 64-bit: a decimal string (OTLP/JSON).
    fn time(self, k: &str, v: u64) -> Obj {
        if v == 0 {
            self
        } else {
            self.str(k, &v.to_string())
        }
    }
    fn list(mut self, k: &str, v: Vec<Value>) -> Obj {
        if !v.is_empty() {
            self.0.insert(k.into(), Value::Array(v));
        }
        self
    }
    fn val(mut self, k: &str, v: Option<Value>) -> Obj {
        if let Some(v) = v {
            self.0.insert(k.into(), v);
        }
        self
    }
    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn attrs(list: &[KeyValue]) -> Vec<Value> {
    list.iter().map(|kv| Obj::new().str("key", &kv.key).val("value", Some(kv.value.as_ref().map(any).unwrap_or_else(|| json!({})))).done()).collect()
}

fn any(v: &AnyValue) -> Value {
    use any_value::Value as V;
    match &v.value {
        None => json!({}),
        Some(V::StringValue(s)) => json!({ "stringValue": s }),
        Some(V::BoolValue(b)) => json!({ "boolValue": b }),
        Some(V::IntValue(i)) => json!({ "intValue": i.to_string() }),
        // Non-finite doubles have no JSON number: OTLP/JSON spells them as strings.
        Some(V::DoubleValue(d)) if d.is_finite() => json!({ "doubleValue": d }),
        Some(V::DoubleValue(d)) => json!({ "doubleValue": if d.is_nan() { "NaN" } else if *d > 0.0 { "Infinity" } else { "-Infinity" } }),
        Some(V::ArrayValue(a)) => json!({ "arrayValue": { "values": a.values.iter().map(any).collect::<Vec<_>>() } }),
        Some(V::KvlistValue(l)) => json!({ "kvlistValue": { "values": attrs(&l.values) } }),
        Some(V::BytesValue(b)) => json!({ "bytesValue": base64(b) }),
    }
}

fn resource(r: &Option<Resource>) -> Option<Value> {
    r.as_ref().map(|r| Obj::new().list("attributes", attrs(&r.attributes)).num("droppedAttributesCount", r.dropped_attributes_count.into()).done())
}

fn scope(s: &Option<InstrumentationScope>) -> Option<Value> {
    s.as_ref().map(|s| {
        Obj::new()
            .str("name", &s.name)
            .str("version", &s.version)
            .list("attributes", attrs(&s.attributes))
            .num("droppedAttributesCount", s.dropped_attributes_count.into())
            .done()
    })
}

fn resource_spans(r: &ResourceSpans) -> Value {
    let scopes = r
        .scope_spans
        .iter()
        .map(|s| Obj::new().val("scope", scope(&s.scope)).list("spans", s.spans.iter().map(span).collect()).str("schemaUrl", &s.schema_url).done())
        .collect();
    Obj::new().val("resource", resource(&r.resource)).list("scopeSpans", scopes).str("schemaUrl", &r.schema_url).done()
}

fn span(s: &Span) -> Value {
    let events = s
        .events
        .iter()
        .map(|e| {
            Obj::new()
                .time("timeUnixNano", e.time_unix_nano)
                .str("name", &e.name)
                .list("attributes", attrs(&e.attributes))
                .num("droppedAttributesCount", e.dropped_attributes_count.into())
                .done()
        })
        .collect();
    let links = s
        .links
        .iter()
        .map(|l| {
            Obj::new()
                .id("traceId", &l.trace_id)
                .id("spanId", &l.span_id)
                .str("traceState", &l.trace_state)
                .list("attributes", attrs(&l.attributes))
                .num("droppedAttributesCount", l.dropped_attributes_count.into())
                .num("flags", l.flags.into())
                .done()
        })
        .collect();
    // The status is always written (`{}` when unset), as the SDK's JSON exporters do.
    let status = s.status.as_ref().map(|st| Obj::new().str("message", &st.message).num("code", st.code.into()).done()).unwrap_or_else(|| json!({}));
    Obj::new()
        .id("traceId", &s.trace_id)
        .id("spanId", &s.span_id)
        .str("traceState", &s.trace_state)
        .id("parentSpanId", &s.parent_span_id)
        .num("flags", s.flags.into())
        .str("name", &s.name)
        .num("kind", s.kind.into())
        .time("startTimeUnixNano", s.start_time_unix_nano)
        .time("endTimeUnixNano", s.end_time_unix_nano)
        .list("attributes", attrs(&s.attributes))
        .num("droppedAttributesCount", s.dropped_attributes_count.into())
        .list("events", events)
        .num("droppedEventsCount", s.dropped_events_count.into())
        .list("links", links)
        .num("droppedLinksCount", s.dropped_links_count.into())
        .val("status", Some(status))
        .done()
}

fn resource_logs(r: &ResourceLogs) -> Value {
    let scopes = r
        .scope_logs
        .iter()
        .map(|s| {
            Obj::new().val("scope", scope(&s.scope)).list("logRecords", s.log_records.iter().map(log_record).collect()).str("schemaUrl", &s.schema_url).done()
        })
        .collect();
    Obj::new().val("resource", resource(&r.resource)).list("scopeLogs", scopes).str("schemaUrl", &r.schema_url).done()
}

fn log_record(l: &LogRecord) -> Value {
    Obj::new()
        .time("timeUnixNano", l.time_unix_nano)
        .time("observedTimeUnixNano", l.observed_time_unix_nano)
        .num("severityNumber", l.severity_number.into())
        .str("severityText", &l.severity_text)
        .val("body", l.body.as_ref().map(any))
        .list("attributes", attrs(&l.attributes))
        .num("droppedAttributesCount", l.dropped_attributes_count.into())
        .num("flags", l.flags.into())
        .id("traceId", &l.trace_id)
        .id("spanId", &l.span_id)
        .str("eventName", &l.event_name)
        .done()
}

/// Standard base64 with padding (what OTLP/JSON uses for `bytesValue`).
fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for chunk in b.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, x)| n | u32::from(*x) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, v: any_value::Value) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(v) }) }
    }

    #[test]
    fn a_span_request_round_trips_into_the_file_exporters_json() {
        use any_value::Value as V;
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource { attributes: vec![kv("service.name", V::StringValue("shop".into()))], dropped_attributes_count: 0 }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope { name: "s".into(), version: "1".into(), ..Default::default() }),
                    spans: vec![Span {
                        trace_id: vec![0xab; 16],
                        span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
                        name: "chat m".into(),
                        kind: 3,
                        start_time_unix_nano: 1_796_600_628_318_814_441,
                        end_time_unix_nano: 1_796_600_628_337_255_831,
                        attributes: vec![
                            kv("server.port", V::IntValue(34815)),
                            kv("x.ratio", V::DoubleValue(0.5)),
                            kv("x.list", V::ArrayValue(ArrayValue { values: vec![AnyValue { value: Some(V::StringValue("a".into())) }] })),
                            kv("x.bytes", V::BytesValue(b"hi!?".to_vec())),
                        ],
                        ..Default::default()
                    }],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        let v = to_json(Signal::Traces, &req.encode_to_vec()).unwrap();
        let span = &v["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(span["traceId"], "abababababababababababababababab");
        assert_eq!(span["spanId"], "0102030405060708");
        assert!(span.get("parentSpanId").is_none(), "a root span has no parent id");
        assert_eq!(span["startTimeUnixNano"], "1796600628318814441");
        assert_eq!(span["kind"], 3);
        assert_eq!(span["status"], json!({}));
        assert_eq!(span["attributes"][0], json!({"key": "server.port", "value": {"intValue": "34815"}}));
        assert_eq!(span["attributes"][1]["value"], json!({"doubleValue": 0.5}));
        assert_eq!(span["attributes"][2]["value"], json!({"arrayValue": {"values": [{"stringValue": "a"}]}}));
        assert_eq!(span["attributes"][3]["value"], json!({"bytesValue": "aGkhPw=="}));
        assert_eq!(v["resourceSpans"][0]["resource"]["attributes"][0]["key"], "service.name");
    }

    #[test]
    fn garbage_is_a_decode_error_not_a_panic() {
        assert!(to_json(Signal::Traces, b"\xff\xff\xff\xff not protobuf").is_err());
        assert!(to_json(Signal::Logs, &[0x0a, 0x05, 0x01]).is_err(), "a length past the end");
        assert_eq!(to_json(Signal::Logs, b"").unwrap(), json!({"resourceLogs": []}));
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
    }
}
