//! OTLP framing for `ratchet detect`: OpenTelemetry JSON Lines files (one
//! `ExportTraceServiceRequest` or `ExportLogsServiceRequest` per line, as the
//! OpenTelemetry SDK's and the Collector's file exporters write them) read as
//! ONE stream across lines and files, regrouped into one record per
//! conversation, and handed to the adapter one conversation at a time.
//!
//! ## Grouping
//! Each span and log record belongs to its trace. A trace joins the
//! conversation named by the first `gen_ai.conversation.id` one of its spans
//! or log records carries; else by the value of the group attribute
//! (`session.id` by default: the adapter option `group_attribute`); else the
//! trace is a conversation of its own.
//!
//! ## Completion
//! Time is the data's own (span end times, log record times), never the
//! wall clock, so a run is reproducible: the *watermark* is the latest time
//! seen so far in the stream.
//! * A conversation of its own trace is complete once its root span (no
//!   parent) has arrived and the watermark is [`ROOT_GRACE_NS`] past the
//!   last time it holds (log records are often exported after the spans).
//! * A conversation keyed by conversation id or group attribute spans
//!   several traces (one per request, the instrumentations' default): it is
//!   complete when the watermark is the idle gap past the last time it holds.
//! * At the end of the input, every open conversation is complete — unless
//!   the run is restartable (`--checkpoint`) and the last line was left
//!   unread because it has no newline yet (the writer is still at it): then
//!   they are left for the next run. A resumed run reads the stream again
//!   from its start and skips the conversations the checkpoint counts:
//!   framing is a pure function of the input read, so they come out in the
//!   same order. (Appending to a file whose previous run ended on a complete
//!   line can complete a conversation in a different place: resume such a
//!   stream only from a run that held its last line.)
//!
//! Conversations complete in the order they were completed, ties by their
//! first line then key. Memory holds the open conversations only: at most
//! [`MAX_BUFFERED`] spans and log records, past which the conversation idle
//! the longest is completed early (counted in [`FramerStats::forced`]).

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use serde_json::{Map, Value};

use super::input::{ReadError, Record};

/// How long after a root span's end late records of its trace still join it.
pub const ROOT_GRACE_NS: u64 = 5_000_000_000;

/// Most spans and log records held in memory at once.
pub const MAX_BUFFERED: usize = 500_000;

/// How many export requests (lines) are remembered to drop one sent twice, byte
/// for byte (an exporter retrying a batch whose answer it never got).
pub const SEEN_LINES: usize = 200_000;

/// Framing options.
#[derive(Debug, Clone)]
pub struct FramerOptions {
    /// The attribute grouping traces without `gen_ai.conversation.id` (`None`: by trace only).
    pub group_attribute: Option<String>,
    /// Idle gap closing a conversation keyed by id or attribute, nanoseconds.
    pub idle_gap_ns: u64,
    /// Leave conversations still open at the end of input for the next run
    /// when this says the input's last line was left unread (unterminated: the
    /// writer is still at it); otherwise the end of input completes them.
    pub hold_open: Option<std::rc::Rc<std::cell::RefCell<Vec<String>>>>,
}

/// Counts the summary reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FramerStats {
    /// Lines read.
    pub lines: u64,
    /// Spans and log records read.
    pub items: u64,
    /// Conversations completed early because memory was full.
    pub forced: u64,
    /// Conversations left open at the end of input (`hold_open`).
    pub held: u64,
    /// Lines dropped because the same export request, byte for byte, came
    /// before: a retried export.
    pub duplicates: u64,
    /// Clock lines read (`{"ratchetClock": ...}`, written by `detect --listen`).
    pub clock_lines: u64,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Span,
    Log,
}

struct Item {
    resource: Rc<Value>,
    scope: Rc<Value>,
    kind: Kind,
    value: Value,
}

#[derive(Default)]
struct Trace {
    items: Vec<Item>,
    /// (0, conversation id) or (1, group attribute value).
    key: Option<(u8, String)>,
    root_seen: bool,
    last_ns: u64,
    first_origin: String,
    last_origin: String,
    first_line: u64,
}

