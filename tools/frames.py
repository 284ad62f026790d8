"""Frames on demand: dense re-sampling inside a span (the agents' "look closer") and thumbnails.

The index pass (``scan``) already keeps 1 fps thumbnails and full-resolution key frames; these functions add
frames later, cached on disk beside the scan's, so looking at the same span twice decodes it once.
"""

from __future__ import annotations

import bisect
import json

from ..records import Frame, Span, record_from_dict
from .base import VideoContext, atomic_write_text
from .decode import frames_at, frames_in_span
from .scan import frames_of, save_jpeg

DENSE_VERSION = "1"


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
