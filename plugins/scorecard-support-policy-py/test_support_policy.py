"""Native tests (no Wasm): ``PYTHONPATH=../../sdk/python python3 -m unittest``.

The golden test runs the Rust original's samples: this port must write the same
bytes as the Rust plugin, sample for sample."""

import unittest
from pathlib import Path

from ratchet_sdk import Conversation, PluginError
from ratchet_sdk.testing import golden_samples, scorecard_runner
from support_policy import ACTION_VS_STATE, ESCALATION, POLICY_IN_TIME, SupportPolicy

HERE = Path(__file__).resolve().parent
SAMPLES = HERE / "../scorecard-support-policy/samples"


def conv(turns, memory=(), escalated=False):
    return Conversation.from_json_value({"id": "t", "channel": "chat", "turns": list(turns), "outcome": {"escalated": escalated},
                                         "state": {"memory_snapshot": list(memory)}})


def crit(r, name):
    return next(c for c in r.criteria if c.name == name)


class GoldenTest(unittest.TestCase):
    def test_samples_match_the_rust_plugins_expected_output(self):
        summary = golden_samples(SAMPLES, 3, scorecard_runner(SupportPolicy()))
        self.assertGreaterEqual(summary.samples, 3)


class UnitTest(unittest.TestCase):
    def setUp(self):
        self.p = SupportPolicy()

    def test_empty_conversation_passes_everything(self):
        r = self.p.score(conv([]), None)
        self.assertEqual(r.score, 1.0)
        self.assertTrue(r.all_passed())
        self.assertEqual(len(r.criteria), 4)

    def test_cancel_with_unknown_status_fails_and_suggests_the_state_condition(self):
        r = self.p.score(conv([{"role": "agent", "text": "Per our cancellation policy, cancelling.",
                                "tool_calls": [{"id": "1", "name": "cancel_subscription", "arguments": {}}]}]), {})
        a = crit(r, ACTION_VS_STATE)
        self.assertFalse(a.passed)
        self.assertEqual(a.turn, 0)
        self.assertIn("unknown", a.reason)
        self.assertEqual(r.suggested_criteria[0].params,
                         {"tool": "cancel_subscription", "unless": {"state": "account.subscription_status", "equals": "active"}})
        self.assertTrue(crit(r, POLICY_IN_TIME).passed)
        self.assertEqual(r.score, 0.75)

    def test_policy_window_is_a_param(self):
        turns = [{"role": "agent", "text": "Our cancellation policy: no refunds."}] + [{"role": "agent", "text": "Let me check."}] * 3
        turns.append({"role": "agent", "tool_calls": [{"id": "c", "name": "cancel_subscription"}]})
        c = conv(turns, [{"key": "account.subscription_status", "value": "active"}])
        self.assertFalse(crit(self.p.score(c, {}), POLICY_IN_TIME).passed)
        self.assertTrue(crit(self.p.score(c, {"policy_within_turns": 4}), POLICY_IN_TIME).passed)

    def test_escalation_request_honoured_by_outcome(self):
        turns = [{"role": "customer", "text": "Let me talk to your manager."}, {"role": "agent", "text": "I can help you myself."}]
        e = crit(self.p.score(conv(turns), {}), ESCALATION)
        self.assertFalse(e.passed)
        self.assertTrue(self.p.score(conv(turns, escalated=True), {}).all_passed())

    def test_bad_params_are_errors_with_the_rust_messages(self):
        with self.assertRaises(PluginError) as e:
            self.p.score(conv([]), {"policy_within_turns": "3"})
        self.assertEqual(str(e.exception), "param `policy_within_turns` must be a non-negative integer, got \"3\"")
        with self.assertRaises(PluginError):
            self.p.score(conv([]), [])
        with self.assertRaises(PluginError) as e:
            self.p.score(conv([]), {"policy_within_turn": 3})
        self.assertTrue(str(e.exception).startswith("unknown param `policy_within_turn`"))


if __name__ == "__main__":
    unittest.main()
