//! Tool simulator for the example shop domain (`examples/shop`): the order
//! system the shop agent's tools talk to, as a pure function over a JSON world,
//! with the production semantics of `examples/shop/shop_backend.py`.
//!
//! The world:
//! ```json
//! {"orders": {"O-44120": {"order_id": "O-44120", "email": "[EMAIL_1]", "placed_at": "2026-11-22",
//!                         "status": "delivered", "total": 112.99, "refunded_total": 0.0,
//!                         "items": [{"sku": "TST-3302", "name": "Toaster", "qty": 1, "unit_price": 34.99}],
//!                         "returned": {"TST-3302": 0}, "returns": [], "refunds": [],
//!                         "shipment": {...}, "return_window_ends": "2026-12-26",
//!                         "seen": "list"}},
//!  "customers": {"[EMAIL_1]": {"order_ids": ["O-44120"], "listed": true}},
//!  "handoffs": []}
//! ```
//! Outcome criteria point into it: `/orders/O-44120/status`,
//! `/orders/O-44120/refunded_total`, `/orders/O-44120/returned/TST-3302`.
//!
//! **Seed.** The world before the conversation, from what it observed, in order:
//! every order in a successful `list_orders` or `get_order` result, as first seen
//! (a later read may show the conversation's own changes). An order changed by a
//! successful `create_return`, `refund_order` or `cancel_order` before it was first
//! read is left out: its state before the change is unknown. `list_orders` tells
//! which orders an e-mail address has (`listed: true`); `get_order` adds the
//! order's returns, refunds, shipment and return window (`seen: "detail"`).
//!
//! **Calls.** Reads and changes of known orders behave as in production (see
//! `shop_backend.py`); changes are visible to later reads. What the world does not
//! know is not made up: `list_orders` for an address never seen and any call on an
//! order never seen answer `None` (not modelled, so the gate's missing-fixture
//! policy applies and the replay says so), and `get_order` of an order only seen
//! in a list has no `shipment` or `return_window_ends` (never observed).
//! `calculate` evaluates `+ - * /` and parentheses; `handoff_to_human` files a
//! ticket. Ids are numbered in order within their order (`R-SIM-O-44120-1`,
//! `RF-SIM-O-44120-1`; tickets `H-SIM-1`), so a replay is deterministic and a
//! change to one order touches nothing outside it (no world-wide counter that a
//! `world-state` criterion derived from another order's change could trip on).
//! Any other tool: `None`.

#![warn(missing_docs)]

pub mod calc;

use ratchet_sdk::serde_json::Map;
use ratchet_sdk::{json, Observed, Params, PluginInfo, Simulated, Simulator, ToolRequest, Value};

use calc::{calculate, cents};

/// The shop's order system.
pub struct Orders;

/// Tool names.
pub const LIST_ORDERS: &str = "list_orders";
/// See [`LIST_ORDERS`].
pub const GET_ORDER: &str = "get_order";
/// See [`LIST_ORDERS`].
pub const CREATE_RETURN: &str = "create_return";
/// See [`LIST_ORDERS`].
pub const REFUND_ORDER: &str = "refund_order";
/// See [`LIST_ORDERS`].
pub const CANCEL_ORDER: &str = "cancel_order";
/// See [`LIST_ORDERS`].
pub const CALCULATE: &str = "calculate";
/// See [`LIST_ORDERS`].
pub const HANDOFF: &str = "handoff_to_human";

/// Fields of an order as `list_orders` shows it, besides `items`.
const SUMMARY_FIELDS: [&str; 6] = ["order_id", "email", "placed_at", "status", "total", "refunded_total"];
/// Fields only `get_order` shows, kept when observed.
const DETAIL_ONLY: [&str; 2] = ["shipment", "return_window_ends"];

