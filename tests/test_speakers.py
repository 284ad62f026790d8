"""The speakers stage: generated conversations with known truth (who speaks when, who is called what), the real
single-narrator clips, names only from evidence, labels for every transcript line, the cache, inspect and doctor."""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
import os
import re
import shutil
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from conftest import CACHE, make_settings, real
from vidgraph.records import (HeardAgain, NameEvidence, Span, Speaker, SpeakerName, SpeakerTurn, TextLine,
                              TranscriptSegment, Word)
from vidgraph.records import record_from_dict
from vidgraph.tools.speaker_names import caption_name, name_speakers, said_names
from vidgraph.tools.speakers import (ResemblyzerSpeakersTool, label_segments, link_speakers, speaker_at, speakers_of,
                                     turns_of)

COUNT_SEEDS = (0, 1, 2, 3, 4, 5)  # 2, 3, 4, 2, 3, 4 speakers, 66-82 s each
MINUTES = (1.0, 1.3)
NAMES_SEED = 7  # 3 speakers: "my name is Quincy", "Edward Tanaka" shown under Edward, Grace unnamed (garbled by ASR)

pytestmark = [pytest.mark.skipif(not ResemblyzerSpeakersTool.availability().ok,
                                 reason="the speakers extra is not installed"),
              pytest.mark.numerics]  # real models' outputs (tests/test_numerics.py)


# -- generated conversations, cached by the generator's source -------------------------------------------------------
def _key(*parts: object) -> str:
    from vidgraph.eval import conversations

    return hashlib.sha256((inspect.getsource(conversations) + repr(parts)).encode()).hexdigest()[:10]


def conversation_wav(seed: int, **kwargs) -> tuple[Path, dict]:
    from vidgraph.eval import conversations

    out = CACHE / f"conv-{seed}-{_key(seed, kwargs)}.wav"
    if not out.is_file() or not out.with_suffix(".json").is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        wav, truth = conversations.make_conversation(seed, **kwargs)
        tmp = out.with_name(f".{out.stem}.{os.getpid()}.wav")
        conversations.write_wav(tmp, wav)
        out.with_suffix(".json").write_text(json.dumps(truth))
        tmp.replace(out)
    return out, json.loads(out.with_suffix(".json").read_text())


@pytest.fixture(scope="session")
def names_video() -> tuple[Path, dict]:
    from vidgraph.eval import conversations

    out = CACHE / f"conv-video-{NAMES_SEED}-{_key(NAMES_SEED, MINUTES)}.mp4"
    if not out.is_file() or not out.with_suffix(".json").is_file():
        tmp = out.with_name(f".{out.stem}.{os.getpid()}.mp4")
        conversations.make_video(NAMES_SEED, tmp, minutes=MINUTES)
        tmp.with_suffix(".json").replace(out.with_suffix(".json"))
        tmp.replace(out)
    return out, json.loads(out.with_suffix(".json").read_text())


def diarize(path: Path, store: Path, settings) -> list:
    from vidgraph.tools import open_video

    return open_video(path, store, settings).get("speakers")


def der(truth: dict, turns: list[SpeakerTurn], metric) -> float:
    from pyannote.core import Annotation, Segment, Timeline

    ref, hyp = Annotation(), Annotation()
    for i, t in enumerate(truth["turns"]):
        ref[Segment(t["start"], t["end"]), i] = t["speaker"]
    for i, t in enumerate(turns):
        hyp[Segment(t.span.start, t.span.end), i] = t.speaker
    return metric(ref, hyp, uem=Timeline([Segment(0, truth["duration"])]))


def truth_of(truth: dict, turns: list[SpeakerTurn]) -> dict[str, str]:
    """Each found speaker -> the true speaker it overlaps most."""
    talk: dict[str, Counter] = defaultdict(Counter)
    for t in turns:
        for r in truth["turns"]:
            talk[t.speaker][r["speaker"]] += t.span.overlap(Span(start=r["start"], end=r["end"]))
    return {k: c.most_common(1)[0][0] for k, c in talk.items()}


