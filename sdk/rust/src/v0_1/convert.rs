//! Conversions between the generated WIT types of `ratchet:plugin@0.1.x` and
//! the SDK's idiomatic types. Strings are moved, not copied. JSON text from the
//! host is kept as text and parsed on first access ([`Json`]); JSON values sent
//! to the host are written canonically.

use std::collections::BTreeMap;

use super::wit::{asserter, converter, responder, scorer, types};
use crate::json::{canonical_string, Json};
use crate::{agent, model, results};

// ---- host -> SDK -----------------------------------------------------------

/// Converts a conversation received from the host.
pub(crate) fn conversation_from_wit(c: types::Conversation) -> model::Conversation {
    model::Conversation {
        schema_version: model::SCHEMA_VERSION,
        id: c.id,
        channel: channel_from_wit(c.channel),
        started_at: c.started_at,
        turns: turns_from_wit(c.turns),
        outcome: model::Outcome {
            escalated: c.outcome.escalated,
            complaint: c.outcome.complaint,
            compliance_flags: c.outcome.compliance_flags,
            ended_reason: c.outcome.ended_reason,
        },
        impact: model::Impact {
            revenue_at_risk: c.impact.revenue_at_risk,
            refund_amount: c.impact.refund_amount,
            compliance_exposure: c.impact.compliance_exposure,
            escalation_cost: c.impact.escalation_cost,
            currency: c.impact.currency,
        },
        state: agent_state_from_wit(c.state),
        // Not in the 0.1 record: the glue fills them from `labels.get`.
        labels: Default::default(),
    }
}

pub(crate) fn channel_from_wit(c: types::Channel) -> model::Channel {
    match c {
        types::Channel::Chat => model::Channel::Chat,
        types::Channel::Voice => model::Channel::Voice,
    }
}

/// Converts an agent state snapshot received from the host (a conversation's
/// `state`, or an agent's input).
pub(crate) fn agent_state_from_wit(s: types::AgentState) -> model::AgentState {
    model::AgentState {
        memory_snapshot: s.memory_snapshot.into_iter().map(|e| model::MemoryEntry { value: Json::lazy(e.value), key: e.key }).collect(),
        kb_version_hash: s.kb_version_hash,
        tool_registry: s.tool_registry.into_iter().map(|t| model::ToolRef { id: t.id, version: t.version }).collect(),
        prompt_version: s.prompt_version,
        model: s.model,
        routing: model::RoutingContext {
            time_of_day: s.routing.time_of_day,
            locale: s.routing.locale,
            queue: s.routing.queue,
            extra: s.routing.extra.into_iter().map(|kv| (kv.key, kv.value)).collect::<BTreeMap<_, _>>(),
        },
    }
}

/// Converts turns received from the host (a conversation's, or an agent's
/// transcript).
pub(crate) fn turns_from_wit(turns: Vec<types::Turn>) -> Vec<model::Turn> {
    turns.into_iter().map(turn_from_wit).collect()
}

fn turn_from_wit(t: types::Turn) -> model::Turn {
    let tool_calls = t.tool_calls.into_iter().map(|c| model::ToolCall { arguments: Json::lazy(c.arguments), id: c.id, name: c.name }).collect();
    let tool_result = t.tool_result.map(|r| model::ToolResult { content: Json::lazy(r.content), call_id: r.call_id, name: r.name, is_error: r.is_error });
    model::Turn {
        // The host numbers turns by position; keep what it sent.
        index: t.index,
        role: match t.role {
            types::Role::Customer => model::Role::Customer,
            types::Role::Agent => model::Role::Agent,
            types::Role::Tool => model::Role::Tool,
            types::Role::System => model::Role::System,
        },
        text: t.text,
        tool_calls,
        tool_result,
        offset_ms: t.offset_ms,
        latency_ms: t.latency_ms,
    }
}

// ---- SDK -> host -----------------------------------------------------------

/// Converts an SDK conversation for the host (adapters). Turn indices are
/// the turns' positions, whatever `index` says.
pub(crate) fn conversation_to_wit(c: model::Conversation) -> types::Conversation {
    types::Conversation {
        id: c.id,
        channel: channel_to_wit(c.channel),
        started_at: c.started_at,
        turns: turns_to_wit(c.turns),
        outcome: types::Outcome {
            escalated: c.outcome.escalated,
            complaint: c.outcome.complaint,
            compliance_flags: c.outcome.compliance_flags,
            ended_reason: c.outcome.ended_reason,
        },
        impact: types::Impact {
            revenue_at_risk: c.impact.revenue_at_risk,
            refund_amount: c.impact.refund_amount,
            compliance_exposure: c.impact.compliance_exposure,
            escalation_cost: c.impact.escalation_cost,
            currency: c.impact.currency,
        },
        state: agent_state_to_wit(c.state),
    }
}

