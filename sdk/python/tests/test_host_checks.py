"""The native sample runners check results as the sandbox does: a scorecard, assertion
or adapter whose result the component glue would trap on or the host would refuse
(wrong type, NaN or out-of-range score, a turn outside the conversation, params that
are not an object, an empty conversation id, an oversized output) fails its native
test with the host's words, instead of passing natively and trapping in Wasm."""

import json
import unittest

from ratchet_sdk import Conversation, Converted, CriterionResult, PluginInfo, ScorecardResult, SuggestedCriterion, Verdict
from ratchet_sdk.testing import MAX_OUTPUT_BYTES, MalformedOutput, adapter_runner, assertion_runner, scorecard_runner

CONVERSATION = {
    "schema_version": 1, "id": "c-1", "channel": "chat", "started_at": "2026-11-24T09:31:04Z",
    "turns": [{"role": "customer", "text": "hi"}, {"role": "agent", "text": "hello"}],
}
DATA = json.dumps(CONVERSATION).encode()


class Returns:
    def __init__(self, value):
        self.value = value

    def info(self):
        return PluginInfo("x", "0.1.0", "returns what it is given")

    def score(self, conversation, params):
        return self.value

    def check(self, transcript, params):
        return self.value

    def convert(self, data, options):
        return self.value


def crit(**kw):
    base = {"name": "c", "score": 1.0, "passed": True, "reason": ""}
    base.update(kw)
    return CriterionResult(**base)


class ScorecardChecks(unittest.TestCase):
    def refused(self, value, words):
        with self.assertRaises(MalformedOutput) as e:
            scorecard_runner(Returns(value))(DATA, {})
        self.assertIn(words, str(e.exception))

    def test_a_good_result_passes(self):
        r = ScorecardResult.from_criteria([crit(turn=1), crit(name="d", score=0.0, passed=False)])
        self.assertIs(scorecard_runner(Returns(r))(DATA, {}), r)

    def test_what_the_sandbox_refuses_is_refused(self):
        self.refused({"score": 1.0}, "score must return a ScorecardResult, got dict")
        self.refused(ScorecardResult(score=float("nan")), "score is NaN, outside [0, 1]")
        self.refused(ScorecardResult(score=1.5), "score is 1.5, outside [0, 1]")
        self.refused(ScorecardResult(score="1"), "score must be a number, got str")
        self.refused(ScorecardResult(score=1.0, criteria=[crit(score=float("inf"))]), "criteria[0] (`c`).score is inf, outside [0, 1]")
        self.refused(ScorecardResult(score=1.0, criteria=[crit(turn=2)]), "criteria[0] (`c`) points at turn 2, but the conversation has 2 turns")
        self.refused(ScorecardResult(score=1.0, criteria=[crit(passed="false")]), "criteria[0] (`c`).passed must be a bool, got str")
        self.refused(ScorecardResult(score=1.0, criteria=[{"name": "c"}]), "criteria[0] must be a CriterionResult, got dict")
        self.refused(ScorecardResult(score=1.0, flags=[1]), "flags[0] must be a str, got int")
        self.refused(ScorecardResult(score=1.0, suggested_criteria=[SuggestedCriterion("must-say", ["x"])]), "suggested_criteria[0].params must be a JSON object")
        big = "x" * (MAX_OUTPUT_BYTES + 1)
        self.refused(ScorecardResult(score=1.0, flags=[big]), "over the host's limit")


class AssertionAndAdapterChecks(unittest.TestCase):
    def test_verdicts(self):
        sample = json.dumps({"transcript": CONVERSATION, "params": {}}).encode()
        ok = Verdict(passed=True, reason="fine", turn=1)
        self.assertIs(assertion_runner(Returns(ok))(sample, {}), ok)
        for value, words in [(True, "check must return a Verdict, got bool"), (Verdict(passed=1), "verdict.passed must be a bool, got int"),
                             (Verdict(passed=False, turn=5), "verdict points at turn 5, but the conversation has 2 turns")]:
            with self.assertRaises(MalformedOutput) as e:
                assertion_runner(Returns(value))(sample, {})
            self.assertIn(words, str(e.exception))

    def test_conversions(self):
        c = Conversation.from_json(DATA)
        ok = [Converted(conversation=c, missing=["state"])]
        self.assertIs(adapter_runner(Returns(ok))(b"raw", {}), ok)
        nameless = Conversation.from_json(DATA)
        nameless.id = ""
        for value, words in [(c, "convert's result must be a list of Converted, got Conversation"), ([c], "conversations[0] must be a Converted, got Conversation"),
                             ([Converted(conversation=nameless)], "conversations[0]: id is empty"),
                             ([Converted(conversation=c, missing=[None])], "conversations[0].missing[0] must be a str, got NoneType")]:
            with self.assertRaises(MalformedOutput) as e:
                adapter_runner(Returns(value))(b"raw", {})
            self.assertIn(words, str(e.exception))


if __name__ == "__main__":
    unittest.main()
