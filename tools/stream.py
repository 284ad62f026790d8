"""What a tool does inside the one pass over a video (``tools.onepass``): a ``Stream`` per stage.

A stream is fed as the pass goes — every decoded frame (``scan``), each key frame (``ocr``, ``detect``, ``tags``)
or each window of speech audio (``asr``, ``speakers``) — and returns JSON-able *items*, which the pass appends to
its journal (so a stopped pass resumes where it was). ``records(items, view)`` derives the stage's records from
every item so far: the whole video's once the pass reached its end, the part read so far while a file is still
being written. A stream keeps nothing that grows with the video but what ``state`` returns (small, for the
checkpoint) — items live in the pass.
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..errors import ToolError
from ..records import Frame, Record

if TYPE_CHECKING:
    import av


@dataclass(frozen=True)
class PassView:
    """What a stream's records are derived from besides its own items."""

    video_id: str
    duration: float
    """Seconds covered: the video's duration at the end, what was read so far while it grows."""
    final: bool
    scan: list[Record] = field(default_factory=list)
    """The scan's records (shots and frames) of the same part, for the stages that read key frames."""


class KeyImage:
    """A key frame as the frame-reading tools get it, converted once and shared: from the decoded frame during the
    pass, from its stored JPEG when a stage runs later."""

    def __init__(self, frame: Frame, rgb: np.ndarray | None = None) -> None:
        self.frame = frame
        self._rgb = rgb
        self._bgr: np.ndarray | None = None

    @property
    def bgr(self) -> np.ndarray:
        if self._bgr is None:
            import cv2

            if self._rgb is not None:
                self._bgr = cv2.cvtColor(self._rgb, cv2.COLOR_RGB2BGR)
            else:
                self._bgr = cv2.imread(self.frame.path, cv2.IMREAD_COLOR)
                if self._bgr is None:
                    raise ToolError(f"{self.frame.path}: key frame image is missing or unreadable",
                                    "the scan artifact is stale: delete the video's scan@*.jsonl in the store and "
                                    "index again")
        return self._bgr

    @property
    def rgb(self) -> np.ndarray:
        if self._rgb is None:
            self._rgb = self.bgr[:, :, ::-1]
        return self._rgb


class Stream(ABC):
    """One stage's part of the one pass (see the module docstring)."""

    side: ClassVar[str]
    """``video`` (every decoded frame), ``keys`` (key frames) or ``audio`` (speech windows)."""

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def state(self) -> dict[str, Any]:
        """What the stream needs besides its items to go on after a checkpoint."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Go on from ``state`` (what ``state()`` returned)."""

    @abstractmethod
    def records(self, items: list[Any], view: PassView) -> list[Record]:
        """The stage's records from every item so far."""


class KeyStream(Stream):
    side = "keys"

    @abstractmethod
    def add(self, frame: Frame, image: KeyImage) -> Any:
        """The item of one key frame (frames come in time order)."""


class AudioStream(Stream):
    side = "audio"

    @abstractmethod
    def add(self, start: int, samples: np.ndarray) -> list[Any]:
        """The items of one window of 16 kHz audio whose first sample is ``start`` on the video's timeline."""

    def finish(self) -> list[Any]:
        """Items the end of the audio completes (what a stream held back for the next window)."""
        return []


class VideoStream(Stream):
    side = "video"

    @abstractmethod
    def warm(self, t: float, frame: av.VideoFrame, index: int) -> None:
        """See again a frame from before a checkpoint (rebuilds what the stream compares the next frames with)."""

    @abstractmethod
    def add(self, t: float, frame: av.VideoFrame) -> tuple[list[Any], list[KeyImage]]:
        """The items of one decoded frame, and the key frames it made (for the key streams)."""

    @abstractmethod
    def finish(self) -> list[Any]:
        """Items the end of the video completes."""

    @abstractmethod
    def warmup(self) -> list[tuple[int, float]]:
        """(index, time) of the frames ``warm`` needs to see again after a checkpoint."""


def pack(array: np.ndarray) -> dict[str, Any]:
    """A numeric array as JSON: dtype, shape and its bytes in base64 (exact)."""
    array = np.ascontiguousarray(array)
    return {"dtype": str(array.dtype), "shape": list(array.shape), "b64": base64.b64encode(array.tobytes()).decode()}


def unpack(data: dict[str, Any]) -> np.ndarray:
    raw = base64.b64decode(data["b64"])
    return np.frombuffer(raw, dtype=np.dtype(data["dtype"])).reshape(data["shape"]).copy()
