"""Shared set-up of the outside-the-repository tests: the release archive
(``scripts/dist``), installed into a fresh prefix, and an environment in which
nothing points back into this checkout.

The archive is built once per test process (``scripts/dist --debug``: the binary
with the dev profile, reusing target/debug), or taken from ``$RATCHET_DIST_ARCHIVE``
when the caller built it already. Every directory the tests work in is a fresh
temporary directory outside the repository.
"""

import atexit
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_STATE = {}


def _tmp_root() -> Path:
    if "tmp" not in _STATE:
        d = Path(tempfile.mkdtemp(prefix="ratchet-outside-"))
        atexit.register(shutil.rmtree, d, True)
        assert not d.resolve().is_relative_to(REPO), f"{d} is inside the repository"
        _STATE["tmp"] = d
    return _STATE["tmp"]


def archive() -> Path:
    """The release archive (built once)."""
    if "archive" not in _STATE:
        given = os.environ.get("RATCHET_DIST_ARCHIVE")
        if given:
            _STATE["archive"] = Path(given)
        else:
            out = _tmp_root() / "dist"
            r = subprocess.run([str(REPO / "scripts" / "dist"), "--debug", "--out", str(out)], cwd=REPO, capture_output=True, text=True)
            if r.returncode != 0:
                raise AssertionError(f"scripts/dist failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
            _STATE["archive"] = Path(r.stdout.strip().splitlines()[-1])
    return _STATE["archive"]


def install(name: str = "prefix") -> Path:
    """A fresh prefix with the archive extracted into it, as docs/install.md says
    (``tar -xzf ARCHIVE -C PREFIX --strip-components=1``)."""
    prefix = _tmp_root() / name
    if not prefix.exists():
        prefix.mkdir()
        subprocess.run(["tar", "-xzf", str(archive()), "-C", str(prefix), "--strip-components=1"], check=True)
    return prefix


def env(prefix: Path, **extra) -> dict:
    """The environment of a user with ratchet installed in ``prefix``: its bin/ first
    on PATH, no RATCHET_* variable pointing anywhere (but a private cache)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("RATCHET_") and k not in ("PYTHONPATH", "NODE_PATH", "CARGO_TARGET_DIR")}
    e["PATH"] = f"{prefix / 'bin'}{os.pathsep}{e.get('PATH', '')}"
    e["RATCHET_CACHE_DIR"] = str(_tmp_root() / "cache")
    e["NO_COLOR"] = "1"
    e.update(extra)
    return e


def workdir(name: str) -> Path:
    """A new empty directory outside the repository."""
    d = _tmp_root() / "work" / name
    d.mkdir(parents=True)
    return d


def run(args, cwd: Path, prefix: Path, expect=(0,), timeout=900, **extra_env):
    """Runs ``args`` (``ratchet ...`` resolves to the installed binary) and checks the exit code."""
    r = subprocess.run([str(a) for a in args], cwd=cwd, env=env(prefix, **extra_env), capture_output=True, text=True, timeout=timeout)
    if r.returncode not in expect:
        raise AssertionError(f"`{' '.join(map(str, args))}` in {cwd} exited {r.returncode} (expected {expect}):\n--- stdout\n{r.stdout[-6000:]}\n--- stderr\n{r.stderr[-6000:]}")
    return r


def head_commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()


def version() -> str:
    m = re.search(r'^version\s*=\s*"([^"]+)"', (REPO / "Cargo.toml").read_text(), re.M)
    return m.group(1)


def archive_members() -> list:
    with tarfile.open(archive()) as t:
        return t.getnames()
