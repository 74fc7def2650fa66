"""assertion-llm-rubric, in Python: a port of ``plugins/assertion-llm-rubric`` (Rust).

A ratchet assertion (scenario criterion of kind ``plugin``) decided by a language
model: the judge reads the replayed transcript and answers one yes/no ``question``
whose "yes" means the agent behaved correctly ("Before cancelling, did the agent
state the cancellation policy?").

The model is reached through the host's ``ratchet:plugin/model`` import, so the
plugin needs ``grant_model = true`` in its ``[plugins.NAME]`` entry. Every answer
is recorded under the sha256 of the exact request; ``ratchet gate`` replays the
recording. The request is byte for byte the Rust original's (same system prompt,
same user message, same transcript rendering, ``max_tokens`` 300, temperature 0,
the same schema), so the two plugins share their recordings: either one can
replace the other in a scenario without re-recording anything.

=============  ========  ====================================================
param          required  meaning
=============  ========  ====================================================
``question``   yes       a yes/no question; "yes" = pass
``guidance``   no        grading notes for the judge (what counts, what does not)
``model``      no        a model id instead of the ``[model]`` default
=============  ========  ====================================================

The verdict's reason is the judge's own sentence, prefixed ``judge:``; its turn is
the turn the judge named, when that turn exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ratchet_sdk import Assertion, Params, PluginError, PluginInfo, Verdict, judge
from ratchet_sdk.judge import Request
from ratchet_sdk.text import trim

#: The judge's instructions (part of every request, so part of every recording key):
#: the Rust original's ``SYSTEM_PROMPT``, byte for byte.
SYSTEM_PROMPT = (
    "You are a meticulous quality reviewer of a customer-support AI agent. "
    "You are given the transcript of one conversation (turn indices in brackets; AGENT lines are the agent's replies and tool calls, "
    "TOOL lines are tool results) and one yes/no question about the agent's behaviour. Judge only from the transcript, strictly: "
    "if the transcript does not show the behaviour, the answer is \"no\". Answer with JSON: "
    "{\"answer\": \"yes\" or \"no\", \"reason\": one sentence citing what the agent said or did, \"turn\": the index of the deciding turn or null}."
)

#: Most completion tokens asked for.
MAX_TOKENS = 300


@dataclass
class Config:
    """What the judge is asked, read from params."""

    #: The yes/no question ("yes" passes), trimmed.
    question: str
    #: Optional grading notes (as given).
    guidance: Optional[str] = None
    #: Optional model id (as given).
    model: Optional[str] = None

    @classmethod
    def from_params(cls, params: Any) -> "Config":
        """Reads ``params``; ``question`` is required. Errors are the Rust original's."""
        p = Params(params)
        p.deny_unknown(["question", "guidance", "model"])
        question = p.str("question", "")
        if not trim(question):
            raise PluginError("param `question` is required: a yes/no question whose \"yes\" means the agent behaved correctly")

        def opt(key: str) -> Optional[str]:
            v = p.str(key, "")
            return v if trim(v) else None

        return cls(question=trim(question), guidance=opt("guidance"), model=opt("model"))

    def request(self, transcript: Any) -> Request:
        """The request for ``transcript``."""
        user = f"QUESTION: {self.question}\n"
        if self.guidance is not None:
            user += f"GRADING NOTES: {self.guidance}\n"
        user += "\nTRANSCRIPT:\n"
        user += judge.render_transcript(transcript)
        r = Request().system(SYSTEM_PROMPT).user(user).with_max_tokens(MAX_TOKENS).schema(judge.yes_no_schema())
        if self.model is not None:
            r = r.with_model(self.model)
        return r


class LlmRubric(Assertion):
    """The plugin (all state is in the arguments)."""

    def info(self) -> PluginInfo:
        return PluginInfo("llm-rubric-py", "0.1.0",
                          "An LLM judge answers a yes/no rubric question about the transcript (recorded; deterministic in replay)")

    def check(self, transcript: Any, params: Any) -> Verdict:
        config = Config.from_params(params)
        answer, _ = judge.complete_json(config.request(transcript))
        j = judge.parse_yes_no(answer, len(transcript.turns))
        reason = j.reason_line()
        return Verdict.ok(reason) if j.yes else Verdict.fail(reason, j.turn)
