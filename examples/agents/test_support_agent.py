"""Tests of the example exec agent (support_agent.py), driven as a subprocess
over the JSON-lines protocol of docs/agent-protocol.md.

Run: python3 -m unittest discover -s examples/agents

The scripted cases in support_agent_cases.json are also played against the
Rust form (support-agent-wasm/tests/scripted.rs): both forms must take exactly
the same actions.
"""

import json
import os
import queue
import subprocess
import sys
import threading
import time
import tomllib
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
AGENT = os.path.join(HERE, "support_agent.py")
NO_FIXTURE = {"error": "no recorded fixture for this call"}


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class AgentProcess:
    """The agent as the gate's exec driver sees it: lines in, lines out."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([sys.executable, AGENT, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)  # EOF

    def send(self, **message):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def recv_line(self, timeout=5.0):
        """The next raw stdout line; None at EOF; raises queue.Empty on timeout."""
        return self.lines.get(timeout=timeout)

    def recv(self, timeout=5.0):
        line = self.recv_line(timeout)
        if line is None:
            raise AssertionError("the agent exited (status %s): %s" % (self.proc.wait(5), self.proc.stderr.read()))
        return json.loads(line)

    def handshake(self):
        self.send(type="hello", protocol=1)
        return self.recv()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()


class ProtocolTest(unittest.TestCase):
    def agent(self, *args):
        a = AgentProcess(*args)
        self.addCleanup(a.close)
        return a

    def start(self, agent, session, memory=(("customer.email", "[EMAIL_1]"),)):
        agent.send(type="session.start", session=session, scenario="test", channel="voice",
                   state={"memory_snapshot": [{"key": k, "value": v} for k, v in memory], "prompt_version": "support-v1"})

    def test_handshake(self):
        ready = self.agent("--prompt-version", "support-v2").handshake()
        self.assertEqual(ready, {"type": "ready", "protocol": 1, "agent": "support-agent", "version": "support-v2",
                                 "concurrent_sessions": True})

    def test_scripted_cases(self):
        """Every case of support_agent_cases.json, one process per prompt version,
        one session per case (sessions ended properly)."""
        with open(os.path.join(HERE, "support_agent_cases.json")) as f:
            cases = json.load(f)["cases"]
        played = 0
        for version in ("support-v1", "support-v2", "support-v3"):
            agent = self.agent("--prompt-version", version)
            self.assertEqual(agent.handshake()["type"], "ready")
            for n, case in enumerate(c for c in cases if version in c["prompt_versions"]):
                with self.subTest(case=case["name"], version=version):
                    self.play(agent, "s%d" % n, case)
                    played += 1
        self.assertGreaterEqual(played, 20)

    def play(self, agent, session, case):
        fixtures = {(t["name"], canonical(t["arguments"])): t for t in case["tools"]}
        self.start(agent, session, [(m["key"], m["value"]) for m in case["memory"]])
        for i, step in enumerate(case["conversation"]):
            if "customer" in step:
                agent.send(type="customer.message", session=session, text=step["customer"])
                continue
            msg = agent.recv()
            self.assertEqual(msg["session"], session)
            if "call" in step:
                self.assertEqual((msg["type"], msg["name"], msg["arguments"]), ("tool.call", step["call"], step["arguments"]),
                                 "step %d" % i)
                self.assertEqual(msg["version"], {"lookup_account": "1.4.0", "cancel_subscription": "2.1.0",
                                                  "issue_refund": "1.0.3"}[msg["name"]])
                fixture = fixtures.get((msg["name"], canonical(msg["arguments"])))
                content, is_error = (fixture["result"], fixture.get("is_error", False)) if fixture else (NO_FIXTURE, True)
                agent.send(type="tool.result", session=session, call_id=msg["call_id"], content=content, is_error=is_error)
            elif "reply" in step:
                self.assertEqual((msg["type"], msg.get("text")), ("agent.message", step["reply"]), "step %d" % i)
            else:
                self.assertEqual((msg["type"], msg.get("reason")), ("escalate", step["escalate"]), "step %d" % i)
        agent.send(type="session.end", session=session)
        self.assertEqual(agent.recv(), {"type": "session.ended", "session": session})

    def test_concurrent_sessions_are_independent(self):
        agent = self.agent("--prompt-version", "support-v2")
        agent.handshake()
        self.start(agent, "a")
        self.start(agent, "b", memory=[("account.id", "A-70410")])
        agent.send(type="customer.message", session="a", text="Please cancel my subscription.")
        agent.send(type="customer.message", session="b", text="I want a refund.")
        a, b = agent.recv(), agent.recv()
        self.assertEqual((a["session"], a["arguments"]), ("a", {"email": "[EMAIL_1]"}))
        self.assertEqual((b["session"], b["arguments"]), ("b", {"account_id": "A-70410"}))
        # Answer b first: each session keeps its own transcript.
        agent.send(type="tool.result", session="b", call_id=b["call_id"], is_error=False,
                   content={"account_id": "A-70410", "subscription_status": "active", "supervisor_flag": False})
        self.assertEqual(agent.recv()["type"], "escalate")
        agent.send(type="tool.result", session="a", call_id=a["call_id"], is_error=False,
                   content={"account_id": "A-55812", "subscription_status": "none"})
        self.assertIn("don't see an active subscription", agent.recv()["text"])
        for s in ("b", "a"):
            agent.send(type="session.end", session=s)
            self.assertEqual(agent.recv(), {"type": "session.ended", "session": s})

    def test_crash_after(self):
        agent = self.agent("--crash-after", "1")
        agent.handshake()
        self.start(agent, "s1")
        agent.send(type="customer.message", session="s1", text="Thanks!")
        self.assertEqual(agent.recv()["type"], "agent.message")
        agent.send(type="customer.message", session="s1", text="Thanks again!")
        self.assertIsNone(agent.recv_line())
        self.assertEqual(agent.proc.wait(5), 3)
        self.assertIn("--crash-after 1", agent.proc.stderr.read())

    def test_hang(self):
        agent = self.agent("--hang")
        agent.handshake()
        self.start(agent, "s1")
        agent.send(type="customer.message", session="s1", text="Hello?")
        with self.assertRaises(queue.Empty):
            agent.recv_line(timeout=0.5)
        self.assertIsNone(agent.proc.poll(), "a hanging agent is still running")

    def test_garbage(self):
        agent = self.agent("--garbage")
        agent.handshake()
        self.start(agent, "s1")
        agent.send(type="customer.message", session="s1", text="Hello?")
        line = agent.recv_line()
        with self.assertRaises(ValueError):
            json.loads(line)

    def test_slow(self):
        agent = self.agent("--slow-ms", "300")
        agent.handshake()
        self.start(agent, "s1")
        began = time.monotonic()
        agent.send(type="customer.message", session="s1", text="Hello?")
        self.assertEqual(agent.recv()["type"], "agent.message")
        self.assertGreaterEqual(time.monotonic() - began, 0.3)

    def test_protocol_errors_exit_with_status_2(self):
        for lines in (['{"type":"hello","protocol":1}', '{"type":"teleport"}'],
                      ['not json'],
                      ['{"type":"hello","protocol":2}'],
                      ['{"type":"hello","protocol":1}', '{"type":"customer.message","session":"nope","text":"hi"}']):
            with self.subTest(lines=lines):
                out = subprocess.run([sys.executable, AGENT], input="\n".join(lines) + "\n", capture_output=True, text=True,
                                     timeout=10)
                self.assertEqual(out.returncode, 2, out.stderr)
                self.assertIn("protocol error", out.stderr)


class AgentConfigTest(unittest.TestCase):
    """The agent config files the gate reads point at things that exist."""

    def test_agent_configs(self):
        names = sorted(n for n in os.listdir(HERE) if n.startswith("support-v") and n.endswith(".toml"))
        self.assertEqual(names, ["support-v1-wasm.toml", "support-v1.toml", "support-v2-wasm.toml", "support-v2.toml",
                                 "support-v3.toml"])
        for name in names:
            with self.subTest(config=name), open(os.path.join(HERE, name), "rb") as f:
                agent = tomllib.load(f)["agent"]
                version = name.split("-wasm")[0].removesuffix(".toml")
                self.assertEqual(agent["name"], "support-agent")
                if agent["driver"] == "exec":
                    self.assertEqual(agent["command"][:2], ["python3", "examples/agents/support_agent.py"])
                    self.assertEqual(agent["command"][2:], ["--prompt-version", version])
                    self.assertTrue(os.path.isfile(os.path.join(ROOT, agent["command"][1])))
                else:
                    self.assertEqual(agent["driver"], "wasm")
                    self.assertEqual(agent["component"], "target/plugins/support-agent.wasm")
                    self.assertEqual(agent["config"], {"prompt_version": version})


if __name__ == "__main__":
    unittest.main()
