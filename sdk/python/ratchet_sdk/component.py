"""The component glue: turns a plugin object into the class componentize-py exports.

Only ``app.py`` (the module handed to componentize-py) imports this; the plugin's
logic and its unit tests never do, so they run on plain CPython without Wasm::

    # app.py
    from ratchet_sdk.component import scorecard
    from my_plugin import MyScorecard

    Scorer = scorecard(MyScorecard())

``scorecard``, ``assertion``, ``adapter`` and ``simulator`` return a subclass of the
generated ``wit_world.exports.Scorer`` / ``Asserter`` / ``Converter`` / ``Simulation``
protocol; the name the app module binds it to must be exactly that (componentize-py
looks it up by name).

What the glue does on every call: converts the WIT records into the SDK's model
(JSON-valued fields parsed, errors naming the field), calls the plugin, converts
the result back (JSON written canonically), turns ``PluginError`` (and so a
``judge.JudgeError``) into the WIT ``result``'s error string, and reports any other
exception to the host (``abort-reason``: type, message, where) before letting it
trap the call. Binding a plugin also switches ``ratchet_sdk.judge`` from the
native test judge to the host's ``ratchet:plugin/model`` import.
"""

from __future__ import annotations

import re
import traceback
from typing import Any, Callable

from . import canonical, _log as _logging, _runtime, _warm_up
from .errors import PluginError
from .model import (AgentState, Conversation, Impact, MemoryEntry, Outcome, RoutingContext, ToolCall, ToolRef, ToolResult, Turn,
                    SCHEMA_VERSION)
from .simulator import Observed, Simulated, ToolRequest

__all__ = ["scorecard", "assertion", "adapter", "simulator"]


def _parse(what: str, text: str) -> Any:
    try:
        return canonical.loads(text, what)
    except canonical.ParseError as e:
        raise PluginError(str(e)) from None


def _source_name(filename: str) -> str:
    # componentize-py mounts the build's python path as /0/ (the plugin directory),
    # /1/ (the SDK)...: name the author's file as it is in their directory.
    m = re.match(r"^/\d+/(.*)$", filename)
    return m.group(1) if m else filename


def _describe(e: BaseException) -> str:
    msg = f"{type(e).__name__}: {e}"
    tb = traceback.extract_tb(e.__traceback__)
    if tb:
        # The innermost frame in the plugin's own code, else the innermost frame.
        own = [f for f in tb if f.filename.startswith("/0/")]
        last = (own or tb)[-1]
        msg += f" (at {_source_name(last.filename)}:{last.lineno} in {last.name})"
    return msg


def _guard(call: Callable[[], Any]) -> Any:
    from componentize_py_types import Err
    from wit_world.imports import host

    try:
        return call()
    except PluginError as e:
        raise Err(str(e)) from None
    except Err:
        raise
    except BaseException as e:  # a bug in the plugin: say why, then trap
        host.abort_reason(_describe(e))
        raise


def _install_logger() -> None:
    from wit_world.imports import host

    # From here on, ratchet_sdk.judge asks the host's model import (if the world has it).
    _runtime.in_component = True

    levels = {"debug": host.LogLevel.DEBUG, "info": host.LogLevel.INFO, "warn": host.LogLevel.WARN, "error": host.LogLevel.ERROR}
    _logging.set_backend(lambda level, message: host.log(levels[level], message))


# ---- host -> SDK ------------------------------------------------------------------

#: WIT role enum value -> the model's role string (filled on first sight; the SDK's
#: warm-up fills it inside the build snapshot, so calls only look it up).
_ROLE_NAMES: dict = {}


def _role(r: Any) -> str:
    name = _ROLE_NAMES.get(r)
    if name is None:
        name = _ROLE_NAMES[r] = r.name.lower()
    return name


def conversation_from_wit(c: Any) -> Conversation:
    """The SDK conversation for a WIT ``conversation`` record."""
    return Conversation(
        schema_version=SCHEMA_VERSION,
        id=c.id,
        channel=c.channel.name.lower(),
        started_at=c.started_at,
        turns=[_turn_from_wit(i, t) for i, t in enumerate(c.turns)],
        outcome=Outcome(escalated=c.outcome.escalated, complaint=c.outcome.complaint, compliance_flags=list(c.outcome.compliance_flags),
                        ended_reason=c.outcome.ended_reason),
        impact=Impact(revenue_at_risk=c.impact.revenue_at_risk, refund_amount=c.impact.refund_amount,
                      compliance_exposure=c.impact.compliance_exposure, escalation_cost=c.impact.escalation_cost, currency=c.impact.currency),
        state=_state_from_wit(c.state),
    )


def _state_from_wit(s: Any) -> AgentState:
    return AgentState(
        memory_snapshot=[MemoryEntry(key=e.key, value=_parse(f"state.memory_snapshot[{i}].value", e.value)) for i, e in enumerate(s.memory_snapshot)],
        kb_version_hash=s.kb_version_hash,
        tool_registry=[ToolRef(id=t.id, version=t.version) for t in s.tool_registry],
        prompt_version=s.prompt_version,
        model=s.model,
        routing=RoutingContext(time_of_day=s.routing.time_of_day, locale=s.routing.locale, queue=s.routing.queue,
                               extra={kv.key: kv.value for kv in s.routing.extra}),
    )


