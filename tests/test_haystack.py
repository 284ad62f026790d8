"""The haystack generator: seeded layout, needles where the truth says, and the real tools find them there."""

from __future__ import annotations

import re

import pytest

from vidgraph.errors import ConfigError
from vidgraph.eval import haystack, haystack_plan
from vidgraph.eval.haystack import NEEDLE_KINDS, QUESTION_KINDS, RETRIEVAL_KINDS, Haystack
from conftest import make_settings


@pytest.fixture(scope="session")
def hay() -> Haystack:
    return haystack.haystack_fixture(minutes=1.5, seed=7)


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return min(a[1], b[1]) > max(a[0], b[0])


def test_plan_is_seeded():
    a, b, c = haystack.plan(10, seed=3), haystack.plan(10, seed=3), haystack.plan(10, seed=4)
    assert [(n.id, n.value, n.scenes) for n in a.needles] == [(n.id, n.value, n.scenes) for n in b.needles]
    assert [n.value for n in a.needles] != [n.value for n in c.needles]
    assert {n.kind for n in a.needles} == set(NEEDLE_KINDS)
    assert len([n for n in a.needles if n.kind == "speech_number"]) == 2  # one per 5 minutes


def test_bad_sizes_are_refused():
    with pytest.raises(ConfigError, match="too short"):
        haystack.plan(0.5, seed=0)
    with pytest.raises(ConfigError, match="1 to 5 videos"):
        haystack.plan(5, seed=0, videos=6)


def test_same_seed_same_json(hay, tmp_path):
    again = haystack.make_haystack(tmp_path, minutes=1.5, seed=7)
    assert again.to_json() == hay.to_json()
    assert Haystack.load(tmp_path) == again


@pytest.mark.slow
def test_existing_haystack_is_reused(tmp_path):
    first = haystack.make_haystack(tmp_path, minutes=1.5, seed=1)
    mtime = (tmp_path / first.name(0)).stat().st_mtime_ns
    assert haystack.make_haystack(tmp_path, minutes=1.5, seed=1) == first
    assert (tmp_path / first.name(0)).stat().st_mtime_ns == mtime
    other = haystack.make_haystack(tmp_path, minutes=1.5, seed=2)  # other parameters: rebuilt in place
    assert other.params["seed"] == 2 and other.needles != first.needles


def test_needles_inside_the_video_and_apart(hay):
    duration = hay.durations[0]
    assert duration == pytest.approx(90.0)
    assert {n.kind for n in hay.needles} == set(NEEDLE_KINDS)
    spans = [(s, n.id) for n in hay.needles for s in n.spans]
    for (a, b), _ in spans:
        assert 0 <= a < b <= duration
    for i, (s, x) in enumerate(spans):  # every occurrence has a scene of its own
        for t, y in spans[i + 1:]:
            assert not _overlap(s, t), (x, s, y, t)
    cuts = [0.0, *hay.truths[0].cuts, duration]
    scene = lambda t: max(i for i, c in enumerate(cuts) if c <= t)  # noqa: E731
    assert len({scene(s[0]) for s, _ in spans}) == len(spans)
    for n in hay.needles:
        assert list(n.spans) == sorted(n.spans) and len(n.texts) == len(n.modalities) == len(n.spans)
        if n.kind == "object_twice":
            assert n.modalities == ("picture", "picture")
            assert scene(n.spans[1][0]) - scene(n.spans[0][0]) >= (len(cuts) - 1) // 3  # far apart
            assert all(s in [tuple(o[:2]) for o in hay.truths[0].objects if o[2] == "bus"] for s in n.spans)
        if n.kind == "name_cross":
            assert sorted(n.modalities) == ["speech", "text"] and all(n.value in t for t in n.texts)
        if n.kind == "speech_number":
            assert n.texts[0].endswith(f" is {n.value}.") and [n.spans[0][0], n.spans[0][1], n.texts[0]] in \
                hay.truths[0].speech
        if n.kind == "text_code":
            assert n.texts[0].splitlines()[1] == n.value and re.fullmatch(r"[A-Z]{2}-\d{4}", n.value)
        if n.kind == "text_repeat":
            assert len(n.spans) >= 2 and set(n.texts) == {n.value}


def test_queries_reference_needles(hay):
    ids = {n.id: n for n in hay.needles}
    kinds = {q.kind for q in hay.queries}
    assert set(NEEDLE_KINDS) <= kinds and set(QUESTION_KINDS) - {"multi_video"} <= kinds
    retrieval = hay.retrieval_queries()
    assert [q.needles[0] for q in retrieval if q.kind in NEEDLE_KINDS] == [n.id for n in hay.needles]
    assert {q.kind for q in retrieval} == set(RETRIEVAL_KINDS)
    said = " ".join(s[2] for s in hay.truths[0].speech).lower()
    shown = " ".join(t[2] for t in hay.truths[0].texts).lower()
    for q in hay.queries:
        if q.answerable:
            assert q.needles and all(i in ids for i in q.needles), q
            needle_spans = {s for i in q.needles for s in ids[i].spans}
            assert q.spans and set(q.spans) <= needle_spans, q
            assert q.video == hay.name(0)
            if q.options:
                assert q.answer in q.options
        else:
            assert q.kind == "unanswerable" and not q.needles and not q.spans and q.answer is None
            subject = re.sub(r"^(what is the|who is|where is the) | shown$", "", q.text.lower().rstrip("?"))
            assert subject and subject not in said and subject not in shown, q.text


