"""What an ``index`` run did: per-file results and the run's report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .catalog import StageStatus


@dataclass(frozen=True)
class VideoResult:
    """What happened to one video file (or one unusable file) in a run."""

    path: str
    """Relative to the library folder."""
    video_id: str | None
    status: str
    """``done`` (indexed in this run), ``skipped`` (already indexed) or ``failed``."""
    stages: tuple[StageStatus, ...] = ()
    duration: float = 0.0
    seconds: float = 0.0
    error: str = ""
    """One line: the file, the problem, what to do."""
    paths: tuple[str, ...] = ()
    worker: int = 0
    """Process id that indexed it (0 when nothing ran)."""

    @property
    def ran(self) -> bool:
        return any(s.ran for s in self.stages)

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("path", "video_id", "status", "duration", "seconds", "error", "worker")}
        out["paths"] = list(self.paths)
        out["stages"] = [s.to_dict() for s in self.stages]
        return out


@dataclass(frozen=True)
class IndexReport:
    """The outcome of ``Library.index``: per-file results, failures, hours of video, wall time."""

    folder: str
    stages: tuple[str, ...]
    results: tuple[VideoResult, ...]
    forgotten: tuple[str, ...] = ()
    seconds: float = 0.0
    jobs: int = 1
    backend: str = "serial"

    @property
    def failures(self) -> tuple[VideoResult, ...]:
        return tuple(r for r in self.results if r.status == "failed")

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def videos(self) -> int:
        """Files found: distinct videos (by content) plus files that are not usable videos."""
        return len(self.results)

    @property
    def indexed(self) -> tuple[VideoResult, ...]:
        """Videos for which a tool ran in this run and that did not fail (a failure is counted once, as failed)."""
        return tuple(r for r in self.results if r.ran and r.status != "failed")

    @property
    def skipped(self) -> tuple[VideoResult, ...]:
        return tuple(r for r in self.results if r.status == "skipped")

    @property
    def hours(self) -> float:
        return sum(r.duration for r in self.results) / 3600

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "stages": list(self.stages), "seconds": round(self.seconds, 3),
                "jobs": self.jobs, "backend": self.backend, "hours": self.hours, "videos": self.videos,
                "failures": len(self.failures), "forgotten": list(self.forgotten),
                "results": [r.to_dict() for r in self.results]}
