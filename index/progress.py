"""Progress of an ``index`` run, as typed events for bars, logs and notebooks (``reporter`` shows them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .catalog import StageStatus
from .results import VideoResult


@dataclass(frozen=True)
class Notice:
    """A message for the user (e.g. waiting for another indexer)."""

    text: str


@dataclass(frozen=True)
class Hashing:
    done: int
    total: int


@dataclass(frozen=True)
class Planned:
    videos: int
    todo: int


@dataclass(frozen=True)
class VideoStarted:
    key: int
    name: str
    stages: tuple[str, ...]


@dataclass(frozen=True)
class StageProgress:
    key: int
    stage: str
    done: float
    total: float


@dataclass(frozen=True)
class StageFinished:
    key: int
    result: StageStatus


@dataclass(frozen=True)
class VideoFinished:
    key: int
    result: VideoResult


@dataclass(frozen=True)
class MemoryProgress:
    """Building the memory (events, entities, vectors) of ``name``: video ``done`` of ``total``."""

    done: int
    total: int
    name: str
    step: str = ""


Progress = Notice | Hashing | Planned | VideoStarted | StageProgress | StageFinished | VideoFinished | MemoryProgress
ProgressSink = Callable[[Progress], None]
