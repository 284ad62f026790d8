"""Memory: events from records, the entity reduce, the graph, captioning with a scripted model, retrieval."""

from __future__ import annotations

from dataclasses import replace

import pytest

from vidgraph.memory.entities import reduce_entities
from vidgraph.memory.events import build_events, clip_spans, overlap_edges
from vidgraph.memory.graph import Graph
from vidgraph.models.testing import ScriptedModel
from vidgraph.records import Frame, ObjectSpan, Shot, Span, TextLine, TranscriptSegment, Word
from conftest import make_settings

VID = "f" * 32


def _seg(start: float, end: float, text: str, timed: bool = True) -> TranscriptSegment:
    words = ()
    if timed:
        parts = text.split()
        step = (end - start) / len(parts)
        words = tuple(Word(span=Span(start + i * step, start + (i + 1) * step), text=w) for i, w in enumerate(parts))
    return TranscriptSegment(video_id=VID, span=Span(start, end), text=text, words=words, source="asr@1")


def _line(start: float, end: float, text: str) -> TextLine:
    return TextLine(video_id=VID, span=Span(start, end), text=text, score=0.9, box=(0.1, 0.1, 0.9, 0.2), source="ocr@1")


def _records():
    shots = [Shot(video_id=VID, index=i, span=Span(a, b), source="scan@1")
             for i, (a, b) in enumerate([(0, 10), (10, 75), (75, 90)])]
    keys = [Frame(video_id=VID, t=t, path=f"/k{t}.jpg", width=4, height=4, kind="key") for t in (0, 10, 40, 75)]
    speech = [_seg(1, 4, "Welcome to the plant tour."),
              _seg(8.8, 12.8, "My name is Marta Kowalski and I run it."),  # crosses the cut at 10 s
              _seg(20, 24, "The locker code is 4729."),
              _seg(80, 84, "Kowalski will show you the bus.", timed=False)]
    text = [_line(12, 18, "MARTA KOWALSKI"), _line(50, 55, "GATE XK-4217"), _line(50, 55, "GATE XK-4217")]
    objects = [ObjectSpan(video_id=VID, label="bus", span=Span(33, 36), max_count=1, score=0.8),
               ObjectSpan(video_id=VID, label="bus", span=Span(82, 88), max_count=2, score=0.9)]
    return {"scan": shots + keys, "asr": speech, "ocr": text, "detect": objects}


def test_clip_spans_are_bounded_and_cover_the_shot():
    parts = clip_spans(Span(10, 75), 30)
    assert len(parts) == 3 and parts[0].start == 10 and parts[-1].end == 75
    assert all(p.duration <= 30 for p in parts)
    assert clip_spans(Span(0, 5), 30) == [Span(0, 5)]


def test_events_keep_modalities_apart_and_cut_speech_by_word_time():
    events = build_events(VID, 90, _records(), max_seconds=30)
    assert [(e.span.start, e.span.end, e.shot_index) for e in events] == [
        (0, 10, 0), (10, 31.667, 1), (31.667, 53.333, 1), (53.333, 75, 1), (75, 90, 2)]
    first, second = events[0], events[1]
    # the sentence crossing the cut is split by its words' times
    assert "Marta" not in first.evidence()["speech"] and "Marta Kowalski" in second.evidence()["speech"]
    assert first.evidence()["speech"].endswith("name is")
    assert second.speech[-1].words and all(10 <= w.span.middle < 31.667 for s in second.speech for w in s.words)
    assert "4729" in second.evidence()["speech"] and "MARTA KOWALSKI" in second.evidence()["text"]
    assert events[2].evidence()["objects"] == "bus" and events[2].evidence()["text"] == "GATE XK-4217 | GATE XK-4217"
    assert "Kowalski will show" in events[4].evidence()["speech"] and events[4].evidence()["objects"] == "bus x2"
    assert events[1].keyframes == (10,) and events[2].keyframes == (40,)
    assert events[1].document().splitlines() == [
        "Speech: Marta Kowalski and I run it. The locker code is 4729.", "On-screen text: MARTA KOWALSKI"]
    assert (0, 1) in overlap_edges(events, _records())


