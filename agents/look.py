"""Looking closer: re-sample a span densely and read its frames with the tools (text, objects, scene classes).

The index saw a few key frames per shot; a look decodes ``n`` frames evenly inside a span and runs on-screen text,
object detection and scene tags on each. Frames and readings are cached beside the video's artifacts, so looking
at the same span again costs nothing. A tool that cannot run here is reported, and the others still run.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from ..records import Frame, Span
from ..tools.base import VideoContext, atomic_write_text

LOOK_VERSION = "1"


@dataclass(frozen=True)
class Reading:
    """What one look found: per-modality text with the span where it was seen, frames used, problems."""

    span: Span
    frames: tuple[Frame, ...]
    found: tuple[tuple[str, Span, str], ...]
    """(modality, span, text): ``text`` lines with their own spans, ``objects`` and ``tags`` over the look."""
    errors: tuple[str, ...] = ()


def look(ctx: VideoContext, span: Span, n: int = 8, capabilities: tuple[str, ...] = ("ocr", "detect", "tags"),
         ) -> Reading:
    """``n`` frames evenly spread in ``span``, read by each capability's tool (cached per frame set)."""
    from ..tools.frames import dense_frames

    fps = max(0.05, n / max(span.duration, 0.5))
    frames = dense_frames(ctx, span, fps=fps, max_frames=n)
    if not frames:
        return Reading(span, (), (), (f"no frames could be decoded in {span}",))
    cache = Path(frames[0].path).parent / f"look@{LOOK_VERSION}.json"
    per_frame: dict[str, dict[str, list]] = json.loads(cache.read_text()) if cache.is_file() else {}
    errors = []
    for cap in capabilities:
        if cap in per_frame:
            continue
        try:
            per_frame[cap] = _read(ctx, cap, frames)
        except Exception as e:  # a missing extra or a broken model: the look goes on with the other tools
            errors.append(f"{cap}: {getattr(e, 'message', None) or e}")
    atomic_write_text(cache, json.dumps(per_frame))
    return Reading(span, tuple(frames), tuple(_summarise(frames, per_frame, span)), tuple(errors))


def _read(ctx: VideoContext, cap: str, frames: list[Frame]) -> list:
    tool = ctx.tool(cap)
    if cap == "ocr":
        from ..tools.ocr import load_frame

        _ = tool.model
        return [[r.text for r in tool.read_frame(load_frame(f.path, 960)) if r.score >= 0.5]  # type: ignore[attr-defined]
                for f in frames]
    if cap == "detect":
        return [[label for label, score, _box in tool.detect_image(f.path)] for f in frames]  # type: ignore[attr-defined]
    if cap == "tags":
        return [[name for name, _p in tool.classify(f.path)[:2]] for f in frames]  # type: ignore[attr-defined]
    raise ValueError(f"cannot look with {cap!r}")


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
