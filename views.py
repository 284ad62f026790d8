"""How a library and one video's index look in a notebook: HTML tables with thumbnails (embedded as data URLs, so a
saved notebook shows them anywhere); every piece of text that came from a video is HTML-escaped.
(An ``Answer``'s own faces live with it, in ``vidgraph.agents.answer``.)"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from .agents.answer import CSS, img_html
from .index.catalog import VideoEntry
from .records import Event, fmt_span, fmt_time
from .tools.context import VideoContext


def _thumbnail(ctx: VideoContext, t: float, within: float) -> str | None:
    from .tools.frames import thumbnail

    try:
        return thumbnail(ctx, t, within).path
    except Exception:  # a thumbnail is decoration: a view never fails for want of one
        return None


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def library_html(folder: Path, rows: Sequence[tuple[VideoEntry, dict | None, VideoContext]]) -> str:
    """A table of the library's videos (entry, memory stats, context): thumbnail, duration, stages, memory size."""
    out = []
    for e, stats, ctx in rows:
        stages = " ".join(f"{s.stage}{'✓' if s.status == 'done' else '✗'}" for s in e.stages)
        thumb = _thumbnail(ctx, min(e.duration / 2, 5.0), 10.0)
        out.append(f"<tr><td>{img_html(thumb, 96)}</td><td>{escape(e.name)}</td><td>{fmt_time(e.duration)}</td>"
                   f"<td>{escape(stages)}</td><td>{(stats or {}).get('events', '–')} events, "
                   f"{(stats or {}).get('entities', '–')} entities</td></tr>")
    body = "".join(out) or '<tr><td colspan="5"><i>nothing indexed yet</i></td></tr>'
    return (f'<div style="{CSS}"><b>{escape(str(folder))}</b><table><tr><th></th><th>video</th>'
            f'<th>duration</th><th>stages</th><th>memory</th></tr>{body}</table></div>')


class VideoIndex:
    """One video's index (its events with thumbnails and evidence); ``Library.view(video)`` returns it."""

    def __init__(self, entry: VideoEntry, events: Sequence[Event], ctx: VideoContext) -> None:
        self.entry = entry
        self.events = list(events)
        self.ctx = ctx

    def __repr__(self) -> str:
        return f"VideoIndex({self.entry.name!r}, {len(self.events)} events)"

    def _repr_html_(self) -> str:
        rows = []
        for e in self.events:
            thumb = _thumbnail(self.ctx, e.span.start + min(1.0, e.span.duration / 2), 5.0)
            evidence = "<br>".join(f"<b>{escape(k)}</b>: {escape(_clip(v, 200))}" for k, v in e.evidence().items())
            rows.append(f'<tr><td>{img_html(thumb, 128)}</td><td style="white-space:nowrap">{fmt_span(e.span)}</td>'
                        f"<td>{evidence}</td></tr>")
        return (f'<div style="{CSS}"><b>{escape(self.entry.name)}</b> · {fmt_time(self.entry.duration)} · '
                f'{len(rows)} events<table>{"".join(rows)}</table></div>')


__all__ = ["VideoIndex", "library_html"]
