#!/usr/bin/env python3
"""The example support agent on the OpenAI Agents SDK (PyPI `openai-agents`), under the gate.

A framework agent as a team would write it: an `Agent` with instructions (the prompt
version under test, prompts/support-vN.md) and `@function_tool` tools, run with
`Runner.run` against an OpenAI-compatible chat completions endpoint. Two things make
it gateable, and neither is protocol code:

* each tool function is also wrapped with ratchet's `@tool` (under `@function_tool`):
  under `ratchet gate` its calls are answered by ratchet from the scenario (fixtures,
  simulator, policy), otherwise it runs for real (examples/agents/billing.py);
  `escalate_to_human` is wrapped with `@escalation` (under the gate: the protocol's
  hand-off);
* `serve(respond)` runs the exec protocol; `respond` is one `Runner.run` per customer
  line, with the session (its state snapshot: the customer's email or account id) as
  the run context, which the instructions render as "Customer context:" lines.

The endpoint is the OpenAI client's usual environment: OPENAI_BASE_URL and
OPENAI_API_KEY (the model id: SUPPORT_AGENT_MODEL). The repository's tests point it at
examples/agents/frameworks/scripted_model.py, a deterministic stand-in model.

    python3 examples/agents/frameworks/scripted_model.py --port 8765 &
    export OPENAI_BASE_URL=http://127.0.0.1:8765/v1 OPENAI_API_KEY=unused
    ratchet gate --agent examples/agents/frameworks/openai_agents/support-v2.toml       # under the gate
    python3 examples/agents/frameworks/openai_agents/support_agent.py --chat --email lee@example.com   # for real
"""

import argparse
import asyncio
import json
import os
import sys
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.dirname(os.path.dirname(HERE))  # examples/agents
try:
    from ratchet_sdk.agent import Session, escalation, serve, tool
except ImportError:  # in a checkout, without `pip install ratchet-sdk`
    sys.path.insert(0, os.path.join(EXAMPLES, "..", "..", "sdk", "python"))
    from ratchet_sdk.agent import Session, escalation, serve, tool
sys.path.insert(0, EXAMPLES)
from billing import BILLING  # noqa: E402  (the production backend the tools call for real)

from agents import (Agent, ModelSettings, OpenAIChatCompletionsModel, RunContextWrapper, Runner,  # noqa: E402
                    StopAtTools, function_tool, set_tracing_disabled)
from openai import AsyncOpenAI  # noqa: E402

set_tracing_disabled(True)  # no trace export: the gate runs offline

PROMPTS = os.path.join(os.path.dirname(HERE), "prompts")
VERSIONS = ("support-v1", "support-v2", "support-v3")


# The tools. Signatures, type hints and docstrings are what the model sees.

@function_tool
@tool(version="1.4.0")
def lookup_account(email: Optional[str] = None, account_id: Optional[str] = None) -> dict:
    """Look up the customer's account: subscription status, plan, supervisor approval flag, last charge.

    Args:
        email: The customer's email address, as given in the customer context.
        account_id: The account id, as given in the customer context.
    """
    return BILLING.lookup(email=email, account_id=account_id)


@function_tool
@tool(version="2.1.0")
def cancel_subscription(account_id: str) -> dict:
    """Cancel the account's subscription at the end of the billing period.

    Args:
        account_id: The account id returned by lookup_account.
    """
    return BILLING.cancel(account_id)


@function_tool
@tool(version="1.0.3")
def issue_refund(account_id: str, amount: float) -> dict:
    """Refund the account's last charge.

    Args:
        account_id: The account id returned by lookup_account.
        amount: The amount of the last charge, from lookup_account.
    """
    return BILLING.refund(account_id, amount)


@function_tool
@escalation
def escalate_to_human(reason: str) -> str:
    """Hand the conversation to a human agent; your part ends there.

    Args:
        reason: Why the customer needs a human.
    """
    return "Ticket opened for a human agent: %s" % reason  # production: the contact center's queue


def build_agent(prompt_version: str) -> Agent:
    with open(os.path.join(PROMPTS, prompt_version + ".md"), encoding="utf-8") as f:
        prompt = f.read().strip()

    def instructions(ctx: RunContextWrapper[Session], agent: Agent) -> str:
        """The prompt under test, then the session's memory (the gate's state snapshot,
        or the production session's) as customer context."""
        lines = ["- %s = %s" % (k, json.dumps(v)) for k, v in ctx.context.memory.items() if v is not None]
        return prompt + ("\n\nCustomer context:\n" + "\n".join(lines) if lines else "")

    model = OpenAIChatCompletionsModel(model=os.environ.get("SUPPORT_AGENT_MODEL", "gpt-4o-mini-2024-07-18"),
                                       openai_client=AsyncOpenAI())
    return Agent(name="support-agent", instructions=instructions, model=model,
                 tools=[lookup_account, cancel_subscription, issue_refund, escalate_to_human],
                 model_settings=ModelSettings(temperature=0, parallel_tool_calls=False),
                 tool_use_behavior=StopAtTools(stop_at_tool_names=["escalate_to_human"]))


def make_respond(agent: Agent):
    async def respond(turns, session: Session):
        """One Runner.run per customer line; the history lives in the session."""
        history = session.data.get("history", [])
        result = await Runner.run(agent, history + [{"role": "user", "content": turns[-1]["text"]}], context=session)
        session.data["history"] = result.to_input_list()
        return str(result.final_output)
    return respond


def chat(agent: Agent, email: Optional[str]) -> int:
    """Production mode: a console chat; the tools run against the billing backend."""
    session = Session("chat", state={"memory_snapshot": [{"key": "customer.email", "value": email}]} if email else {})
    history = []
    for line in sys.stdin:
        if not line.strip():
            continue
        result = Runner.run_sync(agent, history + [{"role": "user", "content": line.strip()}], context=session)
        history = result.to_input_list()
        print(result.final_output, flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="The example support agent on the OpenAI Agents SDK.")
    parser.add_argument("--prompt-version", default="support-v1", choices=VERSIONS)
    parser.add_argument("--chat", action="store_true", help="chat on the console, tools executed for real")
    parser.add_argument("--email", help="with --chat: the customer's email (the session memory)")
    args = parser.parse_args()
    agent = build_agent(args.prompt_version)
    if args.chat:
        return chat(agent, args.email)
    return serve(make_respond(agent), agent="support-agent-openai-agents", version=args.prompt_version)


if __name__ == "__main__":
    sys.exit(main())
