//! Built-in criteria on hand-built transcripts: each kind passes when it should,
//! fails when it should, and names the turn.

use std::collections::BTreeMap;

use ratchet::config::ConversationConfig;
use ratchet::gate::criteria::{evaluate, subset, subset_with, AssertionPlugins, Context};
use ratchet::schema::{AgentState, Channel, Check, Condition, Conversation, Criterion, MemoryEntry, Role, ToolCall, ToolResult, Turn};
use ratchet::suite::{shard, Shard};
use serde_json::json;

fn t(role: Role, text: &str) -> Turn {
    Turn { role, text: text.into(), tool_calls: vec![], tool_result: None, offset_ms: None, latency_ms: None }
}
fn call(name: &str, args: serde_json::Value) -> Turn {
    let mut x = t(Role::Agent, "");
    x.tool_calls.push(ToolCall { id: format!("c-{name}"), name: name.into(), arguments: args });
    x
}
fn result(name: &str, content: serde_json::Value) -> Turn {
    let mut x = t(Role::Tool, "");
    x.tool_result = Some(ToolResult { call_id: format!("c-{name}"), name: name.into(), content, is_error: false });
    x
}

/// The Tuesday-morning failure: lookup says no subscription, the agent cancels anyway.
fn tuesday() -> Conversation {
    Conversation {
        schema_version: Default::default(),
        id: "t".into(),
        channel: Channel::Voice,
        started_at: None,
        turns: vec![
            t(Role::Customer, "I want to cancel my subscription"),                        // 0
            call("lookup_account", json!({"email": "a@b.c"})),                            // 1
            result("lookup_account", json!({"subscription_status": "none"})),             // 2
            call("cancel_subscription", json!({"account_id": "A-1", "reason": "asked"})), // 3
            result("cancel_subscription", json!({"ok": true})),                           // 4
            t(Role::Agent, "Your subscription has been cancelled."),                      // 5
            t(Role::Customer, "Thanks"),                                                  // 6
            t(Role::Agent, "You're welcome!"),                                            // 7
        ],
        outcome: Default::default(),
        impact: Default::default(),
        state: AgentState { memory_snapshot: vec![MemoryEntry { key: "account.subscription_status".into(), value: json!("none") }], ..Default::default() },
        world: None,
        labels: Default::default(),
    }
}

fn check(c: Check, conv: &Conversation) -> ratchet::gate::criteria::CriterionOutcome {
    evaluate(&Criterion { id: "c".into(), why: None, check: c }, conv, &Context::new(&AssertionPlugins::new(), &ConversationConfig::default())).unwrap()
}

#[test]
fn must_not_call_tool_unless_condition() {
    let conv = tuesday();
    let by_result = Condition { state: None, tool_result: Some("lookup_account".into()), field: Some("subscription_status".into()), equals: json!("active") };
    let o = check(
        Check::MustNotCallTool {
            tool: "cancel_subscription".into(),
            unless: Some(by_result.clone()),
            arguments: None,
            ordered: false,
            count_failed_attempts: false,
        },
        &conv,
    );
    assert!(!o.passed);
    assert_eq!(o.turn, Some(3));
    assert!(o.reason.contains("\"none\"") && o.reason.contains("\"active\""), "{}", o.reason);
    // By state key.
    let by_state = Condition { state: Some("account.subscription_status".into()), tool_result: None, field: None, equals: json!("active") };
    assert!(
        !check(
            Check::MustNotCallTool {
                tool: "cancel_subscription".into(),
                unless: Some(by_state),
                arguments: None,
                ordered: false,
                count_failed_attempts: false
            },
            &conv
        )
        .passed
    );
    // When the lookup shows an active subscription, the same call is allowed.
    let mut ok = tuesday();
    ok.turns[2] = result("lookup_account", json!({"subscription_status": "active"}));
    assert!(
        check(
            Check::MustNotCallTool {
                tool: "cancel_subscription".into(),
                unless: Some(by_result),
                arguments: None,
                ordered: false,
                count_failed_attempts: false
            },
            &ok
        )
        .passed
    );
    // Unconditional.
    assert!(
        !check(
            Check::MustNotCallTool { tool: "cancel_subscription".into(), unless: None, arguments: None, ordered: false, count_failed_attempts: false },
            &conv
        )
        .passed
    );
    assert!(
        check(Check::MustNotCallTool { tool: "issue_refund".into(), unless: None, arguments: None, ordered: false, count_failed_attempts: false }, &conv)
            .passed
    );
}

