"""The component entry: a scorecard whose output depends on module-level state.

``SEEN`` lives as long as the instance. With a fresh instance per conversation every
call reports ``call #1`` and no previous conversation; on a reused instance the count,
the previous id and (params ``{"fail": true}``) the score would depend on what was scored
before, and on how the stream was ordered and split.
"""

from ratchet_sdk import CriterionResult, PluginInfo, ScorecardResult
from ratchet_sdk.component import scorecard

SEEN: list = []


class StateLeak:
    def info(self):
        return PluginInfo("guest-state-leak-py", "0.1.0", "reports how many conversations this instance scored")

    def score(self, conversation, params):
        SEEN.append(conversation.id)
        reason = f"call #{len(SEEN)}; previous: {SEEN[-2] if len(SEEN) > 1 else 'none'}"
        if isinstance(params, dict) and params.get("fail") is True:
            return ScorecardResult.from_criteria([CriterionResult.fail("call-count", reason)])
        return ScorecardResult.from_criteria([CriterionResult.ok("call-count", reason)])


Scorer = scorecard(StateLeak())
