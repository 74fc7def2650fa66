//! Tool simulator for the example subscription-support domain
//! (`examples/agents/support_agent.py`): the billing backend the agent's tools
//! talk to, as a pure function over a JSON world.
//!
//! The world:
//! ```json
//! {"accounts": {"A-55812": {"record": {"account_id": "A-55812", "subscription_status": "none",
//!                                      "plan": null, "supervisor_flag": false, "last_charge_amount": null},
//!                           "emails": ["[EMAIL_1]"]}},
//!  "refunds": []}
//! ```
//! * `seed` builds it from the first successful `lookup_account` of each account
//!   in the recorded conversation (the state before anything was changed), keyed by
//!   account id, with the e-mail the lookup used;
//! * `lookup_account` (`email` or `account_id`) returns the account's record, or
//!   `{"error": "no account found"}`;
//! * `cancel_subscription` (`account_id`) behaves as the production tool does:
//!   an `active` or `past_due` subscription becomes `cancelled`
//!   (`cancelled_subscriptions: 1`); any other status is left alone and the tool
//!   still says `ok` with `cancelled_subscriptions: 0` (the Tuesday-morning
//!   enabler) — the world does not change, only what the agent said about it;
//! * `issue_refund` (`account_id`, `amount`) appends to `refunds` and returns a
//!   refund id numbered in order (`R-SIM-1`, ...), deterministic;
//! * any other tool is not modelled: the gate's missing-fixture policy applies.

use ratchet_sdk::{json, Observed, PluginInfo, Simulated, Simulator, ToolRequest, Value};

/// The subscription backend.
pub struct Subscriptions;

const LOOKUP: &str = "lookup_account";
const CANCEL: &str = "cancel_subscription";
const REFUND: &str = "issue_refund";

fn empty_world() -> Value {
    json!({"accounts": {}, "refunds": []})
}

/// The account id an account's lookup arguments name, if the world has it.
fn find<'a>(world: &'a Value, arguments: &Value) -> Option<(&'a str, &'a Value)> {
    let accounts = world.get("accounts")?.as_object()?;
    if let Some(id) = arguments.get("account_id").and_then(Value::as_str) {
        return accounts.get_key_value(id).map(|(k, v)| (k.as_str(), v));
    }
    let email = arguments.get("email").and_then(Value::as_str)?;
    // The first account by id: the same answer whatever order the map keeps its keys
    // in (serde_json's `preserve_order` may be on in a workspace, never in the component).
    let mut matching: Vec<(&String, &Value)> =
        accounts.iter().filter(|(_, a)| a["emails"].as_array().is_some_and(|e| e.iter().any(|x| x.as_str() == Some(email)))).collect();
    matching.sort_by(|x, y| x.0.cmp(y.0));
    matching.first().map(|(k, v)| (k.as_str(), *v))
}

impl Simulator for Subscriptions {
    fn info() -> PluginInfo {
        PluginInfo::new("simulator-subscriptions", "0.1.0", "The example subscription backend: accounts and refunds")
    }

    fn seed(observed: &[Observed], _params: &Value) -> Result<Value, String> {
        let mut world = empty_world();
        for o in observed.iter().filter(|o| o.request.tool == LOOKUP && !o.is_error) {
            let Some(id) = o.result.get("account_id").and_then(Value::as_str) else { continue };
            let accounts = world["accounts"].as_object_mut().expect("an object");
            let entry = accounts.entry(id.to_string()).or_insert_with(|| json!({"record": o.result.clone(), "emails": []}));
            if let Some(email) = o.request.arg_str("email") {
                let emails = entry["emails"].as_array_mut().ok_or("emails is not a list")?;
                if !emails.iter().any(|e| e.as_str() == Some(email)) {
                    emails.push(json!(email));
                }
            }
        }
        Ok(world)
    }

