"""Typed, immutable records: everything vidgraph knows about a video.

Conventions:
- time is always seconds from the start of the media (float), spans are ``Span(start, end)``;
- a video is identified by ``video_id``, a content hash of the file, never by its path;
- every record produced by a tool names it in ``source`` as ``"<tool name>@<version>"``;
- boxes are ``(x0, y0, x1, y1)`` normalised to [0, 1];
- collections are tuples, so records stay hashable and immutable.

Records round-trip through plain JSON with ``to_dict()`` / ``record_from_dict()``.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from functools import cache
from collections.abc import Callable
from typing import Any, ClassVar

Box = tuple[float, float, float, float]

_RECORD_TYPES: dict[str, type[Record]] = {}


@dataclass(frozen=True, slots=True)
class Record:
    """Base of every record: JSON round-trip and a registry of record types by name."""

    type_name: ClassVar[str] = "record"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # dataclass(slots=True) re-creates the class, so this runs twice; the final class wins.
        cls.type_name = cls.__name__
        _RECORD_TYPES[cls.__name__] = cls

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, with ``"type"`` naming the record class."""
        out: dict[str, Any] = {"type": self.type_name}
        for f in dataclasses.fields(self):
            out[f.name] = _dump(getattr(self, f.name))
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        return cls(**{name: load(data[name]) for name, load in _fields(cls) if name in data})


def record_from_dict(data: dict[str, Any]) -> Record:
    """Rebuild any record from ``Record.to_dict()`` output."""
    try:
        cls = _RECORD_TYPES[data["type"]]
    except KeyError as e:
        raise ValueError(f"unknown record type {data.get('type')!r}") from e
    return cls.from_dict(data)


@cache
def _fields(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """Each field of a record class with the loader of its type (worked out once per class)."""
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _loader(hints[f.name])) for f in dataclasses.fields(cls))


def _dump(value: Any) -> Any:
    if isinstance(value, Record):
        d = value.to_dict()
        d.pop("type")
        return d
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    return value


def _same(value: Any) -> Any:
    return value


@cache
def _loader(hint: Any) -> Callable[[Any], Any]:
    """A function turning the JSON form of a ``hint``-typed value back into it (None stays None)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _loader(inner[0]) if len(inner) == 1 else _same
    if isinstance(hint, type) and issubclass(hint, Record):
        return lambda v: None if v is None else hint.from_dict(v)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            one = _loader(args[0])
            if one is _same:
                return lambda v: None if v is None else tuple(v)
            return lambda v: None if v is None else tuple(one(x) for x in v)
        each = tuple(_loader(a) for a in args)
        return lambda v: None if v is None else tuple(f(x) for f, x in zip(each, v))
    return _same


@dataclass(frozen=True, slots=True)
class Span(Record):
    """A time interval in seconds, ``start <= end``."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not (self.start <= self.end):
            raise ValueError(f"span start {self.start} is after its end {self.end}")

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2

    def contains(self, t: float) -> bool:
        return self.start <= t <= self.end

    def overlap(self, other: Span) -> float:
        """Seconds shared with ``other`` (0 when disjoint)."""
        return max(0.0, min(self.end, other.end) - max(self.start, other.start))

    def iou(self, other: Span) -> float:
        union = max(self.end, other.end) - min(self.start, other.start)
        return self.overlap(other) / union if union > 0 else float(self == other)

    def __str__(self) -> str:
        return fmt_span(self, "-")


def fmt_span(span: Span, sep: str = "–") -> str:
    """``Span(35.5, 46.3)`` -> ``"0:35.5–0:46.3"`` (``str(span)`` uses a hyphen, the form models read)."""
    return f"{fmt_time(span.start)}{sep}{fmt_time(span.end)}"