def test_multi_video_haystack_plan():
    layout = haystack.plan(5, seed=2, videos=3)
    values = [n.value for n in layout.needles if n.kind != "text_repeat"]
    assert len(values) == len(set(values))  # a value is planted in one video only
    assert sum(n.kind == "object_twice" for n in layout.needles) == 1
    assert {n.video for n in layout.needles} == {0, 1, 2}
    big = haystack.plan(60, seed=1)
    for p in (layout, big):  # every question by role, subject or label has one answer
        abouts = [n.about for n in p.needles]
        assert len(abouts) == len(set(abouts))


@pytest.mark.slow
def test_multi_video_haystack(tmp_path):
    hay = haystack.make_haystack(tmp_path, minutes=1.5, seed=3, videos=2)
    assert [p.split("/")[-1] for p in hay.videos] == ["haystack-01.mp4", "haystack-02.mp4"]
    multi = [q for q in hay.queries if q.kind == "multi_video"]
    assert len(multi) == 2 and {q.answer for q in multi} == {hay.name(0), hay.name(1)}
    for q in multi:
        assert hay.needle(q.needles[0]).video == q.answer and q.options == (hay.name(0), hay.name(1))


def test_normalize_and_expected(hay):
    assert haystack.normalize("The Locker code is 4,729.") == "the locker code is 4729"
    assert haystack.normalize("XK-4217 / 4-7-2-9") == "xk-4217 4729"
    n = next(n for n in hay.needles if n.kind == "speech_number")
    assert hay.expected(n, 0) == f"{n.about.removeprefix('the ')} is {n.value}"
    n = next(n for n in hay.needles if n.kind == "text_code")
    assert hay.expected(n, 0) == n.value.lower()


def test_pools_do_not_overlap():
    """A needle's subject, label or role shares no word with a decoy or filler, so every question has one answer."""
    generic = {"number", "code", "combination", "of"}
    words = lambda phrases: {w for p in phrases for w in p.lower().split()} - generic  # noqa: E731
    needle_words = words(haystack_plan.SUBJECTS) | words(haystack_plan.LABELS) | words(haystack_plan.ROLES)
    filler = words(haystack_plan.DECOY_SUBJECTS) | words(haystack_plan._THINGS) | words(haystack_plan._PLACES) | \
        words(haystack_plan._CAPTION_WORDS) | words(haystack_plan._DECOY_PREFIX) | words(haystack_plan._BLAND)
    assert not needle_words & filler
    assert not words(haystack_plan.SUBJECTS) & words(haystack_plan.LABELS)
    assert not set(haystack_plan.NAMES) & set(haystack_plan.UNANSWERABLE_NAMES)


@pytest.mark.slow
@pytest.mark.numerics
def test_real_tools_find_the_needles(hay, tmp_path):
    """ASR says the number and the name, OCR reads the code, the name and the captions, detection sees the bus."""
    from vidgraph.eval.bench_memory import tool_recovery
    from vidgraph.library import Library
    from vidgraph.records import ObjectSpan

    library = Library(hay.root, index_dir=tmp_path / "index", settings=make_settings())
    assert library.index(["asr", "ocr", "detect"], progress=False, memory=False).ok
    found = tool_recovery(hay, library)
    assert found == {k: {"planted": v["planted"], "found": v["planted"]} for k, v in found.items()}, found
    assert sum(v["planted"] for v in found.values()) == sum(len(n.spans) for n in hay.needles)
    # the bus is seen only where it was planted
    planted = next(n for n in hay.needles if n.kind == "object_twice").spans
    bus = [o for o in library.records(hay.videos[0], "detect") if isinstance(o, ObjectSpan) and o.label == "bus"]
    assert bus and all(any(_overlap((o.span.start, o.span.end), s) for s in planted) for o in bus)


@pytest.mark.slow
@pytest.mark.numerics
def test_memory_benchmark_end_to_end(tmp_path):
    """The benchmark on a 1.5-minute haystack: tools, memory in a child process, queries, name merging."""
    import json

    from vidgraph.eval import bench_memory

    result = bench_memory.main(["--minutes", "1.5", "--seed", "7", "--work", str(tmp_path)])
    assert json.loads((tmp_path / "bench_memory-1.5min-s7-v1.json").read_text()) == json.loads(json.dumps(result))
    assert all(v["found"] == v["planted"] > 0 for v in result["tool_recovery"].values())
    run = result["runs"][0]
    assert "error" not in run and run["builds"][0]["events"] >= 10 and run["peak_mb"] > run["base_mb"] > 0
    assert set(run["summary"]) == {*haystack.RETRIEVAL_KINDS, "all needles"}
    assert run["summary"]["all needles"]["topk"] == 1.0  # every needle among the top 5 of ~13 events
    assert [m["merged"] for m in run["merges"]] == [True]
    unanswerable = [q for q in run["queries"] if q["kind"] == "unanswerable"]
    assert len(unanswerable) == 4 and all(q["rank"] is None for q in unanswerable)
