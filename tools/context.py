"""The per-video context tools run in: probe info, settings, the artifact store, and the tool chosen for each
stage (from the registry), with ``get(stage)`` running a tool only when its artifact is missing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ..config import Settings, load_settings
from ..errors import ToolError, VidgraphError, os_failure
from ..records import ProbeInfo, Record
from .base import ProgressFn, Tool
from .registry import tool_for
from .store import ArtifactStore


class VideoContext:
    """One video being analysed: its probe info, settings, the artifact store, and the tools to use.

    ``get(stage)`` returns the records of the tool chosen for that stage, from the cache when
    present, else by running it (and caching the result).
    """

    def __init__(
        self,
        info: ProbeInfo,
        store: ArtifactStore,
        settings: Settings | None = None,
        tools: dict[str, Tool] | None = None,
        progress: ProgressFn | None = None,
        guard: Callable[[], None] | None = None,
    ) -> None:
        self.info = info
        self.store = store
        self.settings = settings or load_settings()
        self._tools = dict(tools or {})
        self._progress = progress
        self.guard = guard
        """Called after a tool ran and before its records are kept: raises when they cannot be trusted (the
        video file changed while the tool read it)."""
        self.timings: dict[str, float] = {}

    @property
    def video_id(self) -> str:
        return self.info.video_id

    @property
    def path(self) -> str:
        return self.info.path

    def tool(self, stage: str) -> Tool:
        if stage not in self._tools:
            self._tools[stage] = tool_for(stage, self.settings)
        return self._tools[stage]

    def work_dir(self, tool: Tool) -> Path:
        return self.store.work_dir(self.video_id, tool)

    def progress(self, stage: str, done: float, total: float = 0.0) -> None:
        if self._progress is not None:
            self._progress(stage, done, total)

    def get(self, stage: str) -> list[Record]:
        tool = self.tool(stage)
        cached = self.store.load(self.video_id, tool)
        if cached is not None:
            return cached
        start = time.perf_counter()
        self.progress(stage, 0.0, self.info.duration)
        try:
            records = tool.run(self)
        except VidgraphError:
            raise
        except OSError as e:  # a frame that cannot be written: a full disk, a read-only index
            raise os_failure(e, e.filename or self.store.root) from e
        except Exception as e:  # a tool's own failure becomes one clear line
            raise ToolError(f"{self.path}: {tool.name} failed: {type(e).__name__}: {e}",
                            "run with --debug for the traceback; report it if the file plays elsewhere") from e
        seconds = time.perf_counter() - start
        if self.guard is not None:
            self.guard()
        self.timings[stage] = seconds
        self.store.save(self.video_id, tool, records, seconds)
        self.progress(stage, self.info.duration, self.info.duration)
        return records