def _turn_from_wit(i: int, t: Any) -> Turn:
    # This runs for every turn of every conversation: positional constructors, and no
    # closure per field for the error message (built only on error).
    parse = canonical._parse_json
    calls = []
    for c in t.tool_calls:
        try:
            arguments = parse(c.arguments)
        except (ValueError, UnicodeDecodeError) as e:
            raise PluginError(f"invalid JSON in turns[{i}].tool_calls[{len(calls)}].arguments: {e}") from None
        calls.append(ToolCall(c.id, c.name, arguments))
    r = t.tool_result
    result = None
    if r is not None:
        try:
            content = parse(r.content)
        except (ValueError, UnicodeDecodeError) as e:
            raise PluginError(f"invalid JSON in turns[{i}].tool_result.content: {e}") from None
        result = ToolResult(r.call_id, r.name, content, r.is_error)
    # The host numbers turns by position; keep what it sent.
    return Turn(t.index, _role(t.role), t.text, calls, result, t.offset_ms, t.latency_ms)


# ---- SDK -> host ------------------------------------------------------------------

def _info_to_wit(info: Any) -> Any:
    from wit_world.imports import types

    return types.PluginInfo(name=info.name, version=info.version, description=info.description)


def conversation_to_wit(c: Conversation) -> Any:
    """The WIT ``conversation`` record for an SDK conversation (adapters); turn
    indices are the turns' positions."""
    from wit_world.imports import types

    turns = []
    for i, t in enumerate(c.turns):
        r = t.tool_result
        turns.append(types.Turn(
            index=i,
            role=types.Role[t.role.upper()],
            text=t.text,
            tool_calls=[types.ToolCall(id=x.id, name=x.name, arguments=canonical.dumps(x.arguments)) for x in t.tool_calls],
            tool_result=None if r is None else types.ToolResult(call_id=r.call_id, name=r.name, content=canonical.dumps(r.content), is_error=r.is_error),
            offset_ms=t.offset_ms,
            latency_ms=t.latency_ms,
        ))
    s = c.state
    state = types.AgentState(
        memory_snapshot=[types.MemoryEntry(key=e.key, value=canonical.dumps(e.value)) for e in s.memory_snapshot],
        kb_version_hash=s.kb_version_hash,
        tool_registry=[types.ToolRef(id=t.id, version=t.version) for t in s.tool_registry],
        prompt_version=s.prompt_version,
        model=s.model,
        routing=types.RoutingContext(time_of_day=s.routing.time_of_day, locale=s.routing.locale, queue=s.routing.queue,
                                     extra=[types.KeyValue(key=k, value=s.routing.extra[k]) for k in sorted(s.routing.extra)]),
    )
    o, m = c.outcome, c.impact
    return types.Conversation(
        id=c.id,
        channel=types.Channel[c.channel.upper()],
        started_at=c.started_at,
        turns=turns,
        outcome=types.Outcome(escalated=o.escalated, complaint=o.complaint, compliance_flags=list(o.compliance_flags), ended_reason=o.ended_reason),
        impact=types.Impact(revenue_at_risk=float(m.revenue_at_risk), refund_amount=float(m.refund_amount), compliance_exposure=float(m.compliance_exposure),
                            escalation_cost=float(m.escalation_cost), currency=m.currency),
        state=state,
    )


# The host's `labels` import (WIT 0.1.3), bound when a world's export class is made:
# componentize-py keeps only the modules imported while the app is initialised, so
# it cannot be imported later, on the first call. `None` for a world built without it.
_labels: Any = None


def _bind_labels() -> None:
    global _labels
    try:
        from wit_world.imports import labels
    except ImportError:  # an older WIT (or a world without the import)
        return
    _labels = labels


def _labelled(c: Conversation) -> Conversation:
    """``c`` with the labels the host gives for this call (``labels.get``); unchanged
    when the world was built without the import (an older WIT)."""
    if _labels is not None:
        c.labels = {kv.key: kv.value for kv in _labels.get()}
    return c


def _attach_labels(items: Any) -> None:
    """Attach each converted conversation's labels for the host (``labels.attach``)."""
    items = list(items)
    if not any(x.conversation.labels for x in items):
        return
    if _labels is None:
        raise PluginError("the adapter set labels, but it was built against a WIT without the labels import (0.1.3): rebuild it with this SDK")
    from wit_world.imports import types

    for x in items:
        if x.conversation.labels:
            _labels.attach(x.conversation.id, [types.KeyValue(key=k, value=v) for k, v in sorted(x.conversation.labels.items())])


# ---- the worlds -------------------------------------------------------------------

