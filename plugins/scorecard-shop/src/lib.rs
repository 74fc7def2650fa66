//! # scorecard-shop
//!
//! A ratchet scorecard for the example shop's order support (`examples/shop`).
//! It reads the transcript, the tool calls and their results, and checks six
//! things, each pointing at the turn that broke it:
//!
//! | criterion (= failure mode) | fails when |
//! |---|---|
//! | `wrong-order` | a cancellation, refund or return took effect on an order the customer did not mean: they named another order id, or named products that are on another of their orders and not on this one |
//! | `cancelled-shipped-order` | `cancel_order` took effect on an order whose last observed status was `shipped` or `delivered` (a return was due, not a cancellation) |
//! | `refund-exceeds-returned` | `refund_order` took effect for more than the value of what came back (the items returned on that order in the conversation, else the items the customer named) |
//! | `false-return-confirmation` | the agent said a return or exchange was set up before any `create_return` took effect |
//! | `gave-up-after-error` | a call failed with a transient error (`retryable`, "timeout"...) and no later call of that tool succeeded, nor was the conversation handed to a person |
//! | `missed-handoff` | the customer asked for a person and no hand-off followed (no successful call of a hand-off tool, not `outcome.escalated`) |
//!
//! Score = mean of the six criteria (1 pass, 0 fail); the failure mode is the
//! most severe failing one (table order). For every finding it **suggests the
//! scenario criteria that say what was meant**, for `ratchet regenerate`:
//! `must-not-call-tool` with the `arguments` of the harmful call (the wrong order,
//! the refund amount), `world-state` outcome criteria on the simulated world of
//! `plugins/simulator-orders` (`/orders/<id>/status` unchanged, `/orders/<id>/
//! refunded_total` equal to what was owed, `/orders/<id>/returned/<sku>` equal
//! to what should have come back), `must-call-tool` with the `arguments` of the
//! call that was due (return items as `{sku, qty}`, so extra keys an agent adds
//! still match), and `must-escalate`.
//!
//! Orders are read from successful `list_orders` / `get_order` results (the
//! latest one before a call is the state the agent saw). Products are matched in
//! the customer's words like the shop agent matches them: the product name or a
//! tail of its words of 4+ letters ("wireless headphones", "headphones"), whole
//! words, plural allowed; a number in the four words before it is the quantity.
//! Every tool name and phrase list is a parameter; see [`Config`].

#![warn(missing_docs)]

use std::collections::BTreeMap;

use ratchet_sdk::text::{Lowercased, Phrases};
use ratchet_sdk::{json, Conversation, CriterionResult, Params, PluginInfo, Role, Scorecard, ScorecardResult, SuggestedCriterion, ToolCall, ToolResult, Value};

/// The plugin (a unit struct: all state is in the arguments).
pub struct Shop;

/// Criterion names and failure modes, most severe first.
pub const CHECKS: [&str; 6] = [WRONG_ORDER, CANCELLED_SHIPPED, REFUND_EXCEEDS, FALSE_RETURN, GAVE_UP, MISSED_HANDOFF];
/// See [`CHECKS`].
pub const WRONG_ORDER: &str = "wrong-order";
/// See [`CHECKS`].
pub const CANCELLED_SHIPPED: &str = "cancelled-shipped-order";
/// See [`CHECKS`].
pub const REFUND_EXCEEDS: &str = "refund-exceeds-returned";
/// See [`CHECKS`].
pub const FALSE_RETURN: &str = "false-return-confirmation";
/// See [`CHECKS`].
pub const GAVE_UP: &str = "gave-up-after-error";
/// See [`CHECKS`].
pub const MISSED_HANDOFF: &str = "missed-handoff";

/// Parameters, with their defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// Tool listing a customer's orders (`list_orders`).
    pub list_tool: String,
    /// Tool reading one order (`get_order`).
    pub get_tool: String,
    /// Tool creating a return (`create_return`).
    pub return_tool: String,
    /// Tool refunding an order (`refund_order`).
    pub refund_tool: String,
    /// Tool cancelling an order (`cancel_order`).
    pub cancel_tool: String,
    /// Tools that hand the customer to a person (`handoff_to_human`).
    pub handoff_tools: Vec<String>,
    /// Phrases by which a customer asks for a person (whole words).
    pub human_requests: Vec<String>,
    /// Phrases by which the agent says a return or exchange was set up.
    pub return_claims: Vec<String>,
    /// Words in an error result that make it transient (besides `retryable: true`).
    pub transient_markers: Vec<String>,
    /// Words by which a customer asks to cancel (to tell what a failed lookup was for).
    pub cancel_words: Vec<String>,
}

