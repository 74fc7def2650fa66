//! Unit tests of the whole conversion, on exports built in code.

use super::*;
use ratchet_sdk::{json, Role};

/// 2026-11-24T09:31:04Z in milliseconds.
const T0: u64 = 1_795_512_664_000;

/// A JSON value as an OTLP `AnyValue`.
fn any(v: &Value) -> Value {
    match v {
        Value::String(s) => json!({"stringValue": s}),
        Value::Bool(b) => json!({"boolValue": b}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"intValue": n.to_string()}),
        Value::Number(n) => json!({"doubleValue": n}),
        Value::Array(items) => json!({"arrayValue": {"values": items.iter().map(any).collect::<Vec<_>>()}}),
        Value::Object(m) => json!({"kvlistValue": {"values": m.iter().map(|(k, v)| json!({"key": k, "value": any(v)})).collect::<Vec<_>>()}}),
        Value::Null => json!({}),
    }
}

fn attrs(a: Value) -> Value {
    Value::Array(a.as_object().unwrap().iter().map(|(k, v)| json!({"key": k, "value": any(v)})).collect())
}

/// A span; times in ms after T0.
fn span(trace: &str, id: &str, parent: &str, name: &str, start: u64, end: u64, a: Value) -> Value {
    json!({"traceId": trace, "spanId": id, "parentSpanId": parent, "name": name, "kind": 3,
        "startTimeUnixNano": ((T0 + start) * 1_000_000).to_string(), "endTimeUnixNano": ((T0 + end) * 1_000_000).to_string(),
        "attributes": attrs(a), "status": {}})
}

fn export(spans: Vec<Value>) -> String {
    json!({"resourceSpans": [{"resource": {"attributes": attrs(json!({"service.name": "support-agent"}))},
        "scopeSpans": [{"scope": {"name": "test", "version": "1"}, "spans": spans}]}]})
    .to_string()
}

fn user(text: &str) -> Value {
    json!({"role": "user", "parts": [{"type": "text", "content": text}]})
}
fn system(text: &str) -> Value {
    json!({"role": "system", "parts": [{"type": "text", "content": text}]})
}
fn says(text: &str) -> Value {
    json!({"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "stop"})
}
fn calls(id: &str, name: &str, args: Value) -> Value {
    json!({"role": "assistant", "parts": [{"type": "tool_call", "id": id, "name": name, "arguments": args}], "finish_reason": "tool_call"})
}
fn answers(id: &str, response: Value) -> Value {
    json!({"role": "tool", "parts": [{"type": "tool_call_response", "id": id, "response": response}]})
}

fn chat(trace: &str, id: &str, parent: &str, start: u64, end: u64, input: Vec<Value>, output: Vec<Value>) -> Value {
    span(
        trace,
        id,
        parent,
        "chat gpt-4o",
        start,
        end,
        json!({"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.input.messages": Value::Array(input).to_string(), "gen_ai.output.messages": Value::Array(output).to_string()}),
    )
}

#[allow(clippy::too_many_arguments)] // a span is many fields; the tests read better with them in one call
fn tool(trace: &str, id: &str, parent: &str, start: u64, end: u64, call: &str, name: &str, args: Value, result: Value) -> Value {
    span(
        trace,
        id,
        parent,
        &format!("execute_tool {name}"),
        start,
        end,
        json!({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name, "gen_ai.tool.call.id": call, "gen_ai.tool.type": "function",
            "gen_ai.tool.call.arguments": args.to_string(), "gen_ai.tool.call.result": result.to_string()}),
    )
}

fn convert(input: &str) -> Result<Vec<Converted>, String> {
    OtelGenAi::convert(input.as_bytes(), &Value::Null)
}

/// The Tuesday flow: three chat spans and two tool spans in one trace.
fn tuesday_spans() -> Vec<Value> {
    let sys = system("Only cancel active subscriptions.");
    let u1 = user("Cancel my premium subscription, please.");
    let a1 = json!({"role": "assistant", "parts": [{"type": "text", "content": "Let me look."},
        {"type": "tool_call", "id": "call_1", "name": "lookup_account", "arguments": {"email": "dana@example.com"}}], "finish_reason": "tool_call"});
    let r1 = answers("call_1", json!({"subscription_status": "none"}));
    let a2 = calls("call_2", "cancel_subscription", json!({"account_id": "A-1"}));
    let r2 = answers("call_2", json!({"ok": true}));
    let t = "4bf92f3577b34da6a3ce929d0e0e4736";
    vec![
        span(
            t,
            "root",
            "",
            "invoke_agent support",
            0,
            4000,
            json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "support",
            "gen_ai.agent.version": "support-v1", "gen_ai.conversation.id": "conv-1"}),
        ),
        chat(t, "c1", "root", 100, 1100, vec![sys.clone(), u1.clone()], vec![a1.clone()]),
        tool(t, "t1", "root", 1120, 1300, "call_1", "lookup_account", json!({"email": "dana@example.com"}), json!({"subscription_status": "none"})),
        chat(t, "c2", "root", 1310, 2000, vec![sys.clone(), u1.clone(), a1.clone(), r1.clone()], vec![a2.clone()]),
        tool(t, "t2", "root", 2010, 2200, "call_2", "cancel_subscription", json!({"account_id": "A-1"}), json!({"ok": true})),
        chat(t, "c3", "root", 2210, 3000, vec![sys, u1, a1, r1, a2, r2], vec![says("Cancelled!")]),
    ]
}

