"""Helpers for the tests that run agents under the real `ratchet gate` on the example
suite (scenarios/): examples/agents/sdk/test_sdk_agent.py and
examples/agents/frameworks/test_frameworks.py.

The ratchet binary: $RATCHET_BIN, else $CARGO_TARGET_DIR/debug/ratchet, else
target/debug/ratchet (`cargo build -p ratchet`); the plugins the example suite's
criteria use: target/plugins (`scripts/build-plugins`). When either is missing the
tests FAIL and say what to build: they are not skipped.
"""

import json
import os
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VERSIONS = ("support-v1", "support-v2", "support-v3")
# What the hand-written example agent gets on the example suite: the verdicts every
# rewrite of it must reproduce.
EXPECTED_EXIT = {"support-v1": 1, "support-v2": 0, "support-v3": 1}


def ratchet_bin():
    candidates = []
    if os.environ.get("RATCHET_BIN"):
        candidates.append(os.environ["RATCHET_BIN"])
    if os.environ.get("CARGO_TARGET_DIR"):
        candidates.append(os.path.join(os.environ["CARGO_TARGET_DIR"], "debug", "ratchet"))
    candidates.append(os.path.join(ROOT, "target", "debug", "ratchet"))
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise AssertionError("no ratchet binary (looked for %s): build it with `cargo build -p ratchet` "
                         "or point RATCHET_BIN at one" % ", ".join(candidates))


def check_plugins():
    path = os.path.join(ROOT, "target", "plugins", "assertion-no-false-confirmation.wasm")
    if not os.path.isfile(path):
        raise AssertionError("%s is missing: build the plugins with `scripts/build-plugins`" % path)


def gate(agent_toml, env=None, *args):
    """(exit status, JSON report, stderr) of `ratchet gate --agent agent_toml` on the
    example suite, run from the repository root, without touching the ledger."""
    check_plugins()
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "gate.json")
        p = subprocess.run([ratchet_bin(), "gate", "--agent", agent_toml, "--no-ledger", "--json", report, *args],
                           cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
        data = None
        if os.path.isfile(report):
            with open(report, encoding="utf-8") as f:
                data = json.load(f)
    return p.returncode, data, p.stderr


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in ("duration_ms", "latency_ms", "offset_ms")}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def scenario_results(report):
    """scenario id -> its result (verdict, criteria outcomes, notes, transcript of a
    failing attempt), wall times removed: what must be identical between two agents
    that behave the same."""
    return {s["id"]: _strip(s) for s in report["scenarios"]}


_reference = {}


def reference(version):
    """The hand-written example agent's (examples/agents/support-vN.toml) gate result,
    computed once per test process."""
    if version not in _reference:
        code, report, stderr = gate("examples/agents/%s.toml" % version)
        if report is None:
            raise AssertionError("the reference gate run of %s wrote no report: %s" % (version, stderr))
        _reference[version] = (code, report)
    return _reference[version]
