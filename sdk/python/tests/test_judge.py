"""ratchet_sdk.judge natively: the request builder, the native test judge, the
transcript rendering (checked against what the Rust SDK rendered into the example
suite's committed recordings), yes/no answers and the errors. Run from sdk/python:
``python3 -m unittest discover -s tests``."""

import hashlib
import json
import threading
import unittest
from pathlib import Path

from ratchet_sdk import Conversation, PluginError, Turn, ToolCall, ToolResult, canonical_json, judge, text
from ratchet_sdk.judge import JudgeError, Request, Response, YesNo

REPO = Path(__file__).resolve().parents[3]
RECORDINGS = REPO / "recordings" / "model"


def conv(turns):
    c = Conversation(id="c1", channel="chat")
    for t in turns:
        c.push_turn(t)
    return c


def example_transcript(agent_reply):
    """The example agent's transcript on scenarios/cancellation-policy-confirmed.toml
    (what `ratchet gate` replayed when the committed recordings were made), shared by
    every language's judge tests: sdk/conformance/judge-transcript.json."""
    text = (REPO / "sdk" / "conformance" / "judge-transcript.json").read_text(encoding="utf-8")
    return Conversation.from_json_value(json.loads(text.replace('"{AGENT_REPLY}"', json.dumps(agent_reply))))


class Rendering(unittest.TestCase):
    def test_same_text_as_the_rust_sdk_unit_test(self):
        # sdk/rust/src/judge.rs: transcript_rendering_is_stable_and_indexed
        c = conv([
            Turn(0, "customer", "Cancel\nplease"),
            Turn(0, "agent", tool_calls=[ToolCall("1", "lookup", {"b": 1, "a": 2})]),
            Turn(0, "tool", tool_result=ToolResult("1", "lookup", {"ok": True})),
            Turn(0, "agent", "Done."),
        ])
        self.assertEqual(judge.render_transcript(c),
                         '[0] CUSTOMER: Cancel please\n[1] AGENT calls lookup {"a":2,"b":1}\n[2] TOOL lookup returned {"ok":true}\n[3] AGENT: Done.\n')

    def test_same_text_as_the_rust_plugin_sent_for_the_committed_recordings(self):
        replies = {
            "a1730988d57665d029c1c8044f209343bc8c1f5c9063fc852471a0abb16aeca5": "Per our cancellation policy, your plan stays active until the end of the "
            "current billing period and you won't be charged again. Your subscription has been cancelled. Is there anything else I can help you with?",
            "adecf4dcd85a5596ad4fc4b3f7740f53dab0311727cb28e39a17cafa86bbd461": "Your subscription has been cancelled. Is there anything else I can help you with?",
        }
        for key, reply in replies.items():
            rec = json.loads((RECORDINGS / f"{key}.json").read_text(encoding="utf-8"))
            user = rec["request"]["messages"][1]["content"]
            rendered = user.split("\nTRANSCRIPT:\n", 1)[1]
            self.assertEqual(judge.render_transcript(example_transcript(reply)), rendered, key)
            # Floats stay floats (49.0), keys sorted: the canonical JSON of the Rust SDK.
            self.assertIn('"last_charge_amount":49.0,', rendered)

    def test_whitespace_newlines_errors_and_empty_turns(self):
        c = conv([
            Turn(0, "customer", "\u3000 Hi\n\nthere \u0085"),
            Turn(0, "agent", "\x1c"),                       # not White_Space in Rust: kept
            Turn(0, "agent", " \t\u2028"),                  # only whitespace: empty
            Turn(0, "agent", "Let me check.\r\n", tool_calls=[ToolCall("k", "refund", {"amount": 10.5, "note": "caf\u00e9 \"x\"\n"}), ToolCall("k2", "noop")]),
            Turn(0, "tool", tool_result=ToolResult("k", "refund", {"error": "denied"}, is_error=True)),
            Turn(0, "system", ""),
        ])
        self.assertEqual(judge.render_transcript(c), "".join([
            "[0] CUSTOMER: Hi  there\n",
            "[1] AGENT: \x1c\n",
            "[2] AGENT: (empty)\n",
            "[3] AGENT: Let me check.\n",
            '[3] AGENT calls refund {"amount":10.5,"note":"caf\u00e9 \\"x\\"\\n"}\n',
            "[3] AGENT calls noop null\n",
            '[4] TOOL refund failed with {"error":"denied"}\n',
            "[5] SYSTEM: (empty)\n",
        ]))

    def test_trim_is_rusts(self):
        self.assertEqual(text.trim("\u0085\u00a0x y\u3000\u2029"), "x y")
        self.assertEqual(text.trim("\x1cx\x1f"), "\x1cx\x1f")        # Python's strip() would remove these
        self.assertEqual(text.trim("\ufeffx\u200b"), "\ufeffx\u200b")  # JavaScript's trim() would remove U+FEFF
        self.assertEqual(text.trim(" \t\n\r\x0b\x0c "), "")


