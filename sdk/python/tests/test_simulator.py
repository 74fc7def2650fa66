"""Tool simulators, natively: the types read samples as the host reads them, the
test helper checks the output as the host checks it, and the golden loop names the
file when a sample or an output is not what the host would take."""

import tempfile
import unittest
from pathlib import Path

from ratchet_sdk import ModelError, Observed, PluginError, PluginInfo, Simulated, Simulator, ToolRequest, canonical_json_pretty
from ratchet_sdk.testing import MalformedOutput, SampleError, check_golden_samples, run_simulator, simulator_runner


class Counter(Simulator):
    """The example of ``ratchet_sdk.Simulator``'s docstring (and the Rust SDK's)."""

    def info(self):
        return PluginInfo("counter", "0.1.0", "A counter the agent can read and bump")

    def seed(self, observed, params):
        first = next((o for o in observed if o.request.tool == "read" and not o.is_error), None)
        return {"count": first.result["count"] if first else 0}

    def call(self, world, request, params):
        if request.tool == "read":
            return Simulated.ok({"count": world["count"]}, world)
        if request.tool == "bump":
            return Simulated.ok({"ok": True}, {"count": world["count"] + 1})
        if request.tool == "fail":
            raise PluginError(f"cannot {request.arg_str('what')}")
        return None


class Broken(Simulator):
    """Returns whatever ``out`` says, to check what the helper refuses."""

    def __init__(self, out):
        self.out = out

    def info(self):
        return PluginInfo("broken", "0.1.0", "")

    def seed(self, observed, params):
        return self.out

    def call(self, world, request, params):
        return self.out


def sample(text: str) -> bytes:
    return text.encode()


class Types(unittest.TestCase):
    def test_requests_and_observations_are_read_as_the_host_reads_them(self):
        r = ToolRequest.from_json_value({"tool": "t", "arguments": {"a": 1, "e": "x"}})
        self.assertEqual((r.tool, r.version, r.arguments), ("t", "", {"a": 1, "e": "x"}))
        self.assertEqual(r.arg_str("e"), "x")
        self.assertIsNone(r.arg_str("a"), "not a string")
        self.assertIsNone(ToolRequest("t", []).arg_str("a"), "arguments that are not an object")
        o = Observed.from_json_value({"request": {"tool": "t", "version": "1", "arguments": {}}, "result": None}, "observed[0]")
        self.assertEqual((o.result, o.is_error), (None, False))
        for bad, message in [
            ({"tool": "t"}, "request: missing field `arguments`"),
            ({"arguments": {}}, "request: missing field `tool`"),
            ({"tool": None, "arguments": {}}, "request.tool: expected a string, got null"),
            ({"tool": "t", "version": 1, "arguments": {}}, "request.version: expected a string, got a number"),
            ({"tool": "t", "arguments": {}, "extra": 1}, "request: unknown field `extra`, expected one of `tool`, `version`, `arguments`"),
            ([], "request: expected an object, got an array"),
        ]:
            with self.assertRaises(ModelError) as e:
                ToolRequest.from_json_value(bad)
            self.assertEqual(str(e.exception), message)
        for bad, message in [
            ({"request": {"tool": "t", "arguments": {}}}, "observed[2]: missing field `result`"),
            ({"request": {"tool": "t", "arguments": {}}, "result": 1, "is_error": "yes"}, "observed[2].is_error: expected a boolean, got a string"),
            ({"request": {"tool": 1, "arguments": {}}, "result": 1}, "observed[2].request.tool: expected a string, got a number"),
        ]:
            with self.assertRaises(ModelError) as e:
                Observed.from_json_value(bad, "observed[2]")
            self.assertEqual(str(e.exception), message)

    def test_the_json_shapes_are_the_rust_sdks(self):
        self.assertEqual(Simulated.ok(1, {"w": 1}).to_json_value(), {"result": 1, "is_error": False, "world": {"w": 1}})
        self.assertTrue(Simulated.error({"error": "x"}, {}).is_error)
        self.assertEqual(ToolRequest("t", {}).to_json_value(), {"tool": "t", "version": "", "arguments": {}})


