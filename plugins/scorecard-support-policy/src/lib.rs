//! # scorecard-support-policy
//!
//! A ratchet scorecard for subscription-support conversations. It checks four
//! criteria, each pointing at the turn that broke it:
//!
//! | criterion | fails when |
//! |---|---|
//! | `no-action-contradicting-account-state` | the agent called `cancel_subscription` while the subscription status was not `active`, or `issue_refund` without the supervisor flag set |
//! | `no-false-confirmation` | an agent turn claims a cancellation/refund happened ("cancelled", "refund has been issued") that the state does not support |
//! | `policy-confirmed-in-time` | the agent cancelled or refunded without stating the policy (`policy_phrases`) in that turn, the `policy_within_turns` agent turns before, or the reply that reports the action |
//! | `escalation-when-asked` | the customer asked for a human/supervisor/manager and the agent did not escalate |
//!
//! The account state is read from the latest `lookup_account` result before
//! the action (field named like the key's last segment), else from the memory
//! snapshot (`account.subscription_status`, `account.supervisor_flag`).
//!
//! Score = mean of the four criterion scores. Failing criteria add flags
//! (`compliance:refund-without-supervisor`...), a failure mode (the most severe
//! failure) and suggested scenario criteria in the gate's built-in kinds.
//!
//! Every tool name, state key and phrase list is a parameter; see [`Config`].

use std::cell::Cell;

use ratchet_sdk::text::{phrases_pattern, Lowercased, Phrases};
use ratchet_sdk::{
    json, truthy, value_text, Conversation, CriterionResult, Params, PluginInfo, Role, Scorecard, ScorecardResult, StateFact, StateSource, SuggestedCriterion,
    ToolCall, Value,
};

/// Criterion names, as they appear in results.
pub const ACTION_VS_STATE: &str = "no-action-contradicting-account-state";
/// See [`ACTION_VS_STATE`].
pub const FALSE_CONFIRMATION: &str = "no-false-confirmation";
/// See [`ACTION_VS_STATE`].
pub const POLICY_IN_TIME: &str = "policy-confirmed-in-time";
/// See [`ACTION_VS_STATE`].
pub const ESCALATION: &str = "escalation-when-asked";

/// The plugin (a unit struct: all state is in the arguments).
pub struct SupportPolicy;

/// Parameters, with their defaults. Exists so the checks read as prose and
/// the defaults are documented in one place.
#[derive(Debug, Clone)]
pub struct Config {
    /// Tool that cancels a subscription (`cancel_subscription`).
    pub cancel_tool: String,
    /// Tool that issues a refund (`issue_refund`).
    pub refund_tool: String,
    /// Tool that hands the customer to a human (`escalate`).
    pub escalate_tool: String,
    /// Tool whose result carries the account state (`lookup_account`).
    pub lookup_tool: String,
    /// State key of the subscription status (`account.subscription_status`).
    pub status_key: String,
    /// Status that allows a cancellation (`active`).
    pub active_value: String,
    /// State key of the supervisor approval flag (`account.supervisor_flag`).
    pub supervisor_key: String,
    /// Phrases that state the policy (`cancellation policy`, `refund policy`).
    pub policy_phrases: Vec<String>,
    /// How many agent turns before the action the policy may be stated (3).
    pub policy_within_turns: u64,
    /// Phrases claiming a cancellation happened.
    pub cancel_claims: Vec<String>,
    /// Phrases claiming a refund happened.
    pub refund_claims: Vec<String>,
    /// Phrases by which a customer asks for a human.
    pub escalation_requests: Vec<String>,
}