/// The framer: an iterator of records (one per conversation) over an
/// iterator of lines.
pub struct Framer<I> {
    lines: I,
    opts: FramerOptions,
    traces: HashMap<String, Trace>,
    /// Key → traces joined to it, in arrival order.
    keyed: BTreeMap<(u8, String), Vec<String>>,
    watermark: u64,
    buffered: usize,
    ready: std::collections::VecDeque<Result<Record, ReadError>>,
    done: bool,
    line_no: u64,
    /// Hashes of the export requests read, oldest first (at most [`SEEN_LINES`]).
    seen: std::collections::HashSet<u64>,
    seen_order: std::collections::VecDeque<u64>,
    /// Counts so far.
    pub stats: FramerStats,
}

impl<I: Iterator<Item = Result<Record, ReadError>>> Framer<I> {
    /// Frames `lines` (from [`super::input::Records`]).
    pub fn new(lines: I, opts: FramerOptions) -> Self {
        Framer {
            lines,
            opts,
            traces: HashMap::new(),
            keyed: BTreeMap::new(),
            watermark: 0,
            buffered: 0,
            ready: Default::default(),
            done: false,
            line_no: 0,
            seen: Default::default(),
            seen_order: Default::default(),
            stats: FramerStats::default(),
        }
    }

    fn read_line(&mut self, rec: Record) -> Result<(), ReadError> {
        self.stats.lines += 1;
        self.line_no += 1;
        let bad = |message: String| ReadError { origin: rec.origin.clone(), message };
        let doc: Value = serde_json::from_slice(&rec.bytes).map_err(|e| bad(format!("invalid JSON: {e}")))?;
        let o = doc.as_object().ok_or_else(|| bad("expected an OTLP JSON export request object (`resourceSpans` or `resourceLogs`)".into()))?;
        // `detect --listen`'s clock: time moves on without data (see detect::listen).
        if let (1, Some(clock)) = (o.len(), o.get("ratchetClock")) {
            let t = clock.get("timeUnixNano").and_then(Value::as_str).and_then(|t| t.parse::<u64>().ok());
            let t = t.ok_or_else(|| bad("`ratchetClock`: expected {\"timeUnixNano\": \"<decimal>\"}".into()))?;
            self.stats.clock_lines += 1;
            self.watermark = self.watermark.max(t);
            return Ok(());
        }
        let spans = field(o, "resourceSpans", "resource_spans");
        let logs = field(o, "resourceLogs", "resource_logs");
        if spans.is_none() && logs.is_none() {
            return Err(bad("missing `resourceSpans` and `resourceLogs`: expected an OTLP JSON trace or logs export request".into()));
        }
        // Check the whole line first: a malformed line is rejected whole, never half read.
        let mut items: Vec<(String, Item, Meta)> = Vec::new();
        for (kind, top, scopes_c, scopes_s, list_c, list_s) in
            [(Kind::Span, spans, "scopeSpans", "scope_spans", "spans", "spans"), (Kind::Log, logs, "scopeLogs", "scope_logs", "logRecords", "log_records")]
        {
            let Some(top) = top else { continue };
            let top = top.as_array().ok_or_else(|| bad(format!("{}: expected an array", if kind == Kind::Span { "resourceSpans" } else { "resourceLogs" })))?;
            for r in top {
                let r = r.as_object().ok_or_else(|| bad("a resource entry is not an object".into()))?;
                let resource = Rc::new(r.get("resource").cloned().unwrap_or(Value::Null));
                let scopes = field(r, scopes_c, scopes_s).or_else(|| field(r, "instrumentationLibrarySpans", "instrumentation_library_spans"));
                for s in scopes.and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
                    let Some(s) = s.as_object() else { return Err(bad(format!("a `{scopes_c}` entry is not an object"))) };
                    let scope = Rc::new(s.get("scope").or_else(|| s.get("instrumentationLibrary")).cloned().unwrap_or(Value::Null));
                    for item in field(s, list_c, list_s).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]) {
                        let meta = meta(item, kind, self.opts.group_attribute.as_deref()).map_err(bad)?;
                        let trace = meta.trace.clone();
                        items.push((trace, Item { resource: resource.clone(), scope: scope.clone(), kind, value: item.clone() }, meta));
                    }
                }
            }
        }
        // A retried export is the same request again, byte for byte (the listener writes
        // each request as the same line): drop it whole, once it is known to be valid (a
        // malformed line is rejected each time). 64 bits of a fixed-key SipHash of the
        // line, so a run is reproducible; content that merely reuses ids is kept.
        if !items.is_empty() {
            let key = {
                use std::hash::{Hash, Hasher};
                let mut h = std::hash::DefaultHasher::new();
                rec.bytes.hash(&mut h);
                h.finish()
            };
            if self.seen.contains(&key) {
                self.stats.duplicates += 1;
                return Ok(());
            }
            if self.seen_order.len() >= SEEN_LINES {
                if let Some(old) = self.seen_order.pop_front() {
                    self.seen.remove(&old);
                }
            }
            self.seen.insert(key);
            self.seen_order.push_back(key);
        }
        for (trace_id, item, m) in items {
            self.stats.items += 1;
            self.buffered += 1;
            self.watermark = self.watermark.max(m.time_ns);
            let line_no = self.line_no;
            let t =
                self.traces.entry(trace_id.clone()).or_insert_with(|| Trace { first_origin: rec.origin.clone(), first_line: line_no, ..Default::default() });
            t.last_origin = rec.origin.clone();
            t.last_ns = t.last_ns.max(m.time_ns);
            t.root_seen |= m.root;
            t.items.push(item);
            let new_key = match (m.conversation, m.attribute) {
                (Some(c), _) => Some((0u8, c)),
                (None, Some(a)) => Some((1u8, a)),
                _ => None,
            };
            if let Some(k) = new_key {
                let better = match &t.key {
                    None => true,
                    Some(old) => k.0 < old.0,
                };
                if better {
                    if let Some(old) = t.key.take() {
                        if let Some(list) = self.keyed.get_mut(&old) {
                            list.retain(|x| x != &trace_id);
                            if list.is_empty() {
                                self.keyed.remove(&old);
                            }
                        }
                    }
                    t.key = Some(k.clone());
                    self.keyed.entry(k).or_default().push(trace_id.clone());
                }
            }
        }
        Ok(())
    }

    /// Completes what the watermark (or `all`) allows, oldest first.
    fn complete(&mut self, all: bool) {
        let mut done: Vec<(u64, String, Vec<String>)> = Vec::new();
        let gap = self.opts.idle_gap_ns;
        let wm = self.watermark;
        for (key, traces) in &self.keyed {
            let last = traces.iter().filter_map(|t| self.traces.get(t)).map(|t| t.last_ns).max().unwrap_or(0);
            if all || wm.saturating_sub(last) >= gap {
                let first = traces.iter().filter_map(|t| self.traces.get(t)).map(|t| t.first_line).min().unwrap_or(0);
                done.push((first, format!("{}{}", key.0, key.1), traces.clone()));
            }
        }
        for (id, t) in &self.traces {
            if t.key.is_some() {
                continue;
            }
            let idle = wm.saturating_sub(t.last_ns);
            if all || (t.root_seen && idle >= ROOT_GRACE_NS.min(gap)) || idle >= gap {
                done.push((t.first_line, format!("2{id}"), vec![id.clone()]));
            }
        }
        // Memory full: complete the conversations idle the longest.
        if !all && self.buffered > MAX_BUFFERED {
            let mut open: Vec<(u64, String)> =
                self.traces.iter().filter(|(id, _)| !done.iter().any(|d| d.2.contains(id))).map(|(id, t)| (t.last_ns, id.clone())).collect();
            open.sort();
            let mut freed: usize = done.iter().flat_map(|d| d.2.iter()).filter_map(|t| self.traces.get(t)).map(|t| t.items.len()).sum();
            for (_, id) in open {
                if self.buffered - freed <= MAX_BUFFERED / 2 {
                    break;
                }
                let Some(t) = self.traces.get(&id) else { continue };
                let group = match &t.key {
                    Some(k) => self.keyed.get(k).cloned().unwrap_or_else(|| vec![id.clone()]),
                    None => vec![id.clone()],
                };
                if done.iter().any(|d| d.2.iter().any(|x| group.contains(x))) {
                    continue;
                }
                freed += group.iter().filter_map(|g| self.traces.get(g)).map(|t| t.items.len()).sum::<usize>();
                let key = t.key.as_ref().map(|k| format!("{}{}", k.0, k.1)).unwrap_or_else(|| format!("2{id}"));
                done.push((t.first_line, key, group));
                self.stats.forced += 1;
            }
        }
        done.sort();
        for (_, _, traces) in done {
            let mut taken: Vec<Trace> = traces.iter().filter_map(|t| self.traces.remove(t)).collect();
            if taken.is_empty() {
                continue;
            }
            if let Some(k) = &taken[0].key {
                self.keyed.remove(k);
            }
            taken.sort_by_key(|t| t.first_line);
            let first = taken.iter().map(|t| t.first_origin.clone()).next().unwrap_or_default();
            let last = taken.iter().max_by_key(|t| t.last_ns).map(|t| t.last_origin.clone()).unwrap_or_default();
            let items: Vec<Item> = taken.into_iter().flat_map(|t| t.items).collect();
            self.buffered = self.buffered.saturating_sub(items.len());
            let origin = if first == last { first } else { format!("{first} to {last}") };
            self.ready.push_back(Ok(Record { origin, bytes: document(items), line: false }));
        }
    }
}