    fn call(world: &Value, request: &ToolRequest, _params: &Value) -> Result<Option<Simulated>, String> {
        if !world.get("accounts").is_some_and(Value::is_object) {
            return Err("the world has no `accounts` object".into());
        }
        let args = &request.arguments;
        Ok(Some(match request.tool.as_str() {
            LOOKUP => match find(world, args) {
                Some((_, account)) => Simulated::ok(account["record"].clone(), world.clone()),
                None => Simulated::error(json!({"error": "no account found"}), world.clone()),
            },
            CANCEL => {
                let Some((id, account)) = find(world, &json!({"account_id": args.get("account_id").cloned().unwrap_or(Value::Null)})) else {
                    return Ok(Some(Simulated::error(json!({"error": "no such account"}), world.clone())));
                };
                let id = id.to_string();
                let live = matches!(account["record"]["subscription_status"].as_str(), Some("active" | "past_due"));
                let mut after = world.clone();
                if live {
                    after["accounts"][&id]["record"]["subscription_status"] = json!("cancelled");
                }
                Simulated::ok(json!({"ok": true, "cancelled_subscriptions": u32::from(live)}), after)
            }
            REFUND => {
                let Some((id, _)) = find(world, &json!({"account_id": args.get("account_id").cloned().unwrap_or(Value::Null)})) else {
                    return Ok(Some(Simulated::error(json!({"error": "no such account"}), world.clone())));
                };
                let id = id.to_string();
                let mut after = world.clone();
                let n = push(&mut after, "refunds", json!({"account_id": id, "amount": args.get("amount").cloned().unwrap_or(Value::Null)}))?;
                Simulated::ok(json!({"ok": true, "refund_id": format!("R-SIM-{n}")}), after)
            }
            _ => return Ok(None),
        }))
    }
}

/// Append to the list `key` of the world (created if missing); its new length.
fn push(world: &mut Value, key: &str, item: Value) -> Result<usize, String> {
    let list = world.as_object_mut().ok_or("the world is not an object")?.entry(key).or_insert_with(|| json!([]));
    let list = list.as_array_mut().ok_or_else(|| format!("world.{key} is not a list"))?;
    list.push(item);
    Ok(list.len())
}

ratchet_sdk::export_simulator!(Subscriptions);

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(email: &str, status: &str) -> Observed {
        Observed {
            request: ToolRequest::new(LOOKUP, json!({"email": email})),
            result: json!({"account_id": "A-1", "subscription_status": status, "plan": "basic", "supervisor_flag": false, "last_charge_amount": 9.99}),
            is_error: false,
        }
    }

    fn call(world: &Value, tool: &str, args: Value) -> Simulated {
        Subscriptions::call(world, &ToolRequest::new(tool, args), &json!({})).unwrap().unwrap()
    }

    #[test]
    fn seeds_from_the_first_lookup_and_answers_other_paths() {
        let mut later = lookup("e@x", "cancelled");
        later.request = ToolRequest::new(LOOKUP, json!({"account_id": "A-1"}));
        let world = Subscriptions::seed(&[lookup("e@x", "active"), later], &json!({})).unwrap();
        assert_eq!(world["accounts"]["A-1"]["record"]["subscription_status"], "active", "the state before the conversation");
        // A lookup the recording never made (by id instead of e-mail) is answered.
        assert_eq!(call(&world, LOOKUP, json!({"account_id": "A-1"})).result["account_id"], "A-1");
        assert!(call(&world, LOOKUP, json!({"email": "other@x"})).is_error);
    }

    #[test]
    fn a_cancellation_is_visible_to_later_reads_and_refunds_are_recorded() {
        let world = Subscriptions::seed(&[lookup("e@x", "active")], &json!({})).unwrap();
        let cancelled = call(&world, CANCEL, json!({"account_id": "A-1"}));
        assert_eq!(cancelled.result["cancelled_subscriptions"], 1);
        assert_eq!(call(&cancelled.world, LOOKUP, json!({"email": "e@x"})).result["subscription_status"], "cancelled");
        let again = call(&cancelled.world, CANCEL, json!({"account_id": "A-1"}));
        assert_eq!(again.result, json!({"ok": true, "cancelled_subscriptions": 0}), "as production: ok, nothing cancelled");
        let refunded = call(&again.world, REFUND, json!({"account_id": "A-1", "amount": 9.99}));
        assert_eq!(refunded.result["refund_id"], "R-SIM-1");
        assert_eq!(refunded.world["refunds"], json!([{"account_id": "A-1", "amount": 9.99}]));
        assert!(call(&world, REFUND, json!({"account_id": "A-9"})).is_error);
        assert!(Subscriptions::call(&world, &ToolRequest::new("send_email", json!({})), &json!({})).unwrap().is_none());
    }

    #[test]
    fn an_email_shared_by_two_accounts_finds_the_first_by_id_whatever_the_map_order() {
        let world = json!({"accounts": {
            "A-9": {"record": {"account_id": "A-9"}, "emails": ["e@x"]},
            "A-1": {"record": {"account_id": "A-1"}, "emails": ["e@x"]}}, "refunds": []});
        assert_eq!(call(&world, LOOKUP, json!({"email": "e@x"})).result["account_id"], "A-1");
    }

    #[test]
    fn the_tuesday_case_changes_no_status() {
        let world = Subscriptions::seed(&[lookup("e@x", "none")], &json!({})).unwrap();
        let after = call(&world, CANCEL, json!({"account_id": "A-1"}));
        assert_eq!(after.world, world, "nothing changes: the harm is what the agent says");
    }
}
