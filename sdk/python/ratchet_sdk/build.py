"""Build a Python plugin directory into a WebAssembly component with componentize-py.

    python3 -m ratchet_sdk.build PLUGIN_DIR [-o OUT.wasm] [--wit WIT_DIR] [-q]

(with ``sdk/python`` on ``PYTHONPATH``). The plugin directory holds a
``pyproject.toml`` naming the plugin and its world::

    [project]
    name = "my-scorecard"
    version = "0.1.0"

    [tool.ratchet]
    world = "scorecard"        # scorecard | assertion | adapter | simulator
    app = "app"                # the module that binds Scorer / Asserter / Converter / Simulation (default "app")
    # model = true             # import ratchet:plugin/model (default: when the app imports ratchet_sdk.judge)
    # warm-up = "samples"      # scorecards/assertions: run the plugin on these sample inputs at build time

and runs ``componentize-py -d WIT -w WORLD componentize APP -p PLUGIN_DIR -p SDK -o OUT``.
The WIT package is the copy of ``wit/since_v0.1.3`` this package carries
(``ratchet_sdk/wit/``, kept identical to the released WIT by ``scripts/sync-wit``; so
the installed wheel builds anywhere; ``--wit`` or ``RATCHET_WIT_DIR`` override it; the ``simulator`` world needs 0.1.2 or
later, and a plugin that asks a model 0.1.1 or later). Requires ``componentize-py`` 0.25.1
(``pip install componentize-py==0.25.1``; ``scripts/setup`` installs it).

The model import. componentize-py gives a component *every* import of its world,
used or not, and since 0.1.1 the ``scorecard`` and ``assertion`` worlds import
``ratchet:plugin/model``. So that a plugin that never asks a model does not import
it (as with the Rust SDK, where the linker drops what is not called), a scorecard
or assertion whose app does not import ``ratchet_sdk.judge`` (found by following
its imports with ``modulefinder``) is built for a copy of its world without that
import: ``world scorecard { import ratchet:plugin/host@0.1.3; import
ratchet:plugin/labels@0.1.3; export ratchet:plugin/scorer@0.1.3; }`` in a scratch
package ``ratchet-sdk:build`` next to the untouched WIT (the ``labels`` import,
since 0.1.3, stays: the SDK reads every conversation's labels). ``[tool.ratchet] model = true|false`` overrides the detection.

Warm-up. componentize-py snapshots the component after running the app module, and
ratchet starts every call from that snapshot. The SDK always warms its own per-call
code inside it (``ratchet_sdk._warm_up``); ``[tool.ratchet] warm-up = "DIR"`` (a
directory of sample inputs in the golden-sample layout: ``NAME.json`` conversations,
``NAME.options.json`` params; ``true`` means the ``samples`` directory) also runs the
plugin itself on each of them at build time, so its own bytecode starts specialised
too (about 20 % less work per call for the support-policy scorecard). The samples are
embedded as a generated module (``_ratchet_warm_up_samples``) for the build only; a
plugin that keeps state between calls sees those calls. A sample the plugin fails on
fails the build, naming it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._warm_up import SAMPLES_MODULE as WARM_UP_MODULE

#: The worlds a Python plugin can implement (``[tool.ratchet] world``).
WORLDS = ("scorecard", "assertion", "adapter", "simulator")
#: The interface each world exports.
EXPORTS = {"scorecard": "scorer", "assertion": "asserter", "adapter": "converter", "simulator": "simulation"}
#: Worlds whose plugin can be warmed up on sample conversations at build time.
WARM_UP_WORLDS = ("scorecard", "assertion")
#: Worlds that may import ratchet:plugin/model (since WIT 0.1.1).
MODEL_WORLDS = ("scorecard", "assertion")
#: The module whose import gives a plugin the model import.
JUDGE_MODULE = "ratchet_sdk.judge"
#: The componentize-py release the build is tested with.
COMPONENTIZE_PY_VERSION = "0.25.1"
#: The WIT version the build targets by default (``wit/since_v<this>``).
DEFAULT_WIT_VERSION = "0.1.3"
#: ``sdk/python``: what componentize-py gets on its path besides the plugin.
SDK_DIR = Path(__file__).resolve().parent.parent


class BuildError(Exception):
    """A build that cannot start or failed; the message says what to do."""


def default_wit_dir() -> Path:
    """``$RATCHET_WIT_DIR``, else the ``wit/since_v0.1.3`` this package carries."""
    env = os.environ.get("RATCHET_WIT_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent / "wit" / f"since_v{DEFAULT_WIT_VERSION}"


def read_manifest(plugin_dir: Path) -> dict:
    """``{"name", "version", "world", "app", "samples", "model"}`` from ``pyproject.toml``
    (``model``: ``True``/``False`` when set, else ``None``)."""
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
    model = tool.get("model")
    if model is not None and not isinstance(model, bool):
        raise BuildError(f"{path}: [tool.ratchet] model = {model!r}; expected true or false")
    if model and world not in MODEL_WORLDS:
        raise BuildError(f"{path}: [tool.ratchet] model = true, but the {world} world cannot import ratchet:plugin/model (only {' and '.join(MODEL_WORLDS)} can)")
    samples = tool.get("samples", "samples")
    warm_up = tool.get("warm-up", False)
    if warm_up is True:
        warm_up = samples
    if warm_up is not False and not (isinstance(warm_up, str) and warm_up):
        raise BuildError(f"{path}: [tool.ratchet] warm-up = {warm_up!r}; expected a directory of sample inputs, true (the samples directory) or false")
    if warm_up and world not in WARM_UP_WORLDS:
        raise BuildError(f"{path}: [tool.ratchet] warm-up is for {' and '.join(WARM_UP_WORLDS)} plugins, not the {world} world")
    return {"name": name, "version": project.get("version", "0.0.0"), "world": world, "app": app, "samples": samples,
            "model": model, "warm_up": warm_up or None}


def warm_up_samples(plugin_dir: Path, directory: str) -> list:
    """``[(name, conversation JSON, params JSON or None)]`` from a directory in the
    golden-sample layout (``NAME.json`` inputs, sorted; ``NAME.options.json`` params;
    ``*.expected.json`` and subdirectories ignored)."""
    d = (plugin_dir / directory).resolve()
    if not d.is_dir():
        raise BuildError(f"{plugin_dir / 'pyproject.toml'}: [tool.ratchet] warm-up = {directory!r}: {d} is not a directory")
    out = []
    for p in sorted(d.iterdir(), key=lambda p: p.name):
        name = p.name
        if not p.is_file() or not name.endswith(".json") or name.endswith(".expected.json") or name.endswith(".options.json"):
            continue
        stem = name[: -len(".json")]
        options = d / f"{stem}.options.json"
        try:
            out.append((name, p.read_text(encoding="utf-8"), options.read_text(encoding="utf-8") if options.is_file() else None))
        except (OSError, UnicodeDecodeError) as e:
            raise BuildError(f"{p}: cannot read this warm-up sample: {e}") from None
    if not out:
        raise BuildError(f"{plugin_dir / 'pyproject.toml'}: [tool.ratchet] warm-up = {directory!r}: {d} holds no NAME.json sample")
    return out


def uses_judge(plugin_dir: Path, app: str) -> bool:
    """True when the app module imports ``ratchet_sdk.judge``, directly or through
    the plugin's own modules (followed with ``modulefinder``, which does not run
    them). If the imports cannot be followed, any ``.py`` file of the plugin that
    mentions the module counts."""
    from modulefinder import ModuleFinder

    try:
        finder = ModuleFinder(path=[str(plugin_dir), str(SDK_DIR)])
        finder.run_script(str(plugin_dir / f"{app}.py"))
        return JUDGE_MODULE in finder.modules
    except Exception:  # a syntax error (componentize-py will report it) or an exotic import
        pattern = re.compile(r"ratchet_sdk\.judge\b|from\s+ratchet_sdk\s+import\s[^\n]*\bjudge\b")
        return any(pattern.search(p.read_text(encoding="utf-8", errors="replace")) for p in plugin_dir.rglob("*.py") if "build" not in p.parts)


def _wit_text(wit: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(wit.glob("*.wit")))


def wit_package(wit: Path) -> tuple:
    """``(version, has_model)`` of the ``ratchet:plugin`` package in ``wit``."""
    text = _wit_text(wit)
    m = re.search(r"^package ratchet:plugin@([0-9A-Za-z.+-]+);", text, re.M)
    if not m:
        raise BuildError(f"{wit}: no `package ratchet:plugin@X.Y.Z;` in its .wit files")
    return m.group(1), re.search(r"^interface model\b", text, re.M) is not None


def wit_worlds(wit: Path) -> list:
    """The names of the worlds the package in ``wit`` defines (``simulator`` since 0.1.2)."""
    return re.findall(r"^world ([a-z][a-z0-9-]*)\b", _wit_text(wit), re.M)


def world_without_model(wit: Path, scratch: Path, world: str, version: str) -> Path:
    """A WIT directory whose world ``world`` is ``ratchet:plugin/WORLD`` minus the
    model import: a scratch package with the real one (copied, untouched) as a dependency."""
    dep = scratch / "deps" / "ratchet-plugin"
    dep.mkdir(parents=True)
    for p in wit.glob("*.wit"):
        shutil.copyfile(p, dep / p.name)
    # Since 0.1.3 scorecards and assertions also import `labels` (the SDK reads them).
    labels = f"    import ratchet:plugin/labels@{version};\n" if re.search(r"^interface labels\b", _wit_text(wit), re.M) else ""
    (scratch / "world.wit").write_text(
        "package ratchet-sdk:build;\n\n"
        f"/// ratchet:plugin/{world}@{version} without `import model`: this plugin never asks a model.\n"
        f"world {world} {{\n    import ratchet:plugin/host@{version};\n{labels}    export ratchet:plugin/{EXPORTS[world]}@{version};\n}}\n",
        encoding="utf-8",
    )
    return scratch


def componentize_py() -> str:
    """The ``componentize-py`` executable on ``PATH`` (``BuildError`` saying how to install it)."""
    exe = shutil.which("componentize-py")
    if exe is None:
        raise BuildError(f"componentize-py not found on PATH: pip install componentize-py=={COMPONENTIZE_PY_VERSION} (scripts/setup does)")
    return exe


def readable_failure(output: str, python_path: list) -> str:
    """componentize-py's failure output as one readable message: the plugin's Python
    traceback with real file names (componentize-py shows the ``-p`` directories as
    ``/0/``, ``/1/``...), without componentize-py's own wrapper traceback, the repeated
    "Caused by" summary or a Rust stack backtrace."""
    text = output.strip()
    text = re.split(r"\n\s*Stack backtrace:", text, maxsplit=1)[0]
    inner = "AssertionError: Traceback (most recent call last):"
    if inner in text:
        text = text[text.index(inner) + len("AssertionError: "):]
        text = re.split(r"\n\s*Caused by:", text, maxsplit=1)[0]
    for i, d in enumerate(python_path):
        text = text.replace(f'File "/{i}/', f'File "{d}/')
    return text.strip()


def build(plugin_dir: Path, out: Path, wit: Path, quiet: bool = False) -> dict:
    """Builds ``plugin_dir`` into ``out``; returns the manifest plus ``seconds`` and ``bytes``."""
    plugin_dir = plugin_dir.resolve()
    wit = Path(wit).resolve()
    m = read_manifest(plugin_dir)
    if not (wit / "types.wit").is_file():
        raise BuildError(f"{wit}: no types.wit here (pass --wit DIR or set RATCHET_WIT_DIR to a ratchet wit/since_v{DEFAULT_WIT_VERSION})")
    version, has_model = wit_package(wit)
    if m["world"] not in wit_worlds(wit):
        raise BuildError(f"{plugin_dir}: [tool.ratchet] world = {m['world']!r}, but {wit} is ratchet:plugin@{version}, which has no {m['world']} world "
                         f"(the simulator world is new in 0.1.2): build against wit/since_v{DEFAULT_WIT_VERSION}")
    model = m["model"]
    if model is None:
        model = m["world"] in MODEL_WORLDS and uses_judge(plugin_dir, m["app"])
    if model and m["warm_up"]:
        raise BuildError(f"{plugin_dir}: [tool.ratchet] warm-up runs the plugin at build time, where there is no host to answer a model: "
                         "a plugin that asks a model (ratchet_sdk.judge) cannot be warmed up; remove warm-up")
    if model and not has_model:
        raise BuildError(f"{plugin_dir}: the plugin asks a model (ratchet_sdk.judge), but {wit} is ratchet:plugin@{version}, "
                         "which has no model import: build against wit/since_v0.1.1 or later")
    m["model"] = model
    m["wit_version"] = version
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.{os.getpid()}")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ratchet-py-wit-") as scratch:
        world_dir = wit
        if has_model and not model and m["world"] in MODEL_WORLDS:
            world_dir = world_without_model(wit, Path(scratch) / "wit", m["world"], version)
        python_path = [plugin_dir, SDK_DIR]
        if m["warm_up"]:
            generated = Path(scratch) / "warm-up"
            generated.mkdir()
            samples = warm_up_samples(plugin_dir, m["warm_up"])
            (generated / f"{WARM_UP_MODULE}.py").write_text(
                f'"""Generated by ratchet_sdk.build: the warm-up samples of {m["name"]}."""\n\nSAMPLES = {samples!r}\n', encoding="utf-8")
            python_path.append(generated)
        cmd = [componentize_py(), "-d", str(world_dir), "-w", m["world"], "componentize", m["app"]]
        for d in python_path:
            cmd += ["-p", str(d)]
        cmd += ["-o", str(tmp)]
        if quiet:
            cmd.insert(1, "-q")
        # No Rust backtrace of componentize-py's own in the message (anyhow prints one
        # when RUST_BACKTRACE is set): the author's Python traceback is what matters.
        env = {**os.environ, "RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}
        try:
            r = subprocess.run(cmd, cwd=plugin_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            if r.returncode != 0:
                raise BuildError(f"{plugin_dir}: componentize-py failed (exit {r.returncode}):\n{readable_failure(r.stdout, python_path)}")
            os.replace(tmp, out)
        finally:
            if tmp.exists():
                tmp.unlink()
    m["seconds"] = time.monotonic() - started
    m["bytes"] = out.stat().st_size
    return m


def main(argv: list | None = None) -> int:
    """The command line (``python3 -m ratchet_sdk.build``); the exit code."""
    p = argparse.ArgumentParser(prog="python3 -m ratchet_sdk.build", description="Build a Python ratchet plugin into a WebAssembly component.")
    p.add_argument("plugin_dir", type=Path, help="directory with pyproject.toml ([tool.ratchet] world = ...)")
    p.add_argument("-o", "--out", type=Path, help="output component (default: PLUGIN_DIR/build/NAME.wasm)")
    p.add_argument("--wit", type=Path, default=None, help=f"the ratchet:plugin WIT directory (default: the checkout's wit/since_v{DEFAULT_WIT_VERSION})")
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
        model = ", imports ratchet:plugin/model" if m["model"] else ""
        print(f"built {out} ({m['bytes']:,} bytes, world {m['world']}@{m['wit_version']}{model}) in {m['seconds']:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