# -- who speaks when ----------------------------------------------------------------------------------------------------
def test_speaker_count_and_der_on_generated_conversations(tmp_path, settings):
    """2-4 espeak voices, 2-15 s turns: the number of speakers is found, DER (+-0.25 s collar) <= 10 %."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=0.5)  # pyannote's collar is the total width: +-0.25 s
    rows = []
    for seed in COUNT_SEEDS:
        path, truth = conversation_wav(seed, minutes=MINUTES)
        records = diarize(path, tmp_path / "store", settings)
        turns, voices = turns_of(records), speakers_of(records)
        rows.append((seed, len(truth["speakers"]), len(voices), der(truth, turns, metric)))
        assert {t.speaker for t in turns} == {v.speaker for v in voices}
        assert all(a.span.end <= b.span.start for a, b in zip(turns, turns[1:]))  # in order, no overlap
        assert all(len(v.embedding) == 256 and v.talk_seconds > 0 and v.turns > 0 for v in voices)
    print("\nseed speakers found DER±0.25:", *(f"{s} {n} {k} {d:.3f}" for s, n, k, d in rows), sep="\n  ")
    assert [k for _, _, k, _ in rows] == [n for _, n, _, _ in rows]
    assert abs(metric) <= 0.10, f"accumulated DER {abs(metric):.3f}"


@pytest.mark.parametrize("seed", [1, pytest.param(2, marks=pytest.mark.xfail(strict=True, reason=(
    "known limit: under the music bed one voice of seed 2 splits in two (8 s and 12 s, centroid cosine 0.80, "
    "just under the merge rule); the thresholds are kept as calibrated, not fitted to this test")))])
def test_a_music_bed_does_not_split_or_merge_speakers(tmp_path, settings, seed):
    """The same conversations over synthetic music at -30 dBFS (about 10 dB SNR)."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    path, truth = conversation_wav(seed, minutes=MINUTES, music_dbfs=-30.0)
    turns = turns_of(diarize(path, tmp_path / "store", settings))
    assert der(truth, turns, DiarizationErrorRate(collar=0.5)) <= 0.10
    assert len({t.speaker for t in turns}) == len(truth["speakers"])


@pytest.mark.parametrize("clip", ["cc_wanna_work_together.mp4", "autoeditor_example.mp4",
                                  "janus_ChID-BLITS-EBU.mp4"])
def test_real_single_speaker_clips_are_one_speaker(tmp_path, settings, clip):
    """A narrator over a loud music bed (cc), one man with a long silence, an announcer moving across 5.1 channels."""
    records = diarize(real(clip), tmp_path / "store", settings)
    assert [v.speaker for v in speakers_of(records)] == ["S1"], [(v.speaker, v.talk_seconds) for v in
                                                                 speakers_of(records)]


def test_the_same_voice_is_linked_across_videos_and_no_other(tmp_path, settings):
    """The six conversations share seven voices between pairs of them; at 0.85 no two different voices link."""
    voices, true_id = [], {}
    for seed in COUNT_SEEDS:
        path, truth = conversation_wav(seed, minutes=MINUTES)
        records = diarize(path, tmp_path / "store", settings)
        mapping = truth_of(truth, turns_of(records))
        for v in speakers_of(records):
            voices.append(v)
            true_id[(v.video_id, v.speaker)] = mapping[v.speaker]
    links = link_speakers(voices, threshold=0.85)
    same = [lk for lk in links if true_id[(lk.a.video_id, lk.a.speaker)] == true_id[(lk.b.video_id, lk.b.speaker)]]
    pairs = {(a, b) for a in voices for b in voices if a.video_id < b.video_id and a.talk_seconds >= 10
             and b.talk_seconds >= 10 and true_id[(a.video_id, a.speaker)] == true_id[(b.video_id, b.speaker)]}
    print(f"\nsame-voice pairs {len(pairs)}, linked {len(same)}, wrong links {len(links) - len(same)}; "
          f"similarities {[lk.similarity for lk in links]}")
    assert len(same) == len(links), "a link between two different voices"
    assert len(same) >= len(pairs) // 2
    assert all(lk.a.video_id != lk.b.video_id and lk.similarity >= 0.85 for lk in links)


