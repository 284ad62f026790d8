"""The own evaluation set (eval/ownset.py, eval/data/own.jsonl): well-formed, and what the generator writes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from vidgraph.eval import ownset, synth
from vidgraph.eval.questions import duration_bucket, read_questions
from vidgraph.records import LETTERS

COMMITTED = Path(ownset.__file__).parent / "data" / "own.jsonl"
MINIMUM = {"count": 12, "order": 10, "grounding": 10, "cross_modal": 8, "which_video": 6, "unanswerable": 10,
           "needle_long": 8, "needle_text": 1, "needle_speech": 1}
ABSTAIN_WORDS = ("not", "no", "never")


@pytest.fixture(scope="module")
def committed():
    return read_questions(COMMITTED)


def _durations(questions) -> dict[str, float]:
    out = dict(ownset.REAL_CLIPS)
    out.update({q.video: q.duration for q in questions if q.video})
    return out


def test_committed_set_is_well_formed(committed):
    ids = [q.id for q in committed]
    assert len(ids) == len(set(ids)) and 80 <= len(ids) <= 110
    kinds = {k: sum(q.kind == k for q in committed) for k in ownset.KINDS}
    assert set(q.kind for q in committed) == set(ownset.KINDS)
    assert all(kinds[k] >= n for k, n in MINIMUM.items()), kinds
    durations = _durations(committed)
    for q in committed:
        assert q.benchmark == "own" and q.question.strip().endswith(("?", "."))
        assert q.duration_bucket == duration_bucket(q.duration)
        if q.options:
            assert 2 <= len(q.options) <= 5 and len(set(q.options)) == len(q.options)
            assert q.answer in LETTERS[: len(q.options)], q.id
        if not q.answerable:
            assert q.kind == "unanswerable" and not q.evidence, q.id
            if q.options:  # the right letter is the option that says the video does not show or say it
                assert any(w in q.answer_text.lower().split() for w in ABSTAIN_WORDS), q.id
            else:
                assert q.answer is None, q.id
            continue
        assert q.kind != "unanswerable" and q.evidence, q.id
        if q.kind == "grounding":
            assert q.answer is None and not q.options, q.id
        else:
            assert q.answer, q.id
            if not q.options:
                assert len(q.answer.split()) <= 4, q.id  # short open answers: the scorer matches words
        if not q.video:
            videos = q.extra["videos"]
            assert q.extra["evidence_video"] in videos and len(videos) >= 2, q.id
            assert q.duration == pytest.approx(sum(durations[v] for v in videos), abs=0.01)
        video = q.video or q.extra["evidence_video"]
        for a, b in q.evidence:
            assert 0 <= a < b <= durations[video] + 0.05, (q.id, a, b)


def test_counts_match_their_evidence(committed):
    """A count whose evidence lists the occurrences answers with how many there are."""
    for q in committed:
        if q.kind == "count" and len(q.evidence) > 1:
            assert q.answer == str(len(q.evidence)), q.id


def test_interleave_puts_every_kind_first(committed):
    assert {q.kind for q in committed[: len(ownset.KINDS)]} == set(ownset.KINDS)


def test_long_answers_come_from_the_haystack_plan(committed):
    from vidgraph.eval.haystack_plan import plan

    values = {n.value for n in plan(ownset.LONG_MINUTES, ownset.LONG_SEED).needles}
    long = [q for q in committed if q.video == "haystack-01.mp4"]
    assert len(long) >= 8 and all(q.duration == pytest.approx(ownset.LONG_MINUTES * 60) for q in long)
    for q in long:
        if q.kind in ("needle_long", "count"):
            assert q.answer in values or q.kind == "count", q.id


@pytest.fixture(scope="module")
def truths(tmp_path_factory):
    """The short videos' truths as ``make_video`` returns them, with ffmpeg skipped (speech still measured)."""
    if shutil.which("espeak-ng") is None or shutil.which("ffmpeg") is None:
        pytest.skip("espeak-ng and ffmpeg are needed")
    run = subprocess.run

    def no_ffmpeg(cmd, *args, **kwargs):
        return None if cmd[0] == "ffmpeg" else run(cmd, *args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(synth.subprocess, "run", no_ffmpeg)
    try:
        return ownset.render_small(tmp_path_factory.mktemp("own"))
    finally:
        mp.undo()


@pytest.mark.slow
def test_committed_set_is_what_the_generator_writes(committed, truths):
    fresh = {q.id: q for q in ownset.small_questions(truths)}
    mine = {q.id: q for q in committed if q.video != "haystack-01.mp4"}
    assert sorted(fresh) == sorted(mine)
    for qid, q in fresh.items():  # compared as written (JSON turns tuples into lists)
        assert json.loads(json.dumps(q.to_dict())) == mine[qid].to_dict(), qid


@pytest.mark.slow
def test_generated_evidence_is_in_the_truth(committed, truths):
    """Every span about a generated video is a measured utterance, a drawn text, a photo or a shot of its truth."""
    for q in committed:
        video = q.video or q.extra.get("evidence_video", "")
        t = truths.get(video)
        if t is None:
            continue
        known = {(a, b) for a, b, _ in t.speech + t.texts + t.objects} | set(ownset.shots(t))
        for span in q.evidence:
            assert tuple(span) in known, (q.id, span)
        if q.kind == "count" and q.id.endswith(("-stir", "-sayb", "-correct")):  # spoken counts: every occurrence
            word = {"stir": "stir", "sayb": "bus", "correct": "correct"}[q.id.rsplit("-", 1)[1]]
            assert int(q.answer) == sum(ownset._words(s) == word for _, _, s in t.speech), q.id