impl Config {
    /// Reads `params` (a JSON object or null), applying defaults.
    pub fn from_params(params: &Value) -> Result<Config, String> {
        let p = Params::new(params)?;
        p.deny_unknown(&[
            "cancel_tool",
            "refund_tool",
            "escalate_tool",
            "lookup_tool",
            "status_key",
            "active_value",
            "supervisor_key",
            "policy_phrases",
            "policy_within_turns",
            "cancel_claims",
            "refund_claims",
            "escalation_requests",
        ])?;
        Ok(Config {
            cancel_tool: p.str("cancel_tool", "cancel_subscription")?,
            refund_tool: p.str("refund_tool", "issue_refund")?,
            escalate_tool: p.str("escalate_tool", "escalate")?,
            lookup_tool: p.str("lookup_tool", "lookup_account")?,
            status_key: p.str("status_key", "account.subscription_status")?,
            active_value: p.str("active_value", "active")?,
            supervisor_key: p.str("supervisor_key", "account.supervisor_flag")?,
            policy_phrases: p.str_list("policy_phrases", &["cancellation policy", "refund policy"])?,
            policy_within_turns: p.u64("policy_within_turns", 3)?,
            cancel_claims: p.str_list(
                "cancel_claims",
                &["cancelled", "canceled", "cancellation is complete", "cancellation has been processed", "cancellation is confirmed"],
            )?,
            refund_claims: p.str_list(
                "refund_claims",
                &["refund has been issued", "refund has been processed", "issued a refund", "issued your refund", "processed your refund", "refunded"],
            )?,
            escalation_requests: p.str_list(
                "escalation_requests",
                &["human", "real person", "live agent", "supervisor", "manager", "representative", "speak to someone", "talk to someone"],
            )?,
        })
    }
}

/// What every check needs, computed once per `score` call: phrase lists
/// lower-cased once, each agent turn's text lower-cased once and its claims
/// found once, the cancel/refund calls, the escalation request.
struct Ctx<'a> {
    c: &'a Conversation,
    cfg: &'a Config,
    /// Agent turns, in order.
    agent: Vec<AgentTurn<'a>>,
    /// Calls of the cancel or refund tool, with their turn index, in order.
    actions: Vec<(u32, &'a ToolCall)>,
    policy: Phrases<'a>,
    /// The first customer turn asking for a human, with the phrase.
    escalation_request: Option<(u32, &'a str)>,
}

struct AgentTurn<'a> {
    index: u32,
    text: Lowercased<'a>,
    /// The cancellation claim the turn affirms, if any.
    cancel_claim: Option<&'a str>,
    /// The refund claim the turn affirms, if any.
    refund_claim: Option<&'a str>,
    /// Whether the turn states the policy, once asked.
    states_policy: Cell<Option<bool>>,
}

impl<'a> Ctx<'a> {
    fn new(c: &'a Conversation, cfg: &'a Config) -> Ctx<'a> {
        let cancel_claims = Phrases::new(&cfg.cancel_claims);
        let refund_claims = Phrases::new(&cfg.refund_claims);
        let agent = c
            .agent_turns()
            .map(|t| {
                let text = Lowercased::new(&t.text);
                let cancel_claim = cancel_claims.find_affirmed_in(&text);
                let refund_claim = refund_claims.find_affirmed_in(&text);
                AgentTurn { index: t.index, text, cancel_claim, refund_claim, states_policy: Cell::new(None) }
            })
            .collect();
        let actions = c.tool_calls().filter(|(_, t)| t.name == cfg.cancel_tool || t.name == cfg.refund_tool).collect();
        let requests = Phrases::new(&cfg.escalation_requests);
        let escalation_request =
            c.turns.iter().filter(|t| t.role == Role::Customer).find_map(|t| requests.find_word_in(&Lowercased::new(&t.text)).map(|p| (t.index, p)));
        Ctx { c, cfg, agent, actions, policy: Phrases::new(&cfg.policy_phrases), escalation_request }
    }

    /// The cancel/refund calls of tool `name` (like `Conversation::tool_calls_named`).
    fn actions_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s (u32, &'a ToolCall)> + 's {
        self.actions.iter().filter(move |(_, call)| call.name == name)
    }

    /// Does agent turn `t` state the policy?
    fn states_policy(&self, t: &AgentTurn<'_>) -> bool {
        if let Some(known) = t.states_policy.get() {
            return known;
        }
        let found = self.policy.find_in(&t.text).is_some();
        t.states_policy.set(Some(found));
        found
    }
}

/// One failing check: what goes into the criterion, flags, failure mode and
/// suggestions.
struct Finding {
    turn: u32,
    reason: String,
    flag: &'static str,
    failure_mode: &'static str,
    /// The scenario criterion that guards against it; `None` when another finding's
    /// criterion already covers the case (see `policy_in_time`).
    suggestion: Option<SuggestedCriterion>,
}

