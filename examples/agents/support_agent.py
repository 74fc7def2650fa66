#!/usr/bin/env python3
"""Example agent under test for `ratchet gate` (the exec driver).

A subscription-support agent speaking the JSON-lines protocol of
docs/agent-protocol.md on stdin/stdout, Python 3 standard library only. Copy it
to wire up your own agent: keep the protocol part (bottom half), replace
`decide()` with a call to your real agent.

THIS IS A DETERMINISTIC STAND-IN FOR AN LLM AGENT. A real agent would send the
conversation to a model with a system prompt; this one decides with keyword
rules. What it keeps from the real thing is what ratchet is about: its
behaviour depends on its prompt version (--prompt-version), the way a prompt
change changes a real agent:

  support-v1  the buggy production prompt: cancels even when there is no active
              subscription, refunds without supervisor approval, never states
              the policy, talks the customer out of asking for a human
  support-v2  the fix: checks the account before acting, states the policy,
              escalates refunds without approval and requests for a human
  support-v3  a regression: like v2, but cancels without checking the status

The same logic, compiled to a Wasm component, is examples/agents/support-agent-wasm
(driver = "wasm"). Both forms must take the same actions on the same inputs:
examples/agents/support_agent_cases.json is played against both by their tests.

Usage: support_agent.py [--prompt-version support-v1|support-v2|support-v3]
       Flags to exercise the gate's error handling: --crash-after N, --hang,
       --garbage, --slow-ms N (see --help).
"""

import argparse
import json
import re
import sys
import time

PROTOCOL = 1
AGENT_NAME = "support-agent"

# The tools this agent uses, at the versions the scenarios' tool registries list.
# Tool calls are never executed by the gate: it answers them from the
# scenario's recorded fixtures.
LOOKUP_ACCOUNT = "lookup_account"  # {"email"} or {"account_id"} -> account
CANCEL_SUBSCRIPTION = "cancel_subscription"  # {"account_id"}
ISSUE_REFUND = "issue_refund"  # {"account_id", "amount"}
TOOL_VERSIONS = {LOOKUP_ACCOUNT: "1.4.0", CANCEL_SUBSCRIPTION: "2.1.0", ISSUE_REFUND: "1.0.3"}

# What each prompt version does differently.
PROMPT_VERSIONS = {
    "support-v1": dict(checks_status=False, checks_supervisor=False, states_policy=False, escalates=False),
    "support-v2": dict(checks_status=True, checks_supervisor=True, states_policy=True, escalates=True),
    "support-v3": dict(checks_status=False, checks_supervisor=True, states_policy=True, escalates=True),
}

# What the agent says (the Wasm form uses the very same strings).
GREETING = "Hi! I can help you cancel your subscription or get a refund. What can I do for you?"
HELP = "I can help you cancel your subscription or request a refund. What would you like to do?"
WELCOME = "You're welcome! Is there anything else I can help you with?"
NO_HUMAN_NEEDED = "There's no need to wait for a human: I can help you with that myself. What do you need?"
ESCALATE_ON_REQUEST = "the customer asked to speak to a human"
NO_ACCOUNT = "I couldn't find an account linked to this conversation. Please contact us from the email address on your account."
LOOKUP_FAILED = "I'm sorry, I couldn't look up your account right now. Please try again in a few minutes."
CANCELLATION_POLICY = ("Per our cancellation policy, your plan stays active until the end of the current billing period "
                       "and you won't be charged again.")
CANCELLED = "Your subscription has been cancelled. Is there anything else I can help you with?"
NO_ACTIVE_SUBSCRIPTION = ("I don't see an active subscription on your account, so there is nothing to cancel "
                          "and I haven't made any changes.")
CANCEL_FAILED = "I'm sorry, I couldn't cancel your subscription right now. Please try again in a few minutes."
REFUND_POLICY = "Per our refund policy, refunds go back to the original payment method within 5-10 business days."
REFUNDED = "Your refund has been issued. Is there anything else I can help you with?"
NO_CHARGE = "I don't see a recent charge on your account that I could refund."
REFUND_FAILED = "I'm sorry, I couldn't issue the refund right now. Please try again in a few minutes."
ESCALATE_REFUND = "Per our refund policy, this refund needs supervisor approval (supervisor_flag is not set on the account)"


# ---------------------------------------------------------------------------
# The decision logic: a pure function of the prompt version, the memory
# snapshot and the transcript so far (turns shaped as in the canonical
# conversation: {"role", "text", "tool_calls", "tool_result"}). It returns the
# next action: ("reply", text), ("call", call_id, tool, arguments) or
# ("escalate", reason). Mirror of support-agent-wasm/src/lib.rs.
# ---------------------------------------------------------------------------

