"""One question record for every benchmark, and finding the benchmark's videos on disk.

    qs = load_benchmark("nextqa", "val.csv")                   # -> list[Question]  (see ``loaders``)
    found, missing = resolve_videos(qs, "/data/nextqa/videos")
    print(f"{len(missing)} videos missing: {missing[:5]}")

A multiple-choice question keeps its options in order and its answer as a letter ('A' is ``options[0]``); an
open-ended one keeps the answer text; a grounding question has ``kind == "grounding"``, no answer and its truth in
``evidence``; an unanswerable one has ``answerable=False`` and no answer. Times are seconds from the video's start.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..index.discovery import VIDEO_EXTENSIONS
from ..records import LETTERS

BUCKETS = ("short", "medium", "long", "hour+")
"""Duration buckets: under 2 minutes, 2-15 minutes, 15-60 minutes, over an hour ('' when the duration is unknown)."""

Span = tuple[float, float]


def duration_bucket(seconds: float | None) -> str:
    """'short' (< 2 min), 'medium' (2-15 min), 'long' (15-60 min), 'hour+' (> 60 min), or '' when unknown."""
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return ""
    if seconds < 120:
        return "short"
    if seconds < 900:
        return "medium"
    if seconds <= 3600:
        return "long"
    return "hour+"


def letter(index: int) -> str:
    """The option letter of ``index`` (0 -> 'A')."""
    if not 0 <= index < len(LETTERS):
        raise ValueError(f"option index {index} is out of range")
    return LETTERS[index]


@dataclass(frozen=True)
class Question:
    """One benchmark question, normalised; ``extra`` keeps benchmark-specific fields (all JSON values)."""

    id: str
    benchmark: str
    video: str
    """Benchmark video id or file name ('' when the question is about several videos: see ``videos``)."""
    question: str
    options: tuple[str, ...] = ()
    answer: str | None = None
    """MCQ: the correct letter; open-ended: the answer text; None for grounding, unanswerable or withheld truth."""
    kind: str = ""
    duration_bucket: str = ""
    evidence: tuple[Span, ...] = ()
    duration: float | None = None
    answerable: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    """Known keys: ``aliases`` (other names of the video file), ``videos`` (every video of a multi-video
    question), ``evidence_video`` (the video ``evidence`` is in, when ``video`` is ''), ``kinds`` (every category
    the question counts in, when there are several), ``answers`` (every accepted letter, when options repeat)."""

    @property
    def is_mcq(self) -> bool:
        return bool(self.options)

    @property
    def videos(self) -> tuple[str, ...]:
        """The video ids the question is about."""
        return (self.video,) if self.video else tuple(self.extra.get("videos", ()))

    @property
    def answer_text(self) -> str | None:
        """The answer in words (the option text of an MCQ answer letter)."""
        if self.answer is not None and self.options and len(self.answer) == 1 and self.answer in LETTERS:
            i = LETTERS.index(self.answer)
            return self.options[i] if i < len(self.options) else None
        return self.answer

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["options"] = list(self.options)
        data["evidence"] = [list(s) for s in self.evidence]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Question:
        try:
            return cls(id=str(data["id"]), benchmark=str(data["benchmark"]), video=str(data.get("video") or ""),
                       question=str(data["question"]), options=tuple(str(o) for o in data.get("options") or ()),
                       answer=None if data.get("answer") is None else str(data["answer"]),
                       kind=str(data.get("kind") or ""), duration_bucket=str(data.get("duration_bucket") or ""),
                       evidence=tuple((float(a), float(b)) for a, b in data.get("evidence") or ()),
                       duration=None if data.get("duration") is None else float(data["duration"]),
                       answerable=bool(data.get("answerable", True)), extra=dict(data.get("extra") or {}))
        except KeyError as e:
            raise ValueError(f"question record has no {e.args[0]!r}") from None
        except (TypeError, ValueError) as e:
            raise ValueError(f"question record {data.get('id')!r} is malformed: {e}") from None


def write_questions(path: str | Path, questions: Iterable[Question]) -> None:
    """Write questions as JSON lines."""
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(q.to_dict(), ensure_ascii=False) + "\n" for q in questions)


def read_questions(path: str | Path) -> list[Question]:
    """Read questions written by ``write_questions``."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                out.append(Question.from_dict(json.loads(line)))
            except ValueError as e:  # json.JSONDecodeError is a ValueError
                raise ConfigError(f"{path}: line {n} is not a question record ({_one_line(e)})",
                                  "write the file with vidgraph.eval.questions.write_questions") from None
    return out


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def _index(root: Path) -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """Video files under ``root`` by lower-case file name and by lower-case stem."""
    names: dict[str, list[Path]] = {}
    stems: dict[str, list[Path]] = {}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            p = Path(folder) / name
            if p.suffix.lower() in VIDEO_EXTENSIONS:
                names.setdefault(name.lower(), []).append(p)
                stems.setdefault(p.stem.lower(), []).append(p)
    return names, stems


def _shortest(paths: list[Path]) -> Path:
    return min(paths, key=lambda p: (len(p.parts), str(p)))


def _find(name: str, root: Path, names: dict[str, list[Path]], stems: dict[str, list[Path]]) -> Path | None:
    direct = root / name
    if direct.suffix.lower() in VIDEO_EXTENSIONS and direct.is_file():
        return direct
    for ext in VIDEO_EXTENSIONS:
        p = root / f"{name}{ext}"
        if p.is_file():
            return p
    base = Path(name).name.lower()
    if base in names:
        return _shortest(names[base])
    stem = Path(base).stem if Path(base).suffix in VIDEO_EXTENSIONS else base
    return _shortest(stems[stem]) if stem in stems else None


def resolve_videos(questions: Sequence[Question], video_root: str | Path) -> tuple[dict[str, Path], list[str]]:
    """Map every video id the questions use to a file under ``video_root``.

    Tries ``<root>/<id>``, ``<root>/<id>.<ext>`` for common video extensions, then any file below the root whose
    name or stem equals the id (or one of ``extra['aliases']``) ignoring case. Returns ``(found, missing)``:
    ``missing`` lists, sorted, every id no file was found for.
    """
    root = Path(video_root)
    if not root.is_dir():
        raise ConfigError(f"{root}: no such directory of videos", "pass the folder that holds the benchmark's videos")
    names, stems = _index(root)
    found: dict[str, Path] = {}
    missing: set[str] = set()
    for q in questions:
        for vid in q.videos:
            if vid in found or vid in missing:
                continue
            for name in (vid, *q.extra.get("aliases", ())):
                path = _find(str(name), root, names, stems)
                if path is not None:
                    found[vid] = path
                    break
            else:
                missing.add(vid)
    return found, sorted(missing)


__all__ = ["BUCKETS", "Question", "Span", "duration_bucket", "letter", "read_questions", "resolve_videos",
           "write_questions"]