impl Scorecard for SupportPolicy {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "scorecard-support-policy",
            env!("CARGO_PKG_VERSION"),
            "Subscription support: actions vs account state, false confirmations, policy stated, escalation",
        )
    }

    fn score(c: &Conversation, params: &Value) -> Result<ScorecardResult, String> {
        let cfg = Config::from_params(params)?;
        let ctx = Ctx::new(c, &cfg);
        // Order = severity, most severe first (picks the failure mode).
        let checks: [(&str, Vec<Finding>, String); 4] = [
            (ACTION_VS_STATE, action_vs_state(&ctx), action_ok(&ctx)),
            (FALSE_CONFIRMATION, false_confirmations(&ctx), claims_ok(&ctx)),
            (POLICY_IN_TIME, policy_in_time(&ctx), policy_ok(&ctx)),
            (ESCALATION, escalation(&ctx), escalation_ok(&ctx)),
        ];

        let mut criteria = Vec::new();
        let mut flags: Vec<String> = Vec::new();
        let mut failure_mode = None;
        let mut suggested: Vec<SuggestedCriterion> = Vec::new();
        for (name, findings, ok_reason) in checks {
            let Some(first) = findings.first() else {
                criteria.push(CriterionResult::pass(name, ok_reason));
                continue;
            };
            let mut reason = first.reason.clone();
            if findings.len() > 1 {
                reason.push_str(&format!(" (and {} more)", findings.len() - 1));
            }
            criteria.push(CriterionResult::fail(name, reason, Some(first.turn)));
            failure_mode.get_or_insert(first.failure_mode);
            for f in findings {
                if !flags.iter().any(|x| x == f.flag) {
                    flags.push(f.flag.to_string());
                }
                // One suggestion per distinct criterion (kind + params).
                if let Some(sg) = f.suggestion {
                    if !suggested.iter().any(|s| s.kind == sg.kind && s.params == sg.params) {
                        suggested.push(sg);
                    }
                }
            }
        }

        let mut result = ScorecardResult::from_criteria(criteria);
        result.flags = flags;
        result.failure_mode = failure_mode.map(str::to_string);
        result.suggested_criteria = suggested;
        Ok(result)
    }
}

ratchet_sdk::export_scorecard!(SupportPolicy);

/// A state value for reasons: strings quoted, other JSON as is, or `unknown`.
fn shown(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "unknown".to_string(),
        // Canonical (sorted keys): the same text natively and in the component,
        // whatever serde_json features the build unifies.
        Some(v) => ratchet_sdk::json::canonical_string(v),
    }
}

/// Where a fact came from, for reasons: ` (lookup_account result at turn 2)`.
fn from_where(f: &Option<StateFact<'_>>) -> String {
    match f {
        Some(f) => format!(" ({})", f.source.describe()),
        None => " (no lookup result or memory entry)".to_string(),
    }
}

/// The scenario condition that would have allowed the call, in the gate's
/// `unless` syntax, based on where the state was read.
fn unless(f: &Option<StateFact<'_>>, key: &str, equals: Value) -> Value {
    match f.as_ref().map(|f| &f.source) {
        Some(StateSource::ToolResult { tool, field, .. }) => {
            json!({"tool_result": tool, "field": field, "equals": equals})
        }
        _ => json!({"state": key, "equals": equals}),
    }
}

/// Was the call `call_id` answered with an error?
fn call_failed(c: &Conversation, call_id: &str) -> bool {
    c.tool_result_for(call_id).is_some_and(|r| r.is_error)
}

/// Is a cancellation allowed at turn `turn` (status equals the active value)?
fn cancel_allowed<'c>(c: &'c Conversation, cfg: &Config, turn: u32) -> (bool, Option<StateFact<'c>>) {
    let fact = c.state_fact(&cfg.status_key, &cfg.lookup_tool, turn);
    let ok = fact.as_ref().is_some_and(|f| value_text(Some(f.value)).as_deref() == Some(cfg.active_value.as_str()));
    (ok, fact)
}