#[test]
fn chat_history_is_not_duplicated_and_tools_are_joined() {
    let out = convert(&export(tuesday_spans())).unwrap();
    assert_eq!(out.len(), 1);
    let c = &out[0].conversation;
    assert_eq!(c.id, "conv-1");
    assert_eq!(c.started_at.as_deref(), Some("2026-11-24T09:31:04Z"));
    let roles: Vec<Role> = c.turns.iter().map(|t| t.role).collect();
    assert_eq!(roles, vec![Role::System, Role::Customer, Role::Agent, Role::Tool, Role::Agent, Role::Tool, Role::Agent]);
    assert_eq!(c.turns[2].text, "Let me look.");
    assert_eq!(c.turns[2].tool_calls[0].arguments, json!({"email": "dana@example.com"}));
    let r = c.turns[3].tool_result.as_ref().unwrap();
    assert_eq!(
        (r.call_id.as_str(), r.name.as_str(), r.content.as_value(), r.is_error),
        ("call_1", "lookup_account", &json!({"subscription_status": "none"}), false)
    );
    assert_eq!(c.turns[6].text, "Cancelled!");
    // Offsets: input at the chat span's start, output at its end, tool results at the tool span's end.
    let offsets: Vec<Option<u64>> = c.turns.iter().map(|t| t.offset_ms).collect();
    assert_eq!(offsets, vec![Some(100), Some(100), Some(1100), Some(1300), Some(2000), Some(2200), Some(3000)]);
    assert_eq!((c.turns[2].latency_ms, c.turns[4].latency_ms, c.turns[6].latency_ms), (Some(1000), Some(690), Some(790)));
    assert_eq!(c.state.model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(c.state.prompt_version.as_deref(), Some("support-v1"));
    assert_eq!(c.channel, Channel::Chat);
    // No definitions: the registry lists the tools seen called, unversioned.
    assert_eq!(
        c.state.tool_registry.iter().map(|t| (t.id.as_str(), t.version.as_str())).collect::<Vec<_>>(),
        vec![("cancel_subscription", ""), ("lookup_account", "")]
    );
    assert_eq!(
        out[0].missing,
        vec![
            "outcome.escalated",
            "outcome.complaint",
            "outcome.compliance_flags",
            "outcome.ended_reason",
            "impact",
            "state.memory_snapshot",
            "state.kb_version_hash",
            "state.tool_registry",
            "state.tool_registry.version",
            "state.routing.time_of_day",
            "state.routing.locale",
            "state.routing.queue"
        ]
    );
}

#[test]
fn input_order_of_spans_does_not_matter() {
    let mut spans = tuesday_spans();
    let a = convert(&export(spans.clone())).unwrap();
    spans.reverse();
    let b = convert(&export(spans)).unwrap();
    assert_eq!(a, b);
    assert_eq!(json::to_canonical_string(&a), json::to_canonical_string(&convert(&export(tuesday_spans())).unwrap()));
}

#[test]
fn results_only_in_chat_input_are_used_when_tool_spans_lack_them() {
    // No execute_tool spans: the tool result comes from the next chat span's input.
    let spans: Vec<Value> = tuesday_spans().into_iter().filter(|s| !s["name"].as_str().unwrap().starts_with("execute_tool")).collect();
    let c = &convert(&export(spans)).unwrap()[0].conversation;
    assert_eq!(c.turns.len(), 7);
    assert_eq!(c.turns[3].tool_result.as_ref().unwrap().name, "lookup_account");
    assert_eq!(c.turns[3].offset_ms, Some(1310), "first seen in chat span 2's input");
}

#[test]
fn a_repeated_customer_line_stays_twice() {
    let t = "t";
    let spans = vec![
        chat(t, "a", "", 0, 100, vec![user("yes")], vec![says("Sure?")]),
        chat(t, "b", "", 200, 300, vec![user("yes"), says("Sure?"), user("yes")], vec![says("Done.")]),
    ];
    let c = &convert(&export(spans)).unwrap()[0].conversation;
    let texts: Vec<&str> = c.turns.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, vec!["yes", "Sure?", "yes", "Done."]);
    assert_eq!(c.id, "t", "no conversation id: the trace id");
}

