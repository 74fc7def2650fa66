"""CI that runs: every GitHub workflow the documentation shows (README.md, docs/*.md),
the one `ratchet init` writes and the composite action (action.yml) pass GitHub's
JSON schemas (check-jsonschema's vendored `github-workflows` / `github-actions`, PyPI,
installed by scripts/setup); each workflow job says where it runs; and the install
steps of action.yml and of the init workflow, run here with bash on the real release
archive (a file:// URL for the release download), put a working ratchet on PATH,
whose gate step then gates an init'd project."""

import re
import subprocess
import tempfile
import unittest
from pathlib import Path

from ruamel.yaml import YAML

from common import REPO, archive, install, run, workdir

yaml = YAML(typ="safe")


def check(path: Path, schema: str):
    r = subprocess.run(["check-jsonschema", "--builtin-schema", schema, str(path)], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def doc_workflows():
    """(origin, text) of every ```yaml block of the docs that is a whole workflow (has `jobs:`)."""
    out = []
    for md in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = md.read_text(encoding="utf-8")
        for m in re.finditer(r"^```ya?ml\n(.*?)^```", text, re.S | re.M):
            if re.search(r"^jobs:", m.group(1), re.M):
                line = text[: m.start()].count("\n") + 1
                out.append((f"{md.relative_to(REPO)}:{line}", m.group(1)))
    return out


def run_step(script: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


class WorkflowSchemaTest(unittest.TestCase):
    def test_every_documented_workflow_is_valid_and_says_where_it_runs(self):
        found = doc_workflows()
        self.assertGreaterEqual(len(found), 2, f"expected the README's and docs/gate.md's workflows, found {[o for o, _ in found]}")
        init_wf = (REPO / "host/assets/init/workflow.yml").read_text()
        for origin, text in found + [("host/assets/init/workflow.yml", init_wf)]:
            with self.subTest(origin=origin):
                with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
                    f.write(text)
                code, out = check(Path(f.name), "vendor.github-workflows")
                Path(f.name).unlink()
                self.assertEqual(code, 0, f"{origin}: {out}")
                wf = yaml.load(text)
                for name, job in wf["jobs"].items():
                    self.assertIn("runs-on", job, f"{origin}: job {name}")
                joined = text
                self.assertIn("--no-ledger", joined, origin)
                self.assertIn("ratchet report merge", joined, origin)
                # Each workflow installs ratchet: the action, or the release archive.
                self.assertTrue("uses: ratchet-dev/ratchet@" in joined or "tar -xz" in joined, origin)

    def test_the_composite_action_is_valid(self):
        code, out = check(REPO / "action.yml", "vendor.github-actions")
        self.assertEqual(code, 0, out)
        action = yaml.load((REPO / "action.yml").read_text())
        self.assertEqual(action["runs"]["using"], "composite")
        for step in action["runs"]["steps"]:
            self.assertEqual(step["shell"], "bash")


class InstallStepTest(unittest.TestCase):
    """The install steps, run with bash as a runner would, on the real archive."""

    @classmethod
    def setUpClass(cls):
        cls.prefix = install()
        cls.url = archive().resolve().as_uri()

    def base_env(self, home: Path, **extra):
        import os
        e = {k: v for k, v in os.environ.items() if not k.startswith("RATCHET_")}
        e.update(HOME=str(home), GITHUB_PATH=str(home / "github_path"), GITHUB_OUTPUT=str(home / "github_output"), NO_COLOR="1",
                 RATCHET_CACHE_DIR=str(home / "cache"))
        e.update(extra)
        return e

    def test_the_actions_install_and_gate_steps(self):
        action = yaml.load((REPO / "action.yml").read_text())
        install_step, gate_step = action["runs"]["steps"]
        home = workdir("action-home")
        # ${{ inputs.* }} are passed through env by the action itself.
        env = self.base_env(home, RATCHET_VERSION=action["inputs"]["version"]["default"], RATCHET_ARCHIVE_URL=self.url,
                            RUNNER_TOOL_CACHE=str(home / "toolcache"))
        r = run_step(install_step["run"], home, env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        bindir = (home / "github_path").read_text().strip()
        self.assertTrue((Path(bindir) / "ratchet").is_file())
        self.assertRegex(r.stdout, r"^ratchet \d+\.\d+\.\d+ \(commit [0-9a-f]{12}\)")
        # The gate step on a project `ratchet init` wrote, with ratchet on PATH as the runner puts it.
        project = workdir("action-project")
        run(["ratchet", "init"], project, self.prefix)
        env = self.base_env(home, PATH=f"{bindir}:{env['PATH']}", RATCHET_AGENT="agent.toml", RATCHET_ARGS="--tier fast --json gate.json --no-ledger")
        r = run_step(gate_step["run"], project, env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("exit-code=0", (home / "github_output").read_text())
        self.assertTrue((project / "gate.json").is_file())
        # A blocked gate: the step fails with the gate's exit code and says so.
        (project / "agent.toml").write_text((project / "agent.toml").read_text().replace('"support-v2"', '"support-v1"'))
        r = run_step(gate_step["run"], project, env)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("exit-code=1", (home / "github_output").read_text())

    def test_the_init_workflows_install_step(self):
        wf = yaml.load((REPO / "host/assets/init/workflow.yml").read_text())
        home = workdir("init-wf-home")
        steps = [s for s in wf["jobs"]["gate"]["steps"] if s.get("name") == "Install ratchet"]
        self.assertEqual(len(steps), 1)
        r = run_step(steps[0]["run"], home, self.base_env(home, RATCHET_ARCHIVE_URL=self.url))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        bindir = Path((home / "github_path").read_text().strip())
        v = subprocess.run([str(bindir / "ratchet"), "--version"], capture_output=True, text=True)
        self.assertEqual(v.returncode, 0)
        self.assertTrue((bindir.parent / "share/ratchet/plugins/manifest.json").is_file())


if __name__ == "__main__":
    unittest.main()
