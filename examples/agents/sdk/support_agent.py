#!/usr/bin/env python3
"""The example support agent, written on the agent SDK (ratchet_sdk.agent).

The same agent as examples/agents/support_agent.py — same decisions at the same
prompt versions, same words — without a line of protocol code: the SDK's `serve`
runs the exec protocol around `respond`, and the tools are plain functions wrapped
with `@tool`. Under `ratchet gate` their calls are answered by ratchet (fixtures,
simulator, policy); run as a chat (`--chat`) they execute for real, against the
"production" billing backend (examples/agents/billing.py). The same code in both
places.

    ratchet gate --agent examples/agents/sdk/support-v2.toml      # under the gate
    python3 examples/agents/sdk/support_agent.py --chat --email dana@example.com   # for real

The decision rules (intent keywords, what each prompt version does, the replies)
are imported from the hand-written example: they are the stand-in for the model.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    from ratchet_sdk.agent import Escalate, ToolError, serve, tool
except ImportError:  # in a checkout, without `pip install ratchet-sdk`
    sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "sdk", "python"))
    from ratchet_sdk.agent import Escalate, ToolError, serve, tool
sys.path.insert(0, os.path.dirname(HERE))
import support_agent as rules  # noqa: E402  (examples/agents/support_agent.py: intent + replies)
from billing import BILLING  # noqa: E402  (examples/agents/billing.py: the production backend)


# ---------------------------------------------------------------------------
# The tools: real functions, wrapped. Under the gate a call goes to ratchet.
# ---------------------------------------------------------------------------

@tool(version="1.4.0")
def lookup_account(email=None, account_id=None):
    return BILLING.lookup(email=email, account_id=account_id)


@tool(version="2.1.0")
def cancel_subscription(account_id):
    return BILLING.cancel(account_id)


@tool(version="1.0.3")
def issue_refund(account_id, amount):
    return BILLING.refund(account_id, amount)


# ---------------------------------------------------------------------------
# The agent: the answer to the customer's latest message.
# ---------------------------------------------------------------------------

def make_respond(prompt_version):
    v = rules.PROMPT_VERSIONS[prompt_version]

    def respond(turns, session):
        wants = rules.intent(turns[-1]["text"])
        if wants == "human":
            return Escalate(rules.ESCALATE_ON_REQUEST) if v["escalates"] else rules.NO_HUMAN_NEEDED
        if wants == "thanks":
            return rules.WELCOME
        if wants == "other":
            return rules.HELP

        # 1. Look the account up: by email, else by account id (the session's memory).
        memory = session.memory
        try:
            if memory.get("customer.email") is not None:
                account = lookup_account(email=memory["customer.email"])
            elif memory.get("account.id") is not None:
                account = lookup_account(account_id=memory["account.id"])
            else:
                return rules.NO_ACCOUNT
        except (ToolError, LookupError):
            return rules.LOOKUP_FAILED
        account = account if isinstance(account, dict) else {}
        account_id = account.get("account_id") if account.get("account_id") is not None else memory.get("account.id")
        if account_id is None:
            return rules.LOOKUP_FAILED

        def done(policy, text):
            return policy + " " + text if v["states_policy"] else text

        # 2. Act, or decline: where the prompt versions differ.
        if wants == "cancel":
            if v["checks_status"] and account.get("subscription_status") != "active":
                return rules.NO_ACTIVE_SUBSCRIPTION
            try:
                cancel_subscription(account_id=account_id)
            except ToolError:
                return rules.CANCEL_FAILED
            return done(rules.CANCELLATION_POLICY, rules.CANCELLED)
        if v["checks_supervisor"] and account.get("supervisor_flag") is not True:
            return Escalate(rules.ESCALATE_REFUND)
        if account.get("last_charge_amount") is None:
            return rules.NO_CHARGE
        try:
            issue_refund(account_id=account_id, amount=account["last_charge_amount"])
        except ToolError:
            return rules.REFUND_FAILED
        return done(rules.REFUND_POLICY, rules.REFUNDED)

    return respond


def chat(respond, email):
    """Production mode: a console chat; the tools run against BILLING."""
    from ratchet_sdk.agent import Session
    session = Session("chat", state={"memory_snapshot": [{"key": "customer.email", "value": email}]} if email else {})
    print(rules.GREETING, flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        session.turns.append({"role": "customer", "text": line.strip()})
        reply = respond(session.turns, session)
        if isinstance(reply, Escalate):
            print("[handed off to a human: %s]" % reply.reason, flush=True)
            return 0
        session.turns.append({"role": "agent", "text": reply})
        print(reply, flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description="The example support agent on ratchet's agent SDK.")
    parser.add_argument("--prompt-version", default="support-v1", choices=sorted(rules.PROMPT_VERSIONS))
    parser.add_argument("--chat", action="store_true", help="chat on the console, tools executed for real")
    parser.add_argument("--email", help="with --chat: the customer's email (the session memory)")
    args = parser.parse_args()
    respond = make_respond(args.prompt_version)
    if args.chat:
        return chat(respond, args.email)
    return serve(respond, agent="support-agent", version=args.prompt_version)


if __name__ == "__main__":
    sys.exit(main())
