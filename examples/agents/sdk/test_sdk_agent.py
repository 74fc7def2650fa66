"""The example support agent rewritten on the agent SDK (support_agent.py here):
the same actions as the hand-written agent on the shared scripted cases, tools run
for real outside the gate, and under the real `ratchet gate` on the example suite
the same verdicts, criteria and transcripts as the hand-written agent at each version
(support-v1 blocked, support-v2 passed, support-v3 blocked).

Run: python3 -m unittest discover -s examples/agents/sdk
(needs the ratchet binary and the plugins: see examples/agents/gated.py)
"""

import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import gated  # noqa: E402

AGENT = os.path.join(HERE, "support_agent.py")
NO_FIXTURE = {"error": "no recorded fixture for this call"}


def canonical(value):
    """Fixture key: as the gate matches arguments, `49` and `49.0` are the same (a
    JavaScript agent sends 49)."""
    def norm(v):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return v
    return json.dumps(norm(value), sort_keys=True, separators=(",", ":"))


def play_cases(test, command, versions=gated.VERSIONS, env=None):
    """Plays examples/agents/support_agent_cases.json (the cases both hand-written forms
    of the agent are held to) against `command + [--prompt-version V]` over the
    protocol, one process per version, one session after another. Returns the
    number of cases played."""
    with open(os.path.join(gated.HERE, "support_agent_cases.json")) as f:
        cases = json.load(f)["cases"]
    played = 0
    for version in versions:
        mine = [c for c in cases if version in c["prompt_versions"]]
        proc = subprocess.Popen(command + ["--prompt-version", version], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        try:
            def send(**m):
                proc.stdin.write(json.dumps(m) + "\n")
                proc.stdin.flush()

            def recv():
                line = proc.stdout.readline()
                if not line:
                    raise AssertionError("the agent exited (%s): %s" % (proc.wait(10), proc.stderr.read()))
                return json.loads(line)

            send(type="hello", protocol=1)
            test.assertEqual(recv()["type"], "ready")
            for n, case in enumerate(mine):
                session = "s%d" % n
                with test.subTest(case=case["name"], version=version):
                    fixtures = {(t["name"], canonical(t["arguments"])): t for t in case["tools"]}
                    send(type="session.start", session=session, scenario="case", channel="chat",
                         state={"memory_snapshot": case["memory"]})
                    for i, step in enumerate(case["conversation"]):
                        if "customer" in step:
                            send(type="customer.message", session=session, text=step["customer"])
                            continue
                        msg = recv()
                        test.assertEqual(msg["session"], session)
                        if "call" in step:
                            test.assertEqual((msg["type"], msg["name"], msg["arguments"]), ("tool.call", step["call"], step["arguments"]),
                                             "step %d" % i)
                            fixture = fixtures.get((msg["name"], canonical(msg["arguments"])))
                            content, is_error = (fixture["result"], fixture.get("is_error", False)) if fixture else (NO_FIXTURE, True)
                            send(type="tool.result", session=session, call_id=msg["call_id"], content=content, is_error=is_error)
                        elif "reply" in step:
                            test.assertEqual((msg["type"], msg.get("text")), ("agent.message", step["reply"]), "step %d" % i)
                        else:
                            test.assertEqual((msg["type"], msg.get("reason")), ("escalate", step["escalate"]), "step %d" % i)
                    send(type="session.end", session=session)
                    test.assertEqual(recv(), {"type": "session.ended", "session": session})
                    played += 1
            proc.stdin.close()
            test.assertEqual(proc.wait(30), 0, "a clean exit when the gate closes stdin")
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
            proc.stdout.close()
            proc.stderr.close()
    return played


def chat(command, lines, env=None):
    p = subprocess.run(command, input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120, env=env)
    if p.returncode != 0:
        raise AssertionError("chat failed (%d): %s" % (p.returncode, p.stderr))
    return p.stdout.splitlines()


class SdkAgent(unittest.TestCase):
    def test_same_actions_as_the_hand_written_agent_on_the_scripted_cases(self):
        self.assertGreaterEqual(play_cases(self, [sys.executable, AGENT]), 20)

    def test_outside_the_gate_the_tools_run_for_real(self):
        # dana's real account (examples/agents/billing.py) has no subscription; lee's is active.
        out = chat([sys.executable, AGENT, "--chat", "--email", "dana@example.com", "--prompt-version", "support-v2"], ["Cancel my subscription"])
        self.assertEqual(out[1], "I don't see an active subscription on your account, so there is nothing to cancel and I haven't made any changes.")
        out = chat([sys.executable, AGENT, "--chat", "--email", "lee@example.com", "--prompt-version", "support-v2"], ["Cancel my subscription"])
        self.assertIn("Your subscription has been cancelled.", out[1])
        out = chat([sys.executable, AGENT, "--chat", "--email", "nobody@example.com", "--prompt-version", "support-v2"], ["Cancel my subscription"])
        self.assertEqual(out[1], "I'm sorry, I couldn't look up your account right now. Please try again in a few minutes.")

    def test_under_the_gate_the_same_verdicts_as_the_hand_written_agent(self):
        for version in gated.VERSIONS:
            with self.subTest(version=version):
                ref_code, ref = gated.reference(version)
                code, report, stderr = gated.gate("examples/agents/sdk/%s.toml" % version)
                self.assertEqual(code, gated.EXPECTED_EXIT[version], stderr)
                self.assertEqual(ref_code, gated.EXPECTED_EXIT[version])
                self.assertEqual(report["agent"], "support-agent %s" % version)
                self.assertEqual(report["summary"], ref["summary"])
                # Verdicts, every criterion's outcome and the failing transcripts: identical
                # (a tool run for real would have answered differently: the backend does not
                # know [EMAIL_1]).
                self.assertEqual(gated.scenario_results(report), gated.scenario_results(ref))
                self.assertEqual(report["summary"]["error"], 0)


if __name__ == "__main__":
    unittest.main()
