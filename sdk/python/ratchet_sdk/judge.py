"""Ask a language model from an LLM-judged scorecard or assertion: the Python twin
of the Rust SDK's ``ratchet_sdk::judge`` (``sdk/rust/src/judge.rs``).

Inside a component, :func:`complete` calls the host's ``ratchet:plugin/model``
import (WIT 0.1.1). The host sends the request to the endpoint configured in
``[model]`` and records the answer under the sha256 of the canonical request;
``ratchet gate`` replays recorded answers only, so the same question always gets
the same answer and the verdict is deterministic. The plugin needs
``grant_model = true`` in its ``[plugins.NAME]`` entry; without it every call
raises a ``JudgeError`` of kind ``denied``.

The same logic builds the same request as the Rust SDK: same messages, same
temperature, same schema, and :func:`render_transcript` renders a conversation to
the same bytes, so a Python port of a Rust judge asks the *same* question and
shares its recordings.

In native unit tests (plain ``python3 -m unittest``) there is no host: install a
stand-in judge with :func:`set_native_judge` (per thread, like Rust's)::

    from ratchet_sdk import judge
    from ratchet_sdk.judge import Request, Response

    judge.set_native_judge(lambda req: Response.text('{"answer": "no", "reason": "never said it", "turn": 1}'))
    req = (Request().system("You grade support conversations. Answer in JSON.")
           .user("QUESTION: ...\\n\\nTRANSCRIPT:\\n" + judge.render_transcript(conversation))
           .schema(judge.yes_no_schema()))
    answer, _ = judge.complete_json(req)
    verdict = judge.parse_yes_no(answer, len(conversation.turns))

A component imports ``ratchet:plugin/model`` only if its app imports this module
(``python3 -m ratchet_sdk.build`` looks; ``[tool.ratchet] model = true|false``
overrides), like a Rust plugin that never calls the judge.

Names: ``Request`` has the Rust builder's ``system``/``user``/``assistant``/``schema``;
the Rust ``.model(m)``/``.max_tokens(n)`` setters are ``with_model``/``with_max_tokens``
here (or constructor keywords), because ``model`` and ``max_tokens`` are the
request's attributes, which a test judge reads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Union

from . import _runtime
from . import canonical as _canonical
from .errors import PluginError
from .text import trim as _trim

__all__ = [
    "ROLES", "Message", "Request", "Response", "JudgeError", "YesNo",
    "complete", "complete_json", "set_native_judge", "render_transcript", "yes_no_schema", "parse_yes_no",
]

#: Who says a message: ``system`` (instructions), ``user`` (the question and the
#: transcript), ``assistant`` (a worked example).
ROLES = ("system", "user", "assistant")


@dataclass
class Message:
    """One chat message."""

    #: ``system``, ``user`` or ``assistant``.
    role: str
    content: str


@dataclass
class Request:
    """A chat completion request, built with chained calls::

        Request().system("...").user("...").with_max_tokens(300).schema(yes_no_schema())

    ``model`` empty means the judge model configured in ``[model]``; temperature is
    0 by default (judging wants the likeliest answer)."""

    model: str = ""
    messages: list = field(default_factory=list)
    temperature: float = 0.0
    max_tokens: Optional[int] = None
    #: A JSON Schema (JSON data, e.g. a dict) the answer must follow: sent as a
    #: strict ``json_schema`` response format.
    json_schema: Any = None

    def _push(self, role: str, text: str) -> "Request":
        if not isinstance(text, str):
            raise TypeError(f"a {role} message is a str, got {type(text).__name__}")
        self.messages.append(Message(role, text))
        return self

    def system(self, text: str) -> "Request":
        """Adds a system message."""
        return self._push("system", text)

    def user(self, text: str) -> "Request":
        """Adds a user message."""
        return self._push("user", text)

    def assistant(self, text: str) -> "Request":
        """Adds an assistant message (a worked example)."""
        return self._push("assistant", text)

    def with_model(self, model: str) -> "Request":
        """Asks a specific model instead of the configured one (Rust: ``.model(m)``)."""
        self.model = model
        return self

    def with_max_tokens(self, n: int) -> "Request":
        """Limits the answer's length (Rust: ``.max_tokens(n)``)."""
        self.max_tokens = n
        return self

    def with_temperature(self, t: float) -> "Request":
        """Sets the sampling temperature (0..=2)."""
        self.temperature = float(t)
        return self

    def schema(self, schema: Any) -> "Request":
        """Requires a structured answer following ``schema`` (JSON data)."""
        self.json_schema = schema
        return self


