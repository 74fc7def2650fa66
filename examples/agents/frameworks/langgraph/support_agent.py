#!/usr/bin/env python3
"""The example support agent on LangGraph (PyPI `langgraph` + `langchain-openai`), under the gate.

A tool-calling agent graph as a team would build it: a `StateGraph` over
`MessagesState` with a `ChatOpenAI` model node and a `ToolNode` of LangChain `@tool`
functions, invoked once per customer line with the conversation's messages. Gateable with the same two additions as any agent:

* each tool function is also wrapped with ratchet's `@tool` (under LangChain's
  `@tool`, which reads the wrapped signature and docstring): under `ratchet gate` its
  calls are answered by ratchet, otherwise it runs for real (examples/agents/billing.py);
  `escalate_to_human` is wrapped with `@escalation` (the graph ends after it);
* `serve(respond)` runs the exec protocol; `respond` builds the system message from
  the prompt version under test and the session's state snapshot ("Customer context:"
  lines), and keeps the graph's messages in `session.data` between turns.

The endpoint is the OpenAI client's usual environment (OPENAI_BASE_URL,
OPENAI_API_KEY; the model id: SUPPORT_AGENT_MODEL). The tests point it at
examples/agents/frameworks/scripted_model.py.

    ratchet gate --agent examples/agents/frameworks/langgraph/support-v2.toml
    python3 examples/agents/frameworks/langgraph/support_agent.py --chat --email lee@example.com   # for real
"""

import argparse
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

from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage  # noqa: E402
from langchain_core.tools import tool as langchain_tool  # noqa: E402
from langchain_openai import ChatOpenAI  # noqa: E402
from langgraph.graph import END, START, MessagesState, StateGraph  # noqa: E402
from langgraph.prebuilt import ToolNode, tools_condition  # noqa: E402

PROMPTS = os.path.join(os.path.dirname(HERE), "prompts")
VERSIONS = ("support-v1", "support-v2", "support-v3")


@langchain_tool
@tool(version="1.4.0")
def lookup_account(email: Optional[str] = None, account_id: Optional[str] = None) -> dict:
    """Look up the customer's account: subscription status, plan, supervisor approval flag, last charge.
    Pass the email (else the account id) from the customer context, exactly as given."""
    return BILLING.lookup(email=email, account_id=account_id)


@langchain_tool
@tool(version="2.1.0")
def cancel_subscription(account_id: str) -> dict:
    """Cancel the account's subscription at the end of the billing period (account id from lookup_account)."""
    return BILLING.cancel(account_id)


@langchain_tool
@tool(version="1.0.3")
def issue_refund(account_id: str, amount: float) -> dict:
    """Refund the account's last charge (account id and amount from lookup_account)."""
    return BILLING.refund(account_id, amount)


@langchain_tool
@escalation
def escalate_to_human(reason: str) -> str:
    """Hand the conversation to a human agent, with the reason; your part ends there."""
    return "Ticket opened for a human agent: %s" % reason  # production: the contact center's queue


TOOLS = [lookup_account, cancel_subscription, issue_refund, escalate_to_human]


def build_graph():
    """model -> tools -> model ... until the model answers without a tool call, or
    the hand-off tool ran."""
    model = ChatOpenAI(model=os.environ.get("SUPPORT_AGENT_MODEL", "gpt-4o-mini-2024-07-18"), temperature=0,
                       base_url=os.environ.get("OPENAI_BASE_URL")).bind_tools(TOOLS, parallel_tool_calls=False)

    def call_model(state: MessagesState):
        return {"messages": [model.invoke(state["messages"])]}

    def after_tools(state: MessagesState):
        last = state["messages"][-1]
        return END if isinstance(last, ToolMessage) and last.name == "escalate_to_human" else "model"

    graph = StateGraph(MessagesState)
    graph.add_node("model", call_model)
    graph.add_node("tools", ToolNode(TOOLS, handle_tool_errors=True))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition, ["tools", END])
    graph.add_conditional_edges("tools", after_tools, ["model", END])
    return graph.compile()


def system_message(prompt_version: str, session: Session) -> SystemMessage:
    """The prompt under test, then the session's memory (the gate's state snapshot, or
    the production session's) as customer context."""
    with open(os.path.join(PROMPTS, prompt_version + ".md"), encoding="utf-8") as f:
        prompt = f.read().strip()
    lines = ["- %s = %s" % (k, json.dumps(v)) for k, v in session.memory.items() if v is not None]
    return SystemMessage(prompt + ("\n\nCustomer context:\n" + "\n".join(lines) if lines else ""))


def make_respond(graph, prompt_version: str):
    def respond(turns, session: Session):
        """One graph run per customer line; the messages live in the session."""
        messages = session.data.get("messages") or [system_message(prompt_version, session)]
        result = graph.invoke({"messages": messages + [HumanMessage(turns[-1]["text"])]})
        session.data["messages"] = result["messages"]
        return str(result["messages"][-1].content)
    return respond


def chat(respond, email: Optional[str]) -> int:
    """Production mode: a console chat; the tools run against the billing backend."""
    session = Session("chat", state={"memory_snapshot": [{"key": "customer.email", "value": email}]} if email else {})
    for line in sys.stdin:
        if not line.strip():
            continue
        session.turns.append({"role": "customer", "text": line.strip()})
        reply = respond(session.turns, session)
        session.turns.append({"role": "agent", "text": reply})
        print(reply, flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="The example support agent on LangGraph.")
    parser.add_argument("--prompt-version", default="support-v1", choices=VERSIONS)
    parser.add_argument("--chat", action="store_true", help="chat on the console, tools executed for real")
    parser.add_argument("--email", help="with --chat: the customer's email (the session memory)")
    args = parser.parse_args()
    respond = make_respond(build_graph(), args.prompt_version)
    if args.chat:
        return chat(respond, args.email)
    return serve(respond, agent="support-agent-langgraph", version=args.prompt_version)


if __name__ == "__main__":
    sys.exit(main())