fn empty_world() -> Value {
    json!({"orders": {}, "customers": {}, "handoffs": []})
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// An order record of the world from an observed `list_orders` summary or
/// `get_order` detail (`None` when it has no order id).
fn record(observed: &Value, detail: bool) -> Option<Value> {
    let obj = observed.as_object()?;
    obj.get("order_id")?.as_str()?;
    let mut o = Map::new();
    for key in SUMMARY_FIELDS {
        o.insert(key.into(), obj.get(key).cloned().unwrap_or(Value::Null));
    }
    let mut items = Vec::new();
    let mut returned = Map::new();
    for it in obj.get("items").and_then(Value::as_array).into_iter().flatten() {
        let Some(sku) = it.get("sku").and_then(Value::as_str) else { continue };
        let mut line = it.as_object().cloned().unwrap_or_default();
        let n = line.remove("returned_qty").and_then(|q| q.as_u64()).unwrap_or(0);
        returned.insert(sku.into(), json!(n));
        items.push(Value::Object(line));
    }
    o.insert("items".into(), Value::Array(items));
    o.insert("returned".into(), Value::Object(returned));
    o.insert("returns".into(), obj.get("returns").filter(|_| detail).cloned().unwrap_or(json!([])));
    o.insert("refunds".into(), obj.get("refunds").filter(|_| detail).cloned().unwrap_or(json!([])));
    if detail {
        for key in DETAIL_ONLY {
            if let Some(v) = obj.get(key) {
                o.insert(key.into(), v.clone());
            }
        }
    }
    o.insert("seen".into(), json!(if detail { "detail" } else { "list" }));
    Some(Value::Object(o))
}

/// The order as `list_orders` shows it.
fn summary(o: &Value) -> Value {
    let mut s = Map::new();
    for key in SUMMARY_FIELDS {
        s.insert(key.into(), o.get(key).cloned().unwrap_or(Value::Null));
    }
    let items = o["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|it| {
            let mut line = it.as_object().cloned().unwrap_or_default();
            let sku = it.get("sku").and_then(Value::as_str).unwrap_or("");
            line.insert("returned_qty".into(), o["returned"].get(sku).cloned().unwrap_or(json!(0)));
            Value::Object(line)
        })
        .collect();
    s.insert("items".into(), Value::Array(items));
    Value::Object(s)
}

/// The order as `get_order` shows it.
fn detail(o: &Value) -> Value {
    let mut d = summary(o);
    let m = d.as_object_mut().expect("an object");
    m.insert("returns".into(), o.get("returns").cloned().unwrap_or(json!([])));
    m.insert("refunds".into(), o.get("refunds").cloned().unwrap_or(json!([])));
    for key in DETAIL_ONLY {
        if let Some(v) = o.get(key) {
            m.insert(key.into(), v.clone());
        }
    }
    d
}

/// The world's object at `key`, created if missing.
fn object_at<'w>(world: &'w mut Value, key: &str) -> Result<&'w mut Map<String, Value>, String> {
    world
        .as_object_mut()
        .ok_or("the world is not an object")?
        .entry(key)
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| format!("world.{key} is not an object"))
}

/// The next id of a list: `<prefix>-<n>` for its n-th entry. Ids are numbered
/// per order (`R-SIM-O-44120-1`), not by a counter of the whole world, so a
/// change to one order leaves no trace anywhere else in the world.
fn next_id(prefix: &str, list: &Value) -> String {
    format!("{prefix}-{}", list.as_array().map_or(0, Vec::len) + 1)
}

