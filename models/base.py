"""One chat interface for every backend: messages with text and timestamped images, structured output, usage.

    model = load_model("llamacpp:qwen2.5-coder-1.5b")
    reply = model.chat([Message.user("Is a bus in 0:30-0:40?")], schema=YesNo)
    reply.data        # a YesNo instance (or a dict for a JSON-schema dict)
    reply.usage       # Usage(prompt_tokens=..., completion_tokens=..., seconds=..., calls=1)

    reply = model.chat(messages, tools=[Tool("count", "how many times", {...}), ...])
    reply.calls       # (ToolCall("count", {"query": "pump"}),): the tool the model called and its arguments

Backends implement ``_complete`` only. Structured output: a backend that can constrain decoding to a JSON schema
(llama.cpp grammars, vLLM/OpenAI ``response_format``) gets the schema; the reply is then parsed and validated, and
when that fails the model is asked once more with the error, then ``ModelError`` is raised. Tools: a backend with
native tool calls (``native_tools``: OpenAI-compatible servers) gets them as functions; every other backend, and one
whose server rejects them (remembered), gets one JSON schema whose alternatives are the tools
(``{"tool": name, ...arguments}``), constrained or instructed like any schema.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import ModelError, ReplyError

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ImagePart:
    """A frame given to a vision model; ``t`` (seconds) and ``video`` say where it comes from."""

    path: str
    t: float | None = None
    video: str | None = None

    def label(self) -> str:
        from ..records import fmt_time

        where = f" of {self.video}" if self.video else ""
        return f"[frame at {fmt_time(self.t)}{where}]" if self.t is not None else f"[image{where}]"

    def data_url(self) -> str:
        data = Path(self.path).read_bytes()
        mime = "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
        return f"data:{mime};base64,{base64.b64encode(data).decode()}"


Part = str | ImagePart


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model made: the tool's name and its arguments (``id``: the server's, for the tool's reply)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    problem: str = ""
    """Why the arguments could not be read (not JSON), else ""."""

    def json(self) -> str:
        return json.dumps({"tool": self.name, **self.arguments}, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool offered to the model: its name, what it does, and its arguments as a JSON schema (an object)."""

    name: str
    description: str
    parameters: dict[str, Any]

    def alternative(self) -> dict[str, Any]:
        """This tool as one alternative of a JSON-schema reply: ``{"tool": name, ...arguments}``."""
        props = {"tool": {"const": self.name}, **self.parameters.get("properties", {})}
        return {"type": "object", "properties": props, "required": ["tool", *self.parameters.get("required", [])]}


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: tuple[Part, ...]
    calls: tuple[ToolCall, ...] = ()
    """An assistant's tool calls (native tools)."""
    call_id: str = ""
    """A ``tool`` message: the id of the call it answers."""

    @classmethod
    def system(cls, *parts: Part) -> Message:
        return cls("system", tuple(parts))

    @classmethod
    def user(cls, *parts: Part) -> Message:
        return cls("user", tuple(parts))

    @classmethod
    def assistant(cls, *parts: Part, calls: tuple[ToolCall, ...] = ()) -> Message:
        return cls("assistant", tuple(parts), calls)

    @classmethod
    def tool(cls, call_id: str, *parts: Part) -> Message:
        """What a tool call returned (the reply to an assistant's call ``call_id``)."""
        return cls("tool", tuple(parts), (), call_id)

    @property
    def images(self) -> tuple[ImagePart, ...]:
        return tuple(p for p in self.content if isinstance(p, ImagePart))

    def text(self) -> str:
        """The text parts, images replaced by their label (for text-only backends and logs); an assistant's tool
        calls as their JSON."""
        text = "\n".join(p if isinstance(p, str) else p.label() for p in self.content)
        return "\n".join([text, *(c.json() for c in self.calls)] if text else [c.json() for c in self.calls])

    def plain(self) -> Message:
        """This message for a backend without native tools: calls as text, a tool's reply as a user turn."""
        if not self.calls and self.role != "tool":
            return self
        return Message("user" if self.role == "tool" else self.role, (self.text(),))


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens,
                     self.seconds + other.seconds, self.calls + other.calls)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class ChatResponse:
    text: str
    usage: Usage
    model: str
    data: Any = None
    """The parsed structured output (a pydantic instance or a dict) when a schema was asked for."""
    calls: tuple[ToolCall, ...] = ()
    """The tools the model called, when tools were offered (none when it replied with text only)."""