impl<I: Iterator<Item = Result<Record, ReadError>>> Iterator for Framer<I> {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.ready.pop_front() {
                return Some(r);
            }
            if self.done {
                return None;
            }
            match self.lines.next() {
                None => {
                    self.done = true;
                    if self.opts.hold_open.as_ref().is_some_and(|h| !h.borrow().is_empty()) {
                        self.stats.held = (self.keyed.len() + self.traces.values().filter(|t| t.key.is_none()).count()) as u64;
                    } else {
                        self.complete(true);
                    }
                }
                // An unreadable or malformed line is a reject of its own; the stream goes on.
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(rec)) => {
                    if let Err(e) = self.read_line(rec) {
                        return Some(Err(e));
                    }
                    self.complete(false);
                }
            }
        }
    }
}

/// What grouping needs of one span or log record.
struct Meta {
    trace: String,
    root: bool,
    time_ns: u64,
    conversation: Option<String>,
    attribute: Option<String>,
}

fn field<'a>(o: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a Value> {
    o.get(camel).or_else(|| o.get(snake)).filter(|v| !v.is_null())
}

fn meta(item: &Value, kind: Kind, group_attribute: Option<&str>) -> Result<Meta, String> {
    let what = if kind == Kind::Span { "span" } else { "log record" };
    let o = item.as_object().ok_or_else(|| format!("a {what} is not an object"))?;
    let text = |c: &str, s: &str| field(o, c, s).and_then(Value::as_str).filter(|s| !s.is_empty() && !s.bytes().all(|b| b == b'0'));
    let trace = match (kind, text("traceId", "trace_id")) {
        (_, Some(t)) => t.to_string(),
        (Kind::Span, None) => return Err(format!("a span without `traceId` (span \"{}\")", text("name", "name").unwrap_or(""))),
        // Outside any trace: the adapter gathers these (see its docs).
        (Kind::Log, None) => "logs-without-trace".to_string(),
    };
    let nanos = |c: &str, s: &str| -> u64 {
        match field(o, c, s) {
            Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
            Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
            _ => 0,
        }
    };
    let time_ns = match kind {
        Kind::Span => nanos("endTimeUnixNano", "end_time_unix_nano").max(nanos("startTimeUnixNano", "start_time_unix_nano")),
        Kind::Log => match nanos("timeUnixNano", "time_unix_nano") {
            0 => nanos("observedTimeUnixNano", "observed_time_unix_nano"),
            t => t,
        },
    };
    let root = kind == Kind::Span && text("parentSpanId", "parent_span_id").is_none();
    let mut conversation = None;
    let mut attribute = None;
    if let Some(Value::Array(attrs)) = field(o, "attributes", "attributes") {
        for kv in attrs {
            let (Some(Value::String(k)), Some(v)) = (kv.get("key"), kv.get("value")) else { continue };
            let value = || match v.get("stringValue").or_else(|| v.get("string_value")) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
                _ => v.get("intValue").or_else(|| v.get("int_value")).map(|n| n.as_str().map(str::to_string).unwrap_or_else(|| n.to_string())),
            };
            if k == "gen_ai.conversation.id" {
                conversation = value();
            } else if Some(k.as_str()) == group_attribute {
                attribute = value();
            }
        }
    }
    Ok(Meta { trace, root, time_ns, conversation, attribute })
}

