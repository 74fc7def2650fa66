"""`ratchet detect --listen` fed by the OpenTelemetry SDK's own OTLP/HTTP exporter
(protobuf, and gzip), with a kill -9 of ratchet between acknowledged batches:
nothing acknowledged is lost, nothing is scored twice, and the events are what
`ratchet detect` gives on the spool read as a file (issue 19, item 3).

Needs the ratchet binary (target/debug/ratchet, or RATCHET_BIN), the built plugins
(target/plugins) and the exporter's pinned venv (target/otel-capture/otlp-http, or
RATCHET_CAPTURE_VENVS; scripts/setup makes it). scripts/test runs it.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
RATCHET = os.environ.get("RATCHET_BIN") or str(ROOT / "target" / "debug" / "ratchet")
VENVS = Path(os.environ.get("RATCHET_CAPTURE_VENVS") or ROOT / "target" / "otel-capture")
PYTHON = VENVS / "otlp-http" / "bin" / "python"
PLUGINS = ROOT / "target" / "plugins"


class Live:
    """A running `ratchet detect --listen` in `cwd`."""

    def __init__(self, cwd):
        self.proc = subprocess.Popen(
            [RATCHET, "detect", "--listen", "127.0.0.1:0", "--adapter", "otel-genai", "--out", "ev.jsonl",
             "--checkpoint", "cp.json", "--idle-gap", "2s"],
            cwd=cwd, stderr=subprocess.PIPE, text=True)
        self.err = []
        found = threading.Event()

        def read():
            for line in self.proc.stderr:
                self.err.append(line)
                m = re.search(r"listening on (http://\S+)", line)
                if m:
                    self.url = m.group(1)
                    found.set()
        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not found.wait(120):
            raise AssertionError("no `listening on` line: " + "".join(self.err))

    def send(self, first, count, gzip=False):
        args = [str(PYTHON), str(HERE / "send_otlp.py"), "--endpoint", self.url, "--first", str(first), "--count", str(count)]
        out = subprocess.run(args + (["--gzip"] if gzip else []), check=True, capture_output=True, text=True).stdout
        return [json.loads(line) for line in out.splitlines()]

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.reader.join(10)
        self.proc.stderr.close()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(60)
        self.reader.join(10)
        self.proc.stderr.close()
        return code, "".join(self.err)


def seen(cwd):
    try:
        return json.loads((cwd / "cp.json").read_text())["stats"]["seen"]
    except (OSError, ValueError, KeyError):
        return 0


def wait_seen(cwd, n, live):
    deadline = time.time() + 60
    while seen(cwd) < n:
        if time.time() > deadline:
            raise AssertionError(f"waited for {n} conversations, have {seen(cwd)}: " + "".join(live.err))
        time.sleep(0.1)


class ListenWithTheSdkExporter(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [p for p in (Path(RATCHET), PYTHON, PLUGINS / "adapter-otel-genai.wasm") if not p.exists()]
        if missing:
            raise AssertionError(f"missing {', '.join(map(str, missing))}: run scripts/setup, scripts/build-plugins and cargo build -p ratchet")

    def test_kill_9_between_acknowledged_batches(self):
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp)
            shutil.copy(PLUGINS / "adapter-otel-genai.wasm", cwd / "otel.wasm")
            shutil.copy(PLUGINS / "scorecard-support-policy.wasm", cwd / "policy.wasm")
            (cwd / "ratchet.toml").write_text(
                '[plugins.otel-genai]\npath = "otel.wasm"\n[plugins.policy]\npath = "policy.wasm"\n'
                '[[detect.scorecards]]\nname = "policy"\nplugin = "policy"\nthreshold = 1.0\n')
            acked = []
            # 1. Five conversations, protobuf; all scored; kill -9.
            live = Live(cwd)
            acked += live.send(0, 5)
            wait_seen(cwd, 5, live)
            live.kill9()
            # 2. Four more acknowledged, kill -9 before their idle gap passed.
            live = Live(cwd)
            acked += live.send(5, 4)
            live.kill9()
            self.assertLess(seen(cwd), 9, "the second batch must still be open when killed")
            # 3. Restart: the four are scored; three more, gzip.
            live = Live(cwd)
            acked += live.send(9, 3, gzip=True)
            wait_seen(cwd, 12, live)
            code, err = live.stop()
            self.assertEqual(code, 0, err)
            self.assertIn("detect: seen 12, flagged 12", err)
            self.assertTrue(all(a["acknowledged"] for a in acked), acked)
            events = (cwd / "ev.jsonl").read_bytes()
            ids = [json.loads(line)["conversation"]["id"] for line in events.decode().splitlines()]
            self.assertEqual(sorted(ids), sorted(a["conversation"] for a in acked), "every acknowledged conversation, once")
            for line in events.decode().splitlines():
                turns = json.loads(line)["conversation"]["turns"]
                self.assertEqual([t["role"] for t in turns], ["customer", "agent"], turns)
                self.assertIn("talk to a manager", turns[0]["text"])
            # One run over the spool, read as a file, writes the same bytes.
            offline = subprocess.run([RATCHET, "detect", "--adapter", "otel-genai", "--idle-gap", "2s", "ev.jsonl.otlp.jsonl"],
                                     cwd=cwd, capture_output=True, check=True).stdout
            self.assertEqual(offline, events)


if __name__ == "__main__":
    unittest.main()