#[test]
fn grouping_by_conversation_id_across_traces_and_interleaved() {
    let spans = vec![
        span("tA1", "r", "", "invoke_agent", 0, 100, json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.conversation.id": "conv-A"})),
        chat("tA1", "c", "r", 10, 90, vec![user("A1")], vec![says("a1")]),
        chat("tB", "c", "", 50, 150, vec![user("B1")], vec![says("b1")]),
        // A later trace of conversation A: the id is on a grandchild only.
        span("tA2", "r", "", "POST /chat", 200, 400, json!({"http.request.method": "POST"})),
        span("tA2", "x", "r", "invoke_agent", 210, 390, json!({"gen_ai.operation.name": "invoke_agent"})),
        chat("tA2", "c", "x", 220, 380, vec![user("A1"), says("a1"), user("A2")], vec![says("a2")]),
        span("tA2", "z", "c", "note", 230, 240, json!({"gen_ai.conversation.id": "conv-A"})),
        // Embeddings only: not a conversation.
        span("tE", "e", "", "embeddings m", 5, 6, json!({"gen_ai.operation.name": "embeddings"})),
    ];
    let out = convert(&export(spans)).unwrap();
    let ids: Vec<&str> = out.iter().map(|c| c.conversation.id.as_str()).collect();
    assert_eq!(ids, vec!["conv-A", "tB"]);
    let a = &out[0].conversation;
    assert_eq!(a.turns.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), vec!["A1", "a1", "A2", "a2"]);
    assert_eq!(a.turns[2].offset_ms, Some(220));
}