/// Is a refund allowed at turn `turn` (supervisor flag set)?
fn refund_allowed<'c>(c: &'c Conversation, cfg: &Config, turn: u32) -> (bool, Option<StateFact<'c>>) {
    let fact = c.state_fact(&cfg.supervisor_key, &cfg.lookup_tool, turn);
    (truthy(fact.as_ref().map(|f| f.value)), fact)
}

// ---- (a) destructive actions vs account state ------------------------------

fn action_vs_state(ctx: &Ctx<'_>) -> Vec<Finding> {
    let (c, cfg) = (ctx.c, ctx.cfg);
    let mut out = Vec::new();
    for &(turn, call) in &ctx.actions {
        if call.name == cfg.cancel_tool {
            let (ok, fact) = cancel_allowed(c, cfg, turn);
            if !ok {
                out.push(Finding {
                    turn,
                    reason: format!(
                        "the agent called {} while {} was {}{}, not \"{}\"",
                        cfg.cancel_tool,
                        cfg.status_key,
                        shown(fact.as_ref().map(|f| f.value)),
                        from_where(&fact),
                        cfg.active_value
                    ),
                    flag: "compliance:cancellation-without-active-subscription",
                    failure_mode: "cancellation-without-active-subscription",
                    suggestion: Some(SuggestedCriterion::new(
                        "must-not-call-tool",
                        json!({
                            "tool": cfg.cancel_tool,
                            "unless": unless(&fact, &cfg.status_key, json!(cfg.active_value)),
                        }),
                        format!("{} was called although {} was not \"{}\"", cfg.cancel_tool, cfg.status_key, cfg.active_value),
                    )),
                });
            }
        } else if call.name == cfg.refund_tool {
            let (ok, fact) = refund_allowed(c, cfg, turn);
            if !ok {
                out.push(Finding {
                    turn,
                    reason: format!(
                        "the agent called {} while {} was {}{}, not true",
                        cfg.refund_tool,
                        cfg.supervisor_key,
                        shown(fact.as_ref().map(|f| f.value)),
                        from_where(&fact)
                    ),
                    flag: "compliance:refund-without-supervisor",
                    failure_mode: "refund-without-supervisor-flag",
                    suggestion: Some(SuggestedCriterion::new(
                        "must-not-call-tool",
                        json!({
                            "tool": cfg.refund_tool,
                            "unless": unless(&fact, &cfg.supervisor_key, json!(true)),
                        }),
                        format!("{} was called without {} set", cfg.refund_tool, cfg.supervisor_key),
                    )),
                });
            }
        }
    }
    out
}

fn action_ok(ctx: &Ctx<'_>) -> String {
    let cfg = ctx.cfg;
    let n = ctx.actions.len();
    if n == 0 {
        format!("no {} or {} call", cfg.cancel_tool, cfg.refund_tool)
    } else {
        format!("{n} cancellation/refund call(s), each allowed by the account state")
    }
}

// ---- (b) false confirmations -----------------------------------------------

