"""Native tests (no Wasm): ``PYTHONPATH=../../sdk/python python3 -m unittest``.

The golden test runs the Rust original's samples: this port must write the same
bytes as the Rust plugin, sample for sample (and refuse its invalid samples with
the same messages). The unit tests are the Rust plugin's own."""

import unittest
from pathlib import Path

from ratchet_sdk import Observed, PluginError, ToolRequest
from ratchet_sdk.testing import golden_samples, simulator_runner
from subscriptions import CANCEL, LOOKUP, REFUND, Subscriptions

HERE = Path(__file__).resolve().parent
SAMPLES = HERE / "../simulator-subscriptions/samples"
S = Subscriptions()


def lookup(email, status):
    return Observed(request=ToolRequest(LOOKUP, {"email": email}),
                    result={"account_id": "A-1", "subscription_status": status, "plan": "basic", "supervisor_flag": False,
                            "last_charge_amount": 9.99})


def call(world, tool, args):
    answer = S.call(world, ToolRequest(tool, args), {})
    assert answer is not None
    return answer


class GoldenTest(unittest.TestCase):
    def test_samples_match_the_rust_plugins_expected_output(self):
        summary = golden_samples(SAMPLES, 4, simulator_runner(S))
        self.assertGreaterEqual(summary.samples, 6)
        self.assertGreaterEqual(summary.invalid, 2)


class UnitTest(unittest.TestCase):
    def test_seeds_from_the_first_lookup_and_answers_other_paths(self):
        later = lookup("e@x", "cancelled")
        later.request = ToolRequest(LOOKUP, {"account_id": "A-1"})
        world = S.seed([lookup("e@x", "active"), later], {})
        self.assertEqual(world["accounts"]["A-1"]["record"]["subscription_status"], "active", "the state before the conversation")
        # A lookup the recording never made (by id instead of e-mail) is answered.
        self.assertEqual(call(world, LOOKUP, {"account_id": "A-1"}).result["account_id"], "A-1")
        self.assertTrue(call(world, LOOKUP, {"email": "other@x"}).is_error)

    def test_a_cancellation_is_visible_to_later_reads_and_refunds_are_recorded(self):
        world = S.seed([lookup("e@x", "active")], {})
        cancelled = call(world, CANCEL, {"account_id": "A-1"})
        self.assertEqual(cancelled.result["cancelled_subscriptions"], 1)
        self.assertEqual(world["accounts"]["A-1"]["record"]["subscription_status"], "active", "the world passed in is not changed")
        self.assertEqual(call(cancelled.world, LOOKUP, {"email": "e@x"}).result["subscription_status"], "cancelled")
        again = call(cancelled.world, CANCEL, {"account_id": "A-1"})
        self.assertEqual(again.result, {"ok": True, "cancelled_subscriptions": 0}, "as production: ok, nothing cancelled")
        refunded = call(again.world, REFUND, {"account_id": "A-1", "amount": 9.99})
        self.assertEqual(refunded.result["refund_id"], "R-SIM-1")
        self.assertEqual(refunded.world["refunds"], [{"account_id": "A-1", "amount": 9.99}])
        self.assertTrue(call(world, REFUND, {"account_id": "A-9"}).is_error)
        self.assertIsNone(S.call(world, ToolRequest("send_email", {}), {}))

    def test_the_tuesday_case_changes_no_status(self):
        world = S.seed([lookup("e@x", "none")], {})
        after = call(world, CANCEL, {"account_id": "A-1"})
        self.assertEqual(after.world, world, "nothing changes: the harm is what the agent says")

    def test_a_broken_world_is_an_error(self):
        for world in ({}, {"accounts": []}, []):
            with self.assertRaises(PluginError) as e:
                S.call(world, ToolRequest(LOOKUP, {"account_id": "A-1"}), {})
            self.assertEqual(str(e.exception), "the world has no `accounts` object")
        with self.assertRaises(PluginError) as e:
            call({"accounts": {"A-1": {}}, "refunds": {}}, REFUND, {"account_id": "A-1"})
        self.assertEqual(str(e.exception), "world.refunds is not a list")


if __name__ == "__main__":
    unittest.main()
