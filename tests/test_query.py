"""The query tools on a generated video with known truth (no model): counts, order, the k-th occurrence, what is
on screen together, what is said in a span, shots. Plus the question rules (intent) on many phrasings."""

from __future__ import annotations

import shutil

import pytest

from vidgraph.agents.intent import read_question
from vidgraph.records import Span
from conftest import make_settings

LIST = ("APPLES", "BREAD", "MILK", "EGGS")


def _scenes():
    from vidgraph.eval.synth import Scene, Speech, Text, asset_photo

    items = tuple(Text(item, 0.5, 5.5, y=0.3 + 0.13 * n, size=44) for n, item in enumerate(LIST))
    return [
        Scene(6, "testsrc2", (Text("SHOPPING LIST", 0.5, 5.5, y=0.12, size=52), *items),
              (Speech("We need apples and bread today.", 0.5),)),
        Scene(6, "color=c=0x1E5A32", (Text("SAFETY DRILL", 1, 5),),
              (Speech("The safety drill starts now. Remember the drill.", 0.5),)),
        Scene(6, "smptehdbars", (), (Speech("Apples again, and more apples.", 0.5),)),
        Scene(6, str(asset_photo("bus.jpg")), (Text("SAFETY DRILL", 1, 5, y=0.75),),
              (Speech("Now a bus stops on the street.", 1.0),), objects=("bus", "person")),
    ]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    from vidgraph.eval import synth
    from vidgraph.library import Library

    from conftest import _generated

    import hashlib
    import inspect

    key = hashlib.sha256(inspect.getsource(_scenes).encode()).hexdigest()[:8]  # a new scene list, a new video
    video = _generated(f"query-{key}", lambda out: synth.make_video(_scenes(), out, size="960x540"))
    folder = tmp_path_factory.mktemp("query")
    shutil.copy(video, folder / "list.mp4")
    lib = Library(folder, settings=make_settings())
    report = lib.index(progress=False)
    assert report.ok, [r.error for r in report.failures]
    truth = synth.Truth.from_json(video.with_suffix(".truth.json").read_text())
    return lib, truth


@pytest.fixture(scope="module")
def q(indexed):
    from vidgraph.agents.query import Query

    lib, _ = indexed
    return Query(lib.source(), [e.video_id for e in lib.videos()])


def test_shots_and_cuts_are_counted_from_the_shot_list(q, indexed):
    _, truth = indexed
    assert q.shots().value == len(truth.cuts) + 1 == 4
    assert q.count("shots").value == 4 and q.count("cuts").value == 3
    spans = [f.span for f in q.shots().found]
    assert [round(s.start) for s in spans] == [0, 6, 12, 18]


def test_spoken_words_are_counted_and_located_at_word_level(q, indexed):
    _, truth = indexed
    apples = q.count("apples", "speech")
    assert apples.value == 3, apples.summary
    third = next(s for s in truth.speech if s[2].startswith("Apples again"))
    second = q.locate("apples", occurrence=2, modality="speech")
    assert second.value is not None and third[0] - 0.5 <= second.value.start <= third[1]
    assert second.value.duration < 1.5  # the word, not the sentence
    assert q.locate("apples", occurrence=-1, modality="speech").value.start > second.value.start
    assert q.count("drill", "speech").value == 2
    assert q.find("giraffe").empty and q.count("giraffe").value == 0


def test_captions_count_once_per_appearance(q):
    drill = q.count("safety drill", "text")
    assert drill.value == 2, drill.summary
    assert [round(f.span.start) for f in drill.found] == [7, 19] or len({round(f.span.start) // 6 for f in
                                                                         drill.found}) == 2


def test_the_lines_on_screen_with_a_title_are_its_items(q):
    screen = q.screen("shopping list")
    assert screen.value == len(LIST), screen.summary
    assert [f.text.upper() for f in screen.found][1:] == list(LIST)  # top to bottom, the title first


