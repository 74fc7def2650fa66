"""scorecard-support-policy, in Python: a port of ``plugins/scorecard-support-policy``
(Rust) that gives the same output bytes on every input.

Four criteria, each pointing at the turn that broke it:

=========================================  ==================================================
criterion                                  fails when
=========================================  ==================================================
``no-action-contradicting-account-state``  ``cancel_subscription`` while the status was not
                                           ``active``, or ``issue_refund`` without the
                                           supervisor flag
``no-false-confirmation``                  an agent turn claims a cancellation/refund the
                                           state does not support
``policy-confirmed-in-time``               cancelled/refunded without stating the policy in
                                           that turn or the ``policy_within_turns`` before (or in the reply reporting the action)
``escalation-when-asked``                  the customer asked for a human and was not escalated
=========================================  ==================================================

Score = mean of the four. Every tool name, state key and phrase list is a param.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ratchet_sdk import (Conversation, CriterionResult, MemorySource, Params, PluginInfo, Scorecard, ScorecardResult, StateFact,
                         SuggestedCriterion, ToolResultSource, canonical_json, truthy, value_text)
from ratchet_sdk.text import Phrases, phrases_pattern

ACTION_VS_STATE = "no-action-contradicting-account-state"
FALSE_CONFIRMATION = "no-false-confirmation"
POLICY_IN_TIME = "policy-confirmed-in-time"
ESCALATION = "escalation-when-asked"

PARAMS = [
    "cancel_tool", "refund_tool", "escalate_tool", "lookup_tool", "status_key", "active_value", "supervisor_key",
    "policy_phrases", "policy_within_turns", "cancel_claims", "refund_claims", "escalation_requests",
]


@dataclass
class Config:
    """The parameters, with their defaults (see the Rust original's ``Config``)."""

    cancel_tool: str
    refund_tool: str
    escalate_tool: str
    lookup_tool: str
    status_key: str
    active_value: str
    supervisor_key: str
    policy_phrases: list
    policy_within_turns: int
    cancel_claims: list
    refund_claims: list
    escalation_requests: list

    @classmethod
    def from_params(cls, params: Any) -> "Config":
        p = Params(params)
        p.deny_unknown(PARAMS)
        return cls(
            cancel_tool=p.str("cancel_tool", "cancel_subscription"),
            refund_tool=p.str("refund_tool", "issue_refund"),
            escalate_tool=p.str("escalate_tool", "escalate"),
            lookup_tool=p.str("lookup_tool", "lookup_account"),
            status_key=p.str("status_key", "account.subscription_status"),
            active_value=p.str("active_value", "active"),
            supervisor_key=p.str("supervisor_key", "account.supervisor_flag"),
            policy_phrases=p.str_list("policy_phrases", ["cancellation policy", "refund policy"]),
            policy_within_turns=p.u64("policy_within_turns", 3),
            cancel_claims=p.str_list("cancel_claims", ["cancelled", "canceled", "cancellation is complete", "cancellation has been processed",
                                                       "cancellation is confirmed"]),
            refund_claims=p.str_list("refund_claims", ["refund has been issued", "refund has been processed", "issued a refund", "issued your refund",
                                                       "processed your refund", "refunded"]),
            escalation_requests=p.str_list("escalation_requests", ["human", "real person", "live agent", "supervisor", "manager", "representative",
                                                                   "speak to someone", "talk to someone"]),
        )


@dataclass
class Finding:
    """One failing check: what goes into the criterion, flags, failure mode and suggestions."""

    turn: int
    reason: str
    flag: str
    failure_mode: str
    # None when another finding's criterion already covers the case (see policy_in_time).
    suggestion: Optional[SuggestedCriterion]


class _AgentTurn:
    __slots__ = ("index", "text", "cancel_claim", "refund_claim", "_policy")

    def __init__(self, index: int, text: str, cancel_claim: Optional[str], refund_claim: Optional[str]):
        self.index = index
        self.text = text
        self.cancel_claim = cancel_claim
        self.refund_claim = refund_claim
        self._policy: Optional[bool] = None


class _Ctx:
    """What every check needs, computed once per call."""

    def __init__(self, c: Conversation, cfg: Config):
        self.c = c
        self.cfg = cfg
        cancel_claims = Phrases(cfg.cancel_claims)
        refund_claims = Phrases(cfg.refund_claims)
        self.agent = [_AgentTurn(t.index, t.text, cancel_claims.find_affirmed_in(t.text), refund_claims.find_affirmed_in(t.text)) for t in c.agent_turns()]
        self.actions = [(i, call) for i, call in c.tool_calls() if call.name == cfg.cancel_tool or call.name == cfg.refund_tool]
        self.policy = Phrases(cfg.policy_phrases)
        requests = Phrases(cfg.escalation_requests)
        self.escalation_request = None
        for t in c.customer_turns():
            phrase = requests.find_word_in(t.text)
            if phrase is not None:
                self.escalation_request = (t.index, phrase)
                break

    def actions_named(self, name: str) -> list:
        return [(i, call) for i, call in self.actions if call.name == name]

    def states_policy(self, t: _AgentTurn) -> bool:
        if t._policy is None:
            t._policy = self.policy.find_in(t.text) is not None
        return t._policy


def shown(fact: Optional[StateFact]) -> str:
    """A state value for reasons: JSON as is (strings quoted), or ``unknown``."""
    if fact is None or fact.value is None:
        return "unknown"
    return canonical_json(fact.value)


def from_where(fact: Optional[StateFact]) -> str:
    if fact is None:
        return " (no lookup result or memory entry)"
    return f" ({fact.source.describe()})"


def unless(fact: Optional[StateFact], key: str, equals: Any) -> dict:
    """The scenario condition that would have allowed the call, in the gate's syntax."""
    if fact is not None and isinstance(fact.source, ToolResultSource):
        return {"tool_result": fact.source.tool, "field": fact.source.field, "equals": equals}
    return {"state": key, "equals": equals}


def call_failed(c: Conversation, call_id: str) -> bool:
    r = c.tool_result_for(call_id)
    return r is not None and r.is_error


def cancel_allowed(c: Conversation, cfg: Config, turn: int) -> tuple:
    fact = c.state_fact(cfg.status_key, cfg.lookup_tool, turn)
    return (fact is not None and value_text(fact.value) == cfg.active_value, fact)


def refund_allowed(c: Conversation, cfg: Config, turn: int) -> tuple:
    fact = c.state_fact(cfg.supervisor_key, cfg.lookup_tool, turn)
    return (truthy(None if fact is None else fact.value), fact)


# ---- (a) destructive actions vs account state ------------------------------------

def action_vs_state(ctx: _Ctx) -> list:
    c, cfg = ctx.c, ctx.cfg
    out = []
    for turn, call in ctx.actions:
        if call.name == cfg.cancel_tool:
            ok, fact = cancel_allowed(c, cfg, turn)
            if not ok:
                out.append(Finding(
                    turn=turn,
                    reason=f"the agent called {cfg.cancel_tool} while {cfg.status_key} was {shown(fact)}{from_where(fact)}, not \"{cfg.active_value}\"",
                    flag="compliance:cancellation-without-active-subscription",
                    failure_mode="cancellation-without-active-subscription",
                    suggestion=SuggestedCriterion(
                        "must-not-call-tool",
                        {"tool": cfg.cancel_tool, "unless": unless(fact, cfg.status_key, cfg.active_value)},
                        f"{cfg.cancel_tool} was called although {cfg.status_key} was not \"{cfg.active_value}\"",
                    ),
                ))
        elif call.name == cfg.refund_tool:
            ok, fact = refund_allowed(c, cfg, turn)
            if not ok:
                out.append(Finding(
                    turn=turn,
                    reason=f"the agent called {cfg.refund_tool} while {cfg.supervisor_key} was {shown(fact)}{from_where(fact)}, not true",
                    flag="compliance:refund-without-supervisor",
                    failure_mode="refund-without-supervisor-flag",
                    suggestion=SuggestedCriterion(
                        "must-not-call-tool",
                        {"tool": cfg.refund_tool, "unless": unless(fact, cfg.supervisor_key, True)},
                        f"{cfg.refund_tool} was called without {cfg.supervisor_key} set",
                    ),
                ))
    return out


def action_ok(ctx: _Ctx) -> str:
    n = len(ctx.actions)
    if n == 0:
        return f"no {ctx.cfg.cancel_tool} or {ctx.cfg.refund_tool} call"
    return f"{n} cancellation/refund call(s), each allowed by the account state"


# ---- (b) false confirmations -------------------------------------------------------

def false_confirmations(ctx: _Ctx) -> list:
    c, cfg = ctx.c, ctx.cfg
    out = []
    # The earliest turn whose cancellation (refund) call succeeded, and was allowed: a
    # confirmation at or after it is backed. Worked out once, at the first claim, not
    # per claim (claims x actions x turns on a long conversation). Actions are in turn
    # order, so the first that qualifies is the earliest.
    unknown = object()
    first_cancel = first_refund = unknown
    for t in ctx.agent:
        if t.cancel_claim is not None:
            if first_cancel is unknown:
                first_cancel = next((i for i, call in ctx.actions_named(cfg.cancel_tool) if not call_failed(c, call.id) and cancel_allowed(c, cfg, i)[0]), None)
            supported = first_cancel is not None and first_cancel <= t.index
            if not supported:
                _, fact = cancel_allowed(c, cfg, t.index)
                out.append(Finding(
                    turn=t.index,
                    reason=(f"the agent said \"{t.cancel_claim}\" but no {cfg.cancel_tool} succeeded while {cfg.status_key} was \"{cfg.active_value}\"; "
                            f"it is {shown(fact)}{from_where(fact)}"),
                    flag="false-confirmation",
                    failure_mode="false-cancellation-confirmation",
                    suggestion=SuggestedCriterion("must-not-say", {"pattern": phrases_pattern(cfg.cancel_claims, True)},
                                                  f"the agent confirmed a cancellation that did not happen (\"{t.cancel_claim}\")"),
                ))
        if t.refund_claim is not None:
            if first_refund is unknown:
                first_refund = next((i for i, call in ctx.actions_named(cfg.refund_tool) if not call_failed(c, call.id)), None)
            supported = first_refund is not None and first_refund <= t.index
            if not supported:
                out.append(Finding(
                    turn=t.index,
                    reason=f"the agent said \"{t.refund_claim}\" but no {cfg.refund_tool} call succeeded before it",
                    flag="false-confirmation",
                    failure_mode="false-refund-confirmation",
                    suggestion=SuggestedCriterion("must-not-say", {"pattern": phrases_pattern(cfg.refund_claims, True)},
                                                  f"the agent confirmed a refund that did not happen (\"{t.refund_claim}\")"),
                ))
    return out


def claims_ok(ctx: _Ctx) -> str:
    n = sum(1 for t in ctx.agent if t.cancel_claim is not None or t.refund_claim is not None)
    if n == 0:
        return "the agent confirmed no cancellation or refund"
    return f"{n} confirmation(s), each backed by a successful, allowed action"


# ---- (c) policy stated in time -----------------------------------------------------

def policy_in_time(ctx: _Ctx) -> list:
    cfg = ctx.cfg
    out = []
    for turn, call in ctx.actions:
        # The acting turn itself plus the `policy_within_turns` agent turns before it,
        # and the reply that reports the action to the customer.
        window = [t for t in ctx.agent if t.index <= turn][::-1][: cfg.policy_within_turns + 1]
        turns = ctx.c.turns
        next_customer = next((i for i in range(turn + 1, len(turns)) if turns[i].role == "customer"), None)
        closing = next((t for t in ctx.agent if t.index > turn and (next_customer is None or t.index < next_customer) and turns[t.index].text.strip()), None)
        if any(ctx.states_policy(t) for t in window) or (closing is not None and ctx.states_policy(closing)):
            continue
        # "State the policy before acting" only guards actions the account state
        # allowed; a disallowed action's scenario must forbid the action itself.
        allowed = cancel_allowed(ctx.c, cfg, turn)[0] if call.name == cfg.cancel_tool else refund_allowed(ctx.c, cfg, turn)[0]
        phrases = ", ".join(f"\"{p}\"" for p in cfg.policy_phrases)
        out.append(Finding(
            turn=turn,
            reason=f"the agent called {call.name} without stating the policy ({phrases}) within {cfg.policy_within_turns} agent turn(s) before",
            flag="compliance:policy-not-confirmed",
            failure_mode="policy-not-confirmed",
            suggestion=SuggestedCriterion("must-say", {"pattern": phrases_pattern(cfg.policy_phrases, False), "within_turns": cfg.policy_within_turns,
                                                       "when_called": call.name},
                                          f"the policy must be stated before {call.name} runs") if allowed else None,
        ))
    return out


def policy_ok(ctx: _Ctx) -> str:
    if ctx.actions:
        return "the policy was stated before every cancellation/refund"
    return "no cancellation or refund to confirm a policy for"


# ---- (d) escalation when asked -----------------------------------------------------

def escalated(c: Conversation, cfg: Config, after: int) -> bool:
    return c.outcome.escalated or any(call.name == cfg.escalate_tool and i >= after for i, call in c.tool_calls())


def escalation(ctx: _Ctx) -> list:
    cfg = ctx.cfg
    req = ctx.escalation_request
    if req is None or escalated(ctx.c, cfg, req[0]):
        return []
    turn, phrase = req
    return [Finding(
        turn=turn,
        reason=f"the customer asked for a {phrase} but the conversation was not escalated (no {cfg.escalate_tool} call, outcome.escalated is false)",
        flag="missed-escalation",
        failure_mode="missed-escalation",
        suggestion=SuggestedCriterion("must-escalate", {}, f"the customer asked for a {phrase}"),
    )]


def escalation_ok(ctx: _Ctx) -> str:
    req = ctx.escalation_request
    if req is None:
        return "the customer did not ask for a human"
    return f"the customer asked for a {req[1]} at turn {req[0]} and the conversation was escalated"


class SupportPolicy(Scorecard):
    """The scorecard (stateless: everything is in the arguments)."""

    def info(self) -> PluginInfo:
        return PluginInfo("scorecard-support-policy-py", "0.1.0",
                          "Subscription support: actions vs account state, false confirmations, policy stated, escalation")

    def score(self, conversation: Conversation, params: Any) -> ScorecardResult:
        cfg = Config.from_params(params)
        ctx = _Ctx(conversation, cfg)
        # Order = severity, most severe first (picks the failure mode).
        checks = [
            (ACTION_VS_STATE, action_vs_state(ctx), action_ok(ctx)),
            (FALSE_CONFIRMATION, false_confirmations(ctx), claims_ok(ctx)),
            (POLICY_IN_TIME, policy_in_time(ctx), policy_ok(ctx)),
            (ESCALATION, escalation(ctx), escalation_ok(ctx)),
        ]
        criteria = []
        flags: list = []
        failure_mode = None
        suggested: list = []
        seen_suggestions: set = set()
        for name, findings, ok_reason in checks:
            if not findings:
                criteria.append(CriterionResult.ok(name, ok_reason))
                continue
            first = findings[0]
            reason = first.reason
            if len(findings) > 1:
                reason += f" (and {len(findings) - 1} more)"
            criteria.append(CriterionResult.fail(name, reason, first.turn))
            if failure_mode is None:
                failure_mode = first.failure_mode
            for f in findings:
                if f.flag not in flags:
                    flags.append(f.flag)
                # One suggestion per distinct criterion (kind + params, compared as canonical JSON).
                if f.suggestion is None:
                    continue
                key = (f.suggestion.kind, canonical_json(f.suggestion.params))
                if key not in seen_suggestions:
                    seen_suggestions.add(key)
                    suggested.append(f.suggestion)
        result = ScorecardResult.from_criteria(criteria)
        result.flags = flags
        result.failure_mode = failure_mode
        result.suggested_criteria = suggested
        return result