/// One OTLP JSON document holding `items`, grouped under their resource and
/// scope (in arrival order).
fn document(items: Vec<Item>) -> Vec<u8> {
    let mut out: Map<String, Value> = Map::new();
    for kind in [Kind::Span, Kind::Log] {
        let (top, scopes_key, list_key) = match kind {
            Kind::Span => ("resourceSpans", "scopeSpans", "spans"),
            Kind::Log => ("resourceLogs", "scopeLogs", "logRecords"),
        };
        let mut resources: Vec<(Rc<Value>, Vec<(Rc<Value>, Vec<Value>)>)> = Vec::new();
        for item in items.iter().filter(|i| i.kind == kind) {
            let r = match resources.iter().position(|(r, _)| Rc::ptr_eq(r, &item.resource) || **r == *item.resource) {
                Some(p) => p,
                None => {
                    resources.push((item.resource.clone(), Vec::new()));
                    resources.len() - 1
                }
            };
            let scopes = &mut resources[r].1;
            let s = match scopes.iter().position(|(s, _)| Rc::ptr_eq(s, &item.scope) || **s == *item.scope) {
                Some(p) => p,
                None => {
                    scopes.push((item.scope.clone(), Vec::new()));
                    scopes.len() - 1
                }
            };
            scopes[s].1.push(item.value.clone());
        }
        if resources.is_empty() {
            continue;
        }
        let list: Vec<Value> = resources
            .into_iter()
            .map(|(r, scopes)| {
                let scopes: Vec<Value> = scopes
                    .into_iter()
                    .map(|(s, list)| {
                        let mut m = Map::new();
                        if !s.is_null() {
                            m.insert("scope".into(), (*s).clone());
                        }
                        m.insert(list_key.into(), Value::Array(list));
                        Value::Object(m)
                    })
                    .collect();
                let mut m = Map::new();
                if !r.is_null() {
                    m.insert("resource".into(), (*r).clone());
                }
                m.insert(scopes_key.into(), Value::Array(scopes));
                Value::Object(m)
            })
            .collect();
        out.insert(top.into(), Value::Array(list));
    }
    serde_json::to_vec(&Value::Object(out)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn span(trace: &str, id: &str, parent: &str, end: u64, attrs: Value) -> Value {
        let attrs: Vec<Value> = attrs.as_object().unwrap().iter().map(|(k, v)| json!({"key": k, "value": {"stringValue": v.as_str().unwrap()}})).collect();
        json!({"traceId": trace, "spanId": id, "parentSpanId": parent, "name": "chat", "startTimeUnixNano": (end - 1).to_string(), "endTimeUnixNano": end.to_string(), "attributes": attrs})
    }

    fn line(n: usize, spans: Vec<Value>) -> Result<Record, ReadError> {
        Ok(Record { origin: format!("f:{n}"), bytes: serde_json::to_vec(&json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})).unwrap(), line: true })
    }

    fn opts(hold_open: bool) -> FramerOptions {
        FramerOptions {
            group_attribute: Some("session.id".into()),
            idle_gap_ns: 1_000_000_000_000,
            hold_open: hold_open.then(|| std::rc::Rc::new(std::cell::RefCell::new(vec!["f:3".to_string()]))),
        }
    }

    fn spans_of(r: &Record) -> Vec<String> {
        let v: Value = serde_json::from_slice(&r.bytes).unwrap();
        let mut out = Vec::new();
        for rs in v["resourceSpans"].as_array().unwrap() {
            for ss in rs["scopeSpans"].as_array().unwrap() {
                for s in ss["spans"].as_array().unwrap() {
                    out.push(s["spanId"].as_str().unwrap().to_string());
                }
            }
        }
        out
    }

    #[test]
    fn traces_across_lines_and_conversations_across_traces() {
        let s = 1_000_000_000u64;
        let lines = vec![
            line(1, vec![span("t1", "a", "r1", 10 * s, json!({})), span("t2", "x", "", 11 * s, json!({}))]),
            line(2, vec![span("t1", "r1", "", 12 * s, json!({"gen_ai.conversation.id": "c1"})), span("t3", "b", "", 13 * s, json!({"session.id": "c1"}))]),
            line(3, vec![span("t4", "c", "", 20 * s, json!({"gen_ai.conversation.id": "c1"}))]),
        ];
        let out: Vec<Record> = Framer::new(lines.into_iter(), opts(false)).map(Result::unwrap).collect();
        // t2 (own trace, root ended, 5 s grace passed at 20 s) first; then c1 at the end
        // (t1 and t4 by id); t3 is keyed by session.id c1: another kind of key.
        assert_eq!(out.len(), 3, "{:?}", out.iter().map(|r| &r.origin).collect::<Vec<_>>());
        assert_eq!(spans_of(&out[0]), vec!["x"]);
        assert_eq!(out[0].origin, "f:1");
        assert_eq!(spans_of(&out[1]), vec!["a", "r1", "c"]);
        assert_eq!(out[1].origin, "f:1 to f:3");
        assert_eq!(spans_of(&out[2]), vec!["b"]);
    }

    #[test]
    fn idle_gap_closes_and_hold_open_keeps() {
        let s = 1_000_000_000u64;
        let mk = || {
            vec![
                line(1, vec![span("t1", "a", "", s, json!({"gen_ai.conversation.id": "c1"}))]),
                line(2, vec![span("t2", "b", "", 10 * s, json!({"gen_ai.conversation.id": "c2"}))]),
            ]
        };
        let o = FramerOptions { idle_gap_ns: 5 * s, ..opts(true) };
        let mut f = Framer::new(mk().into_iter(), o);
        let out: Vec<Record> = f.by_ref().map(Result::unwrap).collect();
        assert_eq!(out.len(), 1);
        assert_eq!(spans_of(&out[0]), vec!["a"]);
        assert_eq!(f.stats.held, 1);
    }

    #[test]
    fn bad_lines_are_rejects_and_the_stream_goes_on() {
        let lines = vec![
            Ok(Record { origin: "f:1".into(), bytes: b"{\"resourceSpans\": []} {}".to_vec(), line: true }),
            Ok(Record { origin: "f:2".into(), bytes: b"[1]".to_vec(), line: true }),
            Ok(Record { origin: "f:3".into(), bytes: b"{\"resourceSpans\": [{\"scopeSpans\": [{\"spans\": [{\"spanId\": \"a\"}]}]}]}".to_vec(), line: true }),
            line(4, vec![span("t", "a", "", 5, json!({}))]),
        ];
        let out: Vec<Result<Record, ReadError>> = Framer::new(lines.into_iter(), opts(false)).collect();
        let errs: Vec<String> = out.iter().filter_map(|r| r.as_ref().err()).map(|e| format!("{}: {}", e.origin, e.message)).collect();
        assert_eq!(errs.len(), 3);
        assert!(errs[0].starts_with("f:1: invalid JSON: trailing characters"), "{}", errs[0]);
        assert!(errs[1].starts_with("f:2: expected an OTLP JSON export request object"), "{}", errs[1]);
        assert_eq!(errs[2], "f:3: a span without `traceId` (span \"\")");
        assert_eq!(out.iter().filter(|r| r.is_ok()).count(), 1);
    }
}
