"""Settings, resolved as: keyword arguments > ``VIDGRAPH_*`` environment variables > ``vidgraph.toml`` > defaults.

``vidgraph.toml`` is looked up in the current directory, then in ``~/.config/vidgraph/``. Keys are the field
names below, e.g. ``asr_backend = "whisperx"``. Secrets never live here: backends take the *name* of the
environment variable that holds a key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    cache_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vidgraph",
        description="Where model files assembled from packages are kept (e.g. the Whisper model).",
    )
    threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1), ge=1,
                         description="CPU threads per model.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Where torch/CTranslate2 models run.")
    sample_fps: float = Field(1.0, gt=0, le=30, description="Uniform frame sampling rate of the index pass.")
    key_max_gap: float = Field(10.0, gt=0, description="Keep a full-resolution key frame at least this often (s).")
    asr_backend: Literal["faster-whisper", "whisperx"] = Field("faster-whisper", description="Speech backend.")
    asr_model: str = Field("base", description="'base' or 'tiny.en' (packaged), or a CTranslate2 model directory.")
    asr_language: str | None = Field(None, description="Spoken language code, or None to detect it.")
    speakers_backend: Literal["resemblyzer"] = Field("resemblyzer", description="Speaker diarization backend "
                                                     "(resemblyzer's GE2E voice encoder, weights in its wheel).")
    speaker_merge_sim: float = Field(0.845, gt=0, le=1.1, description="Two voices of a video are one speaker when "
                                     "their centroid cosine is at least this (calibrated on synthetic voices).")
    speaker_merge_rel: float = Field(0.04, description="...or when it is within this of the less cohesive voice's "
                                     "own spread (keeps a narrator over music as one speaker); < 0 turns it off.")
    speaker_link_threshold: float | None = Field(None, gt=0, le=1, description="Link the same voice across videos "
                                                 "at this centroid cosine (0.85 suggested); None = off.")
    ocr_backend: Literal["paddle", "rapidocr"] = Field("paddle", description="On-screen text backend.")
    detect_backend: Literal["ssd-coco", "yolo"] = Field("ssd-coco", description="Object detection backend.")
    yolo_weights: str | None = Field(None, description="Path to YOLO weights (.pt/.onnx) for detect_backend='yolo'.")
    detect_threshold: float = Field(0.4, ge=0, le=1, description="Minimum detection confidence.")
    llm: str = Field("llamacpp:qwen2.5-coder-1.5b", description="Text model as 'backend:model': llamacpp:<packaged "
                     "name or .gguf path>, openai:<model name>[@<base url>], transformers:<model dir>.")
    vlm: str | None = Field(None, description="Vision model spec (same forms) used to look at frames; None = tags.")
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server, e.g. "
                                     "http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama).")
    llm_api_key_env: str = Field("OPENAI_API_KEY", description="Name of the environment variable holding the key.")
    llm_timeout: float = Field(120.0, gt=0, description="Seconds before one model request gives up.")
    llm_cpu_variant: str | None = Field(None, description="llama.cpp's CPU variant in a portable build, e.g. "
                                        "'haswell' (AVX2) or 'zen4' (AVX-512); None = the best this CPU runs.")
    llm_context: int = Field(8192, ge=512, description="Context window (tokens) for in-process models.")
    agent_calls: Literal["auto", "menu", "free"] = Field("auto", description="How the tool agent's model calls "
                                                         "tools: 'menu' (the number of a suggested call), 'free' "
                                                         "(also calls it writes, with arguments: native tool calls "
                                                         "on OpenAI-compatible servers, a JSON schema elsewhere), "
                                                         "'auto' (free on OpenAI-compatible servers, menu for "
                                                         "in-process models).")
    embedder: str = Field("minilm", description="Text embedder: 'minilm' (packaged all-MiniLM-L6-v2) or "
                          "'sentence-transformers:<model dir>'.")
    chroma_url: str | None = Field(None, description="A Chroma server (http://host:8000) for a shared index; "
                                   "None = embedded Chroma in the index folder.")
    caption: bool = Field(False, description="Caption every clip with the model while indexing (slow on CPU).")
    clip_seconds: float = Field(30.0, gt=1, description="Longest event: longer shots are split into clips.")
    caption_concurrency: int = Field(2, ge=1, description="Clips captioned at once.")

    def with_(self, **changes: Any) -> Settings:
        return load_settings(base=self, **changes)


_ENV_PREFIX = "VIDGRAPH_"


def _toml_values() -> dict[str, Any]:
    for candidate in (Path("vidgraph.toml"), Path.home() / ".config" / "vidgraph" / "vidgraph.toml"):
        if candidate.is_file():
            try:
                return tomllib.loads(candidate.read_text())
            except tomllib.TOMLDecodeError as e:
                raise ConfigError(f"{candidate}: not valid TOML ({e})", "fix or delete the file") from e
    return {}


def _env_values() -> dict[str, Any]:
    fields = Settings.model_fields
    out = {}
    for key, value in os.environ.items():
        if key.startswith(_ENV_PREFIX):
            name = key[len(_ENV_PREFIX):].lower()
            if name in fields:
                out[name] = value
    return out


def load_settings(base: Settings | None = None, **overrides: Any) -> Settings:
    """Build settings from every source; raises ConfigError naming the bad value."""
    values: dict[str, Any] = {} if base is not None else {**_toml_values(), **_env_values()}
    if base is not None:
        values.update(base.model_dump())
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"setting {field!r}: {err['msg']}", f"allowed: {Settings.model_fields[field].description}"
                          if field in Settings.model_fields else "check the setting's name") from e
