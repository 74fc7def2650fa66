"""Put an existing agent under ``ratchet gate``: the agent side of the exec protocol.

``ratchet gate`` drives the agent under test as a subprocess speaking JSON lines
(docs/agent-protocol.md). This module is that protocol, so the agent's author writes
none of it:

* :func:`serve` runs the whole protocol loop (``hello``/``ready``, ``session.start``
  with its state snapshot, customer messages, tool calls and their results,
  escalations, ``session.end``, a clean exit when the gate closes stdin) around one
  function the author supplies, ``respond(turns, session)``: the agent's answer to
  the customer's latest message. It may be a plain function or a coroutine function
  (a framework's ``await Runner.run(...)``).
* :func:`tool` wraps the agent's tool functions. Called while :func:`serve` is
  handling a turn, a wrapped tool is **not executed**: the call goes to ratchet, which
  answers it from the scenario (recorded fixtures, then the tool simulator, then the
  missing-fixture policy), and the function returns that answer. Called anywhere else
  (production, a REPL, a unit test) it runs the real function. The same code in both
  places. :func:`escalation` wraps the hand-off-to-a-human function the same way:
  under the gate calling it is the protocol's ``escalate``.

The session state. ``session.start`` carries the agent state snapshot captured when
the failure happened (the scenario's ``[state]``: ``memory_snapshot``,
``tool_registry``, ``kb_version_hash``, ``routing``, ...). It reaches the agent as the
:class:`Session` passed to ``respond`` (and returned by :func:`current_session` from
anywhere in the agent, e.g. a framework's instructions callback): ``session.state``
is the snapshot exactly as sent, ``session.memory`` its memory entries as a dict
(``{"customer.email": "[EMAIL_1]", ...}``; the first entry of a key wins), and
``session.data`` a dict of the agent's own for the length of the session (keep a
framework's message history there). ``state["prompt_version"]`` and ``["model"]`` say
what production ran: the agent keeps its own prompt and model, that is what the
gate tests.

    from ratchet_sdk.agent import serve, tool, escalation

    @tool(version="1.4.0")
    def lookup_account(email=None, account_id=None):
        return billing.lookup(email=email, account_id=account_id)   # production only

    def respond(turns, session):
        account = lookup_account(email=session.memory["customer.email"])
        ...
        return "Your subscription has been cancelled."

    if __name__ == "__main__":
        sys.exit(serve(respond, agent="support-agent", version="v2"))

Protocol output goes to the process's real stdout; while :func:`serve` runs, anything
else written to stdout (``print``, a library's banner, a child process) is sent to
stderr, which the gate keeps and shows when the agent fails. Standard library only.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import io
import json
import os
import sys
import threading
import traceback
from typing import Any, Callable, Dict, List, Optional, TextIO

__all__ = ["PROTOCOL", "Escalate", "ProtocolError", "Session", "SessionEnded", "ToolError", "current_session", "escalation",
           "serve", "tool", "under_gate"]

#: The protocol version this module speaks (docs/agent-protocol.md).
PROTOCOL = 1


class Escalate:
    """Return ``Escalate(reason)`` from ``respond`` to hand the conversation to a human
    (the protocol's ``escalate``: it ends the conversation)."""

    def __init__(self, reason: str = "") -> None:
        self.reason = str(reason)

    def __repr__(self) -> str:
        return f"Escalate({self.reason!r})"

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Escalate) and other.reason == self.reason


class ToolError(Exception):
    """Raised by a wrapped tool when ratchet answers the call with an error result
    (``is_error: true``: a recorded failure, or no fixture for the call). ``content``
    is the result; agents handle it like the exception their real tool raises."""

    def __init__(self, tool: str, content: Any) -> None:
        self.tool = tool
        self.content = content
        text = content if isinstance(content, str) else json.dumps(content, sort_keys=True)
        super().__init__(f"{tool}: {text}")


class ProtocolError(Exception):
    """The gate sent something this side of the protocol cannot accept."""


class SessionEnded(BaseException):
    """The gate ended the session while the agent was waiting for a tool result (the
    missing-fixture policy ``end``, the tool-call limit). It unwinds ``respond`` (a
    ``BaseException``, so an agent's ``except Exception`` does not swallow it);
    :func:`serve` answers ``session.ended``."""


class _HostGone(BaseException):
    """stdin closed while waiting for a tool result: the gate is gone."""


