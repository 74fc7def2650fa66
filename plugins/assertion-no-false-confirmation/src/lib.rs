//! # assertion-no-false-confirmation
//!
//! A ratchet assertion (scenario criterion of kind `plugin`): the transcript
//! fails when an agent turn *claims* an action happened (one of `claims`, e.g.
//! "cancelled") while the account state does not support it (`state_key` does
//! not equal `required_value` at that turn).
//!
//! Params (all optional):
//!
//! | param | default | meaning |
//! |---|---|---|
//! | `claims` | `["cancelled", "canceled", "cancellation is complete", "cancellation has been processed"]` | phrases that claim the action (whole words, any case; negated mentions such as "not cancelled" do not count) |
//! | `state_key` | `account.subscription_status` | the state that must support the claim |
//! | `required_value` | `"active"` | the value it must have (any JSON; `"true"` equals `true`) |
//! | `lookup_tool` | `lookup_account` | tool whose latest result (field = last segment of `state_key`) is preferred over the memory snapshot |
//!
//! The state is the one the agent could see at the claiming turn: the latest
//! `lookup_tool` result up to that turn, else the memory snapshot entry.

use ratchet_sdk::text::find_affirmed_ci;
use ratchet_sdk::{value_text, Assertion, Conversation, Params, PluginInfo, Value, Verdict};

/// The plugin (a unit struct: all state is in the arguments).
pub struct NoFalseConfirmation;

/// Default claim phrases.
pub const DEFAULT_CLAIMS: &[&str] = &["cancelled", "canceled", "cancellation is complete", "cancellation has been processed"];

/// What the plugin checks, read from params with defaults.
#[derive(Debug, Clone)]
pub struct Config {
    /// Phrases that claim the action happened.
    pub claims: Vec<String>,
    /// State key that must support the claim.
    pub state_key: String,
    /// Value the state must have.
    pub required_value: Value,
    /// Tool whose result carries the state.
    pub lookup_tool: String,
}

impl Config {
    /// Reads `params` (a JSON object or null), applying defaults.
    pub fn from_params(params: &Value) -> Result<Config, String> {
        let p = Params::new(params)?;
        p.deny_unknown(&["claims", "state_key", "required_value", "lookup_tool"])?;
        let claims = p.str_list("claims", DEFAULT_CLAIMS)?;
        if claims.iter().all(|c| c.trim().is_empty()) {
            return Err("param `claims` must contain at least one non-empty phrase".into());
        }
        Ok(Config {
            claims,
            state_key: p.str("state_key", "account.subscription_status")?,
            required_value: p.get("required_value").cloned().unwrap_or_else(|| Value::from("active")),
            lookup_tool: p.str("lookup_tool", "lookup_account")?,
        })
    }
}

/// A JSON value for messages: strings quoted, other JSON as is.
fn shown(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "unknown".to_string(),
        // Canonical (sorted keys): the same text natively and in the component,
        // whatever serde_json features the build unifies.
        Some(v) => ratchet_sdk::json::canonical_string(v),
    }
}

impl Assertion for NoFalseConfirmation {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "assertion-no-false-confirmation",
            env!("CARGO_PKG_VERSION"),
            "Fails when the agent claims an action the account state does not support",
        )
    }

    fn check(transcript: &Conversation, params: &Value) -> Result<Verdict, String> {
        let cfg = Config::from_params(params)?;
        let required = value_text(Some(&cfg.required_value));
        let mut supported_claims = 0;
        for turn in transcript.agent_turns() {
            let Some(phrase) = find_affirmed_ci(&turn.text, &cfg.claims) else {
                continue;
            };
            let fact = transcript.state_fact(&cfg.state_key, &cfg.lookup_tool, turn.index);
            let value = fact.as_ref().map(|f| f.value);
            if value.is_some() && value_text(value) == required {
                supported_claims += 1;
                continue;
            }
            let source = match &fact {
                Some(f) => format!(" ({})", f.source.describe()),
                None => " (no lookup result or memory entry)".to_string(),
            };
            return Ok(Verdict::fail(
                format!(
                    "turn {}: the agent said \"{phrase}\" but {} is {}{source}, not {}",
                    turn.index,
                    cfg.state_key,
                    shown(value),
                    shown(Some(&cfg.required_value)),
                ),
                Some(turn.index),
            ));
        }
        Ok(Verdict::pass(if supported_claims == 0 {
            format!("no agent turn claims {}", cfg.claims.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", "))
        } else {
            format!("{supported_claims} claim(s), each made while {} was {}", cfg.state_key, shown(Some(&cfg.required_value)))
        }))
    }
}

ratchet_sdk::export_assertion!(NoFalseConfirmation);

#[cfg(test)]
mod tests {
    use super::*;
    use ratchet_sdk::json;

    fn conv(turns: Value, memory: Value) -> Conversation {
        Conversation::from_json(&json!({"id": "t", "channel": "chat", "turns": turns, "state": {"memory_snapshot": memory}}).to_string()).unwrap()
    }

    #[test]
    fn claim_without_state_fails_at_that_turn() {
        let c = conv(json!([{"role": "customer", "text": "cancel"}, {"role": "agent", "text": "It's CANCELLED."}]), json!([]));
        let v = NoFalseConfirmation::check(&c, &Value::Null).unwrap();
        assert!(!v.passed);
        assert_eq!(v.turn, Some(1));
        assert_eq!(
            v.reason,
            "turn 1: the agent said \"cancelled\" but account.subscription_status is unknown (no lookup result or memory entry), not \"active\""
        );
    }

    #[test]
    fn claim_with_active_memory_passes() {
        let c = conv(json!([{"role": "agent", "text": "Your plan is canceled."}]), json!([{"key": "account.subscription_status", "value": "active"}]));
        let v = NoFalseConfirmation::check(&c, &json!({})).unwrap();
        assert!(v.passed, "{v:?}");
        assert_eq!(v.reason, "1 claim(s), each made while account.subscription_status was \"active\"");
    }

    #[test]
    fn custom_claims_key_and_boolean_value() {
        let c = conv(json!([{"role": "agent", "text": "Your refund has been issued."}]), json!([{"key": "account.supervisor_flag", "value": "true"}]));
        let params = json!({"claims": ["refund has been issued"], "state_key": "account.supervisor_flag", "required_value": true});
        assert!(NoFalseConfirmation::check(&c, &params).unwrap().passed);
        let c = conv(json!([{"role": "agent", "text": "Your refund has been issued."}]), json!([]));
        assert!(!NoFalseConfirmation::check(&c, &params).unwrap().passed);
    }

    #[test]
    fn no_claim_passes_and_negations_do_not_count() {
        let c = conv(json!([{"role": "agent", "text": "It has not been cancelled."}]), json!([]));
        let v = NoFalseConfirmation::check(&c, &Value::Null).unwrap();
        assert!(v.passed);
        assert!(v.reason.starts_with("no agent turn claims \"cancelled\""), "{}", v.reason);
    }

    #[test]
    fn bad_params_are_errors() {
        let c = conv(json!([]), json!([]));
        assert_eq!(NoFalseConfirmation::check(&c, &json!({"claims": 3})).unwrap_err(), "param `claims` must be a list of strings, got a number");
        assert!(NoFalseConfirmation::check(&c, &json!({"claims": [""]})).is_err());
        assert_eq!(
            NoFalseConfirmation::check(&c, &json!({"state": "x"})).unwrap_err(),
            "unknown param `state`, expected one of `claims`, `state_key`, `required_value`, `lookup_tool`"
        );
    }
}
