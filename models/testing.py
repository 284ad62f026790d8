"""A scripted chat model for tests and demos (as httpx ships ``MockTransport``): replies come from a script.

    model = ScriptedModel(['{"color": "red"}'])                      # a queue: one reply per call
    model = ScriptedModel({"answer": [reply1], "verify": reply2}, by="prompt")   # by the system prompt's name
    model = ScriptedModel(lambda call: {"found": False, ...})        # a function of the call
    load_model("scripted:/path/script.json")                         # {"by": "prompt", "replies": {...}}

A reply is a string (sent as is), a dict (sent as JSON) or a function of the ``Call`` returning either. A list is
a queue: a call beyond its end raises ``ScriptExhausted`` (an ``AssertionError``, so it is never mistaken for a
model failure the agents would record and go past). Every call is kept in ``calls``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .base import ChatModel, Message, Usage


class ScriptExhausted(AssertionError):
    """The script has no reply for this call."""


@dataclass(frozen=True)
class Call:
    """One call the model received: its messages, the JSON schema asked for, and its key in the script."""

    messages: tuple[Message, ...]
    json_schema: dict[str, Any] | None
    key: str

    @property
    def user(self) -> str:
        """The text of the first user message (where the agents put the question and the evidence)."""
        return next((m.text() for m in self.messages if m.role == "user"), "")

    @property
    def last(self) -> str:
        """The text of the last user message (a conversation's newest turn)."""
        return next((m.text() for m in reversed(self.messages) if m.role == "user"), "")

    @property
    def text(self) -> str:
        """Every message of the call, as one text."""
        return "\n".join(f"{m.role}: {m.text()}" for m in self.messages)


def prompt_name(messages: list[Message] | tuple[Message, ...]) -> str:
    """The name of the prompt file the system message starts with ("" when none): the role of the call."""
    from ..prompts import names

    system = messages[0].text() if messages and messages[0].role == "system" else ""
    matches = [n for n in names() if system.startswith(_prompt_text(n))]
    return max(matches, key=lambda n: len(_prompt_text(n)), default="")


def _prompt_text(name: str) -> str:
    from ..prompts import load

    return load(name).text


KEYS: dict[str, Callable[[list[Message], dict | None], str]] = {
    "prompt": lambda messages, schema: prompt_name(messages),
    "schema": lambda messages, schema: str((schema or {}).get("title", "")),
}


class ScriptedModel(ChatModel):
    """Replies from a script; see the module docstring. ``by`` keys a dict script: ``"prompt"`` (the system
    prompt's name), ``"schema"`` (the JSON schema's title) or a function of ``(messages, json_schema)``."""

    backend = "scripted"

    def __init__(self, script: Any = None, *, by: str | Callable[[list[Message], dict | None], str] | None = None,
                 native_schema: bool = True, images: bool = False, name: str = "test",
                 usage: Usage = Usage(10, 5, 0.01, 1)) -> None:
        super().__init__(f"scripted:{name}")
        self.by = KEYS[by] if isinstance(by, str) else by
        if isinstance(script, dict) and self.by is None:
            raise ConfigError("a scripted model with a dict script needs by='prompt', by='schema' or a function")
        self.script = ({k: list(v) if isinstance(v, list) else v for k, v in script.items()}
                       if isinstance(script, dict) else list(script) if isinstance(script, list) else script)
        self.native_schema = native_schema
        self.supports_images = images
        self.usage = usage
        self.calls: list[Call] = []
        self._mutex = threading.Lock()  # MapReduce branches call in parallel

    def _complete(self, messages: list[Message], *, json_schema: dict[str, Any] | None, max_tokens: int,
                  temperature: float, stop: list[str] | None) -> tuple[str, Usage]:
        key = self.by(messages, json_schema) if self.by else ""
        call = Call(tuple(messages), json_schema, key)
        with self._mutex:
            self.calls.append(call)
            reply = self._next(key, call)
        if callable(reply):
            reply = reply(call)
        return (reply if isinstance(reply, str) else json.dumps(reply)), self.usage

    def _next(self, key: str, call: Call) -> Any:
        queue = self.script
        if isinstance(queue, dict):
            if key not in queue:
                raise ScriptExhausted(f"unexpected {key or 'unkeyed'} call:\n{call.user}")
            queue = queue[key]
        if isinstance(queue, list):
            if not queue:
                raise ScriptExhausted(f"one {key or ''} call too many:\n{call.user}".replace("  ", " "))
            return queue.pop(0)
        if queue is None:
            raise ScriptExhausted(f"this scripted model has no replies:\n{call.user}")
        return queue

    def prompts(self, key: str = "") -> list[str]:
        """The user text of every call of ``key`` (every call when "" and the script is not keyed), in order."""
        return [c.user for c in self.calls if c.key == key]

    def count(self, key: str = "") -> int:
        return sum(c.key == key for c in self.calls)


def from_file(path: str) -> ScriptedModel:
    """``scripted:PATH``: a JSON file holding a list of replies, or ``{"by": "prompt"|"schema", "replies": ...}``."""
    file = Path(path).expanduser()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"{file}: cannot read the script of a scripted model ({e})",
                          "give a JSON file: a list of replies, or {\"by\": \"prompt\", \"replies\": {...}}") from e
    if isinstance(data, dict) and "replies" in data:
        return ScriptedModel(data["replies"], by=data.get("by"), name=file.name)
    return ScriptedModel(data, name=file.name)


def scripted(model: str, settings: Any = None) -> ScriptedModel:
    """The ``scripted`` backend of ``load_model``: ``scripted:PATH`` reads the script from a JSON file."""
    return from_file(model)
