"""The example support agent in JavaScript on the agent SDK (support_agent.mjs here):
the same actions as the hand-written agent on the shared scripted cases, tools run
for real outside the gate, and under the real `ratchet gate` on the example suite the
same verdicts, criteria and transcripts as the hand-written agent (support-v1
blocked, support-v2 passed, support-v3 blocked).

Run: python3 -m unittest discover -s examples/agents/js
(needs node, the ratchet binary and the plugins: see examples/agents/gated.py)
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sdk"))
import gated  # noqa: E402
from test_sdk_agent import chat, play_cases  # noqa: E402

AGENT = ["node", os.path.join(HERE, "support_agent.mjs")]


class JsSdkAgent(unittest.TestCase):
    def test_same_actions_as_the_hand_written_agent_on_the_scripted_cases(self):
        self.assertGreaterEqual(play_cases(self, AGENT), 20)

    def test_outside_the_gate_the_tools_run_for_real(self):
        out = chat(AGENT + ["--chat", "--email", "dana@example.com", "--prompt-version", "support-v2"], ["Cancel my subscription"])
        self.assertEqual(out, ["I don't see an active subscription on your account, so there is nothing to cancel and I haven't made any changes."])
        out = chat(AGENT + ["--chat", "--email", "nobody@example.com", "--prompt-version", "support-v2"], ["Cancel my subscription"])
        self.assertEqual(out, ["I'm sorry, I couldn't look up your account right now. Please try again in a few minutes."])

    def test_under_the_gate_the_same_verdicts_as_the_hand_written_agent(self):
        for version in gated.VERSIONS:
            with self.subTest(version=version):
                ref_code, ref = gated.reference(version)
                code, report, stderr = gated.gate("examples/agents/js/%s.toml" % version)
                self.assertIsNotNone(report, stderr)
                self.assertEqual(code, gated.EXPECTED_EXIT[version], stderr)
                self.assertEqual(ref_code, gated.EXPECTED_EXIT[version])
                self.assertEqual(report["agent"], "support-agent %s" % version)
                self.assertEqual(gated.scenario_results(report), gated.scenario_results(ref))


if __name__ == "__main__":
    unittest.main()
