#!/usr/bin/env python3
"""A deliberately odd agent for the gate's tests (not an example to copy).

--mode flaky            replies differently on every other session: repeats disagree
--mode missing-fixture  calls lookup_account with arguments no fixture records
--mode unknown-tool     calls a tool that is not in the scenario's registry, at a wrong version
--mode tool-loop        calls lookup_account forever without replying
--mode confirm-first    asks "Shall I go ahead?" before cancelling, and cancels on a yes
                        (the fix that asks a confirmation the failing customer never gave)
"""
import json
import sys

mode = sys.argv[sys.argv.index("--mode") + 1]
sessions = 0


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    msg = json.loads(line)
    kind, sid = msg["type"], msg.get("session")
    if kind == "hello":
        send({"type": "ready", "protocol": 1, "agent": "odd-agent", "version": mode})
    elif kind == "session.start":
        sessions += 1
    elif kind == "customer.message":
        if mode == "flaky":
            text = "Your subscription has been cancelled." if sessions % 2 else "I don't see an active subscription on your account; there is nothing to cancel."
            send({"type": "agent.message", "session": sid, "text": text})
        elif mode == "missing-fixture":
            send({"type": "tool.call", "session": sid, "call_id": "c1", "name": "lookup_account", "arguments": {"email": "someone-else@example.com"}})
        elif mode == "unknown-tool":
            send({"type": "tool.call", "session": sid, "call_id": "c1", "name": "delete_everything", "version": "9.9.9", "arguments": {}})
        elif mode == "tool-loop":
            send({"type": "tool.call", "session": sid, "call_id": "c1", "name": "lookup_account", "arguments": {}})
        elif mode == "confirm-first":
            if any(w in msg["text"].lower() for w in ("yes", "go ahead", "please do")):
                send({"type": "tool.call", "session": sid, "call_id": "c9", "name": "cancel_subscription", "arguments": {"account_id": "A-55812"}})
            else:
                send({"type": "agent.message", "session": sid, "text": "I can cancel your subscription. Shall I go ahead?"})
    elif kind == "tool.result":
        if mode == "tool-loop":
            send({"type": "tool.call", "session": sid, "call_id": "c2", "name": "lookup_account", "arguments": {}})
        else:
            send({"type": "agent.message", "session": sid, "text": "Tool said: " + json.dumps(msg["content"], sort_keys=True)})
    elif kind == "session.end":
        send({"type": "session.ended", "session": sid})
