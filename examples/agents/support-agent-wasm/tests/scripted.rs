//! The Rust logic, run natively over the scripted cases in
//! `examples/agents/support_agent_cases.json`. The Python agent's test
//! (`examples/agents/test_support_agent.py`) plays the same cases over the
//! JSON-lines protocol: both forms must take exactly these actions.

use std::path::Path;

use ratchet_sdk::json::canonical_string;
use ratchet_sdk::{json, Action, Agent, AgentState, Channel, MemoryEntry, Role, ToolCall, ToolRef, ToolResult, Turn, Value};
use support_agent::{SupportAgent, TOOL_VERSIONS};

fn cases() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../support_agent_cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

/// The recorded result for a call, as the gate answers it: matched on tool
/// name and canonical arguments; no match → the default error result.
fn answer(case: &Value, call: &ToolCall) -> (Value, bool) {
    let recorded = case["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == call.name.as_str() && canonical_string(&t["arguments"]) == canonical_string(&call.arguments));
    match recorded {
        Some(t) => (t["result"].clone(), t["is_error"].as_bool().unwrap_or(false)),
        None => (json!({"error": "no recorded fixture for this call"}), true),
    }
}

/// Appends `turn`, numbering it.
fn push(transcript: &mut Vec<Turn>, mut turn: Turn) {
    turn.index = transcript.len() as u32;
    transcript.push(turn);
}

/// Plays one case against one prompt version, like the gate's wasm driver
/// would: customer lines in, actions compared with the expected ones.
fn play(case: &Value, version: &str) -> Result<(), String> {
    let state = AgentState {
        memory_snapshot: serde_json::from_value::<Vec<MemoryEntry>>(case["memory"].clone()).unwrap(),
        tool_registry: TOOL_VERSIONS.iter().map(|(id, v)| ToolRef { id: id.to_string(), version: v.to_string() }).collect(),
        // What production ran when the failure was captured: must not matter.
        prompt_version: Some("support-v1".into()),
        ..AgentState::default()
    };
    let config = json!({"prompt_version": version});
    let mut transcript: Vec<Turn> = Vec::new();
    let steps = case["conversation"].as_array().unwrap();
    for (i, step) in steps.iter().enumerate() {
        if let Some(text) = step["customer"].as_str() {
            push(&mut transcript, Turn::new(0, Role::Customer, text));
            continue;
        }
        let action = SupportAgent::next(&state, Channel::Voice, &transcript, &config).map_err(|e| format!("step {i}: agent error: {e}"))?;
        match (action, step) {
            (Action::CallTool(call), _) if step["call"] == call.name.as_str() && step["arguments"] == call.arguments => {
                let (content, is_error) = answer(case, &call);
                let mut turn = Turn::new(0, Role::Agent, "");
                let result = ToolResult { call_id: call.id.clone(), name: call.name.clone(), content: content.into(), is_error };
                turn.tool_calls.push(call);
                push(&mut transcript, turn);
                let mut turn = Turn::new(0, Role::Tool, "");
                turn.tool_result = Some(result);
                push(&mut transcript, turn);
            }
            (Action::Reply(text), _) if step["reply"] == text.as_str() => push(&mut transcript, Turn::new(0, Role::Agent, text)),
            (Action::Escalate(reason), _) if step["escalate"] == reason.as_str() => {
                if i + 1 != steps.len() {
                    return Err(format!("step {i}: the agent escalated (which ends the session) but the case goes on"));
                }
            }
            (action, step) => return Err(format!("step {i}: expected {step}, the agent did {action:?}")),
        }
    }
    let last = steps.last().ok_or("empty case")?;
    if last.get("reply").is_none() && last.get("escalate").is_none() {
        return Err("a case must end with the agent's reply or escalation".into());
    }
    Ok(())
}

#[test]
fn scripted_cases_take_the_expected_actions() {
    let mut failures = Vec::new();
    let mut played = 0;
    for case in cases() {
        for version in case["prompt_versions"].as_array().unwrap() {
            let version = version.as_str().unwrap();
            played += 1;
            if let Err(e) = play(&case, version) {
                failures.push(format!("{} [{version}]: {e}", case["name"].as_str().unwrap()));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {played} case runs failed:\n{}", failures.len(), failures.join("\n"));
    assert!(played >= 20, "only {played} case runs");
}

#[test]
fn every_version_is_covered_by_the_cases() {
    for version in ["support-v1", "support-v2", "support-v3"] {
        let n = cases().iter().filter(|c| c["prompt_versions"].as_array().unwrap().iter().any(|v| v == version)).count();
        assert!(n >= 8, "{version}: only {n} cases");
    }
}
