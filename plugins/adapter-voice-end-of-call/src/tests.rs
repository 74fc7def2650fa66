//! Unit tests of the whole conversion, on reports built in code.

use super::*;
use ratchet_sdk::json;

/// 2026-11-24T09:31:04Z in milliseconds.
const S: f64 = 1_795_512_664_000.0;

fn report(messages: Value) -> Value {
    json!({"message": {"type": "end-of-call-report", "startedAt": "2026-11-24T09:31:04Z", "endedReason": "customer-ended-call",
        "call": {"id": "call-1", "type": "inboundPhoneCall"},
        "assistant": {"name": "Ava", "model": {"provider": "openai", "model": "gpt-4o", "tools": [{"type": "function", "function": {"name": "lookup_account"}}, {"type": "endCall"}]},
            "transcriber": {"provider": "deepgram", "language": "en-US"}},
        "artifact": {"messages": messages}}})
}

fn convert(v: &Value) -> Result<Vec<Converted>, String> {
    VoiceEndOfCall::convert(v.to_string().as_bytes(), &Value::Null)
}

fn tuesday_messages() -> Value {
    json!([
        {"role": "system", "message": "Only cancel active subscriptions.", "time": S, "secondsFromStart": 0},
        {"role": "bot", "message": "Hi, this is Ava.", "time": S + 400.0, "endTime": S + 2000.0, "secondsFromStart": 0.4},
        {"role": "user", "message": "Cancel my premium subscription.", "time": S + 2500.0, "endTime": S + 4000.0, "secondsFromStart": 2.5},
        {"role": "tool_calls", "message": "", "time": S + 4650.0, "secondsFromStart": 4.65,
         "toolCalls": [{"id": "c1", "type": "function", "function": {"name": "lookup_account", "arguments": "{\"phone\": \"+1415\"}"}}]},
        {"role": "tool_call_result", "toolCallId": "c1", "name": "lookup_account", "result": "{\"subscription_status\": \"none\"}", "time": S + 5000.0, "secondsFromStart": 5.0},
        {"role": "tool_calls", "time": S + 5600.0, "secondsFromStart": 5.6,
         "toolCalls": [{"id": "c2", "type": "function", "function": {"name": "cancel_subscription", "arguments": {"account_id": "A-1"}}}]},
        {"role": "tool_call_result", "toolCallId": "c2", "result": "done", "time": S + 6000.0, "secondsFromStart": 6.0},
        {"role": "bot", "message": "All done, it's cancelled.", "time": S + 6500.0, "endTime": S + 9000.0, "secondsFromStart": 6.5},
        {"role": "user", "message": "Thanks.", "time": S + 9500.0, "endTime": S + 10000.0, "secondsFromStart": 9.5},
        {"role": "bot", "message": "Bye!", "time": S + 10700.0, "endTime": S + 11500.0, "secondsFromStart": 10.7}
    ])
}

