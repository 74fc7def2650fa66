"""ratchet-sdk for Python: write ratchet plugins (scorecards, assertions, adapters)
in Python and build them into WebAssembly components with componentize-py.

A plugin is an object with ``info()`` and one method per world:

=========== ================================= ============================== ==================
kind        implement                         export in ``app.py`` with      used by
=========== ================================= ============================== ==================
scorecard   ``score(conversation, params)``   ``Scorer = scorecard(p)``      ``ratchet detect``
assertion   ``check(transcript, params)``     ``Asserter = assertion(p)``    ``ratchet gate``
adapter     ``convert(data, options)``        ``Converter = adapter(p)``     ``ratchet detect``
=========== ================================= ============================== ==================

(the export helpers are in ``ratchet_sdk.component``). The model and results mirror
the Rust SDK one to one, and every JSON the SDK writes is canonical and byte-identical
to the Rust SDK's, so a port gives the same output bytes as the Rust original.

    from ratchet_sdk import CriterionResult, PluginInfo, Scorecard, ScorecardResult
    from ratchet_sdk.text import contains_any_ci

    class Polite(Scorecard):
        def info(self):
            return PluginInfo("polite", "0.1.0", "Agent says please")

        def score(self, conversation, params):
            ok = any(contains_any_ci(t.text, ["please"]) for t in conversation.agent_turns())
            return ScorecardResult.from_criteria([
                CriterionResult.ok("says-please", "the agent said please") if ok
                else CriterionResult.fail("says-please", "the agent never said please")])

Raise ``PluginError(message)`` when the plugin cannot do its job (bad params): the
host gets ``message`` as the call's error, like a Rust plugin's ``Err(String)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ._log import log
from .canonical import dumps as canonical_json, dumps_pretty as canonical_json_pretty, format_float
from .errors import PluginError
from .model import (CHANNELS, ROLES, SCHEMA_VERSION, AgentState, Conversation, Impact, MemoryEntry, MemorySource, ModelError, Outcome,
                    RoutingContext, StateFact, ToolCall, ToolRef, ToolResult, ToolResultSource, Turn, truthy, value_text)
from .params import Params, kind_of
from .results import Converted, CriterionResult, PluginInfo, ScorecardResult, SuggestedCriterion, Verdict

__version__ = "0.1.0"

__all__ = [
    "Scorecard", "Assertion", "Adapter", "PluginError", "log",
    "Conversation", "Turn", "ToolCall", "ToolResult", "MemoryEntry", "ToolRef", "RoutingContext", "AgentState", "Outcome", "Impact",
    "StateFact", "ToolResultSource", "MemorySource", "ModelError", "truthy", "value_text", "SCHEMA_VERSION", "ROLES", "CHANNELS",
    "Params", "kind_of",
    "PluginInfo", "CriterionResult", "SuggestedCriterion", "ScorecardResult", "Verdict", "Converted",
    "canonical_json", "canonical_json_pretty", "format_float",
]


class Scorecard(ABC):
    """A scorecard: scores one conversation (``ratchet detect``)."""

    @abstractmethod
    def info(self) -> PluginInfo:
        """Name, version and description of the plugin."""

    @abstractmethod
    def score(self, conversation: Conversation, params: Any) -> ScorecardResult:
        """Scores ``conversation``; ``params`` is the JSON object configured in
        ``ratchet.toml`` (``None`` when none). Raise ``PluginError`` when it cannot
        score (bad params), which is not a low score."""


class Assertion(ABC):
    """An assertion: pass/fail for one replayed transcript (criterion ``kind = "plugin"``)."""

    @abstractmethod
    def info(self) -> PluginInfo:
        """Name, version and description of the plugin."""

    @abstractmethod
    def check(self, transcript: Conversation, params: Any) -> Verdict:
        """Checks ``transcript``; ``params`` is the criterion's parameters from the
        scenario file. Raise ``PluginError`` when the check cannot run."""


class Adapter(ABC):
    """An adapter: turns a vendor's export into canonical conversations."""

    @abstractmethod
    def info(self) -> PluginInfo:
        """Name, version and description of the plugin."""

    @abstractmethod
    def convert(self, data: bytes, options: Any) -> list:
        """Converts ``data`` (one file, or one line of a JSONL stream) into a list of
        ``Converted``; ``options`` is the adapter's JSON object from ``ratchet.toml``.
        Fields the source lacks go in ``Converted.missing``, never invented."""
