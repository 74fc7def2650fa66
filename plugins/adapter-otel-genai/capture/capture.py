"""Captures what real OpenTelemetry GenAI instrumentations emit, as OTLP JSON Lines.

A small subscription-support agent (the OpenAI Python client, two tools) talks to
a fake OpenAI-compatible server (fake_openai.py, stdlib http.server on loopback)
through a real instrumentation library, configured only by its documented
environment variables, and exports with the OpenTelemetry SDK's OTLP JSON file
exporter (`opentelemetry-exporter-otlp-json-file`): spans and log records to
one JSON Lines file, one export request per line, as the Collector's file
exporter writes them.

    python3 capture.py --out DIR [MODE...]      # every mode (or those named), one DIR/MODE.jsonl each

Each mode runs in a fresh child process (the libraries read their environment
when they are set up) with the Python of its pinned environment:
`target/otel-capture/ENV/bin/python` (override the directory with
RATCHET_CAPTURE_VENVS), made from requirements-ENV.txt here:

    for e in v2 v2-events; do python3 -m venv target/otel-capture/$e &&
      target/otel-capture/$e/bin/pip install -r plugins/adapter-otel-genai/capture/requirements-$e.txt; done

openai-v2 2.4b0 dropped the pre-1.37 log events, so the `true` event mode runs
2.3b0, the last release that emits them.

| mode | library (environment) | settings |
|---|---|---|
| v2-default | opentelemetry-instrumentation-openai-v2 2.4b0 (v2) | none: no message content |
| v2-events | opentelemetry-instrumentation-openai-v2 2.3b0 (v2-events) | OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true: content in log records (gen_ai.user.message, gen_ai.choice, ...) |
| v2-latest-span | openai-v2 2.4b0 (v2) | OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental, ..._CAPTURE_MESSAGE_CONTENT=SPAN_ONLY: gen_ai.input/output.messages span attributes |
| v2-latest-event | openai-v2 2.4b0 (v2) | ... EVENT_ONLY: the gen_ai.client.inference.operation.details log record |
| v2-latest-both | openai-v2 2.4b0 (v2) | ... SPAN_AND_EVENT |
| v2-latest-off | openai-v2 2.4b0 (v2) | ... NO_CONTENT |

The app is the same in every mode. Each customer message is handled as a request of
its own (a new trace, as a web framework's server span would make it): with the
openai-v2 library, the app wraps each in opentelemetry-util-genai's `invoke_agent`
span carrying `gen_ai.conversation.id`, and runs each tool in util-genai's
`execute_tool` span; (util-genai 1.1b0). Timestamps and ids are real, so every capture
differs in them; the conversations they hold do not.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent

# mode -> (python environment, library, settings). The environments are pinned
# (requirements-ENV.txt beside this file); scripts/setup creates them.
MODES = {
    "v2-default": ("v2", "v2", {}),
    "v2-events": ("v2-events", "v2", {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "true"}),
    "v2-latest-span": ("v2", "v2", {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_ONLY"}),
    "v2-latest-event": ("v2", "v2", {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "EVENT_ONLY"}),
    "v2-latest-both": ("v2", "v2", {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "SPAN_AND_EVENT"}),
    "v2-latest-off": ("v2", "v2", {"OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai_latest_experimental", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT"}),
}

# Modes whose capture holds the messages (the others hold none: default settings).
CONTENT_MODES = ["v2-events", "v2-latest-span", "v2-latest-event", "v2-latest-both"]

# Variables of these libraries that must not leak in from the caller's environment.
CONTROLLED = ("OTEL_SEMCONV_STABILITY_OPT_IN", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT", "TRACELOOP_TRACE_CONTENT")

SYSTEM = "You are Acme Streaming's support agent. Only cancel subscriptions that are active."

ACCOUNTS = {
    "dana@example.com": {"account_id": "A-55812", "subscription_status": "none", "plan": None},
    "lee@example.com": {"account_id": "A-20931", "subscription_status": "active", "plan": "premium"},
    "sam@example.org": {"account_id": "A-71002", "subscription_status": "cancelled", "plan": "basic"},
}

# (conversation id, the customer's messages): each message is one request.
SESSIONS = [
    ("conv-0001", ["Hi, I want to cancel my premium subscription. My email is dana@example.com.", "Thanks."]),
    ("conv-0002", ["Please cancel my subscription, account email lee@example.com"]),
    ("conv-0003", ["Cancel my plan please, it's sam@example.org", "ok bye"]),
]

TOOLS = [
    {"type": "function", "function": {"name": "lookup_account", "description": "Find an account by e-mail.",
                                      "parameters": {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}}},
    {"type": "function", "function": {"name": "cancel_subscription", "description": "Cancel the account's subscription.",
                                      "parameters": {"type": "object", "properties": {"account_id": {"type": "string"}}, "required": ["account_id"]}}},
]


def run_tool(name, arguments):
    if name == "lookup_account":
        a = ACCOUNTS.get(arguments.get("email"))
        return a if a else {"error": "not found"}
    if name == "cancel_subscription":
        return {"ok": True, "account_id": arguments.get("account_id")}
    return {"error": f"unknown tool {name}"}


class LockedStream:
    """One text stream shared by the span and the log exporter: whole lines only."""

    def __init__(self, path):
        self._f = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self._lock = threading.Lock()

    @property
    def closed(self):
        return self._f.closed

    def write(self, s):
        with self._lock:
            self._f.write(s)

    def flush(self):
        with self._lock:
            if not self._f.closed:
                self._f.flush()

    def close(self):
        with self._lock:
            self._f.close()


def child(mode, out, base_url):
    library = MODES[mode][1]
    from opentelemetry import _logs, trace
    from opentelemetry.exporter.otlp.json.file import FileSpanExporter
    from opentelemetry.exporter.otlp.json.file._log_exporter import FileLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    stream = LockedStream(out)
    resource = Resource.create({"service.name": "acme-support-agent", "service.version": "support-v1"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(BatchSpanProcessor(FileSpanExporter(stream=stream)))
    trace.set_tracer_provider(tracer_provider)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(FileLogExporter(stream=stream)))
    _logs.set_logger_provider(logger_provider)

    if library == "v2":
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
        from opentelemetry.util.genai.handler import get_telemetry_handler

        OpenAIInstrumentor().instrument()
        handler = get_telemetry_handler()
    else:
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument()
        handler = None

    import openai

    client = openai.OpenAI(base_url=base_url, api_key="sk-fake")
    app = trace.get_tracer("acme.support")
    for conversation_id, lines in SESSIONS:
        history = [{"role": "system", "content": SYSTEM}]
        for line in lines:
            history.append({"role": "user", "content": line})
            if handler is not None:
                agent = handler.invoke_local_agent(agent_name="support", request_model="gpt-4o-mini")
                agent.conversation_id = conversation_id
                agent.agent_version = "support-v1"
                with agent:
                    agent_loop(client, history, handler)
            else:
                with app.start_as_current_span("POST /chat", attributes={"session.id": conversation_id}):
                    agent_loop(client, history, None)
    tracer_provider.shutdown()
    logger_provider.shutdown()
    stream.close()


def agent_loop(client, history, handler):
    for _ in range(6):
        r = client.chat.completions.create(model="gpt-4o-mini", messages=history, tools=TOOLS)
        message = r.choices[0].message
        history.append(message.model_dump(exclude_none=True))
        if not message.tool_calls:
            return
        for call in message.tool_calls:
            arguments = json.loads(call.function.arguments)
            if handler is not None:
                with handler.tool(call.function.name, tool_call_id=call.id, tool_type="function") as tool:
                    tool.arguments = arguments
                    result = run_tool(call.function.name, arguments)
                    tool.tool_result = result
            else:
                result = run_tool(call.function.name, arguments)
            history.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})


def python_for(env):
    """The Python interpreter of a pinned capture environment."""
    root = Path(os.environ.get("RATCHET_CAPTURE_VENVS") or HERE.parents[2] / "target" / "otel-capture")
    python = root / env / "bin" / "python"
    if not python.exists():
        sys.exit(f"capture: {python} is missing: make it with python3 -m venv {root / env} && {root / env}/bin/pip install -r {HERE}/requirements-{env}.txt")
    return str(python)


def capture(out, modes):
    """Captures `modes` into OUT/MODE.jsonl against a fresh fake server; returns the paths."""
    sys.path.insert(0, str(HERE))
    import fake_openai

    server = fake_openai.serve()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        for mode in modes:
            venv, _, settings = MODES[mode]
            env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
            env.update(settings)
            # Loopback only: no proxy, and nothing exported anywhere but the file.
            env.update({"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1", "OTEL_TRACES_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none"})
            target = out / f"{mode}.jsonl"
            subprocess.run([python_for(venv), __file__, "--child", mode, "--out", str(target), "--base-url", base_url], env=env, check=True, timeout=120)
            written.append(target)
    finally:
        server.shutdown()
    return written


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="directory for MODE.jsonl (or the file, with --child)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    p.add_argument("modes", nargs="*", help=f"modes to capture (default: all): {', '.join(MODES)}")
    a = p.parse_args()
    if a.child:
        child(a.child, a.out, a.base_url)
        return
    unknown = [m for m in a.modes if m not in MODES]
    if unknown:
        p.error(f"unknown mode(s) {', '.join(unknown)}; known: {', '.join(MODES)}")
    for target in capture(a.out, a.modes or list(MODES)):
        print(f"{target}: {sum(1 for _ in open(target, encoding='utf-8'))} line(s)")


if __name__ == "__main__":
    main()