#[test]
fn roles_tools_timing_and_state() {
    let out = convert(&report(tuesday_messages())).unwrap();
    assert_eq!(out.len(), 1);
    let c = &out[0].conversation;
    assert_eq!((c.id.as_str(), c.channel, c.started_at.as_deref()), ("call-1", Channel::Voice, Some("2026-11-24T09:31:04Z")));
    let roles: Vec<Role> = c.turns.iter().map(|t| t.role).collect();
    use Role::*;
    assert_eq!(roles, vec![System, Agent, Customer, Agent, Tool, Agent, Tool, Agent, Customer, Agent]);
    assert_eq!(c.turns[3].tool_calls[0].arguments, json!({"phone": "+1415"}));
    assert_eq!(c.turns[5].tool_calls[0].arguments, json!({"account_id": "A-1"}), "arguments already decoded are kept");
    let r = c.turns[4].tool_result.as_ref().unwrap();
    assert_eq!((r.call_id.as_str(), r.name.as_str(), r.content.as_value()), ("c1", "lookup_account", &json!({"subscription_status": "none"})));
    let r = c.turns[6].tool_result.as_ref().unwrap();
    assert_eq!((r.name.as_str(), r.content.as_value()), ("cancel_subscription", &json!("done")), "name from the call, plain-text result kept");
    let offsets: Vec<u64> = c.turns.iter().map(|t| t.offset_ms.unwrap()).collect();
    assert_eq!(offsets, vec![0, 400, 2500, 4650, 5000, 5600, 6000, 6500, 9500, 10700]);
    // Latency: the first agent turn after the customer stops talking.
    let latency: Vec<Option<u64>> = c.turns.iter().map(|t| t.latency_ms).collect();
    assert_eq!(latency, vec![None, None, None, Some(650), None, None, None, None, None, Some(700)]);
    assert_eq!((c.outcome.ended_reason.as_deref(), c.outcome.escalated), (Some("customer-ended-call"), false));
    assert_eq!(c.state.model.as_deref(), Some("gpt-4o"));
    assert_eq!(c.state.routing.locale.as_deref(), Some("en-US"));
    assert_eq!(c.state.tool_registry.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), vec!["cancel_subscription", "endCall", "lookup_account"]);
    assert_eq!(c.state.routing.extra.get("assistant_name").map(String::as_str), Some("Ava"));
    assert_eq!(c.state.routing.extra.get("call_type").map(String::as_str), Some("inboundPhoneCall"));
    assert!(!c.outcome.complaint, "never invented");
    assert_eq!(
        out[0].missing,
        vec![
            "outcome.complaint",
            "outcome.compliance_flags",
            "impact",
            "state.memory_snapshot",
            "state.kb_version_hash",
            "state.tool_registry.version",
            "state.prompt_version",
            "state.routing.time_of_day",
            "state.routing.queue"
        ]
    );
}

#[test]
fn forwarded_and_transfer_reasons_escalate_failed_ones_do_not() {
    let opts = Options::from_params(&json!({"escalation_reasons": ["manager-requested"]})).unwrap();
    for (reason, escalated) in [
        ("assistant-forwarded-call", true),
        ("assistant-request-returned-forwarding-phone-number", true),
        ("call.ringing.hook-executed-transfer", true),
        ("manager-requested", true),
        ("call.in-progress.error-warm-transfer-max-duration", false),
        ("twilio-failed-to-transfer-call", false),
        ("customer-ended-call", false),
        ("silence-timed-out", false),
    ] {
        assert_eq!(opts.is_escalation(reason), escalated, "{reason}");
    }
    let mut r = report(json!([]));
    r["message"]["endedReason"] = json!("assistant-forwarded-call");
    let c = &convert(&r).unwrap()[0].conversation;
    assert!(c.outcome.escalated);
}

#[test]
fn success_evaluation_is_a_routing_signal_not_a_complaint() {
    let mut r = report(json!([]));
    r["message"]["analysis"] = json!({"summary": "s", "successEvaluation": "false", "structuredData": {"x": 1}});
    let c = &convert(&r).unwrap()[0].conversation;
    assert_eq!(c.state.routing.extra.get("success_evaluation").map(String::as_str), Some("false"));
    assert!(!c.outcome.complaint);
    r["message"]["analysis"]["successEvaluation"] = json!(false);
    assert_eq!(convert(&r).unwrap()[0].conversation.state.routing.extra["success_evaluation"], "false");
    r["message"]["analysis"]["successEvaluation"] = json!(7);
    assert_eq!(convert(&r).unwrap()[0].conversation.state.routing.extra["success_evaluation"], "7");
}

