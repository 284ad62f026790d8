"""What the agents may use of a library: a narrow, typed view handed to them (they never see the Library)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import StoreError
from ..records import Record

if TYPE_CHECKING:
    from ..memory import Memory
    from ..tools.context import VideoContext


@dataclass(frozen=True)
class Source:
    """The memory to search, each video's name and duration, and a way to open a video for a look."""

    memory: Memory
    names: dict[str, str] = field(default_factory=dict)
    """video id -> its name (path relative to the library folder)."""
    durations: dict[str, float] = field(default_factory=dict)
    live: dict[str, float] = field(default_factory=dict)
    """video id -> seconds indexed so far, for a recording still being written (answers cover only that part)."""
    open: Callable[[str], VideoContext] | None = None
    """video id -> a ``VideoContext`` over the index's artifacts (frames, tools on demand)."""
    read: Callable[[str, str], list[Record]] | None = None
    """(video id, stage) -> the stage's indexed records (never runs a tool); ``StoreError`` when not indexed."""

    def name(self, video_id: str) -> str:
        return self.names.get(video_id, video_id[:12])

    def records(self, video_id: str, stage: str) -> list[Record]:
        if self.read is None:
            raise StoreError(f"{self.name(video_id)}: this source has no indexed records", "index the video")
        return self.read(video_id, stage)

    def context(self, video_id: str) -> VideoContext:
        if self.open is None:
            raise LookupError("this source cannot open videos")
        return self.open(video_id)