/// A claim is supported when an earlier (or same-turn) call of the matching
/// tool did not fail and, for cancellations, the subscription was active at
/// that call.
fn false_confirmations(ctx: &Ctx<'_>) -> Vec<Finding> {
    let (c, cfg) = (ctx.c, ctx.cfg);
    let mut out = Vec::new();
    // The earliest turn whose cancellation (refund) call succeeded, and was allowed:
    // a confirmation at or after it is backed. Worked out once, at the first claim,
    // not per claim (per claim, a long conversation with many claims and actions cost
    // claims x actions x turns). Actions are in turn order, so the first that
    // qualifies is the earliest.
    let (mut first_cancel, mut first_refund) = (None, None);
    for t in &ctx.agent {
        if let Some(phrase) = t.cancel_claim {
            let first = *first_cancel.get_or_insert_with(|| {
                ctx.actions_named(&cfg.cancel_tool).find(|&&(i, call)| !call_failed(c, &call.id) && cancel_allowed(c, cfg, i).0).map(|&(i, _)| i)
            });
            let supported = first.is_some_and(|i| i <= t.index);
            if !supported {
                let (_, fact) = cancel_allowed(c, cfg, t.index);
                out.push(Finding {
                    turn: t.index,
                    reason: format!(
                        "the agent said \"{phrase}\" but no {} succeeded while {} was \"{}\"; it is {}{}",
                        cfg.cancel_tool,
                        cfg.status_key,
                        cfg.active_value,
                        shown(fact.as_ref().map(|f| f.value)),
                        from_where(&fact)
                    ),
                    flag: "false-confirmation",
                    failure_mode: "false-cancellation-confirmation",
                    suggestion: Some(SuggestedCriterion::new(
                        "must-not-say",
                        json!({"pattern": phrases_pattern(&cfg.cancel_claims, true)}),
                        format!("the agent confirmed a cancellation that did not happen (\"{phrase}\")"),
                    )),
                });
            }
        }
        if let Some(phrase) = t.refund_claim {
            let first = *first_refund.get_or_insert_with(|| ctx.actions_named(&cfg.refund_tool).find(|&&(_, call)| !call_failed(c, &call.id)).map(|&(i, _)| i));
            let supported = first.is_some_and(|i| i <= t.index);
            if !supported {
                out.push(Finding {
                    turn: t.index,
                    reason: format!("the agent said \"{phrase}\" but no {} call succeeded before it", cfg.refund_tool),
                    flag: "false-confirmation",
                    failure_mode: "false-refund-confirmation",
                    suggestion: Some(SuggestedCriterion::new(
                        "must-not-say",
                        json!({"pattern": phrases_pattern(&cfg.refund_claims, true)}),
                        format!("the agent confirmed a refund that did not happen (\"{phrase}\")"),
                    )),
                });
            }
        }
    }
    out
}

fn claims_ok(ctx: &Ctx<'_>) -> String {
    let n = ctx.agent.iter().filter(|t| t.cancel_claim.is_some() || t.refund_claim.is_some()).count();
    if n == 0 {
        "the agent confirmed no cancellation or refund".to_string()
    } else {
        format!("{n} confirmation(s), each backed by a successful, allowed action")
    }
}

// ---- (c) policy stated in time -------------------------------------------------

fn policy_in_time(ctx: &Ctx<'_>) -> Vec<Finding> {
    let cfg = ctx.cfg;
    let mut out = Vec::new();
    for &(turn, call) in &ctx.actions {
        // The acting turn itself plus the `policy_within_turns` agent turns before it,
        // and the reply that reports the action to the customer (agents commonly say
        // "Per our policy... Your subscription has been cancelled" right after the call).
        let mut window = ctx.agent.iter().filter(|t| t.index <= turn).rev().take(cfg.policy_within_turns as usize + 1);
        let next_customer = ctx.c.turns.iter().skip(turn as usize + 1).position(|t| t.role == Role::Customer).map(|p| turn as usize + 1 + p);
        let closing = ctx
            .agent
            .iter()
            .find(|t| t.index > turn && next_customer.is_none_or(|n| (t.index as usize) < n) && !ctx.c.turns[t.index as usize].text.trim().is_empty());
        if window.any(|t| ctx.states_policy(t)) || closing.is_some_and(|t| ctx.states_policy(t)) {
            continue;
        }
        // "State the policy before acting" only guards actions the account state
        // allowed; a disallowed action's scenario must forbid the action itself
        // (the must-not-call-tool suggestion above), or the fix — declining —
        // would fail the scenario for not stating a policy it had no reason to.
        let allowed = if call.name == cfg.cancel_tool { cancel_allowed(ctx.c, cfg, turn).0 } else { refund_allowed(ctx.c, cfg, turn).0 };
        out.push(Finding {
            turn,
            reason: format!(
                "the agent called {} without stating the policy ({}) within {} agent turn(s) before",
                call.name,
                cfg.policy_phrases.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", "),
                cfg.policy_within_turns
            ),
            flag: "compliance:policy-not-confirmed",
            failure_mode: "policy-not-confirmed",
            suggestion: allowed.then(|| {
                SuggestedCriterion::new(
                    "must-say",
                    json!({
                        "pattern": phrases_pattern(&cfg.policy_phrases, false),
                        "within_turns": cfg.policy_within_turns,
                        "when_called": call.name,
                    }),
                    format!("the policy must be stated before {} runs", call.name),
                )
            }),
        });
    }
    out
}