#[test]
fn unwrapped_call_object_array_and_jsonl() {
    // A call object as the call API returns it: top-level id, fields on the call itself.
    let call = json!({"id": "call-x", "type": "webCall", "startedAt": "2026-11-24T09:31:04.500Z", "endedReason": "silence-timed-out",
        "messages": [{"role": "bot", "message": "Hello?", "time": S + 1500.0}]});
    let c = &convert(&call).unwrap()[0].conversation;
    assert_eq!((c.id.as_str(), c.turns[0].offset_ms), ("call-x", Some(1000)), "offset from `time` - startedAt without secondsFromStart");
    let bare = report(json!([]))["message"].clone();
    let arr = convert(&json!([bare.clone(), call.clone()])).unwrap();
    assert_eq!(arr.iter().map(|c| c.conversation.id.as_str()).collect::<Vec<_>>(), vec!["call-1", "call-x"]);
    let status = json!({"message": {"type": "status-update", "status": "ended", "call": {"id": "call-1"}}});
    let jsonl = format!("{status}\n\n{}\n{call}\n", report(json!([])));
    let out = VoiceEndOfCall::convert(jsonl.as_bytes(), &Value::Null).unwrap();
    assert_eq!(out.len(), 2, "the status update is skipped");
    assert!(convert(&status).unwrap().is_empty());
}

#[test]
fn transcript_fallback_and_assistant_overrides() {
    let r = json!({"message": {"type": "end-of-call-report", "call": {"id": "c", "startedAt": "2026-11-24T09:31:04Z",
        "assistantOverrides": {"model": {"model": "gpt-4o-mini"}, "variableValues": {"zeta": 1, "customer_name": "Dana", "plan": {"tier": "none"}}}},
        "assistant": {"model": {"model": "gpt-4o"}, "transcriber": {"language": "multi"}},
        "artifact": {"transcript": "AI: Hello, Acme.\nUser: Hi, I'd like to cancel.\nplease\n\nAI: Done."}}});
    let out = convert(&r).unwrap();
    let c = &out[0].conversation;
    assert_eq!(
        c.turns.iter().map(|t| (t.role, t.text.as_str())).collect::<Vec<_>>(),
        vec![(Role::Agent, "Hello, Acme."), (Role::Customer, "Hi, I'd like to cancel.\nplease"), (Role::Agent, "Done.")]
    );
    assert_eq!(c.state.model.as_deref(), Some("gpt-4o-mini"), "the call's overrides win");
    assert_eq!(c.state.routing.locale, None, "`multi` is not a locale");
    assert_eq!(c.state.memory_snapshot.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), vec!["customer_name", "plan", "zeta"]);
    assert_eq!(c.state.memory_snapshot[1].value, json!({"tier": "none"}));
    for m in
        ["turns.tool_calls", "turns.offset_ms", "turns.latency_ms", "outcome.escalated", "outcome.ended_reason", "state.tool_registry", "state.routing.locale"]
    {
        assert!(out[0].missing.contains(&m.to_string()), "{m} in {:?}", out[0].missing);
    }
    assert!(!out[0].missing.contains(&"state.memory_snapshot".to_string()));
}

#[test]
fn tool_result_errors_and_names_from_calls() {
    let msgs = json!([
        {"role": "tool_calls", "toolCalls": [{"id": "c1", "function": {"name": "issue_refund", "arguments": "{oops"}}], "secondsFromStart": 1},
        {"role": "tool_call_result", "toolCallId": "c1", "error": "refund service timed out", "secondsFromStart": 3}
    ]);
    let c = &convert(&report(msgs)).unwrap()[0].conversation;
    assert_eq!(c.turns[0].tool_calls[0].arguments, json!("{oops"), "unparseable arguments are kept as a string");
    let r = c.turns[1].tool_result.as_ref().unwrap();
    assert_eq!((r.name.as_str(), r.content.as_value(), r.is_error), ("issue_refund", &json!("refund service timed out"), true));
}

