"""``log(level, message)``: a log line for the plugin author. Inside a component it
goes to the host (which keeps a bounded number of lines per call and shows them in
``ratchet plugin run``); natively (unit tests) it is written to stderr."""

from __future__ import annotations

import sys
from typing import Callable

__all__ = ["log", "set_backend", "LEVELS"]

#: The levels the host knows.
LEVELS = ("debug", "info", "warn", "error")


def _stderr(level: str, message: str) -> None:
    print(f"[plugin {level}] {message}", file=sys.stderr)


_backend: Callable[[str, str], None] = _stderr


def set_backend(backend: Callable[[str, str], None]) -> Callable[[str, str], None]:
    """Where ``log`` writes (the component glue points it at the host); returns the
    previous backend."""
    global _backend
    previous, _backend = _backend, backend
    return previous


def log(level: str, message: str) -> None:
    """Logs ``message`` at ``level`` (``debug``, ``info``, ``warn`` or ``error``)."""
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r}, expected one of {', '.join(LEVELS)}")
    _backend(level, str(message))