@dataclass
class _Schema:
    """A pydantic model class or a JSON-schema dict, with its validator."""

    spec: Any
    json_schema: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        if isinstance(self.spec, dict):
            self.json_schema = self.spec
        elif hasattr(self.spec, "model_json_schema"):
            self.json_schema = self.spec.model_json_schema()
        else:
            raise TypeError(f"schema must be a pydantic model class or a JSON-schema dict, not {self.spec!r}")

    def parse(self, text: str) -> Any:
        """The validated object; raises ValueError with a short reason."""
        raw = extract_json(text)
        if isinstance(self.spec, dict):
            _check_required(raw, self.spec)
            return raw
        from pydantic import ValidationError

        try:
            return self.spec.model_validate(raw)
        except ValidationError as e:
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "reply"
            raise ValueError(f"{where}: {first['msg']}") from None


class _ToolSchema(_Schema):
    """The tools as one JSON schema (``anyOf`` their alternatives); a reply parses into a ``ToolCall``."""

    def __init__(self, tools: list[Tool]) -> None:
        super().__init__(tools_schema(tools))
        self.names = [t.name for t in tools]

    def parse(self, text: str) -> Any:
        return tool_call_of(extract_json(text), self.names)


def tools_schema(tools: list[Tool]) -> dict[str, Any]:
    """One JSON schema for a reply calling one of ``tools``: ``{"tool": name, ...its arguments}``."""
    alternatives = [t.alternative() for t in tools]
    return alternatives[0] if len(alternatives) == 1 else {"anyOf": alternatives}


def tool_call_of(raw: Any, names: list[str]) -> ToolCall:
    """The call a JSON reply makes: ``{"tool": name, ...}`` or ``{"name": name, "arguments": {...}}``; a bare
    ``{"answer": ...}`` calls ``answer`` when offered. ``ValueError`` when it names no tool."""
    if isinstance(raw, dict):
        if isinstance(raw.get("tool"), str):
            return ToolCall(raw["tool"], {k: v for k, v in raw.items() if k != "tool"})
        if isinstance(raw.get("name"), str) and isinstance(raw.get("arguments", {}), dict):
            return ToolCall(raw["name"], dict(raw.get("arguments") or {}))
        if "answer" in raw and "answer" in names:
            return ToolCall("answer", dict(raw))
    raise ValueError(f"the reply calls no tool (one of: {', '.join(names)})")


def extract_json(text: str) -> Any:
    """The first JSON object or array in ``text`` (tolerates code fences and chatter around it)."""
    text = text.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.S)
    if fenced:
        text = fenced.group(1).strip()
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "{[":
            try:
                return decoder.raw_decode(text, i)[0]
            except json.JSONDecodeError:
                continue
    raise ValueError("no JSON object in the reply")


def _check_required(raw: Any, schema: dict[str, Any]) -> None:
    if schema.get("type") == "object":
        if not isinstance(raw, dict):
            raise ValueError("the reply is not a JSON object")
        missing = [k for k in schema.get("required", []) if k not in raw]
        if missing:
            raise ValueError(f"missing keys: {', '.join(missing)}")


