"""%%NAME%%: a ratchet scorecard. Two criteria, each pointing at the turn it is about:

* ``greets-customer`` fails when the agent's first reply has none of the
  ``greetings`` (whole words, any case);
* ``answers-every-customer-turn`` fails when a customer turn gets no agent reply
  (an agent turn with text) before the customer speaks again or the conversation ends.

Score = the mean of the two; the failure mode is the first failing criterion.
Params: ``greetings`` (list of phrases, default hello / hi / welcome / good morning).
"""

from ratchet_sdk import CriterionResult, Params, PluginInfo, Scorecard, ScorecardResult
from ratchet_sdk.text import find_any_word_ci


class %%TYPE%%(Scorecard):
    def info(self):
        return PluginInfo("%%NAME%%", "0.1.0", "Greets the customer and answers every customer turn")

    def score(self, conversation, params):
        p = Params(params)
        p.deny_unknown(["greetings"])
        greetings = p.str_list("greetings", ["hello", "hi", "welcome", "good morning"])

        first = next((t for t in conversation.agent_turns() if t.text), None)
        if first is None:
            greets = CriterionResult.fail("greets-customer", "the agent never replied")
        else:
            g = find_any_word_ci(first.text, greetings)
            if g is not None:
                greets = CriterionResult.ok("greets-customer", f"turn {first.index} greets the customer (\"{g}\")")
            else:
                greets = CriterionResult.fail("greets-customer", f"the agent's first reply (turn {first.index}) has no greeting", first.index)

        # A customer turn is answered when an agent turn with text follows it
        # before the next customer turn.
        pending = unanswered = None
        asked = 0
        for t in conversation.turns:
            if t.role == "customer":
                if pending is not None and unanswered is None:
                    unanswered = pending
                pending = t.index
                asked += 1
            elif t.role == "agent" and t.text:
                pending = None
        if unanswered is None:
            unanswered = pending
        if unanswered is not None:
            answers = CriterionResult.fail("answers-every-customer-turn", f"customer turn {unanswered} got no reply", unanswered)
        else:
            answers = CriterionResult.ok("answers-every-customer-turn", f"{asked} customer turn(s), each answered")

        result = ScorecardResult.from_criteria([greets, answers])
        failing = result.first_failure()
        result.failure_mode = failing.name if failing else None
        return result
