"""Tool simulators (world ``simulator``, since WIT 0.1.2): answer an agent's tool
calls from a model of the world the conversation ran in, so a replay can let a
correct agent take another path than the failing run (an extra lookup, the right
mutation with other arguments) while outcome criteria check where the agent left
the world. The Rust SDK's ``simulator`` module, one to one.

A simulator is two pure functions over JSON, unit-testable natively:
``Simulator.seed(observed, params)`` reconstructs the world before the
conversation from what it observed (every recorded call and result), and
``Simulator.call(world, request, params)`` answers one call in a world and returns
the world after it (a ``Simulated``), or ``None`` when the tool is not modelled.
Nothing persists between calls: the host passes the whole world in and keeps
what comes back.

Worlds, arguments and results are plain JSON data (dicts, lists, str, int, float,
bool, None), as ``json.loads`` gives them: a ``49.0`` stays a float and is written
back as ``49.0``, as the Rust SDK writes it. Never change the ``world`` passed in
(the host does not see it, but a native test reusing it would): copy it
(``copy.deepcopy``) and change the copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .model import ModelError, _kind

__all__ = ["ToolRequest", "Observed", "Simulated"]


def _object(v: Any, where: str) -> dict:
    if not isinstance(v, dict):
        raise ModelError(f"{where}: expected an object, got {_kind(v)}")
    return v


def _deny_unknown(d: dict, known: tuple, where: str) -> None:
    for k in d:
        if k not in known:
            raise ModelError(f"{where}: unknown field `{k}`, expected one of {', '.join('`' + x + '`' for x in known)}")


def _required(d: dict, key: str, where: str) -> Any:
    if key not in d:
        raise ModelError(f"{where}: missing field `{key}`")
    return d[key]


def _string(v: Any, where: str) -> str:
    # As the host reads it (serde): `null` is not a string.
    if not isinstance(v, str):
        raise ModelError(f"{where}: expected a string, got {_kind(v)}")
    return v


@dataclass
class ToolRequest:
    """One tool call as the agent made it."""

    #: Tool name as the agent calls it.
    tool: str
    #: Arguments, a JSON object (a dict).
    arguments: Any
    #: The tool's version (from the call, else the scenario's registry; may be empty).
    version: str = ""

    def arg_str(self, key: str) -> Optional[str]:
        """The string argument ``key``, if present (``None`` when it is missing or not a string)."""
        v = self.arguments.get(key) if isinstance(self.arguments, dict) else None
        return v if isinstance(v, str) else None

    @classmethod
    def from_json_value(cls, v: Any, where: str = "request") -> "ToolRequest":
        """Reads ``{"tool", "version"?, "arguments"}`` as the host does: unknown fields,
        a missing ``tool`` or ``arguments`` and wrong types are ``ModelError`` naming the field."""
        d = _object(v, where)
        _deny_unknown(d, ("tool", "version", "arguments"), where)
        tool = _string(_required(d, "tool", where), f"{where}.tool")
        version = _string(d["version"], f"{where}.version") if "version" in d else ""
        return cls(tool=tool, arguments=_required(d, "arguments", where), version=version)

    def to_json_value(self) -> dict:
        """``{"tool", "version", "arguments"}``, as ``ratchet plugin run`` takes it."""
        return {"tool": self.tool, "version": self.version, "arguments": self.arguments}


@dataclass
class Observed:
    """A call the recorded conversation made, with what it returned."""

    #: The call.
    request: ToolRequest
    #: The recorded result, any JSON value.
    result: Any
    #: True when the tool reported an error.
    is_error: bool = False

    @classmethod
    def from_json_value(cls, v: Any, where: str = "observed") -> "Observed":
        """Reads ``{"request", "result", "is_error"?}`` as the host does (``ModelError`` naming the field)."""
        d = _object(v, where)
        _deny_unknown(d, ("request", "result", "is_error"), where)
        request = ToolRequest.from_json_value(_required(d, "request", where), f"{where}.request")
        result = _required(d, "result", where)
        is_error = d.get("is_error", False)
        if not isinstance(is_error, bool):
            raise ModelError(f"{where}.is_error: expected a boolean, got {_kind(is_error)}")
        return cls(request=request, result=result, is_error=is_error)

    def to_json_value(self) -> dict:
        """``{"request", "result", "is_error"}``, as ``ratchet plugin run`` takes it."""
        return {"request": self.request.to_json_value(), "result": self.result, "is_error": self.is_error}


@dataclass
class Simulated:
    """A simulator's answer to one call: the tool's result and the whole world after it."""

    #: The tool's result, any JSON value.
    result: Any
    #: True when the tool reports an error (a rejected call should change nothing).
    is_error: bool
    #: The whole world after the call: a dict (unchanged for reads).
    world: Any

    @classmethod
    def ok(cls, result: Any, world: Any) -> "Simulated":
        """A successful result; ``world`` is the world after the call."""
        return cls(result=result, is_error=False, world=world)

    @classmethod
    def error(cls, result: Any, world: Any) -> "Simulated":
        """An error result; the world is unchanged (pass it back as it came)."""
        return cls(result=result, is_error=True, world=world)

    def to_json_value(self) -> dict:
        """``{"is_error", "result", "world"}``: what ``ratchet plugin run`` prints."""
        return {"result": self.result, "is_error": bool(self.is_error), "world": self.world}
