"""What plugins return: scorecard results, verdicts, converted conversations and
plugin info, with the JSON shapes of the Rust SDK's ``results`` module (so golden
tests compare them with the same ``.expected.json`` files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .model import Conversation

__all__ = ["PluginInfo", "CriterionResult", "SuggestedCriterion", "ScorecardResult", "Verdict", "Converted"]


@dataclass
class PluginInfo:
    """What a plugin says about itself; ratchet shows it in listings and reports."""

    #: Short machine name, e.g. ``policy-keywords``.
    name: str
    #: The plugin's own version.
    version: str
    #: One line for humans.
    description: str

    def to_json_value(self) -> dict:
        return {"name": self.name, "version": self.version, "description": self.description}


@dataclass
class CriterionResult:
    """One named check inside a scorecard."""

    name: str
    #: In [0, 1].
    score: float
    passed: bool
    reason: str = ""
    #: The turn the result points at, when there is one.
    turn: Optional[int] = None

    @classmethod
    def ok(cls, name: str, reason: str) -> "CriterionResult":
        """A passing criterion (score 1): Rust's ``CriterionResult::pass``."""
        return cls(name=name, score=1.0, passed=True, reason=reason)

    @classmethod
    def fail(cls, name: str, reason: str, turn: Optional[int] = None) -> "CriterionResult":
        """A failing criterion (score 0) pointing at ``turn``."""
        return cls(name=name, score=0.0, passed=False, reason=reason, turn=turn)

    def to_json_value(self) -> dict:
        out: dict = {"name": self.name, "score": float(self.score), "passed": bool(self.passed), "reason": self.reason}
        if self.turn is not None:
            out["turn"] = self.turn
        return out


@dataclass
class SuggestedCriterion:
    """A scenario criterion a scorecard proposes for ``ratchet regenerate``, in the
    built-in kinds the gate implements (``must-not-call-tool``, ``must-say``, ...)."""

    kind: str
    #: The criterion's parameters, a dict.
    params: Any = field(default_factory=dict)
    #: Why: shown as a comment in the scenario file.
    reason: str = ""

    def to_json_value(self) -> dict:
        return {"kind": self.kind, "params": self.params, "reason": self.reason}


@dataclass
class ScorecardResult:
    """What a scorecard returns for one conversation."""

    #: Overall score in [0, 1]; the host compares it with a threshold.
    score: float
    criteria: list = field(default_factory=list)
    #: Named flags, e.g. ``compliance:unauthorised-refund``.
    flags: list = field(default_factory=list)
    #: The failure-mode cluster this conversation belongs to, if failing.
    failure_mode: Optional[str] = None
    suggested_criteria: list = field(default_factory=list)

    @classmethod
    def from_criteria(cls, criteria: list) -> "ScorecardResult":
        """A result whose score is the mean of the criteria scores (1.0 when there
        are none). Flags, failure mode and suggestions start empty."""
        if not criteria:
            return cls(score=1.0, criteria=list(criteria))
        total = 0.0
        for c in criteria:  # left to right, like Rust's `sum`
            total += float(c.score)
        return cls(score=total / len(criteria), criteria=list(criteria))

    @classmethod
    def from_weighted_criteria(cls, criteria: list, weights: list) -> "ScorecardResult":
        """The weighted mean (missing weights count as 1, negative ones as 0;
        all-zero weights give 1.0)."""
        total = 0.0
        acc = 0.0
        for i, c in enumerate(criteria):
            w = max(float(weights[i]) if i < len(weights) else 1.0, 0.0)
            total += w
            acc += w * float(c.score)
        r = cls.from_criteria(criteria)
        r.score = acc / total if total > 0.0 else 1.0
        return r

    def all_passed(self) -> bool:
        """True when every criterion passed."""
        return all(c.passed for c in self.criteria)

    def first_failure(self) -> Optional[CriterionResult]:
        """The first failing criterion, if any."""
        return next((c for c in self.criteria if not c.passed), None)

    def to_json_value(self) -> dict:
        out: dict = {
            "score": float(self.score),
            "criteria": [c.to_json_value() for c in self.criteria],
            "flags": list(self.flags),
            "suggested_criteria": [s.to_json_value() for s in self.suggested_criteria],
        }
        if self.failure_mode is not None:
            out["failure_mode"] = self.failure_mode
        return out


@dataclass
class Verdict:
    """What an assertion returns for one replayed transcript."""

    passed: bool
    reason: str = ""
    #: The turn the verdict points at, when there is one.
    turn: Optional[int] = None

    @classmethod
    def ok(cls, reason: str) -> "Verdict":
        """A passing verdict: Rust's ``Verdict::pass``."""
        return cls(passed=True, reason=reason)

    @classmethod
    def fail(cls, reason: str, turn: Optional[int] = None) -> "Verdict":
        """A failing verdict pointing at ``turn``."""
        return cls(passed=False, reason=reason, turn=turn)

    def to_json_value(self) -> dict:
        out: dict = {"passed": bool(self.passed), "reason": self.reason}
        if self.turn is not None:
            out["turn"] = self.turn
        return out


@dataclass
class Converted:
    """One conversation produced by an adapter, plus what the source lacked."""

    conversation: Conversation
    #: Canonical fields the source format did not carry (e.g. ``state.kb_version_hash``).
    missing: list = field(default_factory=list)

    def to_json_value(self) -> dict:
        return {"conversation": self.conversation.to_json_value(), "missing": list(self.missing)}
