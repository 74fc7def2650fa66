"""The real instrumentation, live (issue 19): capture.py runs the support app through
`opentelemetry-instrumentation-openai-v2` from PyPI (the pinned venvs scripts/setup
makes, target/otel-capture/v2 and v2-events) against the local fake OpenAI server, in
every mode, and `ratchet detect --adapter otel-genai` must turn each content mode into
the committed golden conversations (samples/captured/conversations.expected.json, the
ones host/tests/it/otel_ingest.rs checks on the committed captures) and count the
content-less modes, never silently.

Needs target/debug/ratchet (or RATCHET_BIN) and target/plugins; scripts/test runs it.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
RATCHET = os.environ.get("RATCHET_BIN") or str(ROOT / "target" / "debug" / "ratchet")
PLUGINS = ROOT / "target" / "plugins"
GOLDEN = HERE.parent / "samples" / "captured" / "conversations.expected.json"
CONTENT = ["v2-events", "v2-latest-span", "v2-latest-event", "v2-latest-both"]
NO_CONTENT = ["v2-default", "v2-latest-off"]


def conversations(events):
    """The events' conversations without what differs between two runs (times)."""
    out = []
    for line in events.decode().splitlines():
        c = json.loads(line)["conversation"]
        c.pop("started_at", None)
        for t in c["turns"]:
            t.pop("offset_ms", None)
            t.pop("latency_ms", None)
        out.append(c)
    return sorted(out, key=lambda c: c["id"])


class LiveCapture(unittest.TestCase):
    def test_every_mode_of_the_real_library_ingests_into_the_golden(self):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            subprocess.run([sys.executable, str(HERE / "capture.py"), "--out", str(tmp / "cap")], check=True, capture_output=True)
            shutil.copy(PLUGINS / "adapter-otel-genai.wasm", tmp / "otel.wasm")
            shutil.copy(PLUGINS / "scorecard-support-policy.wasm", tmp / "policy.wasm")
            (tmp / "ratchet.toml").write_text(
                '[plugins.otel-genai]\npath = "otel.wasm"\n[plugins.policy]\npath = "policy.wasm"\n'
                '[[detect.scorecards]]\nname = "policy"\nplugin = "policy"\nthreshold = 1.0\n')
            golden = json.loads(GOLDEN.read_text())
            for mode in CONTENT + NO_CONTENT:
                with self.subTest(mode=mode):
                    r = subprocess.run([RATCHET, "detect", "--adapter", "otel-genai", str(tmp / "cap" / f"{mode}.jsonl")],
                                       cwd=tmp, capture_output=True)
                    err = r.stderr.decode()
                    self.assertEqual(r.returncode, 0, err)
                    self.assertIn("detect: seen 3,", err)
                    if mode in CONTENT:
                        self.assertNotIn("without message content", err)
                        self.assertEqual(conversations(r.stdout), golden, f"{mode}: differs from {GOLDEN}")
                    else:
                        self.assertIn("without message content 3", err)


if __name__ == "__main__":
    unittest.main()
