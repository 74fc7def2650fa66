"""Tests of the example shop domain: the agent over the exec protocol, the
production backend, the traffic generator (determinism, ground truth), and the
committed test data the Rust plugins are tested on.

Run: python3 -m unittest discover -s examples/shop

The check that needs the ratchet binary (`ratchet validate` on generated
traffic) runs the real one: $RATCHET_BIN, else $CARGO_TARGET_DIR/debug/ratchet,
else target/debug/ratchet (build it with `cargo build -p ratchet`).
"""

import json
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import generate as g  # noqa: E402
import shop_agent as agent  # noqa: E402
from shop_backend import Backend, CalcError, calculate, cents  # noqa: E402

AGENT = os.path.join(HERE, "shop_agent.py")
GENERATE = os.path.join(HERE, "generate.py")


def ratchet_bin():
    candidates = []
    if os.environ.get("RATCHET_BIN"):
        candidates.append(os.environ["RATCHET_BIN"])
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(os.path.join(os.environ["CARGO_TARGET_DIR"], "debug", "ratchet"))
    candidates.append(os.path.join(ROOT, "target", "debug", "ratchet"))
    for c in candidates:
        if os.path.isfile(c):
            return c
    raise AssertionError("no ratchet binary (looked for %s): build it with `cargo build -p ratchet` "
                         "or point RATCHET_BIN at one" % ", ".join(candidates))


def generate(*args):
    return subprocess.run([sys.executable, GENERATE, "-q", *args], capture_output=True, check=True).stdout


def task(tid):
    return next(t for t in g.tasks() if t.id == tid)


