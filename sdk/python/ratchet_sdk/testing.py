"""Golden-file tests for plugins, run natively (plain ``python3 -m unittest``, no Wasm).

The same loop as the Rust SDK's ``ratchet_sdk::testing::golden_samples``, on the
same directory layout, so a Python port can be checked against the Rust plugin's
own ``samples/``:

=============================  ==========================================================
file                           meaning
=============================  ==========================================================
``<stem>.json``/``.jsonl``     an input; its raw bytes are passed to ``run``
``<stem>.options.json``        optional: the JSON value passed to ``run`` as options (else ``{}``, as the host sends)
``<stem>.expected.json``       the expected output, canonical pretty JSON (byte for byte)
``invalid/<stem>.json(l)``     optional: an input ``run`` must reject with ``PluginError``
``invalid/<stem>.error.txt``   the exact error message (one trailing newline allowed)
=============================  ==========================================================

Every input is run twice (the output must be the same bytes). With
``RATCHET_UPDATE_GOLDEN=1`` the expected files are rewritten instead (review the diff).

A ``run`` may raise ``SampleError`` (the input is not a valid sample: the host would
refuse it before calling the plugin) or ``MalformedOutput`` (the plugin returned
something the host would refuse, e.g. a simulator's world that is not an object);
the runners below check every result as the component glue and the host do — its
type, scores finite and in [0, 1], turns inside the conversation, JSON-object params,
field types, the output size limit — so a sample test that passes natively does not
trap or get refused in the sandbox;
both are reported as failures naming the file, in ``invalid/`` too: an invalid
sample must be refused by the plugin itself.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import canonical
from .errors import PluginError
from .model import Conversation, ModelError, _kind
from .results import Converted, CriterionResult, ScorecardResult, SuggestedCriterion, Verdict
from .simulator import Observed, Simulated, ToolRequest

__all__ = ["UPDATE_ENV", "GoldenSummary", "SampleError", "MalformedOutput", "golden_samples", "check_golden_samples", "scorecard_runner",
           "assertion_runner", "adapter_runner", "simulator_runner", "run_simulator", "check_scorecard_result", "check_verdict", "check_converted",
           "MAX_OUTPUT_BYTES"]

#: The host's default limit on one call's output (``[sandbox] max_output_bytes``, 4 MiB).
MAX_OUTPUT_BYTES = 4 << 20

#: Environment variable that switches golden tests to rewriting the expected files.
UPDATE_ENV = "RATCHET_UPDATE_GOLDEN"


class SampleError(ValueError):
    """An input file that is not a valid sample for its kind of plugin (``ratchet
    plugin run`` would refuse it too); the message names the field."""


class MalformedOutput(AssertionError):
    """The plugin returned something the host refuses as malformed (not the
    plugin's own error: in a component the call fails as a contract breach)."""


@dataclass
class GoldenSummary:
    """What was checked."""

    samples: int
    invalid: int


def _update_requested() -> bool:
    return bool(os.environ.get(UPDATE_ENV))


def golden_samples(directory, minimum: int, run: Callable[[bytes, Any], Any]) -> GoldenSummary:
    """Checks (or rewrites, with ``RATCHET_UPDATE_GOLDEN`` set) the golden files in
    ``directory``; raises ``AssertionError`` with a report of every problem."""
    ok, result = check_golden_samples(Path(directory), minimum, _update_requested(), run)
    if not ok:
        raise AssertionError(result)
    return result


def _inputs(d: Path) -> list:
    out = []
    for p in sorted(d.iterdir(), key=lambda p: str(p)):
        if not p.is_file():
            continue
        name = p.name
        if name.endswith(".expected.json") or name.endswith(".options.json"):
            continue
        if name.endswith(".jsonl"):
            out.append((p, name[: -len(".jsonl")]))
        elif name.endswith(".json"):
            out.append((p, name[: -len(".json")]))
    return out


def _options(d: Path, stem: str) -> Any:
    p = d / f"{stem}.options.json"
    if not p.exists():
        return {}  # what the host sends an adapter with no options configured
    return canonical.loads(p.read_text(encoding="utf-8"), str(p))


def _diff(old: str, new: str) -> str:
    import difflib
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), "expected", "actual", lineterm="", n=3))
    if len(lines) > 40:
        lines = lines[:40] + [f"  ... {len(lines) - 40} more diff line(s)"]
    return "\n".join(lines) if lines else "(lines equal; the difference is in line endings or the final newline)"


def _run_pretty(run, data: bytes, options: Any) -> str:
    return canonical.dumps_pretty(run(data, options))


