"""The model, params, results and golden-test loop of the Python SDK."""

import json
import os
import tempfile
import unittest
from pathlib import Path

from ratchet_sdk import (Conversation, CriterionResult, ModelError, Params, PluginError, ScorecardResult, SuggestedCriterion, Verdict,
                         canonical_json, canonical_json_pretty, truthy, value_text)
from ratchet_sdk.testing import check_golden_samples

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "host" / "tests" / "golden" / "conversation"

MINIMAL = {"id": "c1", "channel": "chat", "turns": [
    {"role": "customer", "text": "I want a human"},
    {"role": "agent", "tool_calls": [{"id": "k1", "name": "lookup_account", "arguments": {"id": 7}}]},
    {"role": "tool", "tool_result": {"call_id": "k1", "content": {"subscription_status": "none"}}},
    {"role": "agent", "text": "Cancelled.", "tool_calls": [{"id": "k2", "name": "cancel_subscription"}]},
    {"role": "tool", "tool_result": {"call_id": "k2", "name": "cancel_subscription", "content": "ok"}},
], "state": {"memory_snapshot": [{"key": "account.subscription_status", "value": "active"}, {"key": "account.supervisor_flag", "value": "yes"}]}}


class Model(unittest.TestCase):
    def test_the_hosts_golden_conversations_round_trip_to_the_same_canonical_json(self):
        for name in ("tuesday-cancellation", "minimal-chat"):
            c = Conversation.from_json((GOLDEN / f"{name}.json").read_bytes())
            expected = json.loads((GOLDEN / f"{name}.expected.json").read_text(encoding="utf-8"))
            self.assertEqual(c.to_json(), canonical_json(expected), name)

    def test_minimal_chat_is_byte_identical_to_the_rust_sdk(self):
        c = Conversation.from_json_value({"id": "chat-1", "channel": "chat", "turns": [{"role": "customer", "text": "hello"},
                                                                                       {"role": "agent", "text": "Hi! How can I help?"}]})
        self.assertEqual(c.to_json(), '{"channel":"chat","id":"chat-1","impact":{"compliance_exposure":0.0,"escalation_cost":0.0,"refund_amount":0.0,'
                                      '"revenue_at_risk":0.0},"outcome":{"complaint":false,"escalated":false},"schema_version":1,"state":{},'
                                      '"turns":[{"role":"customer","text":"hello"},{"role":"agent","text":"Hi! How can I help?"}]}')

    def test_labels_round_trip_sorted_and_must_be_strings(self):
        c = Conversation.from_json_value({"id": "x", "channel": "chat", "turns": [], "labels": {"tier": "gold", "crm": "CS-1"}})
        self.assertEqual(c.labels, {"tier": "gold", "crm": "CS-1"})
        self.assertIn('"labels":{"crm":"CS-1","tier":"gold"}', c.to_json())
        self.assertNotIn("labels", Conversation.from_json_value({"id": "x", "channel": "chat", "turns": []}).to_json(), "none: left out, as in Rust")
        with self.assertRaises(ModelError) as e:
            Conversation.from_json_value({"id": "x", "channel": "chat", "turns": [], "labels": {"n": 3}})
        self.assertIn("conversation.labels.n: expected a string", str(e.exception))

    def test_unknown_fields_and_versions_are_refused(self):
        for bad, msg in [({"id": "x", "channel": "voice", "turns": [], "future": 1}, "unknown field `future`"),
                         ({"id": "x", "channel": "voice", "turns": [{"role": "agent", "txt": ""}]}, "unknown field `txt`"),
                         ({"schema_version": 7, "id": "x", "channel": "voice", "turns": []}, "unknown schema_version 7"),
                         ({"id": "x", "turns": []}, "channel"),
                         ({"id": "x", "channel": "fax", "turns": []}, "fax")]:
            with self.assertRaises(ModelError) as e:
                Conversation.from_json_value(bad)
            self.assertIn(msg, str(e.exception))

    def test_helpers(self):
        c = Conversation.from_json_value(MINIMAL)
        self.assertEqual([t.index for t in c.agent_turns()], [1, 3])
        self.assertEqual([(i, x.name) for i, x in c.tool_calls()], [(1, "lookup_account"), (3, "cancel_subscription")])
        self.assertEqual(c.latest_tool_result("lookup_account")[0], 2)  # the result has no name: found through its call
        self.assertIsNone(c.latest_tool_result("lookup_account", 1))
        key = "account.subscription_status"
        self.assertEqual(c.state_value(key, "lookup_account", 1), "active")
        self.assertEqual(c.state_value(key, "lookup_account", 3), "none")
        self.assertEqual(c.state_fact(key, "lookup_account", 3).source.describe(), "lookup_account result at turn 2")
        self.assertEqual(c.state_fact(key, "lookup_account", 0).source.describe(), "memory account.subscription_status")
        self.assertTrue(truthy(c.memory("account.supervisor_flag")))
        self.assertFalse(truthy(None) or truthy("false") or truthy(0))
        self.assertEqual(value_text(3), "3")
        self.assertEqual(value_text(1.0), "1.0")
        self.assertEqual(value_text({"b": 1, "a": 2}), '{"a":2,"b":1}')
        self.assertIsNone(value_text(None))


