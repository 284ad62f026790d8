"""Long "haystack" test videos with facts (needles) planted at seeded times, and the questions about them.

    hay = make_haystack("/tmp/hay", minutes=10, seed=0)      # writes haystack-01.mp4 ... and haystack.json
    for q in hay.queries:
        print(q.kind, q.text, q.spans, q.answer)
    hay = haystack_fixture(minutes=1.5, seed=7)               # for tests: built once in the test-media cache

A video is a run of filler scenes joined by hard cuts: ffmpeg test pictures, bland burned-in captions (some with
decoy codes) and bland sentences spoken by espeak-ng (some with decoy numbers), so that finding a needle takes an
exact match, not a lucky one. Needle kinds (each in scenes of its own, with ground-truth spans measured like
``synth`` does: a sentence's voiced span, a text's on-screen span, a photo's scene span):

- ``speech_number``: "The locker code is 472." (three digits 1-8 in espeak's British voice: Whisper-base wrote
  25 of 25 such numbers right, as digits; four-digit numbers often came back wrong or as "4,729", and digits
  said one by one partly as words);
- ``text_code``: a label and a code like ``XK-4217`` burned in large (DejaVu Sans Bold);
- ``object_twice``: ``bus.jpg`` (a bus and people) in two scenes far apart, in one video of the haystack;
  ``zidane.jpg`` (people, a tie) once elsewhere as a distractor;
- ``name_cross``: a person's name said in one scene and shown on screen in another (the ``cross_modal``
  question asks for the name; its evidence span is the on-screen one, so citation overlap tells whether the
  agent found the moment it is shown);
- ``text_repeat``: one caption shown in k (2-4) separate scenes (for counting).

Near-miss decoys: each code and number is also planted with its digits shuffled (``UNIT YV-8653``, "The door
number is 526."), in a filler scene.

Questions (``Query``): one retrieval query per needle (``kind`` = the needle's kind; any returned event of the
right video overlapping one of ``spans`` is a hit) and reworded ones (``paraphrase``: "What opens the safe?",
"Who is the site manager?"), plus questions for the evaluation: ``needle_text``,
``needle_picture``, ``order``, ``count``, ``cross_modal``, ``grounding``, ``multi_video`` (when ``videos > 1``) and
``unanswerable`` (about things planted nowhere). Same seed, same needles, values and times.

Videos are rendered scene by scene (854x480, 12 fps, x264 ``veryfast``, one ffmpeg per scene, as many at once as
there are cores), joined losslessly with the concat demuxer, and muxed with one audio track built in memory.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any


from . import synth
from .haystack_plan import FPS, PARAPHRASES, PRESET, SIZE, generator_version, plan, render_video, speak_all

NEEDLE_KINDS = ("speech_number", "text_code", "object_twice", "name_cross", "text_repeat")
RETRIEVAL_KINDS = (*NEEDLE_KINDS, "paraphrase")
"""Queries that ask where something is: one per needle (its kind) and reworded ones (``paraphrase``)."""
QUESTION_KINDS = ("needle_text", "needle_picture", "order", "count", "cross_modal", "grounding", "multi_video",
                  "unanswerable")

# -- public records -----------------------------------------------------------------------------------------------

Spans = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Needle:
    """One planted fact: where it is (``spans``, one per occurrence, in time order) and what it says."""

    id: str
    kind: str
    video: str
    """File name of its video."""
    spans: Spans
    value: str
    """The planted string: number, code, object label, name or repeated caption."""
    texts: tuple[str, ...]
    """Per span: the sentence said, the text shown, or the photo's file name."""
    modalities: tuple[str, ...]
    """Per span: ``speech``, ``text`` or ``picture``."""
    about: str
    """How a question refers to it ("the locker code")."""


@dataclass(frozen=True)
class Query:
    """A question about the haystack with its truth; any overlap with one of ``spans`` counts as found."""

    id: str
    kind: str
    text: str
    video: str | None
    spans: Spans
    answer: str | None
    options: tuple[str, ...] = ()
    answerable: bool = True
    needles: tuple[str, ...] = ()
    """Ids of the needles it is about (none for unanswerable questions)."""


