"""Audio as the speech tools read it: decoded once, 16 kHz mono float32, in bounded windows cut where nobody speaks.

``blocks(path, start)`` decodes the first audio track from ``start`` (a 16 kHz sample index on the video's timeline:
sample 0 is the container's start time) and yields ``(first sample, samples)`` blocks; nothing before ``start`` and
never more than one decoded frame at a time is held.

``Windows`` turns blocks into the windows the ASR and the speakers tool run on. A window starts where the last one
was cut and is cut in its last ``SEARCH`` seconds of ``WINDOW``, in the middle of the longest run of the quietest
10 ms frames (loudness in 6 dB steps from a -60 dBFS floor, each frame the loudest of its 50 ms neighbourhood), so a
word is never split and a cut depends only on the audio around it: the same file gives the same windows whether it
is read at once or in pieces while it is being written. Memory is bounded by one window.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import MediaError
from .decode import open_container, time_origin

SR = 16000
WINDOW = 30.0
"""Target window length (s): about one Whisper pass."""
SEARCH = 10.0
"""A window is cut in its last SEARCH seconds."""
FRAME = SR // 100
FLOOR_DB = -60.0
STEP_DB = 6.0
WARMUP = 1.0
"""Seconds decoded before a resume point and thrown away (the decoder's state)."""


def quiet_levels(samples: np.ndarray) -> np.ndarray:
    """Per 10 ms frame: its loudness level (0 = at or under -60 dBFS, +1 per 6 dB), the loudest of its 50 ms."""
    n = len(samples) // FRAME
    if n == 0:
        return np.zeros(0, np.int64)
    frames = samples[: n * FRAME].astype(np.float32).reshape(n, FRAME)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    db = 20 * np.log10(np.maximum(rms, 1e-10))
    level = np.floor((np.maximum(db, FLOOR_DB) - FLOOR_DB) / STEP_DB).astype(np.int64)
    padded = np.pad(level, 2, mode="edge")
    return np.max(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=1)


def cut_point(samples: np.ndarray, lo: int, hi: int) -> int:
    """Where to cut ``samples`` between sample ``lo`` and ``hi`` (relative): the middle of the longest run of the
    quietest frames (the latest of equal runs, so windows stay long)."""
    f0, f1 = lo // FRAME, max(lo // FRAME + 1, hi // FRAME)
    levels = quiet_levels(samples[f0 * FRAME: f1 * FRAME])
    if len(levels) == 0:
        return hi
    quiet = levels == levels.min()
    best, best_len, run_start = 0, 0, None
    for i, q in enumerate(np.append(quiet, False)):
        if q and run_start is None:
            run_start = i
        elif not q and run_start is not None:
            if i - run_start >= best_len:
                best, best_len = run_start, i - run_start
            run_start = None
    return (f0 + best + best_len // 2) * FRAME


class Windows:
    """Windows of speech audio from consecutive blocks: ``add`` yields the windows a block completes, ``rest`` the
    tail once the audio ended. ``start`` is the first sample not yet in a window (where a resumed run starts)."""

    def __init__(self, start: int = 0, window: float = WINDOW, search: float = SEARCH) -> None:
        self.start = start
        self.window, self.search = int(window * SR), int(search * SR)
        self._parts: list[np.ndarray] = []
        self._held = 0

    def add(self, samples: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        self._parts.append(samples)
        self._held += len(samples)
        while self._held >= self.window:
            buffer = np.concatenate(self._parts)
            cut = max(FRAME, cut_point(buffer, self.window - self.search, self.window))
            yield self.start, buffer[:cut]
            self.start += cut
            self._parts, self._held = [buffer[cut:]], len(buffer) - cut

    def rest(self) -> Iterator[tuple[int, np.ndarray]]:
        if self._held:
            buffer = np.concatenate(self._parts)
            yield self.start, buffer
            self.start += len(buffer)
            self._parts, self._held = [], 0


def blocks(path: str | Path, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """16 kHz mono float32 blocks of the first audio track from sample ``start`` (before ``stop``), each with the
    index of its first sample; nothing when the file has no audio."""
    import av

    back = WARMUP
    while True:  # a seek in a file without an index (MPEG-TS) can land past its target: then seek further back
        container = open_container(path)
        if not container.streams.audio:
            container.close()
            return
        stream = container.streams.audio[0]
        origin = time_origin(container)
        target = start / SR - back if start > 0 and start / SR - back > 0 else None
        if target is not None:
            container.seek(int((target + origin) / stream.time_base), stream=stream, backward=True, any_frame=False)
        frames = container.decode(stream)
        try:
            first = next(frames, None)
        except av.error.InvalidDataError as e:
            first = None
            if target is None:
                if stop is None:
                    container.close()
                    raise MediaError(str(path), "audio track is corrupt or truncated", "re-copy the file") from e
                frames = iter(())
        at = None if first is None or first.time is None else round((first.time - origin) * SR)
        if target is None or (first is not None and (at is None or at <= start)):
            break
        container.close()
        back *= 2
    try:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SR)
        position: int | None = None
        try:
            for frame in itertools.chain([first] if first is not None else [], frames):
                if position is None:
                    position = round(((frame.time if frame.time is not None else origin) - origin) * SR)
                frame.pts = None
                for out in resampler.resample(frame):
                    position = yield from _emit(out.to_ndarray().reshape(-1), position, start, stop)
                if stop is not None and position >= stop:
                    return
            for out in resampler.resample(None):
                position = yield from _emit(out.to_ndarray().reshape(-1), position or 0, start, stop)
        except av.error.InvalidDataError as e:
            if stop is None:  # a growing file's last bytes may be cut: read up to ``stop`` only
                raise MediaError(str(path), "audio track is corrupt or truncated", "re-copy the file") from e
    finally:
        container.close()


def _emit(samples: np.ndarray, position: int, start: int, stop: int | None):
    """Yield the part of ``samples`` (first sample at ``position``) inside [start, stop); return the next position."""
    end = position + len(samples)
    a, b = max(start, position), end if stop is None else min(stop, end)
    if b > a:
        yield a, np.ascontiguousarray(samples[a - position: b - position], dtype=np.float32)
    return end