#[test]
fn side_car_state_and_tool_versions() {
    let opts = json!({"tool_versions": {"lookup_account": "1.4.0", "cancel_subscription": "2.1.0", "endCall": "1.0.0"},
        "state": {"kb_version_hash": "sha256:6f1c", "prompt_version": "support-v1", "routing": {"queue": "billing", "time_of_day": "09:31", "extra": {"assistant_name": "Ava v2"}}}});
    let out = VoiceEndOfCall::convert(report(tuesday_messages()).to_string().as_bytes(), &opts).unwrap();
    let s = &out[0].conversation.state;
    assert_eq!(s.tool_registry[0], ToolRef { id: "cancel_subscription".into(), version: "2.1.0".into() });
    assert_eq!(
        (s.kb_version_hash.as_deref(), s.prompt_version.as_deref(), s.routing.queue.as_deref()),
        (Some("sha256:6f1c"), Some("support-v1"), Some("billing"))
    );
    assert_eq!(s.routing.extra["assistant_name"], "Ava v2", "the side-car wins per key");
    assert_eq!(s.routing.extra["call_type"], "inboundPhoneCall", "the report's other keys stay");
    assert_eq!(out[0].missing, vec!["outcome.complaint", "outcome.compliance_flags", "impact", "state.memory_snapshot"]);
}

#[test]
fn bad_options_are_precise() {
    let cases = [
        (json!({"tool_version": {}}), "unknown option `tool_version`, expected one of `state`, `tool_versions`, `escalation_reasons`"),
        (json!({"escalation_reasons": [1]}), "option `escalation_reasons[0]` must be a string, got a number"),
        (json!({"tool_versions": {"a": null}}), "option `tool_versions.a` must be a version string, got null"),
        (json!({"state": "x"}), "option `state` must be a canonical agent state object, got a string"),
    ];
    for (opts, want) in cases {
        assert_eq!(VoiceEndOfCall::convert(b"{}", &opts).unwrap_err(), want);
    }
}