class Session:
    """One scenario's session, as started by the gate.

    ``id``, ``scenario``, ``channel``: from ``session.start``. ``state``: the agent state
    snapshot as sent (a dict; ``{}`` when the scenario has none). ``memory``: its
    ``memory_snapshot`` as a dict, key -> value, first entry of a key wins. ``data``:
    the agent's own per-session storage. ``turns``: the transcript so far, canonical
    shape (``{"role": "customer"|"agent"|"tool", "text", "tool_calls", "tool_result"}``).
    ``escalated``: the escalation reason, once the agent escalated."""

    def __init__(self, id: str, scenario: str = "", channel: str = "", state: Optional[dict] = None) -> None:
        self.id = id
        self.scenario = scenario
        self.channel = channel
        self.state: Dict[str, Any] = state if isinstance(state, dict) else {}
        self.memory: Dict[str, Any] = {}
        for entry in self.state.get("memory_snapshot") or []:
            if isinstance(entry, dict) and "key" in entry:
                self.memory.setdefault(entry["key"], entry.get("value"))
        self.data: Dict[str, Any] = {}
        self.turns: List[dict] = []
        self.escalated: Optional[str] = None
        self._calls = 0

    @property
    def tool_versions(self) -> Dict[str, str]:
        """The snapshot's tool registry, tool id -> version."""
        return {t["id"]: t.get("version", "") for t in self.state.get("tool_registry") or [] if isinstance(t, dict) and "id" in t}

    def escalate(self, reason: str = "") -> None:
        """Hand the conversation to a human: once ``respond`` returns, the gate gets
        ``escalate`` with ``reason`` (whatever ``respond`` returned)."""
        if self.escalated is None:
            self.escalated = str(reason)

    def next_call_id(self) -> str:
        """``call-1``, ``call-2``, ...: deterministic, so replays are identical."""
        self._calls += 1
        return f"call-{self._calls}"

    def __repr__(self) -> str:
        return f"Session({self.id!r}, scenario={self.scenario!r})"


class _Channel:
    """The protocol's two streams. One tool call at a time (a lock), so tools called
    from threads or concurrent tasks take turns."""

    def __init__(self, inp: TextIO, out: TextIO) -> None:
        self.inp = inp
        self.out = out
        self.lock = threading.RLock()

    def send(self, message: dict) -> None:
        self.out.write(json.dumps(message, separators=(",", ":"), ensure_ascii=False) + "\n")
        self.out.flush()  # the gate reads line by line

    def receive(self) -> Optional[dict]:
        """The next message; None at EOF. Blank lines are skipped."""
        while True:
            line = self.inp.readline()
            if not line:
                return None
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
            except ValueError as e:
                raise ProtocolError(f"not JSON ({e}): {line.strip()[:200]}")
            if not isinstance(msg, dict):
                raise ProtocolError(f"not a JSON object: {line.strip()[:200]}")
            return msg


# The session being served, and its channel, while serve() handles a turn. A module
# global, not a context variable: frameworks run tools on other threads and tasks.
_active: Optional[tuple] = None
_active_lock = threading.Lock()


def current_session() -> Optional[Session]:
    """The session :func:`serve` is handling a turn of, or None (not under the gate,
    or between turns)."""
    active = _active
    return active[1] if active else None


def under_gate() -> bool:
    """True while :func:`serve` is handling a turn: wrapped tools go to ratchet."""
    return _active is not None


def _call_through_gate(name: str, version: Optional[str], arguments: dict) -> Any:
    channel, session = _active
    with channel.lock:
        call_id = session.next_call_id()
        session.turns.append({"role": "agent", "text": "", "tool_calls": [{"id": call_id, "name": name, "arguments": arguments}]})
        msg = {"type": "tool.call", "session": session.id, "call_id": call_id, "name": name, "arguments": arguments}
        if version:
            msg["version"] = version
        channel.send(msg)
        while True:
            reply = channel.receive()
            if reply is None:
                raise _HostGone()
            kind = reply.get("type")
            if kind == "session.end" and reply.get("session") == session.id:
                raise SessionEnded(session.id)
            if kind != "tool.result":
                raise ProtocolError(f"expected tool.result for call {call_id!r}, got {kind!r}")
            if reply.get("session") != session.id or reply.get("call_id") != call_id:
                raise ProtocolError(f"tool.result for session {reply.get('session')!r} call {reply.get('call_id')!r}, "
                                    f"expected session {session.id!r} call {call_id!r}")
            content, is_error = reply.get("content"), bool(reply.get("is_error"))
            session.turns.append({"role": "tool", "tool_result": {"call_id": call_id, "name": name, "content": content, "is_error": is_error}})
            if is_error:
                raise ToolError(name, content)
            return content


