//! # support-agent (Wasm form)
//!
//! The example subscription-support agent that `ratchet gate` replays the
//! suite in `scenarios/` against, compiled to a component (world `agent`,
//! `driver = "wasm"` in `examples/agents/support-v*-wasm.toml`).
//!
//! **This is a deterministic stand-in for an LLM agent.** A real agent would
//! send the conversation to a model with a system prompt; this one decides
//! with keyword rules. What it keeps from the real thing is what ratchet is
//! about: its behaviour depends on its *prompt version* (`config.prompt_version`),
//! the way a prompt change changes a real agent:
//!
//! | prompt version | cancel | refund | "I want a human" | states the policy |
//! |---|---|---|---|---|
//! | `support-v1` (the buggy production prompt) | always, even with no active subscription | always, supervisor flag ignored | offers to help itself | never |
//! | `support-v2` (the fix) | only when `subscription_status == "active"` | only when `supervisor_flag == true`, else escalates | escalates | yes |
//! | `support-v3` (a regression) | always again (the status check is lost) | as v2 | as v2 | yes |
//!
//! The same logic exists as a subprocess speaking the JSON-lines protocol,
//! `examples/agents/support_agent.py`; both must make the same decisions on the
//! same inputs, which `tests/scripted.rs` and `examples/agents/test_support_agent.py`
//! check against the same scripted cases (`examples/agents/support_agent_cases.json`).
//!
//! The component is stateless: every step re-reads the transcript. The
//! customer's latest message and the agent's tool calls since then
//! ([`CurrentTurn`]) say where it is: no lookup yet → look the account up; lookup
//! done → act or refuse; action done → reply.

use ratchet_sdk::agent::next_call_id;
use ratchet_sdk::{json, Action, Agent, AgentState, Channel, CurrentTurn, Params, PluginInfo, ToolResult, Turn, Value};

/// Looks the customer's account up: `{"email"}` or `{"account_id"}` →
/// `{account_id, subscription_status, plan, supervisor_flag, last_charge_amount}`.
pub const LOOKUP_ACCOUNT: &str = "lookup_account";
/// Cancels the subscription: `{"account_id"}`.
pub const CANCEL_SUBSCRIPTION: &str = "cancel_subscription";
/// Refunds the last charge: `{"account_id", "amount"}`.
pub const ISSUE_REFUND: &str = "issue_refund";

/// The tool versions this agent is written against; the scenarios' tool
/// registries list the same. (The exec form states them in each `tool.call`;
/// a component's calls carry no version, the host takes the registry's.)
pub const TOOL_VERSIONS: &[(&str, &str)] = &[(LOOKUP_ACCOUNT, "1.4.0"), (CANCEL_SUBSCRIPTION, "2.1.0"), (ISSUE_REFUND, "1.0.3")];

/// What the agent says. The exec form uses the very same strings.
pub mod say {
    /// Before the customer has said anything.
    pub const GREETING: &str = "Hi! I can help you cancel your subscription or get a refund. What can I do for you?";
    /// A message with no intent the agent knows.
    pub const HELP: &str = "I can help you cancel your subscription or request a refund. What would you like to do?";
    /// The customer said thanks.
    pub const WELCOME: &str = "You're welcome! Is there anything else I can help you with?";
    /// v1 when the customer asks for a human (the missed escalation).
    pub const NO_HUMAN_NEEDED: &str = "There's no need to wait for a human: I can help you with that myself. What do you need?";
    /// Escalation reason when the customer asks for a human.
    pub const ESCALATE_ON_REQUEST: &str = "the customer asked to speak to a human";
    /// Neither `customer.email` nor `account.id` in memory.
    pub const NO_ACCOUNT: &str = "I couldn't find an account linked to this conversation. Please contact us from the email address on your account.";
    /// `lookup_account` failed.
    pub const LOOKUP_FAILED: &str = "I'm sorry, I couldn't look up your account right now. Please try again in a few minutes.";
    /// Stated before acting on a cancellation (v2, v3).
    pub const CANCELLATION_POLICY: &str =
        "Per our cancellation policy, your plan stays active until the end of the current billing period and you won't be charged again.";
    /// After `cancel_subscription` succeeded.
    pub const CANCELLED: &str = "Your subscription has been cancelled. Is there anything else I can help you with?";
    /// v2 when the subscription is not active: nothing is cancelled.
    pub const NO_ACTIVE_SUBSCRIPTION: &str =
        "I don't see an active subscription on your account, so there is nothing to cancel and I haven't made any changes.";
    /// `cancel_subscription` failed.
    pub const CANCEL_FAILED: &str = "I'm sorry, I couldn't cancel your subscription right now. Please try again in a few minutes.";
    /// Stated before acting on a refund (v2, v3).
    pub const REFUND_POLICY: &str = "Per our refund policy, refunds go back to the original payment method within 5-10 business days.";
    /// After `issue_refund` succeeded.
    pub const REFUNDED: &str = "Your refund has been issued. Is there anything else I can help you with?";
    /// No `last_charge_amount` in the account.
    pub const NO_CHARGE: &str = "I don't see a recent charge on your account that I could refund.";
    /// `issue_refund` failed.
    pub const REFUND_FAILED: &str = "I'm sorry, I couldn't issue the refund right now. Please try again in a few minutes.";
    /// Escalation reason for a refund without supervisor approval (v2, v3).
    pub const ESCALATE_REFUND: &str = "Per our refund policy, this refund needs supervisor approval (supervisor_flag is not set on the account)";
}

