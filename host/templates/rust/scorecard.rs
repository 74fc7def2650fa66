//! # %%NAME%%
//!
//! A ratchet scorecard. Two criteria, each pointing at the turn it is about:
//!
//! | criterion | fails when |
//! |---|---|
//! | `greets-customer` | the agent's first reply has none of the `greetings` (whole words, any case) |
//! | `answers-every-customer-turn` | a customer turn gets no agent reply (an agent turn with text) before the customer speaks again or the conversation ends |
//!
//! Score = the mean of the two; the failure mode is the first failing criterion.
//! Params: `greetings` (list of phrases, default `["hello", "hi", "welcome", "good morning"]`).

use ratchet_sdk::text::find_any_word_ci;
use ratchet_sdk::{Conversation, CriterionResult, Params, PluginInfo, Role, Scorecard, ScorecardResult, Value};

/// The plugin (all state is in the arguments).
pub struct %%TYPE%%;

impl Scorecard for %%TYPE%% {
    fn info() -> PluginInfo {
        PluginInfo::new("%%NAME%%", env!("CARGO_PKG_VERSION"), "Greets the customer and answers every customer turn")
    }

    fn score(c: &Conversation, params: &Value) -> Result<ScorecardResult, String> {
        let p = Params::new(params)?;
        p.deny_unknown(&["greetings"])?;
        let greetings = p.str_list("greetings", &["hello", "hi", "welcome", "good morning"])?;

        let greets = match c.agent_turns().find(|t| !t.text.is_empty()) {
            None => CriterionResult::fail("greets-customer", "the agent never replied", None),
            Some(t) => match find_any_word_ci(&t.text, &greetings) {
                Some(g) => CriterionResult::pass("greets-customer", format!("turn {} greets the customer (\"{g}\")", t.index)),
                None => CriterionResult::fail("greets-customer", format!("the agent's first reply (turn {}) has no greeting", t.index), Some(t.index)),
            },
        };

        // A customer turn is answered when an agent turn with text follows it
        // before the next customer turn.
        let mut pending: Option<u32> = None;
        let mut unanswered: Option<u32> = None;
        let mut asked = 0;
        for t in &c.turns {
            match t.role {
                Role::Customer => {
                    if let (Some(i), None) = (pending, unanswered) {
                        unanswered = Some(i);
                    }
                    pending = Some(t.index);
                    asked += 1;
                }
                Role::Agent if !t.text.is_empty() => pending = None,
                _ => {}
            }
        }
        if unanswered.is_none() {
            unanswered = pending;
        }
        let answers = match unanswered {
            Some(i) => CriterionResult::fail("answers-every-customer-turn", format!("customer turn {i} got no reply"), Some(i)),
            None => CriterionResult::pass("answers-every-customer-turn", format!("{asked} customer turn(s), each answered")),
        };

        let mut result = ScorecardResult::from_criteria(vec![greets, answers]);
        result.failure_mode = result.first_failure().map(|f| f.name.clone());
        Ok(result)
    }
}

ratchet_sdk::export_scorecard!(%%TYPE%%);
