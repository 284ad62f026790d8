"""The tool interface, the per-video context tools run in, and the artifact cache.

A tool is a class with ``name``, ``capability`` and ``version``, a ``params()`` dict (everything that changes
its output), a lazy model (loaded once per process, shared by every tool instance with the same key) and
``run(ctx) -> records``. Tools never call each other: a tool that needs another capability's output (OCR needs
the key frames of the scan) asks ``ctx.get("scan")``, which runs that tool through the cache.

The cache key is (video hash, tool name, tool version, params): one JSONL file per key under
``<store>/<video_id>/``, written atomically, so a crash never leaves a half-written artifact that is read back.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..config import Settings, load_settings
from ..errors import MissingExtraError, ToolError, VidgraphError
from ..records import ProbeInfo, Record, record_from_dict

SCHEMA_VERSION = 1

ProgressFn = Callable[[str, float, float], None]
"""``progress(stage, done, total)``; ``total`` is 0 when unknown."""


@dataclass(frozen=True)
class Availability:
    """Whether a tool can run here; when not, why and the command that fixes it."""

    ok: bool
    reason: str = ""
    fix: str = ""
    provider: str = ""


class Tool(ABC):
    name: ClassVar[str]
    capability: ClassVar[str]
    version: ClassVar[str]
    modules: ClassVar[tuple[str, ...]] = ()
    """Import names the tool needs; checked by ``availability()`` without importing them."""
    extra: ClassVar[str | None] = None
    """The pip extra that installs ``modules``."""
    provider: ClassVar[str] = ""
    """The package that ships the model's weights (for ``doctor``)."""
    install_fix: ClassVar[str] = ""
    """The command that (re)installs the weights."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()

    @property
    def source(self) -> str:
        return f"{self.name}@{self.version}"

    def params(self) -> dict[str, Any]:
        """Everything that changes this tool's output (part of the cache key)."""
        return {}

    @abstractmethod
    def run(self, ctx: VideoContext) -> list[Record]:
        """Compute this tool's records for one video."""

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


def loaded_models() -> list[tuple]:
    """Keys of the models loaded in this process (for tests and diagnostics)."""
    return list(_MODELS)


# -- artifacts ------------------------------------------------------------------------------------------------------


def params_hash(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:12]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_artifact(path: Path) -> list[Record] | None:
    """Records of an artifact file (None if missing or of another schema version)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    if not lines or json.loads(lines[0]).get("schema") != SCHEMA_VERSION:
        return None
    return [record_from_dict(json.loads(line)) for line in lines[1:]]


class ArtifactStore:
    """Tool outputs of every video under ``root/<video_id>/``, keyed by (tool, version, params)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def video_dir(self, video_id: str) -> Path:
        return self.root / video_id

    def path(self, video_id: str, tool: Tool) -> Path:
        return self.video_dir(video_id) / f"{tool.name}@{tool.version}-{params_hash(tool.params())}.jsonl"

    def work_dir(self, video_id: str, tool: Tool) -> Path:
        """A folder for files a tool writes (frames); its records point into it."""
        return self.video_dir(video_id) / f"{tool.name}-{params_hash(tool.params())}"

    def load(self, video_id: str, tool: Tool) -> list[Record] | None:
        return read_artifact(self.path(video_id, tool))

    def save(self, video_id: str, tool: Tool, records: Iterable[Record], seconds: float) -> None:
        header = {"schema": SCHEMA_VERSION, "tool": tool.name, "version": tool.version, "params": tool.params(),
                  "video_id": video_id, "seconds": round(seconds, 3), "created": time.time()}
        body = [json.dumps(header)] + [json.dumps(r.to_dict(), ensure_ascii=False) for r in records]
        atomic_write_text(self.path(video_id, tool), "\n".join(body) + "\n")

    def has(self, video_id: str, tool: Tool) -> bool:
        return self.path(video_id, tool).is_file()


# -- the per-video context --------------------------------------------------------------------------------------------


class VideoContext:
    """One video being analysed: its probe info, settings, the artifact store, and the tools to use.

    ``get(capability)`` returns the records of the tool chosen for that capability, from the cache when
    present, else by running it (and caching the result).
    """

    def __init__(
        self,
        info: ProbeInfo,
        store: ArtifactStore,
        settings: Settings | None = None,
        tools: dict[str, Tool] | None = None,
        progress: ProgressFn | None = None,
    ) -> None:
        self.info = info
        self.store = store
        self.settings = settings or load_settings()
        self._tools = dict(tools or {})
        self._progress = progress
        self.timings: dict[str, float] = {}

    @property
    def video_id(self) -> str:
        return self.info.video_id

    @property
    def path(self) -> str:
        return self.info.path

    def tool(self, capability: str) -> Tool:
        if capability not in self._tools:
            from .registry import tool_for

            self._tools[capability] = tool_for(capability, self.settings)
        return self._tools[capability]

    def work_dir(self, tool: Tool) -> Path:
        return self.store.work_dir(self.video_id, tool)

    def progress(self, stage: str, done: float, total: float = 0.0) -> None:
        if self._progress is not None:
            self._progress(stage, done, total)

    def get(self, capability: str) -> list[Record]:
        tool = self.tool(capability)
        cached = self.store.load(self.video_id, tool)
        if cached is not None:
            return cached
        start = time.perf_counter()
        self.progress(capability, 0.0, self.info.duration)
        try:
            records = tool.run(self)
        except VidgraphError:
            raise
        except Exception as e:  # a tool's own failure becomes one clear line
            raise ToolError(f"{self.path}: {tool.name} failed: {type(e).__name__}: {e}",
                            "run with --debug for the traceback; report it if the file plays elsewhere") from e
        seconds = time.perf_counter() - start
        self.timings[capability] = seconds
        self.store.save(self.video_id, tool, records, seconds)
        self.progress(capability, self.info.duration, self.info.duration)
        return records

    def has(self, capability: str) -> bool:
        return self.store.has(self.video_id, self.tool(capability))