class ParamsAndResults(unittest.TestCase):
    def test_params_messages_are_the_rust_sdks(self):
        p = Params({"a": "x", "l": ["p", "q"], "n": 3, "b": True, "s": "one", "f": 2.5})
        self.assertEqual((p.str("a", "d"), p.str_list("s", []), p.u64("n", 0), p.bool("b", False), p.f64("f", 0.0)), ("x", ["one"], 3, True, 2.5))
        with self.assertRaises(PluginError) as e:
            p.deny_unknown(["a", "l", "n", "b", "s"])
        self.assertEqual(str(e.exception), "unknown param `f`, expected one of `a`, `l`, `n`, `b`, `s`")
        for params, call, msg in [
            ({"n": -1}, lambda q: q.u64("n", 0), "param `n` must be a non-negative integer, got -1"),
            ({"n": 1.0}, lambda q: q.u64("n", 0), "param `n` must be a non-negative integer, got 1.0"),
            ({"n": True}, lambda q: q.u64("n", 0), "param `n` must be a non-negative integer, got true"),
            ({"l": ["a", 2]}, lambda q: q.str_list("l", []), "param `l[1]` must be a string, got a number"),
            ({"l": 3}, lambda q: q.str_list("l", []), "param `l` must be a list of strings, got a number"),
            ({"b": "yes"}, lambda q: q.bool("b", False), 'param `b` must be true or false, got "yes"'),
        ]:
            with self.assertRaises(PluginError) as e:
                call(Params(params))
            self.assertEqual(str(e.exception), msg)
        with self.assertRaises(PluginError) as e:
            Params([1])
        self.assertEqual(str(e.exception), "params must be a JSON object, got an array")
        self.assertEqual(Params(None).u64("k", 7), 7)

    def test_result_json_is_the_rust_sdks(self):
        r = ScorecardResult.from_criteria([CriterionResult(name="a", score=1, passed=True, reason="ok", turn=2)])
        r.suggested_criteria.append(SuggestedCriterion("must-escalate", {}, "asked"))
        self.assertEqual(canonical_json(r), '{"criteria":[{"name":"a","passed":true,"reason":"ok","score":1.0,"turn":2}],"flags":[],"score":1.0,'
                                            '"suggested_criteria":[{"kind":"must-escalate","params":{},"reason":"asked"}]}')
        self.assertEqual(canonical_json(Verdict.fail("no", 1)), '{"passed":false,"reason":"no","turn":1}')
        mixed = [CriterionResult.ok("a", ""), CriterionResult.fail("b", "", 3)]
        self.assertEqual(ScorecardResult.from_criteria(mixed).score, 0.5)
        self.assertEqual(ScorecardResult.from_weighted_criteria(mixed, [3, 1]).score, 0.75)
        self.assertEqual(ScorecardResult.from_weighted_criteria(mixed, [0, 0]).score, 1.0)
        self.assertEqual(ScorecardResult.from_criteria([]).score, 1.0)


def echo(data: bytes, options):
    v = json.loads(data)
    if isinstance(v, dict) and "bad" in v:
        raise PluginError(f"bad input: {canonical_json(v['bad'])}")
    return {"input": v, "options": options}


class GoldenLoop(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = self.d = Path(self.tmp.name)
        (d / "invalid").mkdir()
        (d / "a.json").write_text('{"z": 1, "a": 2}')
        (d / "a.options.json").write_text('{"mode": "x"}')
        (d / "a.expected.json").write_text(canonical_json_pretty({"input": {"a": 2, "z": 1}, "options": {"mode": "x"}}))
        (d / "b.jsonl").write_text("[3]")
        (d / "b.expected.json").write_text(canonical_json_pretty({"input": [3], "options": {}}))
        (d / "invalid" / "c.json").write_text('{"bad": "nope"}')
        (d / "invalid" / "c.error.txt").write_text('bad input: "nope"\n')

    def tearDown(self):
        self.tmp.cleanup()

    def test_matching_samples_pass(self):
        ok, summary = check_golden_samples(self.d, 2, False, echo)
        self.assertTrue(ok, summary)
        self.assertEqual((summary.samples, summary.invalid), (2, 1))

    def test_every_kind_of_mismatch_is_reported(self):
        (self.d / "b.expected.json").write_text(canonical_json_pretty({"input": [4], "options": {}}))
        (self.d / "invalid" / "c.error.txt").write_text("something else\n")
        ok, report = check_golden_samples(self.d, 3, False, echo)
        self.assertFalse(ok)
        self.assertIn("b.jsonl: output differs from", report)
        self.assertIn("invalid/c.json: error differs from", report)
        self.assertIn("expected at least 3 samples, found 2", report)
        self.assertNotIn("a.json:", report)

    def test_nondeterminism_is_caught(self):
        calls = []

        def flaky(data, options):
            calls.append(1)
            return {"n": len(calls)}

        ok, report = check_golden_samples(self.d, 2, False, flaky)
        self.assertFalse(ok)
        self.assertIn("not deterministic", report)

    def test_update_rewrites_then_matches(self):
        (self.d / "a.expected.json").write_text("stale\n")
        os.remove(self.d / "b.expected.json")
        self.assertTrue(check_golden_samples(self.d, 2, True, echo)[0])
        self.assertTrue(check_golden_samples(self.d, 2, False, echo)[0])


if __name__ == "__main__":
    unittest.main()
