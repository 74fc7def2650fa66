//! Built-in criteria on hand-built transcripts: each kind passes when it should,
//! fails when it should, and names the turn.

use std::collections::BTreeMap;

use ratchet::gate::criteria::{evaluate, subset, AssertionPlugins};
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
    }
}

fn check(c: Check, conv: &Conversation) -> ratchet::gate::criteria::CriterionOutcome {
    evaluate(&Criterion { id: "c".into(), why: None, check: c }, conv, &AssertionPlugins::new()).unwrap()
}

#[test]
fn must_not_call_tool_unless_condition() {
    let conv = tuesday();
    let by_result = Condition { state: None, tool_result: Some("lookup_account".into()), field: Some("subscription_status".into()), equals: json!("active") };
    let o = check(Check::MustNotCallTool { tool: "cancel_subscription".into(), unless: Some(by_result.clone()) }, &conv);
    assert!(!o.passed);
    assert_eq!(o.turn, Some(3));
    assert!(o.reason.contains("\"none\"") && o.reason.contains("\"active\""), "{}", o.reason);
    // By state key.
    let by_state = Condition { state: Some("account.subscription_status".into()), tool_result: None, field: None, equals: json!("active") };
    assert!(!check(Check::MustNotCallTool { tool: "cancel_subscription".into(), unless: Some(by_state) }, &conv).passed);
    // When the lookup shows an active subscription, the same call is allowed.
    let mut ok = tuesday();
    ok.turns[2] = result("lookup_account", json!({"subscription_status": "active"}));
    assert!(check(Check::MustNotCallTool { tool: "cancel_subscription".into(), unless: Some(by_result) }, &ok).passed);
    // Unconditional.
    assert!(!check(Check::MustNotCallTool { tool: "cancel_subscription".into(), unless: None }, &conv).passed);
    assert!(check(Check::MustNotCallTool { tool: "issue_refund".into(), unless: None }, &conv).passed);
}

#[test]
fn must_call_tool_with_argument_subset_and_deadline() {
    let conv = tuesday();
    assert!(check(Check::MustCallTool { tool: "cancel_subscription".into(), arguments: Some(json!({"account_id": "A-1"})), within_turns: None }, &conv).passed);
    let wrong = check(Check::MustCallTool { tool: "cancel_subscription".into(), arguments: Some(json!({"account_id": "A-2"})), within_turns: None }, &conv);
    assert!(!wrong.passed && wrong.turn == Some(3), "{wrong:?}");
    assert!(check(Check::MustCallTool { tool: "cancel_subscription".into(), arguments: None, within_turns: Some(1) }, &conv).passed);
    let never = check(Check::MustCallTool { tool: "escalate".into(), arguments: None, within_turns: None }, &conv);
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
    assert!(evaluate(&c, &tuesday(), &AssertionPlugins::new()).is_err());
}

#[test]
fn argument_subset_matching() {
    assert!(subset(&json!({"a": 1}), &json!({"a": 1.0, "b": 2})));
    assert!(subset(&json!({"a": {"x": [1, 2]}}), &json!({"a": {"x": [1, 2], "y": 0}})));
    assert!(!subset(&json!({"a": {"x": [1]}}), &json!({"a": {"x": [1, 2]}})));
    assert!(!subset(&json!({"c": 1}), &json!({"a": 1})));
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