def test_events_without_shots_cover_the_video():
    events = build_events(VID, 12.0, {"scan": []}, max_seconds=30)
    assert len(events) == 1 and events[0].span == Span(0, 12.0)


def test_reduce_merges_a_name_said_and_shown_and_a_surname_later():
    events = build_events(VID, 90, _records(), max_seconds=30)
    entities, events = reduce_entities(VID, events)
    by_key = {e.key: e for e in entities}
    marta = by_key["marta kowalski"]
    assert marta.name == "Marta Kowalski" and marta.kind == "name"
    assert {m.modality for m in marta.mentions} == {"speech", "text"}
    assert {m.event_index for m in marta.mentions} == {1, 4}  # said + shown in event 1, surname in event 4
    assert "kowalski" not in by_key
    assert by_key["xk4217"].kind == "code" and by_key["xk4217"].name == "XK-4217"
    assert by_key["4729"].kind == "number"
    bus = by_key["bus"]
    assert bus.kind == "object" and sorted({m.event_index for m in bus.mentions}) == [2, 4]
    assert "marta kowalski" in events[4].entities and "bus" in events[4].entities


def test_reduce_merges_spelling_variants_and_an_llm_alias_map():
    records = _records()
    records["ocr"].append(_line(60, 62, "MARTA KOWALSKA"))
    records["asr"].append(_seg(86, 88, "The red coach is parked."))
    events = build_events(VID, 90, records, max_seconds=30)
    entities, _ = reduce_entities(VID, events, aliases={"red coach": "bus"})
    keys = {e.key for e in entities}
    assert "marta kowalska" not in keys and "marta kowalski" in keys
    assert "Marta Kowalska" in next(e for e in entities if e.key == "marta kowalski").aliases or \
        "MARTA KOWALSKA" in next(e for e in entities if e.key == "marta kowalski").aliases


def test_graph_round_trip_edges_and_incremental_replace(tmp_path):
    events = build_events(VID, 90, _records(), max_seconds=30)
    entities, events = reduce_entities(VID, events)
    graph = Graph(tmp_path / "g.sqlite")
    graph.replace_video(VID, events, entities, overlap_edges(events, _records()), "fp1", 0.1, 0.0)
    other = "e" * 32
    graph.replace_video(other, [replace(e, video_id=other) for e in events[:2]],
                        [replace(x, video_id=other) for x in entities if x.key == "marta kowalski"], [], "fp2", 0.1,
                        0.0)
    assert graph.events(VID) == events and graph.fingerprint(VID) == "fp1"
    assert (2, "next") in graph.neighbours(VID, 1) and (0, "previous") in graph.neighbours(VID, 1)
    assert (0, "overlaps") in graph.neighbours(VID, 1)
    assert set(graph.same_entity("marta kowalski")) == {(VID, 1), (VID, 4), (other, 1), (other, 4)}
    assert graph.same_entity("marta kowalski", [other]) == [(other, 1), (other, 4)]
    assert [e.index for e in graph.events(VID, 40, 60)] == [2, 3]
    keys = [(VID, 1), (other, 0), (VID, 99), (VID, 2)]  # many at once, as one at a time
    assert graph.events_at(keys) == {k: graph.event(*k) for k in keys if graph.event(*k) is not None}
    pairs = [("marta kowalski", VID), ("marta kowalski", other), ("nobody", VID)]
    assert graph.entity_events(pairs) == {p: graph.same_entity(p[0], [p[1]]) for p in pairs[:2]}
    before = graph.generation()
    graph.delete_video(VID)
    assert graph.generation() == before + 1
    assert graph.events(VID) == [] and graph.video_ids() == [other] and len(graph.events(other)) == 2


def Scripted(replies: list[str]) -> ScriptedModel:
    """The shipped scripted model: replies from a list, every call kept (without constrained decoding)."""
    return ScriptedModel(list(replies), native_schema=False)


