"""Install: the release archive (scripts/dist, whose binary comes from
``cargo install --locked --path host``) installed into a fresh prefix runs the
whole demo from an empty directory outside the repository, resolves the shipped
plugins by name and checks their digests, and says which commit it was built from."""

import hashlib
import json
import re
import shutil
import unittest

from common import archive_members, head_commit, install, run, version, workdir


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = install()

    def test_the_archive_holds_the_binary_plugins_and_sdk_packages(self):
        names = archive_members()
        top = names[0].split("/")[0]
        self.assertRegex(top, rf"^ratchet-{re.escape(version())}-[a-z0-9_]+-linux$")
        rel = {n[len(top) + 1:] for n in names}
        v = version()
        for want in ["bin/ratchet", "share/ratchet/plugins/manifest.json", "share/ratchet/plugins/adapter-openai-chat.wasm",
                     "share/ratchet/plugins/scorecard-support-policy.wasm", "share/ratchet/plugins/simulator-subscriptions.wasm",
                     f"share/ratchet/sdk/python/ratchet_sdk-{v}-py3-none-any.whl", f"share/ratchet/sdk/js/ratchet-dev-sdk-{v}.tgz",
                     f"share/ratchet/sdk/rust/ratchet-sdk-{v}.crate", "share/ratchet/sdk/rust/ratchet-sdk/Cargo.toml",
                     "share/ratchet/sdk/rust/ratchet-sdk/wit/since_v0.1.2/types.wit", "share/doc/ratchet/install.md"]:
            self.assertIn(want, rel)
        # Every shipped component is in the manifest with the digest of its bytes, and nothing else is.
        manifest = json.loads((self.prefix / "share/ratchet/plugins/manifest.json").read_text())
        files = sorted(p.name for p in (self.prefix / "share/ratchet/plugins").glob("*.wasm"))
        self.assertEqual(sorted(e["file"] for e in manifest["plugins"].values()), files)
        for name, e in manifest["plugins"].items():
            data = (self.prefix / "share/ratchet/plugins" / e["file"]).read_bytes()
            self.assertEqual(hashlib.sha256(data).hexdigest(), e["sha256"], name)

    def test_version_names_the_commit(self):
        r = run(["ratchet", "--version"], workdir("version"), self.prefix)
        self.assertEqual(r.stdout.strip(), f"ratchet {version()} (commit {head_commit()})")

    def test_the_demo_runs_from_an_empty_directory(self):
        d = workdir("demo")
        r = run(["ratchet", "demo", "--count", "150"], d, self.prefix)
        self.assertIn("summary: the loop works", r.stderr)
        summary = (d / ".ratchet/demo/SUMMARY.md").read_text()
        for line in ["costliest failure mode: cancellation-without-active-subscription", "gate support-v1: blocked",
                     "gate support-v2: passed", "gate support-v3: blocked"]:
            self.assertIn(line, summary)
        # The project it ran in names the shipped plugins; none was copied.
        config = (d / ".ratchet/demo/ratchet.toml").read_text()
        self.assertIn('path = "builtin:scorecard-support-policy"', config)
        self.assertEqual(list((d / ".ratchet/demo").rglob("*.wasm")), [])

    def test_shipped_plugins_resolve_by_name_and_are_digest_checked(self):
        d = workdir("builtin")
        (d / "ratchet.toml").write_text('[plugins.chat]\npath = "builtin:adapter-openai-chat"\n'
                                        '[plugins.escape]\npath = "../outside.wasm"\n')
        r = run(["ratchet", "plugin", "inspect", "chat"], d, self.prefix)
        self.assertIn("world     ratchet:plugin/adapter@", r.stdout)
        r = run(["ratchet", "plugin", "inspect", "builtin:simulator-subscriptions"], d, self.prefix)
        self.assertIn("world     ratchet:plugin/simulator@", r.stdout)
        r = run(["ratchet", "plugin", "inspect", "builtin:nope"], d, self.prefix, expect=(2,))
        self.assertIn("no such shipped plugin", r.stderr)
        self.assertIn("adapter-openai-chat", r.stderr)
        r = run(["ratchet", "plugin", "inspect", "builtin:../../bin/ratchet"], d, self.prefix, expect=(2,))
        self.assertIn("not a builtin plugin name", r.stderr)
        # Project paths stay confined.
        r = run(["ratchet", "plugin", "inspect", "escape"], d, self.prefix, expect=(2,))
        self.assertIn("leaves the project root", r.stderr)
        # A modified install is refused, naming the file and both digests.
        damaged = install("damaged")
        wasm = damaged / "share/ratchet/plugins/adapter-openai-chat.wasm"
        data = bytearray(wasm.read_bytes())
        data[-1] ^= 1
        wasm.write_bytes(bytes(data))
        r = run(["ratchet", "plugin", "inspect", "chat"], d, damaged, expect=(2,))
        self.assertIn("differs from", r.stderr)
        self.assertIn(str(wasm), r.stderr)
        # A prefix without shipped plugins says how to get them.
        bare = install("bare")
        shutil.rmtree(bare / "share")
        r = run(["ratchet", "plugin", "inspect", "chat"], d, bare, expect=(2,), RATCHET_DATA_DIR=str(bare / "share/ratchet"))
        self.assertIn("no ratchet install with shipped plugins found", r.stderr)


if __name__ == "__main__":
    unittest.main()