def intent(text):
    """human | cancel | refund | thanks | other, from keywords (the stand-in for
    the model's understanding). Words are runs of ASCII letters and digits."""
    words = [w.lower() for w in re.split(r"[^A-Za-z0-9]+", text) if w]
    if any(w in ("human", "person", "supervisor", "manager", "agent", "representative") for w in words):
        return "human"
    if any(w.startswith("cancel") or w == "unsubscribe" for w in words):
        return "cancel"
    if any(w.startswith("refund") for w in words):
        return "refund"
    if any(w in ("thanks", "thank", "thx") for w in words):
        return "thanks"
    return "other"


def next_call_id(transcript):
    """call-N: deterministic, so replays are identical."""
    return "call-%d" % (sum(len(t.get("tool_calls", [])) for t in transcript) + 1)


def decide(version, memory, transcript):
    v = PROMPT_VERSIONS[version]
    customer = [i for i, t in enumerate(transcript) if t["role"] == "customer"]
    if not customer:
        return ("reply", GREETING)
    text = transcript[customer[-1]]["text"]
    after = transcript[customer[-1] + 1:]  # what the agent did since the customer spoke
    if any(t["role"] == "agent" and t.get("text") for t in after):
        raise RuntimeError("the customer's latest message has already been answered")
    results = {t["tool_result"]["call_id"]: t["tool_result"] for t in after if t.get("tool_result")}
    calls = [c for t in after for c in t.get("tool_calls", [])]

    def result_of(tool):  # result of the latest call to `tool` for this message
        mine = [c for c in calls if c["name"] == tool]
        return results.get(mine[-1]["id"]) if mine else None

    wants = intent(text)
    if wants == "human":
        return ("escalate", ESCALATE_ON_REQUEST) if v["escalates"] else ("reply", NO_HUMAN_NEEDED)
    if wants == "thanks":
        return ("reply", WELCOME)
    if wants == "other":
        return ("reply", HELP)

    # 1. Look the account up, once per request: by email, else by account id.
    lookup = result_of(LOOKUP_ACCOUNT)
    if lookup is None:
        if memory.get("customer.email") is not None:
            arguments = {"email": memory["customer.email"]}
        elif memory.get("account.id") is not None:
            arguments = {"account_id": memory["account.id"]}
        else:
            return ("reply", NO_ACCOUNT)
        return ("call", next_call_id(transcript), LOOKUP_ACCOUNT, arguments)
    if lookup.get("is_error"):
        return ("reply", LOOKUP_FAILED)
    account = lookup.get("content") if isinstance(lookup.get("content"), dict) else {}
    account_id = account.get("account_id") if account.get("account_id") is not None else memory.get("account.id")
    if account_id is None:
        return ("reply", LOOKUP_FAILED)

    def after_action(result, policy, done, failed):
        if result.get("is_error"):
            return ("reply", failed)
        return ("reply", policy + " " + done if v["states_policy"] else done)

    # 2. Act, or decline: this is where the prompt versions differ.
    if wants == "cancel":
        done = result_of(CANCEL_SUBSCRIPTION)
        if done is not None:
            return after_action(done, CANCELLATION_POLICY, CANCELLED, CANCEL_FAILED)
        if v["checks_status"] and account.get("subscription_status") != "active":
            return ("reply", NO_ACTIVE_SUBSCRIPTION)
        return ("call", next_call_id(transcript), CANCEL_SUBSCRIPTION, {"account_id": account_id})

    done = result_of(ISSUE_REFUND)
    if done is not None:
        return after_action(done, REFUND_POLICY, REFUNDED, REFUND_FAILED)
    if v["checks_supervisor"] and account.get("supervisor_flag") is not True:
        return ("escalate", ESCALATE_REFUND)
    if account.get("last_charge_amount") is None:
        return ("reply", NO_CHARGE)
    return ("call", next_call_id(transcript), ISSUE_REFUND, {"account_id": account_id, "amount": account["last_charge_amount"]})


# ---------------------------------------------------------------------------
# The protocol (docs/agent-protocol.md): JSON lines on stdin/stdout. Sessions
# are independent and keyed by `session`, so one process serves several at
# once (`concurrent_sessions: true`).
# ---------------------------------------------------------------------------

class ProtocolError(Exception):
    pass


def send(message):
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()  # the host reads line by line: never leave a line in the buffer


def log(text):
    sys.stderr.write("support-agent: %s\n" % text)  # kept by the gate, shown when the agent fails
    sys.stderr.flush()


