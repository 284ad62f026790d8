"""In-process GGUF models through llama-cpp-python: the offline default (``llamacpp:qwen2.5-coder-1.5b``).

The model is a packaged name (see ``models.packaged``) or a path to a ``.gguf`` file. Weights load on the first
call; the GGUF's own chat template formats the messages; a JSON schema becomes a llama.cpp grammar, so structured
replies are constrained while they are decoded. Text only.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ConfigError, MissingExtraError, ModelError
from .base import ChatModel, Message, Usage
from .packaged import PACKAGED, packaged


class LlamaCppModel(ChatModel):
    backend = "llamacpp"
    supports_images = False
    native_schema = True

    def __init__(self, model: str, settings: Settings) -> None:
        super().__init__(f"{self.backend}:{model}")
        if importlib.util.find_spec("llama_cpp") is None:
            raise MissingExtraError("the llamacpp backend", "llm", "llama-cpp-python")
        self.settings = settings
        self._packaged = None
        self._path: Path | None = None
        if model in PACKAGED:
            self._packaged = PACKAGED[model]
        elif model.endswith(".gguf") or "/" in model:
            path = Path(model).expanduser()
            if not path.is_file():
                raise ConfigError(f"GGUF model file {model} does not exist",
                                  f"give an existing .gguf path, or a packaged model: {', '.join(PACKAGED)}")
            self._path = path
        else:
            packaged(model)  # raises ConfigError listing the packaged names
        self._llm: Any = None
        self.load_seconds: float | None = None

    @property
    def path(self) -> Path:
        """The ``.gguf`` file (a packaged model is assembled into the cache on first use)."""
        if self._path is None:
            self._path = self._packaged.path(self.settings)
        return self._path

    def _load(self) -> Any:
        if self._llm is None:
            import llama_cpp

            from .ggml import cpu_backend

            start = time.perf_counter()
            cpu_backend(self.settings.llm_cpu_variant)
            gpu = llama_cpp.llama_supports_gpu_offload() and self.settings.device != "cpu"
            try:
                self._llm = llama_cpp.Llama(model_path=str(self.path), n_ctx=self.settings.llm_context,
                                            n_threads=self.settings.threads, n_gpu_layers=-1 if gpu else 0,
                                            verbose=False)
            except (ValueError, RuntimeError) as e:
                raise ModelError(f"llama.cpp cannot load {self.path} ({e})",
                                 "check that the file is a complete GGUF model") from e
            self.load_seconds = time.perf_counter() - start
        return self._llm

    def close(self) -> None:
        """Free the model now (its finalizer at interpreter exit may find llama.cpp's library already gone)."""
        if self._llm is not None:
            self._llm.close()
            self._llm = None

    def _complete(self, messages: list[Message], *, json_schema: dict[str, Any] | None, max_tokens: int,
                  temperature: float, stop: list[str] | None) -> tuple[str, Usage]:
        chat = [{"role": m.role, "content": m.text()} for m in messages]
        extra: dict[str, Any] = {}
        if json_schema is not None:
            extra["response_format"] = {"type": "json_object", "schema": json_schema}
        with self.lock:
            llm = self._load()
            start = time.perf_counter()
            try:
                out = llm.create_chat_completion(chat, max_tokens=max_tokens, temperature=temperature,
                                                 stop=stop or [], **extra)
            except ValueError as e:  # e.g. "Requested tokens (9000) exceed context window of 8192"
                raise ModelError(f"{self.spec} failed: {e}",
                                 "shorten the prompt or raise the llm_context setting") from e
            seconds = time.perf_counter() - start
        usage = out.get("usage") or {}
        text = out["choices"][0]["message"].get("content") or ""
        return text, Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0), seconds, 1)
