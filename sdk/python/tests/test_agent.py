"""The agent side of the exec protocol (ratchet_sdk.agent): serve, tool, escalation.

In process, `serve` is driven with the host's lines scripted in advance (the protocol
is strictly request/answer, so the tool results can be queued before the call is
made) and its output parsed; a subprocess checks the real stdio (stdout protected)."""

import asyncio
import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
import threading
import unittest
from pathlib import Path

from ratchet_sdk.agent import (Escalate, Session, SessionEnded, ToolError, current_session, escalation, serve, tool,
                               under_gate)

SDK = Path(__file__).resolve().parents[1]

STATE = {"memory_snapshot": [{"key": "customer.email", "value": "[EMAIL_1]"}, {"key": "customer.email", "value": "second"},
                             {"key": "account.id", "value": "A-1"}],
         "tool_registry": [{"id": "lookup_account", "version": "1.4.0"}], "prompt_version": "support-v1", "future_field": 1}

REAL_CALLS = []


@tool(version="1.4.0")
def lookup_account(email=None, account_id=None):
    """Look up an account."""
    REAL_CALLS.append(("lookup_account", email, account_id))
    return {"account_id": "REAL", "subscription_status": "active"}


@tool
def cancel_subscription(account_id, *, when="now"):
    REAL_CALLS.append(("cancel_subscription", account_id, when))
    return {"ok": True}


@tool(name="refund", version="1.0.3")
async def issue_refund(account_id: str, amount: float = 0.0) -> dict:
    REAL_CALLS.append(("issue_refund", account_id, amount))
    return {"ok": True}


@escalation
def handoff(reason, queue="billing"):
    REAL_CALLS.append(("handoff", reason, queue))
    return "ticket-1"


def host_lines(*messages):
    return "".join(json.dumps(m) + "\n" for m in messages)


HELLO = {"type": "hello", "protocol": 1}


def start(session="s1", state=STATE):
    return {"type": "session.start", "session": session, "scenario": "sc", "channel": "voice", "state": state}


def say(text, session="s1"):
    return {"type": "customer.message", "session": session, "text": text}


def result(call_id, content, is_error=False, session="s1"):
    return {"type": "tool.result", "session": session, "call_id": call_id, "content": content, "is_error": is_error}


def end(session="s1"):
    return {"type": "session.end", "session": session}