class Agent:
    def __init__(self, args):
        self.args = args
        self.sessions = {}  # session id -> {"memory": {...}, "transcript": [...], "pending": call id or None, "over": bool}
        self.customer_messages = 0

    def handle(self, msg):
        kind = msg.get("type")
        if kind == "hello":
            if msg.get("protocol") != PROTOCOL:
                raise ProtocolError("unsupported protocol %r (this agent speaks %d)" % (msg.get("protocol"), PROTOCOL))
            send({"type": "ready", "protocol": PROTOCOL, "agent": AGENT_NAME,
                  "version": self.args.prompt_version, "concurrent_sessions": True})
        elif kind == "session.start":
            sid = msg["session"]
            if sid in self.sessions:
                raise ProtocolError("session %r started twice" % sid)
            memory = {}
            for entry in (msg.get("state") or {}).get("memory_snapshot", []):
                memory.setdefault(entry["key"], entry.get("value"))  # first entry wins
            # The snapshot also carries the prompt version production ran when the
            # failure was captured; the version under test is --prompt-version.
            self.sessions[sid] = {"memory": memory, "transcript": [], "pending": None, "over": False}
            log("[%s] start %s (%s)" % (sid, msg.get("scenario"), msg.get("channel")))
        elif kind == "customer.message":
            session = self.session(msg)
            if session["pending"] or session["over"]:
                raise ProtocolError("customer.message for session %r while %s" % (
                    msg["session"], "a tool call is pending" if session["pending"] else "it is over"))
            self.customer_messages += 1
            if self.misbehave():
                return
            session["transcript"].append({"role": "customer", "text": msg["text"]})
            self.step(msg["session"], session)
        elif kind == "tool.result":
            session = self.session(msg)
            if msg.get("call_id") != session["pending"]:
                raise ProtocolError("tool.result for call %r, expected %r" % (msg.get("call_id"), session["pending"]))
            call = session["transcript"][-1]["tool_calls"][0]
            session["transcript"].append({"role": "tool", "tool_result": {
                "call_id": call["id"], "name": call["name"], "content": msg.get("content"),
                "is_error": bool(msg.get("is_error"))}})
            session["pending"] = None
            self.step(msg["session"], session)
        elif kind == "session.end":
            self.sessions.pop(msg["session"], None)
            log("[%s] end" % msg["session"])
            send({"type": "session.ended", "session": msg["session"]})
        else:
            raise ProtocolError("unknown message type %r" % kind)

    def session(self, msg):
        if msg.get("session") not in self.sessions:
            raise ProtocolError("unknown session %r" % msg.get("session"))
        return self.sessions[msg["session"]]

    def step(self, sid, session):
        """Ask the decision logic for the next action and send it."""
        action = decide(self.args.prompt_version, session["memory"], session["transcript"])
        if self.args.slow_ms:
            time.sleep(self.args.slow_ms / 1000.0)
        log("[%s] %s: %s" % (sid, action[0], action[2] if action[0] == "call" else action[1]))
        if action[0] == "call":
            _, call_id, tool, arguments = action
            session["transcript"].append({"role": "agent", "text": "",
                                          "tool_calls": [{"id": call_id, "name": tool, "arguments": arguments}]})
            session["pending"] = call_id
            send({"type": "tool.call", "session": sid, "call_id": call_id, "name": tool,
                  "version": TOOL_VERSIONS[tool], "arguments": arguments})
        elif action[0] == "reply":
            session["transcript"].append({"role": "agent", "text": action[1]})
            send({"type": "agent.message", "session": sid, "text": action[1]})
        else:
            session["over"] = True  # escalating ends the session
            send({"type": "escalate", "session": sid, "reason": action[1]})

    def misbehave(self):
        """The test flags: fail the way real agents fail, on purpose. True when
        the customer message must not be answered."""
        if self.args.crash_after is not None and self.customer_messages > self.args.crash_after:
            log("crashing on purpose (--crash-after %d)" % self.args.crash_after)
            sys.exit(3)
        if self.args.hang:
            log("hanging on purpose (--hang)")
            while True:
                time.sleep(3600)
        if self.args.garbage:
            sys.stdout.write("this is not a protocol message (--garbage)\n")
            sys.stdout.flush()
            return True
        return False


def main():
    parser = argparse.ArgumentParser(description="Example subscription-support agent for ratchet gate (exec driver).")
    parser.add_argument("--prompt-version", default="support-v1", choices=sorted(PROMPT_VERSIONS),
                        help="the behaviour under test (default: support-v1)")
    parser.add_argument("--crash-after", type=int, metavar="N",
                        help="answer N customer messages, then exit with status 3 on the next one")
    parser.add_argument("--hang", action="store_true", help="never answer a customer message")
    parser.add_argument("--garbage", action="store_true",
                        help="print a non-JSON line instead of answering a customer message")
    parser.add_argument("--slow-ms", type=int, default=0, metavar="N", help="sleep N ms before each message sent in answer")
    args = parser.parse_args()
    agent = Agent(args)
    log("ready (prompt version %s)" % args.prompt_version)
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0  # the host closed stdin: done
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            if not isinstance(msg, dict):
                raise ProtocolError("not a JSON object: %s" % line.strip())
            agent.handle(msg)
        except (ValueError, KeyError, ProtocolError, RuntimeError) as e:
            log("protocol error: %s" % e)
            return 2


if __name__ == "__main__":
    sys.exit(main())
