"""ratchet_sdk.build without componentize-py: which WIT it targets, which plugins get
the ``ratchet:plugin/model`` import (only apps that import ``ratchet_sdk.judge``),
and the world it writes for the others. Needs Python 3.11+ (tomllib) for the
manifest tests."""

import sys
import tempfile
import unittest
from pathlib import Path

from ratchet_sdk import build

REPO = Path(__file__).resolve().parents[3]


def _manifest_in(d: Path):
    """``manifest(extra)``: ``d``'s manifest with ``extra`` under ``[tool.ratchet]``."""
    (d / "app.py").write_text("")

    def manifest(extra):
        (d / "pyproject.toml").write_text(f"[project]\nname = \"x\"\n[tool.ratchet]\n{extra}\n")
        return build.read_manifest(d)
    return manifest


class Build(unittest.TestCase):
    def test_the_wit_packages(self):
        self.assertEqual(build.default_wit_dir().name, "since_v0.1.3")
        self.assertEqual(build.wit_package(REPO / "wit" / "since_v0.1.3"), ("0.1.3", True))
        self.assertEqual(build.wit_package(REPO / "wit" / "since_v0.1.2"), ("0.1.2", True))
        self.assertEqual(build.wit_package(REPO / "wit" / "since_v0.1.1"), ("0.1.1", True))
        self.assertEqual(build.wit_package(REPO / "wit" / "since_v0.1.0"), ("0.1.0", False))
        # Every world a Python plugin may implement is in the default WIT; the simulator is new in 0.1.2.
        self.assertTrue(set(build.WORLDS) <= set(build.wit_worlds(build.default_wit_dir())))
        self.assertEqual(build.EXPORTS["simulator"], "simulation")
        self.assertNotIn("simulator", build.wit_worlds(REPO / "wit" / "since_v0.1.1"))

    @unittest.skipIf(sys.version_info < (3, 11), "tomllib")
    def test_a_simulator_needs_the_0_1_2_wit(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            (d / "app.py").write_text("")
            (d / "pyproject.toml").write_text('[project]\nname = "sim"\n[tool.ratchet]\nworld = "simulator"\n')
            self.assertEqual(build.read_manifest(d)["world"], "simulator")
            # Refused before componentize-py runs, naming the world and the version to use.
            with self.assertRaisesRegex(build.BuildError, r"ratchet:plugin@0\.1\.1, which has no simulator world .*wit/since_v0\.1\.3"):
                build.build(d, d / "out.wasm", REPO / "wit" / "since_v0.1.1")
            with self.assertRaisesRegex(build.BuildError, "cannot import ratchet:plugin/model"):
                (d / "pyproject.toml").write_text('[project]\nname = "sim"\n[tool.ratchet]\nworld = "simulator"\nmodel = true\n')
                build.read_manifest(d)

    def test_only_apps_that_import_the_judge_ask_for_the_model(self):
        plugins = REPO / "plugins"
        self.assertTrue(build.uses_judge(plugins / "assertion-llm-rubric-py", "app"))
        self.assertFalse(build.uses_judge(plugins / "scorecard-support-policy-py", "app"))
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            for i, line in enumerate(["from ratchet_sdk import judge", "import ratchet_sdk.judge as j", "from ratchet_sdk.judge import complete",
                                      "from helper import x"]):
                (d / f"app{i}.py").write_text(line + "\n")
            (d / "helper.py").write_text("from ratchet_sdk.judge import Request\nx = 1\n")
            (d / "plain.py").write_text("from ratchet_sdk import Params\n")
            for i in range(4):
                self.assertTrue(build.uses_judge(d, f"app{i}"), i)
            self.assertFalse(build.uses_judge(d, "plain"))

    def test_the_world_without_the_model_import(self):
        with tempfile.TemporaryDirectory() as d:
            # Since 0.1.3 the world keeps its labels import.
            out = build.world_without_model(REPO / "wit" / "since_v0.1.3", Path(d), "scorecard", "0.1.3")
            world = (out / "world.wit").read_text()
            self.assertIn("world scorecard {\n    import ratchet:plugin/host@0.1.3;\n    import ratchet:plugin/labels@0.1.3;\n"
                          "    export ratchet:plugin/scorer@0.1.3;\n}", world)
        with tempfile.TemporaryDirectory() as d:
            out = build.world_without_model(REPO / "wit" / "since_v0.1.2", Path(d), "assertion", "0.1.2")
            world = (out / "world.wit").read_text()
            self.assertIn("world assertion {\n    import ratchet:plugin/host@0.1.2;\n    export ratchet:plugin/asserter@0.1.2;\n}", world)
            self.assertNotIn("import ratchet:plugin/model", world)
            self.assertEqual((out / "deps" / "ratchet-plugin" / "types.wit").read_bytes(), (REPO / "wit" / "since_v0.1.2" / "types.wit").read_bytes())

    @unittest.skipIf(sys.version_info < (3, 11), "tomllib")
    def test_the_model_key(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            manifest = _manifest_in(d)

            self.assertIsNone(manifest('world = "assertion"')["model"])
            self.assertTrue(manifest('world = "scorecard"\nmodel = true')["model"])
            with self.assertRaisesRegex(build.BuildError, "cannot import ratchet:plugin/model"):
                manifest('world = "adapter"\nmodel = true')
            with self.assertRaisesRegex(build.BuildError, "expected true or false"):
                manifest('world = "assertion"\nmodel = "yes"')

    @unittest.skipIf(sys.version_info < (3, 11), "tomllib")
    def test_the_warm_up_key_and_its_samples(self):
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            manifest = _manifest_in(d)

            self.assertIsNone(manifest('world = "scorecard"')["warm_up"])
            self.assertIsNone(manifest('world = "scorecard"\nwarm-up = false')["warm_up"])
            self.assertEqual(manifest('world = "scorecard"\nwarm-up = true')["warm_up"], "samples")
            self.assertEqual(manifest('world = "assertion"\nsamples = "golden"\nwarm-up = true')["warm_up"], "golden")
            self.assertEqual(manifest('world = "assertion"\nwarm-up = "more"')["warm_up"], "more")
            with self.assertRaisesRegex(build.BuildError, "warm-up is for scorecard and assertion plugins, not the adapter world"):
                manifest('world = "adapter"\nwarm-up = true')
            with self.assertRaisesRegex(build.BuildError, r"warm-up = 3; expected a directory"):
                manifest('world = "scorecard"\nwarm-up = 3')

            with self.assertRaisesRegex(build.BuildError, "is not a directory"):
                build.warm_up_samples(d, "samples")
            (d / "samples" / "invalid").mkdir(parents=True)
            with self.assertRaisesRegex(build.BuildError, "holds no NAME.json sample"):
                build.warm_up_samples(d, "samples")
            for name, text in [("b.json", "{}"), ("a.json", "[]"), ("a.options.json", '{"k": 1}'), ("a.expected.json", "x"),
                               ("notes.txt", "x"), ("invalid/c.json", "{")]:
                (d / "samples" / name).write_text(text)
            # Inputs sorted by name, with their params; outputs, other files and subdirectories left out.
            self.assertEqual(build.warm_up_samples(d, "samples"), [("a.json", "[]", '{"k": 1}'), ("b.json", "{}", None)])
            # A sample that is not UTF-8 text is named, not a traceback.
            (d / "samples" / "c.json").write_bytes(b"\xff\xfe{")
            with self.assertRaisesRegex(build.BuildError, r"c\.json: cannot read this warm-up sample"):
                build.warm_up_samples(d, "samples")
            (d / "samples" / "c.json").unlink()

            # A plugin that asks a model cannot run at build time: refused before componentize-py starts.
            manifest('world = "scorecard"\nmodel = true\nwarm-up = true')
            with self.assertRaisesRegex(build.BuildError, "a plugin that asks a model .* cannot be warmed up"):
                build.build(d, d / "out.wasm", REPO / "wit" / "since_v0.1.3")
            self.assertFalse((d / "out.wasm").exists())


class WarmUp(unittest.TestCase):
    """The SDK's own warm-up runs natively too (identity conversions stand in for the
    WIT bindings): it must not fail on any path, call the plugin, or need the host."""

    def test_the_sdk_warm_up_runs_its_paths_without_the_plugin(self):
        from ratchet_sdk import Conversation, ScorecardResult, Verdict, _warm_up

        answers = []
        _warm_up.sdk(lambda c: c, lambda c: c, answers.append, "scorecard")
        self.assertEqual(len(answers), _warm_up.ROUNDS)
        self.assertTrue(all(isinstance(a, ScorecardResult) for a in answers))
        answers.clear()
        _warm_up.sdk(lambda c: c, lambda c: c, answers.append, "assertion")
        self.assertTrue(answers and all(isinstance(a, Verdict) for a in answers))
        # The built-in sample is a valid conversation that round-trips.
        c = Conversation.from_json(_warm_up._SAMPLE)
        self.assertEqual(Conversation.from_json(c.to_json()).to_json(), c.to_json())

    def test_the_plugins_warm_up_runs_each_embedded_sample_and_names_the_one_that_fails(self):
        import types
        from ratchet_sdk import _warm_up

        calls = []
        _warm_up.plugin(lambda c: c, lambda c, p: calls.append(p))
        self.assertEqual(calls, [], "no samples embedded: nothing runs")
        good = '{"id": "g", "channel": "chat", "turns": []}'
        module = types.ModuleType(_warm_up.SAMPLES_MODULE)
        module.SAMPLES = [("good.json", good, '{"x": 1}'), ("other.json", good, None)]
        sys.modules[_warm_up.SAMPLES_MODULE] = module
        try:
            _warm_up.plugin(lambda c: c, lambda c, p: calls.append(p))
            self.assertEqual(calls, ['{"x": 1}'] * _warm_up.ROUNDS + ["{}"] * _warm_up.ROUNDS)

            # What the plugin logs during its warm-up goes nowhere (there is no host at
            # build time), and the backend is put back afterwards, also after a failure.
            from ratchet_sdk import _log, log
            seen = []
            previous = _log.set_backend(lambda level, message: seen.append(message))
            try:
                _warm_up.plugin(lambda c: c, lambda c, p: log("info", "warming"))
                self.assertEqual(seen, [])
                with self.assertRaises(RuntimeError):
                    _warm_up.plugin(lambda c: c, lambda c, p: 1 / 0)
                log("info", "after")
                self.assertEqual(seen, ["after"])
            finally:
                _log.set_backend(previous)

            def boom(c, p):
                raise ValueError("no such tool")
            with self.assertRaisesRegex(RuntimeError, r"^warm-up sample good.json: ValueError: no such tool$"):
                _warm_up.plugin(lambda c: c, boom)
            module.SAMPLES = [("broken.json", "{", None)]
            with self.assertRaisesRegex(RuntimeError, r"^warm-up sample broken.json: ModelError: "):
                _warm_up.plugin(lambda c: c, lambda c, p: None)
        finally:
            del sys.modules[_warm_up.SAMPLES_MODULE]


class Messages(unittest.TestCase):
    """What an author reads when the build or a call fails: their own file and line."""

    def test_a_build_failure_is_the_plugins_traceback_with_real_paths(self):
        output = (
            "Error: Traceback (most recent call last):\n"
            "  File \"/usr/lib/python3/componentize_py/app.py\", line 9, in <module>\n"
            "AssertionError: Traceback (most recent call last):\n"
            "  File \"/0/app.py\", line 5, in <module>\n"
            "    from plugin import Pyerr\n"
            "  File \"/0/plugin.py\", line 21\n"
            "    x = (\n"
            "        ^\n"
            "SyntaxError: '(' was never closed\n"
            "\n"
            "Caused by:\n"
            "    0: AssertionError: Traceback ...\n"
            "\n"
            "Stack backtrace:\n"
            "   0: anyhow::error::<impl anyhow::Error>::msg\n"
        )
        text = build.readable_failure(output, [Path("/home/me/pyerr"), Path("/sdk")])
        self.assertTrue(text.startswith("Traceback (most recent call last):"), text)
        self.assertIn('File "/home/me/pyerr/plugin.py", line 21', text)
        self.assertTrue(text.endswith("SyntaxError: '(' was never closed"), text)
        for noise in ("Stack backtrace", "Caused by", "componentize_py", "anyhow"):
            self.assertNotIn(noise, text)

    def test_a_runtime_error_names_the_authors_file_and_line(self):
        from ratchet_sdk import component

        try:
            None.boom()
        except AttributeError as e:
            where = component._describe(e)
        self.assertRegex(where, r"^AttributeError: .*boom.* \(at .*test_build\.py:\d+ in test_a_runtime_error")
        # componentize-py mounts the plugin directory as /0/: shown as the author's path.
        self.assertEqual(component._source_name("/0/plugin.py"), "plugin.py")
        self.assertEqual(component._source_name("/0/pkg/rules.py"), "pkg/rules.py")
        self.assertEqual(component._source_name("/usr/lib/x.py"), "/usr/lib/x.py")


if __name__ == "__main__":
    unittest.main()
