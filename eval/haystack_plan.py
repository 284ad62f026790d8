"""The haystack's scenes: pools of subjects, names and fillers; the seeded plan of scenes with their needles and
decoys; rendering scenes with ffmpeg and espeak-ng into videos (see ``haystack`` for the benchmark itself)."""

from __future__ import annotations

import hashlib
import random
import subprocess
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from . import synth


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
    """Hash of the generator (this module, ``haystack`` and ``synth``): what a cached haystack was built by."""
    text = b"".join(Path(p).read_bytes() for p in (__file__, Path(__file__).with_name("haystack.py"), synth.__file__))
    return hashlib.sha256(text).hexdigest()[:10]


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


def speak_all(texts: set[tuple[str, str]], tmp: Path, workers: int) -> dict[tuple[str, str], np.ndarray]:
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


def render_video(scenes: list[_Slot], out: Path, size: str, fps: int, preset: str,
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


