"""`ratchet init` with the installed ratchet, in an empty directory outside the
repository: the project it writes gates at once against the bundled example agent,
its .gitignore keeps the run ledger (as the docs advise) and ignores the scratch,
its workflow passes the GitHub workflow schema, and the workflow's own commands
(4 shards with --no-ledger, then report merge) work on it."""

import json
import subprocess
import unittest

from common import install, run, version, workdir


class InitTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = install()
        cls.dir = workdir("init")
        cls.out = run(["ratchet", "init", "--format", "json"], cls.dir, cls.prefix)

    def test_it_writes_the_project(self):
        report = json.loads(self.out.stdout)
        for f in ["ratchet.toml", "agent.toml", "agent/example_agent.py", ".github/workflows/ratchet.yml"]:
            self.assertIn(f, report["files"])
            self.assertTrue((self.dir / f).is_file(), f)
        self.assertTrue(list((self.dir / "scenarios").glob("*.toml")))
        self.assertEqual(report["gitignore"], "written")
        config = (self.dir / "ratchet.toml").read_text()
        self.assertIn('path = "builtin:', config)
        self.assertNotIn(".wasm", config)

    def test_the_gate_runs_on_it(self):
        d = workdir("init-gate")
        run(["ratchet", "init"], d, self.prefix)
        r = run(["ratchet", "gate", "--agent", "agent.toml"], d, self.prefix)
        self.assertIn("gate passed", r.stderr)
        self.assertTrue((d / "scenarios/ledger.jsonl").is_file())
        # The buggy prompt is blocked, on the Tuesday-morning scenario, through the shipped assertion plugin.
        agent = (d / "agent.toml").read_text().replace('"support-v2"', '"support-v1"')
        (d / "agent-v1.toml").write_text(agent)
        r = run(["ratchet", "gate", "--agent", "agent-v1.toml", "--json", "v1.json"], d, self.prefix, expect=(1,))
        self.assertIn("FAIL    cancel-never-started-subscription", r.stderr)
        failing = {c["id"] for s in json.loads((d / "v1.json").read_text())["scenarios"] for a in s["attempts"] for c in a["criteria"] if not c["passed"]}
        self.assertIn("no-false-confirmation-plugin", failing)

    def test_gitignore_keeps_the_ledger_and_ignores_the_scratch(self):
        d = workdir("init-git")
        subprocess.run(["git", "init", "-q", str(d)], check=True)
        run(["ratchet", "init"], d, self.prefix)

        def ignored(path):
            return subprocess.run(["git", "check-ignore", "-q", path], cwd=d).returncode == 0

        self.assertFalse(ignored("scenarios/ledger.jsonl"), "the ledger must be committed (docs/gate.md)")
        self.assertFalse(ignored("scenarios/x.toml"))
        for scratch in [".ratchet/demo/SUMMARY.md", "scenarios/.ratchet.lock", "scenarios/.ratchet-index.json"]:
            self.assertTrue(ignored(scratch), scratch)

    def test_the_workflow_is_a_valid_github_workflow_and_its_commands_run(self):
        wf = self.dir / ".github/workflows/ratchet.yml"
        r = subprocess.run(["check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(wf)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        text = wf.read_text()
        for must in ["runs-on: ubuntu-latest", "--no-ledger", "--shard", "ratchet report merge", "--tier slow", "schedule:",
                     "name: ratchet-ledger", f"v{version()}/ratchet-{version()}-x86_64-linux.tar.gz", "--strip-components=1"]:
            self.assertIn(must, text)
        # What the jobs run, here: 4 shards without the ledger, then the merge.
        d = workdir("init-shards")
        run(["ratchet", "init"], d, self.prefix)
        for k in range(1, 5):
            run(["ratchet", "gate", "--agent", "agent.toml", "--tier", "fast", "--shard", f"{k}/4", "--json", f"gate-{k}.json", "--no-ledger"], d, self.prefix)
        self.assertFalse((d / "scenarios/ledger.jsonl").exists(), "a shard wrote the ledger")
        r = run(["ratchet", "report", "merge", "gate-1.json", "gate-2.json", "gate-3.json", "gate-4.json", "--json", "gate.json", "--junit", "junit.xml",
                 "--markdown", "summary.md", "--html", "gate.html"], d, self.prefix)
        self.assertEqual(json.loads((d / "gate.json").read_text())["summary"]["passed"], 3)

    def test_nothing_is_overwritten(self):
        r = run(["ratchet", "init"], self.dir, self.prefix, expect=(2,))
        self.assertIn("refusing to overwrite", r.stderr)
        self.assertIn("ratchet.toml", r.stderr)
        # An existing .gitignore gets ratchet's block appended, once; a new directory is created.
        d = workdir("init-existing")
        run(["ratchet", "init", "sub/project"], d, self.prefix)
        self.assertTrue((d / "sub/project/ratchet.toml").is_file())
        d2 = workdir("init-existing-2")
        (d2 / ".gitignore").write_text("node_modules/")
        r = run(["ratchet", "init", "--format", "json"], d2, self.prefix)
        self.assertEqual(json.loads(r.stdout)["gitignore"], "appended")
        text = (d2 / ".gitignore").read_text()
        self.assertTrue(text.startswith("node_modules/\n"), text)
        self.assertEqual(text.count("written by `ratchet init`"), 1)


if __name__ == "__main__":
    unittest.main()
