"""Native tests (no Wasm, no model): ``PYTHONPATH=../../sdk/python python3 -m unittest``.

A native test judge (``ratchet_sdk.judge.set_native_judge``) checks the request the
plugin builds and answers it; the verdict follows the answer. The Rust original's
tests (plugins/assertion-llm-rubric/tests/native.rs), plus: the request for the
example suite's transcript is exactly the one the Rust plugin sent when the
committed recordings (recordings/model/) were made, so it has the same key."""

import hashlib
import json
import unittest
from pathlib import Path

from llm_rubric import MAX_TOKENS, SYSTEM_PROMPT, Config, LlmRubric
from ratchet_sdk import Conversation, PluginError, canonical_json, judge
from ratchet_sdk.judge import JudgeError, Response

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RECORDINGS = REPO / "recordings" / "model"
SCENARIO_QUESTION = ("Did the agent tell the customer the cancellation policy, i.e. that the plan stays active until the end of the "
                     "current billing period?")


def transcript():
    return Conversation.from_json_value({"id": "c1", "channel": "chat", "turns": [
        {"role": "customer", "text": "Please cancel my plan."},
        {"role": "agent", "text": "Done, your plan is cancelled."},
    ]})


def example_transcript(agent_reply):
    """What `ratchet gate` replayed for scenarios/cancellation-policy-confirmed.toml
    (sdk/conformance/judge-transcript.json, shared by every language's judge tests)."""
    text = (REPO / "sdk" / "conformance" / "judge-transcript.json").read_text(encoding="utf-8")
    return Conversation.from_json_value(json.loads(text.replace('"{AGENT_REPLY}"', json.dumps(agent_reply))))


def host_body(req, default_model):
    """The chat completions body the host builds from a request (host/src/llm/recording.rs)."""
    body = {"model": req.model.strip() or default_model, "messages": [{"role": m.role, "content": m.content} for m in req.messages],
            "temperature": req.temperature}
    if req.max_tokens is not None:
        body["max_tokens"] = req.max_tokens
    if req.json_schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": req.json_schema}}
    return body


class NativeTest(unittest.TestCase):
    def tearDown(self):
        judge.set_native_judge(None)

    def test_asks_the_question_about_the_rendered_transcript_and_follows_the_answer(self):
        def answer(req):
            self.assertEqual(req.messages[0].role, "system")
            self.assertEqual(req.messages[0].content, SYSTEM_PROMPT)
            user = req.messages[1].content
            self.assertTrue(user.startswith("QUESTION: Did the agent state the policy?\nGRADING NOTES: quote it\n\nTRANSCRIPT:\n[0] CUSTOMER: Please cancel"),
                            user)
            self.assertEqual((req.temperature, req.max_tokens, req.model), (0.0, 300, ""))
            self.assertEqual(req.json_schema, judge.yes_no_schema())
            return Response.text('{"answer": "no", "reason": "The agent cancelled without stating any policy.", "turn": 1}')

        judge.set_native_judge(answer)
        v = LlmRubric().check(transcript(), {"question": "Did the agent state the policy?", "guidance": "quote it"})
        self.assertFalse(v.passed)
        self.assertEqual(v.reason, "judge: The agent cancelled without stating any policy.")
        self.assertEqual(v.turn, 1)

        judge.set_native_judge(lambda req: Response.text('{"answer": "yes", "reason": "Stated at turn 1.", "turn": 99}'))
        v = LlmRubric().check(transcript(), {"question": "q?"})
        self.assertTrue(v.passed)
        self.assertIsNone(v.turn, "a turn outside the transcript is not trusted")
        judge.set_native_judge(lambda req: '{"answer": "yes", "reason": "  ", "turn": null}')
        self.assertEqual(LlmRubric().check(transcript(), {"question": "q?"}).reason, "judge: yes")

    def test_bad_params_and_bad_answers_are_errors_not_verdicts(self):
        def err(params):
            with self.assertRaises(PluginError) as e:
                LlmRubric().check(transcript(), params)
            return str(e.exception)

        self.assertEqual(err({}), 'param `question` is required: a yes/no question whose "yes" means the agent behaved correctly')
        self.assertEqual(err({"question": " \u3000"}), 'param `question` is required: a yes/no question whose "yes" means the agent behaved correctly')
        self.assertEqual(err({"question": "q?", "typo": 1}), "unknown param `typo`, expected one of `question`, `guidance`, `model`")
        self.assertEqual(err({"question": 3}), "param `question` must be a string, got a number")
        self.assertEqual(err([]), "params must be a JSON object, got an array")
        judge.set_native_judge(lambda req: Response.text("Yes, clearly."))
        self.assertIn("not JSON", err({"question": "q?"}))
        judge.set_native_judge(lambda req: (_ for _ in ()).throw(JudgeError.not_recorded("no recording sha256:ab")))
        self.assertEqual(err({"question": "q?"}), "model answer not recorded: no recording sha256:ab")
        judge.set_native_judge(lambda req: '{"answer": "perhaps", "reason": "", "turn": null}')
        self.assertEqual(err({"question": "q?"}), 'the judge\'s answer has no `answer` of "yes" or "no": {"answer":"perhaps","reason":"","turn":null}')

    def test_params_are_read_as_the_rust_original_reads_them(self):
        c = Config.from_params({"question": "  Did it?\n", "guidance": " notes ", "model": "m-1"})
        self.assertEqual((c.question, c.guidance, c.model), ("Did it?", " notes ", "m-1"))
        c = Config.from_params({"question": "q", "guidance": "\t", "model": None})
        self.assertEqual((c.guidance, c.model), (None, None))
        r = Config.from_params({"question": "q", "model": "gpt-x"}).request(transcript())
        self.assertEqual((r.model, r.max_tokens), ("gpt-x", MAX_TOKENS))
        self.assertEqual(r.messages[1].content, "QUESTION: q\n\nTRANSCRIPT:\n[0] CUSTOMER: Please cancel my plan.\n[1] AGENT: Done, your plan is cancelled.\n")

    def test_the_example_suites_question_is_the_one_the_rust_plugin_recorded(self):
        # recordings/model/: the Rust plugin's questions for agent versions that do and do
        # not state the policy. Same request -> same canonical body -> same file name.
        replies = {
            "a1730988d57665d029c1c8044f209343bc8c1f5c9063fc852471a0abb16aeca5": (
                "Per our cancellation policy, your plan stays active until the end of the current billing period and you won't be "
                "charged again. Your subscription has been cancelled. Is there anything else I can help you with?", True),
            "adecf4dcd85a5596ad4fc4b3f7740f53dab0311727cb28e39a17cafa86bbd461": (
                "Your subscription has been cancelled. Is there anything else I can help you with?", False),
        }
        for key, (reply, passes) in replies.items():
            rec = json.loads((RECORDINGS / f"{key}.json").read_text(encoding="utf-8"))
            t = example_transcript(reply)
            req = Config.from_params({"question": SCENARIO_QUESTION}).request(t)
            body = host_body(req, "reference-judge")
            self.assertEqual(body, rec["request"], key)
            self.assertEqual(hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest(), key)
            # The recorded answer gives the verdict the Rust plugin gave.
            judge.set_native_judge(lambda r, rec=rec: Response(rec["response"]["content"], rec["response"]["model"], f"sha256:{key}"))
            v = LlmRubric().check(t, {"question": SCENARIO_QUESTION})
            self.assertEqual(v.passed, passes, key)
            self.assertTrue(v.reason.startswith("judge: "), v.reason)


if __name__ == "__main__":
    unittest.main()
