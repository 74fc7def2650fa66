//! The plugin without Wasm or a model: a native test judge (per thread) checks the
//! prompt the plugin builds and answers it; the verdict follows the answer.

use assertion_llm_rubric::{LlmRubric, SYSTEM_PROMPT};
use ratchet_sdk::judge::{self, JudgeError, Response, Role};
use ratchet_sdk::{json, Assertion, Channel, Conversation, Role as R, Turn};

fn transcript() -> Conversation {
    let mut c = Conversation::new("c1", Channel::Chat);
    c.push_turn(Turn::new(0, R::Customer, "Please cancel my plan."));
    c.push_turn(Turn::new(0, R::Agent, "Done, your plan is cancelled."));
    c
}

#[test]
fn asks_the_question_about_the_rendered_transcript_and_follows_the_answer() {
    judge::set_native_judge(|req| {
        assert_eq!(req.messages[0].role, Role::System);
        assert_eq!(req.messages[0].content, SYSTEM_PROMPT);
        let user = &req.messages[1].content;
        assert!(user.starts_with("QUESTION: Did the agent state the policy?\nGRADING NOTES: quote it\n\nTRANSCRIPT:\n[0] CUSTOMER: Please cancel"), "{user}");
        assert_eq!(req.temperature, 0.0);
        assert!(req.json_schema.is_some());
        Ok(Response::text(r#"{"answer": "no", "reason": "The agent cancelled without stating any policy.", "turn": 1}"#))
    });
    let v = LlmRubric::check(&transcript(), &json!({"question": "Did the agent state the policy?", "guidance": "quote it"})).unwrap();
    assert!(!v.passed);
    assert_eq!(v.reason, "judge: The agent cancelled without stating any policy.");
    assert_eq!(v.turn, Some(1));

    judge::set_native_judge(|_| Ok(Response::text(r#"{"answer": "yes", "reason": "Stated at turn 1.", "turn": 99}"#)));
    let v = LlmRubric::check(&transcript(), &json!({"question": "q?"})).unwrap();
    assert!(v.passed);
    assert_eq!(v.turn, None, "a turn outside the transcript is not trusted");
}

#[test]
fn bad_params_and_bad_answers_are_errors_not_verdicts() {
    assert!(LlmRubric::check(&transcript(), &json!({})).unwrap_err().contains("param `question` is required"));
    assert!(LlmRubric::check(&transcript(), &json!({"question": "q?", "typo": 1})).is_err());
    judge::set_native_judge(|_| Ok(Response::text("Yes, clearly.")));
    assert!(LlmRubric::check(&transcript(), &json!({"question": "q?"})).unwrap_err().contains("not JSON"));
    judge::set_native_judge(|_| Err(JudgeError::NotRecorded("no recording sha256:ab".into())));
    assert!(LlmRubric::check(&transcript(), &json!({"question": "q?"})).unwrap_err().contains("no recording sha256:ab"));
}