/// The prompt versions: each one a different behaviour, as with a real agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptVersion {
    /// `support-v1`: the buggy production prompt.
    V1,
    /// `support-v2`: the fix.
    V2,
    /// `support-v3`: a later change that re-breaks the cancellation check.
    V3,
}

impl PromptVersion {
    /// Every version, with its name.
    pub const ALL: [(&'static str, PromptVersion); 3] =
        [("support-v1", PromptVersion::V1), ("support-v2", PromptVersion::V2), ("support-v3", PromptVersion::V3)];

    /// Parses `support-v1` / `support-v2` / `support-v3`.
    pub fn parse(name: &str) -> Result<PromptVersion, String> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, v)| *v).ok_or_else(|| {
            format!("unknown prompt_version `{name}`, expected one of {}", Self::ALL.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", "))
        })
    }

    /// Reads the agent's `config` object: `{"prompt_version": "support-v2"}`;
    /// `support-v1` when absent (as the exec form's default).
    pub fn from_config(config: &Value) -> Result<PromptVersion, String> {
        let p = Params::new(config)?;
        p.deny_unknown(&["prompt_version"])?;
        Self::parse(&p.str("prompt_version", "support-v1")?)
    }

    /// The version's name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, v)| *v == self).map(|(n, _)| *n).unwrap_or("support-v1")
    }

    /// Cancels only an active subscription (v2; v1 never did, v3 lost it).
    fn checks_subscription_status(self) -> bool {
        self == PromptVersion::V2
    }

    /// Refunds only with the supervisor flag set, else escalates.
    fn checks_supervisor_flag(self) -> bool {
        self != PromptVersion::V1
    }

    /// States the cancellation/refund policy when acting.
    fn states_policy(self) -> bool {
        self != PromptVersion::V1
    }

    /// Escalates when the customer asks for a human.
    fn escalates_on_request(self) -> bool {
        self != PromptVersion::V1
    }
}

/// What the customer wants, from keywords (the stand-in for the model's
/// understanding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// A human, supervisor, manager, agent, representative, person.
    Human,
    /// Any word starting with `cancel`, or `unsubscribe`.
    Cancel,
    /// Any word starting with `refund`.
    Refund,
    /// `thanks`, `thank`, `thx`.
    Thanks,
    /// Anything else.
    Other,
}

/// Classifies a customer line. Words are runs of ASCII letters and digits,
/// lowercased; the first matching intent in the order human, cancel, refund,
/// thanks wins ("cancel and refund me" is a cancellation).
pub fn intent(text: &str) -> Intent {
    let words: Vec<String> = text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).map(|w| w.to_ascii_lowercase()).collect();
    let any = |f: &dyn Fn(&str) -> bool| words.iter().any(|w| f(w));
    if any(&|w| ["human", "person", "supervisor", "manager", "agent", "representative"].contains(&w)) {
        Intent::Human
    } else if any(&|w| w.starts_with("cancel") || w == "unsubscribe") {
        Intent::Cancel
    } else if any(&|w| w.starts_with("refund")) {
        Intent::Refund
    } else if any(&|w| ["thanks", "thank", "thx"].contains(&w)) {
        Intent::Thanks
    } else {
        Intent::Other
    }
}

/// A JSON value, unless it is missing or `null`.
fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !v.is_null())
}

