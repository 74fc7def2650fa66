"""The canonical conversation, as plain Python objects.

These classes mirror the WIT ``types`` interface *and* ratchet's canonical JSON
(snake_case field names, ``docs/schema.md``), exactly as the Rust SDK's
``model`` module does, so the same value can come from the host over the
component boundary or from a ``.json`` file in a native unit test.

* On input every field except ``id``, ``channel`` and ``turns`` may be missing
  and takes its default; unknown fields and unknown schema versions are errors
  (a typo in a test fixture must not go unnoticed).
* ``to_json_value()`` writes what the Rust SDK writes: ``schema_version``
  always, absent options, empty lists, empty text, ``is_error: false`` and an
  empty ``routing`` omitted.
* A turn's ``index`` is its position in ``turns``; it is not part of the JSON.

Open-ended values (tool arguments and results, memory values) are plain JSON
data: dicts, lists, str, int, float, bool, None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Union

from . import canonical as _canonical

__all__ = [
    "SCHEMA_VERSION", "ROLES", "CHANNELS", "ModelError",
    "ToolCall", "ToolResult", "Turn", "MemoryEntry", "ToolRef", "RoutingContext",
    "AgentState", "Outcome", "Impact", "Conversation",
    "StateFact", "ToolResultSource", "MemorySource", "truthy", "value_text",
]

#: The canonical schema version these classes implement.
SCHEMA_VERSION = 1
#: Who produced a turn.
ROLES = ("customer", "agent", "tool", "system")
#: Where the conversation happened.
CHANNELS = ("chat", "voice")


class ModelError(ValueError):
    """A conversation (or part of one) that does not follow the canonical schema;
    the message names the field."""


# ---- strict reading helpers -------------------------------------------------------

def _obj(v: Any, where: str) -> dict:
    if not isinstance(v, dict):
        raise ModelError(f"{where}: expected an object, got {_kind(v)}")
    return v


def _deny_unknown(d: dict, known: tuple, where: str) -> None:
    for k in d:
        if k not in known:
            raise ModelError(f"{where}: unknown field `{k}`, expected one of {', '.join('`' + x + '`' for x in known)}")


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


def _str(d: dict, key: str, where: str, default: Optional[str] = None, required: bool = False) -> Optional[str]:
    if key not in d or d[key] is None:
        if required:
            raise ModelError(f"{where}: missing field `{key}`")
        return default
    v = d[key]
    if not isinstance(v, str):
        raise ModelError(f"{where}.{key}: expected a string, got {_kind(v)}")
    return v


def _bool(d: dict, key: str, where: str) -> bool:
    v = d.get(key, False)
    if v is None:
        return False
    if not isinstance(v, bool):
        raise ModelError(f"{where}.{key}: expected a boolean, got {_kind(v)}")
    return v


def _uint(d: dict, key: str, where: str, bits: int = 64) -> Optional[int]:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0 or v >= 1 << bits:
        raise ModelError(f"{where}.{key}: expected a non-negative integer, got {_canonical.dumps(v) if not isinstance(v, (dict, list)) else _kind(v)}")
    return v


def _float(d: dict, key: str, where: str) -> float:
    v = d.get(key, 0.0)
    if v is None:
        return 0.0
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ModelError(f"{where}.{key}: expected a number, got {_kind(v)}")
    return float(v)


def _list(d: dict, key: str, where: str) -> list:
    v = d.get(key)
    if v is None:
        return []
    if not isinstance(v, list):
        raise ModelError(f"{where}.{key}: expected an array, got {_kind(v)}")
    return v


def _str_list(d: dict, key: str, where: str) -> list:
    out = []
    for i, v in enumerate(_list(d, key, where)):
        if not isinstance(v, str):
            raise ModelError(f"{where}.{key}[{i}]: expected a string, got {_kind(v)}")
        out.append(v)
    return out


# ---- the types ---------------------------------------------------------------------

@dataclass
class ToolCall:
    """A tool the agent asked to run: the thing most policy criteria are about."""

    #: Correlates the call with its ``ToolResult``.
    id: str
    #: Tool name as the agent's tool registry names it.
    name: str
    #: Arguments, normally a dict (``None`` when the source had none).
    arguments: Any = None

    @classmethod
    def from_json_value(cls, v: Any, where: str = "tool_call") -> "ToolCall":
        d = _obj(v, where)
        _deny_unknown(d, ("id", "name", "arguments"), where)
        return cls(id=_str(d, "id", where, required=True), name=_str(d, "name", where, required=True), arguments=d.get("arguments"))

    def to_json_value(self) -> dict:
        return {"id": self.id, "name": self.name, "arguments": self.arguments}


@dataclass
class ToolResult:
    """What a tool returned: the account state the agent saw."""

    #: The ``ToolCall.id`` this answers.
    call_id: str
    #: Tool name, repeated for convenience (may be empty).
    name: str = ""
    #: Result payload, any JSON value.
    content: Any = None
    #: True when the tool reported an error.
    is_error: bool = False

    @classmethod
    def from_json_value(cls, v: Any, where: str = "tool_result") -> "ToolResult":
        d = _obj(v, where)
        _deny_unknown(d, ("call_id", "name", "content", "is_error"), where)
        return cls(call_id=_str(d, "call_id", where, required=True), name=_str(d, "name", where, ""), content=d.get("content"), is_error=_bool(d, "is_error", where))

    def to_json_value(self) -> dict:
        out = {"call_id": self.call_id, "name": self.name, "content": self.content}
        if self.is_error:
            out["is_error"] = True
        return out


@dataclass
class Turn:
    """One turn of the conversation."""

    #: Position in the conversation, from 0 (not part of the JSON).
    index: int
    #: ``customer``, ``agent``, ``tool`` or ``system``.
    role: str
    #: What was said (empty for pure tool-call turns).
    text: str = ""
    #: Tool calls made in this (agent) turn.
    tool_calls: list = field(default_factory=list)
    #: Present on ``tool`` turns.
    tool_result: Optional[ToolResult] = None
    #: Milliseconds since the conversation started, when known.
    offset_ms: Optional[int] = None
    #: Milliseconds the agent took to produce this turn, when known.
    latency_ms: Optional[int] = None

    @classmethod
    def from_json_value(cls, v: Any, index: int, where: str = "turn") -> "Turn":
        d = _obj(v, where)
        _deny_unknown(d, ("role", "text", "tool_calls", "tool_result", "offset_ms", "latency_ms"), where)
        role = _str(d, "role", where, required=True)
        if role not in ROLES:
            raise ModelError(f"{where}.role: unknown role \"{role}\", expected one of {', '.join(ROLES)}")
        calls = [ToolCall.from_json_value(c, f"{where}.tool_calls[{j}]") for j, c in enumerate(_list(d, "tool_calls", where))]
        result = d.get("tool_result")
        return cls(
            index=index,
            role=role,
            text=_str(d, "text", where, ""),
            tool_calls=calls,
            tool_result=None if result is None else ToolResult.from_json_value(result, f"{where}.tool_result"),
            offset_ms=_uint(d, "offset_ms", where),
            latency_ms=_uint(d, "latency_ms", where),
        )

    def to_json_value(self) -> dict:
        out: dict = {"role": self.role}
        if self.text:
            out["text"] = self.text
        if self.tool_calls:
            out["tool_calls"] = [c.to_json_value() for c in self.tool_calls]
        if self.tool_result is not None:
            out["tool_result"] = self.tool_result.to_json_value()
        if self.offset_ms is not None:
            out["offset_ms"] = self.offset_ms
        if self.latency_ms is not None:
            out["latency_ms"] = self.latency_ms
        return out

    def is_agent(self) -> bool:
        """True for agent turns, the ones scorecards judge."""
        return self.role == "agent"

    def is_customer(self) -> bool:
        """True for customer turns (what the customer asked for)."""
        return self.role == "customer"


@dataclass
class MemoryEntry:
    """One memory entry relevant to the session (e.g. ``account.supervisor_flag``)."""

    key: str
    value: Any = None

    def to_json_value(self) -> dict:
        return {"key": self.key, "value": self.value}


@dataclass
class ToolRef:
    """A tool available to the agent, at a version."""

    id: str
    version: str

    def to_json_value(self) -> dict:
        return {"id": self.id, "version": self.version}


@dataclass
class RoutingContext:
    """Context that affected routing (time of day, locale, queue...)."""

    time_of_day: Optional[str] = None
    locale: Optional[str] = None
    queue: Optional[str] = None
    #: Anything else the platform records (written sorted by key).
    extra: dict = field(default_factory=dict)

    def is_empty(self) -> bool:
        return self.time_of_day is None and self.locale is None and self.queue is None and not self.extra

    def to_json_value(self) -> dict:
        out: dict = {}
        for k in ("time_of_day", "locale", "queue"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        if self.extra:
            out["extra"] = dict(self.extra)
        return out


@dataclass
class AgentState:
    """The agent state at call time: what replay must reproduce."""

    memory_snapshot: list = field(default_factory=list)
    kb_version_hash: Optional[str] = None
    tool_registry: list = field(default_factory=list)
    prompt_version: Optional[str] = None
    model: Optional[str] = None
    routing: RoutingContext = field(default_factory=RoutingContext)

    def memory(self, key: str) -> Any:
        """The memory-snapshot value stored under ``key`` (first match), else ``None``."""
        for e in self.memory_snapshot:
            if e.key == key:
                return e.value
        return None

    def has_memory(self, key: str) -> bool:
        """True when the memory snapshot has an entry ``key`` (even a ``null`` one)."""
        return any(e.key == key for e in self.memory_snapshot)

    def to_json_value(self) -> dict:
        out: dict = {}
        if self.memory_snapshot:
            out["memory_snapshot"] = [e.to_json_value() for e in self.memory_snapshot]
        if self.kb_version_hash is not None:
            out["kb_version_hash"] = self.kb_version_hash
        if self.tool_registry:
            out["tool_registry"] = [t.to_json_value() for t in self.tool_registry]
        if self.prompt_version is not None:
            out["prompt_version"] = self.prompt_version
        if self.model is not None:
            out["model"] = self.model
        if not self.routing.is_empty():
            out["routing"] = self.routing.to_json_value()
        return out

    @classmethod
    def from_json_value(cls, v: Any, where: str = "state") -> "AgentState":
        d = _obj(v, where)
        _deny_unknown(d, ("memory_snapshot", "kb_version_hash", "tool_registry", "prompt_version", "model", "routing"), where)
        memory = []
        for i, e in enumerate(_list(d, "memory_snapshot", where)):
            w = f"{where}.memory_snapshot[{i}]"
            e = _obj(e, w)
            _deny_unknown(e, ("key", "value"), w)
            if "value" not in e:
                raise ModelError(f"{w}: missing field `value`")
            memory.append(MemoryEntry(key=_str(e, "key", w, required=True), value=e["value"]))
        tools = []
        for i, t in enumerate(_list(d, "tool_registry", where)):
            w = f"{where}.tool_registry[{i}]"
            t = _obj(t, w)
            _deny_unknown(t, ("id", "version"), w)
            tools.append(ToolRef(id=_str(t, "id", w, required=True), version=_str(t, "version", w, required=True)))
        routing = RoutingContext()
        if d.get("routing") is not None:
            w = f"{where}.routing"
            r = _obj(d["routing"], w)
            _deny_unknown(r, ("time_of_day", "locale", "queue", "extra"), w)
            extra = r.get("extra") or {}
            _obj(extra, f"{w}.extra")
            for k, val in extra.items():
                if not isinstance(val, str):
                    raise ModelError(f"{w}.extra.{k}: expected a string, got {_kind(val)}")
            routing = RoutingContext(time_of_day=_str(r, "time_of_day", w), locale=_str(r, "locale", w), queue=_str(r, "queue", w), extra=dict(extra))
        return cls(
            memory_snapshot=memory,
            kb_version_hash=_str(d, "kb_version_hash", where),
            tool_registry=tools,
            prompt_version=_str(d, "prompt_version", where),
            model=_str(d, "model", where),
            routing=routing,
        )


@dataclass
class Outcome:
    """How the conversation ended, and what went wrong visibly."""

    escalated: bool = False
    complaint: bool = False
    compliance_flags: list = field(default_factory=list)
    ended_reason: Optional[str] = None

    def to_json_value(self) -> dict:
        out: dict = {"escalated": self.escalated, "complaint": self.complaint}
        if self.compliance_flags:
            out["compliance_flags"] = list(self.compliance_flags)
        if self.ended_reason is not None:
            out["ended_reason"] = self.ended_reason
        return out


@dataclass
class Impact:
    """Money at stake, used to rank failure modes by business impact."""

    revenue_at_risk: float = 0.0
    refund_amount: float = 0.0
    compliance_exposure: float = 0.0
    escalation_cost: float = 0.0
    currency: Optional[str] = None

    def to_json_value(self) -> dict:
        out: dict = {
            "revenue_at_risk": float(self.revenue_at_risk),
            "refund_amount": float(self.refund_amount),
            "compliance_exposure": float(self.compliance_exposure),
            "escalation_cost": float(self.escalation_cost),
        }
        if self.currency is not None:
            out["currency"] = self.currency
        return out


@dataclass
class ToolResultSource:
    """A state value read from field ``field`` of tool ``tool``'s result in turn ``turn``."""

    tool: str
    field: str
    turn: int

    def describe(self) -> str:
        """E.g. ``lookup_account result at turn 2``."""
        return f"{self.tool} result at turn {self.turn}"