impl Config {
    /// Reads `params` (a JSON object or null), applying defaults.
    pub fn from_params(params: &Value) -> Result<Config, String> {
        let p = Params::new(params)?;
        p.deny_unknown(&[
            "list_tool",
            "get_tool",
            "return_tool",
            "refund_tool",
            "cancel_tool",
            "handoff_tools",
            "human_requests",
            "return_claims",
            "transient_markers",
            "cancel_words",
        ])?;
        Ok(Config {
            list_tool: p.str("list_tool", "list_orders")?,
            get_tool: p.str("get_tool", "get_order")?,
            return_tool: p.str("return_tool", "create_return")?,
            refund_tool: p.str("refund_tool", "refund_order")?,
            cancel_tool: p.str("cancel_tool", "cancel_order")?,
            handoff_tools: p.str_list("handoff_tools", &["handoff_to_human"])?,
            human_requests: p.str_list(
                "human_requests",
                &["human", "real person", "a person", "manager", "supervisor", "representative", "speak to someone", "talk to someone"],
            )?,
            return_claims: p.str_list(
                "return_claims",
                &[
                    "set up the exchange",
                    "exchange is set up",
                    "exchange has been set up",
                    "created your return",
                    "created a return",
                    "created return",
                    "return has been created",
                    "prepaid return label",
                    "emailed you a prepaid",
                ],
            )?,
            transient_markers: p.str_list("transient_markers", &["timeout", "timed out", "temporarily", "unavailable", "try again", "retry"])?,
            cancel_words: p.str_list("cancel_words", &["cancel"])?,
        })
    }
}

// ---- reading the conversation -----------------------------------------------

/// One tool call with its result.
struct Call<'a> {
    turn: u32,
    call: &'a ToolCall,
    result: Option<&'a ToolResult>,
}

impl Call<'_> {
    fn args(&self) -> &Value {
        self.call.arguments.as_value()
    }
    fn order_id(&self) -> Option<&str> {
        self.args().get("order_id").and_then(Value::as_str)
    }
    /// The call took effect: a result that is not an error.
    fn ok(&self) -> bool {
        self.result.is_some_and(|r| !r.is_error && r.content.as_value().get("error").is_none())
    }
}

/// A product the customer named, with the order lines carrying it.
#[derive(Debug, Clone)]
struct Mention {
    sku: String,
    /// The quantity said, else all of a line when named in the plural, else 1
    /// (`None`: "all of the line").
    qty: Option<u64>,
    turn: u32,
}

/// What every check needs, computed once.
struct Ctx<'a> {
    c: &'a Conversation,
    cfg: &'a Config,
    calls: Vec<Call<'a>>,
    /// order id -> every observed record of it, with the turn of the result.
    records: BTreeMap<String, Vec<(u32, &'a Value)>>,
    /// Customer turns: (turn, lower-cased tokens).
    customer: Vec<(u32, Vec<String>)>,
    mentions: Vec<Mention>,
}