#[test]
fn must_call_tool_with_argument_subset_and_deadline() {
    let conv = tuesday();
    assert!(
        check(
            Check::MustCallTool { tool: "cancel_subscription".into(), arguments: Some(json!({"account_id": "A-1"})), within_turns: None, ordered: false },
            &conv
        )
        .passed
    );
    let wrong = check(
        Check::MustCallTool { tool: "cancel_subscription".into(), arguments: Some(json!({"account_id": "A-2"})), within_turns: None, ordered: false },
        &conv,
    );
    assert!(!wrong.passed && wrong.turn == Some(3), "{wrong:?}");
    assert!(check(Check::MustCallTool { tool: "cancel_subscription".into(), arguments: None, within_turns: Some(1), ordered: false }, &conv).passed);
    let never = check(Check::MustCallTool { tool: "escalate".into(), arguments: None, within_turns: None, ordered: false }, &conv);
    assert!(!never.passed && never.reason.contains("never called"));
}

#[test]
fn must_say_and_must_not_say() {
    let conv = tuesday();
    let o = check(Check::MustNotSay { pattern: "(?i)has been cancel+ed".into() }, &conv);
    assert!(!o.passed);
    assert_eq!(o.turn, Some(5));
    assert!(check(Check::MustSay { pattern: "(?i)welcome".into(), within_turns: Some(2), when_called: None }, &conv).passed);
    let late = check(Check::MustSay { pattern: "(?i)welcome".into(), within_turns: Some(1), when_called: None }, &conv);
    assert!(!late.passed && late.reason.contains("within 1 agent replies"), "{}", late.reason);
    // Conditional on a tool call: not applicable when the tool is never called; when
    // it is, the reply reporting the call counts.
    let refund_policy = |tool: &str, within| Check::MustSay { pattern: "(?i)refund policy".into(), within_turns: within, when_called: Some(tool.into()) };
    let na = check(refund_policy("issue_refund", Some(1)), &conv);
    assert!(na.passed && na.reason.contains("never called `issue_refund`"), "{na:?}");
    assert!(!check(refund_policy("cancel_subscription", Some(1)), &conv).passed);
    let reporting =
        check(Check::MustSay { pattern: "(?i)has been cancel+ed".into(), within_turns: Some(1), when_called: Some("cancel_subscription".into()) }, &conv);
    assert!(reporting.passed && reporting.turn == Some(5), "{reporting:?}");
}

#[test]
fn tool_order_escalation_and_max_turns() {
    let conv = tuesday();
    assert!(check(Check::ToolOrder { tools: vec!["lookup_account".into(), "cancel_subscription".into()] }, &conv).passed);
    let o = check(Check::ToolOrder { tools: vec!["cancel_subscription".into(), "lookup_account".into()] }, &conv);
    assert!(!o.passed && o.turn == Some(1), "{o:?}");
    assert!(!check(Check::MustEscalate {}, &conv).passed);
    assert!(check(Check::MustNotEscalate {}, &conv).passed);
    let mut esc = tuesday();
    esc.outcome.escalated = true;
    assert!(check(Check::MustEscalate {}, &esc).passed);
    assert!(check(Check::MaxTurns { max: 2 }, &conv).passed);
    let o = check(Check::MaxTurns { max: 1 }, &conv);
    assert!(!o.passed && o.turn == Some(7));
}

#[test]
fn unknown_plugin_is_an_evaluation_error_not_a_failure() {
    let c = Criterion { id: "p".into(), why: None, check: Check::Plugin { plugin: "nope".into(), params: json!({}) } };
    assert!(evaluate(&c, &tuesday(), &Context::new(&AssertionPlugins::new(), &ConversationConfig::default())).is_err());
}