def scorecard(plugin: Any) -> type:
    """The ``Scorer`` export class for a scorecard object (``info()``, ``score(conversation, params)``)."""
    from wit_world import exports
    from wit_world.exports import scorer

    _install_logger()
    _bind_labels()

    def result_to_wit(r: Any) -> Any:
        return scorer.ScorecardResult(
            score=float(r.score),
            criteria=[scorer.CriterionResult(name=c.name, score=float(c.score), passed=bool(c.passed), reason=c.reason, turn=c.turn) for c in r.criteria],
            flags=list(r.flags),
            failure_mode=r.failure_mode,
            suggested_criteria=[scorer.SuggestedCriterion(kind=s.kind, params=canonical.dumps(s.params), reason=s.reason) for s in r.suggested_criteria],
        )

    class Scorer(exports.Scorer):
        def info(self):
            return _guard(lambda: _info_to_wit(plugin.info()))

        def score(self, conversation, params):
            return _guard(lambda: result_to_wit(plugin.score(_labelled(conversation_from_wit(conversation)), _parse("params", params))))

    _warm_up.sdk(conversation_to_wit, conversation_from_wit, result_to_wit, "scorecard")
    _warm_up.plugin(conversation_to_wit, lambda c, params: result_to_wit(plugin.score(conversation_from_wit(c), _parse("params", params))))
    return Scorer


def assertion(plugin: Any) -> type:
    """The ``Asserter`` export class for an assertion object (``info()``, ``check(transcript, params)``)."""
    from wit_world import exports
    from wit_world.exports import asserter

    _install_logger()
    _bind_labels()

    def verdict_to_wit(v: Any) -> Any:
        return asserter.Verdict(passed=bool(v.passed), reason=v.reason, turn=v.turn)

    class Asserter(exports.Asserter):
        def info(self):
            return _guard(lambda: _info_to_wit(plugin.info()))

        def check(self, transcript, params):
            return _guard(lambda: verdict_to_wit(plugin.check(_labelled(conversation_from_wit(transcript)), _parse("params", params))))

    _warm_up.sdk(conversation_to_wit, conversation_from_wit, verdict_to_wit, "assertion")
    _warm_up.plugin(conversation_to_wit, lambda c, params: verdict_to_wit(plugin.check(conversation_from_wit(c), _parse("params", params))))
    return Asserter


def adapter(plugin: Any) -> type:
    """The ``Converter`` export class for an adapter object (``info()``, ``convert(data, options)``)."""
    from wit_world import exports
    from wit_world.exports import converter

    _install_logger()
    _bind_labels()

    def converted_to_wit(items: Any) -> Any:
        items = list(items)
        _attach_labels(items)
        return [converter.Converted(conversation=conversation_to_wit(x.conversation), missing=list(x.missing)) for x in items]

    class Converter(exports.Converter):
        def info(self):
            return _guard(lambda: _info_to_wit(plugin.info()))

        def convert(self, input, options):
            return _guard(lambda: converted_to_wit(plugin.convert(bytes(input), _parse("options", options))))

    return Converter


def _request_from_wit(r: Any, where: str) -> ToolRequest:
    return ToolRequest(tool=r.tool, version=r.version, arguments=_parse(f"{where}.arguments", r.arguments))


def simulator(plugin: Any) -> type:
    """The ``Simulation`` export class for a simulator object (``info()``,
    ``seed(observed, params)``, ``call(world, request, params)``; since WIT 0.1.2).

    ``seed`` must return the world (JSON data; the host requires an object) and
    ``call`` a ``Simulated`` or ``None`` (the tool is not modelled); anything else
    is a bug in the plugin, reported to the host before the call traps."""
    from wit_world import exports
    from wit_world.exports import simulation

    _install_logger()

    def answer_to_wit(a: Any) -> Any:
        if a is None:
            return None
        if not isinstance(a, Simulated):
            raise TypeError(f"call must return a Simulated or None, got {type(a).__name__}")
        if not isinstance(a.is_error, bool):
            raise TypeError(f"answer.is_error must be a bool, got {type(a.is_error).__name__}")
        return simulation.Answer(result=canonical.dumps(a.result), is_error=a.is_error, world=canonical.dumps(a.world))

    def seed(observed: Any, params: str) -> str:
        params = _parse("params", params)
        items = [Observed(request=_request_from_wit(o.request, f"observed[{i}].request"), result=_parse(f"observed[{i}].result", o.result),
                          is_error=o.is_error) for i, o in enumerate(observed)]
        return canonical.dumps(plugin.seed(items, params))

    def call(world: str, request: Any, params: str) -> Any:
        world = _parse("world", world)
        params = _parse("params", params)
        return answer_to_wit(plugin.call(world, _request_from_wit(request, "request"), params))

    class Simulation(exports.Simulation):
        def info(self):
            return _guard(lambda: _info_to_wit(plugin.info()))

        def seed(self, observed, params):
            return _guard(lambda: seed(observed, params))

        def call(self, world, request, params):
            return _guard(lambda: call(world, request, params))

    return Simulation
