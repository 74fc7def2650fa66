"""Sends GenAI conversations to an OTLP/HTTP endpoint with the OpenTelemetry SDK's
own exporter (`opentelemetry-exporter-otlp-proto-http`: protobuf, as every SDK and
the Collector send by default), for `ratchet detect --listen` (test_listen.py).

    PY send_otlp.py --endpoint http://127.0.0.1:4318 --first 0 --count 5 [--gzip]

PY is the Python of target/otel-capture/otlp-http (requirements-otlp-http.txt;
scripts/setup makes it). Each conversation is one request of a support app: an
`invoke_agent` span carrying `gen_ai.conversation.id` around a `chat` span with the
messages in `gen_ai.input.messages`/`gen_ai.output.messages` (the latest GenAI
conventions, ../../../../shared/reference). The customer asks for a manager and the
agent never hands off, so a support-policy scorecard flags every one. After each
conversation the spans are flushed; one JSON line per conversation on stdout says
whether the endpoint acknowledged its export.
"""

import argparse
import json
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult


class Recording(OTLPSpanExporter):
    """The SDK's exporter, remembering whether the last export was acknowledged."""

    last = None

    def export(self, spans):
        result = super().export(spans)
        self.last = result == SpanExportResult.SUCCESS
        return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--gzip", action="store_true")
    a = ap.parse_args()
    exporter = Recording(endpoint=a.endpoint.rstrip("/") + "/v1/traces", timeout=10,
                         compression=Compression.Gzip if a.gzip else Compression.NoCompression)
    provider = TracerProvider(resource=Resource.create({"service.name": "acme-support-agent"}))
    # One export per ended span: the root ends last, so its export closes the conversation.
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("acme.support", "1.0")
    for c in range(a.first, a.first + a.count):
        cid = f"sdk-conv-{c}"
        acked = []
        with tracer.start_as_current_span("invoke_agent support", kind=trace.SpanKind.SERVER) as root:
            root.set_attribute("gen_ai.operation.name", "invoke_agent")
            root.set_attribute("gen_ai.conversation.id", cid)
            with tracer.start_as_current_span("chat gpt-4o-mini", kind=trace.SpanKind.CLIENT) as chat:
                chat.set_attribute("gen_ai.operation.name", "chat")
                chat.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                chat.set_attribute("gen_ai.input.messages", json.dumps([
                    {"role": "user", "parts": [{"type": "text", "content": f"Order {c} never came. I want to talk to a manager."}]}]))
                chat.set_attribute("gen_ai.output.messages", json.dumps([
                    {"role": "assistant", "parts": [{"type": "text", "content": "I can help you with that myself. What is your order number?"}],
                     "finish_reason": "stop"}]))
            acked.append(exporter.last)
        acked.append(exporter.last)
        print(json.dumps({"conversation": cid, "acknowledged": all(acked)}), flush=True)
    provider.shutdown()


if __name__ == "__main__":
    sys.exit(main())