# -- names, labels, cache, inspect (one indexed video with ASR and OCR) ----------------------------------------------
@pytest.mark.slow
def _talk_library(tmp_path: Path, video: Path):
    """A library of one folder holding the captioned conversation as talk.mp4, and that folder."""
    from vidgraph.library import Library

    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(video, folder / "talk.mp4")
    return Library(folder, settings=make_settings()), folder


def test_names_labels_cache_and_inspect_on_a_captioned_conversation(tmp_path, names_video, monkeypatch):
    from typer.testing import CliRunner

    from vidgraph.cli import app

    video, truth = names_video
    lib, folder = _talk_library(tmp_path, video)
    report = lib.index(stages="scan,asr,speakers,ocr", progress=False)
    assert report.ok, [r.error for r in report.failures]
    entry = lib.get("talk.mp4")
    records, asr, ocr = (lib.records(entry, s) for s in ("speakers", "asr", "ocr"))
    turns = turns_of(records)
    assert len(speakers_of(records)) == len(truth["speakers"]) == 3
    mapping = truth_of(truth, turns)

    labelled = label_segments(asr, turns)
    assert labelled and all(speaker is not None for speaker, _ in labelled)
    words = [w for _, seg in labelled for w in seg.words]
    assert len(words) == sum(len(s.words) for s in asr)  # splitting keeps every word once

    names = {n.speaker: n for n in name_speakers(turns, asr, ocr)}
    true_name = {s["id"]: s["name"] for s in truth["speakers"]}
    for n in names.values():  # precision: every name given is the speaker's own
        assert n.name.split()[0] == true_name[mapping[n.speaker]], n
        assert n.evidence and 0 < n.confidence <= 1
    by_name = {n.name: n for n in names.values()}
    assert "Edward Tanaka" in by_name  # the lower third under Edward's turn
    # Quincy introduces himself ("Hello everyone, my name is Quincy"): linked when the ASR heard the name; on
    # some CPUs Whisper writes "my name is Queen C", and then no name at all is right (never a guess)
    intro = next(seg for seg in asr if "my name is" in _words(seg.text))
    heard = _words(intro.text).split("my name is ", 1)[1].split()[0]
    quincy = next(label for label, true in mapping.items() if true_name[true] == "Quincy")
    if difflib.SequenceMatcher(None, heard, "quincy").ratio() >= 0.8:
        assert names[quincy].name == "Quincy", names
        assert [(e.rule, e.modality) for e in by_name["Quincy"].evidence][0] == ("self-intro", "speech")
        assert "my name is quincy" in _words(by_name["Quincy"].evidence[0].text)
    else:
        assert quincy not in names, (heard, names[quincy])
    shown = by_name["Edward Tanaka"].evidence[0]
    assert (shown.rule, shown.modality, shown.text) == ("on-screen", "text", "Edward Tanaka")
    assert shown.span.overlap(Span(start=truth["caption"]["start"], end=truth["caption"]["end"])) > 3

    runner = CliRunner()
    out = runner.invoke(app, ["inspect", str(folder / "talk.mp4"), "transcript"])
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    shown_as = {label: names[label].name if label in names else label for label in mapping}  # name, else label
    assert any(line.split("  ")[1] == shown_as[quincy] and "my name is" in _words(line) for line in lines), lines[:3]
    assert all(line.split("  ")[1] in set(shown_as.values()) for line in lines), lines
    voices = runner.invoke(app, ["inspect", str(folder / "talk.mp4"), "speakers"])
    assert voices.exit_code == 0 and len(voices.stdout.splitlines()) == 3
    assert "Edward Tanaka (0.80; on-screen at" in voices.stdout and " s in " in voices.stdout

    # cached: a second run reads the artifact, the tool does not run
    monkeypatch.setattr(ResemblyzerSpeakersTool, "run", lambda self, ctx: pytest.fail("ran again"))
    again = lib.index(stages="scan,asr,speakers,ocr", progress=False)
    assert again.ok and not any(s.ran for r in again.results for s in r.stages)
    assert lib.context(entry).get("speakers") == records

    # the agents, with the real default model: "who said ..." is the speaker as the index knows them (the name,
    # else the label), cited where it is said
    by_truth = {true_name[true]: label for label, true in mapping.items()}
    for question, name, said in [("Who said that the kids painted the train timetable?", "Quincy", "the kids painted"),
                                 ("Who said that nobody cleaned the concert tickets?", "Edward", "nobody cleaned")]:
        a = lib.ask(question, index=False, progress=False)
        turn = next(t for t in truth["turns"] if said in t["text"])
        assert a.found and shown_as[by_truth[name]] in a.text, (question, a.text, shown_as)
        assert a.citations and a.citations[0].span.overlap(Span(start=turn["start"], end=turn["end"])) > 0, a.citations


