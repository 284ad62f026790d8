"""How answers, libraries and a video's index look: plain text for terminals, HTML for notebooks.

Thumbnails are embedded as data URLs, so a saved notebook shows them anywhere. Every piece of text that came from a
video is HTML-escaped.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .records import Answer, Citation, Event, Span, fmt_time

if TYPE_CHECKING:
    from .library import Library

STEP_COLOURS = {"routed": "#6b7280", "retrieved": "#2563eb", "looked": "#d97706", "split": "#9333ea",
                "moved": "#0891b2", "decided": "#4b5563", "planned": "#6b7280", "mapped": "#059669",
                "reduced": "#047857", "drafted": "#1d4ed8", "reflected": "#7c3aed", "answered": "#15803d",
                "abstained": "#b91c1c", "budget": "#b45309", "error": "#b91c1c"}
_CSS = ("font-family:system-ui,sans-serif;font-size:13px;line-height:1.4;max-width:980px")


def span_text(span: Span) -> str:
    return f"{fmt_time(span.start)}–{fmt_time(span.end)}"


def answer_text(a: Answer) -> str:
    """The answer, its confidence and cited moments (video, time, modality, evidence), as terminal lines."""
    lines = [a.text, f"  confidence {a.confidence:.2f} · {a.strategy} · {cost_text(a)}"]
    for c in a.citations:
        lines.append(f"  [{c.video} {span_text(c.span)}] {c.modality}: {_clip(c.evidence, 160)}")
    return "\n".join(lines)


def cost_text(a: Answer) -> str:
    c = a.cost
    return (f"{_n(c.model_calls, 'model call')}, {_n(c.tokens, 'token')}, {_n(c.frames, 'frame')} looked at, "
            f"{c.seconds:.1f} s")


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _img(path: str | None, width: int = 160) -> str:
    if not path or not Path(path).is_file():
        return f'<div style="width:{width}px;height:{width * 9 // 16}px;background:#e5e7eb"></div>'
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img src="data:image/jpeg;base64,{data}" style="width:{width}px;border-radius:4px">'


def _citation_card(c: Citation) -> str:
    return (f'<div style="display:inline-block;vertical-align:top;width:170px;margin:4px">{_img(c.frame)}'
            f'<div><b>{escape(span_text(c.span))}</b> <span style="color:#6b7280">{escape(c.modality)}</span></div>'
            f'<div style="color:#374151">{escape(c.video)}</div>'
            f'<div style="font-size:12px">{escape(_clip(c.evidence, 140))}</div></div>')


def answer_html(a: Answer) -> str:
    """The answer, cited moments as thumbnails with timestamps, and the trace as a timeline."""
    colour = "#15803d" if a.found else "#b91c1c"
    options = ""
    if a.options:
        bold = ' style="font-weight:600"'
        rows = "".join(f"<li{bold if a.choice == chr(65 + i) else ''}>{chr(65 + i)}. {escape(o)}</li>"
                       for i, o in enumerate(a.options))
        options = f'<ol style="list-style:none;padding-left:0;margin:4px 0">{rows}</ol>'
    cards = "".join(_citation_card(c) for c in a.citations) or '<i>no cited moments</i>'
    steps = "".join(
        f'<tr><td style="color:{STEP_COLOURS.get(s.kind, "#374151")};font-weight:600;padding-right:8px">'
        f'{escape(s.kind)}</td><td style="white-space:nowrap;padding-right:8px">'
        f'{escape(span_text(s.span)) if s.span else ""}</td><td>{escape(_clip(s.detail, 220))}</td>'
        f'<td style="color:#6b7280;white-space:nowrap;padding-left:8px">{s.seconds:.1f} s'
        f'{f" · {s.calls} call" + ("s" if s.calls > 1 else "") if s.calls else ""}</td></tr>'
        for s in a.trace)
    return (f'<div style="{_CSS}"><div style="color:#6b7280">{escape(a.question)}</div>{options}'
            f'<div style="font-size:18px;font-weight:600;color:{colour};margin:4px 0">{escape(a.text)}</div>'
            f'<div style="color:#6b7280">confidence {a.confidence:.2f} · {escape(a.strategy)} · '
            f'{escape(a.model)} · {escape(cost_text(a))}</div>'
            f'<div style="margin:8px 0">{cards}</div>'
            f'<details><summary>trace ({len(a.trace)} steps)</summary><table>{steps}</table></details></div>')


def library_html(lib: Library) -> str:
    """A table of the library's videos: duration, stages and memory size, with a thumbnail."""
    rows = []
    for e in lib.videos():
        stats = lib.memory.graph.stats(e.video_id) if (lib.index_dir / "memory").is_dir() else None
        stages = " ".join(f"{s.capability}{'✓' if s.status == 'done' else '✗'}" for s in e.stages)
        thumb = None
        try:
            from .tools.frames import thumbnail

            thumb = thumbnail(lib.context(e), min(e.duration / 2, 5.0), 10.0).path
        except Exception:  # a thumbnail is decoration
            thumb = None
        rows.append(f"<tr><td>{_img(thumb, 96)}</td><td>{escape(e.name)}</td><td>{fmt_time(e.duration)}</td>"
                    f"<td>{escape(stages)}</td><td>{(stats or {}).get('events', '–')} events, "
                    f"{(stats or {}).get('entities', '–')} entities</td></tr>")
    body = "".join(rows) or '<tr><td colspan="5"><i>nothing indexed yet</i></td></tr>'
    return (f'<div style="{_CSS}"><b>{escape(str(lib.folder))}</b><table><tr><th></th><th>video</th>'
            f'<th>duration</th><th>stages</th><th>memory</th></tr>{body}</table></div>')


class VideoIndex:
    """One video's index (its events with thumbnails and evidence); ``Library.view(video)`` returns it."""

    def __init__(self, lib: Library, video: Any) -> None:
        self.lib = lib
        self.entry = lib.get(video)

    @property
    def events(self) -> Sequence[Event]:
        return self.lib.memory.events(self.entry.video_id)

    def __repr__(self) -> str:
        return f"VideoIndex({self.entry.name!r}, {len(self.events)} events)"

    def _repr_html_(self) -> str:
        from .tools.frames import thumbnail

        ctx = self.lib.context(self.entry)
        rows = []
        for e in self.events:
            try:
                thumb = thumbnail(ctx, e.span.start + min(1.0, e.span.duration / 2), 5.0).path
            except Exception:  # a thumbnail is decoration
                thumb = None
            evidence = "<br>".join(f"<b>{escape(k)}</b>: {escape(_clip(v, 200))}" for k, v in e.evidence().items())
            rows.append(f'<tr><td>{_img(thumb, 128)}</td><td style="white-space:nowrap">{span_text(e.span)}</td>'
                        f"<td>{evidence}</td></tr>")
        return (f'<div style="{_CSS}"><b>{escape(self.entry.name)}</b> · {fmt_time(self.entry.duration)} · '
                f'{len(rows)} events<table>{"".join(rows)}</table></div>')