class RunSimulator(unittest.TestCase):
    def test_a_call_and_a_seed(self):
        out = run_simulator(Counter(), sample('{"world": {"count": 2}, "request": {"tool": "bump", "arguments": {}}}'), {})
        self.assertEqual(out, {"result": {"ok": True}, "is_error": False, "world": {"count": 3}})
        self.assertIsNone(run_simulator(Counter(), sample('{"world": {"count": 2}, "request": {"tool": "other", "arguments": {}}}'), {}))
        seeded = run_simulator(Counter(), sample('{"observed": [{"request": {"tool": "read", "arguments": {}}, "result": {"count": 7}}]}'), None)
        self.assertEqual(seeded, {"count": 7})
        with self.assertRaises(PluginError):
            run_simulator(Counter(), sample('{"world": {}, "request": {"tool": "fail", "arguments": {"what": "x"}}}'), {})

    def test_samples_the_host_would_refuse(self):
        shapes = 'a simulator sample is {"world": {...}, "request": {"tool", "version", "arguments"}} (answer one call) or {"observed": [...]} (seed a world)'
        for bad, message in [
            ("[]", shapes),
            ('{"world": {}}', shapes),
            ('{"world": null, "request": {"tool": "t", "arguments": {}}}', shapes),
            ('{"world": {}, "request": {"tool": "t", "arguments": {}}, "observed": []}', shapes),
            ('{"world": {}, "request": {"tool": "t", "arguments": {}}, "params": {}}', f"unknown field `params`: {shapes}"),
            ('{"world": {}, "request": {"tool": "t"}}', "request: missing field `arguments`"),
            ('{"observed": {}}', "observed: expected an array, got an object"),
            ('{"observed": [{"request": {"tool": "t", "arguments": {}}}]}', "observed[0]: missing field `result`"),
        ]:
            with self.assertRaises(SampleError, msg=bad) as e:
                run_simulator(Counter(), sample(bad), {})
            self.assertEqual(str(e.exception), message)
        with self.assertRaisesRegex(SampleError, "^invalid JSON in sample: "):
            run_simulator(Counter(), sample("{not json"), {})

    def test_outputs_the_host_would_refuse(self):
        call = sample('{"world": {}, "request": {"tool": "t", "arguments": {}}}')
        seed = sample('{"observed": []}')
        for out, data, message in [
            ({"result": 1}, call, "call must return a Simulated or None, got dict"),
            (Simulated(1, "yes", {}), call, "answer.is_error must be a bool, got str"),
            (Simulated.ok(1, []), call, "answer.world must be a JSON object (the whole world after the call)"),
            (Simulated.ok({1, 2}, {}), call, "answer.result is not JSON data: set is not JSON data"),
            ([], seed, "seed returned a world that is not a JSON object"),
            ({"n": object()}, seed, "the seeded world is not JSON data: object is not JSON data"),
        ]:
            with self.assertRaises(MalformedOutput, msg=message) as e:
                run_simulator(Broken(out), data, {})
            self.assertEqual(str(e.exception), message)

    def test_the_output_is_what_the_host_reads_back(self):
        # A tuple goes over the boundary as a list; a non-finite float as null.
        out = run_simulator(Broken(Simulated.ok((1, float("nan")), {"t": (2,)})), sample('{"world": {}, "request": {"tool": "t", "arguments": {}}}'), {})
        self.assertEqual(out, {"result": [1, None], "is_error": False, "world": {"t": [2]}})


class GoldenLoop(unittest.TestCase):
    def test_bad_samples_and_malformed_outputs_name_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "invalid").mkdir()
            (d / "good.json").write_text('{"world": {"count": 1}, "request": {"tool": "read", "arguments": {}}}')
            (d / "good.expected.json").write_text(canonical_json_pretty({"result": {"count": 1}, "is_error": False, "world": {"count": 1}}))
            (d / "typo.json").write_text('{"world": {}, "reqest": {"tool": "read", "arguments": {}}}')
            (d / "invalid" / "refused.json").write_text('{"world": {}, "request": {"tool": "fail", "arguments": {"what": "x"}}}')
            (d / "invalid" / "refused.error.txt").write_text("cannot x\n")
            (d / "invalid" / "malformed.json").write_text('{"world": {}, "request": {"tool": "read"}}')
            ok, report = check_golden_samples(d, 1, False, simulator_runner(Counter()))
            self.assertFalse(ok)
            self.assertIn("typo.json: not a valid sample: unknown field `reqest`", report)
            self.assertIn("invalid/malformed.json: not a valid sample: request: missing field `arguments`", report)
            self.assertNotIn("good.json", report)
            self.assertNotIn("refused", report)
            (d / "typo.json").unlink()
            (d / "invalid" / "malformed.json").unlink()
            ok, summary = check_golden_samples(d, 1, False, simulator_runner(Counter()))
            self.assertTrue(ok, summary)
            ok, report = check_golden_samples(d, 1, False, simulator_runner(Broken(Simulated.ok(1, "not a world"))))
            self.assertIn("good.json: malformed output (the host would refuse it): answer.world must be a JSON object", report)


if __name__ == "__main__":
    unittest.main()