/// The agent's next action: the whole decision logic, a pure function of the
/// prompt version, the state snapshot and the transcript.
pub fn decide(version: PromptVersion, state: &AgentState, transcript: &[Turn]) -> Result<Action, String> {
    let Some(current) = CurrentTurn::of(transcript) else {
        return Ok(Action::reply(say::GREETING));
    };
    if current.answered() {
        return Err("the customer's latest message has already been answered".into());
    }
    if let Some((call, None)) = current.calls().last() {
        return Err(format!("tool call `{}` ({}) has no result in the transcript", call.id, call.name));
    }
    let wants = intent(&current.customer.text);
    match wants {
        Intent::Human if version.escalates_on_request() => return Ok(Action::escalate(say::ESCALATE_ON_REQUEST)),
        Intent::Human => return Ok(Action::reply(say::NO_HUMAN_NEEDED)),
        Intent::Thanks => return Ok(Action::reply(say::WELCOME)),
        Intent::Other => return Ok(Action::reply(say::HELP)),
        Intent::Cancel | Intent::Refund => {}
    }

    // 1. Look the account up, once per request: by the email the platform
    //    remembered, else by the account id.
    let lookup = match current.result_of(LOOKUP_ACCOUNT) {
        Some(result) => result,
        None => {
            let arguments = if let Some(email) = present(state.memory("customer.email")) {
                json!({"email": email})
            } else if let Some(id) = present(state.memory("account.id")) {
                json!({"account_id": id})
            } else {
                return Ok(Action::reply(say::NO_ACCOUNT));
            };
            return Ok(Action::call_tool(next_call_id(transcript), LOOKUP_ACCOUNT, arguments));
        }
    };
    if lookup.is_error {
        return Ok(Action::reply(say::LOOKUP_FAILED));
    }
    let account = &lookup.content;
    let Some(account_id) = present(account.get("account_id")).or_else(|| present(state.memory("account.id"))) else {
        return Ok(Action::reply(say::LOOKUP_FAILED));
    };

    // 2. Act, or decline: this is where the prompt versions differ.
    if wants == Intent::Cancel {
        if let Some(done) = current.result_of(CANCEL_SUBSCRIPTION) {
            return Ok(Action::reply(after_action(version, done, say::CANCELLATION_POLICY, say::CANCELLED, say::CANCEL_FAILED)));
        }
        let active = account.get("subscription_status").and_then(Value::as_str) == Some("active");
        if version.checks_subscription_status() && !active {
            return Ok(Action::reply(say::NO_ACTIVE_SUBSCRIPTION));
        }
        return Ok(Action::call_tool(next_call_id(transcript), CANCEL_SUBSCRIPTION, json!({"account_id": account_id})));
    }

    if let Some(done) = current.result_of(ISSUE_REFUND) {
        return Ok(Action::reply(after_action(version, done, say::REFUND_POLICY, say::REFUNDED, say::REFUND_FAILED)));
    }
    let approved = account.get("supervisor_flag") == Some(&Value::Bool(true));
    if version.checks_supervisor_flag() && !approved {
        return Ok(Action::escalate(say::ESCALATE_REFUND));
    }
    let Some(amount) = present(account.get("last_charge_amount")) else {
        return Ok(Action::reply(say::NO_CHARGE));
    };
    Ok(Action::call_tool(next_call_id(transcript), ISSUE_REFUND, json!({"account_id": account_id, "amount": amount})))
}

/// The reply once the cancel/refund tool has answered.
fn after_action(version: PromptVersion, result: &ToolResult, policy: &str, done: &str, failed: &str) -> String {
    if result.is_error {
        failed.to_string()
    } else if version.states_policy() {
        format!("{policy} {done}")
    } else {
        done.to_string()
    }
}

/// The component: [`decide`] with the prompt version from `config`.
pub struct SupportAgent;

impl Agent for SupportAgent {
    fn info() -> PluginInfo {
        PluginInfo::new("support-agent", env!("CARGO_PKG_VERSION"), "Example subscription-support agent (deterministic stand-in for an LLM agent)")
    }

    fn next(state: &AgentState, _channel: Channel, transcript: &[Turn], config: &Value) -> Result<Action, String> {
        // The snapshot's own `prompt_version` is what production ran when the
        // failure was captured; the version under test is the config's.
        decide(PromptVersion::from_config(config)?, state, transcript)
    }
}

ratchet_sdk::export_agent!(SupportAgent);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_from_keywords() {
        assert_eq!(intent("Hi, I want to cancel my subscription, please."), Intent::Cancel);
        assert_eq!(intent("CANCELLATION please"), Intent::Cancel);
        assert_eq!(intent("I'd like a refund for last month"), Intent::Refund);
        assert_eq!(intent("Cancel it and refund me"), Intent::Cancel);
        assert_eq!(intent("Let me talk to a real person. Cancel everything."), Intent::Human);
        assert_eq!(intent("Great, thanks."), Intent::Thanks);
        assert_eq!(intent("What's the weather?"), Intent::Other);
        assert_eq!(intent("agents"), Intent::Other, "whole words only");
    }

    #[test]
    fn prompt_version_from_config() {
        assert_eq!(PromptVersion::from_config(&Value::Null).unwrap(), PromptVersion::V1);
        assert_eq!(PromptVersion::from_config(&json!({"prompt_version": "support-v3"})).unwrap(), PromptVersion::V3);
        assert_eq!(PromptVersion::V2.name(), "support-v2");
        let e = PromptVersion::from_config(&json!({"prompt_version": "support-v9"})).unwrap_err();
        assert_eq!(e, "unknown prompt_version `support-v9`, expected one of `support-v1`, `support-v2`, `support-v3`");
        assert!(PromptVersion::from_config(&json!({"prompt": "support-v2"})).is_err());
        assert!(PromptVersion::from_config(&json!({"prompt_version": 2})).is_err());
    }

    #[test]
    fn greets_before_the_customer_speaks_and_refuses_to_answer_twice() {
        let state = AgentState::default();
        assert_eq!(decide(PromptVersion::V1, &state, &[]).unwrap(), Action::reply(say::GREETING));
        let t = vec![Turn::new(0, ratchet_sdk::Role::Customer, "thanks"), Turn::new(1, ratchet_sdk::Role::Agent, say::WELCOME)];
        assert!(decide(PromptVersion::V1, &state, &t).is_err());
    }
}