#[test]
fn argument_subset_matching() {
    assert!(subset(&json!({"a": 1}), &json!({"a": 1.0, "b": 2})));
    assert!(subset(&json!({"a": {"x": [1, 2]}}), &json!({"a": {"x": [1, 2], "y": 0}})));
    assert!(!subset(&json!({"c": 1}), &json!({"a": 1})));
    // Lists: each expected item matched by a distinct actual item, in any order;
    // extra actual items and extra keys inside items are fine; numbers by value.
    assert!(subset(&json!({"a": {"x": [1]}}), &json!({"a": {"x": [1, 2]}})));
    let items = json!({"items": [{"sku": "B", "qty": 1.0, "reason": "damaged"}, {"sku": "A", "qty": 2, "reason": "too small"}]});
    assert!(subset(&json!({"items": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}]}), &items));
    assert!(!subset(&json!({"items": [{"sku": "A"}, {"sku": "A"}]}), &items), "two A lines need two actual A lines");
    assert!(!subset(&json!({"items": [{"sku": "C"}]}), &items));
    assert!(subset_with(&json!([1, 3]), &json!([1, 2, 3]), true));
    assert!(!subset_with(&json!([3, 1]), &json!([1, 2, 3]), true), "ordered: a subsequence");
    assert!(subset_with(&json!([3, 1]), &json!([1, 2, 3]), false));
}

/// A check from its file form (what scenario files and scorecards write).
fn chk(v: serde_json::Value) -> Check {
    serde_json::from_value(v).unwrap()
}

fn check_with(c: Check, conv: &Conversation, rules: &ConversationConfig) -> ratchet::gate::criteria::CriterionOutcome {
    evaluate(&Criterion { id: "c".into(), why: None, check: c }, conv, &Context::new(&AssertionPlugins::new(), rules)).unwrap()
}

/// The Tuesday conversation whose cancellation the tool rejected with `content`.
fn rejected(content: serde_json::Value, is_error: bool) -> Conversation {
    let mut c = tuesday();
    let mut r = result("cancel_subscription", content);
    r.tool_result.as_mut().unwrap().is_error = is_error;
    c.turns[4] = r;
    c
}