def test_captioning_maps_every_clip_caches_and_reduces_names(tmp_path):
    from vidgraph.memory.caption import caption_events, reduce_names

    events = build_events(VID, 90, _records(), max_seconds=30)[:2]
    graph = Graph(tmp_path / "g.sqlite")
    model = Scripted(['{"caption": "A woman greets visitors.", "entities": ["Marta"]}',
                      '{"caption": "Marta Kowalski gives a code.", "entities": ["Marta Kowalski", "locker"]}'])
    captioned, usage = caption_events(events, model, graph, concurrency=1)
    assert [e.caption.text for e in captioned] == ["A woman greets visitors.", "Marta Kowalski gives a code."]
    assert usage.calls == 2 and captioned[1].caption.entities == ("Marta Kowalski", "locker")
    # speech is quoted as data in the prompt
    assert "Said: <<<Marta Kowalski and I run it." in model.calls[1].messages[1].text()
    again, usage = caption_events(events, Scripted([]), graph, concurrency=1)  # cached: no calls
    assert usage.calls == 0 and [e.caption for e in again] == [e.caption for e in captioned]
    reducer = Scripted(['{"groups": [{"name": "Marta Kowalski", "aliases": ["Marta", "Ms Kowalski"]}]}'])
    aliases, _ = reduce_names(["Marta", "Marta Kowalski", "locker"], reducer)
    assert aliases == {"Marta": "Marta Kowalski", "Marta Kowalski": "Marta Kowalski"}


def test_a_clip_the_model_cannot_caption_keeps_its_evidence(tmp_path):
    from vidgraph.errors import ModelError
    from vidgraph.memory.caption import caption_events

    events = build_events(VID, 90, _records(), max_seconds=30)[:2]
    model = Scripted(['{"caption": "A tour starts.", "entities": []}', "cut off {", "still cut off"])
    captioned, usage = caption_events(events, model, Graph(tmp_path / "g.sqlite"), concurrency=1)
    assert captioned[0].caption.text == "A tour starts." and captioned[1].caption is None
    assert captioned[1].speech == events[1].speech and usage.calls == 1
    with pytest.raises(ModelError, match="could not caption any"):
        caption_events(events, Scripted(["x"] * 4), None, concurrency=1)


def test_implausible_llm_groups_are_rejected():
    from vidgraph.memory.caption import reduce_names

    reply = ('{"groups": [{"name": "Bay JR-8452", "aliases": ["Thomas Walker", "Rachel Morgan", "RACK UW-2542"]},'
             ' {"name": "Rachel Morgan", "aliases": ["Thomas Walker"]},'
             ' {"name": "Gate 17", "aliases": ["Gate 18"]},'
             ' {"name": "Thomas Walker", "aliases": ["Mr Walker", "the engineer"]}]}')
    names = ["Bay JR-8452", "Thomas Walker", "Rachel Morgan", "RACK UW-2542", "Gate 17", "Gate 18", "Mr Walker",
             "the engineer"]
    aliases, _ = reduce_names(names, Scripted([reply]))
    assert aliases == {"Thomas Walker": "Thomas Walker", "Mr Walker": "Thomas Walker",
                       "the engineer": "Thomas Walker"}


def test_a_failed_llm_reduce_loses_only_merges():
    from vidgraph.memory.caption import reduce_names

    aliases, usage = reduce_names(["a b", "c d"], Scripted(["not json", "still not"]))
    assert aliases == {} and usage.calls == 0


@pytest.fixture(scope="module")
def memory_library(tmp_path_factory, fixture_video):
    """The 60 s fixture indexed with the real tools and its memory built (no captions)."""
    import shutil

    from vidgraph.library import Library

    folder = tmp_path_factory.mktemp("memlib")
    shutil.copy(fixture_video, folder / "fixture.mp4")
    lib = Library(folder, settings=make_settings())
    report = lib.index(progress=False)
    assert report.ok, [r.error for r in report.failures]
    return lib


