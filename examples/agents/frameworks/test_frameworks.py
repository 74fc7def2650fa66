"""The example support agent rebuilt on agent frameworks, each on the real package
(Python: pinned venvs made by scripts/setup, target/agent-frameworks/NAME; JavaScript:
`npm ci` from each example's package-lock.json, also by scripts/setup) against the
scripted OpenAI-compatible model (scripted_model.py, started here on a free loopback
port): the same actions as the hand-written agent on the shared scripted cases, its
tools run for real outside the gate, and under the real `ratchet gate` on the example
suite the same verdicts, criteria and transcripts as the hand-written agent
(support-v1 blocked, support-v2 passed, support-v3 blocked).

Run: python3 -m unittest discover -s examples/agents/frameworks
(needs scripts/setup's framework venvs, the ratchet binary and the plugins; a missing
one FAILS the tests, naming what to run: nothing is skipped)
"""

import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "sdk"))
import gated  # noqa: E402
from test_sdk_agent import chat, play_cases  # noqa: E402

VENVS = os.environ.get("RATCHET_FRAMEWORK_VENVS") or os.path.join(gated.ROOT, "target", "agent-frameworks")


def venv_bin(name):
    python = os.path.join(VENVS, name, "bin", "python3")
    if not os.access(python, os.X_OK):
        raise AssertionError("%s is missing: run scripts/setup (it makes the framework venvs)" % python)
    return os.path.dirname(python)


class ScriptedModel:
    """scripted_model.py on a free loopback port, logging every request."""

    def __init__(self, log_path):
        self.log_path = log_path
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "scripted_model.py"), "--port", "0", "--log", log_path],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.close()
            raise AssertionError("scripted_model.py did not start: %r %s" % (line, self.proc.stderr.read()))
        self.base_url = line.split()[-1]

    def entries(self):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def close(self):
        self.proc.kill()
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()


class FrameworkTest:
    """One framework: NAME (its venv), DIR (examples/agents/frameworks/DIR), AGENT (the
    agent's file there)."""
    NAME = DIR = None
    AGENT = "support_agent.py"

    def setUp(self):
        import tempfile
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.model = ScriptedModel(os.path.join(tmp.name, "model.jsonl"))
        self.addCleanup(self.model.close)
        # The agent's `python3` is the framework venv's: first on PATH, as for a team
        # whose CI activates its virtualenv before `ratchet gate`.
        self.env = dict(os.environ, OPENAI_BASE_URL=self.model.base_url, OPENAI_API_KEY="unused-by-the-scripted-model")
        self.agent = os.path.join(HERE, self.DIR, self.AGENT)
        self.setUpRuntime()

    def setUpRuntime(self):
        self.env["PATH"] = venv_bin(self.NAME) + os.pathsep + os.environ.get("PATH", "")

    def command(self):
        return [os.path.join(venv_bin(self.NAME), "python3"), self.agent]

    def test_same_actions_as_the_hand_written_agent_on_the_scripted_cases(self):
        self.assertGreaterEqual(play_cases(self, self.command(), env=self.env), 20)
        requests = [e for e in self.model.entries() if "request" in e]
        self.assertGreater(len(requests), 40, "every step is a real model request")
        self.assertEqual([e for e in self.model.entries() if "error" in e], [])

    def test_outside_the_gate_the_tools_run_for_real(self):
        out = chat(self.command() + ["--chat", "--email", "dana@example.com", "--prompt-version", "support-v2"], ["Cancel my subscription"], env=self.env)
        self.assertEqual(out, ["I don't see an active subscription on your account, so there is nothing to cancel and I haven't made any changes."])
        out = chat(self.command() + ["--chat", "--email", "lee@example.com", "--prompt-version", "support-v1"], ["Cancel my subscription"], env=self.env)
        self.assertEqual(out, ["Your subscription has been cancelled. Is there anything else I can help you with?"])
        # What the model was told came from the real backend (examples/agents/billing.py), not from a fixture.
        tool_messages = [m["content"] for e in self.model.entries() if "request" in e for m in e["request"]["messages"] if m["role"] == "tool"]
        self.assertTrue(any("A-20931" in m for m in tool_messages), tool_messages)

    def test_under_the_gate_the_same_verdicts_as_the_hand_written_agent(self):
        for version in gated.VERSIONS:
            with self.subTest(version=version):
                ref_code, ref = gated.reference(version)
                code, report, stderr = gated.gate("examples/agents/frameworks/%s/%s.toml" % (self.DIR, version), self.env)
                self.assertIsNotNone(report, stderr)
                self.assertEqual(code, gated.EXPECTED_EXIT[version], stderr)
                self.assertEqual(ref_code, gated.EXPECTED_EXIT[version])
                self.assertEqual(report["summary"], ref["summary"], stderr)
                self.assertEqual(gated.scenario_results(report), gated.scenario_results(ref))
        # The framework really talked to the model: the scenario's state snapshot reached
        # it as customer context, the fixtures' results as tool messages.
        requests = [e["request"] for e in self.model.entries() if "request" in e]
        systems = [m["content"] for r in requests for m in r["messages"] if m["role"] == "system"]
        self.assertTrue(any('- customer.email = "[EMAIL_1]"' in s for s in systems), systems[:3])
        tools = [m["content"] for r in requests for m in r["messages"] if m["role"] == "tool"]
        self.assertTrue(any("A-55812" in t for t in tools), "the never-started subscription's fixture reached the model")
        self.assertEqual([e for e in self.model.entries() if "error" in e], [])


class OpenAIAgents(FrameworkTest, unittest.TestCase):
    NAME, DIR = "openai-agents", "openai_agents"


class LangGraph(FrameworkTest, unittest.TestCase):
    NAME, DIR = "langgraph", "langgraph"


class OpenAIAgentsJs(FrameworkTest, unittest.TestCase):
    """@openai/agents (npm), installed by scripts/setup with `npm ci` beside the agent."""
    DIR, AGENT, PACKAGE = "openai_agents_js", "support_agent.mjs", "@openai/agents"

    def setUpRuntime(self):
        installed = os.path.join(HERE, self.DIR, "node_modules", self.PACKAGE, "package.json")
        if not os.path.isfile(installed):
            raise AssertionError("%s is missing: run scripts/setup (npm ci in examples/agents/frameworks/%s)" % (installed, self.DIR))

    def command(self):
        return ["node", self.agent]


class AiSdk(OpenAIAgentsJs):
    """The Vercel AI SDK (npm `ai` + `@ai-sdk/openai`), installed like @openai/agents."""
    DIR, PACKAGE = "ai_sdk", "ai"


if __name__ == "__main__":
    unittest.main()
