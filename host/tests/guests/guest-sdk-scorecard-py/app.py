"""The component entry: guest-bare-scorecard-py's answer, through the SDK."""

from ratchet_sdk import CriterionResult, PluginInfo, ScorecardResult
from ratchet_sdk.component import scorecard


class Turns:
    def info(self):
        return PluginInfo("guest-sdk-scorecard-py", "0.1.0", "counts turns; the SDK, no logic")

    def score(self, conversation, params):
        return ScorecardResult.from_criteria([CriterionResult.ok("turns", f"{len(conversation.turns)} turns")])


Scorer = scorecard(Turns())
