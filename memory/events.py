"""Events: one per shot, long shots split into clips of bounded length, each holding its evidence by modality.

No model runs here: an event's text is composed from the tools' records (speech cut to the span with its word
times, on-screen text, objects, frame tags), so building events costs milliseconds per video.
"""

from __future__ import annotations

import math
from dataclasses import replace
from collections.abc import Iterable

from ..records import Event, Frame, FrameTags, ObjectSpan, Record, Shot, Span, TextLine, TranscriptSegment

EVENTS_VERSION = 1


def clip_spans(span: Span, max_seconds: float) -> list[Span]:
    """``span`` cut into equal parts no longer than ``max_seconds``."""
    parts = max(1, math.ceil(span.duration / max_seconds - 1e-9))
    step = span.duration / parts
    edges = [span.start + i * step for i in range(parts)] + [span.end]
    return [Span(round(a, 3), round(b, 3)) for a, b in zip(edges, edges[1:])]


def cut_segment(seg: TranscriptSegment, span: Span) -> TranscriptSegment | None:
    """The part of ``seg`` said inside ``span`` (words by their middle; untimed segments by their middle)."""
    if seg.words:
        words = tuple(w for w in seg.words if span.start <= w.span.middle < span.end)
        if not words:
            return None
        if len(words) == len(seg.words):
            return seg
        text = " ".join(w.text.strip() for w in words)
        return replace(seg, span=Span(words[0].span.start, words[-1].span.end), text=text, words=words)
    return seg if span.start <= seg.span.middle < span.end else None


def _overlaps(a: Span, b: Span) -> bool:
    if a.duration == 0 or b.duration == 0:
        return a.start <= b.end and b.start <= a.end
    return a.overlap(b) > 0


def build_events(video_id: str, duration: float, records: dict[str, list[Record]], max_seconds: float = 30.0,
                 min_tag_prob: float = 0.3) -> list[Event]:
    """Events of one video from its tools' records (``scan`` required; ``asr``, ``ocr``, ``detect``, ``tags``
    optional)."""
    scan = records.get("scan", [])
    shots = sorted((r for r in scan if isinstance(r, Shot)), key=lambda s: s.span.start)
    if not shots:
        shots = [Shot(video_id=video_id, index=0, span=Span(0.0, max(duration, 0.0)), source="")]
    keys = sorted(r.t for r in scan if isinstance(r, Frame) and r.kind == "key")
    speech = sorted(_of(records.get("asr", []), TranscriptSegment), key=lambda s: s.span.start)
    lines = _of(records.get("ocr", []), TextLine)
    objects = _of(records.get("detect", []), ObjectSpan)
    tags = _of(records.get("tags", []), FrameTags)
    source = f"events@{EVENTS_VERSION}"

    events: list[Event] = []
    for shot in shots:
        for span in clip_spans(shot.span, max_seconds):
            said = tuple(c for s in speech if _overlaps(s.span, span) and (c := cut_segment(s, span)) is not None)
            seen = tuple(sorted((t for t in lines if _overlaps(t.span, span)), key=lambda t: (t.span.start, t.box[1])))
            objs = tuple(sorted((o for o in objects if _overlaps(o.span, span)), key=lambda o: -o.max_count))
            classes: dict[str, float] = {}
            for ft in tags:
                if span.start <= ft.t < span.end:
                    for name, p in ft.tags:
                        if p >= min_tag_prob:
                            classes[name] = max(p, classes.get(name, 0.0))
            events.append(Event(
                video_id=video_id, index=len(events), span=span, shot_index=shot.index, speech=said, text=seen,
                objects=_dedupe_objects(objs), tags=tuple(sorted(classes, key=lambda n: -classes[n])),
                keyframes=tuple(t for t in keys if span.start <= t < span.end), source=source))
    return events


def _of(records: Iterable[Record], cls: type) -> list:
    return [r for r in records if isinstance(r, cls)]


def _dedupe_objects(objs: tuple[ObjectSpan, ...]) -> tuple[ObjectSpan, ...]:
    """One ObjectSpan per label (the one with most boxes at once)."""
    seen: dict[str, ObjectSpan] = {}
    for o in objs:
        if o.label not in seen or o.max_count > seen[o.label].max_count:
            seen[o.label] = o
    return tuple(seen.values())


def overlap_edges(events: list[Event], records: dict[str, list[Record]]) -> list[tuple[int, int]]:
    """Pairs of events that share a sentence or an on-screen line (evidence that crosses their boundary)."""
    pairs: set[tuple[int, int]] = set()
    spans = [e.span for e in events]
    for r in [*records.get("asr", []), *records.get("ocr", [])]:
        if not isinstance(r, (TranscriptSegment, TextLine)):
            continue
        hit = [i for i, s in enumerate(spans) if _overlaps(r.span, s) and r.span.overlap(s) > 0.25]
        for a, b in zip(hit, hit[1:]):
            pairs.add((a, b))
    return sorted(pairs)
