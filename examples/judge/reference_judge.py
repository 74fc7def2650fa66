#!/usr/bin/env python3
"""A deterministic stand-in for an LLM judge, speaking the OpenAI chat completions
protocol on loopback (Python standard library only).

ratchet's LLM-judged plugins (plugins/assertion-llm-rubric, plugins/scorecard-llm-rubric)
ask a model yes/no questions about a transcript; ratchet records every answer and
replays it in `ratchet gate`. The recordings committed for the example suite
(recordings/model/) were made against THIS server, because the machine that built
the example has no access to a hosted model. It is not a language model: it answers
only the questions listed in a rules file, with transparent keyword rules, so anyone
can re-create the recordings and see why each answer is what it is. To judge with a
real model, point OPENAI_BASE_URL at it, set [model] model in ratchet.toml, and
re-record (`ratchet gate --record`; see docs/llm-judge.md).

    python3 examples/judge/reference_judge.py --port 8765 [--rules examples/judge/rules.json]
    OPENAI_BASE_URL=http://127.0.0.1:8765/v1 ratchet gate --agent examples/agents/support-v2.toml --record-missing

Rules file: a JSON list of {"question": exact question text, "yes_if_agent_says_any":
[phrases]}; "yes" when an AGENT reply line of the transcript contains one of the
phrases (case-insensitive). A question with no rule is answered HTTP 422, so a
recording is never made from a guess.

It also plays the SIMULATED CUSTOMER ratchet asks for when a scenario's script runs
out (`[script] when_done = "simulate"`, host/src/gate/customer.rs), with rules as
plain: to an agent's confirmation question ("shall I", "should I", "would you like
me to", "go ahead", "confirm", "proceed", ending in "?") it says "Yes, please go
ahead."; asked for an e-mail, order or account, it repeats the first fact that names
one (an order or account question takes a fact holding an identifier like ORD-1042);
to anything else it is done. It never says what its facts do not hold.
"""

import argparse
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
LINE = re.compile(r"^\[(\d+)\] (CUSTOMER|AGENT|TOOL|SYSTEM)(?::| calls| \S+ returned| \S+ failed with) ?(.*)$")


class NoRule(Exception):
    """The question is not in the rules file."""


def load_rules(path):
    rules = json.loads(Path(path).read_text(encoding="utf-8"))
    return {r["question"].strip(): [p.lower() for p in r["yes_if_agent_says_any"]] for r in rules}


def transcript_lines(user_text):
    """(turn, role, text) of each transcript line after 'TRANSCRIPT:'."""
    _, _, body = user_text.partition("\nTRANSCRIPT:\n")
    out = []
    for line in body.splitlines():
        m = LINE.match(line)
        if m:
            out.append((int(m.group(1)), m.group(2), line))
    return out


def judge_one(question, lines, rules):
    phrases = rules.get(question.strip())
    if phrases is None:
        raise NoRule(question)
    for turn, role, line in lines:
        if role != "AGENT" or " calls " in line.split(":", 1)[0]:
            continue
        text = line.split(":", 1)[1].strip() if ":" in line else ""
        for p in phrases:
            if p in text.lower():
                return {"answer": "yes", "reason": f"At turn {turn} the agent says \"{p}\".", "turn": turn}
    return {"answer": "no", "reason": "No agent reply says any of: " + "; ".join(f'"{p}"' for p in phrases) + ".", "turn": None}


CUSTOMER_PROMPT = "ratchet simulated customer v1"
CONFIRM = ("shall i", "should i", "would you like me to", "do you want me to", "go ahead", "confirm", "proceed")
ASKS_FOR = {"email": ("email", "e-mail"), "order": ("order",), "account": ("account",)}
IDENTIFIER = re.compile(r"\b[A-Z]{1,6}-?\d{3,}\b")


def simulated_customer(system, user):
    """The customer's next line: yes to a confirmation, a fact when asked for one, else done."""
    facts = [line[2:] for line in system.splitlines() if line.startswith("- ")]
    agent = [line.split(": ", 1)[1] for line in user.splitlines() if "] AGENT: " in line]
    last = agent[-1].strip() if agent else ""
    said = user.splitlines()[-1] if user.splitlines() else ""
    if "] AGENT: " not in said or not last.endswith("?"):
        return {"say": "", "done": True}
    low = last.lower()
    for words in ASKS_FOR.values():
        if any(w in low for w in words) and not any(c in low for c in CONFIRM):
            named = [f for f in facts if any(w in f.lower() for w in words)]
            if not named and words != ASKS_FOR["email"]:
                named = [f for f in facts if IDENTIFIER.search(f)]  # "you mentioned ORD-1042"
            fact = named[0] if named else None
            return {"say": f"Sure: {fact}.", "done": False} if fact else {"say": "", "done": True}
    if any(c in low for c in CONFIRM):
        return {"say": "Yes, please go ahead.", "done": False}
    return {"say": "", "done": True}


def answer(request, rules):
    """The chat completion for a request body (a dict), or raises NoRule."""
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    system = next((m["content"] for m in request["messages"] if m["role"] == "system"), "")
    lines = transcript_lines(user)
    if system.startswith(CUSTOMER_PROMPT):
        content = simulated_customer(system, user)
    elif user.startswith("QUESTION: "):
        question = user[len("QUESTION: "):].split("\n", 1)[0]
        content = judge_one(question, lines, rules)
    elif user.startswith("RUBRIC:\n"):
        items = []
        for line in user.split("\n\n", 1)[0].splitlines()[1:]:
            if line.startswith("- ") and ": " in line:
                name, question = line[2:].split(": ", 1)
                items.append(dict(name=name, **judge_one(question, lines, rules)))
        content = {"answers": items}
    else:
        raise NoRule(user[:80])
    text = json.dumps(content, sort_keys=True)
    prompt_tokens = sum(len(m["content"].split()) for m in request["messages"])
    return {
        "id": "chatcmpl-reference",
        "object": "chat.completion",
        "model": request.get("model", "reference-judge"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(text.split()), "total_tokens": prompt_tokens + len(text.split())},
    }


def make_handler(rules):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            if not self.path.endswith("/chat/completions"):
                return self.reply(404, {"error": {"message": f"no route {self.path}"}})
            try:
                request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                return self.reply(200, answer(request, rules))
            except NoRule as e:
                return self.reply(422, {"error": {"message": f"the reference judge has no rule for: {e}"}})
            except (ValueError, KeyError, StopIteration) as e:
                return self.reply(400, {"error": {"message": f"bad request: {e!r}"}})

        def reply(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            sys.stderr.write("reference-judge: " + (fmt % args) + "\n")

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--rules", default=str(HERE / "rules.json"))
    a = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", a.port), make_handler(load_rules(a.rules)))
    print(f"reference judge on http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
