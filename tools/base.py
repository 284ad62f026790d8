"""The tool interface (the per-video context tools run in is ``tools.context``; the artifact cache ``tools.store``).

A tool is a class with ``name``, ``stage`` and ``version``, a ``params()`` dict (everything that changes
its output), a lazy model (loaded once per process, shared by every tool instance with the same key) and
``run(ctx) -> records``. Tools never call each other: a tool that needs another stage's output (OCR needs
the key frames of the scan) asks ``ctx.get("scan")``, which runs that tool through the cache.

The cache key is (video hash, tool name, tool version, params): one JSONL file per key under
``<store>/<video_id>/``, written atomically, so a crash never leaves a half-written artifact that is read back.
"""

from __future__ import annotations

import importlib.util
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ..config import Settings, load_settings
from ..errors import MissingExtraError, ToolError
from ..records import ProbeInfo, Record


ProgressFn = Callable[[str, float, float], None]
"""``progress(stage, done, total)``; ``total`` is 0 when unknown."""


class ToolContext(Protocol):
    """What a tool's ``run`` may use of the video it runs on (``tools.context.VideoContext`` is the one in use)."""

    info: ProbeInfo
    settings: Settings

    @property
    def video_id(self) -> str: ...

    @property
    def path(self) -> str: ...

    def get(self, stage: str) -> list[Record]: ...

    def tool(self, stage: str) -> Tool: ...

    def work_dir(self, tool: Tool) -> Path: ...

    def progress(self, stage: str, done: float, total: float = 0.0) -> None: ...


@dataclass(frozen=True)
class Availability:
    """Whether a tool can run here; when not, why and the command that fixes it."""

    ok: bool
    reason: str = ""
    fix: str = ""
    provider: str = ""


class Tool(ABC):
    name: ClassVar[str]
    stage: ClassVar[str]
    version: ClassVar[str]
    modules: ClassVar[tuple[str, ...]] = ()
    """Import names the tool needs; checked by ``availability()`` without importing them."""
    extra: ClassVar[str | None] = None
    """The pip extra that installs ``modules``."""
    provider: ClassVar[str] = ""
    """The package that ships the model's weights (for ``doctor``)."""
    install_fix: ClassVar[str] = ""
    """The command that (re)installs the weights."""
    reads_frames: ClassVar[bool] = False
    """True when ``read_frame`` works: the agents' looks read re-sampled frames with this tool."""
    streams: ClassVar[bool] = False
    """True when ``stream`` gives the tool's part of the one pass over a video (``tools.onepass``)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()

    @property
    def source(self) -> str:
        return f"{self.name}@{self.version}"

    def params(self) -> dict[str, Any]:
        """Everything that changes this tool's output (part of the cache key)."""
        return {}

    @abstractmethod
    def run(self, ctx: ToolContext) -> list[Record]:
        """Compute this tool's records for one video."""

    def stream(self, ctx: ToolContext) -> Any:
        """This stage's part of the one pass over the video (a ``tools.stream.Stream``), or None when the tool
        does not read frames or audio."""
        return None

    def read_frame(self, path: str) -> list[str]:
        """What this tool sees in one stored frame (a JPEG path) as short texts: text lines, object labels, scene
        classes. Tools with ``reads_frames`` implement it."""
        raise ToolError(f"tool {self.name!r} cannot read single frames", "look with ocr, detect or tags")

    # -- models: loaded lazily, once per process --------------------------------------------------------------
    def model_key(self) -> tuple:
        return (self.name, json.dumps(self.params(), sort_keys=True), self.settings.threads, self.settings.device)

    def load_model(self) -> Any:
        """Build the heavy model (imports happen here). Tools with a model override this."""
        raise NotImplementedError

    @property
    def model(self) -> Any:
        key = self.model_key()
        with _MODELS_LOCK:
            if key not in _MODELS:
                self.require_modules()
                _MODELS[key] = self.load_model()
            return _MODELS[key]

    # -- availability ---------------------------------------------------------------------------------------------
    @classmethod
    def require_modules(cls) -> None:
        for module in cls.modules:
            if importlib.util.find_spec(module) is None:
                raise MissingExtraError(f"tool {cls.name!r}", cls.extra or module, module)

    @classmethod
    def weight_files(cls) -> list[Path]:
        """Model files that must exist (located without importing anything heavy)."""
        return []

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        """Can this tool run here? Checks modules and weight files without loading a model."""
        try:
            cls.require_modules()
            missing = [p.name for p in cls.weight_files() if not p.is_file()]
        except MissingExtraError as e:
            return Availability(False, e.message, e.hint, cls.provider)
        if missing:
            return Availability(False, f"model files are missing ({', '.join(missing)})", cls.install_fix,
                                cls.provider)
        return Availability(True, provider=cls.provider)


_MODELS: dict[tuple, Any] = {}
_MODELS_LOCK = threading.RLock()
_USE_LOCKS: dict[tuple, threading.Lock] = {}


def loaded_model(prefix: tuple) -> Any | None:
    """A model this process already loaded whose key starts with ``prefix`` (the same weights loaded with another
    thread count, say), or None."""
    with _MODELS_LOCK:
        return next((m for key, m in _MODELS.items() if key[:len(prefix)] == prefix), None)


def model_lock(tool: Tool) -> threading.Lock:
    """The lock around one use of a tool's model: a pass reads the video and the audio in two threads, and a
    watched folder may index two videos at once, while not every model may be used by two threads at a time."""
    key = tool.model_key()
    with _MODELS_LOCK:
        return _USE_LOCKS.setdefault(key, threading.Lock())