@dataclass
class Response:
    """The model's answer."""

    #: The answer text (JSON text when a schema was set).
    content: str
    #: The model that answered.
    model: str = "native-test-judge"
    #: ``sha256:<hex>`` of the canonical request: the recording's name.
    key: str = ""

    @classmethod
    def text(cls, content: str) -> "Response":
        """A response with this text (for native test judges)."""
        return cls(content=content)


class JudgeError(PluginError):
    """Why there is no answer; ``kind`` is ``denied``, ``not_recorded``, ``unavailable``
    or ``invalid`` and ``message`` the host's explanation. ``str(e)`` is the Rust
    SDK's ``Display`` (``model call denied: ...``), and as a ``PluginError`` an
    uncaught one becomes the call's error, like ``?`` on the Rust ``Result``."""

    _PREFIX = {
        "denied": "model call denied",
        "not_recorded": "model answer not recorded",
        "unavailable": "model unavailable",
        "invalid": "invalid model request",
    }

    def __init__(self, kind: str, message: str):
        if kind not in self._PREFIX:
            raise ValueError(f"unknown JudgeError kind {kind!r}, expected one of {', '.join(self._PREFIX)}")
        super().__init__(f"{self._PREFIX[kind]}: {message}")
        self.kind = kind
        #: The host's explanation, without the prefix.
        self.detail = message

    def __repr__(self) -> str:
        return f"JudgeError({self.kind!r}, {self.detail!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JudgeError) and (self.kind, self.detail) == (other.kind, other.detail)

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def denied(cls, message: str) -> "JudgeError":
        """The plugin has no ``grant_model = true``."""
        return cls("denied", message)

    @classmethod
    def not_recorded(cls, message: str) -> "JudgeError":
        """Replay mode and this question was never recorded."""
        return cls("not_recorded", message)

    @classmethod
    def unavailable(cls, message: str) -> "JudgeError":
        """The endpoint failed or is not configured."""
        return cls("unavailable", message)

    @classmethod
    def invalid(cls, message: str) -> "JudgeError":
        """The request is unusable."""
        return cls("invalid", message)


# ---- asking -------------------------------------------------------------------------

NativeJudge = Callable[[Request], Union[Response, str]]

_native = threading.local()


def set_native_judge(judge: Optional[NativeJudge]) -> None:
    """Native tests only: answer this thread's :func:`complete` calls with ``judge``
    (a function of the :class:`Request` returning a :class:`Response` or the answer
    text, or raising :class:`JudgeError`); ``None`` removes it."""
    _native.judge = judge


def _native_call(request: Request) -> Response:
    judge = getattr(_native, "judge", None)
    if judge is None:
        raise JudgeError.unavailable("no judge in a native test: install one with ratchet_sdk.judge.set_native_judge")
    r = judge(request)
    if isinstance(r, str):
        r = Response.text(r)
    if not isinstance(r, Response):
        raise TypeError(f"a native judge returns a Response or a str, got {type(r).__name__}")
    return r


def _component_call(request: Request) -> Response:
    try:
        from wit_world.imports import model  # generated by componentize-py for the world
    except ImportError:
        raise JudgeError.unavailable(
            "this component was built without the ratchet:plugin/model import (WIT 0.1.1): its app does not import "
            "ratchet_sdk.judge; set `model = true` under [tool.ratchet] in pyproject.toml and rebuild") from None
    from componentize_py_types import Err

    roles = {"system": model.MessageRole.SYSTEM, "user": model.MessageRole.USER, "assistant": model.MessageRole.ASSISTANT}
    try:
        messages = [model.Message(role=roles[m.role], content=m.content) for m in request.messages]
    except KeyError as e:
        raise JudgeError.invalid(f"unknown message role {e.args[0]!r}, expected one of {', '.join(ROLES)}") from None
    req = model.ChatRequest(
        model=request.model,
        messages=messages,
        temperature=float(request.temperature),
        max_tokens=request.max_tokens,
        json_schema=None if request.json_schema is None else _canonical.dumps(request.json_schema),
    )
    try:
        r = model.complete(req)
    except Err as e:
        v = e.value
        kinds = {model.ModelError_Denied: "denied", model.ModelError_NotRecorded: "not_recorded",
                 model.ModelError_Unavailable: "unavailable", model.ModelError_Invalid: "invalid"}
        raise JudgeError(kinds[type(v)], v.value) from None
    return Response(content=r.content, model=r.model, key=r.key)


