"""A fake OpenAI-compatible chat-completions server (stdlib only) for capturing
what real OpenTelemetry instrumentations emit, without a model or a network.

It plays a subscription-support model deterministically from the request alone:

* the last message is the customer's and mentions cancelling -> call
  `lookup_account` with the e-mail address the conversation mentions;
* the last message is `lookup_account`'s result -> call `cancel_subscription`
  (the Tuesday-morning bug: whatever the subscription status is);
* the last message is `cancel_subscription`'s result -> confirm the cancellation;
* anything else -> a short closing line.

Tool call ids are derived from the number of messages (unique within a
conversation, the same on every run). `python3 fake_openai.py` serves on an
ephemeral port and prints it; `serve()` does the same in a thread.
"""

import http.server
import json
import re
import threading

MODEL = "gpt-4o-mini-2024-07-18"


def _reply(messages):
    last = messages[-1] if messages else {}
    role = last.get("role")
    n = len(messages)
    if role == "tool":
        name = None
        for m in reversed(messages):
            for call in m.get("tool_calls") or []:
                if call.get("id") == last.get("tool_call_id"):
                    name = call["function"]["name"]
        if name == "lookup_account":
            result = json.loads(last.get("content") or "{}")
            return _call(n, "cancel_subscription", {"account_id": result.get("account_id", "")})
        if name == "cancel_subscription":
            return _text("Done: your premium subscription is cancelled. Anything else?")
        return _text("I could not do that.")
    text = last.get("content") if isinstance(last.get("content"), str) else ""
    if role == "user" and "cancel" in text.lower():
        found = None
        for m in messages:
            if m.get("role") == "user" and isinstance(m.get("content"), str):
                hit = re.search(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", m["content"])
                found = found or (hit.group(0) if hit else None)
        return _call(n, "lookup_account", {"email": found or "unknown"})
    return _text("You're welcome, have a nice day!")


def _call(n, name, arguments):
    call = {"id": f"call_{n:03d}", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"


def _text(text):
    return {"role": "assistant", "content": text}, "stop"


class Handler(http.server.BaseHTTPRequestHandler):
    counter = 0

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        message, finish = _reply(request.get("messages") or [])
        Handler.counter += 1
        body = {
            "id": f"chatcmpl-{Handler.counter:04d}",
            "object": "chat.completion",
            "created": 1795512664,
            "model": MODEL,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
            "usage": {"prompt_tokens": 12 * len(request.get("messages") or []), "completion_tokens": 9, "total_tokens": 12 * len(request.get("messages") or []) + 9},
        }
        self._send(200, body)

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # quiet
        pass


def serve():
    """Starts the server on 127.0.0.1 (ephemeral port) in a daemon thread; returns it."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    s = serve()
    print(f"http://127.0.0.1:{s.server_address[1]}/v1", flush=True)
    threading.Event().wait()
