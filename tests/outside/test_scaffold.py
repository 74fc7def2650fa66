"""SDKs as packages: `ratchet plugin new` of the installed ratchet scaffolds each kind
(scorecard, assertion, adapter, simulator) in each language (Rust, Python, JavaScript)
in a directory outside the repository, depending on the SDK by package name and
version; with only the release archive's SDK packages installed (the Python wheel in
a venv, the npm tarball in node_modules, the Rust crate through [patch.crates-io]),
each one's native tests pass, `ratchet plugin build` builds it, and `ratchet plugin
run` of the component gives its sample's expected bytes in the sandbox.

The twelve scaffolds of a language share one environment (one venv, one node_modules
in their parent directory, one cargo target dir), so dependencies install and build
once per language."""

import json
import subprocess
import unittest
from pathlib import Path

from common import REPO, install, run, version, workdir

KINDS = ["scorecard", "assertion", "adapter", "simulator"]


class ScaffoldBase:
    lang = ""

    @classmethod
    def setUpClass(cls):
        cls.prefix = install()
        cls.parent = workdir(f"scaffold-{cls.lang}")
        cls.extra_env = cls.prepare()

    @classmethod
    def prepare(cls) -> dict:
        return {}

    def ratchet(self, args, cwd, expect=(0,)):
        return run(["ratchet", *args], cwd, self.prefix, expect=expect, **self.extra_env)

    def native_tests(self, d: Path):
        raise NotImplementedError

    def test_every_kind_scaffolds_builds_and_runs(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                name = f"{self.lang}-{kind}-pkg"
                r = self.ratchet(["plugin", "new", "--lang", self.lang, "--kind", kind, name], self.parent)
                self.assertIn("SDK: ", r.stdout)
                self.assertNotIn(str(REPO), r.stdout)
                d = self.parent / name
                # Nothing in the scaffold points into a ratchet checkout or the install.
                for f in d.rglob("*"):
                    if f.is_file():
                        text = f.read_text(encoding="utf-8")
                        self.assertNotRegex(text, r"\.\./[\w./-]*sdk|scripts/build-plugins|PYTHONPATH", f)
                        self.assertNotIn(str(REPO), text, f)
                        self.assertNotIn(str(self.prefix), text, f)
                self.assert_depends_by_name(d)
                self.native_tests(d)
                self.ratchet(["plugin", "build"], d)
                wasm = d / "build" / f"{name}.wasm"
                self.assertTrue(wasm.is_file())
                r = self.ratchet(["plugin", "run", str(wasm), "--input", "samples/example.json", "--format", "json", "--no-cache"], d)
                out = json.loads(r.stdout)
                expected = json.loads((d / "samples/example.expected.json").read_text())
                self.assertEqual(out["output"], expected, f"{name}: the component disagrees with its sample")
                self.assertEqual(out["plugin"]["world"]["kind"], kind)
                # The build is recorded beside the component: a source edit without a
                # rebuild is named on the next run (a forgotten rebuild is not silent).
                self.assertNotIn("older than its source", r.stderr)
                extra = {"rust": "src/extra.rs", "python": "extra.py", "js": "extra.js"}[self.lang]
                (d / extra).write_text("// an edit after the build\n" if self.lang != "python" else "# an edit after the build\n")
                r = self.ratchet(["plugin", "run", str(wasm), "--input", "samples/example.json", "--no-cache"], d)
                self.assertIn(f"{wasm} is older than its source", r.stderr)
                self.assertIn(f"ratchet plugin build {d.resolve()}", r.stderr)
                (d / extra).unlink()
                if kind == "scorecard" and self.lang in ("python", "js"):
                    self.errors_name_the_authors_line(d, wasm)

    def errors_name_the_authors_line(self, d: Path, wasm: Path):
        """A failing plugin names the author's file and line, not the bundle's; a
        syntax error fails the build with the plugin's traceback, not the toolchain's."""
        src = d / ("plugin.py" if self.lang == "python" else "plugin.js")
        original = src.read_text()
        lines = original.split("\n")
        at = next(i for i, l in enumerate(lines) if l.strip().startswith(("def score(", "score(")))
        indent = " " * (len(lines[at]) - len(lines[at].lstrip()) + 4)
        boom = f"{indent}None.boom()" if self.lang == "python" else f"{indent}null.boom();"
        src.write_text("\n".join(lines[: at + 1] + [boom] + lines[at + 1 :]))
        try:
            self.ratchet(["plugin", "build"], d)
            r = self.ratchet(["plugin", "run", str(wasm), "--input", "samples/example.json", "--no-cache"], d, expect=(3,))
            self.assertIn(f"plugin.{'py' if self.lang == 'python' else 'js'}:{at + 2}", r.stderr, r.stderr)
            if self.lang == "python":
                src.write_text("\n".join(lines[: at + 1] + [f"{indent}x = ("] + lines[at + 1 :]))
                r = self.ratchet(["plugin", "build"], d, expect=(2,))
                self.assertIn(f'plugin.py", line {at + 2}', r.stderr)
                self.assertIn("SyntaxError", r.stderr)
                self.assertNotIn("Stack backtrace", r.stderr)
                self.assertLess(len(r.stderr.splitlines()), 30, r.stderr)
        finally:
            src.write_text(original)


class RustScaffoldTest(ScaffoldBase, unittest.TestCase):
    lang = "rust"

    @classmethod
    def prepare(cls):
        # Until ratchet-sdk is on crates.io, the archive's crate stands in for it (docs/install.md);
        # offline, against the dependency versions this checkout has fetched.
        crate = cls.prefix / "share/ratchet/sdk/rust/ratchet-sdk"
        (cls.parent / ".cargo").mkdir()
        (cls.parent / ".cargo/config.toml").write_text(f'[patch.crates-io]\nratchet-sdk = {{ path = "{crate}" }}\n\n[net]\noffline = true\n')
        return {"CARGO_TARGET_DIR": str(cls.parent / "target")}

    def assert_depends_by_name(self, d):
        self.assertIn(f'ratchet-sdk = "{version()}"', (d / "Cargo.toml").read_text())

    def native_tests(self, d):
        (d / "Cargo.lock").write_bytes((REPO / "Cargo.lock").read_bytes())
        r = run(["cargo", "test", "-q"], d, self.prefix, **self.extra_env)
        self.assertIn("test result: ok. 1 passed", r.stdout)


class PythonScaffoldTest(ScaffoldBase, unittest.TestCase):
    lang = "python"

    @classmethod
    def prepare(cls):
        venv = cls.parent / ".venv"
        # componentize-py comes from the machine (scripts/setup); ratchet_sdk only from the wheel.
        subprocess.run(["python3", "-m", "venv", "--system-site-packages", str(venv)], check=True)
        py = str(venv / "bin/python3")
        probe = subprocess.run([py, "-c", "import ratchet_sdk"], capture_output=True)
        assert probe.returncode != 0, "ratchet_sdk is importable before the wheel is installed"
        wheel = next((cls.prefix / "share/ratchet/sdk/python").glob("ratchet_sdk-*.whl"))
        subprocess.run([py, "-m", "pip", "install", "-q", "--no-index", "--no-deps", str(wheel)], check=True)
        import os
        return {"PATH": f"{venv / 'bin'}{os.pathsep}{cls.prefix / 'bin'}{os.pathsep}{os.environ['PATH']}"}

    def assert_depends_by_name(self, d):
        self.assertIn(f'dependencies = ["ratchet-sdk=={version()}"]', (d / "pyproject.toml").read_text())

    def native_tests(self, d):
        r = run(["python3", "-m", "unittest"], d, self.prefix, **self.extra_env)
        self.assertIn("OK", r.stderr)


class JsScaffoldTest(ScaffoldBase, unittest.TestCase):
    lang = "js"

    @classmethod
    def prepare(cls):
        # One node_modules in the parent: the scaffolds below resolve @ratchet-dev/sdk from it.
        tgz = next((cls.prefix / "share/ratchet/sdk/js").glob("ratchet-dev-sdk-*.tgz"))
        (cls.parent / "package.json").write_text('{"private": true}\n')
        subprocess.run(["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", str(tgz)], cwd=cls.parent,
                       check=True, capture_output=True)
        return {}

    def assert_depends_by_name(self, d):
        pkg = json.loads((d / "package.json").read_text())
        self.assertEqual(pkg["dependencies"], {"@ratchet-dev/sdk": version()})

    def native_tests(self, d):
        r = run(["node", "--test"], d, self.prefix)
        self.assertIn("# fail 0", r.stdout)


if __name__ == "__main__":
    unittest.main()