def run(respond, *messages, **kw):
    """(exit status, messages the agent sent, its stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err):
        code = serve(respond, stdin=io.StringIO(host_lines(*messages)), stdout=out, **kw)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


class Loop(unittest.TestCase):
    def setUp(self):
        REAL_CALLS.clear()

    def test_a_whole_session_with_a_tool_call(self):
        seen = []

        def respond(turns, session):
            seen.append((list(turns), session))
            account = lookup_account(email=session.memory["customer.email"])
            return "status: " + account["subscription_status"]

        code, sent, err = run(respond, HELLO, start(), say("cancel please"), result("call-1", {"subscription_status": "none"}),
                              end(), agent="support-agent", version="v7")
        self.assertEqual(code, 0, err)
        self.assertEqual(sent, [
            {"type": "ready", "protocol": 1, "agent": "support-agent", "version": "v7", "concurrent_sessions": False},
            {"type": "tool.call", "session": "s1", "call_id": "call-1", "name": "lookup_account", "version": "1.4.0",
             "arguments": {"email": "[EMAIL_1]"}},
            {"type": "agent.message", "session": "s1", "text": "status: none"},
            {"type": "session.ended", "session": "s1"}])
        self.assertEqual(REAL_CALLS, [], "under the gate the real tool must not run")
        turns, session = seen[0]
        self.assertEqual(turns, [{"role": "customer", "text": "cancel please"}])
        self.assertEqual(session.turns[1:], [
            {"role": "agent", "text": "", "tool_calls": [{"id": "call-1", "name": "lookup_account", "arguments": {"email": "[EMAIL_1]"}}]},
            {"role": "tool", "tool_result": {"call_id": "call-1", "name": "lookup_account", "content": {"subscription_status": "none"},
                                             "is_error": False}},
            {"role": "agent", "text": "status: none"}])

    def test_the_session_state_reaches_the_agent(self):
        seen = {}

        def respond(turns, session):
            seen.update(id=session.id, scenario=session.scenario, channel=session.channel, state=session.state,
                        memory=session.memory, tools=session.tool_versions, current=current_session() is session, gate=under_gate())
            return "ok"

        code, _, err = run(respond, HELLO, start(), say("hi"), end())
        self.assertEqual(code, 0, err)
        self.assertEqual(seen, {"id": "s1", "scenario": "sc", "channel": "voice", "state": STATE,
                                "memory": {"customer.email": "[EMAIL_1]", "account.id": "A-1"},  # first entry wins
                                "tools": {"lookup_account": "1.4.0"}, "current": True, "gate": True})
        self.assertIsNone(current_session())
        self.assertFalse(under_gate())

    def test_a_session_without_state_has_empty_memory(self):
        code, sent, err = run(lambda turns, s: "memory %r state %r" % (s.memory, s.state),
                              HELLO, {"type": "session.start", "session": "s1"}, say("hi"), end())
        self.assertEqual(code, 0, err)
        self.assertEqual(sent[1]["text"], "memory {} state {}")

    def test_history_and_data_persist_within_a_session_not_across(self):
        def respond(turns, session):
            session.data["n"] = session.data.get("n", 0) + 1
            return "%d turns, call %d" % (len(turns), session.data["n"])

        code, sent, err = run(respond, HELLO, start("a"), say("1", "a"), say("2", "a"), end("a"), start("b"), say("1", "b"), end("b"))
        self.assertEqual(code, 0, err)
        self.assertEqual([m.get("text") for m in sent if m["type"] == "agent.message"], ["1 turns, call 1", "3 turns, call 2", "1 turns, call 1"])

    def test_call_ids_count_per_session(self):
        def respond(turns, session):
            lookup_account(account_id="A-1")
            cancel_subscription("A-1")
            return "done"

        code, sent, err = run(respond, HELLO, start("a"), say("x", "a"), result("call-1", {}, session="a"), result("call-2", {}, session="a"),
                              end("a"), start("b"), say("x", "b"), result("call-1", {}, session="b"), result("call-2", {}, session="b"), end("b"))
        self.assertEqual(code, 0, err)
        calls = [(m["session"], m["call_id"], m["name"], m.get("version"), m["arguments"]) for m in sent if m["type"] == "tool.call"]
        self.assertEqual(calls, [("a", "call-1", "lookup_account", "1.4.0", {"account_id": "A-1"}),
                                 ("a", "call-2", "cancel_subscription", None, {"account_id": "A-1"}),
                                 ("b", "call-1", "lookup_account", "1.4.0", {"account_id": "A-1"}),
                                 ("b", "call-2", "cancel_subscription", None, {"account_id": "A-1"})])
        self.assertNotIn("version", [m for m in sent if m.get("name") == "cancel_subscription"][0], "no version: the registry's")

    def test_an_error_result_raises_tool_error(self):
        def respond(turns, session):
            try:
                lookup_account(email="x")
            except ToolError as e:
                return "failed: %s %s" % (e.tool, json.dumps(e.content))
            return "no error?"

        code, sent, err = run(respond, HELLO, start(), say("x"), result("call-1", {"error": "no recorded fixture"}, is_error=True), end())
        self.assertEqual(code, 0, err)
        self.assertEqual(sent[2]["text"], 'failed: lookup_account {"error": "no recorded fixture"}')
        self.assertEqual(sent[3]["type"], "session.ended")

    def test_the_gate_ending_the_session_mid_call_unwinds_respond(self):
        swallowed = []

        def respond(turns, session):
            try:
                lookup_account(email="x")
            except Exception as e:  # an agent's catch-all must not swallow the end
                swallowed.append(e)
            return "never sent"

        code, sent, err = run(respond, HELLO, start(), say("x"), end(), start("s2"), say("hi", "s2"), result("call-1", {}, session="s2"), end("s2"))
        self.assertEqual(code, 0, err)
        self.assertEqual(swallowed, [])
        self.assertEqual([(m["type"], m["session"]) for m in sent[1:]], [
            ("tool.call", "s1"), ("session.ended", "s1"), ("tool.call", "s2"), ("agent.message", "s2"), ("session.ended", "s2")])
        self.assertTrue(issubclass(SessionEnded, BaseException) and not issubclass(SessionEnded, Exception))

    def test_eof_ends_cleanly_even_mid_call(self):
        code, sent, err = run(lambda t, s: lookup_account(email="x"), HELLO, start(), say("x"))
        self.assertEqual((code, sent[-1]["type"]), (0, "tool.call"), err)
        code, sent, err = run(lambda t, s: "x", HELLO)
        self.assertEqual((code, len(sent)), (0, 1), err)

    def test_escalate_returned_or_through_the_wrapped_handoff(self):
        code, sent, err = run(lambda t, s: Escalate("customer asked for a human"), HELLO, start(), say("human"), end())
        self.assertEqual(code, 0, err)
        self.assertEqual(sent[1], {"type": "escalate", "session": "s1", "reason": "customer asked for a human"})

        def respond(turns, session):
            ticket = handoff("refund needs approval")
            return "I have handed you over (%s)" % ticket  # a framework may keep talking: the escalation wins

        code, sent, err = run(respond, HELLO, start(), say("refund"), end())
        self.assertEqual(code, 0, err)
        self.assertEqual(sent[1], {"type": "escalate", "session": "s1", "reason": "refund needs approval"})
        self.assertEqual(REAL_CALLS, [], "under the gate the hand-off is the protocol's, not the real one")
        self.assertEqual(handoff("outside", queue="q"), "ticket-1")
        self.assertEqual(REAL_CALLS, [("handoff", "outside", "q")])

    def test_a_message_after_escalating_is_a_protocol_error(self):
        code, _, err = run(lambda t, s: Escalate("x"), HELLO, start(), say("human"), say("again"))
        self.assertEqual(code, 2)
        self.assertIn("after it escalated", err)

    def test_async_respond_and_async_tools_share_one_loop(self):
        loops = set()

        async def respond(turns, session):
            loops.add(id(asyncio.get_running_loop()))
            r = await issue_refund("A-1", amount=49.0)
            await asyncio.sleep(0)
            return "refund %s" % r["ok"]

        code, sent, err = run(respond, HELLO, start(), say("refund"), result("call-1", {"ok": True}), say("again"), result("call-2", {"ok": False}), end())
        self.assertEqual(code, 0, err)
        self.assertEqual([m["name"] for m in sent if m["type"] == "tool.call"], ["refund", "refund"])
        self.assertEqual(sent[1]["arguments"], {"account_id": "A-1", "amount": 49.0})
        self.assertEqual([m["text"] for m in sent if m["type"] == "agent.message"], ["refund True", "refund False"])
        self.assertEqual(len(loops), 1, "clients bound to the loop stay usable across turns")

    def test_tools_called_from_threads_go_through_the_gate(self):
        def respond(turns, session):  # a framework running sync tools with asyncio.to_thread
            out = []
            t = threading.Thread(target=lambda: out.append(lookup_account(email="x")))
            t.start()
            t.join()
            return json.dumps(out)

        code, sent, err = run(respond, HELLO, start(), say("x"), result("call-1", {"a": 1}), end())
        self.assertEqual(code, 0, err)
        self.assertEqual(sent[2]["text"], '[{"a": 1}]')


class Arguments(unittest.TestCase):
    def arguments_of(self, call):
        code, sent, err = run(lambda t, s: (call(), "ok")[1], HELLO, start(), say("x"), result("call-1", {}), end())
        self.assertEqual(code, 0, err)
        return sent[1]["arguments"]

    def test_arguments_by_name_without_defaults(self):
        self.assertEqual(self.arguments_of(lambda: lookup_account("e")), {"email": "e"})
        self.assertEqual(self.arguments_of(lambda: lookup_account(email=None, account_id="A-1")), {"account_id": "A-1"})
        self.assertEqual(self.arguments_of(lambda: cancel_subscription("A-1", when="now")), {"account_id": "A-1"})
        self.assertEqual(self.arguments_of(lambda: cancel_subscription("A-1", when="later")), {"account_id": "A-1", "when": "later"})

    def test_kwargs_are_merged(self):
        @tool
        def search(query, **filters):
            return []
        self.assertEqual(self.arguments_of(lambda: search("q", plan="premium")), {"query": "q", "plan": "premium"})

    def test_arguments_that_are_not_json_fail_the_turn(self):
        code, _, err = run(lambda t, s: lookup_account(email=object()), HELLO, start(), say("x"))
        self.assertEqual(code, 1)
        self.assertIn("tool lookup_account: its arguments are not JSON", err)

    def test_the_wrapper_keeps_what_frameworks_read(self):
        import inspect
        import typing
        self.assertEqual(str(inspect.signature(issue_refund)), "(account_id: str, amount: float = 0.0) -> dict")
        self.assertEqual(typing.get_type_hints(issue_refund), {"account_id": str, "amount": float, "return": dict})
        self.assertTrue(inspect.iscoroutinefunction(issue_refund))
        self.assertFalse(inspect.iscoroutinefunction(lookup_account))
        self.assertEqual((lookup_account.__name__, lookup_account.__doc__), ("lookup_account", "Look up an account."))
        self.assertEqual(lookup_account.ratchet_tool, {"name": "lookup_account", "version": "1.4.0"})


class OutsideTheGate(unittest.TestCase):
    def setUp(self):
        REAL_CALLS.clear()

    def test_wrapped_tools_run_for_real(self):
        self.assertEqual(lookup_account(email="e"), {"account_id": "REAL", "subscription_status": "active"})
        self.assertEqual(asyncio.run(issue_refund("A-1", 5.0)), {"ok": True})
        self.assertEqual(REAL_CALLS, [("lookup_account", "e", None), ("issue_refund", "A-1", 5.0)])

    def test_the_same_respond_runs_for_real_with_a_session_of_its_own(self):
        def respond(turns, session):
            return lookup_account(email=session.memory["customer.email"])["account_id"]
        s = Session("prod", state={"memory_snapshot": [{"key": "customer.email", "value": "e"}]})
        s.turns.append({"role": "customer", "text": "hi"})
        self.assertEqual(respond(s.turns, s), "REAL")
        self.assertEqual(REAL_CALLS, [("lookup_account", "e", None)])


class Errors(unittest.TestCase):
    def test_respond_raising_exits_1_with_the_traceback(self):
        def respond(turns, session):
            raise RuntimeError("the model is down")
        code, sent, err = run(respond, HELLO, start(), say("x"), agent="my-agent")
        self.assertEqual((code, len(sent)), (1, 1))
        self.assertIn("my-agent: respond failed:", err)
        self.assertIn("RuntimeError: the model is down", err)

    def test_respond_must_return_text_or_escalate(self):
        code, _, err = run(lambda t, s: None, HELLO, start(), say("x"))
        self.assertEqual(code, 1)
        self.assertIn("respond returned NoneType: it must return the reply text (str) or Escalate(reason)", err)

    def test_protocol_errors_exit_2_naming_the_problem(self):
        cases = [
            ([{"type": "hello", "protocol": 2}], "unsupported protocol 2"),
            ([HELLO, {"type": "bogus"}], "unknown message type 'bogus'"),
            ([HELLO, start(), start("s2")], "started while 's1' is running"),
            ([HELLO, say("x")], "customer.message for unknown session 's1'"),
            ([HELLO, start(), result("call-1", {})], "no tool call is pending"),
            ([HELLO, start(), say("x"), result("call-9", {})], "expected session 's1' call 'call-1'"),
            ([HELLO, start(), say("x"), say("y")], "expected tool.result for call 'call-1', got 'customer.message'"),
        ]
        for messages, expected in cases:
            with self.subTest(expected=expected):
                code, _, err = run(lambda t, s: lookup_account(email="x") and "ok", *messages)
                self.assertEqual(code, 2, err)
                self.assertIn("protocol error: ", err)
                self.assertIn(expected, err)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err):
            code = serve(lambda t, s: "x", stdin=io.StringIO('{"type": "hello", "protocol": 1}\nnot json\n'), stdout=out)
        self.assertEqual(code, 2)
        self.assertIn("protocol error: not JSON", err.getvalue())


class RealStdio(unittest.TestCase):
    """The SDK as the gate runs it: a process, its real stdin and stdout."""

    def test_stray_output_goes_to_stderr_never_into_the_protocol(self):
        program = textwrap.dedent("""
            import os, subprocess, sys
            from ratchet_sdk.agent import serve, tool

            @tool
            def lookup(email):
                raise AssertionError("not under the gate")

            def respond(turns, session):
                print("a stray print")                     # sys.stdout
                os.write(1, b"a raw write to fd 1\\n")     # the file descriptor
                subprocess.run(["echo", "a child process"])
                return "found " + lookup(email="e")["id"]

            print("a banner at import time")
            sys.exit(serve(respond, agent="stdio-agent", version="1"))
        """)
        host = host_lines(HELLO, start(), say("x"), result("call-1", {"id": "A-1"}), end())
        env = dict(os.environ, PYTHONPATH=str(SDK))
        p = subprocess.run([sys.executable, "-c", program], input=host, capture_output=True, text=True, env=env, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], "a banner at import time")  # before serve: the author's business
        sent = [json.loads(line) for line in lines[1:]]
        self.assertEqual([m["type"] for m in sent], ["ready", "tool.call", "agent.message", "session.ended"])
        self.assertEqual(sent[2]["text"], "found A-1")
        for stray in ("a stray print", "a raw write to fd 1", "a child process"):
            self.assertIn(stray, p.stderr)


if __name__ == "__main__":
    unittest.main()