def check_golden_samples(d: Path, minimum: int, update: bool, run: Callable[[bytes, Any], Any]):
    """The non-raising core of ``golden_samples``: ``(True, GoldenSummary)`` or
    ``(False, report)``."""
    failures = []
    samples = _inputs(d)
    for path, stem in samples:
        name = path.name
        data = path.read_bytes()
        try:
            options = _options(d, stem)
            actual = _run_pretty(run, data, options)
            again = _run_pretty(run, data, options)
        except PluginError as e:
            failures.append(f"{name}: run failed: {e}")
            continue
        except SampleError as e:
            failures.append(f"{name}: not a valid sample: {e}")
            continue
        except MalformedOutput as e:
            failures.append(f"{name}: malformed output (the host would refuse it): {e}")
            continue
        if again != actual:
            failures.append(f"{name}: not deterministic (two runs gave different output)\n{_diff(actual, again)}")
            continue
        expected_path = d / f"{stem}.expected.json"
        if update:
            expected_path.write_text(actual, encoding="utf-8")
            continue
        if not expected_path.exists():
            failures.append(f"{name}: {expected_path}: missing")
            continue
        expected = expected_path.read_text(encoding="utf-8")
        if actual != expected:
            failures.append(f"{name}: output differs from {expected_path} (- expected, + actual)\n{_diff(expected, actual)}")
    if len(samples) < minimum:
        failures.append(f"{d}: expected at least {minimum} samples, found {len(samples)}")

    invalid_dir = d / "invalid"
    invalid = 0
    if invalid_dir.is_dir():
        cases = _inputs(invalid_dir)
        invalid = len(cases)
        if not cases:
            failures.append(f"{invalid_dir}: directory exists but holds no invalid samples")
        for path, stem in cases:
            name = f"invalid/{path.name}"
            data = path.read_bytes()
            options = _options(invalid_dir, stem)
            try:
                out = run(data, options)
                failures.append(f"{name}: should fail but succeeded with\n{canonical.dumps_pretty(out)}")
                continue
            except PluginError as e:
                err = str(e)
            except SampleError as e:
                failures.append(f"{name}: not a valid sample: {e}")
                continue
            except MalformedOutput as e:
                failures.append(f"{name}: malformed output (the host would refuse it): {e}")
                continue
            try:
                run(data, options)
                failures.append(f"{name}: not deterministic (two runs gave different results)")
                continue
            except PluginError as e:
                if str(e) != err:
                    failures.append(f"{name}: not deterministic (two runs gave different results)")
                    continue
            expected_path = invalid_dir / f"{stem}.error.txt"
            if update:
                expected_path.write_text(err + "\n", encoding="utf-8")
                continue
            if not expected_path.exists():
                failures.append(f"{name}: {expected_path}: missing")
                continue
            expected = expected_path.read_text(encoding="utf-8")
            if expected.endswith("\n"):
                expected = expected[:-1]
            if err != expected:
                failures.append(f"{name}: error differs from {expected_path}\n  expected: {expected}\n  actual:   {err}")

    if failures:
        report = f"golden test failed ({len(failures)} problem(s)) in {d}:\n\n" + "\n\n".join(failures)
        if not update:
            report += f"\n\n(if the new output is intended, rerun with {UPDATE_ENV}=1 and review the diff)"
        return False, report
    return True, GoldenSummary(samples=len(samples), invalid=invalid)


# ---- what the host checks, natively ---------------------------------------------

def _float_text(v: float) -> str:
    # As the host (Rust) writes the value in its message.
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(float(v))