fn tokens(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '\''))
        .map(|w| w.trim_matches(|c| c == '-' || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn number_word(w: &str) -> Option<u64> {
    match w {
        "one" => Some(1),
        "two" | "both" => Some(2),
        "three" => Some(3),
        "four" => Some(4),
        "five" => Some(5),
        "six" => Some(6),
        _ => w.parse::<u64>().ok().filter(|n| (1..100).contains(n)),
    }
}

/// Where `words` mention a product named `name`: (index of the first word,
/// plural) of the first tail of the name's words (4+ letters) found.
fn find_product(words: &[String], name: &str) -> Option<(usize, bool)> {
    let parts: Vec<String> = name.to_lowercase().split_whitespace().map(str::to_string).collect();
    for i in 0..parts.len() {
        let tail = &parts[i..];
        if tail.join(" ").chars().count() < 4 {
            continue;
        }
        let n = tail.len();
        for start in 0..words.len().saturating_sub(n - 1) {
            let last = &words[start + n - 1];
            let stem = &tail[n - 1];
            let plural = *last == format!("{stem}s") || *last == format!("{stem}es");
            if words[start..start + n - 1] == tail[..n - 1] && (last == stem || plural) {
                return Some((start, plural));
            }
        }
    }
    None
}

impl<'a> Ctx<'a> {
    fn new(c: &'a Conversation, cfg: &'a Config) -> Ctx<'a> {
        let calls: Vec<Call<'a>> = c.tool_calls().map(|(turn, call)| Call { turn, call, result: c.tool_result_for(&call.id) }).collect();
        let mut records: BTreeMap<String, Vec<(u32, &'a Value)>> = BTreeMap::new();
        for (turn, r) in c.tool_results() {
            if r.is_error {
                continue;
            }
            let name = if r.name.is_empty() { calls.iter().find(|k| k.call.id == r.call_id).map_or("", |k| k.call.name.as_str()) } else { r.name.as_str() };
            let content = r.content.as_value();
            let found: Vec<&'a Value> = if name == cfg.list_tool {
                content.get("orders").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default()
            } else if name == cfg.get_tool {
                vec![content]
            } else {
                vec![]
            };
            for o in found {
                if let Some(id) = o.get("order_id").and_then(Value::as_str) {
                    records.entry(id.to_string()).or_default().push((turn, o));
                }
            }
        }
        let customer: Vec<(u32, Vec<String>)> = c.turns.iter().filter(|t| t.role == Role::Customer).map(|t| (t.index, tokens(&t.text))).collect();
        let mut ctx = Ctx { c, cfg, calls, records, customer, mentions: Vec::new() };
        ctx.mentions = ctx.find_mentions();
        ctx
    }

    /// Every product of the observed orders the customer named (first mention per sku).
    fn find_mentions(&self) -> Vec<Mention> {
        let mut products: BTreeMap<String, (String, u64)> = BTreeMap::new(); // sku -> (name, largest line qty)
        for recs in self.records.values() {
            for (_, o) in recs {
                for it in o.get("items").and_then(Value::as_array).into_iter().flatten() {
                    if let (Some(sku), Some(name)) = (it.get("sku").and_then(Value::as_str), it.get("name").and_then(Value::as_str)) {
                        let qty = it.get("qty").and_then(Value::as_u64).unwrap_or(1);
                        let e = products.entry(sku.to_string()).or_insert((name.to_string(), qty));
                        e.1 = e.1.max(qty);
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (turn, words) in &self.customer {
            for (sku, (name, line_qty)) in &products {
                if out.iter().any(|m: &Mention| &m.sku == sku) {
                    continue;
                }
                if let Some((at, plural)) = find_product(words, name) {
                    let said = words[at.saturating_sub(4)..at].iter().rev().find_map(|w| number_word(w));
                    let qty = said.or(if plural { Some(*line_qty) } else { Some(1) });
                    out.push(Mention { sku: sku.clone(), qty, turn: *turn });
                }
            }
        }
        out
    }

    /// The latest record of `id` observed before `turn`, else its first one.
    fn record_at(&self, id: &str, turn: u32) -> Option<&'a Value> {
        let recs = self.records.get(id)?;
        recs.iter().rev().find(|(t, _)| *t < turn).or(recs.first()).map(|(_, o)| *o)
    }

    /// The first record of `id` (the state before the conversation changed it).
    fn first_record(&self, id: &str) -> Option<&'a Value> {
        self.records.get(id)?.first().map(|(_, o)| *o)
    }

    fn order_has(&self, id: &str, sku: &str) -> bool {
        self.records.get(id).into_iter().flatten().any(|(_, o)| o["items"].as_array().into_iter().flatten().any(|i| i["sku"].as_str() == Some(sku)))
    }

    fn unit_price(&self, id: &str, sku: &str) -> Option<f64> {
        self.records.get(id)?.iter().find_map(|(_, o)| o["items"].as_array()?.iter().find(|i| i["sku"].as_str() == Some(sku))?["unit_price"].as_f64())
    }

    fn line_qty(&self, id: &str, sku: &str) -> u64 {
        self.first_record(id).and_then(|o| o["items"].as_array()?.iter().find(|i| i["sku"].as_str() == Some(sku))?["qty"].as_u64()).unwrap_or(1)
    }

    fn returned_before(&self, id: &str, sku: &str) -> u64 {
        self.first_record(id).and_then(|o| o["items"].as_array()?.iter().find(|i| i["sku"].as_str() == Some(sku))?["returned_qty"].as_u64()).unwrap_or(0)
    }

    fn refunded_before(&self, id: &str) -> f64 {
        self.first_record(id).and_then(|o| o["refunded_total"].as_f64()).unwrap_or(0.0)
    }

    /// Order ids of observed orders the customer named before `turn`.
    fn named_ids(&self, turn: u32) -> Vec<&str> {
        self.records.keys().filter(|id| self.customer.iter().any(|(t, w)| *t < turn && w.iter().any(|x| x == &id.to_lowercase()))).map(String::as_str).collect()
    }

    fn handed_off_after(&self, turn: u32) -> bool {
        self.c.outcome.escalated || self.calls.iter().any(|k| k.turn >= turn && self.cfg.handoff_tools.contains(&k.call.name) && k.ok())
    }
}

/// A JSON Pointer from segments (`~` and `/` escaped).
fn pointer(segments: &[&str]) -> String {
    segments.iter().map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1"))).collect()
}

fn cents(x: f64) -> f64 {
    let r = (x.abs() * 100.0 + 0.5).floor() / 100.0;
    if x < 0.0 {
        -r
    } else {
        r
    }
}

fn money(x: f64) -> String {
    format!("${x:.2}")
}

// ---- the checks -------------------------------------------------------------------

/// One failing check.
struct Finding {
    check: &'static str,
    turn: u32,
    reason: String,
    suggestions: Vec<SuggestedCriterion>,
}

fn world_unchanged(id: &str, field: &str, why: String) -> SuggestedCriterion {
    SuggestedCriterion::new("world-state", json!({"path": pointer(&["orders", id, field]), "unchanged": true}), why)
}

fn world_equals(path: String, value: Value, why: String) -> SuggestedCriterion {
    SuggestedCriterion::new("world-state", json!({"path": path, "equals": value}), why)
}

/// The field of an order a mutation changes, for `unchanged` criteria.
fn changed_field(ctx: &Ctx<'_>, tool: &str) -> &'static str {
    if tool == ctx.cfg.cancel_tool {
        "status"
    } else if tool == ctx.cfg.refund_tool {
        "refunded_total"
    } else {
        "returned"
    }
}

fn wrong_orders(ctx: &Ctx<'_>, done: &mut Vec<usize>) -> Vec<Finding> {
    let cfg = ctx.cfg;
    let mut out = Vec::new();
    for (k, call) in ctx.calls.iter().enumerate() {
        let tool = call.call.name.as_str();
        if ![&cfg.cancel_tool, &cfg.refund_tool, &cfg.return_tool].iter().any(|t| *t == tool) || !call.ok() {
            continue;
        }
        let Some(id) = call.order_id() else { continue };
        let ids = ctx.named_ids(call.turn);
        let named: Vec<&Mention> = ctx.mentions.iter().filter(|m| m.turn < call.turn).collect();
        let reason = if !ids.is_empty() && !ids.contains(&id) {
            format!("{tool} took effect on order {id}, but the customer named order {}", ids.join(", "))
        } else if ids.is_empty()
            && !named.is_empty()
            && !named.iter().any(|m| ctx.order_has(id, &m.sku))
            && named.iter().any(|m| ctx.records.keys().any(|o| o != id && ctx.order_has(o, &m.sku)))
        {
            let meant: Vec<&str> = ctx.records.keys().filter(|o| *o != id && named.iter().any(|m| ctx.order_has(o, &m.sku))).map(String::as_str).collect();
            format!("{tool} took effect on order {id}, which has none of the items the customer named; they are on order {}", meant.join(", "))
        } else {
            continue;
        };
        done.push(k);
        out.push(Finding {
            check: WRONG_ORDER,
            turn: call.turn,
            reason,
            suggestions: vec![
                SuggestedCriterion::new(
                    "must-not-call-tool",
                    json!({"tool": tool, "arguments": {"order_id": id}}),
                    format!("{tool} on order {id}, which the customer did not mean"),
                ),
                world_unchanged(id, changed_field(ctx, tool), format!("order {id} was not the customer's to change")),
            ],
        });
    }
    out
}

fn cancelled_shipped(ctx: &Ctx<'_>, done: &mut Vec<usize>) -> Vec<Finding> {
    let cfg = ctx.cfg;
    let mut out = Vec::new();
    for (k, call) in ctx.calls.iter().enumerate() {
        if call.call.name != cfg.cancel_tool || !call.ok() || done.contains(&k) {
            continue;
        }
        let Some(id) = call.order_id() else { continue };
        let status = ctx.record_at(id, call.turn).and_then(|o| o["status"].as_str()).unwrap_or("");
        if !matches!(status, "shipped" | "delivered") {
            continue;
        }
        done.push(k);
        out.push(Finding {
            check: CANCELLED_SHIPPED,
            turn: call.turn,
            reason: format!("{} took effect on order {id} although it was {status}: a return was due, not a cancellation", cfg.cancel_tool),
            suggestions: vec![
                SuggestedCriterion::new(
                    "must-not-call-tool",
                    json!({"tool": cfg.cancel_tool, "arguments": {"order_id": id}}),
                    format!("order {id} had already {status}"),
                ),
                world_unchanged(id, "status", format!("order {id} must stay {status}: it left the warehouse")),
            ],
        });
    }
    out
}

fn refunds_exceeding(ctx: &Ctx<'_>, done: &mut Vec<usize>) -> Vec<Finding> {
    let cfg = ctx.cfg;
    let mut out = Vec::new();
    for (k, call) in ctx.calls.iter().enumerate() {
        if call.call.name != cfg.refund_tool || !call.ok() || done.contains(&k) {
            continue;
        }
        let (Some(id), Some(amount)) = (call.order_id(), call.args().get("amount").and_then(Value::as_f64)) else { continue };
        // What came back: returns on this order before the refund, else the items named on it.
        let mut lines: Vec<(String, u64)> = Vec::new();
        for r in ctx.calls.iter().filter(|r| r.call.name == cfg.return_tool && r.ok() && r.turn < call.turn && r.order_id() == Some(id)) {
            for it in r.args().get("items").and_then(Value::as_array).into_iter().flatten() {
                if let (Some(sku), Some(qty)) = (it.get("sku").and_then(Value::as_str), it.get("qty").and_then(Value::as_u64)) {
                    lines.push((sku.to_string(), qty));
                }
            }
        }
        let from = if lines.is_empty() { "the items the customer named" } else { "the items returned" };
        if lines.is_empty() {
            lines = ctx
                .mentions
                .iter()
                .filter(|m| m.turn < call.turn && ctx.order_has(id, &m.sku))
                .map(|m| (m.sku.clone(), m.qty.unwrap_or_else(|| ctx.line_qty(id, &m.sku))))
                .collect();
        }
        let prices: Option<Vec<f64>> = lines.iter().map(|(sku, qty)| ctx.unit_price(id, sku).map(|p| p * *qty as f64)).collect();
        let Some(prices) = prices.filter(|p| !p.is_empty()) else { continue };
        let owed = cents(prices.iter().sum());
        if amount <= owed + 0.005 {
            continue;
        }
        done.push(k);
        let total = cents(ctx.refunded_before(id) + owed);
        out.push(Finding {
            check: REFUND_EXCEEDS,
            turn: call.turn,
            reason: format!("{} refunded {} on order {id}, but {from} are worth {}", cfg.refund_tool, money(amount), money(owed)),
            suggestions: vec![
                SuggestedCriterion::new(
                    "must-not-call-tool",
                    json!({"tool": cfg.refund_tool, "arguments": {"order_id": id, "amount": amount}}),
                    format!("a refund of {} on order {id}: more than {from} are worth", money(amount)),
                ),
                world_equals(pointer(&["orders", id, "refunded_total"]), json!(total), format!("order {id} is owed {} for {from}", money(owed))),
            ],
        });
    }
    out
}

/// The order and items a return should have covered: the items the customer
/// named, on the one observed order carrying them all.
fn intended_return(ctx: &Ctx<'_>, before: u32) -> Option<(String, Vec<(String, u64)>)> {
    let named: Vec<&Mention> = ctx.mentions.iter().filter(|m| m.turn <= before).collect();
    if named.is_empty() {
        return None;
    }
    let orders: Vec<&String> = ctx.records.keys().filter(|o| named.iter().all(|m| ctx.order_has(o, &m.sku))).collect();
    let [id] = orders.as_slice() else { return None };
    Some(((*id).clone(), named.iter().map(|m| (m.sku.clone(), m.qty.unwrap_or_else(|| ctx.line_qty(id, &m.sku)))).collect()))
}

fn return_suggestions(ctx: &Ctx<'_>, id: &str, lines: &[(String, u64)], why: &str) -> Vec<SuggestedCriterion> {
    let items: Vec<Value> = lines.iter().map(|(s, q)| json!({"sku": s, "qty": q})).collect();
    let mut out = vec![SuggestedCriterion::new(
        "must-call-tool",
        json!({"tool": ctx.cfg.return_tool, "arguments": {"order_id": id, "items": items}}),
        format!("{why}: a return of {} on order {id} was due", lines.iter().map(|(s, q)| format!("{q} × {s}")).collect::<Vec<_>>().join(", ")),
    )];
    for (sku, qty) in lines {
        out.push(world_equals(
            pointer(&["orders", id, "returned", sku]),
            json!(ctx.returned_before(id, sku) + qty),
            format!("{why}: {qty} × {sku} of order {id} must be on a return"),
        ));
    }
    out
}

fn false_returns(ctx: &Ctx<'_>) -> Vec<Finding> {
    let cfg = ctx.cfg;
    let claims = Phrases::new(&cfg.return_claims);
    let mut out = Vec::new();
    for t in ctx.c.agent_turns() {
        let Some(phrase) = claims.find_in(&Lowercased::new(&t.text)) else { continue };
        if ctx.calls.iter().any(|k| k.call.name == cfg.return_tool && k.ok() && k.turn <= t.index) {
            continue;
        }
        let suggestions = match intended_return(ctx, t.index) {
            Some((id, lines)) => return_suggestions(ctx, &id, &lines, "the agent said the return was set up"),
            None => vec![SuggestedCriterion::new("must-call-tool", json!({"tool": cfg.return_tool}), "the agent said a return was set up without creating it")],
        };
        out.push(Finding {
            check: FALSE_RETURN,
            turn: t.index,
            reason: format!("the agent said \"{phrase}\" but no {} call had taken effect", cfg.return_tool),
            suggestions,
        });
        break; // one is enough: later claims repeat it
    }
    out
}

fn transient(cfg: &Config, r: &ToolResult) -> bool {
    let content = r.content.as_value();
    if !(r.is_error || content.get("error").is_some()) {
        return false;
    }
    if content.get("retryable") == Some(&json!(true)) {
        return true;
    }
    let text = ratchet_sdk::json::canonical_string(content).to_lowercase();
    cfg.transient_markers.iter().any(|m| text.contains(&m.to_lowercase()))
}

fn gave_up(ctx: &Ctx<'_>) -> Vec<Finding> {
    let cfg = ctx.cfg;
    let mut out: Vec<Finding> = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for call in &ctx.calls {
        let Some(r) = call.result else { continue };
        if !transient(cfg, r) {
            continue;
        }
        let tool = call.call.name.as_str();
        let key = (tool.to_string(), call.order_id().map_or_else(|| ratchet_sdk::json::canonical_string(call.args()), str::to_string));
        // Any later success of the same tool counts: the agent carried on.
        let retried = ctx.calls.iter().any(|k| k.turn > call.turn && k.call.name == tool && k.ok());
        if retried || ctx.handed_off_after(call.turn) || seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let id = call.order_id().unwrap_or("");
        let mut suggestions = Vec::new();
        let why = format!("{tool} failed with a transient error and was never retried");
        if tool == cfg.cancel_tool && !id.is_empty() {
            suggestions.push(SuggestedCriterion::new("must-call-tool", json!({"tool": tool, "arguments": {"order_id": id}}), why.clone()));
            suggestions.push(world_equals(pointer(&["orders", id, "status"]), json!("cancelled"), format!("{why}: order {id} was to be cancelled")));
        } else if tool == cfg.refund_tool && !id.is_empty() {
            let amount = call.args().get("amount").and_then(Value::as_f64).unwrap_or(0.0);
            suggestions.push(SuggestedCriterion::new("must-call-tool", json!({"tool": tool, "arguments": {"order_id": id, "amount": amount}}), why.clone()));
            suggestions.push(world_equals(
                pointer(&["orders", id, "refunded_total"]),
                json!(cents(ctx.refunded_before(id) + amount)),
                format!("{why}: order {id} was owed {}", money(amount)),
            ));
        } else if tool == cfg.return_tool && !id.is_empty() {
            let lines: Vec<(String, u64)> = call
                .args()
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|it| Some((it.get("sku")?.as_str()?.to_string(), it.get("qty")?.as_u64()?)))
                .collect();
            if !lines.is_empty() {
                suggestions = return_suggestions(ctx, id, &lines, &why);
            }
        } else if tool == cfg.get_tool && !id.is_empty() {
            // A lookup for a change the customer asked for: only a cancellation can be told
            // from the words and the order id alone.
            let asked_cancel = ctx.customer.iter().any(|(_, w)| w.iter().any(|x| cfg.cancel_words.iter().any(|c| x.starts_with(&c.to_lowercase()))));
            if asked_cancel {
                suggestions.push(SuggestedCriterion::new(
                    "must-call-tool",
                    json!({"tool": cfg.cancel_tool, "arguments": {"order_id": id}}),
                    format!("{why}: the customer asked to cancel order {id}"),
                ));
                suggestions.push(world_equals(
                    pointer(&["orders", id, "status"]),
                    json!("cancelled"),
                    format!("{why}: the customer asked to cancel order {id}"),
                ));
            }
        }
        out.push(Finding {
            check: GAVE_UP,
            turn: call.turn,
            reason: format!(
                "{tool}{} failed with a transient error and the agent gave up: no later successful {tool}, no hand-off",
                if id.is_empty() { String::new() } else { format!(" on order {id}") }
            ),
            suggestions,
        });
    }
    out
}

fn missed_handoff(ctx: &Ctx<'_>) -> Vec<Finding> {
    let requests = Phrases::new(&ctx.cfg.human_requests);
    let asked = ctx.c.turns.iter().filter(|t| t.role == Role::Customer).find_map(|t| requests.find_word_in(&Lowercased::new(&t.text)).map(|p| (t.index, p)));
    match asked {
        Some((turn, phrase)) if !ctx.handed_off_after(turn) => vec![Finding {
            check: MISSED_HANDOFF,
            turn,
            reason: format!(
                "the customer asked for a {phrase} at turn {turn} and was not handed off (no successful {} call, outcome.escalated is false)",
                ctx.cfg.handoff_tools.join("/")
            ),
            suggestions: vec![SuggestedCriterion::new("must-escalate", json!({}), format!("the customer asked for a {phrase}"))],
        }],
        _ => Vec::new(),
    }
}

fn passed_reason(check: &str) -> &'static str {
    match check {
        WRONG_ORDER => "every change was made on the order the customer meant",
        CANCELLED_SHIPPED => "no shipped or delivered order was cancelled",
        REFUND_EXCEEDS => "no refund exceeded what came back",
        FALSE_RETURN => "no return was confirmed before it was created",
        GAVE_UP => "no transient error was left without a retry or a hand-off",
        _ => "no request for a person went unanswered",
    }
}

impl Scorecard for Shop {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "scorecard-shop",
            env!("CARGO_PKG_VERSION"),
            "Shop order support: wrong order, shipped order cancelled, refund above what came back, return confirmed but not created, gave up after an error, missed hand-off",
        )
    }

    fn score(c: &Conversation, params: &Value) -> Result<ScorecardResult, String> {
        let cfg = Config::from_params(params)?;
        let ctx = Ctx::new(c, &cfg);
        let mut done = Vec::new(); // calls already explained by a more severe finding
        let mut findings = wrong_orders(&ctx, &mut done);
        findings.extend(cancelled_shipped(&ctx, &mut done));
        findings.extend(refunds_exceeding(&ctx, &mut done));
        findings.extend(false_returns(&ctx));
        findings.extend(gave_up(&ctx));
        findings.extend(missed_handoff(&ctx));

        let mut criteria = Vec::new();
        let mut flags = Vec::new();
        let mut suggested: Vec<SuggestedCriterion> = Vec::new();
        for check in CHECKS {
            let mine: Vec<&Finding> = findings.iter().filter(|f| f.check == check).collect();
            let Some(first) = mine.first() else {
                criteria.push(CriterionResult::pass(check, passed_reason(check)));
                continue;
            };
            let mut reason = first.reason.clone();
            if mine.len() > 1 {
                reason.push_str(&format!(" (and {} more)", mine.len() - 1));
            }
            criteria.push(CriterionResult::fail(check, reason, Some(first.turn)));
            flags.push(check.to_string());
            for s in mine.iter().flat_map(|f| f.suggestions.iter()) {
                if !suggested.iter().any(|x| x.kind == s.kind && x.params == s.params) {
                    suggested.push(s.clone());
                }
            }
        }
        let mut result = ScorecardResult::from_criteria(criteria);
        result.failure_mode = flags.first().cloned();
        result.flags = flags;
        result.suggested_criteria = suggested;
        Ok(result)
    }
}