def complete(request: Request) -> Response:
    """Asks the model: through the host inside a component, through the judge set
    with :func:`set_native_judge` natively. Raises :class:`JudgeError`."""
    if _runtime.in_component:
        return _component_call(request)
    return _native_call(request)


def complete_json(request: Request) -> tuple:
    """:func:`complete`, then parse the answer as JSON: ``(value, response)``.
    Failures raise ``PluginError`` with a message ready to be the call's error
    (the host's ``model ...`` message, or ``the judge's answer is not JSON (...)``)."""
    r = complete(request)
    try:
        v = _canonical.loads(_trim(r.content), "the judge's answer")
    except _canonical.ParseError as e:
        detail = str(e).split(": ", 1)[-1]
        raise PluginError(f"the judge's answer is not JSON ({detail}): {r.content}") from None
    return v, r


# ---- prompts and answers ------------------------------------------------------------

_WHO = {"customer": "CUSTOMER", "agent": "AGENT", "tool": "TOOL", "system": "SYSTEM"}


def render_transcript(conversation: Any) -> str:
    """The conversation as plain text for a judge prompt, one line per turn with its
    position in brackets (so the judge can name the deciding turn), tool calls and
    results as canonical JSON: byte for byte what the Rust SDK renders, so the same
    conversation is the same question (and the same recording) in every language::

        [0] CUSTOMER: Please cancel my plan.
        [1] AGENT calls lookup_account {"email":"[EMAIL_1]"}
        [2] TOOL lookup_account returned {"plan":"premium","subscription_status":"active"}
        [3] AGENT: Done - your plan is cancelled.
    """
    out = []
    for i, t in enumerate(conversation.turns):
        who = _WHO[t.role]
        text = _trim(t.text)
        if text:
            out.append(f"[{i}] {who}: {text.replace(chr(10), ' ')}\n")
        for c in t.tool_calls:
            out.append(f"[{i}] {who} calls {c.name} {_canonical.dumps(c.arguments)}\n")
        r = t.tool_result
        if r is not None:
            verb = "failed with" if r.is_error else "returned"
            out.append(f"[{i}] {who} {r.name} {verb} {_canonical.dumps(r.content)}\n")
        if not text and not t.tool_calls and r is None:
            out.append(f"[{i}] {who}: (empty)\n")
    return "".join(out)


def yes_no_schema() -> dict:
    """The JSON Schema of a yes/no judgement: ``{"answer": "yes"|"no", "reason": string,
    "turn": integer|null}`` (strict: all fields required, nothing else allowed)."""
    return {
        "type": "object",
        "properties": {
            "answer": {"type": "string", "enum": ["yes", "no"]},
            "reason": {"type": "string"},
            "turn": {"type": ["integer", "null"]},
        },
        "required": ["answer", "reason", "turn"],
        "additionalProperties": False,
    }


@dataclass
class YesNo:
    """A parsed yes/no judgement."""

    #: ``True`` for "yes".
    yes: bool
    #: The judge's one-sentence reason (trimmed).
    reason: str
    #: The turn the judge pointed at, if it is a turn of the conversation.
    turn: Optional[int]

    def reason_line(self) -> str:
        """The reason as a verdict or criterion line: ``judge: <the judge's sentence>``
        (``judge: yes`` / ``judge: no`` when it gave none)."""
        return f"judge: {self.reason}" if self.reason else f"judge: {'yes' if self.yes else 'no'}"


_U64 = 1 << 64


def _ascii_lower(s: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


def parse_yes_no(answer: Any, turns: int) -> YesNo:
    """Reads a :func:`yes_no_schema` answer (parsed JSON); ``turns`` bounds the turn
    index (an index outside the conversation is dropped, not trusted). Raises
    ``PluginError`` when there is no ``answer`` of "yes" or "no"."""
    d = answer if isinstance(answer, dict) else {}
    a = d.get("answer")
    a = _ascii_lower(_trim(a)) if isinstance(a, str) else None
    if a == "yes":
        yes = True
    elif a == "no":
        yes = False
    else:
        raise PluginError(f"the judge's answer has no `answer` of \"yes\" or \"no\": {_canonical.dumps(answer)}")
    reason = d.get("reason")
    reason = _trim(reason) if isinstance(reason, str) else ""
    t = d.get("turn")
    turn = t if isinstance(t, int) and not isinstance(t, bool) and 0 <= t < _U64 and t < turns else None
    return YesNo(yes=yes, reason=reason, turn=turn)