def _of_type(what: str, v: Any, types, name: str) -> None:
    if isinstance(v, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        raise MalformedOutput(f"{what} must be {name}, got bool")
    if not isinstance(v, types):
        raise MalformedOutput(f"{what} must be {name}, got {type(v).__name__}")


def _unit(what: str, v: Any) -> None:
    _of_type(what, v, (int, float), "a number")
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise MalformedOutput(f"{what} is {_float_text(v)}, outside [0, 1]")


def _turn(what: str, t: Any, turns: int) -> None:
    if t is None:
        return
    _of_type(f"{what}.turn", t, int, "an int or None")
    if not 0 <= t < 1 << 32:
        raise MalformedOutput(f"{what}.turn is {t}, not a turn index (0 to 2^32-1)")
    if t >= turns:
        raise MalformedOutput(f"{what} points at turn {t}, but the conversation has {turns} turns")


def _str_list(what: str, v: Any) -> None:
    _of_type(what, v, list, "a list")
    for i, x in enumerate(v):
        _of_type(f"{what}[{i}]", x, str, "a str")


def _size(value: Any) -> None:
    try:
        n = len(canonical.dumps(value).encode("utf-8"))
    except (TypeError, ValueError) as e:
        raise MalformedOutput(f"the result is not JSON data: {e}") from None
    if n > MAX_OUTPUT_BYTES:
        raise MalformedOutput(f"the result is {n} bytes, over the host's limit of {MAX_OUTPUT_BYTES} (max_output_bytes)")


def check_scorecard_result(r: Any, turns: int) -> None:
    """Checks a scorecard's result as the component glue and the host do (type, scores,
    turns against a conversation of ``turns`` turns, suggested params, size); raises
    ``MalformedOutput`` with the host's words."""
    if not isinstance(r, ScorecardResult):
        raise MalformedOutput(f"score must return a ScorecardResult, got {type(r).__name__}")
    _unit("score", r.score)
    _of_type("criteria", r.criteria, list, "a list")
    for i, c in enumerate(r.criteria):
        if not isinstance(c, CriterionResult):
            raise MalformedOutput(f"criteria[{i}] must be a CriterionResult, got {type(c).__name__}")
        _of_type(f"criteria[{i}].name", c.name, str, "a str")
        _unit(f"criteria[{i}] (`{c.name}`).score", c.score)
        _of_type(f"criteria[{i}] (`{c.name}`).passed", c.passed, bool, "a bool")
        _of_type(f"criteria[{i}] (`{c.name}`).reason", c.reason, str, "a str")
        _turn(f"criteria[{i}] (`{c.name}`)", c.turn, turns)
    _str_list("flags", r.flags)
    if r.failure_mode is not None:
        _of_type("failure_mode", r.failure_mode, str, "a str or None")
    _of_type("suggested_criteria", r.suggested_criteria, list, "a list")
    for i, sc in enumerate(r.suggested_criteria):
        if not isinstance(sc, SuggestedCriterion):
            raise MalformedOutput(f"suggested_criteria[{i}] must be a SuggestedCriterion, got {type(sc).__name__}")
        _of_type(f"suggested_criteria[{i}].kind", sc.kind, str, "a str")
        _of_type(f"suggested_criteria[{i}].reason", sc.reason, str, "a str")
        if not isinstance(_json_data(sc.params, f"suggested_criteria[{i}].params"), dict):
            raise MalformedOutput(f"suggested_criteria[{i}].params must be a JSON object")
    _size(r)


def check_verdict(v: Any, turns: int) -> None:
    """Checks an assertion's verdict as the glue and the host do; raises ``MalformedOutput``."""
    if not isinstance(v, Verdict):
        raise MalformedOutput(f"check must return a Verdict, got {type(v).__name__}")
    _of_type("verdict.passed", v.passed, bool, "a bool")
    _of_type("verdict.reason", v.reason, str, "a str")
    _turn("verdict", v.turn, turns)
    _size(v)


def check_converted(items: Any) -> None:
    """Checks an adapter's output as the glue and the host do (a list of ``Converted``,
    each conversation with an id and finite impact amounts); raises ``MalformedOutput``."""
    _of_type("convert's result", items, list, "a list of Converted")
    for i, x in enumerate(items):
        if not isinstance(x, Converted):
            raise MalformedOutput(f"conversations[{i}] must be a Converted, got {type(x).__name__}")
        if not isinstance(x.conversation, Conversation):
            raise MalformedOutput(f"conversations[{i}].conversation must be a Conversation, got {type(x.conversation).__name__}")
        _str_list(f"conversations[{i}].missing", x.missing)
        c = x.conversation
        if not c.id:
            raise MalformedOutput(f"conversations[{i}]: id is empty")
        for what in ("revenue_at_risk", "refund_amount", "compliance_exposure", "escalation_cost"):
            amount = getattr(c.impact, what)
            if not math.isfinite(float(amount)):
                raise MalformedOutput(f"conversations[{i}]: impact.{what} is {_float_text(float(amount))}")
    _size(items)


# ---- the usual ``run`` functions, one per world ------------------------------------

def scorecard_runner(plugin) -> Callable[[bytes, Any], Any]:
    """``run`` for a scorecard: the input is a conversation, the options are the params;
    the result is checked as the host checks it (``check_scorecard_result``)."""
    def run(data: bytes, options: Any):
        c = Conversation.from_json(data)
        r = plugin.score(c, options)
        check_scorecard_result(r, len(c.turns))
        return r
    return run


def assertion_runner(plugin) -> Callable[[bytes, Any], Any]:
    """``run`` for an assertion: the input is ``{"transcript": ..., "params": ...}``
    (as ``ratchet plugin run`` and the Rust assertion samples take it); the verdict is
    checked as the host checks it (``check_verdict``)."""
    def run(data: bytes, _options: Any):
        v = canonical.loads(data, "sample")
        if not isinstance(v, dict) or "transcript" not in v:
            raise PluginError('an assertion sample is {"transcript": <conversation>, "params": {...}}')
        c = Conversation.from_json_value(v["transcript"], "transcript")
        verdict = plugin.check(c, v.get("params"))
        check_verdict(verdict, len(c.turns))
        return verdict
    return run


def adapter_runner(plugin) -> Callable[[bytes, Any], Any]:
    """``run`` for an adapter: the raw input bytes and the options; the output is
    checked as the host checks it (``check_converted``)."""
    def run(data: bytes, options: Any):
        items = plugin.convert(data, options)
        check_converted(items)
        return items
    return run


def _json_data(value: Any, what: str) -> Any:
    """``value`` as the host receives it (written canonically, read back)."""
    try:
        return canonical.loads(canonical.dumps(value), what)
    except (TypeError, canonical.ParseError) as e:
        raise MalformedOutput(f"{what} is not JSON data: {e}") from None


def run_simulator(plugin, data: bytes, params: Any) -> Any:
    """One simulator sample, in the format ``ratchet plugin run`` takes (the Rust
    SDK's ``testing::run_simulator``): ``{"world": {...}, "request": {"tool",
    "version", "arguments"}}`` answers one call (the output is the ``Simulated`` as
    JSON, or ``None`` when the tool is not modelled) and ``{"observed": [{"request",
    "result", "is_error"}...]}`` seeds a world (the output is the world).

    The sample is read as the host reads it (unknown fields, missing or mistyped
    fields are a ``SampleError`` naming the field), ``params`` ``None`` becomes
    ``{}``, and the output is checked as the host checks it: ``call`` returns a
    ``Simulated`` or ``None``, ``is_error`` is a bool, the world (after a call, or
    seeded) is a JSON object and everything is JSON data (else ``MalformedOutput``).
    The output is what the host would read back."""
    try:
        doc = canonical.loads(data, "sample")
    except canonical.ParseError as e:
        raise SampleError(str(e)) from None
    shapes = 'a simulator sample is {"world": {...}, "request": {"tool", "version", "arguments"}} (answer one call) or {"observed": [...]} (seed a world)'
    if not isinstance(doc, dict):
        raise SampleError(shapes)
    for k in doc:
        if k not in ("world", "request", "observed"):
            raise SampleError(f"unknown field `{k}`: {shapes}")
    # As the host reads them, `null` counts as absent.
    world, request, observed = doc.get("world"), doc.get("request"), doc.get("observed")
    params = {} if params is None else params
    try:
        if world is not None and request is not None and observed is None:
            req = ToolRequest.from_json_value(request, "request")
        elif world is None and request is None and observed is not None:
            if not isinstance(observed, list):
                raise ModelError(f"observed: expected an array, got {_kind(observed)}")
            items = [Observed.from_json_value(o, f"observed[{i}]") for i, o in enumerate(observed)]
        else:
            raise SampleError(shapes)
    except ModelError as e:
        raise SampleError(str(e)) from None

    if observed is None:
        answer = plugin.call(world, req, params)
        if answer is None:
            return None
        if not isinstance(answer, Simulated):
            raise MalformedOutput(f"call must return a Simulated or None, got {type(answer).__name__}")
        if not isinstance(answer.is_error, bool):
            raise MalformedOutput(f"answer.is_error must be a bool, got {type(answer.is_error).__name__}")
        after = _json_data(answer.world, "answer.world")
        if not isinstance(after, dict):
            raise MalformedOutput("answer.world must be a JSON object (the whole world after the call)")
        return {"result": _json_data(answer.result, "answer.result"), "is_error": answer.is_error, "world": after}
    seeded = _json_data(plugin.seed(items, params), "the seeded world")
    if not isinstance(seeded, dict):
        raise MalformedOutput("seed returned a world that is not a JSON object")
    return seeded


def simulator_runner(plugin) -> Callable[[bytes, Any], Any]:
    """``run`` for a simulator: ``run_simulator`` on each sample, the options as params."""
    def run(data: bytes, options: Any):
        return run_simulator(plugin, data, options)
    return run
