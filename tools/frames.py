"""Frames on demand: dense re-sampling inside a span (the agents' "look closer"), what the tools read in them, and
thumbnails.

The index pass (``scan``) already keeps 1 fps thumbnails and full-resolution key frames; these functions add
frames later. One cache per re-sampled span (``<video>/dense@V/<span,fps,n>/``) holds its frames and what each tool
read in them, so looking at the same span twice decodes and reads it once.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from pathlib import Path

from ..records import Frame, Span, record_from_dict
from .store import atomic_write_text
from .context import VideoContext
from .decode import frames_at, frames_in_span
from .scan import frames_of, save_jpeg

DENSE_VERSION = "2"
"""Bumped when the cache layout changes (2: readings kept beside the frames)."""


def dense_frames(ctx: VideoContext, span: Span, fps: float = 2.0, max_frames: int = 32,
                 width: int | None = None) -> list[Frame]:
    """Full-resolution (or ``width``-wide) frames evenly spread inside ``span`` at ``fps``; cached."""
    span = Span(start=max(0.0, span.start), end=min(ctx.info.duration, span.end))
    key = f"{span.start:.3f}-{span.end:.3f}-{fps:g}-{max_frames}-{width or 0}"
    folder = ctx.store.video_dir(ctx.video_id) / f"dense@{DENSE_VERSION}" / key
    index = folder / "frames.json"
    if index.is_file():
        return [record_from_dict(d) for d in json.loads(index.read_text())]  # type: ignore[misc]
    out = []
    for t, rgb in frames_in_span(ctx.path, span, fps, max_frames):
        path = folder / f"{t:010.3f}.jpg"
        w, h = save_jpeg(rgb, path, width, quality=90)
        out.append(Frame(video_id=ctx.video_id, t=round(t, 3), path=str(path), width=w, height=h, kind="dense",
                         source=f"frames.dense@{DENSE_VERSION}"))
    atomic_write_text(index, json.dumps([f.to_dict() for f in out]))
    return out


def read_frames(ctx: VideoContext, frames: Sequence[Frame], stages: Sequence[str]
                ) -> tuple[dict[str, list[list[str]]], list[str]]:
    """What each stage's tool reads in each of ``frames`` (one list of texts per frame), cached with the
    frames; and one line per stage whose tool could not run (the others still run)."""
    cache = Path(frames[0].path).parent / "readings.json" if frames else None
    readings: dict[str, list[list[str]]] = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    errors = []
    for cap in stages:
        if cap in readings or not frames:
            continue
        try:
            tool = ctx.tool(cap)
            readings[cap] = [tool.read_frame(f.path) for f in frames]
        except Exception as e:  # a missing extra or a broken model: the others still read
            errors.append(f"{cap}: {getattr(e, 'message', None) or e}")
    if cache is not None:
        atomic_write_text(cache, json.dumps(readings))
    return readings, errors


def thumbnail(ctx: VideoContext, t: float, max_distance: float = 1.0) -> Frame:
    """The scan's thumbnail nearest to ``t`` (within ``max_distance`` s), else one decoded at ``t``."""
    samples = frames_of(ctx.get("scan"), "sample")
    times = [f.t for f in samples]
    i = bisect.bisect_left(times, t)
    near = [samples[j] for j in (i - 1, i) if 0 <= j < len(samples)]
    if near:
        best = min(near, key=lambda f: abs(f.t - t))
        if abs(best.t - t) <= max_distance:
            return best
    folder = ctx.store.video_dir(ctx.video_id) / "thumbs-extra"
    (ft, rgb), = frames_at(ctx.path, [t])
    path = folder / f"{ft:010.3f}.jpg"
    w, h = save_jpeg(rgb, path, 320, quality=80)
    return Frame(video_id=ctx.video_id, t=round(ft, 3), path=str(path), width=w, height=h, kind="sample",
                 source=f"frames.thumb@{DENSE_VERSION}")