fn policy_ok(ctx: &Ctx<'_>) -> String {
    if !ctx.actions.is_empty() {
        "the policy was stated before every cancellation/refund".to_string()
    } else {
        "no cancellation or refund to confirm a policy for".to_string()
    }
}

// ---- (d) escalation when asked ------------------------------------------------

fn escalated(c: &Conversation, cfg: &Config, after: u32) -> bool {
    c.outcome.escalated || c.tool_calls().any(|(i, t)| t.name == cfg.escalate_tool && i >= after)
}

fn escalation(ctx: &Ctx<'_>) -> Vec<Finding> {
    let cfg = ctx.cfg;
    match ctx.escalation_request {
        Some((turn, phrase)) if !escalated(ctx.c, cfg, turn) => vec![Finding {
            turn,
            reason: format!(
                "the customer asked for a {phrase} but the conversation was not escalated (no {} call, outcome.escalated is false)",
                cfg.escalate_tool
            ),
            flag: "missed-escalation",
            failure_mode: "missed-escalation",
            suggestion: Some(SuggestedCriterion::new("must-escalate", json!({}), format!("the customer asked for a {phrase}"))),
        }],
        _ => Vec::new(),
    }
}

fn escalation_ok(ctx: &Ctx<'_>) -> String {
    match ctx.escalation_request {
        Some((turn, phrase)) => {
            format!("the customer asked for a {phrase} at turn {turn} and the conversation was escalated")
        }
        None => "the customer did not ask for a human".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(turns: Value, memory: Value, escalated: bool) -> Conversation {
        Conversation::from_json(
            &json!({
                "id": "t", "channel": "chat", "turns": turns,
                "outcome": {"escalated": escalated},
                "state": {"memory_snapshot": memory},
            })
            .to_string(),
        )
        .unwrap()
    }

    fn crit<'a>(r: &'a ScorecardResult, name: &str) -> &'a CriterionResult {
        r.criteria.iter().find(|c| c.name == name).unwrap()
    }

    #[test]
    fn empty_conversation_passes_everything() {
        let r = SupportPolicy::score(&conv(json!([]), json!([]), false), &Value::Null).unwrap();
        assert_eq!(r.score, 1.0);
        assert!(r.all_passed() && r.flags.is_empty() && r.failure_mode.is_none());
        assert_eq!(r.criteria.len(), 4);
    }

    #[test]
    fn cancel_with_unknown_status_fails_and_suggests_the_state_condition() {
        let c = conv(
            json!([{"role": "agent", "text": "Per our cancellation policy, cancelling.",
                    "tool_calls": [{"id": "1", "name": "cancel_subscription", "arguments": {}}]}]),
            json!([]),
            false,
        );
        let r = SupportPolicy::score(&c, &json!({})).unwrap();
        let a = crit(&r, ACTION_VS_STATE);
        assert!(!a.passed && a.turn == Some(0), "{a:?}");
        assert!(a.reason.contains("unknown"), "{}", a.reason);
        assert_eq!(
            r.suggested_criteria[0].params,
            json!({"tool": "cancel_subscription", "unless": {"state": "account.subscription_status", "equals": "active"}})
        );
        assert!(crit(&r, POLICY_IN_TIME).passed);
        assert_eq!(r.score, 0.75);
    }

    #[test]
    fn refund_with_supervisor_flag_in_memory_is_allowed() {
        let c = conv(
            json!([
                {"role": "agent", "text": "Under our refund policy you qualify.",
                 "tool_calls": [{"id": "r", "name": "issue_refund", "arguments": {"amount": 20}}]},
                {"role": "tool", "tool_result": {"call_id": "r", "name": "issue_refund", "content": {"ok": true}}},
                {"role": "agent", "text": "Your refund has been issued."}
            ]),
            json!([{"key": "account.supervisor_flag", "value": true}]),
            false,
        );
        let r = SupportPolicy::score(&c, &json!({})).unwrap();
        assert!(r.all_passed(), "{r:?}");
    }

    #[test]
    fn policy_outside_the_window_fails_and_window_is_a_param() {
        let mut turns = vec![json!({"role": "agent", "text": "Our cancellation policy: no refunds."})];
        for _ in 0..3 {
            turns.push(json!({"role": "agent", "text": "Let me check."}));
        }
        turns.push(json!({"role": "agent", "tool_calls": [{"id": "c", "name": "cancel_subscription"}]}));
        let c = conv(Value::Array(turns), json!([{"key": "account.subscription_status", "value": "active"}]), false);
        let r = SupportPolicy::score(&c, &json!({})).unwrap();
        let p = crit(&r, POLICY_IN_TIME);
        assert!(!p.passed && p.turn == Some(4), "{p:?}");
        assert_eq!(r.failure_mode.as_deref(), Some("policy-not-confirmed"));
        // The suggested criterion only applies when the agent takes the action.
        let s = r.suggested_criteria.iter().find(|s| s.kind == "must-say").expect("must-say suggested");
        assert_eq!(s.params["when_called"], "cancel_subscription");
        let r = SupportPolicy::score(&c, &json!({"policy_within_turns": 4})).unwrap();
        assert!(crit(&r, POLICY_IN_TIME).passed);
    }

    #[test]
    fn policy_in_the_reply_reporting_the_action_counts_but_not_after_the_customer_spoke() {
        let reply = |text: &str| {
            json!([
                {"role": "customer", "text": "Cancel my plan."},
                {"role": "agent", "tool_calls": [{"id": "c", "name": "cancel_subscription"}]},
                {"role": "tool", "tool_result": {"call_id": "c", "name": "cancel_subscription", "content": {"ok": true}}},
                {"role": "agent", "text": text},
                {"role": "customer", "text": "Thanks."},
                {"role": "agent", "text": "Per our cancellation policy, your plan stays active until the period ends."}
            ])
        };
        let active = json!([{"key": "account.subscription_status", "value": "active"}]);
        let r = SupportPolicy::score(&conv(reply("Per our cancellation policy... It has been cancelled."), active.clone(), false), &json!({})).unwrap();
        assert!(crit(&r, POLICY_IN_TIME).passed, "{r:?}");
        let r = SupportPolicy::score(&conv(reply("It has been cancelled."), active, false), &json!({})).unwrap();
        assert!(!crit(&r, POLICY_IN_TIME).passed, "{r:?}");
    }

    #[test]
    fn escalation_request_honoured_by_tool_or_outcome() {
        let turns = json!([
            {"role": "customer", "text": "Let me talk to your manager."},
            {"role": "agent", "text": "I can help you myself."}
        ]);
        let r = SupportPolicy::score(&conv(turns.clone(), json!([]), false), &json!({})).unwrap();
        let e = crit(&r, ESCALATION);
        assert!(!e.passed && e.turn == Some(0));
        assert_eq!(r.failure_mode.as_deref(), Some("missed-escalation"));
        assert_eq!(r.suggested_criteria[0].kind, "must-escalate");
        assert!(SupportPolicy::score(&conv(turns, json!([]), true), &json!({})).unwrap().all_passed());
        let with_tool = json!([
            {"role": "customer", "text": "I want a supervisor"},
            {"role": "agent", "tool_calls": [{"id": "e", "name": "escalate"}]}
        ]);
        assert!(SupportPolicy::score(&conv(with_tool, json!([]), false), &json!({})).unwrap().all_passed());
    }

    #[test]
    fn negated_claims_are_not_confirmations() {
        let c = conv(json!([{"role": "agent", "text": "Your subscription has not been cancelled."}]), json!([]), false);
        assert!(SupportPolicy::score(&c, &json!({})).unwrap().all_passed());
    }

    #[test]
    fn bad_params_are_errors() {
        let c = conv(json!([]), json!([]), false);
        assert_eq!(
            SupportPolicy::score(&c, &json!({"policy_within_turns": "3"})).unwrap_err(),
            "param `policy_within_turns` must be a non-negative integer, got \"3\""
        );
        assert!(SupportPolicy::score(&c, &json!([])).is_err());
        assert!(SupportPolicy::score(&c, &json!({"policy_within_turn": 3})).unwrap_err().starts_with("unknown param `policy_within_turn`"));
    }
}
