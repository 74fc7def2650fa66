#!/usr/bin/env python3
"""A scripted, deterministic stand-in for an LLM behind an OpenAI-compatible API.

The framework agents of examples/agents/frameworks/ (OpenAI Agents SDK, ...) are real
programs on real framework packages: they send real chat completions requests. This
server answers them the way a model that follows its system prompt *to the letter*
would, with no randomness, so the gate's verdicts are reproducible offline:

* The prompt decides the behaviour. The system message is searched for the rule
  sentences of RULES below (prompts/support-v2.md has all four; support-v1.md none;
  support-v3.md lacks the cancellation check); a rule is followed iff its sentence is in
  the prompt. A prompt edit changes the answers, as it would with a real model.
* The conversation decides the answer: the messages (customer lines, earlier tool calls,
  tool results) are read back into a transcript and the next step is taken by the
  keyword rules of examples/agents/support_agent.py (`decide`): a tool call
  (`tool_calls`, arguments as JSON), a reply (`content`), or a hand-off (a call to
  `escalate_to_human`). The customer's email or account id come from the
  "Customer context:" lines of the system messages (`- key = <JSON value>`).

Only tools offered in the request's `tools` are called (an unknown tool is a 400, as
a real API refuses a call it cannot make); for a tool declared `strict` every property
of its schema is sent, null when the model has no value for it, as with OpenAI's
structured outputs. Every request can be logged as one JSON
line (--log), for tests to check what the framework actually sent.

    python3 scripted_model.py --port 0        # prints: listening on http://127.0.0.1:PORT/v1
    OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 OPENAI_API_KEY=unused python3 my_agent.py

POST /v1/chat/completions only (non-streaming). Standard library only.
"""

import argparse
import ast
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import support_agent as rules  # noqa: E402  (examples/agents/support_agent.py)

# behaviour flag of support_agent.PROMPT_VERSIONS -> the prompt sentence that asks for it
RULES = {
    "checks_status": "If `subscription_status` is not `active`, do NOT call `cancel_subscription`",
    "checks_supervisor": "Only call `issue_refund` when `lookup_account` shows `supervisor_flag = true`",
    "states_policy": "state the policy in so many words",
    "escalates": "When the customer asks for a human, call `escalate_to_human` right away",
}
ESCALATE_TOOL = "escalate_to_human"
CONTEXT_HEADER = "Customer context:"


class BadRequest(Exception):
    pass


