"""Benchmarks read from their published descriptions (no real file here; tested on hand-made samples): Video-MME
rows, LVBench ``video_info.meta.jsonl``, LongVideoBench ``lvb_*.json`` and EgoSchema ``questions.json``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..records import LETTERS
from .questions import Question, duration_bucket, letter
from .reading import as_float, clock, fail, need, read_json, read_records


VIDEOMME_WHAT = "Video-MME rows (JSON list, JSON lines or the Hugging Face parquet)"
_OPTION_PREFIX = re.compile(r"^\s*\(?([A-Z])[.):]\s*")


def _strip_letters(options: Iterable[Any], path: str | Path, where: str, what: str) -> tuple[str, ...]:
    """['A. cat', 'B. dog'] -> ('cat', 'dog'), checking the letters run A, B, C ..."""
    out = []
    for i, o in enumerate(options):
        m = _OPTION_PREFIX.match(str(o))
        if m and m.group(1) != LETTERS[i]:
            raise fail(path, f"{where}: option {i + 1} is lettered {m.group(1)}", f"pass {what}")
        out.append(str(o)[m.end():].strip() if m else str(o).strip())
    return tuple(out)


def _letter_answer(value: Any, options: tuple[str, ...], path: str | Path, where: str, what: str) -> str:
    answer = str(value).strip().strip("()").upper()
    if len(answer) != 1 or answer not in LETTERS[: len(options)]:
        raise fail(path, f"{where} has answer {value!r}, not a letter of its {len(options)} options", f"pass {what}")
    return answer


VIDEOMME_BUCKETS = {"short": "short", "medium": "medium", "long": "long"}


def load_videomme(path: str | Path) -> list[Question]:
    """Video-MME rows: ``video_id``, ``duration`` (short/medium/long: kept as the bucket), ``domain``,
    ``sub_category``, ``videoID`` (YouTube id: the video file's name), ``question_id``, ``task_type`` (the kind),
    ``question``, ``options`` (``"A. ..."``) and ``answer`` (a letter)."""
    out = []
    for i, row in enumerate(read_records(path, VIDEOMME_WHAT)):
        where = f"record {i}"
        need(row, ("videoID", "question_id", "task_type", "question", "options", "answer"), path, where,
              VIDEOMME_WHAT)
        raw = row["options"]
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError:
                raise fail(path, f"{where} has options that are not a list", f"pass {VIDEOMME_WHAT}") from None
        options = _strip_letters(list(raw), path, where, VIDEOMME_WHAT)
        extra = {k: row[k] for k in ("domain", "sub_category", "url") if k in row}
        if "video_id" in row:
            extra["aliases"] = [str(row["video_id"])]
        out.append(Question(str(row["question_id"]), "videomme", str(row["videoID"]), str(row["question"]).strip(),
                            options, _letter_answer(row["answer"], options, path, where, VIDEOMME_WHAT),
                            str(row["task_type"]), VIDEOMME_BUCKETS.get(str(row.get("duration", "")), ""),
                            extra={**extra, "duration_label": row.get("duration")}))
    return out


LVBENCH_WHAT = "LVBench's video_info.meta.jsonl (one JSON object per video with a 'qa' list)"
_EMBEDDED_OPTION = re.compile(r"^\s*\(([A-Z])\)\s*(.*?)\s*$", re.MULTILINE)


def _span(text: str) -> tuple[float, float] | None:
    m = re.match(r"^\s*([\d:.]+)\s*-\s*([\d:.]+)\s*$", text or "")
    if not m:
        return None
    try:
        return clock(m.group(1)), clock(m.group(2))
    except ValueError:
        return None


def load_lvbench(path: str | Path) -> list[Question]:
    """LVBench: per video ``key`` (YouTube id), ``type``, ``video_info.duration_minutes`` and ``qa`` items with
    ``uid``, ``question`` (options embedded as ``(A) ...`` lines), ``answer`` (letter), ``question_type`` (a list:
    kind is the first, ``extra['kinds']`` all) and ``time_reference`` (``mm:ss-mm:ss``: the evidence)."""
    out = []
    for i, video in enumerate(read_records(path, LVBENCH_WHAT)):
        need(video, ("key", "qa"), path, f"record {i}", LVBENCH_WHAT)
        minutes = as_float((video.get("video_info") or {}).get("duration_minutes"))
        duration = None if minutes is None else minutes * 60
        for qa in video["qa"]:
            where = f"video {video['key']!r} question {qa.get('uid')!r}"
            need(qa, ("uid", "question", "answer"), path, where, LVBENCH_WHAT)
            text = str(qa["question"])
            found = _EMBEDDED_OPTION.findall(text)
            if not found or [k for k, _ in found] != list(LETTERS[: len(found)]):
                raise fail(path, f"{where} has no '(A) ...' option lines", f"pass {LVBENCH_WHAT}")
            options = tuple(o for _, o in found)
            stem = text[: _EMBEDDED_OPTION.search(text).start()].strip()
            kinds = qa.get("question_type") or []
            kinds = [kinds] if isinstance(kinds, str) else [str(k) for k in kinds]
            span = _span(str(qa.get("time_reference") or ""))
            extra: dict[str, Any] = {"kinds": kinds, "genre": video.get("type", "")}
            if qa.get("time_reference"):
                extra["time_reference"] = qa["time_reference"]
            out.append(Question(str(qa["uid"]), "lvbench", str(video["key"]), stem, options,
                                _letter_answer(qa["answer"], options, path, where, LVBENCH_WHAT),
                                kinds[0] if kinds else "", duration_bucket(duration), (span,) if span else (),
                                duration, extra=extra))
    return out


LVB_WHAT = "LongVideoBench's lvb_<split>.json"


def load_longvideobench(path: str | Path) -> list[Question]:
    """LongVideoBench: ``video_id``, ``question``, ``candidates`` (or ``option0``.. padded with ``"N/A"``),
    ``correct_choice`` (index; absent in the test split: answer None), ``question_category`` (the kind),
    ``duration`` (seconds), ``duration_group``, ``id``, ``video_path``, ``subtitle_path``, ``topic_category``,
    ``level``."""
    out = []
    for i, row in enumerate(read_records(path, LVB_WHAT)):
        where = f"record {i}"
        need(row, ("video_id", "question"), path, where, LVB_WHAT)
        if "candidates" in row:
            options = tuple(str(c) for c in row["candidates"])
        else:
            options = tuple(str(row[f"option{k}"]) for k in range(26) if f"option{k}" in row
                            and str(row[f"option{k}"]) != "N/A")
        if len(options) < 2:
            raise fail(path, f"{where} has no 'candidates' (or option0, option1 ...)", f"pass {LVB_WHAT}")
        answer = None
        if row.get("correct_choice") is not None:
            c = row["correct_choice"]
            if isinstance(c, str) and len(c) == 1 and c.upper() in LETTERS:
                c = LETTERS.index(c.upper())
            try:
                answer = letter(int(c)) if 0 <= int(c) < len(options) else None
            except (TypeError, ValueError):
                answer = None
            if answer is None:
                raise fail(path, f"{where} has correct_choice {c!r}, not one of its {len(options)} options",
                            f"pass {LVB_WHAT}")
        duration = as_float(row.get("duration"))
        extra = {k: row[k] for k in ("duration_group", "topic_category", "level", "subtitle_path",
                                     "starting_timestamp_for_subtitles", "position") if k in row}
        if row.get("video_path"):
            extra["aliases"] = [str(row["video_path"])]
        qid = str(row.get("id", f"{row['video_id']}_{i}"))
        out.append(Question(qid, "longvideobench", str(row["video_id"]), str(row["question"]).strip(), options,
                            answer, str(row.get("question_category", "")), duration_bucket(duration), (), duration,
                            extra=extra))
    return out


EGOSCHEMA_WHAT = "EgoSchema's questions.json"
EGOSCHEMA_SECONDS = 180.0
"""Every EgoSchema clip is three minutes long (the file does not say)."""


def load_egoschema(path: str | Path, answers: str | Path | None = None) -> list[Question]:
    """EgoSchema: ``q_uid`` (also the video file's stem), ``google_drive_id``, ``question``, ``option 0`` ..
    ``option 4``. Answers (``{q_uid: 0-4}``) come from ``answers`` or ``subset_answers.json`` beside the file;
    a question without one (the withheld full set) has answer None."""
    rows = read_records(path, EGOSCHEMA_WHAT)
    a_path = Path(answers) if answers else Path(path).with_name("subset_answers.json")
    truth = read_json(a_path, "EgoSchema's subset_answers.json") if answers or a_path.is_file() else {}
    if not isinstance(truth, dict):
        raise fail(a_path, "is not a JSON object {q_uid: answer index}", "pass EgoSchema's subset_answers.json")
    out = []
    for i, row in enumerate(rows):
        where = f"record {i}"
        need(row, ("q_uid", "question", "option 0", "option 1"), path, where, EGOSCHEMA_WHAT)
        options = tuple(str(row[f"option {k}"]).strip() for k in range(5) if f"option {k}" in row)
        uid = str(row["q_uid"])
        answer = None
        if uid in truth:
            try:
                answer = letter(int(truth[uid]))
            except (TypeError, ValueError):
                raise fail(a_path, f"answer of {uid!r} is {truth[uid]!r}, not 0-4",
                            "pass EgoSchema's subset_answers.json") from None
        extra = {"aliases": [str(row["google_drive_id"])]} if row.get("google_drive_id") else {}
        out.append(Question(uid, "egoschema", uid, str(row["question"]).strip(), options, answer, "egoschema",
                            duration_bucket(EGOSCHEMA_SECONDS), (), EGOSCHEMA_SECONDS, extra=extra))
    return out


