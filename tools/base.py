"""The tool interface and the artifact cache (the per-video context tools run in is ``tools.context``).

A tool is a class with ``name``, ``stage`` and ``version``, a ``params()`` dict (everything that changes
its output), a lazy model (loaded once per process, shared by every tool instance with the same key) and
``run(ctx) -> records``. Tools never call each other: a tool that needs another stage's output (OCR needs
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
from typing import Any, ClassVar, Protocol

from ..config import Settings, load_settings
from ..errors import MissingExtraError, ToolError
from ..records import ProbeInfo, Record, record_from_dict

SCHEMA_VERSION = 1

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


def artifact_seconds(path: Path) -> float:
    """Seconds the tool took to make an artifact (from its header; 0 when unknown)."""
    try:
        with open(path, encoding="utf-8") as f:
            return float(json.loads(f.readline()).get("seconds", 0.0))
    except (OSError, ValueError):
        return 0.0


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
