//! # %%NAME%%
//!
//! A ratchet tool simulator: answers an agent's tool calls from a JSON world during
//! `ratchet gate` replay (when no recorded fixture matches), and reconstructs that
//! world from a recorded conversation's calls at `ratchet regenerate`. The example
//! is an order backend:
//!
//! ```json
//! {"orders": {"O-1001": {"order_id": "O-1001", "status": "open", "total": 49.0}}}
//! ```
//!
//! * `seed`: each order as the first successful `get_order` of it returned it;
//! * `get_order` (`order_id`): the order, or an error result;
//! * `cancel_order` (`order_id`): an `open` order becomes `cancelled`; any other
//!   status is an error result and changes nothing;
//! * any other tool: not modelled (`None`), the gate's missing-fixture policy applies.
//!
//! Pure functions over JSON: the world comes in whole and goes out whole.

use ratchet_sdk::{json, Observed, PluginInfo, Simulated, Simulator, ToolRequest, Value};

/// The plugin (all state is in the world).
pub struct %%TYPE%%;

impl Simulator for %%TYPE%% {
    fn info() -> PluginInfo {
        PluginInfo::new("%%NAME%%", env!("CARGO_PKG_VERSION"), "An order backend: get_order and cancel_order")
    }

    fn seed(observed: &[Observed], _params: &Value) -> Result<Value, String> {
        let mut orders = ratchet_sdk::serde_json::Map::new();
        for o in observed.iter().filter(|o| o.request.tool == "get_order" && !o.is_error) {
            if let Some(id) = o.result.get("order_id").and_then(Value::as_str) {
                // The first answer is the state before the conversation changed anything.
                orders.entry(id.to_string()).or_insert_with(|| o.result.clone());
            }
        }
        Ok(json!({ "orders": orders }))
    }

    fn call(world: &Value, request: &ToolRequest, _params: &Value) -> Result<Option<Simulated>, String> {
        let orders = world.get("orders").and_then(Value::as_object).ok_or("the world has no `orders` object")?;
        let id = request.arg_str("order_id").unwrap_or_default();
        Ok(match (request.tool.as_str(), orders.get(id)) {
            ("get_order" | "cancel_order", None) => Some(Simulated::error(json!({"error": format!("no order {id}")}), world.clone())),
            ("get_order", Some(order)) => Some(Simulated::ok(order.clone(), world.clone())),
            ("cancel_order", Some(order)) => match order["status"].as_str().unwrap_or("unknown") {
                "open" => {
                    let mut after = world.clone();
                    after["orders"][id]["status"] = json!("cancelled");
                    Some(Simulated::ok(json!({"ok": true}), after))
                }
                // A rejected call changes nothing.
                status => Some(Simulated::error(json!({"error": format!("order {id} is {status}: it cannot be cancelled")}), world.clone())),
            },
            _ => None, // not modelled: the gate applies its missing-fixture policy
        })
    }
}

ratchet_sdk::export_simulator!(%%TYPE%%);
