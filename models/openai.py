"""Any OpenAI-compatible chat server (vLLM, Ollama, llama.cpp's server, a hosted API) over plain HTTP.

The model is ``name`` or ``name@base_url`` (else the ``llm_base_url`` setting). The API key, if any, is read from
the environment variable *named* by ``llm_api_key_env``. Images go as ``image_url`` data URLs, each after a text
part with its timestamp. Structured output asks for ``response_format`` ``json_schema``; a server that rejects it
is asked for ``json_object`` with the schema (llama-cpp-python's form), and one that rejects that too gets the
schema as an instruction (``native_schema`` turns off for this instance). Tools go as ``tools`` (one function each)
with ``tool_choice`` ``"required"``, then ``"auto"`` if the server refuses that; a server that rejects tools
altogether gets them as one JSON schema from then on (``native_tools`` turns off). Connection errors, timeouts, 429
and 5xx are retried with backoff.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from typing import Any

from ..config import Settings
from ..errors import ConfigError, ModelError
from .base import ChatModel, Message, Tool, ToolCall, ToolsUnsupported, Usage, _with_schema_instruction, \
    extract_json, tool_call_of

BACKOFF = (0.5, 1.0, 2.0)
"""Seconds slept before each retry."""

_FORMATS = ("json_schema", "json_object", None)


class _FormatRejected(Exception):
    """The server refused the ``response_format`` we sent."""


class _ToolsRejected(Exception):
    """The server refused the ``tools`` (or the ``tool_choice``) we sent."""


class OpenAIModel(ChatModel):
    backend = "openai"
    supports_images = True  # the server decides: a rejection becomes a ModelError saying so
    native_schema = True
    native_tools = True

    def __init__(self, model: str, settings: Settings) -> None:
        super().__init__(f"{self.backend}:{model}")
        found = re.fullmatch(r"(.*?)@(\w+://.*)", model)
        name, base = (found.group(1), found.group(2)) if found else (model, settings.llm_base_url)
        if not name:
            raise ConfigError(f"model spec openai:{model} has no model name", "use openai:<name>[@<base url>]")
        if not base:
            raise ConfigError(f"openai:{name} has no server URL",
                              "set llm_base_url (or VIDGRAPH_LLM_BASE_URL), or use openai:<name>@<base url>, "
                              "e.g. http://localhost:8000/v1")
        if not base.startswith(("http://", "https://")):
            raise ConfigError(f"server URL {base!r} is not http(s)", "e.g. http://localhost:8000/v1")
        self.name = name
        self.base_url = base.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.settings = settings
        self._format = _FORMATS[0]
        self._tool_choice = "required"
        self._client: Any = None
        self._client_lock = threading.Lock()

    def _http(self) -> Any:
        with self._client_lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(timeout=self.settings.llm_timeout)
            return self._client

    def ping(self, timeout: float = 5.0) -> list[str]:
        """The model names the server lists (``GET /models``); ``ModelError`` when it does not answer."""
        import httpx

        url = f"{self.base_url}/models"
        try:
            r = httpx.get(url, headers=self._headers(), timeout=timeout)
        except httpx.TransportError as e:
            raise ModelError(f"{url} does not answer ({type(e).__name__})",
                             "is the server running? check the URL in the model spec or llm_base_url") from None
        if r.status_code in (401, 403):
            raise ModelError(f"{url} refused the request (HTTP {r.status_code})",
                             f"set {self.settings.llm_api_key_env} to a valid API key")
        if r.status_code != 200:
            raise ModelError(f"{url} answered HTTP {r.status_code}: {_snippet(r.text)}",
                             "check the base URL (it usually ends in /v1)")
        try:
            return [str(m.get("id", "")) for m in r.json().get("data", [])]
        except (ValueError, AttributeError):
            raise ModelError(f"{url} answered with something that is not a model list",
                             "is the base URL the server's /v1 endpoint?") from None

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.settings.llm_api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _complete(self, messages: list[Message], *, json_schema: dict[str, Any] | None, max_tokens: int,
                  temperature: float, stop: list[str] | None) -> tuple[str, Usage]:
        start = time.perf_counter()
        has_images = any(m.images for m in messages)
        while True:
            mode = self._format if json_schema is not None else None
            payload: dict[str, Any] = {"model": self.name, "max_tokens": max_tokens, "temperature": temperature,
                                       "messages": [_message(m) for m in messages]}
            if stop:
                payload["stop"] = stop
            if mode == "json_schema":
                payload["response_format"] = {"type": "json_schema", "json_schema": {
                    "name": "reply", "schema": json_schema, "strict": False}}
            elif mode == "json_object":  # the schema also goes as an instruction, for servers that ignore it
                payload["response_format"] = {"type": "json_object", "schema": json_schema}
                payload["messages"] = [_message(m) for m in _with_schema_instruction(messages, json_schema)]
            try:
                reply = self._post(payload, has_images)
                break
            except _FormatRejected:
                self._format = _FORMATS[_FORMATS.index(mode) + 1]
                if self._format is None:  # from now on base.chat instructs, parses and retries
                    self.native_schema = False
                    messages, json_schema = _with_schema_instruction(messages, json_schema), None
        return self._content(reply), self._usage(reply, start)

    def _complete_tools(self, messages: list[Message], tools: list[Tool], *, max_tokens: int,
                        temperature: float) -> tuple[str, tuple[ToolCall, ...], Usage]:
        start = time.perf_counter()
        functions = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                                       "parameters": t.parameters}} for t in tools]
        while True:
            payload = {"model": self.name, "max_tokens": max_tokens, "temperature": temperature,
                       "messages": [_message(m) for m in messages], "tools": functions,
                       "tool_choice": self._tool_choice}
            try:
                reply = self._post(payload, any(m.images for m in messages))
                break
            except _ToolsRejected as e:
                if self._tool_choice == "required" and re.search(r"tool[_ ]choice|required", str(e), re.I):
                    self._tool_choice = "auto"  # e.g. vLLM without a parser for "required": let the model choose
                    continue
                raise ToolsUnsupported(str(e)) from None
        text = self._content(reply)
        message = reply["choices"][0]["message"]
        names = [t.name for t in tools]
        calls = tuple(_call(c, n) for n, c in enumerate(message.get("tool_calls") or [], 1)
                      if isinstance(c, dict) and isinstance(c.get("function"), dict))
        if not calls and text.strip():  # a server that writes the call as text (no tool-call parser configured)
            try:
                calls = (tool_call_of(extract_json(text), names),)
            except ValueError:
                calls = ()
        return text, calls, self._usage(reply, start)

    def _content(self, reply: dict[str, Any]) -> str:
        try:
            return reply["choices"][0]["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise ModelError(f"{self.url} sent a reply without choices[0].message",
                             "is the server OpenAI-compatible? the base URL usually ends in /v1") from None

    @staticmethod
    def _usage(reply: dict[str, Any], start: float) -> Usage:
        usage = reply.get("usage") or {}
        return Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                     time.perf_counter() - start, 1)

    def _post(self, payload: dict[str, Any], has_images: bool) -> dict[str, Any]:
        """The decoded JSON reply; retries transient failures, raises ModelError or _FormatRejected."""
        import httpx

        client = self._http()
        for attempt in range(len(BACKOFF) + 1):
            last = attempt == len(BACKOFF)
            try:
                r = client.post(self.url, json=payload, headers=self._headers())
            except httpx.TransportError as e:  # refused, reset, timed out
                if last:
                    kind = "timed out" if isinstance(e, httpx.TimeoutException) else "unreachable"
                    raise ModelError(f"{self.url} {kind} after {attempt + 1} tries ({type(e).__name__})",
                                     "is the server running? check llm_base_url"
                                     + (" and llm_timeout" if kind == "timed out" else "")) from None
            else:
                if r.status_code == 200:
                    try:
                        return r.json()
                    except ValueError:
                        raise ModelError(f"{self.url} answered with something that is not JSON",
                                         "is the base URL the server's /v1 endpoint?") from None
                body = _snippet(r.text)
                if r.status_code >= 400 and "response_format" in payload and "response_format" in r.text:
                    raise _FormatRejected(body)
                if r.status_code >= 400 and r.status_code != 429 and "tools" in payload and \
                        re.search(r"\btools?\b|tool[_ ]choice|tool[_ ]call|function", r.text, re.I):
                    raise _ToolsRejected(body)
                if r.status_code in (401, 403):
                    raise ModelError(f"{self.url} refused the request (HTTP {r.status_code}: {body})",
                                     f"set {self.settings.llm_api_key_env} to a valid API key")
                if has_images and 400 <= r.status_code < 500 and r.status_code != 429:
                    raise ModelError(f"{self.url} rejected the request with images (HTTP {r.status_code}: {body})",
                                     f"{self.name} takes no images: set vlm to a vision model")
                if not (r.status_code == 429 or r.status_code >= 500):
                    raise ModelError(f"{self.url} answered HTTP {r.status_code}: {body}",
                                     "check the model name and the base URL (it usually ends in /v1)")
                if last:
                    hint = "the server is failing or overloaded; try again later"
                    if has_images:
                        hint = f"if {self.name} takes no images, set vlm to a vision model; else {hint}"
                    raise ModelError(f"{self.url} answered HTTP {r.status_code} {attempt + 1} times ({body})", hint)
            time.sleep(BACKOFF[attempt])
        raise AssertionError("unreachable")


def _message(m: Message) -> dict[str, Any]:
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.call_id, "content": m.text()}
    if m.calls:
        text = "\n".join(p for p in m.content if isinstance(p, str))
        return {"role": "assistant", "content": text or None, "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
            for c in m.calls]}
    if not m.images:
        return {"role": m.role, "content": m.text()}
    parts: list[dict[str, Any]] = []
    for p in m.content:
        if isinstance(p, str):
            parts.append({"type": "text", "text": p})
        else:
            parts.append({"type": "text", "text": p.label()})
            parts.append({"type": "image_url", "image_url": {"url": p.data_url()}})
    return {"role": m.role, "content": parts}


def _call(raw: dict[str, Any], n: int) -> ToolCall:
    """One of a reply's ``tool_calls`` (arguments as a JSON string, or an object on some servers)."""
    fn = raw["function"]
    args: Any = fn.get("arguments") or {}
    problem = ""
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except ValueError:
            args, problem = {}, f"its arguments are not JSON: {_snippet(fn.get('arguments', ''), 80)}"
    if not isinstance(args, dict):
        args, problem = {}, "its arguments are not a JSON object"
    return ToolCall(str(fn.get("name") or ""), args, str(raw.get("id") or f"call_{n}"), problem)


def _snippet(text: str, limit: int = 200) -> str:
    """A server's error body on one short line."""
    one = " ".join(text.split())
    return one if len(one) <= limit else one[:limit] + "..."