#[test]
fn tool_spans_alone_make_call_and_result_turns_with_errors() {
    let t = "t";
    let mut failing = tool(t, "t2", "", 300, 900, "call_9", "issue_refund", json!({"amount": 20}), Value::Null);
    failing["attributes"] = attrs(json!({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "issue_refund", "error.type": "TimeoutError"}));
    failing["status"] = json!({"code": 2, "message": "refund service timed out"});
    let spans = vec![
        span(t, "c1", "", "chat gpt-4o", 0, 100, json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"})),
        tool(t, "t1", "", 120, 200, "call_1", "lookup_account", json!({"id": 1}), json!({"status": "active"})),
        failing,
    ];
    let out = convert(&export(spans)).unwrap();
    let c = &out[0].conversation;
    assert_eq!(c.turns.len(), 4);
    assert_eq!((c.turns[0].role, c.turns[0].tool_calls[0].name.as_str(), c.turns[0].offset_ms), (Role::Agent, "lookup_account", Some(120)));
    assert_eq!(c.turns[1].tool_result.as_ref().unwrap().content, json!({"status": "active"}));
    assert_eq!(c.turns[1].offset_ms, Some(200));
    // The id-less failing run: a synthetic id, the error as content, is_error.
    assert_eq!(c.turns[2].tool_calls[0].id, "otel:t2:0");
    let r = c.turns[3].tool_result.as_ref().unwrap();
    assert_eq!((r.call_id.as_str(), r.content.as_value(), r.is_error), ("otel:t2:0", &json!("TimeoutError: refund service timed out"), true));
    assert_eq!(c.state.model.as_deref(), Some("gpt-4o"));
    assert!(out[0].missing.contains(&"state.prompt_version".to_string()));
    assert!(out[0].missing.contains(&"turns.latency_ms".to_string()));
    assert!(!out[0].missing.contains(&"turns".to_string()));
}

#[test]
fn error_status_marks_an_existing_result() {
    let mut spans = tuesday_spans();
    spans[4]["status"] = json!({"code": "STATUS_CODE_ERROR", "message": "partial failure"});
    let c = &convert(&export(spans)).unwrap()[0].conversation;
    assert!(c.turns[5].tool_result.as_ref().unwrap().is_error);
    assert_eq!(c.turns[5].tool_result.as_ref().unwrap().content, json!({"ok": true}));
}

#[test]
fn id_less_calls_and_results_are_paired_in_order() {
    let a = json!({"role": "assistant", "parts": [{"type": "tool_call", "name": "lookup_account", "arguments": "{\"q\": 1}"}]});
    let r = json!({"role": "tool", "parts": [{"type": "tool_call_response", "response": "{\"status\": \"none\"}"}]});
    let spans = vec![
        chat("t", "c1", "", 0, 100, vec![user("hi")], vec![a.clone()]),
        chat("t", "c2", "", 200, 300, vec![user("hi"), a, r], vec![says("No subscription.")]),
    ];
    let c = &convert(&export(spans)).unwrap()[0].conversation;
    assert_eq!(c.turns.len(), 4);
    assert_eq!(c.turns[1].tool_calls[0].id, "otel:c1:0");
    assert_eq!(c.turns[1].tool_calls[0].arguments, json!({"q": 1}));
    let res = c.turns[2].tool_result.as_ref().unwrap();
    assert_eq!((res.call_id.as_str(), res.name.as_str(), res.content.as_value()), ("otel:c1:0", "lookup_account", &json!({"status": "none"})));
}

#[test]
fn content_on_the_operation_details_event_and_system_instructions() {
    let mut s = span("t", "c", "", "chat m", 0, 500, json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "m"}));
    s["events"] = json!([{"name": "gen_ai.client.inference.operation.details", "timeUnixNano": ((T0 + 500) * 1_000_000).to_string(), "attributes": attrs(json!({
        "gen_ai.system_instructions": [{"type": "text", "content": "Be kind."}],
        "gen_ai.input.messages": [user("Hello")],
        "gen_ai.output.messages": [says("Hi! How can I help?"), says("Hello there.")],
        "gen_ai.tool.definitions": [{"type": "function", "name": "lookup_account"}]
    }))}]);
    let out = OtelGenAi::convert(export(vec![s]).as_bytes(), &json!({"tool_versions": {"lookup_account": "1.4.0"}, "channel": "voice"})).unwrap();
    let c = &out[0].conversation;
    assert_eq!(c.channel, Channel::Voice);
    assert_eq!(
        c.turns.iter().map(|t| (t.role, t.text.as_str())).collect::<Vec<_>>(),
        vec![(Role::System, "Be kind."), (Role::Customer, "Hello"), (Role::Agent, "Hi! How can I help?")]
    );
    assert_eq!(c.state.tool_registry, vec![ToolRef { id: "lookup_account".into(), version: "1.4.0".into() }]);
    assert!(!out[0].missing.iter().any(|m| m.starts_with("state.tool_registry")), "{:?}", out[0].missing);
}

#[test]
fn agent_span_messages_are_skipped_when_its_chat_spans_have_them() {
    let t = "t";
    let spans = vec![
        span(
            t,
            "r",
            "",
            "invoke_agent",
            0,
            1000,
            json!({"gen_ai.operation.name": "invoke_agent",
            "gen_ai.input.messages": Value::Array(vec![user("Hi")]).to_string(), "gen_ai.output.messages": Value::Array(vec![says("Hello!")]).to_string()}),
        ),
        chat(t, "c", "r", 100, 900, vec![system("S"), user("Hi")], vec![says("Hello!")]),
    ];
    let c = &convert(&export(spans)).unwrap()[0].conversation;
    assert_eq!(c.turns.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), vec!["S", "Hi", "Hello!"]);
    // Alone, an agent span's messages are the transcript.
    let alone = vec![span(
        t,
        "r",
        "",
        "invoke_agent",
        0,
        1000,
        json!({"gen_ai.operation.name": "invoke_agent",
        "gen_ai.input.messages": Value::Array(vec![user("Hi")]).to_string(), "gen_ai.output.messages": Value::Array(vec![says("Hello!")]).to_string()}),
    )];
    assert_eq!(convert(&export(alone)).unwrap()[0].conversation.turns.len(), 2);
}