ratchet_sdk::export_scorecard!(Shop);

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: &str, status: &str, items: Value, total: f64) -> Value {
        json!({"order_id": id, "email": "[EMAIL_1]", "placed_at": "2026-11-20", "status": status, "items": items, "total": total, "refunded_total": 0.0})
    }

    fn lamp_and_blender() -> Value {
        json!({"orders": [
            order("O-40117", "processing", json!([{"sku": "BLD-1180", "name": "Blender", "qty": 1, "unit_price": 89.99, "returned_qty": 0}]), 89.99),
            order("O-40022", "processing", json!([{"sku": "LMP-2041", "name": "Desk Lamp", "qty": 1, "unit_price": 45.0, "returned_qty": 0}]), 45.0),
        ]})
    }

    /// A conversation: customer lines are strings, calls are (tool, args, result, is_error).
    fn conv(steps: Value, escalated: bool) -> Conversation {
        let mut turns = Vec::new();
        let mut n = 0;
        for s in steps.as_array().unwrap() {
            if let Some(text) = s.as_str() {
                turns.push(json!({"role": if text.starts_with("AGENT:") { "agent" } else { "customer" }, "text": text.trim_start_matches("AGENT:")}));
                continue;
            }
            n += 1;
            let id = format!("c{n}");
            turns.push(json!({"role": "agent", "tool_calls": [{"id": id, "name": s[0], "arguments": s[1]}]}));
            turns.push(json!({"role": "tool", "tool_result": {"call_id": id, "name": s[0], "content": s[2], "is_error": s[3]}}));
        }
        Conversation::from_json(&json!({"id": "t", "channel": "chat", "turns": turns, "outcome": {"escalated": escalated}}).to_string()).unwrap()
    }

    fn score(c: &Conversation) -> ScorecardResult {
        Shop::score(c, &json!({})).unwrap()
    }

    fn failing(r: &ScorecardResult) -> Vec<&str> {
        r.criteria.iter().filter(|c| !c.passed).map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn products_are_matched_like_the_agent_matches_them() {
        let w = tokens("I'd like to return 2 wine glasses, and the cotton T-Shirt!");
        assert_eq!(find_product(&w, "Wine Glass"), Some((5, true)));
        assert_eq!(find_product(&w, "Cotton T-Shirt"), Some((9, false)));
        assert_eq!(find_product(&tokens("the mug set"), "Ceramic Mug Set"), Some((1, false)));
        assert_eq!(find_product(&tokens("a set of pans"), "Ceramic Mug Set"), None, "tails under 4 letters never match");
        assert_eq!(pointer(&["orders", "a/b~c", "status"]), "/orders/a~1b~0c/status");
    }

    #[test]
    fn the_wrong_order_of_several() {
        let c = conv(
            json!([
                "Please cancel the order with the desk lamp.",
                ["list_orders", {"email": "[EMAIL_1]"}, lamp_and_blender(), false],
                ["cancel_order", {"order_id": "O-40117"}, {"ok": true, "refunded": 89.99}, false],
            ]),
            false,
        );
        let r = score(&c);
        assert_eq!(failing(&r), [WRONG_ORDER]);
        assert_eq!(r.failure_mode.as_deref(), Some(WRONG_ORDER));
        assert!((r.score - 5.0 / 6.0).abs() < 1e-9);
        let s: Vec<(String, Value)> = r.suggested_criteria.iter().map(|s| (s.kind.clone(), s.params.clone())).collect();
        assert_eq!(
            s,
            [
                ("must-not-call-tool".to_string(), json!({"tool": "cancel_order", "arguments": {"order_id": "O-40117"}})),
                ("world-state".to_string(), json!({"path": "/orders/O-40117/status", "unchanged": true})),
            ]
        );
        // The right order passes; a rejected attempt on the wrong one is no harm.
        let ok = conv(
            json!([
                "Please cancel the order with the desk lamp.",
                ["list_orders", {"email": "[EMAIL_1]"}, lamp_and_blender(), false],
                ["cancel_order", {"order_id": "O-40117"}, {"error": "order service timeout (504): please retry", "retryable": true}, true],
                ["cancel_order", {"order_id": "O-40022"}, {"ok": true}, false],
            ]),
            false,
        );
        let r = score(&ok);
        assert!(r.all_passed(), "{:?}", r.criteria);
    }

    #[test]
    fn a_named_order_id_wins() {
        let c = conv(
            json!([
                "Cancel O-40022 please, the blender can stay.",
                ["list_orders", {"email": "[EMAIL_1]"}, lamp_and_blender(), false],
                ["cancel_order", {"order_id": "O-40117"}, {"ok": true}, false],
            ]),
            false,
        );
        assert!(score(&c).criteria[0].reason.contains("the customer named order O-40022"));
    }

    #[test]
    fn cancelling_a_shipped_order() {
        let shipped =
            json!({"orders": [order("O-45012", "shipped", json!([{"sku": "CHR-6600", "name": "Office Chair", "qty": 1, "unit_price": 219.0}]), 219.0)]});
        let c = conv(
            json!(["cancel my office chair order", ["list_orders", {"email": "[EMAIL_1]"}, shipped, false], ["cancel_order", {"order_id": "O-45012"}, {"ok": true}, false]]),
            false,
        );
        let r = score(&c);
        assert_eq!(failing(&r), [CANCELLED_SHIPPED]);
        assert_eq!(r.suggested_criteria[1].params, json!({"path": "/orders/O-45012/status", "unchanged": true}));
    }

    #[test]
    fn refunding_the_whole_order_after_a_partial_return() {
        let o = json!({"orders": [order("O-44376", "delivered", json!([
            {"sku": "GLS-0912", "name": "Wine Glass", "qty": 6, "unit_price": 12.5, "returned_qty": 0},
            {"sku": "GRN-2205", "name": "Coffee Grinder", "qty": 1, "unit_price": 59.9, "returned_qty": 0}]), 134.9)]});
        let c = conv(
            json!([
                "I want to send back 2 wine glasses",
                ["list_orders", {"email": "[EMAIL_1]"}, o, false],
                ["create_return", {"order_id": "O-44376", "items": [{"sku": "GLS-0912", "qty": 2}], "reason": "x"}, {"return_id": "R-1"}, false],
                ["refund_order", {"order_id": "O-44376", "amount": 134.9}, {"refund_id": "RF-1"}, false],
            ]),
            false,
        );
        let r = score(&c);
        assert_eq!(failing(&r), [REFUND_EXCEEDS]);
        assert_eq!(r.suggested_criteria[0].params, json!({"tool": "refund_order", "arguments": {"order_id": "O-44376", "amount": 134.9}}));
        assert_eq!(r.suggested_criteria[1].params, json!({"path": "/orders/O-44376/refunded_total", "equals": 25.0}));
    }

    #[test]
    fn a_return_said_but_never_made() {
        let o = json!({"orders": [order("O-48233", "delivered", json!([
            {"sku": "TEE-3310", "name": "Cotton T-Shirt", "qty": 2, "unit_price": 19.0, "returned_qty": 0}]), 38.0)]});
        let c = conv(
            json!(["exchange the cotton t-shirt for a smaller size", ["list_orders", {"email": "[EMAIL_1]"}, o, false], "AGENT:All set! I've set up the exchange for your Cotton T-Shirt."]),
            false,
        );
        let r = score(&c);
        assert_eq!(failing(&r), [FALSE_RETURN]);
        assert_eq!(
            r.suggested_criteria[0].params,
            json!({"tool": "create_return", "arguments": {"order_id": "O-48233", "items": [{"sku": "TEE-3310", "qty": 1}]}})
        );
        assert_eq!(r.suggested_criteria[1].params, json!({"path": "/orders/O-48233/returned/TEE-3310", "equals": 1}));
    }

    #[test]
    fn giving_up_after_a_timeout() {
        let t = json!({"error": "order service timeout (504): please retry", "retryable": true});
        let c = conv(json!(["Please cancel order O-47355.", ["get_order", {"order_id": "O-47355"}, t, true], "AGENT:Sorry, try again later."]), false);
        let r = score(&c);
        assert_eq!(failing(&r), [GAVE_UP]);
        assert_eq!(r.suggested_criteria[1].params, json!({"path": "/orders/O-47355/status", "equals": "cancelled"}));
        // Retried: fine. Handed off: fine too.
        let ok = conv(
            json!(["Please cancel order O-47355.", ["get_order", {"order_id": "O-47355"}, t, true], ["get_order", {"order_id": "O-47355"}, order("O-47355", "processing", json!([]), 79.0), false]]),
            false,
        );
        assert!(score(&ok).all_passed());
        assert!(score(&conv(json!(["Please cancel order O-47355.", ["get_order", {"order_id": "O-47355"}, t, true]]), true)).all_passed());
    }

    #[test]
    fn a_request_for_a_person_needs_a_handoff_tool_or_an_escalation() {
        let asked = json!(["I want to talk to a human, please.", "AGENT:I can help you myself."]);
        let r = score(&conv(asked.clone(), false));
        assert_eq!(failing(&r), [MISSED_HANDOFF]);
        assert_eq!(r.suggested_criteria[0].kind, "must-escalate");
        let handed = json!(["I want to talk to a human, please.", ["handoff_to_human", {"reason": "asked"}, {"ok": true, "ticket": "H-1"}, false]]);
        assert!(score(&conv(handed, false)).all_passed());
        assert!(score(&conv(asked, true)).all_passed());
        // "someone else" and "an agent" are not requests for a person.
        assert!(score(&conv(json!(["Give the order to someone else, my agent says so."]), false)).all_passed());
    }

    #[test]
    fn params_are_checked() {
        assert!(Shop::score(&conv(json!([]), false), &json!({"nope": 1})).unwrap_err().contains("unknown param `nope`"));
        let r = Shop::score(&conv(json!(["get me a boss"]), false), &json!({"human_requests": ["boss"]})).unwrap();
        assert_eq!(failing(&r), [MISSED_HANDOFF]);
    }
}
