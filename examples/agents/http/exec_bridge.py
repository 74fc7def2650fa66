#!/usr/bin/env python3
"""Serve an exec-protocol agent as an http-driver agent (docs/agent-protocol.md, "The
http driver"): each POST carries one protocol message; the answer is the agent's
next message. One agent process per session, started at `session.start` and ended
at `session.end`. A repeated (session, seq) - a retry by the gate - gets the answer
already given, so nothing is done twice.

It is what the http driver is tested against with the real example agent, and a
way to put an existing exec agent behind a URL. A service of your own answers the
same requests directly (see the docs for the contract).

    python3 examples/agents/http/exec_bridge.py --port 8080 -- \\
        python3 examples/agents/support_agent.py --prompt-version support-v2

It prints `listening on http://127.0.0.1:PORT/` once ready (PORT 0 picks a free one).
Standard library only.
"""

import argparse
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWERS = {"tool.call", "agent.message", "escalate"}


class Agent:
    """One exec agent process serving one session."""

    def __init__(self, command):
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8")
        self.send({"type": "hello", "protocol": 1})
        self.ready = self.read()
        if self.ready.get("type") != "ready":
            raise RuntimeError(f"expected ready, got {self.ready}")

    def send(self, msg):
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()

    def read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the agent exited (status {self.proc.poll()})")
        return json.loads(line)

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Bridge:
    def __init__(self, command):
        self.command = command
        self.lock = threading.Lock()
        self.agents = {}  # session -> Agent
        self.answered = {}  # session -> (seq, answer): the last answer, for retries

    def handle(self, msg):
        session, seq, kind = msg.get("session"), msg.get("seq"), msg.get("type")
        with self.lock:
            last = self.answered.get(session)
            if last and last[0] == seq:
                return last[1]
            agent = self.agents.get(session)
        if kind == "session.start":
            agent = Agent(self.command)
            exec_msg = {k: v for k, v in msg.items() if k != "seq"}
            agent.send(exec_msg)
            with self.lock:
                self.agents[session] = agent
            answer = {"type": "session.started", "agent": agent.ready.get("agent"), "version": agent.ready.get("version")}
        elif agent is None:
            raise LookupError(f"unknown session {session!r}")
        elif kind == "session.end":
            agent.send({"type": "session.end", "session": session})
            answer = agent.read()
            agent.close()
            with self.lock:
                self.agents.pop(session, None)
        else:
            agent.send({k: v for k, v in msg.items() if k != "seq"})
            answer = agent.read()
            if answer.get("type") not in ANSWERS:
                raise RuntimeError(f"the agent answered {answer}")
        with self.lock:
            self.answered[session] = (seq, answer)
        return answer


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("command", nargs=argparse.REMAINDER, help="the exec agent's command, after --")
    a = ap.parse_args()
    command = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not command:
        ap.error("give the exec agent's command after --")
    bridge = Bridge(command)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            try:
                length = int(self.headers.get("Content-Length", "0"))
                answer = bridge.handle(json.loads(self.rfile.read(length)))
                status, body = 200, json.dumps(answer)
            except LookupError as e:
                status, body = 404, json.dumps({"error": str(e)})
            except Exception as e:  # the agent failed: the gate reports it
                status, body = 502, json.dumps({"error": str(e)})
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
