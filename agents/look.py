"""Looking closer: re-sample a span densely and read its frames with the tools (text, objects, scene classes).

The index saw a few key frames per shot; a look decodes ``n`` frames evenly inside a span and has on-screen text,
object detection and scene tags read each one (``tools.frames``: frames and readings cached together). A tool
that cannot run here is reported, and the others still run.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from ..records import Frame, Span
from ..tools.context import VideoContext


@dataclass(frozen=True)
class Reading:
    """What one look found: per-modality text with the span where it was seen, frames used, problems."""

    span: Span
    frames: tuple[Frame, ...]
    found: tuple[tuple[str, Span, str], ...]
    """(modality, span, text): ``text`` lines with their own spans, ``objects`` and ``tags`` over the look."""
    errors: tuple[str, ...] = ()


def look(ctx: VideoContext, span: Span, n: int = 8, stages: tuple[str, ...] = ("ocr", "detect", "tags"),
         ) -> Reading:
    """``n`` frames evenly spread in ``span``, read by each stage's tool (cached per frame set)."""
    from ..tools.frames import dense_frames, read_frames

    fps = max(0.05, n / max(span.duration, 0.5))
    frames = dense_frames(ctx, span, fps=fps, max_frames=n)
    if not frames:
        return Reading(span, (), (), (f"no frames could be decoded in {span}",))
    readings, errors = read_frames(ctx, frames, stages)
    return Reading(span, tuple(frames), tuple(_summarise(frames, readings, span)), tuple(errors))


def _summarise(frames: list[Frame], per_frame: dict[str, list], span: Span) -> list[tuple[str, Span, str]]:
    times = [f.t for f in frames]
    step = (times[1] - times[0]) if len(times) > 1 else span.duration
    out: list[tuple[str, Span, str]] = []
    seen: dict[str, list[float]] = defaultdict(list)
    for t, lines in zip(times, per_frame.get("ocr", [])):
        for line in lines:
            seen[" ".join(line.split())].append(t)
    for text, ts in seen.items():
        out.append(("text", Span(min(ts), min(span.end, max(ts) + step)), text))
    counts: dict[str, int] = {}
    where: dict[str, list[float]] = defaultdict(list)
    for t, labels in zip(times, per_frame.get("detect", [])):
        for label, c in Counter(labels).items():
            counts[label] = max(counts.get(label, 0), c)
            where[label].append(t)
    if counts:
        text = ", ".join(f"{k} x{v}" if v > 1 else k for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
        first = min(min(ts) for ts in where.values())
        last = max(max(ts) for ts in where.values())
        out.append(("objects", Span(first, min(span.end, last + step)), text))
    tags = Counter(name for names in per_frame.get("tags", []) for name in names)
    if tags:
        out.append(("tags", span, ", ".join(name for name, _ in tags.most_common(4))))
    return out