#[test]
fn must_not_call_tool_counts_only_calls_that_took_effect() {
    let never = chk(json!({"kind": "must-not-call-tool", "tool": "cancel_subscription"}));
    let rules = ConversationConfig::default();
    for (content, is_error) in [(json!({"detail": "timeout"}), true), (json!({"error": "no such account"}), false), (json!({"ok": false}), false)] {
        let o = check_with(never.clone(), &rejected(content.clone(), is_error), &rules);
        assert!(o.passed && o.reason.contains("1 attempt(s) the tool rejected"), "{content}: {o:?}");
    }
    // An attempt counts when asked.
    let attempts = chk(json!({"kind": "must-not-call-tool", "tool": "cancel_subscription", "count_failed_attempts": true}));
    assert!(!check_with(attempts, &rejected(json!({"error": "x"}), false), &rules).passed);
    // A project-specific failure shape, by pattern.
    let shaped = rejected(json!({"status": "FAILED", "code": 502}), false);
    assert!(!check_with(never.clone(), &shaped, &rules).passed, "not an error shape by default");
    let rules = ConversationConfig { error_result_pattern: Some(r#""status":"FAILED""#.into()), ..Default::default() };
    assert!(check_with(never, &shaped, &rules).passed);
}

#[test]
fn must_not_call_tool_with_arguments_counts_only_those_calls() {
    let conv = tuesday(); // cancel_subscription({"account_id": "A-1", "reason": "asked"})
    let rules = ConversationConfig::default();
    let wrong_account = chk(json!({"kind": "must-not-call-tool", "tool": "cancel_subscription", "arguments": {"account_id": "A-2"}}));
    let o = check_with(wrong_account, &conv, &rules);
    assert!(o.passed && o.reason.contains("not called with"), "{o:?}");
    let this_account = chk(json!({"kind": "must-not-call-tool", "tool": "cancel_subscription", "arguments": {"account_id": "A-1"}}));
    assert!(!check_with(this_account, &conv, &rules).passed);
}

#[test]
fn escalation_through_a_tool_counts_when_configured_and_it_took_effect() {
    let mut conv = tuesday();
    conv.turns.truncate(2);
    conv.turns[1] = call("handoff_to_human", json!({"reason": "asked"}));
    conv.turns.push(result("handoff_to_human", json!({"ok": true, "queue": "billing"})));
    let plain = ConversationConfig::default();
    let tools = ConversationConfig { escalation_tools: vec!["handoff_to_human".into(), "transfer".into()], ..Default::default() };
    assert!(!check_with(Check::MustEscalate {}, &conv, &plain).passed, "without configuration a tool is just a tool");
    let o = check_with(Check::MustEscalate {}, &conv, &tools);
    assert!(o.passed && o.turn == Some(1) && o.reason.contains("through `handoff_to_human`"), "{o:?}");
    assert!(!check_with(Check::MustNotEscalate {}, &conv, &tools).passed);
    // A hand-off the tool rejected did not hand anyone off.
    conv.turns[2] = result("handoff_to_human", json!({"error": "no agents online"}));
    assert!(!check_with(Check::MustEscalate {}, &conv, &tools).passed);
}

#[test]
fn world_state_checks_where_the_replay_left_the_world() {
    use ratchet::gate::world::WorldTrace;
    let conv = tuesday();
    let mut w = WorldTrace::new(json!({"accounts": {"A-1": {"status": "active"}}, "refunds": []}));
    w.advance(3, "cancel_subscription", json!({"accounts": {"A-1": {"status": "cancelled"}}, "refunds": []}));
    let rules = ConversationConfig::default();
    let plugins = AssertionPlugins::new();
    let ctx = Context { plugins: &plugins, rules: &rules, world: Some(&w) };
    let eval = |v: serde_json::Value| evaluate(&Criterion { id: "w".into(), why: None, check: chk(v) }, &conv, &ctx).unwrap();
    let o = eval(json!({"kind": "world-state", "path": "/accounts/A-1/status", "unchanged": true}));
    assert!(!o.passed && o.turn == Some(3), "{o:?}");
    assert!(o.reason.contains(r#"changed from "active" to "cancelled" (changed by `cancel_subscription` at turn 3)"#), "{}", o.reason);
    assert!(eval(json!({"kind": "world-state", "path": "/accounts/A-1/status", "equals": "cancelled"})).passed);
    assert!(!eval(json!({"kind": "world-state", "path": "/accounts/A-1/status", "equals": "active"})).passed);
    assert!(eval(json!({"kind": "world-state", "path": "/refunds", "unchanged": true})).passed);
    assert!(eval(json!({"kind": "world-state", "path": "/accounts/A-9", "absent": true})).passed);
    assert!(!eval(json!({"kind": "world-state", "path": "/accounts/A-1", "absent": true})).passed);
    // Without a world it is an evaluation error, never a silent pass.
    let c = Criterion { id: "w".into(), why: None, check: chk(json!({"kind": "world-state", "path": "/refunds", "unchanged": true})) };
    assert!(evaluate(&c, &conv, &Context::new(&plugins, &rules)).is_err());
}

/// Golden lists: the default `expected_escalation_pattern` matches every line that
/// asks for a human and none of the look-alikes.
#[test]
fn the_human_request_rule_matches_requests_not_words() {
    let re = regex::Regex::new(&ratchet::config::DetectConfig::default().expected_escalation_pattern).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/human-request");
    for (file, want) in [("asks-for-a-human.txt", true), ("does-not-ask.txt", false)] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let lines: Vec<&str> = text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        assert!(lines.len() >= 10, "{file}");
        for line in lines {
            assert_eq!(re.is_match(line), want, "{file}: {line:?}");
        }
    }
}

#[test]
fn shards_partition_the_suite_and_balance_durations() {
    let ids: Vec<String> = (0..103).map(|i| format!("s{i:03}")).collect();
    let durations: BTreeMap<String, u64> = ids.iter().enumerate().map(|(i, id)| (id.clone(), (i as u64 % 7 + 1) * 100)).collect();
    let n = 4;
    let shards: Vec<Vec<String>> = (1..=n).map(|i| shard(&ids, &durations, Shard { index: i, count: n })).collect();
    let mut all: Vec<String> = shards.iter().flatten().cloned().collect();
    all.sort();
    assert_eq!(all, ids, "no overlap, no gap");
    let loads: Vec<u64> = shards.iter().map(|s| s.iter().map(|id| durations[id]).sum()).collect();
    let (min, max) = (*loads.iter().min().unwrap(), *loads.iter().max().unwrap());
    assert!(max - min <= 700, "unbalanced: {loads:?}");
    // Deterministic.
    assert_eq!(shards[1], shard(&ids, &durations, Shard { index: 2, count: n }));
    assert!("0/3".parse::<Shard>().is_err() && "4/3".parse::<Shard>().is_err() && "x".parse::<Shard>().is_err());
}