pub(crate) fn channel_to_wit(c: model::Channel) -> types::Channel {
    match c {
        model::Channel::Chat => types::Channel::Chat,
        model::Channel::Voice => types::Channel::Voice,
    }
}

/// Turns for the host; indices are the turns' positions.
pub(crate) fn turns_to_wit(turns: Vec<model::Turn>) -> Vec<types::Turn> {
    turns
        .into_iter()
        .enumerate()
        .map(|(i, t)| types::Turn {
            index: i as u32,
            role: match t.role {
                model::Role::Customer => types::Role::Customer,
                model::Role::Agent => types::Role::Agent,
                model::Role::Tool => types::Role::Tool,
                model::Role::System => types::Role::System,
            },
            text: t.text,
            tool_calls: t.tool_calls.into_iter().map(tool_call_to_wit).collect(),
            tool_result: t.tool_result.map(|r| types::ToolResult {
                call_id: r.call_id,
                name: r.name,
                content: canonical_string(&r.content),
                is_error: r.is_error,
            }),
            offset_ms: t.offset_ms,
            latency_ms: t.latency_ms,
        })
        .collect()
}

pub(crate) fn tool_call_to_wit(c: model::ToolCall) -> types::ToolCall {
    types::ToolCall { id: c.id, name: c.name, arguments: canonical_string(&c.arguments) }
}

pub(crate) fn agent_state_to_wit(s: model::AgentState) -> types::AgentState {
    types::AgentState {
        memory_snapshot: s.memory_snapshot.into_iter().map(|e| types::MemoryEntry { key: e.key, value: canonical_string(&e.value) }).collect(),
        kb_version_hash: s.kb_version_hash,
        tool_registry: s.tool_registry.into_iter().map(|t| types::ToolRef { id: t.id, version: t.version }).collect(),
        prompt_version: s.prompt_version,
        model: s.model,
        routing: types::RoutingContext {
            time_of_day: s.routing.time_of_day,
            locale: s.routing.locale,
            queue: s.routing.queue,
            // BTreeMap iterates in key order: the sorted list WIT asks for.
            extra: s.routing.extra.into_iter().map(|(key, value)| types::KeyValue { key, value }).collect(),
        },
    }
}

pub(crate) fn plugin_info_to_wit(i: results::PluginInfo) -> types::PluginInfo {
    types::PluginInfo { name: i.name, version: i.version, description: i.description }
}

pub(crate) fn scorecard_result_to_wit(r: results::ScorecardResult) -> scorer::ScorecardResult {
    scorer::ScorecardResult {
        score: r.score,
        criteria: r
            .criteria
            .into_iter()
            .map(|c| scorer::CriterionResult { name: c.name, score: c.score, passed: c.passed, reason: c.reason, turn: c.turn })
            .collect(),
        flags: r.flags,
        failure_mode: r.failure_mode,
        suggested_criteria: r
            .suggested_criteria
            .into_iter()
            .map(|s| scorer::SuggestedCriterion { kind: s.kind, params: canonical_string(&s.params), reason: s.reason })
            .collect(),
    }
}

pub(crate) fn verdict_to_wit(v: results::Verdict) -> asserter::Verdict {
    asserter::Verdict { passed: v.passed, reason: v.reason, turn: v.turn }
}

/// An agent's action for the host; tool-call arguments are sent canonically.
pub(crate) fn action_to_wit(a: agent::Action) -> responder::Action {
    match a {
        agent::Action::Reply(text) => responder::Action::Reply(text),
        agent::Action::CallTool(call) => responder::Action::CallTool(tool_call_to_wit(call)),
        agent::Action::Escalate(reason) => responder::Action::Escalate(reason),
    }
}