def test_the_names_stage_hears_each_spoken_name_again_with_the_transcripts_model(tmp_path, names_video):
    """The real names stage on the captioned conversation: one second hearing per place a rule reads a name, with
    the transcript's model (loaded once for both stages); the names it agrees with are still the speakers' own,
    and the screen's name stays."""
    from vidgraph.tools.base import _MODELS

    video, truth = names_video
    lib, folder = _talk_library(tmp_path, video)
    report = lib.index(stages="scan,asr,speakers,ocr", progress=False)
    loaded = set(_MODELS)
    report = lib.index(stages="scan,asr,speakers,names,ocr", progress=False)
    assert report.ok, [r.error for r in report.failures]
    assert set(_MODELS) == loaded  # the names stage heard again with the transcript's model, loaded once
    entry = lib.get("talk.mp4")
    asr, ocr, heard = (lib.records(entry, s) for s in ("asr", "ocr", "names"))
    assert [(h.span, h.name) for h in heard] == said_names(asr) and all(h.text for h in heard)
    turns = turns_of(lib.records(entry, "speakers"))
    mapping, true_name = truth_of(truth, turns), {s["id"]: s["name"] for s in truth["speakers"]}
    names = name_speakers(turns, asr, ocr, heard=heard)
    assert all(n.name.split()[0] == true_name[mapping[n.speaker]] for n in names), names
    assert "Edward Tanaka" in {n.name for n in names}
    said_by = lib.memory.keywords.search("Edward Tanaka", videos=[entry.video_id], collections=["speech"])
    assert said_by and all(h.text.startswith("Edward Tanaka: ") for h in said_by)  # the memory's lines say who


