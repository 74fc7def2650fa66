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
            (d / "app.py").write_text("")

            def manifest(extra):
                (d / "pyproject.toml").write_text(f"[project]\nname = \"x\"\n[tool.ratchet]\n{extra}\n")
                return build.read_manifest(d)

            self.assertIsNone(manifest('world = "assertion"')["model"])
            self.assertTrue(manifest('world = "scorecard"\nmodel = true')["model"])
            with self.assertRaisesRegex(build.BuildError, "cannot import ratchet:plugin/model"):
                manifest('world = "adapter"\nmodel = true')
            with self.assertRaisesRegex(build.BuildError, "expected true or false"):
                manifest('world = "assertion"\nmodel = "yes"')


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
