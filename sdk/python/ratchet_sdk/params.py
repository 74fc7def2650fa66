"""Typed access to a plugin's JSON parameters with defaults and the Rust SDK's
error messages (so a misconfigured plugin says the same thing in every language)."""

from __future__ import annotations

from typing import Any, Optional

from . import canonical as _canonical
from .errors import PluginError

__all__ = ["Params", "kind_of"]

_U64_MAX = (1 << 64) - 1


def kind_of(v: Any) -> str:
    """The JSON type name of ``v``, for error messages (``a string``, ``an array``...)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


class Params:
    """A view of a plugin's ``params`` object. ``None`` (JSON ``null``) counts as an
    empty object. Every accessor raises ``PluginError`` with a precise message."""

    def __init__(self, params: Any):
        if params is None:
            self._map: Optional[dict] = None
        elif isinstance(params, dict):
            self._map = params
        else:
            raise PluginError(f"params must be a JSON object, got {kind_of(params)}")

    def deny_unknown(self, known: list) -> None:
        """Errors on any key not in ``known``: a misspelt parameter must not be
        silently ignored. Keys are checked in the object's key order."""
        if self._map is None:
            return
        for k in _keys(self._map):
            if k not in known:
                raise PluginError(f"unknown param `{k}`, expected one of {', '.join('`' + x + '`' for x in known)}")

    def get(self, key: str) -> Any:
        """The raw value of ``key``, if present and not ``null`` (else ``None``)."""
        if self._map is None:
            return None
        return self._map.get(key)

    def str(self, key: str, default: str) -> str:
        """A string parameter, or ``default`` when absent."""
        v = self.get(key)
        if v is None:
            return default
        if isinstance(v, str):
            return v
        raise PluginError(f"param `{key}` must be a string, got {kind_of(v)}")

    def str_list(self, key: str, default: list) -> list:
        """A list-of-strings parameter, or ``default`` when absent. A single string
        is accepted as a one-element list."""
        v = self.get(key)
        if v is None:
            return list(default)
        if isinstance(v, str):
            return [v]
        if isinstance(v, list):
            out = []
            for i, item in enumerate(v):
                if not isinstance(item, str):
                    raise PluginError(f"param `{key}[{i}]` must be a string, got {kind_of(item)}")
                out.append(item)
            return out
        raise PluginError(f"param `{key}` must be a list of strings, got {kind_of(v)}")

    def u64(self, key: str, default: int) -> int:
        """A non-negative integer parameter, or ``default`` when absent."""
        v = self.get(key)
        if v is None:
            return default
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= _U64_MAX:
            return v
        raise PluginError(f"param `{key}` must be a non-negative integer, got {_canonical.dumps(v)}")

    def bool(self, key: str, default: bool) -> bool:
        """A boolean parameter, or ``default`` when absent."""
        v = self.get(key)
        if v is None:
            return default
        if isinstance(v, bool):
            return v
        raise PluginError(f"param `{key}` must be true or false, got {_canonical.dumps(v)}")

    def f64(self, key: str, default: float) -> float:
        """A number parameter, or ``default`` when absent."""
        v = self.get(key)
        if v is None:
            return default
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        raise PluginError(f"param `{key}` must be a number, got {_canonical.dumps(v)}")


def _keys(m: dict) -> list:
    # The host sends canonical JSON (keys sorted) and the Rust SDK reads objects
    # into a sorted map: report the first unknown key in sorted order, as it does.
    return sorted(m)
