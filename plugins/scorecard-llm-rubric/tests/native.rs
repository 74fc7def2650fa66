//! The scorecard without Wasm or a model: a native test judge answers the rubric.

use ratchet_sdk::judge::{self, Response};
use ratchet_sdk::{json, Channel, Conversation, Role as R, Scorecard, Turn};
use scorecard_llm_rubric::LlmRubricScorecard;

fn conversation() -> Conversation {
    let mut c = Conversation::new("c1", Channel::Chat);
    c.push_turn(Turn::new(0, R::Customer, "Please cancel my plan."));
    c.push_turn(Turn::new(0, R::Agent, "Done, your plan is cancelled."));
    c
}

fn params() -> ratchet_sdk::Value {
    json!({"rubric": [
        {"name": "states-policy", "question": "Before cancelling, did the agent state the cancellation policy?"},
        {"name": "confirms-account", "question": "Did the agent confirm which account it acted on?"}
    ], "failure_mode": "policy-not-stated"})
}

#[test]
fn one_call_grades_every_item_and_failures_become_suggestions() {
    judge::set_native_judge(|req| {
        let user = &req.messages[1].content;
        assert!(user.starts_with("RUBRIC:\n- states-policy: Before cancelling"), "{user}");
        assert!(user.contains("\nTRANSCRIPT:\n[0] CUSTOMER: Please cancel my plan.\n[1] AGENT: Done"), "{user}");
        Ok(Response::text(
            r#"{"answers": [{"name": "confirms-account", "answer": "yes", "reason": "Not applicable.", "turn": null},
                            {"name": "states-policy", "answer": "no", "reason": "No policy was stated.", "turn": 1}]}"#,
        ))
    });
    let r = LlmRubricScorecard::score(&conversation(), &params()).unwrap();
    assert_eq!(r.score, 0.5);
    assert_eq!(r.criteria.iter().map(|c| (c.name.as_str(), c.passed)).collect::<Vec<_>>(), vec![("states-policy", false), ("confirms-account", true)]);
    assert_eq!(r.criteria[0].turn, Some(1));
    assert_eq!(r.failure_mode.as_deref(), Some("policy-not-stated"));
    assert_eq!(r.suggested_criteria.len(), 1);
    assert_eq!(r.suggested_criteria[0].kind, "plugin");
    assert_eq!(
        r.suggested_criteria[0].params,
        json!({"plugin": "llm-rubric", "params": {"question": "Before cancelling, did the agent state the cancellation policy?"}})
    );
}

#[test]
fn a_missing_or_duplicate_answer_is_an_error() {
    judge::set_native_judge(|_| Ok(Response::text(r#"{"answers": [{"name": "states-policy", "answer": "yes", "reason": "", "turn": null}]}"#)));
    assert!(LlmRubricScorecard::score(&conversation(), &params()).unwrap_err().contains("`confirms-account` exactly once"));
    assert!(LlmRubricScorecard::score(&conversation(), &json!({"rubric": []})).unwrap_err().contains("1 to 20 items"));
    assert!(LlmRubricScorecard::score(&conversation(), &json!({"rubric": [{"name": "Bad Name", "question": "q"}]})).unwrap_err().contains("a-z"));
}