/// Remembers that `email` has `order_id` (and, from a list, exactly `ids`).
fn note_customer(world: &mut Value, email: &str, ids: &[String], listed: bool) -> Result<(), String> {
    let customers = object_at(world, "customers")?;
    let entry = customers.entry(email).or_insert_with(|| json!({"order_ids": [], "listed": false}));
    let known: Vec<String> = entry["order_ids"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect();
    if listed && entry["listed"] != json!(true) {
        let mut all: Vec<String> = ids.to_vec();
        all.extend(known.into_iter().filter(|k| !ids.contains(k)));
        entry["order_ids"] = json!(all);
        entry["listed"] = json!(true);
    } else {
        let mut all = known;
        all.extend(ids.iter().filter(|i| !all.contains(i)).cloned().collect::<Vec<_>>());
        entry["order_ids"] = json!(all);
    }
    Ok(())
}

fn error(message: String, world: &Value) -> Option<Simulated> {
    Some(Simulated::error(json!({"error": message}), world.clone()))
}

impl Simulator for Orders {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "simulator-orders",
            env!("CARGO_PKG_VERSION"),
            "The example shop's order system: orders, returns, refunds, cancellations, a calculator, hand-offs",
        )
    }

    fn seed(observed: &[Observed], params: &Value) -> Result<Value, String> {
        check_params(params)?;
        let mut world = empty_world();
        let mut changed: Vec<String> = Vec::new(); // orders changed before they were first read
        for o in observed.iter().filter(|o| !o.is_error) {
            match o.request.tool.as_str() {
                LIST_ORDERS => {
                    let Some(list) = o.result.get("orders").and_then(Value::as_array) else { continue };
                    let mut ids = Vec::new();
                    for summary in list {
                        let Some(rec) = record(summary, false) else { continue };
                        let id = rec["order_id"].as_str().unwrap_or_default().to_string();
                        ids.push(id.clone());
                        let orders = object_at(&mut world, "orders")?;
                        if !changed.contains(&id) && !orders.contains_key(&id) {
                            orders.insert(id, rec);
                        }
                    }
                    if let Some(email) = o.request.arg_str("email") {
                        note_customer(&mut world, email, &ids, true)?;
                    }
                }
                GET_ORDER => {
                    let Some(rec) = record(&o.result, true) else { continue };
                    let id = rec["order_id"].as_str().unwrap_or_default().to_string();
                    if changed.contains(&id) {
                        continue;
                    }
                    let email = rec["email"].as_str().map(str::to_string);
                    let orders = object_at(&mut world, "orders")?;
                    match orders.get_mut(&id) {
                        None => {
                            orders.insert(id.clone(), rec);
                        }
                        Some(known) if known["seen"] == json!("list") => {
                            // First detail of an order seen in a list, still unchanged.
                            for key in ["returns", "refunds"].into_iter().chain(DETAIL_ONLY) {
                                if let Some(v) = rec.get(key) {
                                    known[key] = v.clone();
                                }
                            }
                            known["seen"] = json!("detail");
                        }
                        Some(_) => {}
                    }
                    if let Some(email) = email {
                        note_customer(&mut world, &email, &[id], false)?;
                    }
                }
                CREATE_RETURN | REFUND_ORDER | CANCEL_ORDER => {
                    if let Some(id) = o.request.arg_str("order_id") {
                        if !changed.iter().any(|c| c == id) {
                            changed.push(id.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(world)
    }

    fn call(world: &Value, request: &ToolRequest, params: &Value) -> Result<Option<Simulated>, String> {
        check_params(params)?;
        if !world.get("orders").is_some_and(Value::is_object) {
            return Err("the world has no `orders` object".into());
        }
        let args = &request.arguments;
        match request.tool.as_str() {
            LIST_ORDERS => Ok(list_orders(world, args)),
            CALCULATE => Ok(Some(match args.get("expression").and_then(Value::as_str) {
                Some(e) => match calculate(e) {
                    Ok(v) => Simulated::ok(json!(v), world.clone()),
                    Err(err) => Simulated::error(json!({"error": format!("cannot evaluate: {err}")}), world.clone()),
                },
                None => Simulated::error(json!({"error": format!("cannot evaluate: {}", calc::CalcError::TooLong)}), world.clone()),
            })),
            HANDOFF => {
                let mut after = world.clone();
                let ticket = next_id("H-SIM", &world["handoffs"]);
                let handoffs = after.as_object_mut().expect("an object").entry("handoffs").or_insert_with(|| json!([]));
                handoffs
                    .as_array_mut()
                    .ok_or("world.handoffs is not a list")?
                    .push(json!({"ticket": ticket, "reason": args.get("reason").cloned().unwrap_or(Value::Null)}));
                Ok(Some(Simulated::ok(json!({"ok": true, "ticket": ticket, "queue": "customer-care", "estimated_wait_minutes": 4}), after)))
            }
            GET_ORDER | CREATE_RETURN | REFUND_ORDER | CANCEL_ORDER => {
                let Some(id) = args.get("order_id").and_then(Value::as_str) else {
                    return Ok(error("order not found".into(), world));
                };
                let Some(order) = world["orders"].get(id) else {
                    return Ok(None); // never observed: not modelled
                };
                Ok(match request.tool.as_str() {
                    GET_ORDER => Some(Simulated::ok(detail(order), world.clone())),
                    CANCEL_ORDER => cancel(world, id, order),
                    REFUND_ORDER => refund(world, id, order, args)?,
                    _ => create_return(world, id, order, args)?,
                })
            }
            _ => Ok(None),
        }
    }
}

fn check_params(params: &Value) -> Result<(), String> {
    let p = Params::new(params)?;
    match params.as_object().and_then(|m| m.keys().min()) {
        Some(k) if p.get(k).is_some() => Err(format!("unknown param `{k}`: simulator-orders takes no params")),
        _ => Ok(()),
    }
}

fn list_orders(world: &Value, args: &Value) -> Option<Simulated> {
    let email = args.get("email").and_then(Value::as_str)?;
    let ids: Vec<&str> = match world.get("customers").and_then(|c| c.get(email)) {
        Some(c) => c["order_ids"].as_array().into_iter().flatten().filter_map(Value::as_str).collect(),
        None => return None, // never observed: not modelled
    };
    let mut orders: Vec<&Value> = ids.iter().filter_map(|id| world["orders"].get(*id)).collect();
    // Newest first, as production lists them (ties: by id, for a stable order).
    orders.sort_by(|a, b| {
        let key = |o: &Value| (o["placed_at"].as_str().unwrap_or("").to_string(), o["order_id"].as_str().unwrap_or("").to_string());
        key(b).cmp(&key(a))
    });
    Some(Simulated::ok(json!({"orders": orders.into_iter().map(summary).collect::<Vec<_>>()}), world.clone()))
}

fn cancel(world: &Value, id: &str, order: &Value) -> Option<Simulated> {
    match order["status"].as_str().unwrap_or("") {
        "cancelled" => return error(format!("order {id} is already cancelled"), world),
        "delivered" => return error(format!("order {id} was delivered: it cannot be cancelled, start a return instead"), world),
        _ => {}
    }
    let refunded = cents(num(&order["total"]) - num(&order["refunded_total"]));
    let mut after = world.clone();
    let o = &mut after["orders"][id];
    o["status"] = json!("cancelled");
    o["refunded_total"] = order["total"].clone();
    Some(Simulated::ok(json!({"ok": true, "order_id": id, "status": "cancelled", "refunded": refunded}), after))
}

fn refund(world: &Value, id: &str, order: &Value, args: &Value) -> Result<Option<Simulated>, String> {
    let amount = match args.get("amount") {
        Some(a @ Value::Number(_)) if num(a) > 0.0 => a.clone(),
        _ => return Ok(error("amount must be a positive number".into(), world)),
    };
    let balance = cents(num(&order["total"]) - num(&order["refunded_total"]));
    if num(&amount) > balance + 1e-9 {
        return Ok(error(format!("amount exceeds the refundable balance of {balance:.2}"), world));
    }
    let mut after = world.clone();
    let refund_id = next_id(&format!("RF-SIM-{id}"), &order["refunds"]);
    let o = &mut after["orders"][id];
    let total = cents(num(&o["refunded_total"]) + num(&amount));
    o["refunded_total"] = json!(total);
    push(o, "refunds", json!({"refund_id": refund_id, "amount": amount}))?;
    Ok(Some(Simulated::ok(json!({"refund_id": refund_id, "order_id": id, "amount": amount, "refunded_total": total}), after)))
}

fn create_return(world: &Value, id: &str, order: &Value, args: &Value) -> Result<Option<Simulated>, String> {
    let status = order["status"].as_str().unwrap_or("");
    if status != "delivered" {
        return Ok(error(format!("order {id} is {status}: returns open once it is delivered"), world));
    }
    let Some(items) = args.get("items").and_then(Value::as_array).filter(|i| !i.is_empty()) else {
        return Ok(error("items must be a non-empty list of {sku, qty}".into(), world));
    };
    let mut lines: Vec<(String, u64)> = Vec::new();
    for it in items {
        let sku = it.get("sku").and_then(Value::as_str);
        let line = order["items"].as_array().into_iter().flatten().find(|l| sku.is_some() && l["sku"].as_str() == sku);
        let Some(line) = line else {
            return Ok(error(format!("item {} is not on order {id}", sku.map_or("None".to_string(), str::to_string)), world));
        };
        let sku = sku.expect("found by sku");
        let Some(qty) = it.get("qty").and_then(Value::as_u64).filter(|q| *q >= 1) else {
            return Ok(error(format!("qty of {sku} must be a positive integer"), world));
        };
        let already = order["returned"].get(sku).and_then(Value::as_u64).unwrap_or(0);
        let pending: u64 = lines.iter().filter(|(s, _)| s == sku).map(|(_, q)| q).sum();
        let left = line["qty"].as_u64().unwrap_or(0).saturating_sub(already + pending);
        if qty > left {
            return Ok(error(format!("cannot return {qty} × {sku}: {left} left to return"), world));
        }
        lines.push((sku.to_string(), qty));
    }
    let mut after = world.clone();
    let return_id = next_id(&format!("R-SIM-{id}"), &order["returns"]);
    let o = &mut after["orders"][id];
    for (sku, qty) in &lines {
        let before = o["returned"].get(sku.as_str()).and_then(Value::as_u64).unwrap_or(0);
        o["returned"][sku.as_str()] = json!(before + qty);
    }
    let returned: Vec<Value> = lines.iter().map(|(s, q)| json!({"sku": s, "qty": q})).collect();
    push(
        o,
        "returns",
        json!({"return_id": return_id, "items": returned, "reason": args.get("reason").cloned().unwrap_or(Value::Null), "status": "label_sent"}),
    )?;
    Ok(Some(Simulated::ok(json!({"return_id": return_id, "order_id": id, "items": returned, "status": "label_sent", "label": "emailed"}), after)))
}

/// Appends to the list `key` of an order (created if missing).
fn push(order: &mut Value, key: &str, item: Value) -> Result<(), String> {
    let list = order.as_object_mut().ok_or("an order is not an object")?.entry(key).or_insert_with(|| json!([]));
    list.as_array_mut().ok_or_else(|| format!("order.{key} is not a list"))?.push(item);
    Ok(())
}

ratchet_sdk::export_simulator!(Orders);

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(email: &str, orders: Value) -> Observed {
        Observed { request: ToolRequest::new(LIST_ORDERS, json!({"email": email})), result: json!({"orders": orders}), is_error: false }
    }

    fn observed(tool: &str, args: Value, result: Value, is_error: bool) -> Observed {
        Observed { request: ToolRequest::new(tool, args), result, is_error }
    }

    fn toaster_order(status: &str) -> Value {
        json!({"order_id": "O-44120", "email": "[EMAIL_1]", "placed_at": "2026-11-22", "status": status,
               "items": [{"sku": "TST-3302", "name": "Toaster", "qty": 1, "unit_price": 34.99, "returned_qty": 0},
                         {"sku": "PLT-4471", "name": "Dinner Plate", "qty": 4, "unit_price": 9.75, "returned_qty": 1}],
               "total": 73.99, "refunded_total": 9.75})
    }

    fn lamp_order() -> Value {
        json!({"order_id": "O-40022", "email": "[EMAIL_1]", "placed_at": "2026-11-27", "status": "processing",
               "items": [{"sku": "LMP-2041", "name": "Desk Lamp", "qty": 1, "unit_price": 45.0, "returned_qty": 0}],
               "total": 45.0, "refunded_total": 0.0})
    }

    fn call(world: &Value, tool: &str, args: Value) -> Option<Simulated> {
        Orders::call(world, &ToolRequest::new(tool, args), &json!({})).unwrap()
    }

    fn ok(world: &Value, tool: &str, args: Value) -> Simulated {
        let s = call(world, tool, args).expect("modelled");
        assert!(!s.is_error, "{tool}: {}", s.result);
        s
    }

    #[test]
    fn seeds_orders_and_answers_reads_the_recording_never_made() {
        let world = Orders::seed(&[listed("[EMAIL_1]", json!([lamp_order(), toaster_order("delivered")]))], &json!({})).unwrap();
        assert_eq!(world["orders"]["O-44120"]["returned"], json!({"TST-3302": 0, "PLT-4471": 1}));
        assert_eq!(world["customers"]["[EMAIL_1]"], json!({"order_ids": ["O-40022", "O-44120"], "listed": true}));
        // The same list, newest first, and a get_order nobody recorded.
        assert_eq!(ok(&world, LIST_ORDERS, json!({"email": "[EMAIL_1]"})).result["orders"][0], lamp_order());
        let d = ok(&world, GET_ORDER, json!({"order_id": "O-44120"})).result;
        assert_eq!((d["returns"].clone(), d["items"][1]["returned_qty"].clone()), (json!([]), json!(1)));
        assert!(d.get("shipment").is_none(), "never observed, not made up");
        // What the world never saw is not modelled.
        assert!(call(&world, LIST_ORDERS, json!({"email": "[EMAIL_2]"})).is_none());
        assert!(call(&world, GET_ORDER, json!({"order_id": "O-99999"})).is_none());
        assert!(call(&world, "track_parcel", json!({})).is_none());
        assert!(call(&world, GET_ORDER, json!({})).unwrap().is_error, "no order id: production says not found");
    }

    #[test]
    fn seed_keeps_the_state_before_the_conversation_changed_it() {
        let mut after = toaster_order("delivered");
        after["refunded_total"] = json!(73.99);
        let world = Orders::seed(
            &[
                observed(GET_ORDER, json!({"order_id": "O-40022"}), json!({"error": "timeout"}), true),
                listed("[EMAIL_1]", json!([toaster_order("delivered")])),
                observed(REFUND_ORDER, json!({"order_id": "O-44120", "amount": 64.24}), json!({"refund_id": "RF-1"}), false),
                observed(GET_ORDER, json!({"order_id": "O-44120"}), after.clone(), false),
                // Changed before it was ever read: its earlier state is unknown.
                observed(CANCEL_ORDER, json!({"order_id": "O-40022"}), json!({"ok": true}), false),
                observed(GET_ORDER, json!({"order_id": "O-40022"}), lamp_order(), false),
            ],
            &json!({}),
        )
        .unwrap();
        assert_eq!(world["orders"]["O-44120"]["refunded_total"], json!(9.75));
        assert_eq!(world["orders"]["O-44120"]["seen"], json!("list"), "the detail came after the change");
        assert!(world["orders"].get("O-40022").is_none());
    }

    #[test]
    fn a_detail_read_completes_an_order_seen_in_a_list() {
        let mut d = toaster_order("delivered");
        d["shipment"] = json!({"carrier": "UPS", "tracking": "TRK-1", "delivered_on": "2026-11-26"});
        d["returns"] = json!([{"return_id": "R-1", "items": [{"sku": "PLT-4471", "qty": 1}]}]);
        let world = Orders::seed(
            &[listed("[EMAIL_1]", json!([toaster_order("delivered")])), observed(GET_ORDER, json!({"order_id": "O-44120"}), d.clone(), false)],
            &json!({}),
        )
        .unwrap();
        let again = ok(&world, GET_ORDER, json!({"order_id": "O-44120"})).result;
        assert_eq!(again["shipment"], d["shipment"]);
        assert_eq!(again["returns"], d["returns"]);
        // An order only seen through get_order is listed for its address.
        let world = Orders::seed(&[observed(GET_ORDER, json!({"order_id": "O-40022"}), lamp_order(), false)], &json!({})).unwrap();
        assert_eq!(ok(&world, LIST_ORDERS, json!({"email": "[EMAIL_1]"})).result["orders"].as_array().unwrap().len(), 1);
        assert_eq!(world["customers"]["[EMAIL_1]"]["listed"], json!(false));
    }

    #[test]
    fn changes_are_visible_to_later_reads() {
        let world = Orders::seed(&[listed("[EMAIL_1]", json!([lamp_order(), toaster_order("delivered")]))], &json!({})).unwrap();
        // A return with an extra key in its item, then the refund of what came back.
        let r = ok(&world, CREATE_RETURN, json!({"order_id": "O-44120", "reason": "damaged", "items": [{"sku": "TST-3302", "qty": 1, "reason": "damaged"}]}));
        assert_eq!(r.result["return_id"], "R-SIM-O-44120-1");
        assert_eq!(r.world["orders"]["O-44120"]["returned"]["TST-3302"], 1);
        let r = ok(&r.world, REFUND_ORDER, json!({"order_id": "O-44120", "amount": 34.99}));
        assert_eq!(r.result, json!({"refund_id": "RF-SIM-O-44120-1", "order_id": "O-44120", "amount": 34.99, "refunded_total": 44.74}));
        let listed = ok(&r.world, LIST_ORDERS, json!({"email": "[EMAIL_1]"})).result;
        assert_eq!(listed["orders"][1]["items"][0]["returned_qty"], 1);
        assert_eq!(listed["orders"][1]["refunded_total"], 44.74);
        // Cancel the processing order; it refunds the balance; a second cancel fails.
        let c = ok(&r.world, CANCEL_ORDER, json!({"order_id": "O-40022"}));
        assert_eq!(c.result, json!({"ok": true, "order_id": "O-40022", "status": "cancelled", "refunded": 45.0}));
        assert_eq!(ok(&c.world, GET_ORDER, json!({"order_id": "O-40022"})).result["status"], "cancelled");
        let again = call(&c.world, CANCEL_ORDER, json!({"order_id": "O-40022"})).unwrap();
        assert!(again.is_error && again.world == c.world, "a rejected call changes nothing");
        let h = ok(&c.world, HANDOFF, json!({"reason": "asked for a person"}));
        assert_eq!((h.result["ticket"].clone(), h.world["handoffs"].as_array().unwrap().len()), (json!("H-SIM-1"), 1));
    }

    #[test]
    fn production_rules_reject_what_production_rejects() {
        let world = Orders::seed(&[listed("[EMAIL_1]", json!([lamp_order(), toaster_order("delivered")]))], &json!({})).unwrap();
        let err = |tool: &str, args: Value| {
            let s = call(&world, tool, args).unwrap();
            assert!(s.is_error && s.world == world);
            s.result["error"].as_str().unwrap().to_string()
        };
        assert_eq!(err(CANCEL_ORDER, json!({"order_id": "O-44120"})), "order O-44120 was delivered: it cannot be cancelled, start a return instead");
        assert_eq!(
            err(CREATE_RETURN, json!({"order_id": "O-40022", "items": [{"sku": "LMP-2041", "qty": 1}]})),
            "order O-40022 is processing: returns open once it is delivered"
        );
        assert_eq!(
            err(CREATE_RETURN, json!({"order_id": "O-44120", "items": [{"sku": "PLT-4471", "qty": 4}]})),
            "cannot return 4 × PLT-4471: 3 left to return"
        );
        assert_eq!(err(CREATE_RETURN, json!({"order_id": "O-44120", "items": [{"sku": "XXX", "qty": 1}]})), "item XXX is not on order O-44120");
        assert_eq!(
            err(CREATE_RETURN, json!({"order_id": "O-44120", "items": [{"sku": "TST-3302", "qty": 1.5}]})),
            "qty of TST-3302 must be a positive integer"
        );
        assert_eq!(err(CREATE_RETURN, json!({"order_id": "O-44120", "items": []})), "items must be a non-empty list of {sku, qty}");
        assert_eq!(err(REFUND_ORDER, json!({"order_id": "O-44120", "amount": 64.25})), "amount exceeds the refundable balance of 64.24");
        assert_eq!(err(REFUND_ORDER, json!({"order_id": "O-44120", "amount": "5"})), "amount must be a positive number");
        assert_eq!(err(CALCULATE, json!({"expression": "1 / 0"})), "cannot evaluate: division by zero");
        assert_eq!(ok(&world, CALCULATE, json!({"expression": "9.75 * 3"})).result, json!(29.25));
    }

    #[test]
    fn params_and_broken_worlds_are_errors() {
        assert!(Orders::seed(&[], &json!({"x": 1})).unwrap_err().contains("unknown param `x`"));
        assert!(Orders::seed(&[], &Value::Null).is_ok());
        assert!(Orders::call(&json!({}), &ToolRequest::new(GET_ORDER, json!({})), &json!({})).is_err());
    }
}