def parse_time(text: str) -> float:
    """``"1:02:05.5"``, ``"2:05"`` or ``"125.5"`` -> seconds; raises ValueError for anything else."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(re.fullmatch(r"\d+(\.\d+)?", p) for p in parts):
        raise ValueError(f"{text!r} is not a time (use seconds, m:ss or h:mm:ss)")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total


LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
"""Option letters: ``options[0]`` is ``A``."""


def fmt_time(t: float) -> str:
    """``3725.5`` -> ``"1:02:05.5"``; ``65.0`` -> ``"1:05.0"``."""
    sign = "-" if t < 0 else ""
    t = abs(t)
    h, rem = divmod(t, 3600)
    m, s = divmod(rem, 60)
    return f"{sign}{int(h)}:{int(m):02d}:{s:04.1f}" if h >= 1 else f"{sign}{int(m)}:{s:04.1f}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeInfo(Record):
    """What a video file contains, read from its container headers."""

    video_id: str
    path: str
    size_bytes: int
    container: str
    duration: float
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    video_codec: str = ""
    audio_codec: str = ""
    audio_rate: int = 0
    variable_frame_rate: bool = False
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Shot(Record):
    """A continuous camera shot between two cuts."""

    video_id: str
    index: int
    span: Span
    source: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame(Record):
    """A frame kept from a video, stored as a JPEG file.

    ``kind`` is ``"sample"`` (uniform sampling, stored as a thumbnail), ``"key"`` (first frame of a shot or a
    frame whose content changed, stored at full resolution) or ``"dense"`` (re-sampled inside a span on demand).
    """

    video_id: str
    t: float
    path: str
    width: int
    height: int
    kind: str
    shot_index: int = -1
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Word(Record):
    span: Span
    text: str
    prob: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptSegment(Record):
    """A stretch of speech with its words; ``words`` is empty when the backend cannot time words."""

    video_id: str
    span: Span
    text: str
    words: tuple[Word, ...] = ()
    language: str = ""
    source: str = ""
    speaker: str = ""
    """Who says it, when the speakers stage ran: the label within its video (``"S1"``...)."""
    speaker_name: str = ""
    """The speaker's name, when the video gives evidence for one (``tools.speaker_names``)."""

    @property
    def who(self) -> str:
        """The speaker's name, else the label, else ``""``."""
        return self.speaker_name or self.speaker


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeakerTurn(Record):
    """A stretch of speech by one voice. ``speaker`` is the label within its video (``"S1"``, ``"S2"``... by first
    appearance); the same label in two videos is not the same person (``tools.speakers.link_speakers`` says when
    two voices match)."""

    video_id: str
    span: Span
    speaker: str
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Speaker(Record):
    """One voice of a video: how long and how often it speaks, and its centroid voice embedding (256 floats,
    L2-normalised resemblyzer d-vector; compare two with a dot product)."""

    video_id: str
    speaker: str
    talk_seconds: float
    turns: int
    embedding: tuple[float, ...] = ()
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class NameEvidence(Record):
    """Why a speaker has a name: where (``span``), seen or heard (``modality``: ``"speech"`` or ``"text"``), the
    words (``text``), the rule (``"self-intro"``, ``"on-screen"``, ``"addressed"``) and its weight."""

    span: Span
    modality: str
    text: str
    rule: str
    weight: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeakerName(Record):
    """A name linked to a speaker of a video, only ever from evidence (strongest first) with a confidence in
    [0, 1] that grows with independent evidence."""

    video_id: str
    speaker: str
    name: str
    confidence: float
    evidence: tuple[NameEvidence, ...]
    source: str = ""

    @property
    def evidence_span(self) -> Span:
        return self.evidence[0].span

    @property
    def modality(self) -> str:
        return self.evidence[0].modality