class ChatModel(ABC):
    """A chat model. Subclasses implement ``_complete``; ``chat`` adds structured output and usage."""

    backend: str = ""
    supports_images: bool = False
    native_schema: bool = False
    """True when the backend constrains decoding to the JSON schema itself."""
    native_tools: bool = False
    """True when the backend takes tools as functions and returns tool calls (``_complete_tools``); turned off
    for the instance when its server rejects them."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.lock = threading.Lock()  # in-process backends run one request at a time

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"

    @abstractmethod
    def _complete(self, messages: list[Message], *, json_schema: dict[str, Any] | None, max_tokens: int,
                  temperature: float, stop: list[str] | None) -> tuple[str, Usage]:
        """The reply text and its usage (``calls=1``)."""

    def _complete_tools(self, messages: list[Message], tools: list[Tool], *, max_tokens: int,
                        temperature: float) -> tuple[str, tuple[ToolCall, ...], Usage]:
        """Native tool calls: the reply text, the calls, the usage; raises ``ToolsUnsupported`` when the server
        takes no tools (then the tools go as a JSON schema)."""
        raise ToolsUnsupported(f"{self.spec} has no native tool calls")

    def chat(self, messages: list[Message], *, schema: Any = None, max_tokens: int = 512,
             temperature: float = 0.0, stop: list[str] | None = None,
             retry: bool | Callable[[], bool] = True, tools: list[Tool] | None = None) -> ChatResponse:
        """Send ``messages``; with ``schema`` (pydantic class or JSON-schema dict) the reply is parsed into ``data``.
        With ``tools`` the model calls one of them (``calls``; natively, else as a JSON reply parsed into a
        ``ToolCall``). An invalid reply is asked again once when ``retry`` is true (or returns true when called at
        that moment)."""
        if not self.supports_images and any(m.images for m in messages):
            raise ModelError(f"{self.spec} takes no images",
                             "set vlm to a vision model (e.g. openai:<model>@<server url>), or describe frames "
                             "with tags")
        if tools and self.native_tools:
            try:
                text, calls, usage = self._complete_tools(messages, list(tools), max_tokens=max_tokens,
                                                          temperature=temperature)
                return ChatResponse(text, usage, self.spec, calls[0] if calls else None, calls)
            except ToolsUnsupported:
                self.native_tools = False  # once: from now on the tools go as a JSON schema
        messages = [m.plain() for m in messages]
        if schema is None and not tools:
            text, usage = self._complete(messages, json_schema=None, max_tokens=max_tokens,
                                         temperature=temperature, stop=stop)
            return ChatResponse(text, usage, self.spec)
        parser = _ToolSchema(list(tools)) if tools else _Schema(schema)
        asked = list(messages)
        instructed = False
        total = Usage()
        for attempt in range(2):
            native = self.native_schema  # a backend may turn it off mid-call (a server without response_format)
            if not native and not instructed:
                asked, instructed = _with_schema_instruction(asked, parser.json_schema), True
            text, usage = self._complete(asked, json_schema=parser.json_schema if native else None,
                                         max_tokens=max_tokens, temperature=temperature, stop=stop)
            total += usage
            try:
                data = parser.parse(text)
                return ChatResponse(text, total, self.spec, data, (data,) if tools else ())
            except ValueError as e:
                error = str(e)
            if attempt == 0 and not (retry() if callable(retry) else retry):
                break
            if attempt == 0:
                asked = asked + [Message.assistant(text),
                                 Message.user(f"That reply is not valid ({error}). Reply again with only one JSON "
                                              "object that follows the schema.")]
        failure = ReplyError(f"{self.spec} did not return valid JSON twice ({error}); last reply: {text[:120]!r}",
                             "use a larger model, or one whose server supports structured output")
        failure.usage = total  # the calls were made: budgets count them
        raise failure


class ToolsUnsupported(Exception):
    """The backend (its server) takes no native tools: the caller sends them as a JSON schema."""


def _with_schema_instruction(messages: list[Message], schema: dict[str, Any]) -> list[Message]:
    note = ("Reply with only one JSON object that follows this JSON schema, and nothing else:\n"
            + json.dumps(schema, separators=(",", ":")))
    if messages and messages[0].role == "system":
        first = messages[0]
        return [Message("system", first.content + ("\n\n" + note,)), *messages[1:]]
    return [Message.system(note), *messages]
