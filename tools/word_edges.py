"""Word edges from the audio itself: Whisper's word times (cross-attention DTW) put a word that follows a pause
up to ~0.5 s early, the pause counted as part of it ("Madrid." said at 34.5 s timed 34.06-34.84). Each word's
span is pulled in to the frames inside it that sound (short-time energy over the window's own threshold), and its
end let run on while the sound does (up to the next word); a window too noisy to tell speech from pause keeps
Whisper's times."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..records import Span, TranscriptSegment, Word

HOP = 0.01
"""Seconds between energy frames (each frame 20 ms)."""
CONTRAST = 15.0
"""dB between the window's quiet floor and its loud speech below which pauses cannot be told apart."""
LEVEL = 0.25
"""Where the threshold sits between the floor (0) and the speech level (1), in dB."""
SHORTEST = 0.06
"""Seconds a pulled-in word keeps at least."""
RUN_ON = 0.3
"""Seconds a word's end may move later, while the sound goes on."""


def loudness(samples: Any, rate: int) -> tuple[Any, float] | None:
    """Per-frame energy in dB and the window's speech threshold; None when the window has no clear pauses."""
    import numpy as np

    x = np.asarray(samples, dtype=np.float32)
    hop, size = int(rate * HOP), int(rate * HOP * 2)
    if len(x) < size * 10:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(x, size)[::hop]
    db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-10)
    floor, loud = np.percentile(db, 10), np.percentile(db, 95)
    if loud - floor < CONTRAST:
        return None
    return db, float(floor + LEVEL * (loud - floor))


def tighten(segments: list[TranscriptSegment], samples: Any, offset: float, rate: int) -> list[TranscriptSegment]:
    """``segments`` (times on the video's timeline; ``samples`` start at ``offset``) with each word's span moved
    in from silence and its segment's span taken from its words again."""
    level = loudness(samples, rate)
    if level is None:
        return segments
    db, threshold = level
    words = [w for s in segments for w in s.words]
    nexts = {id(w): n.span.start for w, n in zip(words, words[1:])}
    out = []
    for seg in segments:
        moved = tuple(_edge(w, db, threshold, offset, nexts.get(id(w))) for w in seg.words)
        if moved and moved != seg.words:
            span = Span(moved[0].span.start, max(moved[0].span.start, moved[-1].span.end))
            seg = replace(seg, span=span, words=moved)
        out.append(seg)
    return out


def _edge(w: Word, db: Any, threshold: float, offset: float, next_start: float | None) -> Word:
    import numpy as np

    a = max(0, int((w.span.start - offset) / HOP))
    b = min(len(db), int(np.ceil((w.span.end - offset) / HOP)))
    loud = np.flatnonzero(db[a:b] > threshold)
    if not len(loud):
        return w  # nothing sounds inside it: not ours to move
    start = offset + (a + loud[0]) * HOP
    end = offset + (a + loud[-1]) * HOP + 2 * HOP
    if loud[-1] == b - a - 1:  # still sounding at its end: run on while it does
        limit = min(b + int(RUN_ON / HOP), len(db))
        if next_start is not None:
            limit = min(limit, max(b, int((next_start - offset) / HOP)))
        k = b
        while k < limit and db[k] > threshold:
            k += 1
        end = offset + k * HOP
    end = min(end, next_start) if next_start is not None and next_start > start else end
    if end - start < SHORTEST:
        return w
    return replace(w, span=Span(round(float(start), 3), round(float(max(start, end)), 3)))