@pytest.mark.slow
def test_library_index_builds_memory_and_search_finds_planted_facts(memory_library, fixture_truth):
    lib = memory_library
    entry = lib.videos()[0]
    assert entry.stage("memory").status == "done"
    events = lib.memory.events(entry.video_id)
    assert len(events) == 6  # one per scene
    for start, end, sentence in fixture_truth.speech:  # a paraphrase-free but partial quote of each sentence
        query = " ".join(sentence.split()[1:7])
        hits = lib.memory.search(query, k=5)
        assert any(h.event.span.overlap(Span(start, end)) > 0 for h in hits), query
        assert hits[0].event.span.overlap(Span(start, end)) > 0, query
    for start, end, text in fixture_truth.texts:
        hits = lib.memory.search(text, k=5)
        assert hits[0].event.span.overlap(Span(start, end)) > 0, text
        assert any(r.startswith("keyword") for r in hits[0].reasons)
    bus = lib.memory.search("a bus in the street", k=3)
    assert bus[0].event.span.overlap(Span(30, 40)) > 0


@pytest.mark.slow
def test_memory_is_incremental_and_forgotten_with_its_video(memory_library):
    lib = memory_library
    entry = lib.videos()[0]
    before = lib.memory.graph.stats(entry.video_id)
    report = lib.index(progress=False)  # nothing changed: nothing rebuilt
    assert all(s.stage != "memory" or not s.ran for r in report.results for s in r.stages)
    assert lib.memory.graph.stats(entry.video_id)["built"] == before["built"]
    lib.forget(entry.path)
    assert lib.memory.events(entry.video_id) == [] and lib.memory.search("bus", k=3) == []
    assert lib.memory.vectors.count("events", entry.video_id) == 0


REAL_QUERIES = [  # (file, query, span that answers it), checked by eye on the clips' transcripts and frames
    ("cc_wanna_work_together.mp4", "who is the narrator", (156, 180)),
    ("cc_wanna_work_together.mp4", "will you allow commercial uses of your work", (108, 131)),
    ("cc_wanna_work_together.mp4", "copyright protects your creativity against uses you don't consent to", (56, 83)),
    ("cc_wanna_work_together.mp4", "creativecommons.org website", (84, 180)),
    ("cc_wanna_work_together.mp4", "the teacher who shapes young minds", (0, 27)),
    ("janus_ChID-BLITS-EBU.mp4", "bit rate of the audio codec", (24, 46)),
    ("janus_ChID-BLITS-EBU.mp4", "spoken channel identification", (0, 23)),
    ("moviepy_big_buck_bunny_0_30.webm", "Peach open movie project", (16, 23)),
    ("moviepy_big_buck_bunny_0_30.webm", "a bird", (16, 23)),
    ("autoeditor_example.mp4", "when does he say banana", (21, 42)),
    ("autoeditor_example.mp4", "the time is shown at the bottom right", (0, 21)),
    ("opencv_vtest.avi", "pedestrians and a car", (0, 80)),
]


@pytest.mark.slow
@pytest.mark.numerics
def test_retrieval_on_real_media(tmp_path):
    """Every real clip indexed together; each query must find its moment (right file, overlapping span) in the
    top 5 across all five videos, and at least 90% at rank 1."""
    from conftest import MEDIA

    from vidgraph.library import Library

    folder = tmp_path / "real"
    folder.mkdir()
    for name in {q[0] for q in REAL_QUERIES}:
        (folder / name).symlink_to(MEDIA / name)
    lib = Library(folder, settings=make_settings())
    assert lib.index(progress=False).ok
    ids = {e.name: e.video_id for e in lib.videos()}
    ranks = []
    for name, query, (a, b) in REAL_QUERIES:
        hits = lib.memory.search(query, k=5)
        ok = [h.video_id == ids[name] and h.event.span.overlap(Span(a, b)) > 0 for h in hits]
        ranks.append(ok.index(True) + 1 if any(ok) else None)
    print(f"real media: top-1 {ranks.count(1)}/{len(ranks)}, top-5 {sum(r is not None for r in ranks)}/{len(ranks)}")
    assert all(r is not None for r in ranks), list(zip([q[1] for q in REAL_QUERIES], ranks))
    assert ranks.count(1) >= 0.9 * len(ranks)


