"""Canonical JSON, byte-identical to the Rust SDK's (``sdk/rust/src/json.rs``).

Object keys sorted (by UTF-8 bytes), no insignificant whitespace, strings escaped
as ``serde_json`` escapes them, and floats written as ``serde_json`` writes an
``f64`` (``1.0``, ``0.75``, ``1e-7``, ``1.5e+16``): a plugin's output is the same
bytes whatever language it was written in.

Python ``int`` values are written as integers, ``float`` values always as floats
(``1.0``, never ``1``), ``bool`` as ``true``/``false``, ``None`` as ``null``.
Non-finite floats become ``null`` (as ``serde_json`` does). Objects with a
``to_json_value()`` method (the SDK's model and result types) are written as
what that method returns.
"""

from __future__ import annotations

import json as _json
import math
from typing import Any

__all__ = ["canonical", "dumps", "dumps_pretty", "format_float", "loads", "ParseError"]


class ParseError(ValueError):
    """JSON text that could not be parsed; the message names the field."""


def format_float(x: float) -> str:
    """Formats ``x`` exactly as ``serde_json`` formats an ``f64``.

    The digits are the shortest that round-trip (``repr`` computes the same
    ones); only the layout differs from Python's: decimal notation for
    ``1e-5 <= |x| < 1e16`` (``100.0``, ``0.00001``), else ``1e-7``, ``1.5e+16`` (Python
    writes ``1e-07``, ``1.5e+16``). ``sdk/conformance/cases.json`` pins it down.
    """
    if not math.isfinite(x):
        return "null"
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    r = repr(abs(x))
    if "e" in r:
        mant, exp = r.split("e")
        e = int(exp)
    else:
        mant, e = r, 0
    if "." in mant:
        ip, fp = mant.split(".")
    else:
        ip, fp = mant, ""
    digits = (ip + fp).lstrip("0")
    k = e - len(fp)  # value = int(digits) * 10**k
    stripped = digits.rstrip("0")
    k += len(digits) - len(stripped)
    digits = stripped
    length = len(digits)
    kk = length + k  # 10**(kk-1) <= value < 10**kk
    if 0 <= k and kk <= 16:
        out = digits + "0" * k + ".0"
    elif 0 < kk <= 16:
        out = digits[:kk] + "." + digits[kk:]
    elif -5 < kk <= 0:
        out = "0." + "0" * (-kk) + digits
    else:
        exp = kk - 1
        mantissa = digits if length == 1 else digits[0] + "." + digits[1:]
        out = mantissa + ("e+" if exp > 0 else "e") + str(exp)
    return sign + out


def _string(s: str) -> str:
    # serde_json escapes `"`, `\`, and control characters (\b \f \n \r \t, else
    # \u00xx with lower-case hex); everything else is written as is. So does
    # the json module with ensure_ascii=False.
    return _json.dumps(s, ensure_ascii=False)


def canonical(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, str, int, float, bool, None),
    with SDK objects converted through ``to_json_value()``. Raises ``TypeError``
    on anything else."""
    if hasattr(value, "to_json_value"):
        return canonical(value.to_json_value())
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"JSON object keys must be strings, got {type(k).__name__}")
            out[k] = canonical(v)
        return out
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _sorted_items(d: dict) -> list:
    # Rust sorts keys by their UTF-8 bytes; Python's str order is by code point,
    # which is the same order (UTF-8 preserves code point order).
    return sorted(d.items(), key=lambda kv: kv[0])


def _write(value: Any, out: list, indent: str | None, level: int) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(format_float(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        out.append("{")
        first = True
        for k, v in _sorted_items(value):
            if not first:
                out.append(",")
            first = False
            if indent is not None:
                out.append("\n" + indent * (level + 1))
            out.append(_string(k))
            out.append(": " if indent is not None else ":")
            _write(v, out, indent, level + 1)
        if indent is not None:
            out.append("\n" + indent * level)
        out.append("}")
    elif isinstance(value, list):
        if not value:
            out.append("[]")
            return
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(",")
            if indent is not None:
                out.append("\n" + indent * (level + 1))
            _write(v, out, indent, level + 1)
        if indent is not None:
            out.append("\n" + indent * level)
        out.append("]")
    else:  # pragma: no cover - canonical() rejects everything else
        raise TypeError(f"{type(value).__name__} is not JSON data")


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def dumps(value: Any) -> str:
    """Canonical compact JSON text of ``value``: what the SDK sends to the host."""
    plain = canonical(value)
    if not _has_float(plain):
        # Without floats the json module's C encoder writes the same bytes (keys in
        # code-point order, strings escaped as `_string` does), several times faster.
        return _json.dumps(plain, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    out: list = []
    _write(plain, out, None, 0)
    return "".join(out)


def dumps_pretty(value: Any) -> str:
    """Canonical pretty JSON (sorted keys, two-space indent, trailing newline):
    the format of the ``.expected.json`` golden files."""
    out: list = []
    _write(canonical(value), out, "  ", 0)
    out.append("\n")
    return "".join(out)


_I64_MIN = -(1 << 63)
_U64_END = 1 << 64


def _serde_int(token: str) -> Any:
    # serde_json reads an integer literal as u64/i64 when it fits, else (and `-0`) as an f64.
    if token == "-0":
        return -0.0
    i = int(token)
    return i if _I64_MIN <= i < _U64_END else float(token)


def loads(text: str | bytes, what: str = "input") -> Any:
    """Parses JSON text, naming ``what`` (e.g. ``params``) in the error.

    Like ``serde_json``: integers stay integers (those beyond u64/i64, and ``-0``,
    become floats, as there), numbers with a fraction or exponent are floats,
    ``NaN``/``Infinity`` are refused, and a repeated key keeps its last value.
    """
    try:
        return _parse_json(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise ParseError(f"invalid JSON in {what}: {e}") from None


def _refuse(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


# One decoder for every call: `json.loads` with hooks builds a new one each time,
# which was a third of the cost of reading a conversation inside a component.
_DECODER = _json.JSONDecoder(parse_constant=_refuse, parse_int=_serde_int)


def _parse_json(text: str | bytes) -> Any:
    """``json.loads(text)`` with ``loads``' number rules; errors as ``json.loads`` raises them."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode(_json.detect_encoding(text), "surrogatepass")
    elif not isinstance(text, str):
        raise TypeError(f"the JSON object must be str, bytes or bytearray, not {type(text).__name__}")
    if text.startswith("\ufeff"):
        # json.loads refuses a byte-order mark in a str the same way.
        raise _json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _DECODER.decode(text)