def _arguments(sig: inspect.Signature, args: tuple, kwargs: dict, name: str) -> dict:
    """The call's arguments as the JSON object ratchet matches fixtures on: every
    argument passed, by parameter name, except those equal to their default (a
    framework passes ``account_id=None`` for an argument the model left out)."""
    bound = sig.bind(*args, **kwargs)
    out: Dict[str, Any] = {}
    for key, value in bound.arguments.items():
        param = sig.parameters[key]
        if param.kind == param.VAR_KEYWORD:
            out.update(value)
            continue
        if param.kind == param.VAR_POSITIONAL:
            raise TypeError(f"tool {name}: *{key} cannot be sent to ratchet (arguments are a JSON object)")
        if param.default is not param.empty and value is param.default:
            continue
        if param.default is not param.empty and value == param.default and type(value) is type(param.default):
            continue
        out[key] = value
    try:
        json.dumps(out)
    except (TypeError, ValueError) as e:
        raise TypeError(f"tool {name}: its arguments are not JSON ({e})")
    return out


def tool(fn: Optional[Callable] = None, *, name: Optional[str] = None, version: Optional[str] = None) -> Callable:
    """Wrap a tool function: under the gate its calls are answered by ratchet, else it
    runs. ``@tool``, ``@tool(version="1.4.0")``, ``@tool(name="lookup", version=...)``.

    Under the gate, a call sends ``tool.call`` with ``name`` (default: the function's
    name), ``version`` (default: none, so ratchet takes the scenario's tool registry)
    and the arguments by parameter name, defaults left out; it returns the result's
    ``content`` (a dict, list, string, number...) or raises :class:`ToolError` when the
    result is an error. Works on plain and ``async`` functions, and under a
    framework's decorator (``@function_tool`` over ``@tool``): the signature, type
    hints and docstring are the wrapped function's."""

    def wrap(f: Callable) -> Callable:
        tool_name = name or f.__name__
        sig = inspect.signature(f)

        if inspect.iscoroutinefunction(f):
            @functools.wraps(f)
            async def async_wrapper(*args, **kwargs):
                if _active is None:
                    return await f(*args, **kwargs)
                return _call_through_gate(tool_name, version, _arguments(sig, args, kwargs, tool_name))
            wrapper = async_wrapper
        else:
            @functools.wraps(f)
            def wrapper(*args, **kwargs):
                if _active is None:
                    return f(*args, **kwargs)
                return _call_through_gate(tool_name, version, _arguments(sig, args, kwargs, tool_name))
        wrapper.ratchet_tool = {"name": tool_name, "version": version}
        return wrapper

    return wrap(fn) if fn is not None else wrap