def test_order_and_read(q):
    assert q.order(["street", "bread", "drill"], "speech").value == ["bread", "drill", "street"]
    said = q.read(None, Span(12, 18), "speech")
    assert any("apples again" in f.text.lower() for f in said.found)
    assert not [f for f in said.found if "street" in f.text.lower()]


def test_objects_are_found_by_label_and_plural(q):
    assert q.count("buses", "objects").value >= 1
    assert all(f.span.start >= 17.5 for f in q.find("bus", "objects").found)
    photo = q.locate("the bus photo")  # a photo of a bus shows a bus
    assert photo.value is not None and photo.found[0].modality == "objects" and photo.value.start >= 17.5


@pytest.mark.parametrize("question, kind, targets, modality", [
    ("How many times is the word 'pump' said?", "count", ("pump",), "speech"),
    ("How often does the narrator mention Creative Commons?", "count", ("creative commons",), "speech"),
    ("How many items are on the shopping list?", "count", ("shopping list",), "text"),
    ("How many shots are there in the video?", "shots", (), "any"),
    ("How many scenes does the clip have?", "shots", (), "any"),
    ("How many videos are in the folder?", "videos", (), "any"),
    ("When is the word budget said for the second time?", "when", ("budget",), "speech"),
    ("At what time does the speaker first mention the auction?", "when", ("auction",), "speech"),
    ("According to the departures board, at what time does the Bristol train leave?", "lookup",
     ("bristol train leave",), "any"),  # a time the video tells, not a moment of it
    ("At what time does the bus appear?", "when", ("bus",), "any"),
    ("By how many minutes is the train to Bristol delayed?", "quantity", ("train to bristol delayed",), "any"),
    ("For how many minutes does the cook say to stir after adding the tomatoes?", "quantity",
     ("stir after adding the tomatoes",), "speech"),
    ("Which is shown first, the bus or the invoice?", "order", ("bus", "invoice"), "any"),
    ("Does the narrator say teacher before artist?", "order", ("teacher", "artist"), "speech"),
    ("What is shown on screen while the speaker says copper wire?", "during", ("copper wire",), "speech"),
    ("What web address is shown while the narrator invites you to their website?", "during", ("their website",),
     "speech"),  # what is said after the speaker and the verb, whichever speech verb
    ("What is on screen when the host tells viewers to subscribe?", "during", ("subscribe",), "speech"),
    ("What does the speaker say right after the invoice is shown?", "during", ("invoice",), "any"),
    ("Which video shows a bus?", "which_video", ("bus",), "any"),
    ("What is the invoice number?", "lookup", ("invoice number",), "any"),
])
def test_questions_are_read_by_rules(question, kind, targets, modality):
    intent = read_question(question)
    assert (intent.kind, intent.targets, intent.modality) == (kind, targets, modality), intent
    assert intent.calls(), intent


def test_the_occurrence_and_what_to_read_at_a_moment():
    assert read_question("When is 'drill' said the second time?").occurrence == 2
    assert read_question("When is drill said for the last time?").occurrence == -1
    during = read_question("What is shown on screen while the speaker says copper wire?")
    assert (during.then, during.relation) == ("text", "during")
    after = read_question("What does the speaker say right after the invoice is shown?")
    assert (after.then, after.relation) == ("speech", "after")


def test_the_words_of_a_phrase_are_found_close_together_in_a_sentence():
    """'add the cream' said as 'add a cream' late in a long sentence that starts with another 'add': the match is
    the short run, not the sentence from its first 'add'; each such run counts."""
    from vidgraph.agents.query import _windows

    said = "add a little oil add a tomato and stir for five minutes add a cream stir again".split()
    runs = _windows(list(range(len(said))), said, ["add", "cream"])
    assert [" ".join(said[a:b + 1]) for a, b in runs] == ["add a cream"]
    park = "the car park will be closed and the car park will be closed again".split()
    assert [" ".join(park[a:b + 1]) for a, b in _windows(list(range(len(park))), park, ["car", "park", "closed"])] \
        == ["car park will be closed"] * 2
    far = "car " + "and so on " * 5 + "closed"
    assert _windows(list(range(len(far.split()))), far.split(), ["car", "closed"]) == []
