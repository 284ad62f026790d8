"""What the agents may use of a library: a narrow, typed view handed to them (they never see the Library)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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
    open: Callable[[str], VideoContext] | None = None
    """video id -> a ``VideoContext`` over the index's artifacts (frames, tools on demand)."""

    def name(self, video_id: str) -> str:
        return self.names.get(video_id, video_id[:12])

    def context(self, video_id: str) -> VideoContext:
        if self.open is None:
            raise LookupError("this source cannot open videos")
        return self.open(video_id)