def escalation(fn: Optional[Callable] = None, *, reason: str = "reason",
               result: Any = "The conversation has been handed to a human agent.") -> Callable:
    """Wrap the agent's hand-off-to-a-human function: under the gate, calling it
    escalates the session (the protocol's ``escalate``, with the argument named
    ``reason`` as the reason) and returns ``result`` without running it; elsewhere it
    runs. The framework may finish its run afterwards: whatever ``respond`` returns,
    the gate gets the escalation, which ends the conversation."""

    def wrap(f: Callable) -> Callable:
        sig = inspect.signature(f)

        def gate(args, kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            _active[1].escalate(str(bound.arguments.get(reason) or ""))
            return result

        if inspect.iscoroutinefunction(f):
            @functools.wraps(f)
            async def async_wrapper(*args, **kwargs):
                return await f(*args, **kwargs) if _active is None else gate(args, kwargs)
            wrapper = async_wrapper
        else:
            @functools.wraps(f)
            def wrapper(*args, **kwargs):
                return f(*args, **kwargs) if _active is None else gate(args, kwargs)
        wrapper.ratchet_escalation = True
        return wrapper

    return wrap(fn) if fn is not None else wrap


def _log(agent: str, text: str) -> None:
    sys.stderr.write(f"{agent}: {text}\n")  # kept by the gate, shown when the agent fails
    sys.stderr.flush()


def _protocol_streams() -> tuple:
    """The real stdin/stdout for the protocol, with fd 1 (and sys.stdout) pointed at
    stderr so stray output cannot break a protocol line."""
    sys.stdout.flush()
    out_fd = os.dup(1)
    os.dup2(2, 1)
    out = io.TextIOWrapper(os.fdopen(out_fd, "wb"), encoding="utf-8", newline="\n", write_through=True)
    sys.stdout = sys.stderr
    inp = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", newline="\n") if hasattr(sys.stdin, "buffer") else sys.stdin
    return inp, out


def serve(respond: Callable, *, agent: str = "agent", version: str = "", stdin: Optional[TextIO] = None,
          stdout: Optional[TextIO] = None) -> int:
    """Serve ``respond`` to ``ratchet gate`` over the exec protocol until the gate
    closes stdin. Returns the exit status: 0 on a clean end, 2 on a protocol error
    (reported on stderr), 1 when ``respond`` raised (its traceback on stderr; the gate
    reports the scenario as ``error`` with it). Use ``sys.exit(serve(...))``.

    ``respond(turns, session)`` answers the customer's latest message
    (``turns[-1]["text"]``): it returns the reply text, or ``Escalate(reason)`` (or
    calls :func:`escalation`-wrapped code / ``session.escalate``). It may call
    :func:`tool`-wrapped functions (answered by ratchet) and may be ``async``.
    ``agent`` and ``version`` name the agent in the gate's reports.

    ``stdin``/``stdout`` default to the process's own (stdout then protected as the
    module docstring says); tests pass streams."""
    global _active
    if stdin is None and stdout is None:
        inp, out = _protocol_streams()
    else:
        inp, out = stdin or sys.stdin, stdout or sys.stdout
    channel = _Channel(inp, out)
    session: Optional[Session] = None
    loop: Optional[asyncio.AbstractEventLoop] = None

    def answer(session: Session) -> None:
        nonlocal loop
        global _active
        with _active_lock:
            _active = (channel, session)
        try:
            if inspect.iscoroutinefunction(respond):
                if loop is None:  # one loop for the process: clients bound to it stay usable across turns
                    loop = asyncio.new_event_loop()
                reply = loop.run_until_complete(respond(session.turns, session))
            else:
                reply = respond(session.turns, session)
                if inspect.isawaitable(reply):
                    if loop is None:
                        loop = asyncio.new_event_loop()
                    reply = loop.run_until_complete(reply)
        finally:
            with _active_lock:
                _active = None
        if isinstance(reply, Escalate):
            session.escalate(reply.reason)
        if session.escalated is not None:
            channel.send({"type": "escalate", "session": session.id, "reason": session.escalated})
            return
        if not isinstance(reply, str):
            raise TypeError(f"respond returned {type(reply).__name__}: it must return the reply text (str) or Escalate(reason)")
        session.turns.append({"role": "agent", "text": reply})
        channel.send({"type": "agent.message", "session": session.id, "text": reply})

    try:
        while True:
            msg = channel.receive()
            if msg is None:
                return 0  # the gate closed stdin: done
            kind = msg.get("type")
            if kind == "hello":
                if msg.get("protocol") != PROTOCOL:
                    raise ProtocolError(f"unsupported protocol {msg.get('protocol')!r} (this agent speaks {PROTOCOL})")
                channel.send({"type": "ready", "protocol": PROTOCOL, "agent": agent, "version": version, "concurrent_sessions": False})
            elif kind == "session.start":
                if session is not None:
                    raise ProtocolError(f"session {msg.get('session')!r} started while {session.id!r} is running "
                                        "(this agent serves one session at a time: concurrent_sessions false)")
                if not isinstance(msg.get("session"), str):
                    raise ProtocolError("session.start without a session id")
                session = Session(msg["session"], msg.get("scenario") or "", msg.get("channel") or "", msg.get("state"))
                _log(agent, f"[{session.id}] start {session.scenario} ({session.channel})")
            elif kind == "customer.message":
                if session is None or msg.get("session") != session.id:
                    raise ProtocolError(f"customer.message for unknown session {msg.get('session')!r}")
                if session.escalated is not None:
                    raise ProtocolError(f"customer.message for session {session.id!r} after it escalated")
                if not isinstance(msg.get("text"), str):
                    raise ProtocolError("customer.message without text")
                session.turns.append({"role": "customer", "text": msg["text"]})
                try:
                    answer(session)
                except SessionEnded:
                    _log(agent, f"[{session.id}] ended by the gate during the turn")
                    channel.send({"type": "session.ended", "session": session.id})
                    session = None
            elif kind == "session.end":
                sid = msg.get("session")
                if session is not None and sid == session.id:
                    session = None
                _log(agent, f"[{sid}] end")
                channel.send({"type": "session.ended", "session": sid})
            elif kind == "tool.result":
                raise ProtocolError(f"tool.result for call {msg.get('call_id')!r}: no tool call is pending")
            else:
                raise ProtocolError(f"unknown message type {kind!r}")
    except _HostGone:
        return 0
    except ProtocolError as e:
        _log(agent, f"protocol error: {e}")
        return 2
    except Exception:
        _log(agent, "respond failed:\n" + traceback.format_exc().rstrip())
        return 1
    finally:
        if loop is not None:
            loop.close()
