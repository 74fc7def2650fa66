"""Build a Python plugin directory into a WebAssembly component with componentize-py.

    python3 -m ratchet_sdk.build PLUGIN_DIR [-o OUT.wasm] [--wit WIT_DIR] [-q]

(with ``sdk/python`` on ``PYTHONPATH``). The plugin directory holds a
``pyproject.toml`` naming the plugin and its world::

    [project]
    name = "my-scorecard"
    version = "0.1.0"

    [tool.ratchet]
    world = "scorecard"        # scorecard | assertion | adapter
    app = "app"                # the module that binds Scorer / Asserter / Converter (default "app")

and runs ``componentize-py -d WIT -w WORLD componentize APP -p PLUGIN_DIR -p SDK -o OUT``.
The WIT package is ``wit/since_v0.1.0`` of the ratchet checkout this SDK lives in
(``--wit`` or ``RATCHET_WIT_DIR`` override it). Requires ``componentize-py`` 0.25.1
(``pip install componentize-py==0.25.1``; ``scripts/setup`` installs it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

WORLDS = ("scorecard", "assertion", "adapter")
COMPONENTIZE_PY_VERSION = "0.25.1"
SDK_DIR = Path(__file__).resolve().parent.parent


class BuildError(Exception):
    """A build that cannot start or failed; the message says what to do."""


def default_wit_dir() -> Path:
    env = os.environ.get("RATCHET_WIT_DIR")
    if env:
        return Path(env)
    return SDK_DIR.parent.parent / "wit" / "since_v0.1.0"


def read_manifest(plugin_dir: Path) -> dict:
    """``{"name", "version", "world", "app", "samples"}`` from ``pyproject.toml``."""
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        raise BuildError("building needs Python 3.11 or later (tomllib reads pyproject.toml); the SDK itself runs on 3.10") from None

    path = plugin_dir / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BuildError(f"{path}: not found (a Python plugin directory has a pyproject.toml with [tool.ratchet] world = ...)") from None
    except tomllib.TOMLDecodeError as e:
        raise BuildError(f"{path}: {e}") from None
    project = data.get("project") or {}
    tool = (data.get("tool") or {}).get("ratchet")
    if not isinstance(tool, dict):
        raise BuildError(f"{path}: no [tool.ratchet] table (it names the plugin's world)")
    world = tool.get("world")
    if world not in WORLDS:
        raise BuildError(f"{path}: [tool.ratchet] world = {world!r}; expected one of {', '.join(WORLDS)}")
    name = project.get("name")
    if not isinstance(name, str) or not name:
        raise BuildError(f"{path}: [project] name is missing")
    app = tool.get("app", "app")
    if not (plugin_dir / f"{app}.py").is_file():
        raise BuildError(f"{plugin_dir / (app + '.py')}: not found ([tool.ratchet] app = {app!r} names the module that exports the plugin)")
    return {"name": name, "version": project.get("version", "0.0.0"), "world": world, "app": app, "samples": tool.get("samples", "samples")}


def componentize_py() -> str:
    exe = shutil.which("componentize-py")
    if exe is None:
        raise BuildError(f"componentize-py not found on PATH: pip install componentize-py=={COMPONENTIZE_PY_VERSION} (scripts/setup does)")
    return exe


def build(plugin_dir: Path, out: Path, wit: Path, quiet: bool = False) -> dict:
    """Builds ``plugin_dir`` into ``out``; returns the manifest plus ``seconds`` and ``bytes``."""
    plugin_dir = plugin_dir.resolve()
    m = read_manifest(plugin_dir)
    if not (wit / "types.wit").is_file():
        raise BuildError(f"{wit}: no types.wit here (pass --wit DIR or set RATCHET_WIT_DIR to the ratchet checkout's wit/since_v0.1.0)")
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.{os.getpid()}")
    cmd = [componentize_py(), "-d", str(wit), "-w", m["world"], "componentize", m["app"], "-p", str(plugin_dir), "-p", str(SDK_DIR), "-o", str(tmp)]
    if quiet:
        cmd.insert(1, "-q")
    started = time.monotonic()
    try:
        r = subprocess.run(cmd, cwd=plugin_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise BuildError(f"{plugin_dir}: componentize-py failed (exit {r.returncode}):\n{r.stdout.strip()}")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    m["seconds"] = time.monotonic() - started
    m["bytes"] = out.stat().st_size
    return m


def main(argv: list | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m ratchet_sdk.build", description="Build a Python ratchet plugin into a WebAssembly component.")
    p.add_argument("plugin_dir", type=Path, help="directory with pyproject.toml ([tool.ratchet] world = ...)")
    p.add_argument("-o", "--out", type=Path, help="output component (default: PLUGIN_DIR/build/NAME.wasm)")
    p.add_argument("--wit", type=Path, default=None, help="the ratchet:plugin WIT directory (default: the checkout's wit/since_v0.1.0)")
    p.add_argument("-q", "--quiet", action="store_true", help="only errors")
    a = p.parse_args(argv)
    try:
        name = read_manifest(a.plugin_dir.resolve())["name"]
        out = a.out or a.plugin_dir / "build" / f"{name}.wasm"
        m = build(a.plugin_dir, out, a.wit or default_wit_dir(), a.quiet)
    except BuildError as e:
        print(f"ratchet_sdk.build: error: {e}", file=sys.stderr)
        return 1
    if not a.quiet:
        print(f"built {out} ({m['bytes']:,} bytes, world {m['world']}) in {m['seconds']:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