pub(crate) fn converted_to_wit(c: results::Converted) -> converter::Converted {
    converter::Converted { conversation: conversation_to_wit(c.conversation), missing: c.missing }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
        "schema_version": 1, "id": "c-1", "channel": "voice", "started_at": "2026-01-06T09:12:00Z",
        "turns": [
            {"role": "customer", "text": "Cancel please"},
            {"role": "agent", "text": "", "tool_calls": [{"id": "t1", "name": "lookup_account", "arguments": {"b": 2, "a": 1}}], "latency_ms": 800},
            {"role": "tool", "tool_result": {"call_id": "t1", "name": "lookup_account", "content": {"subscription_status": "none"}, "is_error": false}, "offset_ms": 1200}
        ],
        "outcome": {"escalated": false, "complaint": true, "compliance_flags": ["x"], "ended_reason": "hangup"},
        "impact": {"revenue_at_risk": 12.5, "refund_amount": 0, "compliance_exposure": 1, "escalation_cost": 0, "currency": "USD"},
        "state": {"memory_snapshot": [{"key": "account.tier", "value": {"z": 1, "y": [true]}}],
                  "kb_version_hash": "kb1", "tool_registry": [{"id": "lookup_account", "version": "2"}],
                  "prompt_version": "p7", "model": "m", "routing": {"time_of_day": "09:12", "locale": "en-US", "queue": "billing", "extra": {"b": "2", "a": "1"}}}
    }"#;

    #[test]
    fn round_trip_through_wit_is_lossless() {
        let sdk = model::Conversation::from_json(SAMPLE).unwrap();
        let wit = conversation_to_wit(sdk.clone());
        assert_eq!(wit.turns[1].tool_calls[0].arguments, r#"{"a":1,"b":2}"#);
        assert_eq!(wit.state.routing.extra[0].key, "a");
        assert_eq!(wit.turns[2].index, 2);
        let back = conversation_from_wit(wit);
        assert_eq!(back, sdk);
    }

    #[test]
    fn json_from_the_host_is_parsed_on_first_access_only() {
        let sdk = model::Conversation::from_json(SAMPLE).unwrap();
        let back = conversation_from_wit(conversation_to_wit(sdk));
        let (args, content, memory) =
            (&back.turns[1].tool_calls[0].arguments, &back.turns[2].tool_result.as_ref().unwrap().content, &back.state.memory_snapshot[0].value);
        assert!(!args.is_parsed() && !content.is_parsed() && !memory.is_parsed());
        assert_eq!(content.get("subscription_status"), Some(&serde_json::json!("none")));
        assert!(content.is_parsed() && !args.is_parsed() && !memory.is_parsed());
        assert_eq!(back.memory("account.tier").unwrap()["y"][0], true);
        assert!(memory.is_parsed() && !args.is_parsed());
    }

    #[test]
    #[should_panic(expected = "invalid JSON text from the host")]
    fn invalid_json_from_host_panics_when_read() {
        let sdk = model::Conversation::from_json(SAMPLE).unwrap();
        let mut wit = conversation_to_wit(sdk);
        wit.turns[1].tool_calls[0].arguments = "{oops".into();
        let c = conversation_from_wit(wit);
        c.turns[1].tool_calls[0].arguments.get("a");
    }

    #[test]
    fn agent_inputs_convert_and_actions_are_canonical() {
        let sdk = model::Conversation::from_json(SAMPLE).unwrap();
        let state = agent_state_to_wit(sdk.state.clone());
        assert_eq!(state.memory_snapshot[0].value, r#"{"y":[true],"z":1}"#);
        assert_eq!(agent_state_from_wit(state), sdk.state);
        let turns = turns_to_wit(sdk.turns.clone());
        assert_eq!(turns_from_wit(turns), sdk.turns);
        assert_eq!(channel_from_wit(channel_to_wit(model::Channel::Voice)), model::Channel::Voice);

        let call = agent::Action::call_tool("call-1", "issue_refund", serde_json::json!({"amount": 49.0, "account_id": "A-1"}));
        match action_to_wit(call) {
            responder::Action::CallTool(c) => {
                assert_eq!((c.id.as_str(), c.name.as_str()), ("call-1", "issue_refund"));
                assert_eq!(c.arguments, r#"{"account_id":"A-1","amount":49.0}"#);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(action_to_wit(agent::Action::reply("hi")), responder::Action::Reply(t) if t == "hi"));
        assert!(matches!(action_to_wit(agent::Action::escalate("asked")), responder::Action::Escalate(r) if r == "asked"));
    }

    #[test]
    fn suggested_params_are_canonical() {
        let mut r = results::ScorecardResult::from_criteria(vec![]);
        r.suggested_criteria.push(results::SuggestedCriterion::new("must-say", serde_json::json!({"within_turns": 3, "pattern": "x"}), "why"));
        let w = scorecard_result_to_wit(r);
        assert_eq!(w.suggested_criteria[0].params, r#"{"pattern":"x","within_turns":3}"#);
    }
}
