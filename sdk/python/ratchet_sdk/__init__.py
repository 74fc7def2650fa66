"""ratchet-sdk for Python: write ratchet plugins (scorecards, assertions, adapters,
tool simulators) in Python and build them into WebAssembly components with componentize-py.

A plugin is an object with ``info()`` and one method per world:

=========== ===================================== ============================== ==========================
kind        implement                             export in ``app.py`` with      used by
=========== ===================================== ============================== ==========================
scorecard   ``score(conversation, params)``       ``Scorer = scorecard(p)``      ``ratchet detect``
assertion   ``check(transcript, params)``         ``Asserter = assertion(p)``    ``ratchet gate``
adapter     ``convert(data, options)``            ``Converter = adapter(p)``     ``ratchet detect``
simulator   ``seed(observed, params)``,           ``Simulation = simulator(p)``  ``ratchet gate``,
            ``call(world, request, params)``                                     ``ratchet regenerate``
=========== ===================================== ============================== ==========================

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
from typing import Any, Optional

from ._log import log
from .canonical import dumps as canonical_json, dumps_pretty as canonical_json_pretty, format_float
from .errors import PluginError
from .model import (CHANNELS, ROLES, SCHEMA_VERSION, AgentState, Conversation, Impact, MemoryEntry, MemorySource, ModelError, Outcome,
                    RoutingContext, StateFact, ToolCall, ToolRef, ToolResult, ToolResultSource, Turn, truthy, value_text)
from .params import Params, kind_of
from .results import Converted, CriterionResult, PluginInfo, ScorecardResult, SuggestedCriterion, Verdict
from .simulator import Observed, Simulated, ToolRequest

__version__ = "0.1.0"

__all__ = [
    "Scorecard", "Assertion", "Adapter", "Simulator", "PluginError", "log",
    "Conversation", "Turn", "ToolCall", "ToolResult", "MemoryEntry", "ToolRef", "RoutingContext", "AgentState", "Outcome", "Impact",
    "StateFact", "ToolResultSource", "MemorySource", "ModelError", "truthy", "value_text", "SCHEMA_VERSION", "ROLES", "CHANNELS",
    "Params", "kind_of",
    "PluginInfo", "CriterionResult", "SuggestedCriterion", "ScorecardResult", "Verdict", "Converted",
    "ToolRequest", "Observed", "Simulated",
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


class Simulator(ABC):
    """A tool simulator (world ``simulator``, since WIT 0.1.2): answers an agent's tool
    calls from a world state during ``ratchet gate`` replay, and reconstructs that
    world from a recorded conversation's calls at ``ratchet regenerate``. See
    ``ratchet_sdk.simulator``.

        class Counter(Simulator):
            def info(self):
                return PluginInfo("counter", "0.1.0", "A counter the agent can read and bump")

            def seed(self, observed, params):
                # The first successful read tells the starting value.
                first = next((o for o in observed if o.request.tool == "read" and not o.is_error), None)
                return {"count": first.result["count"] if first else 0}

            def call(self, world, request, params):
                if request.tool == "read":
                    return Simulated.ok({"count": world["count"]}, world)
                if request.tool == "bump":
                    return Simulated.ok({"ok": True}, {"count": world["count"] + 1})
                return None  # not modelled: the gate applies its missing-fixture policy
    """

    @abstractmethod
    def info(self) -> PluginInfo:
        """Name, version and description of the simulator."""

    @abstractmethod
    def seed(self, observed: list, params: Any) -> Any:
        """The world before the conversation (a dict), reconstructed from every call
        it made and every result it got, in order (a list of ``Observed``).
        ``params`` is the simulator's JSON object from ``ratchet.toml`` (``{}`` when
        none). Raise ``PluginError`` when it cannot seed."""

    @abstractmethod
    def call(self, world: Any, request: ToolRequest, params: Any) -> Optional[Simulated]:
        """Answers ``request`` in ``world`` and returns the world after it (a
        ``Simulated``), or ``None`` when this simulator does not model the tool.
        Raise ``PluginError`` when it cannot answer at all (a broken world): the
        scenario's verdict is then ``error``."""
