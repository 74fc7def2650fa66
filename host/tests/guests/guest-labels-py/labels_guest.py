"""The scorecard: flags ``label:KEY=VALUE`` for every label it was given, fails
when the label ``verdict`` is ``bad``, failure mode from the label ``failure_mode``
(the Rust twin's rules, host/tests/guests/guest-labels)."""

from typing import Any

from ratchet_sdk import Conversation, CriterionResult, PluginInfo, Scorecard, ScorecardResult


class Labels(Scorecard):
    def info(self) -> PluginInfo:
        return PluginInfo("guest-labels-py", "0.1.0", "reports the labels it was given")

    def score(self, c: Conversation, params: Any) -> ScorecardResult:
        if c.labels.get("verdict") == "bad":
            check = CriterionResult.fail("label-verdict", "the conversation is labelled verdict=bad")
        else:
            check = CriterionResult.ok("label-verdict", "no verdict=bad label")
        r = ScorecardResult.from_criteria([check])
        r.flags = [f"label:{k}={v}" for k, v in sorted(c.labels.items())]
        if r.score < 1.0:
            r.failure_mode = c.labels.get("failure_mode", "labelled-bad")
        return r