class Requests(unittest.TestCase):
    def test_builder(self):
        r = Request().system("sys").user("q").assistant("a").with_model("m1").with_max_tokens(300).schema(judge.yes_no_schema())
        self.assertEqual([(m.role, m.content) for m in r.messages], [("system", "sys"), ("user", "q"), ("assistant", "a")])
        self.assertEqual((r.model, r.max_tokens, r.temperature), ("m1", 300, 0.0))
        self.assertEqual(r.json_schema["required"], ["answer", "reason", "turn"])
        self.assertEqual(Request(), Request(model="", messages=[], temperature=0.0, max_tokens=None, json_schema=None))
        self.assertEqual(Request().with_temperature(1).temperature, 1.0)
        with self.assertRaises(TypeError):
            Request().user(3)

    def test_yes_no_schema_is_the_rust_one(self):
        # The canonical text the Rust SDK sends as json-schema (sdk/rust/src/judge.rs yes_no_schema).
        self.assertEqual(canonical_json(judge.yes_no_schema()),
                         '{"additionalProperties":false,"properties":{"answer":{"enum":["yes","no"],"type":"string"},"reason":{"type":"string"},'
                         '"turn":{"type":["integer","null"]}},"required":["answer","reason","turn"],"type":"object"}')

    def test_the_committed_recordings_are_keyed_by_the_request_this_sdk_builds(self):
        # The host keys a recording by sha256 of the canonical chat completions body;
        # rebuild that body from a Python request and find the Rust plugin's file.
        for path in sorted(RECORDINGS.glob("*.json")):
            rec = json.loads(path.read_text(encoding="utf-8"))
            sent = rec["request"]
            r = Request().system(sent["messages"][0]["content"]).user(sent["messages"][1]["content"]).with_max_tokens(300).schema(judge.yes_no_schema())
            body = {"model": "reference-judge", "messages": [{"role": m.role, "content": m.content} for m in r.messages], "temperature": r.temperature,
                    "max_tokens": r.max_tokens, "response_format": {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": r.json_schema}}}
            self.assertEqual(body, sent)
            self.assertEqual(hashlib.sha256(canonical_json(body).encode()).hexdigest(), path.stem)


class NativeJudge(unittest.TestCase):
    def tearDown(self):
        judge.set_native_judge(None)

    def test_the_native_judge_answers_and_sees_the_request(self):
        seen = []

        def answer(req):
            seen.append(req)
            return Response.text('  {"answer": "no", "reason": " never said it ", "turn": 1}\n')

        judge.set_native_judge(answer)
        req = Request().system("s").user("q").schema(judge.yes_no_schema())
        v, r = judge.complete_json(req)
        self.assertEqual(v, {"answer": "no", "reason": " never said it ", "turn": 1})
        self.assertEqual((r.model, r.key), ("native-test-judge", ""))
        self.assertIs(seen[0], req)
        self.assertEqual(judge.parse_yes_no(v, 2), YesNo(yes=False, reason="never said it", turn=1))
        # A plain string is the answer's text.
        judge.set_native_judge(lambda req: "[1]")
        self.assertEqual(judge.complete(req).content, "[1]")

    def test_no_judge_is_unavailable_and_judges_are_per_thread(self):
        with self.assertRaises(JudgeError) as e:
            judge.complete(Request().user("q"))
        self.assertEqual(e.exception.kind, "unavailable")
        self.assertEqual(str(e.exception), "model unavailable: no judge in a native test: install one with ratchet_sdk.judge.set_native_judge")
        judge.set_native_judge(lambda req: "yes")
        other = []
        t = threading.Thread(target=lambda: other.append(self._kind(lambda: judge.complete(Request().user("q")))))
        t.start()
        t.join()
        self.assertEqual(other, ["unavailable"])
        self.assertEqual(judge.complete(Request().user("q")).content, "yes")

    @staticmethod
    def _kind(f):
        try:
            f()
            return None
        except JudgeError as e:
            return e.kind

    def test_errors_read_like_the_rust_sdk_and_are_plugin_errors(self):
        cases = [(JudgeError.denied("add grant_model = true"), "denied", "model call denied: add grant_model = true"),
                 (JudgeError.not_recorded("sha256:ab"), "not_recorded", "model answer not recorded: sha256:ab"),
                 (JudgeError.unavailable("HTTP 500"), "unavailable", "model unavailable: HTTP 500"),
                 (JudgeError.invalid("temperature 3 is outside 0..=2"), "invalid", "invalid model request: temperature 3 is outside 0..=2")]
        for err, kind, message in cases:
            self.assertIsInstance(err, PluginError)
            self.assertEqual((err.kind, str(err)), (kind, message))
            judge.set_native_judge(lambda req, err=err: (_ for _ in ()).throw(err))
            with self.assertRaises(PluginError) as e:
                judge.complete_json(Request().user("q"))
            self.assertEqual(str(e.exception), message)
        with self.assertRaises(ValueError):
            JudgeError("nope", "x")

    def test_an_answer_that_is_not_json(self):
        judge.set_native_judge(lambda req: "Yes, clearly.")
        with self.assertRaises(PluginError) as e:
            judge.complete_json(Request().user("q"))
        self.assertTrue(str(e.exception).startswith("the judge's answer is not JSON ("), str(e.exception))
        self.assertTrue(str(e.exception).endswith("): Yes, clearly."), str(e.exception))


class YesNoAnswers(unittest.TestCase):
    def test_as_the_rust_sdk_reads_them(self):
        # sdk/rust/src/judge.rs: yes_no_answers_are_checked
        v = {"answer": "Yes", "reason": " ok ", "turn": 3}
        self.assertEqual(judge.parse_yes_no(v, 4), YesNo(yes=True, reason="ok", turn=3))
        self.assertIsNone(judge.parse_yes_no(v, 3).turn)
        with self.assertRaises(PluginError) as e:
            judge.parse_yes_no({"answer": "maybe"}, 3)
        self.assertEqual(str(e.exception), 'the judge\'s answer has no `answer` of "yes" or "no": {"answer":"maybe"}')

    def test_turns_must_be_unsigned_integers(self):
        for turn in (3.0, -1, True, "3", None, 2 ** 64):
            self.assertIsNone(judge.parse_yes_no({"answer": "no", "turn": turn}, 10 ** 30).turn, turn)
        self.assertEqual(judge.parse_yes_no({"answer": "\u00a0NO\u3000", "turn": 0}, 1), YesNo(yes=False, reason="", turn=0))
        # As serde_json reads them: `-0` and integers beyond u64 are floats, so no turn.
        for text in ('{"answer": "no", "turn": -0}', '{"answer": "no", "turn": 18446744073709551616}'):
            judge.set_native_judge(lambda req, text=text: text)
            answer, _ = judge.complete_json(Request().user("q"))
            self.assertIsNone(judge.parse_yes_no(answer, 10 ** 30).turn, text)
        judge.set_native_judge(None)
        from ratchet_sdk import canonical
        self.assertEqual(canonical.dumps(canonical.loads("[-0, 18446744073709551615, 18446744073709551616, -9223372036854775809]")),
                         "[-0.0,18446744073709551615,1.8446744073709552e+19,-9.223372036854776e+18]")

    def test_only_ascii_case_folding_and_anything_not_an_object_is_refused(self):
        for bad in ({"answer": "y\u0130s"}, {"answer": 1}, ["yes"], "yes", None, {"reason": "yes"}):
            with self.assertRaises(PluginError):
                judge.parse_yes_no(bad, 3)
        with self.assertRaises(PluginError) as e:
            judge.parse_yes_no({"b": 1.0, "a": [None]}, 3)
        self.assertTrue(str(e.exception).endswith(': {"a":[null],"b":1.0}'))

    def test_reason_line(self):
        self.assertEqual(YesNo(True, "Stated at turn 1.", None).reason_line(), "judge: Stated at turn 1.")
        self.assertEqual(YesNo(True, "", None).reason_line(), "judge: yes")
        self.assertEqual(YesNo(False, "", 2).reason_line(), "judge: no")


if __name__ == "__main__":
    unittest.main()