@dataclass(frozen=True, slots=True, kw_only=True)
class HeardAgain(Record):
    """The words around a name the transcript heard (a self-introduction, a question to someone) decoded again
    alone by the ``names`` stage: ``name`` as the transcript heard it, ``text`` as the second hearing did."""

    video_id: str
    span: Span
    name: str
    text: str
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TextLine(Record):
    """A line of on-screen text, merged over the consecutive frames that showed it."""

    video_id: str
    span: Span
    text: str
    score: float
    box: Box
    frames: int = 1
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Detection(Record):
    """One object box in one frame."""

    video_id: str
    t: float
    label: str
    score: float
    box: Box
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObjectSpan(Record):
    """Consecutive frames that showed a label, with the most boxes seen at once in one frame."""

    video_id: str
    label: str
    span: Span
    max_count: int
    score: float
    frames: int = 1
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameTags(Record):
    """Whole-frame classes (ImageNet) with probabilities, for the offline description of a frame."""

    video_id: str
    t: float
    tags: tuple[tuple[str, float], ...]
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Caption(Record):
    """A description of a clip written by a model: a VLM over its frames, or an LLM over its evidence."""

    video_id: str
    span: Span
    text: str
    entities: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(Record):
    """One shot, or one clip of a long shot, with its evidence kept apart by modality.

    ``speech`` holds the transcript segments overlapping the span, cut to it (words included); ``text`` the
    on-screen lines seen in it; ``objects`` the detected labels; ``tags`` the ImageNet classes of its key frames;
    ``caption`` a model's description when one was made. ``keyframes`` are times of its stored key frames.
    """

    video_id: str
    index: int
    span: Span
    shot_index: int
    speech: tuple[TranscriptSegment, ...] = ()
    text: tuple[TextLine, ...] = ()
    objects: tuple[ObjectSpan, ...] = ()
    tags: tuple[str, ...] = ()
    keyframes: tuple[float, ...] = ()
    caption: Caption | None = None
    entities: tuple[str, ...] = ()
    source: str = ""

    @property
    def event_id(self) -> str:
        return f"{self.video_id}:{self.index}"

    def evidence(self) -> dict[str, str]:
        """Evidence text per modality (only the non-empty ones): speech, text, objects, tags, caption."""
        out = {
            "speech": _speech(self.speech),
            "text": " | ".join(t.text for t in self.text),
            "objects": ", ".join(f"{o.label} x{o.max_count}" if o.max_count > 1 else o.label for o in self.objects),
            "tags": ", ".join(self.tags),
            "caption": self.caption.text if self.caption else "",
        }
        return {k: v for k, v in out.items() if v}

    def document(self) -> str:
        """One line per modality, labelled; what is embedded and searched by keyword."""
        names = {"caption": "Caption", "speech": "Speech", "text": "On-screen text", "objects": "Objects",
                 "tags": "Scene"}
        return "\n".join(f"{names[k]}: {v}" for k, v in self.evidence().items())


@dataclass(frozen=True, slots=True, kw_only=True)
class Mention(Record):
    """Where an entity appears: an event of its video, the time, the modality and the words used there."""

    event_index: int
    span: Span
    modality: str
    surface: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Entity(Record):
    """A person, object, name, code or number under one standard name within a video.

    ``key`` is the normalised name, shared by the same entity in other videos; ``kind`` is ``"name"``,
    ``"object"``, ``"code"``, ``"number"`` or ``"thing"`` (named by a captioner).
    """

    video_id: str
    key: str
    name: str
    kind: str
    aliases: tuple[str, ...] = ()
    mentions: tuple[Mention, ...] = ()
    source: str = ""

    @property
    def entity_id(self) -> str:
        return f"{self.video_id}:{self.key}"

    @property
    def spans(self) -> tuple[Span, ...]:
        return tuple(m.span for m in self.mentions)


def _speech(segments: tuple[TranscriptSegment, ...]) -> str:
    """The words said, each change of speaker marked (``"Ann: Hello. S2: Hi."``)."""
    parts, last = [], ""
    for seg in segments:
        text = seg.text.strip()
        if seg.who and seg.who != last:
            text = f"{seg.who}: {text}"
        last = seg.who or last
        parts.append(text)
    return " ".join(parts)
