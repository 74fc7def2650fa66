"""The component entry: the WIT records componentize-py's bindings lift, answered with
one fixed-shape result, without the SDK. What it costs per call is the floor of every
Python plugin (bindings, interpreter entry, restore), measured by the bench."""

from wit_world import exports
from wit_world.exports import scorer
from wit_world.imports import types


class Scorer(exports.Scorer):
    def info(self):
        return types.PluginInfo(name="guest-bare-scorecard-py", version="0.1.0", description="counts turns; no SDK")

    def score(self, conversation, params):
        reason = f"{len(conversation.turns)} turns"
        return scorer.ScorecardResult(
            score=1.0,
            criteria=[scorer.CriterionResult(name="turns", score=1.0, passed=True, reason=reason, turn=None)],
            flags=[],
            failure_mode=None,
            suggested_criteria=[],
        )
