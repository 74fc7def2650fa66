"""Warming the plugin up inside the build-time snapshot (issue 20).

componentize-py runs the app module while it builds, and the component starts every
call from the memory that run left behind. ratchet restores that memory after every
call, so anything CPython learns during a call (specialised bytecode, attribute and
method caches, interned strings, allocator pools) is forgotten before the next one,
and every conversation pays for learning it again. Work done *here*, at build time,
is kept: it becomes part of the plugin's bytes, so every call on every machine starts
from the same warmed state and the verdicts stay a function of (plugin bytes,
conversation, params).

Two levels:

- ``sdk``: always. Runs the SDK's own per-call paths (the WIT conversion in both
  directions, JSON reading and canonical writing, the model's questions, phrase
  matching, params, results) on a built-in sample. It never calls the plugin, so a
  plugin that keeps state between calls cannot tell it happened.
- ``plugin``: only when the plugin's ``pyproject.toml`` asks for it
  (``[tool.ratchet] warm-up = "samples"``): the build embeds those sample inputs and
  the plugin itself scores (or checks) each of them, ``ROUNDS`` times, before the
  snapshot is taken. A plugin that keeps module-level state sees these calls (they
  are part of its build, the same on every run).

Nothing here may call the host: its imports trap while the component is built. What
the plugin logs during its warm-up is dropped; a plugin that asks a model cannot be
warmed up (the build refuses the combination).
"""

from __future__ import annotations

from typing import Any, Callable

from . import _log, canonical
from .model import Conversation
from .params import Params
from .results import CriterionResult, ScorecardResult, SuggestedCriterion, Verdict
from .text import Phrases, phrases_pattern

#: How many times each path runs: CPython specialises an instruction after it has
#: run a couple of times; a few more rounds fill its caches.
ROUNDS = 8

#: The generated module the build puts on the path when the plugin asks for its own
#: warm-up: ``SAMPLES = [(name, conversation JSON, params JSON or None), ...]``.
SAMPLES_MODULE = "_ratchet_warm_up_samples"

# A support conversation with what real ones carry: tool calls and results with nested
# JSON, an error result, a memory snapshot, routing extras, non-ASCII text, negations.
_SAMPLE = canonical.dumps({
    "schema_version": 1,
    "id": "ratchet-sdk-warm-up",
    "channel": "chat",
    "started_at": "2026-01-01T09:00:00Z",
    "turns": [
        {"role": "customer", "text": "Hi, I want to cancel my subscription and get a refund. Can I talk to a human?"},
        {"role": "agent", "text": "I can help. Let me look up your account first.",
         "tool_calls": [{"id": "c1", "name": "lookup_account", "arguments": {"account_id": "A-1", "fields": ["status", "plan"]}}]},
        {"role": "tool", "text": "", "tool_result": {"call_id": "c1", "name": "lookup_account",
                                                     "content": {"subscription_status": "active", "supervisor_flag": False,
                                                                 "charges": [{"amount": 12, "currency": "EUR"}]}}},
        {"role": "agent", "text": "Per our cancellation policy, your plan hasn't been cancelled yet; I'm not able to refund it. Déjà vu?"},
        {"role": "customer", "text": "Please escalate, I’m not happy."},
        {"role": "agent", "text": "",
         "tool_calls": [{"id": "c2", "name": "cancel_subscription", "arguments": {"account_id": "A-1"}},
                        {"id": "c3", "name": "escalate", "arguments": {"reason": "customer asked"}}]},
        {"role": "tool", "text": "", "tool_result": {"call_id": "c2", "name": "", "content": {"error": "timeout"}, "is_error": True}},
        {"role": "agent", "text": "Your subscription has been cancelled, and a supervisor will call you.", "latency_ms": 850},
    ],
    "outcome": {"escalated": True, "complaint": False, "compliance_flags": ["refund-requested"], "ended_reason": "resolved"},
    "impact": {"revenue_at_risk": 12, "refund_amount": 0, "compliance_exposure": 0, "escalation_cost": 4, "currency": "EUR"},
    "state": {"memory_snapshot": [{"key": "account.tier", "value": "gold"}, {"key": "account.flags", "value": {"vip": True}}],
              "kb_version_hash": "kb-1", "tool_registry": [{"id": "lookup_account", "version": "2"}], "prompt_version": "p-1",
              "model": "m-1", "routing": {"time_of_day": "09:00", "locale": "fr-FR", "queue": "billing", "extra": {"region": "eu"}}},
})