def test_names_that_differ_by_a_number_stay_apart():
    from vidgraph.memory.entities import _merge_similar, mentions_in

    found = [f for t in ("Harbor Day 1", "Harbor Day 13", "Harbor Day 11") for f in mentions_in(t, "speech", 0, Span(0, 1))]
    groups: dict = {}
    for f in found:
        groups.setdefault(f.key, []).append(f)
    assert len(_merge_similar(groups, 0.88)) == len(groups)


def test_a_search_again_is_answered_from_what_the_memory_holds_now(tmp_path):
    """Searches are kept for the same search again, until the memory changes, in this process or another
    (two Memory objects on one index stand for two processes)."""
    from vidgraph.memory import Memory

    settings = make_settings()
    server, indexer = Memory(tmp_path / "m", settings), Memory(tmp_path / "m", settings)
    indexer.build(VID, 90, _records(), fingerprint="a", caption=False)
    first = server.search("locker code", k=3)
    assert "4729" in str(first[0].event.evidence())
    assert server.search("locker code", k=3) == first  # kept
    changed = _records()
    changed["asr"] = [s if "locker" not in s.text else _seg(20, 24, "The locker code is 5150.") for s in changed["asr"]]
    indexer.build(VID, 90, changed, fingerprint="b", caption=False)
    again = server.search("locker code", k=3)
    assert "5150" in str(again[0].event.evidence()) and "4729" not in str(again[0].event.evidence())
    indexer.drop(VID)
    assert server.search("locker code", k=3) == []


def test_vector_hits_read_their_docs_from_the_keyword_index_as_from_the_store(tmp_path):
    from vidgraph.memory import Memory

    memory = Memory(tmp_path / "m", make_settings())
    memory.build(VID, 90, _records(), fingerprint="a", caption=False)
    for coll in ("events", "speech", "text", "entities"):
        full = memory.vectors.query(coll, "Marta's locker code", k=5)
        bare = memory.vectors.query(coll, "Marta's locker code", k=5, fields=False)
        assert [(h.id, h.similarity) for h in bare] == [(h.id, h.similarity) for h in full] and full
        assert all(not h.text and not h.meta for h in bare)
        ids = [h.id for h in full]
        for docs in (memory.keywords.docs(coll, ids), memory.vectors.docs(coll, ids)):
            assert set(docs) == set(ids) and all(docs[h.id][0] == h.text for h in full)
            assert all(docs[h.id][1] == pytest.approx(h.meta) for h in full)  # the store's floats lose a last digit


def test_a_search_of_every_video_asks_the_vector_store_without_a_filter(tmp_path):
    """A filter naming every video costs Chroma ~100x the search itself: ``Memory.scope`` drops it, and the query
    tools' nearest docs (``Memory.nearest``) go through it as the search does."""
    import dataclasses

    from vidgraph.memory import Memory

    other = "e" * 32
    memory = Memory(tmp_path / "m", make_settings())
    memory.build(VID, 90, _records(), fingerprint="a", caption=False)
    memory.build(other, 90, {k: [dataclasses.replace(r, video_id=other) for r in v] for k, v in _records().items()},
                 fingerprint="b", caption=False)
    asked: list = []
    query = memory.vectors.query

    def spy(collection, text, k=10, videos=None, **kw):
        asked.append(videos)
        return query(collection, text, k=k, videos=videos, **kw)

    memory.vectors.query = spy
    both = memory.nearest("speech", "the locker code", k=4, videos=[other, VID])
    assert asked == [None] and {h.meta["video_id"] for h in both} == {VID, other}
    one = memory.nearest("speech", "the locker code", k=4, videos=[other])
    assert asked[-1] == [other] and {h.meta["video_id"] for h in one} == {other}
    assert memory.scope([VID]) == [VID] and memory.scope(None) is None and memory.scope([VID, other]) is None
    memory.search("the locker code", videos=[VID, other], k=3)
    assert asked[-4:] == [None] * 4  # the search's four collections
