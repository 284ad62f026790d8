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

import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from . import synth

NEEDLE_KINDS = ("speech_number", "text_code", "object_twice", "name_cross", "text_repeat")
RETRIEVAL_KINDS = (*NEEDLE_KINDS, "paraphrase")
"""Queries that ask where something is: one per needle (its kind) and reworded ones (``paraphrase``)."""
QUESTION_KINDS = ("needle_text", "needle_picture", "order", "count", "cross_modal", "grounding", "multi_video",
                  "unanswerable")
NEEDLE_VOICE = "en-gb"
"""espeak-ng voice of every needle sentence (Whisper-base read 25 of 25 three-digit numbers right in it)."""

# -- pools (disjoint: a needle subject is never said in filler; an unanswerable subject is never said at all) ---------

PARAPHRASES = {
    "locker code": "What is the code for the locker?", "gate number": "Which gate was mentioned?",
    "room number": "Which room was mentioned?", "parking code": "What code is needed to park?",
    "flight number": "Which flight was mentioned?", "safe combination": "What opens the safe?",
    "account number": "Which account was mentioned?",
    "reference number": "What reference was given?", "platform number": "Which platform was mentioned?",
    "cabin number": "Which cabin was mentioned?", "table number": "Which table was mentioned?",
    "desk number": "Which desk was mentioned?", "shelf number": "Which shelf was mentioned?",
    "parcel number": "What number does the parcel have?", "invoice number": "What number does the invoice have?",
    "train number": "Which train was mentioned?"}
"""Needle subjects and a question about each in other words. Each subject was read back right by Whisper-base in
two of two tries in the needle voice ("ticket number" came back as "train number", "order number" as "door
number", "access code" once as "racks are coded": they are out)."""
SUBJECTS = list(PARAPHRASES)
DECOY_SUBJECTS = ["dock number", "hall number", "crate number", "pallet number", "batch number", "route number",
                  "tank number"]
"""Said in filler; misread as "dark", "match", "root" ... but never as a needle subject ("lane" came back as "desk")."""
UNANSWERABLE_SUBJECTS = ["wifi password", "boat registration number", "elevator code", "museum entry fee",
                         "pharmacy phone number", "locker key colour"]
NAMES = ["Laura Bennett", "Thomas Walker", "Helen Carter", "Nina Patel", "Maria Santos", "Sarah Collins",
         "Peter Lindgren", "Rachel Morgan", "Simon Hayes", "Clara Jensen", "Victor Hale", "David Chen"]
UNANSWERABLE_NAMES = ["Gregory Blackwood", "Ingrid Halvorsen", "Marcus Whitfield"]
ROLES = ["site manager", "head of security", "project lead", "chief engineer", "safety officer", "new accountant",
         "lab technician", "fleet coordinator", "office administrator", "quality inspector", "training officer"]
LABELS = ["VISITOR PASS", "MEMBER CARD", "SHIPMENT", "PERMIT", "CARGO", "DELIVERY NOTE", "LICENCE", "VOUCHER"]
"""Code labels, sharing no word with a subject or a filler thing (so "what is the access code?" has one answer)."""
REPEATED = ["SAFETY DRILL", "SPECIAL OFFER", "NEW ARRIVALS", "QUIET HOURS", "MAINTENANCE WINDOW"]
CODE_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"  # no I, O, Q: not confusable with 1, 0
DIGITS = "12345678"  # in spoken numbers and codes: nine and zero are the words Whisper-base gets wrong most

_PLACES = ["warehouse", "basement", "harbour", "depot", "garage", "station", "bridge", "factory", "library",
           "canteen", "workshop", "courtyard"]