def text_of(content):
    """A message's content as text (a string, or a list of text parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    raise BadRequest("message content is neither a string nor a list of parts")


def tool_output(text):
    """(content, is_error) of a tool message: JSON, else a Python literal (frameworks
    send str(dict)), else the text. A framework's error text, or an object holding
    only `error`, is an error."""
    if text.startswith(("An error occurred", "ERROR", "Error:")):  # openai-agents, the openai driver, LangGraph
        return text, True
    for parse in (json.loads, ast.literal_eval):
        try:
            value = parse(text)
        except (ValueError, SyntaxError):
            continue
        # {"error": ...} alone is a failed call (the AI SDK's error results, the gate's
        # missing-fixture answer, most APIs' error bodies).
        return value, isinstance(value, dict) and list(value) == ["error"]
    return text, False


def read_request(body):
    """(flags, memory, transcript, offered tools) of a chat completions request."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("`messages` must be a non-empty list")
    system = "\n".join(text_of(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
    flags = {flag: sentence in system for flag, sentence in RULES.items()}
    memory = {}
    in_context = False
    for line in system.splitlines():
        if line.strip() == CONTEXT_HEADER:
            in_context = True
        elif in_context and line.startswith("- ") and " = " in line:
            key, value = line[2:].split(" = ", 1)
            try:
                memory.setdefault(key.strip(), json.loads(value))
            except ValueError:
                raise BadRequest("customer context line is not `- key = <JSON>`: %s" % line)
        elif in_context and line.strip():
            in_context = False
    transcript, names = [], {}
    for m in messages:
        role = m.get("role")
        if role == "user":
            transcript.append({"role": "customer", "text": text_of(m.get("content"))})
        elif role == "assistant":
            calls = []
            for c in m.get("tool_calls") or []:
                fn = c.get("function") or {}
                try:
                    arguments = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    raise BadRequest("tool call %s: arguments are not JSON" % c.get("id"))
                names[c.get("id")] = fn.get("name")
                calls.append({"id": c.get("id"), "name": fn.get("name"), "arguments": arguments})
            transcript.append({"role": "agent", "text": text_of(m.get("content")), "tool_calls": calls})
        elif role == "tool":
            call_id = m.get("tool_call_id")
            if call_id not in names:
                raise BadRequest("tool message for unknown tool_call_id %r" % call_id)
            content, is_error = tool_output(text_of(m.get("content")))
            transcript.append({"role": "tool", "tool_result": {"call_id": call_id, "name": names[call_id],
                                                               "content": content, "is_error": is_error}})
        elif role not in ("system", "developer"):
            raise BadRequest("unknown message role %r" % role)
    offered = {t["function"].get("name"): t["function"] for t in body.get("tools") or [] if t.get("type") == "function" and isinstance(t.get("function"), dict)}
    return flags, memory, transcript, offered


def answer(body):
    """The assistant message answering a chat completions request."""
    flags, memory, transcript, offered = read_request(body)
    key = "scripted:" + ",".join(f for f in sorted(flags) if flags[f])
    rules.PROMPT_VERSIONS.setdefault(key, flags)
    action = rules.decide(key, memory, transcript)
    if action[0] == "reply":
        return {"role": "assistant", "content": action[1]}
    if action[0] == "call":
        _, call_id, name, arguments = action
    else:
        call_id, name, arguments = rules.next_call_id(transcript), ESCALATE_TOOL, {"reason": action[1]}
    if name not in offered:
        raise BadRequest("the model would call `%s`, which is not among the request's tools %s" % (name, sorted(offered)))
    if offered[name].get("strict"):
        # Strict function calling (structured outputs): the model sends every property
        # of the schema, null for those it has no value for, as OpenAI's models do.
        properties = (offered[name].get("parameters") or {}).get("properties") or {}
        arguments = dict(arguments, **{k: None for k in properties if k not in arguments})
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id.replace("-", "_"), "type": "function", "function": {"name": name, "arguments": json.dumps(arguments, sort_keys=True)}}]}


class Handler(BaseHTTPRequestHandler):
    server_version = "scripted-model/1"

    def log_message(self, fmt, *args):  # quiet: the agent's stderr is the gate's
        pass

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            return self.reply(404, {"error": {"message": "only POST /v1/chat/completions is scripted", "type": "not_found"}})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            if body.get("stream"):
                raise BadRequest("streaming is not scripted")
            message = answer(body)
        except (BadRequest, ValueError) as e:
            self.server.record({"error": str(e)})
            return self.reply(400, {"error": {"message": str(e), "type": "invalid_request_error"}})
        self.server.record({"request": body, "response": message})
        prompt = sum(len(text_of(m.get("content")).split()) for m in body["messages"])
        self.reply(200, {
            "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0, "model": body.get("model", "scripted"),
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": 1, "total_tokens": prompt + 1}})


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, log_path=None):
        super().__init__(address, Handler)
        self.log_path = log_path
        self.lock = threading.Lock()

    def record(self, entry):
        if self.log_path:
            with self.lock, open(self.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")


def main():
    parser = argparse.ArgumentParser(description="A scripted OpenAI-compatible chat completions server (loopback only).")
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (0: any free port; default 8765)")
    parser.add_argument("--log", help="append every request and answer to this file (JSON lines)")
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), args.log)
    print("listening on http://127.0.0.1:%d/v1" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