#[test]
fn content_capture_off_reports_turns_missing() {
    let spans = vec![span("t", "c", "", "chat gpt-4o", 0, 10, json!({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}))];
    let out = convert(&export(spans)).unwrap();
    assert!(out[0].conversation.turns.is_empty());
    assert_eq!(&out[0].missing[..3], &["turns".to_string(), "turns.content".to_string(), "outcome.escalated".to_string()]);
}

#[test]
fn non_genai_exports_give_no_conversations() {
    let spans = vec![span("t", "h", "", "GET /health", 0, 1, json!({"http.request.method": "GET"}))];
    assert!(convert(&export(spans)).unwrap().is_empty());
    assert!(convert(r#"{"resourceSpans": []}"#).unwrap().is_empty());
}

#[test]
fn jsonl_batches_are_pooled() {
    let spans = tuesday_spans();
    let jsonl = format!("{}\n{}\n", export(spans[..3].to_vec()), export(spans[3..].to_vec()));
    assert_eq!(convert(&jsonl).unwrap(), convert(&export(tuesday_spans())).unwrap());
    let array = format!("[{}, {}]", export(spans[..2].to_vec()), export(spans[2..].to_vec()));
    assert_eq!(convert(&array).unwrap(), convert(&export(tuesday_spans())).unwrap());
}

#[test]
fn side_car_state_overrides_and_is_not_missing() {
    let opts = json!({"state": {
        "memory_snapshot": [{"key": "account.subscription_status", "value": "none"}],
        "kb_version_hash": "sha256:6f1c",
        "tool_registry": [{"id": "lookup_account", "version": "1.4.0"}],
        "prompt_version": "support-v1.2",
        "routing": {"locale": "en-US", "extra": {"weekday": "tuesday"}}
    }});
    let out = OtelGenAi::convert(export(tuesday_spans()).as_bytes(), &opts).unwrap();
    let s = &out[0].conversation.state;
    assert_eq!(s.prompt_version.as_deref(), Some("support-v1.2"), "the side-car wins");
    assert_eq!(s.model.as_deref(), Some("gpt-4o-2024-08-06"), "the trace fills what the side-car lacks");
    assert_eq!(s.tool_registry, vec![ToolRef { id: "lookup_account".into(), version: "1.4.0".into() }]);
    assert_eq!(s.routing.extra.get("weekday").map(String::as_str), Some("tuesday"));
    assert_eq!(
        out[0].missing,
        vec![
            "outcome.escalated",
            "outcome.complaint",
            "outcome.compliance_flags",
            "outcome.ended_reason",
            "impact",
            "state.routing.time_of_day",
            "state.routing.queue"
        ]
    );
}

#[test]
fn bad_options_are_precise() {
    let cases = [
        (json!({"chanel": "chat"}), "unknown option `chanel`, expected one of `state`, `tool_versions`, `channel`, `group_attribute`, `label_prefixes`"),
        (json!({"label_prefixes": 3}), "option `label_prefixes` must be a list of attribute prefixes, got a number"),
        (json!({"label_prefixes": ["app.", ""]}), "option `label_prefixes[1]` must be a non-empty attribute prefix (a string), got a string"),
        (json!({"channel": "fax"}), "option `channel`: unknown channel \"fax\", expected \"chat\" or \"voice\""),
        (json!({"tool_versions": {"a": 1}}), "option `tool_versions.a` must be a version string, got a number"),
        (json!({"tool_versions": []}), "option `tool_versions` must be an object of tool name to version, got an array"),
        (json!({"state": []}), "option `state` must be a canonical agent state object, got an array"),
        (json!("x"), "options must be a JSON object, got a string"),
    ];
    for (opts, want) in cases {
        assert_eq!(OtelGenAi::convert(b"{}", &opts).unwrap_err(), want);
    }
    let e = OtelGenAi::convert(b"{}", &json!({"state": {"modle": "x"}})).unwrap_err();
    assert!(e.starts_with("option `state`: unknown field `modle`"), "{e}");
}

#[test]
fn malformed_content_names_conversation_span_attribute_and_message() {
    let with = |a: Value| export(vec![span("t", "c", "", "chat m", 0, 1, a)]);
    let cases = [
        (
            with(json!({"gen_ai.operation.name": "chat", "gen_ai.conversation.id": "conv-9", "gen_ai.input.messages": "[{\"role\": \"user\", \"parts\": [{\"type\": \"te"})),
            "conversation \"conv-9\": resourceSpans[0].scopeSpans[0].spans[0] (span \"chat m\"): attribute `gen_ai.input.messages`: invalid JSON: EOF while parsing a string at line 1 column 40",
        ),
        (
            with(json!({"gen_ai.operation.name": "chat", "gen_ai.output.messages": "[{\"role\": \"assistant\", \"parts\": [{\"type\": \"tool_call\", \"id\": \"x\"}]}]"})),
            "conversation \"t\": resourceSpans[0].scopeSpans[0].spans[0] (span \"chat m\"): gen_ai.output.messages[0].parts[0]: missing `name` (a string)",
        ),
        (
            with(json!({"gen_ai.operation.name": "chat", "gen_ai.input.messages": "[{\"role\": \"user\", \"parts\": []}, {\"role\": \"bot\", \"parts\": []}]"})),
            "conversation \"t\": resourceSpans[0].scopeSpans[0].spans[0] (span \"chat m\"): gen_ai.input.messages[1].role: unsupported role \"bot\" (expected system, user, assistant or tool)",
        ),
        (
            with(json!({"gen_ai.operation.name": "chat", "gen_ai.input.messages": "{\"role\": \"user\"}"})),
            "conversation \"t\": resourceSpans[0].scopeSpans[0].spans[0] (span \"chat m\"): gen_ai.input.messages: expected an array of messages, got an object",
        ),
        (
            with(json!({"gen_ai.operation.name": "chat", "gen_ai.input.messages": "[{\"role\": \"tool\", \"parts\": [{\"type\": \"tool_call_response\", \"response\": 1}]}]"})),
            "conversation \"t\": resourceSpans[0].scopeSpans[0].spans[0] (span \"chat m\"): a tool result without a call id, and no earlier tool call is waiting for a result",
        ),
        (
            with(json!({"gen_ai.operation.name": "execute_tool"})),
            "conversation \"t\": resourceSpans[0].scopeSpans[0].spans[0] (span \"chat m\"): an execute_tool span without `gen_ai.tool.name`",
        ),
        (
            with(json!({"gen_ai.operation.name": "chat", "gen_ai.tool.definitions": "[{\"type\": \"function\"}]"})),
            "conversation \"t\": resourceSpans[0].scopeSpans[0].spans[0] (span \"chat m\"): gen_ai.tool.definitions[0]: missing `name` (a string)",
        ),
        (with(json!({"gen_ai.operation.name": 3})), "resourceSpans[0].scopeSpans[0].spans[0] (span \"chat m\"): attribute `gen_ai.operation.name`: expected a string, got a number"),
        (with(json!({"gen_ai.conversation.id": [1]})), "resourceSpans[0].scopeSpans[0].spans[0] (span \"chat m\"): attribute `gen_ai.conversation.id`: expected a string, got an array"),
    ];
    for (input, want) in cases {
        assert_eq!(convert(&input).unwrap_err(), want);
    }
}

/// A small deterministic generator for the fuzz-ish tests (no dependencies).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn truncated_and_garbled_input_never_panics() {
    let sample = export(tuesday_spans());
    let bytes = sample.as_bytes();
    // Every truncation point (step 7 keeps the test fast) is an error or a smaller conversion, never a panic.
    for cut in (0..bytes.len()).step_by(7) {
        let _ = OtelGenAi::convert(&bytes[..cut], &Value::Null);
    }
    let mut rng = Lcg(0x5eed);
    for _ in 0..400 {
        let mut b = bytes.to_vec();
        for _ in 0..1 + rng.next() % 4 {
            let i = (rng.next() as usize) % b.len();
            let junk = b"{}[]\":,0a\\\n\x00\xff";
            b[i] = junk[(rng.next() as usize) % junk.len()];
        }
        let first = OtelGenAi::convert(&b, &Value::Null);
        assert_eq!(first, OtelGenAi::convert(&b, &Value::Null), "deterministic on garbage too");
    }
    // Garbage shaped like OTLP: wrong types everywhere.
    for doc in [
        r#"{"resourceSpans": [null]}"#,
        r#"{"resourceSpans": [{"scopeSpans": null}]}"#,
        r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "t", "spanId": "s", "parentSpanId": "s", "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}]}]}]}]}"#,
        r#"{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "t", "spanId": "s", "events": [{"attributes": [{"key": "k", "value": {"arrayValue": {"values": [{"kvlistValue": {}}]}}}]}]}]}]}]}"#,
    ] {
        let _ = convert(doc);
    }
}

#[test]
fn a_parent_cycle_terminates() {
    let spans = vec![
        span("t", "a", "b", "chat m", 0, 10, json!({"gen_ai.operation.name": "chat", "gen_ai.input.messages": Value::Array(vec![user("x")]).to_string()})),
        span(
            "t",
            "b",
            "a",
            "invoke_agent",
            0,
            20,
            json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.input.messages": Value::Array(vec![user("x")]).to_string()}),
        ),
    ];
    let out = convert(&export(spans)).unwrap();
    assert_eq!(out.len(), 1);
}

/// JSON pointers to every node of `v`.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| pointers(c, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => {}
    }
    out.push(at);
}

