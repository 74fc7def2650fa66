//! The simulator against production: `examples/shop/testdata/traffic.jsonl` is one run of
//! every task of the example shop under both agent versions, as
//! `examples/shop/generate.py --runs 1` writes it (examples/shop/test_generate.py
//! checks the file is up to date), its tool calls answered by the production
//! backend (`examples/shop/shop_backend.py`). Seeded from each conversation, the
//! simulator must answer every recorded call as production did, changes
//! included, apart from the ids it hands out (`R-SIM-1`...). Transient errors are
//! skipped: production injected them and they changed nothing.

use std::path::Path;

use ratchet_sdk::serde_json::Map;
use ratchet_sdk::{json, Conversation, Observed, Simulator, ToolRequest, Value};
use simulator_orders::Orders;

/// `value` with the ids production and the simulator hand out blanked.
fn without_ids(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = if matches!(k.as_str(), "return_id" | "refund_id" | "ticket") { json!("<id>") } else { without_ids(v) };
                    (k.clone(), v)
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_ids).collect()),
        other => other.clone(),
    }
}

#[test]
fn answers_every_recorded_call_as_production_did() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop/testdata/traffic.jsonl");
    let text = std::fs::read_to_string(&path).expect("the traffic file");
    let (mut conversations, mut calls, mut changes) = (0, 0, 0);
    for line in text.lines() {
        let c = Conversation::from_json(line).expect("a canonical conversation");
        conversations += 1;
        let observed: Vec<Observed> = c
            .tool_calls()
            .filter_map(|(_, call)| {
                let r = c.tool_result_for(&call.id)?;
                Some(Observed {
                    request: ToolRequest::new(call.name.clone(), call.arguments.as_value().clone()),
                    result: r.content.as_value().clone(),
                    is_error: r.is_error,
                })
            })
            .collect();
        let mut world = Orders::seed(&observed, &json!({})).expect("seed");
        for o in &observed {
            if o.is_error && o.result.get("retryable") == Some(&json!(true)) {
                continue;
            }
            let sim = Orders::call(&world, &o.request, &json!({}))
                .expect("call")
                .unwrap_or_else(|| panic!("{}: {} {} is not modelled", c.id, o.request.tool, o.request.arguments));
            assert_eq!((sim.is_error, without_ids(&sim.result)), (o.is_error, without_ids(&o.result)), "{}: {} {}", c.id, o.request.tool, o.request.arguments);
            if sim.world["orders"] != world["orders"] {
                changes += 1;
            }
            calls += 1;
            world = sim.world;
        }
    }
    assert_eq!(conversations, 50, "25 tasks x 2 versions");
    assert!(calls > 100 && changes > 20, "{calls} calls, {changes} changes");
}