#[test]
fn malformed_reports_have_precise_errors() {
    let with_messages = |m: Value| report(m).to_string();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "input is empty: expected an end-of-call report object, a JSON array of them, or JSONL"),
        ("true".into(), "input must be an end-of-call report object, a JSON array of them, or JSONL; got a boolean"),
        ("[1]".into(), "report 0: expected an end-of-call report object, got a number"),
        (r#"{"message": {"type": "end-of-call-report"}}"#.into(), "report 0: message: missing `call.id` (the call's id)"),
        (r#"{"type": "end-of-call-report", "call": {"id": 5}}"#.into(), "report 0: call.id: expected a string, got a number"),
        (r#"{"message": {"type": 3}}"#.into(), "report 0: message.type: expected a string, got a number"),
        (r#"{"message": {"call": {"id": "c"}}}"#.into(), "report 0 (call \"c\"): message: no `artifact.messages` and no transcript: nothing to convert"),
        (
            r#"{"message": {"call": {"id": "c"}, "startedAt": "Tuesday morning", "artifact": {"messages": []}}}"#.into(),
            "report 0 (call \"c\"): message.startedAt: not an RFC 3339 timestamp: \"Tuesday morning\"",
        ),
        (r#"{"call": {"id": "c"}, "artifact": {"messages": {}}}"#.into(), "report 0 (call \"c\"): artifact.messages: expected an array of messages, got an object"),
        (with_messages(json!([{"message": "hi"}])), "report 0 (call \"call-1\"): message.artifact.messages[0]: missing `role` (a string)"),
        (
            with_messages(json!([{"role": "user"}, {"role": "robot"}])),
            "report 0 (call \"call-1\"): message.artifact.messages[1].role: unsupported role \"robot\" (expected system, user, bot, assistant, tool_calls or tool_call_result)",
        ),
        (with_messages(json!([{"role": "tool_calls"}])), "report 0 (call \"call-1\"): message.artifact.messages[0]: missing `toolCalls` (an array)"),
        (
            with_messages(json!([{"role": "tool_calls", "toolCalls": [{"id": "x", "function": {"arguments": "{}"}}]}])),
            "report 0 (call \"call-1\"): message.artifact.messages[0].toolCalls[0].function: missing `name` (a string)",
        ),
        (
            with_messages(json!([{"role": "tool_calls", "toolCalls": [{"function": {"name": "x"}}]}])),
            "report 0 (call \"call-1\"): message.artifact.messages[0].toolCalls[0]: missing `id` (a string)",
        ),
        (
            with_messages(json!([{"role": "tool_call_result", "toolCallId": "zz", "result": "x"}])),
            "report 0 (call \"call-1\"): message.artifact.messages[0].toolCallId: no earlier tool call has id \"zz\" (and the message has no `name`)",
        ),
        (
            with_messages(json!([{"role": "user", "message": "hi", "secondsFromStart": "3.2"}])),
            "report 0 (call \"call-1\"): message.artifact.messages[0].secondsFromStart: expected a number, got a string",
        ),
        (
            with_messages(json!([{"role": "user", "message": "hi", "secondsFromStart": -1}])),
            "report 0 (call \"call-1\"): message.artifact.messages[0].secondsFromStart: expected seconds from the start of the call (>= 0), got -1",
        ),
        (
            with_messages(json!([{"role": "user", "message": 42}])),
            "report 0 (call \"call-1\"): message.artifact.messages[0].message: expected a string, got a number",
        ),
        (
            r#"{"call": {"id": "c"}, "artifact": {"transcript": "hello\nAI: hi"}}"#.into(),
            "report 0 (call \"c\"): artifact.transcript: line 1 has no speaker (expected `AI: ...` or `User: ...`)",
        ),
        (
            r#"{"call": {"id": "c"}, "artifact": {"messages": []}, "assistant": {"model": {"tools": [{"function": {}}]}}}"#.into(),
            "report 0 (call \"c\"): assistant.model.tools[0]: a tool without `function.name` or `type`",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(VoiceEndOfCall::convert(input.as_bytes(), &Value::Null).unwrap_err(), want, "input: {input}");
    }
    let e = VoiceEndOfCall::convert(b"{\"call\": {\"id\": \"a\"}, \"messages\": []}\n{nope\n", &Value::Null).unwrap_err();
    assert!(e.starts_with("report 1 (line 2): invalid JSON:"), "{e}");
    let e = VoiceEndOfCall::convert(b"{\"message\": ", &Value::Null).unwrap_err();
    assert!(e.starts_with("invalid JSON: EOF"), "{e}");
    assert!(VoiceEndOfCall::convert(&[0xff], &Value::Null).unwrap_err().starts_with("input is not UTF-8"));
}

/// A small deterministic generator for the fuzz-ish tests (no dependencies).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
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

#[test]
fn truncated_garbled_and_mutated_reports_never_panic() {
    let sample = report(tuesday_messages());
    let text = sample.to_string();
    for cut in 0..text.len() {
        let _ = VoiceEndOfCall::convert(&text.as_bytes()[..cut], &Value::Null);
    }
    let mut rng = Lcg(7);
    let junk =
        [json!(null), json!(0), json!(-1.5), json!("x"), json!(""), json!([]), json!({}), json!(true), json!(1e300), json!("{\"a\":"), json!([{"role": 1}])];
    let (mut ok, mut err) = (0, 0);
    for _ in 0..2000 {
        let mut v = sample.clone();
        for _ in 0..1 + rng.next() % 3 {
            let mut ps = Vec::new();
            pointers(&v, String::new(), &mut ps);
            let p = ps[(rng.next() as usize) % ps.len()].clone();
            *v.pointer_mut(&p).unwrap() = junk[(rng.next() as usize) % junk.len()].clone();
        }
        let input = v.to_string();
        let first = VoiceEndOfCall::convert(input.as_bytes(), &Value::Null);
        assert_eq!(first, VoiceEndOfCall::convert(input.as_bytes(), &Value::Null), "deterministic");
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