/// Replaces one random node of `v` with junk; strings holding JSON (the
/// message attributes) are mutated inside half of the time.
fn mutate(v: &mut Value, rng: &mut Lcg) {
    let mut ps = Vec::new();
    pointers(v, String::new(), &mut ps);
    let p = &ps[(rng.next() as usize) % ps.len()];
    let node = v.pointer_mut(p).unwrap();
    if let Value::String(s) = node {
        if let Ok(mut inner) = serde_json::from_str::<Value>(s) {
            if rng.next() & 1 == 0 && (inner.is_array() || inner.is_object()) {
                mutate(&mut inner, rng);
                *node = Value::String(inner.to_string());
                return;
            }
        }
    }
    let junk = [json!(null), json!(0), json!(-1), json!("x"), json!(""), json!([]), json!({}), json!(true), json!("[{\"role\": 1}]"), json!(1.5e300)];
    *node = junk[(rng.next() as usize) % junk.len()].clone();
}

#[test]
fn structurally_mutated_exports_never_panic() {
    let sample: Value = serde_json::from_str(&export(tuesday_spans())).unwrap();
    let mut rng = Lcg(42);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..1500 {
        let mut v = sample.clone();
        for _ in 0..1 + rng.next() % 3 {
            mutate(&mut v, &mut rng);
        }
        let input = v.to_string();
        let first = convert(&input);
        assert_eq!(first, convert(&input));
        match first {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(!e.is_empty());
                err += 1
            }
        }
    }
    assert!(ok > 100 && err > 100, "the mutations should exercise both paths: {ok} ok, {err} errors");
}