@dataclass
class MemorySource:
    """A state value read from the memory snapshot entry ``key``."""

    key: str

    def describe(self) -> str:
        """E.g. ``memory account.subscription_status``."""
        return f"memory {self.key}"


@dataclass
class StateFact:
    """A state value and where it came from (see ``Conversation.state_fact``)."""

    value: Any
    source: Union[ToolResultSource, MemorySource]


@dataclass
class Conversation:
    """A whole conversation with the agent state it ran under: the input of every
    scorecard and assertion, the output of every adapter."""

    id: str
    #: ``chat`` or ``voice``.
    channel: str
    turns: list = field(default_factory=list)
    started_at: Optional[str] = None
    outcome: Outcome = field(default_factory=Outcome)
    impact: Impact = field(default_factory=Impact)
    state: AgentState = field(default_factory=AgentState)
    schema_version: int = SCHEMA_VERSION
    #: What the platform recorded about the conversation besides the dialogue (ticket
    #: tags, account tier, expected outcome), string to string. Inside a component the
    #: host supplies them to scorecards and assertions (WIT 0.1.3 ``labels``); an
    #: adapter sets them here and they reach the host with the conversation.
    labels: dict = field(default_factory=dict)

    # ---- reading and writing ----

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> "Conversation":
        """Parses canonical conversation JSON (turn indices come from positions)."""
        try:
            v = _canonical.loads(text, "conversation")
        except _canonical.ParseError as e:
            raise ModelError(str(e)) from None
        return cls.from_json_value(v)

    @classmethod
    def from_json_value(cls, v: Any, where: str = "conversation") -> "Conversation":
        """Reads a conversation from parsed JSON data (strictly: unknown fields are errors)."""
        d = _obj(v, where)
        _deny_unknown(d, ("schema_version", "id", "channel", "started_at", "turns", "outcome", "impact", "state", "labels"), where)
        version = d.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION or isinstance(version, bool):
            raise ModelError(f"unknown schema_version {_canonical.dumps(version)}: this SDK reads schema_version {SCHEMA_VERSION}")
        channel = _str(d, "channel", where, required=True)
        if channel not in CHANNELS:
            raise ModelError(f"{where}.channel: unknown channel \"{channel}\", expected chat or voice")
        if "turns" not in d:
            raise ModelError(f"{where}: missing field `turns`")
        turns = [Turn.from_json_value(t, i, f"turns[{i}]") for i, t in enumerate(_list(d, "turns", where))]
        outcome = Outcome()
        if d.get("outcome") is not None:
            o = _obj(d["outcome"], "outcome")
            _deny_unknown(o, ("escalated", "complaint", "compliance_flags", "ended_reason"), "outcome")
            outcome = Outcome(escalated=_bool(o, "escalated", "outcome"), complaint=_bool(o, "complaint", "outcome"),
                              compliance_flags=_str_list(o, "compliance_flags", "outcome"), ended_reason=_str(o, "ended_reason", "outcome"))
        impact = Impact()
        if d.get("impact") is not None:
            m = _obj(d["impact"], "impact")
            _deny_unknown(m, ("revenue_at_risk", "refund_amount", "compliance_exposure", "escalation_cost", "currency"), "impact")
            impact = Impact(revenue_at_risk=_float(m, "revenue_at_risk", "impact"), refund_amount=_float(m, "refund_amount", "impact"),
                            compliance_exposure=_float(m, "compliance_exposure", "impact"), escalation_cost=_float(m, "escalation_cost", "impact"),
                            currency=_str(m, "currency", "impact"))
        state = AgentState() if d.get("state") is None else AgentState.from_json_value(d["state"])
        labels = {}
        if d.get("labels") is not None:
            for k, lv in _obj(d["labels"], f"{where}.labels").items():
                if not isinstance(lv, str):
                    raise ModelError(f"{where}.labels.{k}: expected a string, got {_kind(lv)}")
                labels[k] = lv
        return cls(id=_str(d, "id", where, required=True), channel=channel, turns=turns, started_at=_str(d, "started_at", where),
                   outcome=outcome, impact=impact, state=state, labels=labels)

    def to_json_value(self) -> dict:
        out: dict = {
            "schema_version": self.schema_version,
            "id": self.id,
            "channel": self.channel,
            "turns": [t.to_json_value() for t in self.turns],
            "outcome": self.outcome.to_json_value(),
            "impact": self.impact.to_json_value(),
            "state": self.state.to_json_value(),
        }
        if self.started_at is not None:
            out["started_at"] = self.started_at
        if self.labels:
            out["labels"] = dict(sorted(self.labels.items()))
        return out

    def to_json(self) -> str:
        """Canonical JSON text (keys sorted, compact): the same bytes for the same conversation."""
        return _canonical.dumps(self)

    def renumber(self) -> None:
        """Sets every ``turns[i].index`` to ``i``; call after building turns by hand."""
        for i, t in enumerate(self.turns):
            t.index = i

    def push_turn(self, turn: Turn) -> int:
        """Appends a turn, setting its index; returns the index."""
        turn.index = len(self.turns)
        self.turns.append(turn)
        return turn.index

    # ---- questions checks ask ----

    def turn(self, index: int) -> Optional[Turn]:
        """The turn at ``index``, if any."""
        return self.turns[index] if 0 <= index < len(self.turns) else None

    def turns_by(self, role: str) -> Iterator[Turn]:
        """Turns produced by ``role``, in order."""
        return (t for t in self.turns if t.role == role)

    def agent_turns(self) -> Iterator[Turn]:
        """Agent turns, in order: what scorecards judge."""
        return self.turns_by("agent")

    def customer_turns(self) -> Iterator[Turn]:
        """Customer turns, in order: what the customer asked for."""
        return self.turns_by("customer")

    def tool_calls(self) -> Iterator[tuple]:
        """Every tool call as ``(turn index, ToolCall)``, in order."""
        return ((t.index, c) for t in self.turns for c in t.tool_calls)

    def tool_calls_named(self, name: str) -> Iterator[tuple]:
        """Calls of the tool ``name`` as ``(turn index, ToolCall)``."""
        return ((i, c) for i, c in self.tool_calls() if c.name == name)

    def tool_results(self) -> Iterator[tuple]:
        """Every tool result as ``(turn index, ToolResult)``, in order."""
        return ((t.index, t.tool_result) for t in self.turns if t.tool_result is not None)

    def tool_result_for(self, call_id: str) -> Optional[ToolResult]:
        """The result answering the call ``call_id``, if the conversation has one."""
        return next((r for _, r in self.tool_results() if r.call_id == call_id), None)

    def tool_results_named(self, name: str) -> Iterator[tuple]:
        """Results of the tool ``name`` (from the result, or from the matching call
        when the result carries no name), as ``(turn index, ToolResult)``."""
        return ((t.index, r) for t in self.turns if (r := t.tool_result) is not None
                and (r.name == name or (r.name == "" and any(c.id == r.call_id and c.name == name for _, c in self.tool_calls()))))

    def latest_tool_result(self, name: str, at_turn: Optional[int] = None) -> Optional[tuple]:
        """The latest non-error result of tool ``name`` in a turn ``<= at_turn``
        (anywhere when ``None``), as ``(turn index, ToolResult)``."""
        found = None
        for i, r in self.tool_results_named(name):
            if (at_turn is None or i <= at_turn) and not r.is_error:
                found = (i, r)
        return found

    def memory(self, key: str) -> Any:
        """The memory-snapshot value stored under ``key`` (first match), else ``None``."""
        return self.state.memory(key)

    def state_value(self, key: str, lookup_tool: str, at_turn: Optional[int] = None) -> Any:
        """See ``state_fact``; just the value (``None`` when unknown)."""
        f = self.state_fact(key, lookup_tool, at_turn)
        return None if f is None else f.value

    def state_fact(self, key: str, lookup_tool: str, at_turn: Optional[int] = None) -> Optional[StateFact]:
        """What the agent could know about the state key ``key`` (e.g.
        ``account.subscription_status``) at turn ``at_turn``: the field named like
        the key's last segment in the latest non-error result of ``lookup_tool``
        up to that turn, else the memory snapshot's entry for ``key``."""
        fld = key.rsplit(".", 1)[-1]
        found = None
        for i, r in self.tool_results_named(lookup_tool):
            if (at_turn is None or i <= at_turn) and not r.is_error and isinstance(r.content, dict) and fld in r.content:
                found = (i, r.content[fld])
        if found is not None:
            return StateFact(found[1], ToolResultSource(lookup_tool, fld, found[0]))
        if self.state.has_memory(key):
            return StateFact(self.state.memory(key), MemorySource(key))
        return None


def truthy(value: Any) -> bool:
    """Loose truthiness of a JSON state value: ``true``, ``"true"``/``"yes"``/
    ``"y"``/``"1"`` (any case) and non-zero numbers are true; everything else,
    including a missing value (``None``), is false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "y", "1")
    if isinstance(value, (int, float)):
        return value != 0
    return False


def value_text(value: Any) -> Optional[str]:
    """A JSON state value as text for comparisons and messages: strings without
    quotes, other values as canonical compact JSON, a missing/null value as ``None``."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return _canonical.dumps(value)