@dataclass(frozen=True)
class Haystack:
    root: str
    videos: tuple[str, ...]
    """Paths of the videos (``root``/``haystack-01.mp4`` ...)."""
    durations: tuple[float, ...]
    needles: tuple[Needle, ...]
    queries: tuple[Query, ...]
    seed: int
    minutes: float
    params: dict[str, Any] = field(default_factory=dict)
    """What it was generated with (minutes, seed, videos, size, fps, preset, generator version)."""
    truths: tuple[synth.Truth, ...] = ()
    """Per video, everything said and shown (like ``synth.make_video``'s truth)."""

    def name(self, index: int) -> str:
        return Path(self.videos[index]).name

    def path(self, name: str) -> Path:
        return Path(self.root) / name

    def needle(self, needle_id: str) -> Needle:
        return next(n for n in self.needles if n.id == needle_id)

    def expected(self, needle: Needle, occurrence: int) -> str:
        """What a tool must read at that occurrence, normalized: "locker code is 472" in speech, the name, the code
        or the caption on screen, the object label in a picture."""
        if needle.modalities[occurrence] == "speech" and needle.kind == "speech_number":
            return normalize(needle.about.removeprefix("the ") + f" is {needle.value}")
        return normalize(needle.value) if needle.modalities[occurrence] != "picture" else needle.value

    def retrieval_queries(self) -> list[Query]:
        """The queries that ask where a needle is (one per needle, then the reworded ones)."""
        return [q for q in self.queries if q.kind in RETRIEVAL_KINDS]

    def to_json(self) -> str:
        data = asdict(self)
        data["videos"] = [Path(v).name for v in self.videos]
        del data["root"]
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str, root: str | Path) -> Haystack:
        data = json.loads(text)

        def spans(raw) -> Spans:
            return tuple((float(a), float(b)) for a, b in raw)

        def tup(cls_, d):
            return cls_(**{f.name: (spans(d[f.name]) if f.name == "spans" else
                                    tuple(d[f.name]) if isinstance(d[f.name], list) else d[f.name])
                           for f in fields(cls_) if f.name in d})

        return cls(root=str(root), videos=tuple(str(Path(root) / v) for v in data["videos"]),
                   durations=tuple(data["durations"]), needles=tuple(tup(Needle, n) for n in data["needles"]),
                   queries=tuple(tup(Query, q) for q in data["queries"]), seed=data["seed"],
                   minutes=data["minutes"], params=data["params"],
                   truths=tuple(synth.Truth(**t) for t in data["truths"]))

    @classmethod
    def load(cls, root: str | Path) -> Haystack:
        return cls.from_json((Path(root) / "haystack.json").read_text(), root)


def normalize(text: str) -> str:
    """Lower case, digit groups joined ("4,729", "4-7-2-9" -> "4729"), punctuation gone, single spaces."""
    text = re.sub(r"(?<=\d)[,.\- ](?=\d)", "", text.lower())
    return " ".join(re.sub(r"[^\w\s-]", " ", text).split())


# -- questions --------------------------------------------------------------------------------------------------------


def _queries(needles: list[Needle], names: list[str], unanswerable: list[tuple[str, str]],
             rng: random.Random) -> list[Query]:
    out: list[Query] = []

    def add(kind: str, text: str, video: str | None, spans: Spans, answer: str | None, options=(), needles_=(),
            answerable: bool = True) -> None:
        out.append(Query(f"q{len(out) + 1:03d}-{kind}", kind, text, video, spans, answer, tuple(options),
                         answerable, tuple(needles_)))

    for n in needles:  # retrieval: where is it?
        text = {"speech_number": f"What is {n.about}?", "text_code": n.value, "object_twice": "Where is the bus shown?",
                "name_cross": f"Who is {n.value}?", "text_repeat": n.value}[n.kind]
        add(n.kind, text, n.video, n.spans, n.value, needles_=(n.id,))
    for n in needles:  # the same, in other words than the video's
        if n.kind == "speech_number":
            add("paraphrase", PARAPHRASES[n.about.removeprefix("the ")], n.video, n.spans, n.value,
                needles_=(n.id,))
        elif n.kind == "name_cross":
            add("paraphrase", f"Who is {n.about.removesuffix(chr(39) + 's name')}?", n.video, n.spans, n.value,
                needles_=(n.id,))
    for n in needles:
        if n.kind == "text_code":
            add("needle_text", f"What is the code shown on the {n.texts[0].splitlines()[0].lower()}?", n.video,
                n.spans, n.value, needles_=(n.id,))
        elif n.kind == "object_twice":
            add("needle_picture", "Which vehicle is shown in a photo?", n.video, n.spans, "bus",
                ("bus", "tram", "truck", "bicycle"), (n.id,))
            add("count", "How many separate scenes show the bus?", n.video, n.spans, str(len(n.spans)),
                needles_=(n.id,))
        elif n.kind == "text_repeat":
            add("count", f"How many times is the caption '{n.value}' shown?", n.video, n.spans,
                str(len(n.spans)), needles_=(n.id,))
        elif n.kind == "name_cross":
            said = next(i for i, m in enumerate(n.modalities) if m == "speech")
            shown = 1 - said
            add("cross_modal", f"Someone says who {n.about.removesuffix(chr(39) + 's name')} is, and in "
                f"another scene that person's name is shown on screen. Which name is shown?", n.video,
                (n.spans[shown],), n.value, needles_=(n.id,))
        elif n.kind == "speech_number":
            add("grounding", f"When is it said that {n.about} is {n.value}?", n.video, n.spans, None,
                needles_=(n.id,))
    for video in names:  # order of two needles of one video
        mine = [n for n in needles if n.video == video and n.kind in ("speech_number", "text_code", "name_cross")]
        if len(mine) >= 2:
            a, b = rng.sample(mine, 2)
            first = min((a, b), key=lambda n: n.spans[0][0])
            options = (a.about, b.about)
            add("order", f"Which comes first in the video: {a.about} or {b.about}?", video,
                (a.spans[0], b.spans[0]), first.about, options, (a.id, b.id))
    if len(names) > 1:
        for video in names:
            n = next(n for n in needles if n.video == video and n.kind == "speech_number")
            add("multi_video", f"Which video says that {n.about} is {n.value}?", None, n.spans, video,
                tuple(names), (n.id,))
    for text, _ in unanswerable:
        add("unanswerable", text, None, (), None, answerable=False)
    return out