_PHRASES = ["cancelled", "canceled", "cancellation policy", "refund", "supervisor", "human"]


def sdk(to_wit: Callable[[Conversation], Any], from_wit: Callable[[Any], Conversation], answer_to_wit: Callable[[Any], Any], world: str) -> None:
    """Run the SDK's per-call paths on the built-in sample, ``ROUNDS`` times.
    ``answer_to_wit`` converts what ``world`` returns (``scorecard``: a
    ``ScorecardResult``; ``assertion``: a ``Verdict``) into its WIT record."""
    wit = to_wit(Conversation.from_json(_SAMPLE))
    for _ in range(ROUNDS):
        c = from_wit(wit)
        phrases = Phrases(_PHRASES)
        for t in c.turns:
            phrases.find_in(t.text)
            phrases.find_word_in(t.text)
            phrases.find_affirmed_in(t.text)
            t.is_agent()
            t.is_customer()
        list(c.agent_turns())
        list(c.customer_turns())
        for _i, call in c.tool_calls():
            c.tool_result_for(call.id)
        list(c.tool_calls_named("cancel_subscription"))
        list(c.tool_results_named("lookup_account"))
        c.latest_tool_result("lookup_account", 5)
        c.state_value("account.subscription_status", "lookup_account", 4)
        c.state_fact("account.tier", "lookup_account")
        c.memory("account.flags")
        c.turn(3)
        p = Params({"tool": "cancel_subscription", "phrases": ["a", "b"], "within": 3, "strict": True, "threshold": 0.5})
        p.deny_unknown(["tool", "phrases", "within", "strict", "threshold"])
        p.str("tool", "x")
        p.str_list("phrases", [])
        p.u64("within", 1)
        p.bool("strict", False)
        p.f64("threshold", 1.0)
        p.str("absent", "default")
        criteria = [CriterionResult.ok("a", "fine"),
                    CriterionResult.fail("b", "turn 3 says \"cancelled\"", 3)]
        result = ScorecardResult.from_criteria(criteria)
        result.suggested_criteria.append(SuggestedCriterion("must-say", {"pattern": phrases_pattern(_PHRASES, True), "within_turns": 3}, "why"))
        canonical.dumps(result)
        canonical.dumps({"score": 0.5, "n": [1, 2.25, None, "é"]})
        canonical.loads('{"a": [1, 2.5, "x", {"b": null}]}')
        if world == "scorecard":
            answer_to_wit(result)
        else:
            answer_to_wit(Verdict.fail("no", 2))
            answer_to_wit(Verdict.ok("yes"))


def plugin(to_wit: Callable[[Conversation], Any], run: Callable[[Any, Any], Any]) -> None:
    """The plugin's own warm-up: ``run(wit_conversation, params_json)`` (the export's
    path: convert, call the plugin, convert the answer) on every sample the build
    embedded, ``ROUNDS`` times; nothing when the plugin did not ask for it. A sample
    the plugin fails on stops the build, naming the sample."""
    try:
        samples = __import__(SAMPLES_MODULE).SAMPLES
    except ImportError:
        return
    host_log = _log.set_backend(lambda level, message: None)  # no host at build time
    try:
        for name, text, params_text in samples:
            try:
                wit = to_wit(Conversation.from_json(text))
                for _ in range(ROUNDS):
                    run(wit, params_text if params_text is not None else "{}")
            except Exception as e:
                raise RuntimeError(f"warm-up sample {name}: {type(e).__name__}: {e}") from e
    finally:
        _log.set_backend(host_log)
