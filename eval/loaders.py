"""Benchmark annotation files -> ``Question`` records.

    qs = load_benchmark("mlvu", "MLVU/data")                   # by name
    qs = load_benchmark("charades_sta_test.txt")               # or by looking at the file
    qs = load_haystack("/tmp/hay")                             # our generated haystack (a folder, its JSON, or one)

Native formats (tested on excerpts of the real files): MLVU dev ``data/*.json``, NExT-QA ``val.csv``/``test.csv``,
ActivityNet-QA ``*_q.json`` + ``*_a.json``, Charades-STA ``VID start end##sentence`` (+ ``Charades_v1_*.csv`` for
video lengths), QVHighlights JSONL. Documented formats (written from their published descriptions and tested on
hand-made samples): Video-MME rows, LVBench ``video_info.meta.jsonl``, LongVideoBench ``lvb_*.json`` and EgoSchema
``questions.json`` (+ ``subset_answers.json``).

A file that is missing or not in the expected shape raises ``ConfigError`` naming the file; no question is dropped
without the caller asking for it.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .documented import load_egoschema, load_longvideobench, load_lvbench, load_videomme
from .questions import Question, duration_bucket, letter, read_questions
from .reading import as_float, existing, fail, need, read_json, read_jsonl, read_records, read_text


# -- native formats ---------------------------------------------------------------------------------------------------

MLVU_WHAT = "an MLVU dev JSON file (data/*.json) or the folder holding them"


def _mlvu_answer(answer: str, options: tuple[str, ...]) -> tuple[str | None, dict[str, Any]]:
    """The letter of ``answer``. Quirks of the real files, noted in ``extra``: an answer that is not an option (2
    needle items) goes to the one option sharing the most words with it; an answer that is several options (some
    items repeat an option) accepts each of their letters (``extra['answers']``)."""
    if answer in options:
        same = [letter(i) for i, o in enumerate(options) if o == answer]
        return same[0], ({"answers": same, "answer_matched": "equal options"} if len(same) > 1 else {})
    words = set(re.findall(r"\w+", answer.lower()))
    overlap = [len(words & set(re.findall(r"\w+", o.lower()))) for o in options]
    best = max(overlap, default=0)
    note: dict[str, Any] = {"answer_text": answer}
    if best and overlap.count(best) == 1:
        return letter(overlap.index(best)), {**note, "answer_matched": "closest option"}
    return None, {**note, "answer_matched": "none"}


def load_mlvu(path: str | Path, generation: bool = False) -> list[Question]:
    """MLVU dev: a ``data/*.json`` file or the folder of them. Multiple-choice tasks only, unless ``generation``
    (then ``sub_scene`` and ``summary`` come too, as open-ended questions with ``scoring_points`` in ``extra``).

    Question ids are ``<file stem>-<index in file>``; kind is the file's ``question_type``.
    """
    p = Path(path)
    files = sorted(p.glob("*.json"), key=lambda f: (int(m.group()) if (m := re.match(r"\d+", f.name)) else 99,
                                                     f.name)) if p.is_dir() else [p]
    if not files:
        raise fail(p, "holds no .json files", f"pass {MLVU_WHAT}")
    out: list[Question] = []
    for f in files:
        for i, row in enumerate(read_records(f, MLVU_WHAT)):
            need(row, ("video", "question", "answer", "question_type"), f, f"record {i}", MLVU_WHAT)
            options = tuple(str(c) for c in row.get("candidates") or ())
            if not options and not generation:
                continue
            extra: dict[str, Any] = {}
            if options:
                answer, extra = _mlvu_answer(str(row["answer"]), options)
            else:
                answer = str(row["answer"])
                if "scoring_points" in row:
                    extra["scoring_points"] = list(row["scoring_points"])
            duration = as_float(row.get("duration"))
            out.append(Question(f"{f.stem}-{i}", "mlvu", str(row["video"]), str(row["question"]).strip(), options,
                                answer, str(row["question_type"]), duration_bucket(duration), (), duration,
                                extra=extra))
    return out


NEXTQA_COLUMNS = ("video", "frame_count", "width", "height", "question", "answer", "qid", "type",
                  "a0", "a1", "a2", "a3", "a4")
NEXTQA_GROUPS = {"CW": "causal", "CH": "causal", "TN": "temporal", "TC": "temporal", "TP": "temporal",
                 "DC": "descriptive", "DL": "descriptive", "DO": "descriptive"}
NEXTQA_WHAT = "a NExT-QA CSV (val.csv or test.csv from dataset/nextqa/)"


def load_nextqa(path: str | Path, video_map: str | Path | None = None) -> list[Question]:
    """NExT-QA multiple choice (5 options). Ids are ``<video>_<qid>``; kind is ``type`` (CW, CH, TN, TC, TP, DC,
    DL, DO; ``extra['group']`` is causal/temporal/descriptive). ``map_vid_vidorID.json`` (next to the CSV by
    default) adds the VidOR folder path as a video alias. Durations are unknown (the CSV has frame counts only)."""
    text = read_text(path, NEXTQA_WHAT)
    rows = list(csv.DictReader(io.StringIO(text)))
    header = text.splitlines()[0].split(",") if text.strip() else []
    lacking = [c for c in NEXTQA_COLUMNS if c not in header]
    if lacking:
        raise fail(path, f"is not a NExT-QA CSV (no column {', '.join(lacking)})", f"pass {NEXTQA_WHAT}")
    map_path = Path(video_map) if video_map else Path(path).with_name("map_vid_vidorID.json")
    vidor = read_json(map_path, "NExT-QA's map_vid_vidorID.json") if video_map or map_path.is_file() else {}
    out = []
    for n, row in enumerate(rows, 2):
        try:
            index = int(row["answer"])
            options = tuple(row[f"a{k}"].strip() for k in range(5))
            video, kind = row["video"].strip(), row["type"].strip()
            extra: dict[str, Any] = {"group": NEXTQA_GROUPS.get(kind, ""), "frame_count": int(row["frame_count"]),
                                     "width": int(row["width"]), "height": int(row["height"])}
        except (TypeError, ValueError, AttributeError):
            raise fail(path, f"line {n} is not a NExT-QA row (a missing field, or a number that is not one)",
                        f"pass {NEXTQA_WHAT}") from None
        if not 0 <= index < len(options):
            raise fail(path, f"line {n} has answer index {index}, not 0-4", f"pass {NEXTQA_WHAT}")
        answer = letter(index)
        if video in vidor:
            extra["aliases"] = [vidor[video]]
        out.append(Question(f"{video}_{row['qid']}", "nextqa", video, row["question"].strip(), options, answer,
                            kind, "", extra=extra))
    return out


ANETQA_TYPES = ("motion", "spatial", "temporal", "yes_no", "color", "object", "location", "number", "other")
ANETQA_WHAT = "ActivityNet-QA's <split>_q.json (with <split>_a.json beside it)"


def load_activitynet_qa(path: str | Path, answers: str | Path | None = None) -> list[Question]:
    """ActivityNet-QA, open-ended. ``path`` is ``<split>_q.json`` (or ``_a.json``, or the folder plus the default
    ``test``); answers come from ``answers`` or the ``_a.json`` beside it (if there is none, answers are None).
    Kind is the type name (motion, spatial, temporal, yes_no, color, object, location, number, other); the video
    file is usually ``v_<video_name>.mp4``, so that is an alias."""
    p = Path(path)
    if p.is_dir():
        p = p / "test_q.json"
    if p.name.endswith("_a.json"):
        p = p.with_name(p.name[: -len("_a.json")] + "_q.json")
    a_path = Path(answers) if answers else p.with_name(p.name.replace("_q.json", "_a.json"))
    qrows = read_records(p, ANETQA_WHAT)
    truth: dict[str, dict[str, Any]] = {}
    if answers or (a_path != p and a_path.is_file()):
        for i, row in enumerate(read_records(a_path, "ActivityNet-QA's <split>_a.json")):
            need(row, ("answer", "type", "question_id"), a_path, f"record {i}", "ActivityNet-QA's <split>_a.json")
            truth[str(row["question_id"])] = row
    out = []
    for i, row in enumerate(qrows):
        need(row, ("video_name", "question", "question_id"), p, f"record {i}", ANETQA_WHAT)
        qid = str(row["question_id"])
        a = truth.get(qid)
        kind, extra = "", {"aliases": [f"v_{row['video_name']}"]}
        if a is not None:
            t = int(a["type"])
            kind = ANETQA_TYPES[t] if 0 <= t < len(ANETQA_TYPES) else str(t)
            extra.update(type=t, free=t >= 3)
        out.append(Question(qid, "activitynet_qa", str(row["video_name"]), str(row["question"]).strip(), (),
                            None if a is None else str(a["answer"]), kind, "", extra=extra))
    return out


CHARADES_WHAT = "a Charades-STA file (charades_sta_<split>.txt, lines 'VID start end##sentence')"
_CHARADES_LINE = re.compile(r"^(\S+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s*##(.*)$")


def load_charades_sta(path: str | Path, lengths: str | Path | Iterable[str | Path] | None = None
                      ) -> list[Question]:
    """Charades-STA grounding queries: one question per line, ``evidence`` the annotated window (not clipped: some
    end after the video does; scoring clips them). Video lengths come from the ``length`` column of ``lengths``
    (default: every ``Charades_v1_*.csv`` beside the file); ids are ``<VID>#<line number>``."""
    text = read_text(path, CHARADES_WHAT)
    if lengths is None:
        csvs: list[Path] = sorted(Path(path).parent.glob("Charades_v1_*.csv"))
    else:
        csvs = [Path(lengths)] if isinstance(lengths, (str, Path)) else [Path(x) for x in lengths]
    length: dict[str, float] = {}
    for c in csvs:
        for row in csv.DictReader(io.StringIO(read_text(c, "Charades_v1_<split>.csv"))):
            if "id" not in row or "length" not in row:
                raise fail(c, "is not a Charades CSV (no 'id' and 'length' columns)", "pass Charades_v1_<split>.csv")
            if (v := as_float(row["length"])) is not None:
                length[row["id"]] = v
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _CHARADES_LINE.match(line.strip())
        if not m:
            raise fail(path, f"line {n} is not 'VID start end##sentence'", f"pass {CHARADES_WHAT}")
        vid, start, end, sentence = m.group(1), float(m.group(2)), float(m.group(3)), m.group(4).strip()
        duration = length.get(vid)
        out.append(Question(f"{vid}#{n}", "charades_sta", vid, sentence, (), None, "grounding",
                            duration_bucket(duration), ((start, end),), duration))
    return out


QVH_WHAT = "a QVHighlights JSONL file (highlight_<split>_release.jsonl)"


def load_qvhighlights(path: str | Path) -> list[Question]:
    """QVHighlights moment retrieval: one grounding question per query, ``evidence`` its ``relevant_windows``
    (none in the test split without ground truth). Ids are the ``qid``; the video id is ``vid``
    (``<youtube id>_<start>_<end>``, the clip file's stem)."""
    out = []
    for i, row in enumerate(read_jsonl(path, QVH_WHAT)):
        need(row, ("qid", "query", "vid"), path, f"line {i + 1}", QVH_WHAT)
        try:
            windows = tuple((float(a), float(b)) for a, b in row.get("relevant_windows") or ())
        except (TypeError, ValueError):
            raise fail(path, f"line {i + 1} has malformed relevant_windows", f"pass {QVH_WHAT}") from None
        duration = as_float(row.get("duration"))
        out.append(Question(str(row["qid"]), "qvhighlights", str(row["vid"]), str(row["query"]).strip(), (), None,
                            "grounding", duration_bucket(duration), windows, duration))
    return out


# -- our haystack -----------------------------------------------------------------------------------------------------

HAYSTACK_KINDS = ("speech_number", "paraphrase", "needle_text", "needle_picture", "order", "count", "cross_modal",
                  "grounding", "multi_video", "unanswerable")
"""Haystack query kinds that are questions (the other retrieval queries are a code or a caption to look up)."""
_RENAMED = {"speech_number": "needle_speech"}


def load_haystack(haystack: Any, kinds: Iterable[str] = HAYSTACK_KINDS) -> list[Question]:
    """Questions of a ``Haystack`` (the object, its folder or its ``haystack.json``) of the given query kinds.

    MCQ when the query has options; ``speech_number`` queries become kind ``needle_speech``; a query about no single
    video has ``video`` '' and ``extra['videos']`` every video; unanswerable ones have ``answerable=False``.
    """
    from .haystack import Haystack

    if not isinstance(haystack, Haystack):
        p = Path(haystack)
        root, meta = (p, p / "haystack.json") if p.is_dir() else (p.parent, p)
        data = read_json(meta, "a haystack folder or its haystack.json")
        if not isinstance(data, dict) or "queries" not in data or "videos" not in data:
            raise fail(meta, "is not a haystack description (no 'queries')", "pass a haystack folder or its JSON")
        try:
            haystack = Haystack.from_json(json.dumps(data), root)
        except (KeyError, TypeError, ValueError) as e:
            raise fail(meta, f"is a malformed haystack description ({e})", "regenerate it with make_haystack") \
                from None
    names = [Path(v).name for v in haystack.videos]
    length = dict(zip(names, haystack.durations))
    wanted = set(kinds)
    out = []
    for q in haystack.queries:
        if q.kind not in wanted:
            continue
        options = tuple(q.options)
        answer = q.answer
        if options and answer is not None:
            if answer not in options:
                raise ConfigError(f"haystack query {q.id}: answer {answer!r} is not one of its options",
                                  "regenerate the haystack with make_haystack")
            answer = letter(options.index(answer))
        videos = [q.video] if q.video else names
        duration = sum(length.get(v, 0.0) for v in videos) or None
        extra: dict[str, Any] = {"needles": list(q.needles)}
        if not q.video:
            extra["videos"] = names
            homes = sorted({haystack.needle(n).video for n in q.needles})
            if len(homes) == 1:
                extra["evidence_video"] = homes[0]
        if q.kind in _RENAMED:
            extra["haystack_kind"] = q.kind
        out.append(Question(q.id, "haystack", q.video or "", q.text, options, answer, _RENAMED.get(q.kind, q.kind),
                            duration_bucket(duration), tuple(q.spans), duration, q.answerable, extra))
    return out


# -- one entry point --------------------------------------------------------------------------------------------------

LOADERS: dict[str, Callable[..., list[Question]]] = {
    "mlvu": load_mlvu, "nextqa": load_nextqa, "activitynet_qa": load_activitynet_qa,
    "charades_sta": load_charades_sta, "qvhighlights": load_qvhighlights, "videomme": load_videomme,
    "lvbench": load_lvbench, "longvideobench": load_longvideobench, "egoschema": load_egoschema,
    "haystack": load_haystack, "questions": lambda path: read_questions(existing(path))}
_ALIASES = {"activitynetqa": "activitynet_qa", "anetqa": "activitynet_qa", "charadessta": "charades_sta",
            "charades": "charades_sta", "qvh": "qvhighlights", "lvb": "longvideobench", "vidgraph": "questions"}


def _name(text: str) -> str | None:
    key = re.sub(r"[\s_\-]", "", text.lower())
    return next((n for n in LOADERS if key == n.replace("_", "")), None) or _ALIASES.get(key)


def _first_record(path: Path) -> Any:
    """The first record of a JSON or JSON-lines file."""
    text = read_text(path, "a benchmark annotation file")
    what = "a benchmark annotation file (JSON or JSON lines)"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        lines = [x for x in text.splitlines() if x.strip()]
        if len(lines) > 1 or path.suffix.lower() == ".jsonl":
            try:
                return json.loads(lines[0])
            except json.JSONDecodeError:
                pass
        raise fail(path, f"is not valid JSON ({e.msg} at line {e.lineno} column {e.colno})", f"pass {what}") \
            from None
    if isinstance(data, list):
        return data[0] if data else None
    return data


def detect_format(path: str | Path) -> str:
    """The loader name for an annotation file or folder, from its name and contents."""
    p = Path(path)
    if p.is_dir():
        if (p / "haystack.json").is_file():
            return "haystack"
        if any(p.glob("*_q.json")):
            return "activitynet_qa"
        jsons = sorted(p.glob("*.json"))
        try:
            if jsons and all(detect_format(j) == "mlvu" for j in jsons[:3]):
                return "mlvu"
        except ConfigError:
            pass
        raise fail(p, "is a folder with no benchmark files this loader knows",
                    "pass the annotation file itself, or name the benchmark")
    if not p.is_file():
        raise fail(p, "no such file", "pass an existing annotation file or a benchmark name")
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        return "videomme"
    if suffix == ".csv":
        header = read_text(p, "a benchmark annotation file").split("\n", 1)[0].strip().split(",")
        if all(c in header for c in ("video", "qid", "type", "a0")):
            return "nextqa"
    elif suffix == ".txt":
        first = next((x for x in read_text(p, "a benchmark annotation file").splitlines() if x.strip()), "")
        if _CHARADES_LINE.match(first.strip()):
            return "charades_sta"
    else:
        rec = _first_record(p)
        if isinstance(rec, dict):
            keys = set(rec)
            rules = [("haystack", {"queries", "needles"}), ("questions", {"id", "benchmark", "question", "kind"}),
                     ("qvhighlights", {"qid", "query", "vid"}), ("lvbench", {"key", "qa"}),
                     ("videomme", {"videoID", "task_type", "options"}), ("mlvu", {"candidates", "question_type"}),
                     ("mlvu", {"question_type", "video", "answer"}), ("longvideobench", {"video_id", "question"}),
                     ("egoschema", {"q_uid", "option 0"}), ("activitynet_qa", {"video_name", "question_id"}),
                     ("activitynet_qa", {"answer", "type", "question_id"})]
            for name, need in rules:
                if need <= keys:
                    return name
    raise fail(p, "is not an annotation file of a known benchmark",
                f"name the benchmark (one of: {', '.join(sorted(LOADERS))}) or check the file")


def load_benchmark(name_or_path: str | Path, path: str | Path | None = None, **options: Any) -> list[Question]:
    """Load questions by benchmark name and path (``load_benchmark("nextqa", "val.csv")``) or from a path alone,
    whose format is detected. ``options`` go to the loader (e.g. ``generation=True`` for MLVU)."""
    name = _name(str(name_or_path)) if not isinstance(name_or_path, Path) else None
    if name is None:
        if path is not None:
            raise ConfigError(f"unknown benchmark {str(name_or_path)!r}",
                              f"use one of: {', '.join(sorted(LOADERS))}")
        if not Path(name_or_path).exists():
            raise fail(name_or_path, "is neither a benchmark name nor an existing file",
                        f"pass an annotation file, or a benchmark name (one of: {', '.join(sorted(LOADERS))}) "
                        "and its file")
        name, path = detect_format(name_or_path), name_or_path
    elif path is None:
        raise ConfigError(f"benchmark {name!r} needs the path of its annotation file",
                          f"call load_benchmark({name!r}, PATH)")
    loader = LOADERS[name]
    try:
        inspect.signature(loader).bind(path, **options)
    except TypeError as e:
        raise ConfigError(f"the {name} loader does not take these options ({e})",
                          f"see help(vidgraph.eval.loaders.{getattr(loader, '__name__', name)})") from None
    return loader(path, **options)


__all__ = ["HAYSTACK_KINDS", "LOADERS", "detect_format", "load_activitynet_qa", "load_benchmark",
           "load_charades_sta", "load_egoschema", "load_haystack", "load_longvideobench", "load_lvbench", "load_mlvu",
           "load_nextqa", "load_qvhighlights", "load_videomme"]