# -- entry points ---------------------------------------------------------------------------------------------------


def _params(minutes: float, seed: int, videos: int, size: str, fps: int, preset: str) -> dict[str, Any]:
    return {"minutes": float(minutes), "seed": int(seed), "videos": int(videos), "size": size, "fps": int(fps),
            "preset": preset, "version": generator_version()}


def make_haystack(out_dir: str | Path, minutes: float, seed: int = 0, videos: int = 1, size: str = SIZE,
                  fps: int = FPS, preset: str = PRESET, workers: int | None = None) -> Haystack:
    """Write ``videos`` haystack videos of ``minutes`` each and ``haystack.json`` into ``out_dir``.

    Reuses what is there when ``haystack.json`` says it was made with the same parameters by this generator.
    """
    synth.require_tools()
    out_dir = Path(out_dir)
    params = _params(minutes, seed, videos, size, fps, preset)
    meta = out_dir / "haystack.json"
    if meta.is_file():
        try:
            old = Haystack.load(out_dir)
            if old.params == params and all(Path(v).is_file() for v in old.videos):
                return old
        except (ValueError, KeyError, TypeError):
            pass
    out_dir.mkdir(parents=True, exist_ok=True)
    meta.unlink(missing_ok=True)
    for stale in out_dir.glob("haystack-*.mp4"):
        stale.unlink()
    workers = workers or max(1, os.cpu_count() or 1)
    layout = plan(minutes, seed, videos)
    needles: list[Needle] = []
    truths, durations, paths = [], [], []
    with tempfile.TemporaryDirectory(prefix="vidgraph-haystack-") as tmp_name:
        tmp = Path(tmp_name)
        audio = speak_all({(s.text, s.voice) for v in layout.slots for slot in v for s in slot.says}, tmp, workers)
        for v, (name, scenes) in enumerate(zip(layout.names, layout.slots)):
            out = out_dir / name
            part = out.with_name(f".{out.stem}.{os.getpid()}.mp4")
            truth, found = render_video(scenes, part, size, fps, preset, audio, tmp, workers)
            part.replace(out)
            truths.append(truth)
            durations.append(truth.duration)
            paths.append(str(out))
            for p in (p for p in layout.needles if p.video == v):
                occ = sorted(found[p.id])
                needles.append(Needle(p.id, p.kind, name, tuple((a, b) for a, b, _, _ in occ), p.value,
                                      tuple(o[3] for o in occ), tuple(o[2] for o in occ), p.about))
    rng = random.Random(f"haystack-queries:{seed}")
    queries = _queries(needles, layout.names, layout.unanswerable, rng)
    hay = Haystack(str(out_dir), tuple(paths), tuple(durations), tuple(needles), tuple(queries), int(seed),
                   float(minutes), params, tuple(truths))
    tmp_meta = meta.with_name(f".haystack.{os.getpid()}.json")
    tmp_meta.write_text(hay.to_json())
    tmp_meta.replace(meta)
    return Haystack.load(out_dir)


def cache_dir() -> Path:
    """Where tests keep generated media (``VIDGRAPH_TEST_CACHE``, else ~/.cache/vidgraph/test-media)."""
    return Path(os.environ.get("VIDGRAPH_TEST_CACHE", Path.home() / ".cache" / "vidgraph" / "test-media"))


def haystack_fixture(minutes: float = 1.5, seed: int = 7, videos: int = 1) -> Haystack:
    """A haystack built once per generator version in the test cache (safe with concurrent test processes)."""
    root = cache_dir() / f"haystack-{generator_version()}" / f"m{minutes:g}-s{seed}-v{videos}"
    if (root / "haystack.json").is_file():
        return Haystack.load(root)
    tmp = root.with_name(f".{root.name}.{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    make_haystack(tmp, minutes, seed, videos)
    try:
        os.rename(tmp, root)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return Haystack.load(root)


__all__ = ["Haystack", "NEEDLE_KINDS", "Needle", "QUESTION_KINDS", "Query", "RETRIEVAL_KINDS", "generator_version",
           "haystack_fixture", "make_haystack", "plan"]