_THINGS = ["container", "truck", "generator", "ladder", "printer", "bicycle", "crate", "pump", "boiler", "kettle"]
_COLOURS = ["red", "blue", "green", "yellow", "black", "white", "orange", "purple"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_BLAND = ["The weather stayed mild for most of the afternoon.", "Everyone agreed to meet again after lunch.",
          "The corridor lights were replaced in spring.", "Most visitors arrived a little early today.",
          "The updated schedule will be posted on the board.", "Coffee is available in the kitchen all day.",
          "The windows on the east side were cleaned this week.", "Nothing unusual happened during the night shift.",
          "The heating will be checked again next month.", "Several boxes of paper were delivered yesterday."]
_CAPTION_WORDS = ["UPDATE", "BRIEFING", "OVERVIEW", "REPORT", "NOTES", "SUMMARY"]
_DECOY_PREFIX = ["UNIT", "LOT", "BAY", "RACK", "STACK"]
_SOURCES = ["testsrc2", "smptehdbars", "color=c=0x1E5A32", "gradients=c0=navy:c1=orange:speed=0.02",
            "color=c=0x303060", "testsrc", "rgbtestsrc", "color=c=0x5A1E1E", "smptebars",
            "gradients=c0=0x204020:c1=0xC0C040:speed=0.03", "color=c=0x40405A"]
PHOTO_OBJECTS = {"bus.jpg": ("bus", "person"), "zidane.jpg": ("person", "tie")}

SIZE = "854x480"
FPS = 12
PRESET = "veryfast"
_SPAN_DIGITS = 3


def generator_version() -> str:
    """Hash of this generator and of ``synth`` (what a cached haystack was built by)."""
    text = Path(__file__).read_bytes() + Path(synth.__file__).read_bytes()
    return hashlib.sha256(text).hexdigest()[:10]


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


# -- planning (pure, seeded) -----------------------------------------------------------------------------------------


@dataclass
class _Say:
    text: str
    voice: str
    needle: str | None = None  # needle id
    keep: bool = False  # never dropped for lack of room (needles and near-miss decoys)


@dataclass
class _Slot:
    """One scene being planned."""

    duration: int
    source: str
    objects: tuple[str, ...] = ()
    says: list[_Say] = field(default_factory=list)
    shows: list[tuple[synth.Text, str | None]] = field(default_factory=list)
    picture: str | None = None  # needle id shown as the picture
    lead: float = 0.0  # random fractions for placing the speech, drawn while planning
    gaps: tuple[float, ...] = ()


@dataclass
class _PlannedNeedle:
    id: str
    kind: str
    video: int
    value: str
    about: str
    parts: list[tuple[str, str]]  # (modality, sentence / text / photo) per occurrence, in planned order
    scenes: list[int] = field(default_factory=list)


@dataclass
class _Plan:
    names: list[str]
    slots: list[list[_Slot]]
    needles: list[_PlannedNeedle]
    unanswerable: list[tuple[str, str]]  # (question, what it asks about)


def _durations(total: int, rng: random.Random) -> list[int]:
    """Whole seconds (so every scene is a whole number of frames), 6 to 10 each, summing to ``total``."""
    out, left = [], total
    while left >= 16:
        d = rng.randint(6, 10)
        out.append(d)
        left -= d
    return out + ([left // 2, left - left // 2] if left >= 12 else [left])


def _number(rng: random.Random, used: set[str]) -> str:
    while True:
        n = "".join(rng.choice(DIGITS) for _ in range(3))
        if n not in used and len(set(n)) > 1:
            used.add(n)
            return n


def _code(rng: random.Random, used: set[str]) -> str:
    while True:
        c = "".join(rng.choice(CODE_LETTERS) for _ in range(2)) + "-" + "".join(rng.choice(DIGITS) for _ in range(4))
        if c not in used:
            used.add(c)
            return c


def _near_miss(value: str, rng: random.Random, used: set[str]) -> str:
    """``value`` with its digits shuffled (``YV-8635`` -> ``YV-8653``), not used before."""
    digits = [c for c in value if c.isdigit()]
    for _ in range(100):
        rng.shuffle(digits)
        it = iter(digits)
        out = "".join(next(it) if c.isdigit() else c for c in value)
        if out != value and out not in used:
            used.add(out)
            return out
    return _code(rng, used) if "-" in value else _number(rng, used)


def _filler_sentence(rng: random.Random, numbers: set[str]) -> str:
    kind = rng.random()
    if kind < 0.25:
        return f"The {rng.choice(DECOY_SUBJECTS)} is {_number(rng, numbers)}."
    if kind < 0.45:
        return f"{_number(rng, numbers)} visitors came to the {rng.choice(_PLACES)} on {rng.choice(_DAYS)}."
    if kind < 0.7:
        return f"The {rng.choice(_COLOURS)} {rng.choice(_THINGS)} is in the {rng.choice(_PLACES)}."
    return rng.choice(_BLAND)


def _filler_caption(rng: random.Random, codes: set[str]) -> synth.Text:
    if rng.random() < 0.35:
        text = f"{rng.choice(_DECOY_PREFIX)} {_code(rng, codes)}"
    else:
        text = f"{rng.choice(_PLACES).upper()} {rng.choice(_CAPTION_WORDS)}"
    return synth.Text(text, 0.0, 0.0, y=rng.choice([0.08, 0.12, 0.82]), size=rng.choice([34, 38, 42]))


def _place(rng: random.Random, n: int, occurrences: list[tuple[int, int]],
           far: list[tuple[int, int]], apart: list[list[int]]) -> list[int] | None:
    """Scene indices for ``occurrences``: pairs in ``far`` at least a third of the video apart, groups in
    ``apart`` never in neighbouring scenes."""
    need = len(occurrences)
    for _ in range(5000):
        pick = rng.sample(range(n), need)
        if all(abs(pick[a] - pick[b]) >= max(2, n // 3) for a, b in far) and \
                all(abs(pick[a] - pick[b]) >= 2 for g in apart for i, a in enumerate(g) for b in g[i + 1:]):
            return pick
    return None


@dataclass
class _Draw:
    """The seeded random state of one plan: the generator and every value handed out so far."""

    rng: random.Random
    numbers: set[str] = field(default_factory=set)
    codes: set[str] = field(default_factory=set)


def _video_needles(v: int, per_kind: int, subjects: list[str], names: list[str], roles: list[str], labels: list[str],
                   repeated: str, bus: bool, scenes: int, d: _Draw) -> list[_PlannedNeedle]:
    rng, mine = d.rng, []
    for j in range(per_kind):
        subject, number = subjects[j], _number(rng, d.numbers)
        mine.append(_PlannedNeedle(f"v{v + 1}-speech_number-{j + 1}", "speech_number", v, number,
                                   f"the {subject}", [("speech", f"The {subject} is {number}.")]))
    for j in range(per_kind):
        label, code = labels[j], _code(rng, d.codes)
        mine.append(_PlannedNeedle(f"v{v + 1}-text_code-{j + 1}", "text_code", v, code,
                                   f"the {label.lower()} code", [("text", f"{label}\n{code}")]))
    for j in range(per_kind):
        name, role = names[j], roles[j]
        parts = [("speech", f"Our {role} is {name}."), ("text", name)]
        rng.shuffle(parts)
        mine.append(_PlannedNeedle(f"v{v + 1}-name_cross-{j + 1}", "name_cross", v, name, f"the {role}'s name",
                                   parts))
    if bus:
        mine.append(_PlannedNeedle(f"v{v + 1}-object_twice-1", "object_twice", v, "bus", "the bus",
                                   [("picture", "bus.jpg"), ("picture", "bus.jpg")]))
    k = min(4, rng.randint(2, 4), max(2, scenes - sum(len(x.parts) for x in mine) - 2))
    mine.append(_PlannedNeedle(f"v{v + 1}-text_repeat-1", "text_repeat", v, repeated, f"the caption {repeated}",
                               [("text", repeated)] * k))
    return mine


def _positions(mine: list[_PlannedNeedle], n: int, minutes: float, rng: random.Random) -> dict[tuple[int, int], int]:
    """Scene of each occurrence ``(needle index, part)``; ``(-1, 0)`` is the zidane.jpg distractor, when room."""
    occurrences = [(i, p) for i, x in enumerate(mine) for p in range(len(x.parts))]
    if len(occurrences) < n - 1:
        occurrences.append((-1, 0))
    if len(occurrences) > n:
        raise ConfigError(f"{minutes:g} minutes is too short for the needles ({len(occurrences)} scenes needed, "
                          f"{n} available)", "use at least 1.5 minutes")
    index = {o: i for i, o in enumerate(occurrences)}
    far = [(index[(i, 0)], index[(i, 1)]) for i, x in enumerate(mine) if x.kind == "object_twice"]
    apart = [[index[(i, p)] for p in range(len(x.parts))] for i, x in enumerate(mine) if len(x.parts) > 1]
    pick = _place(rng, n, occurrences, far, apart)
    if pick is None:
        raise ConfigError(f"{minutes:g} minutes is too short to place the needles apart", "use a longer video")
    return {o: pick[i] for i, o in enumerate(occurrences)}


def _furnish(scenes: list[_Slot], mine: list[_PlannedNeedle], at: dict[tuple[int, int], int], d: _Draw) -> None:
    """Fill every scene: picture, needles, near-miss decoys, filler speech and captions."""
    rng = d.rng
    previous = ""
    for slot in scenes:
        slot.source = rng.choice([x for x in _SOURCES if x != previous])
        previous = slot.source
        slot.lead, slot.gaps = rng.random(), tuple(rng.random() for _ in range(4))
    for (i, p), s in sorted(at.items(), key=lambda x: x[1]):
        slot = scenes[s]
        if i < 0:
            slot.source, slot.objects = str(synth.asset_photo("zidane.jpg")), PHOTO_OBJECTS["zidane.jpg"]
            continue
        x = mine[i]
        x.scenes.append(s)
        modality, content = x.parts[p]
        if modality == "picture":
            slot.source, slot.objects, slot.picture = str(synth.asset_photo(content)), PHOTO_OBJECTS[content], x.id
        elif modality == "speech":
            slot.says.append(_Say(content, NEEDLE_VOICE, x.id))
        elif x.kind == "text_code":
            label, code = content.split("\n")
            slot.shows += [(synth.Text(label, 0, 0, y=0.3, size=44), x.id),
                           (synth.Text(code, 0, 0, y=0.45, size=72), x.id)]
        elif x.kind == "name_cross":
            slot.shows.append((synth.Text(content, 0, 0, y=0.72, size=52), x.id))
        else:
            slot.shows.append((synth.Text(content, 0, 0, y=rng.choice([0.3, 0.45, 0.6]), size=56), x.id))
    taken = set(at.values())
    free = [s for s in range(len(scenes)) if s not in taken]
    rng.shuffle(free)
    for x in mine:  # a near-miss decoy per code and number, in a filler scene
        if free and x.kind == "text_code":
            decoy = f"{rng.choice(_DECOY_PREFIX)} {_near_miss(x.value, rng, d.codes)}"
            scenes[free.pop()].shows.append((synth.Text(decoy, 0, 0, y=rng.choice([0.1, 0.45, 0.8]), size=48), None))
        elif free and x.kind == "speech_number":
            decoy = f"The {rng.choice(DECOY_SUBJECTS)} is {_near_miss(x.value, rng, d.numbers)}."
            scenes[free.pop()].says.append(_Say(decoy, NEEDLE_VOICE, keep=True))
    for slot in scenes:
        for _ in range(1 if slot.says else rng.choice([1, 2, 2])):
            slot.says.append(_Say(_filler_sentence(rng, d.numbers), rng.choice(["en-us", "en-gb"])))
        rng.shuffle(slot.says)
        if not slot.shows and not slot.objects:
            slot.shows.append((_filler_caption(rng, d.codes), None))
        a = round(rng.uniform(0.4, 1.5), 2)
        b = round(slot.duration - rng.uniform(0.4, 1.5), 2)
        slot.shows = [(synth.Text(t.text, a, b, t.y, t.size), nid) for t, nid in slot.shows]


def plan(minutes: float, seed: int = 0, videos: int = 1) -> _Plan:
    """Seeded layout of every video: scenes, what each says and shows, and where the needles are."""
    if not 1 <= videos <= len(REPEATED):
        raise ConfigError(f"a haystack has 1 to {len(REPEATED)} videos, not {videos}",
                          f"pass videos=1 to {len(REPEATED)}")
    d = _Draw(random.Random(f"haystack:{seed}"))
    rng = d.rng
    total = int(round(minutes * 60))
    per_kind = max(1, min(round(minutes / 5), *(len(pool) // videos for pool in (SUBJECTS, NAMES, ROLES, LABELS))))
    bus_video = rng.randrange(videos)
    subjects = rng.sample(SUBJECTS, per_kind * videos)
    names = rng.sample(NAMES, per_kind * videos)
    roles = rng.sample(ROLES, per_kind * videos)  # one person per role: "who is the site manager" has one answer
    labels = rng.sample(LABELS, per_kind * videos)
    repeated = rng.sample(REPEATED, videos)
    needles: list[_PlannedNeedle] = []
    slots: list[list[_Slot]] = []
    for v in range(videos):
        scenes = [_Slot(s, "") for s in _durations(total, rng)]
        mine = slice(v * per_kind, (v + 1) * per_kind)
        planted = _video_needles(v, per_kind, subjects[mine], names[mine], roles[mine], labels[mine], repeated[v],
                                 v == bus_video, len(scenes), d)
        _furnish(scenes, planted, _positions(planted, len(scenes), minutes, rng), d)
        needles += planted
        slots.append(scenes)
    unused = list(UNANSWERABLE_SUBJECTS)
    rng.shuffle(unused)
    unanswerable = [(f"What is the {unused[0]}?", unused[0]), (f"What is the {unused[1]}?", unused[1]),
                    (f"Who is {rng.choice(UNANSWERABLE_NAMES)}?", "name"), ("Where is the boat shown?", "boat")]
    return _Plan([f"haystack-{i + 1:02d}.mp4" for i in range(videos)], slots, needles, unanswerable)


# -- rendering ------------------------------------------------------------------------------------------------------


def _speak_all(texts: set[tuple[str, str]], tmp: Path, workers: int) -> dict[tuple[str, str], np.ndarray]:
    keys = sorted(texts)

    def one(i_key):
        i, (text, voice) = i_key
        return synth._speak(text, tmp / f"say{i}.wav", voice=voice)

    with ThreadPoolExecutor(workers) as pool:
        return dict(zip(keys, pool.map(one, enumerate(keys))))


def _layout_speech(slot: _Slot, audio: dict[tuple[str, str], np.ndarray]) -> list[tuple[float, _Say]]:
    """Scene-relative start of each sentence that fits (needle sentences always kept)."""
    rate = synth.SPEECH_RATE
    says = list(slot.says)
    length = lambda s: len(audio[(s.text, s.voice)]) / rate  # noqa: E731
    while says and sum(map(length, says)) + 0.6 * (len(says) - 1) > slot.duration - 0.8:
        drop = next((s for s in says if not s.keep and s.needle is None), None)
        if drop is None:
            raise ConfigError(f"a needle sentence does not fit in a {slot.duration} s scene", "use a longer video")
        says.remove(drop)
    slack = slot.duration - 0.8 - sum(map(length, says)) - 0.6 * (len(says) - 1)
    t = 0.3 + slot.lead * slack * 0.5
    slack -= t - 0.3
    out = []
    for k, s in enumerate(says):
        out.append((round(t, 3), s))
        t += length(s) + 0.6 + slot.gaps[k % len(slot.gaps)] * slack / max(1, len(says))
    return out


def _drawtext(text: synth.Text, path: Path) -> str:
    path.write_text(text.text)
    return (f"drawtext=fontfile={synth.FONT}:textfile={path}:expansion=none:fontsize={text.size}:fontcolor=white:"
            f"box=1:boxcolor=black@0.6:boxborderw=12:x=(w-tw)/2:y=h*{text.y}:"
            f"enable='between(t,{text.start:.3f},{text.end:.3f})'")


def _render_scene(slot: _Slot, out: Path, size: str, fps: int, preset: str) -> None:
    scene = synth.Scene(slot.duration, slot.source, tuple(t for t, _ in slot.shows), (), slot.objects)
    photo = Path(scene.source).suffix.lower() in (".jpg", ".jpeg", ".png")
    inputs = ["-loop", "1", "-framerate", str(fps), "-t", str(scene.duration), "-i", scene.source] if photo else []
    graph = synth._scene_filter(0, scene, size, fps, 0 if photo else None)
    draws = [_drawtext(t, out.with_name(f"{out.stem}-{k}.txt")) for k, t in enumerate(scene.texts)]
    graph += ";[v0]" + (",".join(draws) if draws else "null") + "[v]"
    script = out.with_suffix(".graph")
    script.write_text(graph)
    cmd = ["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-threads", "1", *inputs,
           "-filter_complex_script", str(script), "-map", "[v]", "-frames:v", str(int(scene.duration * fps)),
           "-c:v", "libx264", "-preset", preset, "-crf", "23", "-pix_fmt", "yuv420p", "-r", str(fps),
           "-threads", "1", "-an", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)


def _render_video(scenes: list[_Slot], out: Path, size: str, fps: int, preset: str,
                  audio: dict[tuple[str, str], np.ndarray], tmp: Path, workers: int
                  ) -> tuple[synth.Truth, dict[str, list[tuple[float, float, str, str]]]]:
    """Render one video; returns its truth and, per needle id, its (start, end, modality, text) occurrences."""
    rate = synth.SPEECH_RATE
    total = sum(s.duration for s in scenes)
    truth = synth.Truth(duration=float(total))
    found: dict[str, list[tuple[float, float, str, str]]] = {}
    track = np.zeros(total * rate, dtype=np.float32)
    offset = 0.0
    r = lambda x: round(float(x), _SPAN_DIGITS)  # noqa: E731
    for i, slot in enumerate(scenes):
        if i:
            truth.cuts.append(r(offset))
        for start, say in _layout_speech(slot, audio):
            wav = audio[(say.text, say.voice)]
            at = int(round((offset + start) * rate))
            seg = wav[: max(0, len(track) - at)]
            track[at: at + len(seg)] += seg
            v0, v1 = synth._voiced(wav)
            span = (r(offset + start + v0), r(offset + start + v1))
            truth.speech.append((*span, say.text))
            if say.needle:
                found.setdefault(say.needle, []).append((*span, "speech", say.text))
        shown: dict[str, list[synth.Text]] = {}
        for text, nid in slot.shows:
            truth.texts.append((r(offset + text.start), r(offset + text.end), text.text))
            if nid:
                shown.setdefault(nid, []).append(text)
        for nid, texts in shown.items():  # a label and its code: one occurrence
            found.setdefault(nid, []).append((r(offset + texts[0].start), r(offset + texts[0].end), "text",
                                              "\n".join(t.text for t in texts)))
        for label in slot.objects:
            truth.objects.append((r(offset), r(offset + slot.duration), label))
        if slot.picture:
            found.setdefault(slot.picture, []).append((r(offset), r(offset + slot.duration), "picture",
                                                       Path(slot.source).name))
        offset += slot.duration
    wav_path = tmp / f"{out.stem}.wav"
    with wave.open(str(wav_path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.clip(track, -32768, 32767).astype(np.int16).tobytes())
    parts = [tmp / f"{out.stem}-scene{i:04d}.mp4" for i in range(len(scenes))]
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda a: _render_scene(a[0], a[1], size, fps, preset), zip(scenes, parts)))
    listing = tmp / f"{out.stem}.concat"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    subprocess.run(["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i",
                    str(listing), "-i", str(wav_path), "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
                    "-b:a", "64k", "-t", str(total), "-movflags", "+faststart", str(out)],
                   check=True, capture_output=True)
    for p in parts:
        p.unlink()
    return truth, found


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
        audio = _speak_all({(s.text, s.voice) for v in layout.slots for slot in v for s in slot.says}, tmp, workers)
        for v, (name, scenes) in enumerate(zip(layout.names, layout.slots)):
            out = out_dir / name
            part = out.with_name(f".{out.stem}.{os.getpid()}.mp4")
            truth, found = _render_video(scenes, part, size, fps, preset, audio, tmp, workers)
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