def _words(text: str) -> str:
    """Lower case, punctuation gone: the transcript's wording, not its punctuation (which differs across CPUs)."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def test_doctor_reports_the_speakers_backend():
    from typer.testing import CliRunner

    from vidgraph.cli import app

    out = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "400"})
    line = next(x for x in out.stdout.splitlines() if x.strip().startswith("speakers "))
    assert "resemblyzer 0.1.4" in line and "pretrained.pt" in line and "silero" in line.lower()
    assert "Faker" in line and "given names" in line


def test_speakers_are_left_out_of_the_default_stages_where_they_cannot_run(monkeypatch, settings):
    from vidgraph.errors import ToolError
    from vidgraph.tools.base import Availability
    from vidgraph.tools.registry import default_stages, resolve_stages

    assert "speakers" in default_stages(settings)
    monkeypatch.setattr(ResemblyzerSpeakersTool, "availability",
                        classmethod(lambda cls, settings=None: Availability(False, "not installed", "pip install")))
    assert "speakers" not in default_stages(settings) and "asr" in default_stages(settings)
    assert "speakers" not in resolve_stages(None, settings)
    with pytest.raises(ToolError, match="speakers"):
        resolve_stages("speakers", settings)


# -- the functions, on hand-made records (no model) ---------------------------------------------------------------------
V = "v"


def _turns(*spans: tuple[float, float, str]) -> list[SpeakerTurn]:
    return [SpeakerTurn(video_id=V, span=Span(start=a, end=b), speaker=k) for a, b, k in spans]


def _seg(a: float, b: float, text: str, words: bool = False) -> TranscriptSegment:
    ws: tuple[Word, ...] = ()
    if words:
        parts = text.split()
        step = (b - a) / len(parts)
        ws = tuple(Word(span=Span(start=a + i * step, end=a + (i + 1) * step), text=w) for i, w in enumerate(parts))
    return TranscriptSegment(video_id=V, span=Span(start=a, end=b), text=text, words=ws)


def test_speaker_at_and_label_segments_split_at_a_change():
    turns = _turns((0, 4, "S1"), (4.2, 9, "S2"))
    assert speaker_at(turns, Span(start=1, end=2)) == "S1"
    assert speaker_at(turns, Span(start=3, end=6)) == "S2"  # most of the talk
    assert speaker_at(turns, Span(start=9.5, end=9.8)) == "S2"  # nearest, within 1 s
    assert speaker_at(turns, Span(start=12, end=13)) is None
    seg = _seg(2, 8, "one two three four five six", words=True)  # words at 2-3 ... 7-8
    pieces = label_segments([seg], turns)
    assert [(k, s.text) for k, s in pieces] == [("S1", "one two"), ("S2", "three four five six")]
    assert pieces[1][1].span == Span(start=4, end=8) and pieces[1][1].words == seg.words[2:]
    whole = _seg(0.5, 3, "no words here")
    assert label_segments([whole], turns) == [("S1", whole)]


def test_self_introductions_and_their_pitfalls():
    cases = [("I'm sure it will be fine.", None), ("I'm going to check the contract.", None),
             ("I'm Sorry, I missed that.", None), ("I'm American, by the way.", None),
             ("They call me every day about the budget.", None), ("They call me Henry Day and out of it.", None),
             ("Call me when you're ready.", None), ("This is great.", None), ("This is London calling.", None),
             ("I'm Happy to help.", None), ("I'm Dr. Smith.", "Smith"), ("Hi, I'm Maria.", "Maria"),
             ("My name is Lee.", "Lee"), ("my name's Anna-Lena and I work here.", "Anna-Lena"),
             ("This is Lee speaking.", "Lee"), ("Hi there, Andy here.", "Andy"), ("Please call me Ishmael.", "Ishmael"),
             ("I'm Paul, by the way.", "Paul"), ("I am Jordan from accounts.", "Jordan")]
    for text, want in cases:
        got = name_speakers(_turns((0, 5, "S1")), [_seg(0.5, 4, text)])
        assert [n.name for n in got] == ([want] if want else []), text
        if want:
            assert got[0].evidence[0].rule == "self-intro" and got[0].modality == "speech"


def test_a_spoken_name_spelled_as_no_known_name_names_nobody_but_the_screen_still_does():
    """Whisper wrote "Shalee" for Shelby (twice: the mishearing repeats): no given name of any list is spelled so."""
    from vidgraph.tools.given_names import is_given_name

    assert is_given_name("Shelby") and is_given_name("Anna-Lena") and not is_given_name("Shalee")
    assert is_given_name("Okafor", family=True) and not is_given_name("Okafor")
    turns = _turns((0, 5, "S1"), (5.5, 9, "S2"))
    segs = [_seg(0.5, 4.8, "I'm Shalee, by the way. Shalee, what about you?"), _seg(5.6, 8, "I agree.")]
    assert name_speakers(turns, segs) == []
    assert [n.name for n in name_speakers(turns, [_seg(0.5, 4.8, "I'm Shelby, by the way.")])] == ["Shelby"]
    assert [n.name for n in name_speakers(turns, [_seg(0.5, 4.8, "I'm Dr. Okafor, by the way.")])] == ["Okafor"]
    caption = TextLine(video_id=V, span=Span(start=0.5, end=4.5), text="SHALEE NOVAK", score=0.9,
                       box=(0.2, 0.8, 0.8, 0.9))
    assert [n.name for n in name_speakers(turns, segs, [caption])] == ["Shalee Novak"]


def test_addressed_by_name_names_the_next_speaker_weakly_and_the_screen_confirms():
    turns = _turns((0, 5, "S1"), (5.5, 9, "S2"))
    segs = [_seg(0.5, 4.8, "That is fine. What do you think, Anna?"), _seg(5.6, 8, "I agree completely.")]
    assert name_speakers(turns, segs) == []  # addressed once: too weak alone
    named, = name_speakers(turns, segs, min_confidence=0.3)
    assert (named.speaker, named.name, named.confidence, named.evidence[0].rule) == ("S2", "Anna", 0.3, "addressed")
    lower = TextLine(video_id=V, span=Span(start=6, end=8.5), text="ANNA BERG, Engineer", score=0.9,
                     box=(0.2, 0.8, 0.8, 0.9))
    named, = name_speakers(turns, segs, [lower])
    assert (named.name, named.confidence, [e.rule for e in named.evidence]) == ("Anna Berg", 0.86,
                                                                                 ["on-screen", "addressed"])
    top = TextLine(video_id=V, span=Span(start=6, end=8.5), text="Anna Berg", score=0.9, box=(0.2, 0.1, 0.8, 0.2))
    assert caption_name(top) is None  # a title at the top is not a lower third
    assert [caption_name(TextLine(video_id=V, span=Span(start=0, end=1), text=t, score=1, box=(0, 0.8, 1, 0.9)))
            for t in ("Dr. Anna Berg | CEO", "Product Manager", "BREAKING NEWS", "Invoice No. 4821-B")] == \
        ["Anna Berg", None, None, None]


def test_a_spoken_name_heard_otherwise_the_second_time_names_nobody():
    """The names stage hears each place a rule reads a name again: a name both hearings spell alike names its
    speaker; one heard otherwise names nobody, and no weaker name takes its place; the screen needs no hearing."""
    turns = _turns((0, 5, "S1"), (5.5, 9, "S2"), (9.5, 14, "S1"))
    segs = [_seg(0.5, 4.8, "Hi, I'm Udo. I run the kitchen.", words=True),
            _seg(5.6, 8.8, "Thanks. So what do you think, Boris?", words=True),
            _seg(9.6, 13, "It is fine.", words=True),
            _seg(5.6, 5.61, "")]
    places = said_names(segs)
    assert [name for _, name in places] == ["Udo", "Boris"] and places[0][1] == "Udo"
    (intro, _), (asked, _) = places
    assert 0.5 < intro.start < intro.end <= 2.5 and asked.start >= 7.5  # "I'm Udo"; "Boris"
    once = name_speakers(turns, segs, min_confidence=0.5)
    assert [(n.speaker, n.name) for n in once] == [("S1", "Udo")]  # Boris: addressed once (0.3)
    def again(text: str) -> list[HeardAgain]:
        return [HeardAgain(video_id=V, span=intro, name="Udo", text=text)]

    assert [n.name for n in name_speakers(turns, segs, heard=again("Hi, I'm Udo. I run the..."))] == ["Udo"]
    assert name_speakers(turns, segs, heard=again("Hi, I'm Hugo, I run the kid.")) == []
    assert name_speakers(turns, segs, min_confidence=0.3, heard=again("Hi, I'm Hugo.")) == []  # not Boris either
    other = [HeardAgain(video_id=V, span=Span(start=20, end=21), name="Udo", text="Hugo")]
    assert [n.name for n in name_speakers(turns, segs, heard=other)] == ["Udo"]  # another place: not this one
    caption = TextLine(video_id=V, span=Span(start=0.5, end=4.5), text="UDO KELLER", score=0.9,
                       box=(0.2, 0.8, 0.8, 0.9))
    assert [n.name for n in name_speakers(turns, segs, [caption], heard=again("I'm Hugo"))] == ["Udo Keller"]


def test_a_name_claimed_by_two_speakers_goes_to_the_stronger_claim_and_ties_give_none():
    turns = _turns((0, 4, "S1"), (5, 9, "S2"), (10, 14, "S3"))
    segs = [_seg(0.5, 3, "Hi, I'm Maria."), _seg(5.5, 8, "Over to you, Maria."), _seg(10.5, 13, "Sure thing.")]
    got = name_speakers(turns, segs, min_confidence=0.3)
    assert [(n.speaker, n.name) for n in got] == [("S1", "Maria")]  # S3 is only addressed: the weaker claim
    assert name_speakers(turns, [_seg(0.5, 3, "I'm Maria. I'm Paul.")]) == []  # two names, equally strong
    assert name_speakers(turns, []) == [] and name_speakers([], segs) == []


def test_link_speakers_pairs_other_videos_only_with_enough_speech():
    import numpy as np

    rng = np.random.default_rng(0)
    base = rng.normal(size=256)

    def voice(video: str, k: str, vec, seconds: float = 30.0) -> Speaker:
        vec = vec / np.linalg.norm(vec)
        return Speaker(video_id=video, speaker=k, talk_seconds=seconds, turns=3, embedding=tuple(map(float, vec)))

    a, b = voice("a", "S1", base), voice("b", "S2", base + 0.1 * rng.normal(size=256))
    same_video = voice("a", "S2", base + 0.05 * rng.normal(size=256))
    short = voice("c", "S1", base, seconds=4.0)
    other = voice("c", "S2", rng.normal(size=256))
    links = link_speakers([a, b, same_video, short, other], threshold=0.85)
    assert {frozenset((lk.a.video_id, lk.b.video_id)) for lk in links} == {frozenset("ab")} and len(links) == 2
    assert links[0].similarity >= links[1].similarity >= 0.85


def test_a_long_talk_is_clustered_block_by_block_and_keeps_its_speakers(monkeypatch):
    """Past a block of pieces, average linkage runs on one block at a time and then on the blocks' clusters (never
    on every piece at once: n² distances, 1.2 GB for a 10-hour talk), and finds the speakers one block finds."""
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    from vidgraph.tools import diarize as dz

    rng = np.random.default_rng(1)
    who = rng.integers(0, 3, 900)
    emb = dz.l2n(dz.l2n(rng.normal(size=(3, 256)))[who] + 0.025 * rng.normal(size=(900, 256)))
    sizes: list[int] = []
    fit = AgglomerativeClustering.fit_predict
    monkeypatch.setattr(AgglomerativeClustering, "fit_predict", lambda self, x: sizes.append(len(x)) or fit(self, x))
    blocked = dz._ahc(emb, 0.15, block=200)
    assert len(sizes) >= 6 and max(sizes) <= 200
    whole = dz._ahc(emb, 0.15, block=10**6)
    assert sizes[-1] == 900
    cfg = dz.DiarizerConfig()
    for labels in (blocked, whole):
        assert all(len(set(who[labels == k])) == 1 for k in np.unique(labels))  # no cluster mixes two voices
        final = dz.cleanup_clusters(emb, labels, np.full(len(emb), 3.0), cfg)
        assert len(np.unique(final)) == 3 and all(len(set(who[final == k])) == 1 for k in np.unique(final))


def test_speech_past_the_duration_a_file_reports_is_labelled_too():
    """Ten hours of concatenated clips: the audio outlasts the container's duration by a second; the last region's
    frames are labelled (the 10-hour benchmark failed here: an array of 467 frames into a slice of 371)."""
    import numpy as np

    from vidgraph.tools import diarize as dz

    rng = np.random.default_rng(2)
    voices = dz.l2n(rng.normal(size=(2, 256)))
    regions = [(0.0, 4.0), (4.5, 10.7)]
    win_t = np.array([(a, a + 1.6) for r in regions for a in np.arange(r[0], r[1] - 1.6, 0.4)])
    win_region = np.array([0 if a < 4.0 else 1 for a, _ in win_t])
    emb = dz.l2n(voices[win_region] + 0.02 * rng.normal(size=(len(win_t), 256))).astype(np.float32)
    result = dz.cluster(dz.Features(10.0, regions, win_t, win_region, emb), dz.DiarizerConfig(min_cluster_s=1.0))
    assert result.n_speakers == 2 and result.turns[-1][1] >= 10.6


def test_speaker_records_round_trip_through_json():
    name = SpeakerName(video_id=V, speaker="S1", name="Anna", confidence=0.8, source="x",
                       evidence=(NameEvidence(span=Span(start=1, end=2), modality="speech", text="I'm Anna.",
                                              rule="self-intro", weight=0.8),))
    for record in (name, Speaker(video_id=V, speaker="S1", talk_seconds=3.5, turns=2, embedding=(0.1, 0.2)),
                   SpeakerTurn(video_id=V, span=Span(start=0, end=1), speaker="S1")):
        assert record_from_dict(json.loads(json.dumps(record.to_dict()))) == record
    assert name.evidence_span == Span(start=1, end=2) and name.modality == "speech"