def world_of(tid, email="[EMAIL_1]"):
    w = {"orders": {}, "handoffs": []}
    for o in task(tid).orders:
        o = json.loads(json.dumps(o))
        o["email"] = email
        w["orders"][o["order_id"]] = o
    return w


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
        self.lines.put(None)

    def send(self, **message):
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def recv(self, timeout=5.0):
        line = self.lines.get(timeout=timeout)
        if line is None:
            raise AssertionError("the agent exited (status %s): %s" % (self.proc.wait(5), self.proc.stderr.read()))
        return json.loads(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            f.close()


class ProtocolTest(unittest.TestCase):
    def agent(self, version):
        a = AgentProcess("--version", version)
        self.addCleanup(a.close)
        a.send(type="hello", protocol=1)
        ready = a.recv()
        self.assertEqual(ready, {"type": "ready", "protocol": 1, "agent": "shop-agent",
                                 "version": agent.PROMPT_VERSIONS[version], "concurrent_sessions": True})
        return a

    def converse(self, a, session, lines, backend):
        """Play `lines`, answering tool calls from `backend`; returns (calls, replies)."""
        a.send(type="session.start", session=session, scenario="t", channel="chat",
               state={"memory_snapshot": [{"key": "customer.email", "value": "[EMAIL_1]"}]})
        calls, replies = [], []
        for line in lines:
            a.send(type="customer.message", session=session, text=line)
            while True:
                msg = a.recv()
                self.assertEqual(msg["session"], session)
                if msg["type"] == "agent.message":
                    replies.append(msg["text"])
                    break
                self.assertEqual(msg["type"], "tool.call")
                self.assertEqual(msg["version"], agent.TOOL_VERSIONS[msg["name"]])
                content, is_error = backend.call(msg["name"], msg["arguments"])
                calls.append((msg["name"], msg["arguments"], is_error))
                a.send(type="tool.result", session=session, call_id=msg["call_id"], content=content, is_error=is_error)
        a.send(type="session.end", session=session)
        self.assertEqual(a.recv(), {"type": "session.ended", "session": session})
        return calls, replies

    def test_buggy_cancels_the_newest_order_correct_confirms_the_one_meant(self):
        line = "Please cancel the order with the desk lamp, I don't need it anymore."
        b = Backend(world_of("cancel-lamp-among-two"), random.Random(1))
        calls, _ = self.converse(self.agent("buggy"), "s1", [line], b)
        self.assertEqual([c[:2] for c in calls], [("list_orders", {"email": "[EMAIL_1]"}),
                                                  ("cancel_order", {"order_id": "O-40117"})])
        b = Backend(world_of("cancel-lamp-among-two"), random.Random(1))
        calls, replies = self.converse(self.agent("correct"), "s1", [line, "Yes, please."], b)
        self.assertEqual([c[:2] for c in calls], [("list_orders", {"email": "[EMAIL_1]"}),
                                                  ("get_order", {"order_id": "O-40022"}),
                                                  ("cancel_order", {"order_id": "O-40022"})])
        self.assertTrue(replies[0].startswith(agent.CONFIRM), replies[0])
        self.assertEqual(b.world["orders"]["O-40117"]["status"], "processing")

    def test_correct_retries_once_uses_calculate_and_extra_item_keys(self):
        t = task("return-two-wine-glasses")
        b = Backend(world_of(t.id), random.Random(1), transient={"create_return": 1})
        calls, replies = self.converse(self.agent("correct"), "s", ["I'd like to return 2 of the wine glasses and get a refund."], b)
        names = [c[0] for c in calls]
        self.assertEqual(names, ["list_orders", "get_order", "calculate", "create_return", "create_return", "refund_order"])
        self.assertEqual(calls[2][1], {"expression": "12.5 * 2"})
        self.assertEqual(calls[3][1]["items"], [{"sku": "GLS-0912", "qty": 2, "reason": "no longer needed"}])
        self.assertTrue(calls[3][2] and not calls[4][2], "the first attempt timed out, the retry worked")
        self.assertEqual(calls[5][1], {"order_id": "O-44376", "amount": 25.0})
        self.assertIn("$25.00", replies[-1])
        # The buggy one gives up at the first timeout.
        b = Backend(world_of(t.id), random.Random(1), transient={"create_return": 1})
        calls, replies = self.converse(self.agent("buggy"), "s", ["I'd like to return 2 of the wine glasses and get a refund.",
                                                                  "Can you try again?"], b)
        self.assertEqual([c[0] for c in calls], ["list_orders", "create_return"])
        self.assertEqual(replies[0], replies[1])

    def test_handoff_through_a_tool_and_sessions_are_independent(self):
        a = self.agent("correct")
        b = Backend(world_of("human-right-away"), random.Random(1))
        calls, replies = self.converse(a, "x", ["I want to talk to a human, please.", "Hello?"], b)
        self.assertEqual([c[0] for c in calls], ["handoff_to_human"])
        self.assertEqual(replies[1], agent.AFTER_HANDOFF)
        calls, _ = self.converse(a, "y", ["Where is my order?"], Backend(world_of("where-is-my-order"), random.Random(1)))
        self.assertEqual([c[0] for c in calls], ["list_orders", "get_order"])
        calls, replies = self.converse(self.agent("buggy"), "z", ["I want to talk to a human, please."], b)
        self.assertEqual((calls, replies), ([], [agent.NO_HUMAN]))

    def test_protocol_errors_exit_with_status_2(self):
        for lines in (['{"type":"hello","protocol":1}', '{"type":"teleport"}'], ['not json'],
                      ['{"type":"hello","protocol":2}'],
                      ['{"type":"hello","protocol":1}', '{"type":"customer.message","session":"nope","text":"hi"}']):
            with self.subTest(lines=lines):
                out = subprocess.run([sys.executable, AGENT], input="\n".join(lines) + "\n", capture_output=True, text=True,
                                     timeout=10)
                self.assertEqual(out.returncode, 2, out.stderr)
                self.assertIn("protocol error", out.stderr)


class ReadingTest(unittest.TestCase):
    def test_intents_and_goals(self):
        self.assertEqual(agent.goal_of("I want to talk to a human about my refund."), "human")
        self.assertEqual(agent.goal_of("Can I swap the rain jacket for a different colour?"), "exchange")
        self.assertEqual(agent.goal_of("The mug set arrived cracked. I'd like a refund."), "refund")
        self.assertEqual(agent.goal_of("Oh okay. I'll return it when it arrives then."), None)
        self.assertEqual(agent.goal_of("Great, thanks!"), None)
        self.assertIn("yes", agent.intents("Yep, that's right."))
        self.assertIn("no", agent.intents("No wait, that's the wrong one"))

    def test_products_and_quantities(self):
        orders = [o for o in task("return-two-wine-glasses").orders]
        self.assertEqual(agent.mentioned_items(["return 2 wine glasses"], orders), {"GLS-0912": 2})
        self.assertEqual(agent.mentioned_items(["return the wine glasses"], orders), {"GLS-0912": 6})
        self.assertEqual(agent.mentioned_items(["return a wine glass and the coffee grinder"], orders),
                         {"GLS-0912": 1, "GRN-2205": 1})
        self.assertEqual(agent.mentioned_items(["return the glassware"], orders), {})

    def test_every_pool_line_reads_as_its_goal(self):
        for t in g.tasks():
            if t.lines:
                for line in t.lines:
                    self.assertEqual(agent.goal_of(g.fill(line, t, {"name": "N", "email": "e@x", "phone": "1"})), "human", line)
        for pool, goal in ((g.CANCEL_LINES, "cancel"), (g.CANCEL_BY_ID_LINES, "cancel"), (g.RETURN_LINES, "return"),
                           (g.RETURN_QTY_LINES, "return"), (g.DAMAGED_LINES, "refund"), (g.DAMAGED_QTY_LINES, "refund"),
                           (g.EXCHANGE_LINES, "exchange"), (g.STATUS_LINES, "status"), (g.HUMAN_AFTER_STATUS, "human"),
                           (g.INSIST, "human")):
            for line in pool:
                self.assertEqual(agent.goal_of(g.fill(line, task("return-two-wine-glasses"), {})), goal, line)
        for line in g.YES + g.THANKS + g.TRY_AGAIN + g.GIVE_UP + g.SHIPPED_OK + g.VAGUE_OPENERS:
            self.assertIsNone(agent.goal_of(line), line)


class BackendTest(unittest.TestCase):
    def test_calculate_agrees_with_the_simulator(self):
        # The same figures as plugins/simulator-orders/src/calc.rs.
        self.assertEqual(calculate("12.5 * 2"), 25.0)
        self.assertEqual(calculate("34.99 + 39 * 2"), 112.99)
        self.assertEqual(calculate("(34.99 + 39) * 2"), 147.98)
        self.assertEqual(calculate("-(2 - 5) / 4"), 0.75)
        self.assertEqual(calculate(" 19.99*3 "), 59.97)
        self.assertEqual(calculate("10 / 3"), 3.333333)
        self.assertEqual(calculate("1023 - 62 - 500"), 461.0)
        self.assertEqual(calculate("9" * 98 + "*" + "9" * 98), 1e196)
        self.assertEqual((cents(2.675), cents(-1.005), cents(0.125), cents(-0.125)), (2.68, -1.0, 0.13, -0.13))
        for bad, message in (("1 / 0", "division by zero"), ("2 +", "unexpected end of expression"),
                             ("(1 + 2", "missing )"), ("2 ^ 3", "unexpected '^'"), ("1 2", "unexpected '2'"),
                             ("(" * 40, "too deeply nested"), ("1+" * 150, "expression must be a string of at most 200 characters")):
            with self.assertRaises(CalcError) as e:
                calculate(bad)
            self.assertEqual(str(e.exception), message)

    def test_production_rules(self):
        b = Backend(world_of("cancel-shipped-office-chair"), random.Random(1))
        self.assertEqual(b.call("cancel_order", {"order_id": "O-45012"})[0]["refunded"], 219.0,
                         "production cancels a shipped order: the enabler of the bug")
        self.assertEqual(b.call("cancel_order", {"order_id": "O-45012"}),
                         ({"error": "order O-45012 is already cancelled"}, True))
        b = Backend(world_of("return-toaster-of-three"), random.Random(1), transient={"refund_order": 1})
        self.assertTrue(b.call("refund_order", {"order_id": "O-44120", "amount": 5})[1])
        self.assertEqual(b.call("refund_order", {"order_id": "O-44120", "amount": 200}),
                         ({"error": "amount exceeds the refundable balance of 112.99"}, True))
        r, err = b.call("create_return", {"order_id": "O-44120", "items": [{"sku": "PLT-4471", "qty": 3, "reason": "x"}]})
        self.assertFalse(err)
        self.assertEqual(r["items"], [{"sku": "PLT-4471", "qty": 3}])
        self.assertEqual(b.call("create_return", {"order_id": "O-44120", "items": [{"sku": "PLT-4471", "qty": 2}]}),
                         ({"error": "cannot return 2 × PLT-4471: 1 left to return"}, True))
        listed = b.call("list_orders", {"email": "[EMAIL_1]"})[0]["orders"][0]
        self.assertEqual(listed["items"][2]["returned_qty"], 3)


class GeneratorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.out, cls.labels = os.path.join(cls.tmp, "t.jsonl"), os.path.join(cls.tmp, "l.jsonl")
        generate("--out", cls.out, "--labels", cls.labels)
        with open(cls.out) as f:
            cls.convs = [json.loads(l) for l in f]
        with open(cls.labels) as f:
            cls.labs = [json.loads(l) for l in f]

    def test_same_arguments_same_bytes(self):
        with open(self.out, "rb") as f:
            self.assertEqual(generate("--out", "-"), f.read())
        self.assertEqual(generate("--runs", "2", "--version", "buggy"), generate("--runs", "2", "--version", "buggy"))
        self.assertNotEqual(generate("--runs", "2", "--seed", "1"), generate("--runs", "2", "--seed", "2"))

    def test_every_buggy_failure_type_appears_and_the_correct_agent_has_none(self):
        buggy = [l for l in self.labs if l["version"] == "buggy"]
        self.assertEqual({l["failure"] for l in buggy if l["failure"]}, set(g.FAILURES))
        for f in g.FAILURES:
            self.assertGreaterEqual(len({l["task"] for l in buggy if l["failure"] == f}), 3, f)
        self.assertEqual([l for l in self.labs if l["version"] == "correct" and l["failures"]], [])
        self.assertEqual([l for l in buggy if l["failure"] != l["expected"]], [], "each task provokes its failure")
        self.assertEqual(len(self.labs), 2 * len(g.tasks()) * g.DEFAULT_RUNS)
        self.assertEqual(len({l["id"] for l in self.labs}), len(self.labs), "ids are unique")

    def test_both_versions_meet_the_same_customers(self):
        first = {}
        for c, l in zip(self.convs, self.labs):
            key = (l["task"], l["run"])
            first.setdefault(key, []).append((c["turns"][0]["text"], c["channel"], c["state"]["memory_snapshot"]))
        self.assertTrue(all(len(v) == 2 and v[0] == v[1] for v in first.values()))

    def test_every_agent_turn_is_decide(self):
        for c, l in zip(self.convs, self.labs):
            memory = {m["key"]: m["value"] for m in c["state"]["memory_snapshot"]}
            turns = [{k: v for k, v in t.items() if k in ("role", "text", "tool_calls", "tool_result")} for t in c["turns"]]
            for i, t in enumerate(turns):
                if t["role"] != "agent":
                    continue
                action = agent.decide(l["version"], memory, turns[:i])
                if t.get("tool_calls"):
                    call = t["tool_calls"][0]
                    self.assertEqual(action[:4], ("call", call["id"], call["name"], call["arguments"]), c["id"])
                else:
                    self.assertEqual(action[:2], ("reply", t["text"]), c["id"])

    def test_correct_agent_takes_other_paths(self):
        tools = {v: set() for v in agent.PROMPT_VERSIONS}
        confirms = 0
        for c, l in zip(self.convs, self.labs):
            tools[l["version"]] |= {tc["name"] for t in c["turns"] for tc in t.get("tool_calls", [])}
            confirms += l["version"] == "correct" and any(t["role"] == "agent" and t.get("text", "").startswith(agent.CONFIRM)
                                                          for t in c["turns"])
        self.assertEqual(tools["correct"] - tools["buggy"], {"calculate", "handoff_to_human"})
        self.assertGreater(confirms, 10)
        lengths = {v: sum(len(c["turns"]) for c, l in zip(self.convs, self.labs) if l["version"] == v) for v in tools}
        self.assertGreater(lengths["correct"], lengths["buggy"])

    def test_state_and_pii(self):
        c = self.convs[0]
        self.assertEqual(c["state"]["tool_registry"], [{"id": k, "version": v} for k, v in agent.TOOL_VERSIONS.items()])
        self.assertIn(c["state"]["prompt_version"], agent.PROMPT_VERSIONS.values())
        keys = {m["key"] for c in self.convs for m in c["state"]["memory_snapshot"]}
        self.assertEqual(keys, {"customer.name", "customer.email", "customer.phone"})
        self.assertTrue(any("@" in t["text"] for c in self.convs for t in c["turns"] if t["role"] == "customer"))

    def test_testdata_is_up_to_date(self):
        """The Rust plugins' tests read examples/shop/testdata: one run of every task."""
        with open(os.path.join(HERE, "testdata", "traffic.jsonl"), "rb") as f:
            self.assertEqual(generate("--runs", "1"), f.read(), "regenerate it: python3 examples/shop/generate.py "
                             "--runs 1 --out examples/shop/testdata/traffic.jsonl --labels examples/shop/testdata/labels.jsonl")
        with tempfile.TemporaryDirectory() as d:
            labels = os.path.join(d, "l.jsonl")
            generate("--runs", "1", "--out", os.path.join(d, "t.jsonl"), "--labels", labels)
            with open(labels, "rb") as a, open(os.path.join(HERE, "testdata", "labels.jsonl"), "rb") as b:
                self.assertEqual(a.read(), b.read())

    def test_every_line_is_a_valid_canonical_conversation(self):
        p = subprocess.run([ratchet_bin(), "validate", "--kind", "conversation", self.out], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sum(line.startswith("ok  ") for line in p.stdout.splitlines()), len(self.convs))

    def test_usage_errors(self):
        for args in (["--tasks", "nope"], ["--runs", "0"]):
            p = subprocess.run([sys.executable, GENERATE, *args], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, args)
        out = subprocess.run([sys.executable, GENERATE, "--list-tasks"], capture_output=True, text=True, check=True).stdout
        self.assertEqual(len(out.splitlines()), len(g.tasks()))


if __name__ == "__main__":
    unittest.main()
