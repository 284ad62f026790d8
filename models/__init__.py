"""LLM and VLM backends behind one chat interface, chosen by a spec string ``backend:model``.

    llamacpp:qwen2.5-coder-1.5b          packaged GGUF (the offline default), or llamacpp:/path/model.gguf
    openai:qwen2.5-vl-7b@http://gpu:8000/v1   any OpenAI-compatible server (vLLM, Ollama, llama.cpp server, hosted);
                                         without ``@url`` the ``llm_base_url`` setting is used
    transformers:/models/Qwen2.5-VL-3B   a local Hugging Face model directory (CPU or GPU)
    scripted:/path/script.json           replies from a script (tests, demos): ``vidgraph.models.testing``

``load_model`` returns one instance per spec per process (weights load once).
"""

from __future__ import annotations

import threading

from ..config import Settings, load_settings
from ..errors import ConfigError
from .base import ChatModel, ChatResponse, ImagePart, Message, Usage, extract_json

BACKENDS = {
    "llamacpp": "vidgraph.models.llamacpp:LlamaCppModel",
    "openai": "vidgraph.models.openai:OpenAIModel",
    "transformers": "vidgraph.models.transformers:TransformersModel",
    "scripted": "vidgraph.models.testing:scripted",
}

_loaded: dict[tuple[str, str], ChatModel] = {}
_lock = threading.Lock()


def parse_spec(spec: str) -> tuple[str, str]:
    """``"openai:llama3@http://h:8000/v1"`` -> ``("openai", "llama3@http://h:8000/v1")``."""
    backend, sep, model = spec.partition(":")
    if not sep or not model or backend not in BACKENDS:
        raise ConfigError(f"model spec {spec!r} is not 'backend:model'",
                          f"backends: {', '.join(BACKENDS)}; e.g. llamacpp:qwen2.5-coder-1.5b")
    return backend, model


def load_model(spec: str | None = None, settings: Settings | None = None) -> ChatModel:
    """The chat model for ``spec`` (default: ``settings.llm``), created once per process."""
    import importlib

    settings = settings or load_settings()
    spec = spec or settings.llm
    backend, model = parse_spec(spec)
    key = (spec, settings.model_dump_json(include={"llm_base_url", "llm_api_key_env", "llm_timeout",
                                                     "llm_context", "threads", "device"}))
    with _lock:
        if key not in _loaded:
            module, cls = BACKENDS[backend].split(":")
            _loaded[key] = getattr(importlib.import_module(module), cls)(model, settings)
        return _loaded[key]


def unload_models() -> None:
    """Close and forget every model this process loaded (``load_model`` loads them again when asked)."""
    with _lock:
        models = list(_loaded.values())
        _loaded.clear()
    for model in models:
        close = getattr(model, "close", None)
        if callable(close):
            close()


def resolve_model(model: ChatModel | str | None, settings: Settings | None = None) -> ChatModel:
    """``model`` itself when it is a ``ChatModel``, else the model its spec names (default: ``settings.llm``)."""
    if model is not None and not isinstance(model, str):
        return model
    return load_model(model, settings)


__all__ = ["BACKENDS", "ChatModel", "ChatResponse", "ImagePart", "Message", "Usage", "extract_json", "load_model",
           "parse_spec", "resolve_model", "unload_models"]