#[test]
fn attributes_under_a_label_prefix_are_the_conversations_labels() {
    let doc = json!({"resourceSpans": [{"resource": {"attributes": attrs(json!({"service.name": "support-agent", "ratchet.label.region": "eu", "ratchet.label.tier": "silver"}))},
        "scopeSpans": [{"scope": {"name": "test"}, "spans": [
            span("t", "r", "", "invoke_agent", 0, 9, json!({"gen_ai.operation.name": "invoke_agent", "ratchet.label.tier": "gold", "ratchet.label.order_value": 129.5,
                "traceloop.association.properties.ticket": "T-7", "app.other": "x"})),
            chat("t", "c", "r", 1, 2, vec![user("hi")], vec![says("hello")]),
        ]}]}]})
    .to_string();
    let out = OtelGenAi::convert(doc.as_bytes(), &json!({})).unwrap();
    let labels: Vec<(&str, &str)> = out[0].conversation.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(labels, [("order_value", "129.5"), ("region", "eu"), ("ticket", "T-7"), ("tier", "gold")], "a span's own attribute wins over its resource's");
    let own = OtelGenAi::convert(doc.as_bytes(), &json!({"label_prefixes": ["app."]})).unwrap();
    assert_eq!(own[0].conversation.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>(), [("other", "x")]);
    let none = OtelGenAi::convert(doc.as_bytes(), &json!({"label_prefixes": []})).unwrap();
    assert!(none[0].conversation.labels.is_empty());
}
