"""Values copied from the index and subjects the videos do not hold, through the tool agent with the shipped
scripted model, over a memory built from hand-made records with known truth: a code under its label, a name under
a credits role, the entries shown in turn under a title, a round number on screen while a question is asked, a web
address at a moment or at the end (and a model's misquote of it replaced by the line), an amount said of another
train, a round that never comes, a measure never named."""

from __future__ import annotations

import pytest

from vidgraph.models.base import Usage
from vidgraph.models.testing import ScriptedModel
from vidgraph.records import Detection, Frame, Shot, Span, TextLine, TranscriptSegment, Word

VID = "b" * 32
DURATION = 200.0
SAID = [(0.5, 3.0, "Welcome to the Friday quiz."), (10.8, 12.0, "Which planet is red?"),
        (20.8, 22.7, "How many legs does a spider have?"),
        (42.0, 46.0, "The train to Bristol is delayed by 15 minutes."),
        (52.0, 55.0, "The train to York will now depart from platform 7."),
        (130.0, 134.0, "Just come to our website and answer a few questions."),
        (150.0, 154.0, "The codec runs at a bit rate of 160 kilobits per second.")]
SHOWN = [  # (start, end, text, top): each line a tenth of the height
    (0.5, 9.5, "FRIDAY QUIZ", 0.4), (10.5, 19.5, "ROUND 1", 0.1), (20.5, 29.5, "ROUND 2", 0.1),
    (20.5, 29.5, "00:00:24.500", 0.8), (60.5, 66.5, "LICENCE", 0.3), (60.5, 66.5, "HX-1712", 0.45),
    (90.5, 96.5, "ANIMATION + DESIGN", 0.3), (90.5, 96.5, "Ryan Junell", 0.42), (90.5, 96.5, "junell.net", 0.54),
    (100.5, 106.5, "MUSIC + SOUND DESIGN", 0.3), (100.5, 106.5, "Lesser", 0.42), (100.5, 106.5, "lsr1.com", 0.54),
    (110.5, 123.5, "VERY SPECIAL THANKS", 0.1), (110.5, 113.5, "Red Hat", 0.4), (110.5, 113.5, "redhat.com", 0.52),
    (114.5, 117.5, "Omidyar Network", 0.4), (114.5, 117.5, "omidyar.net", 0.52), (118.5, 122.5, "Stanford Law", 0.4),
    (118.5, 122.5, "School", 0.5), (118.5, 122.5, "law.stanford.edu", 0.62),
    (131.0, 135.0, "http://creativecommons.org", 0.7),
    (190.5, 199.5, "www.example-lab.org/av", 0.5),
]


def _seg(a: float, b: float, text: str) -> TranscriptSegment:
    parts = text.split()
    step = (b - a) / len(parts)
    words = tuple(Word(span=Span(a + i * step, a + (i + 1) * step), text=w) for i, w in enumerate(parts))
    return TranscriptSegment(video_id=VID, span=Span(a, b), text=text, words=words, source="asr@1")


BUS = (0.5, 0.5, 0.9, 0.9)


def _frames(folder) -> list[Frame]:
    """1 fps frames of 41-45 s: a green background, a blue bus in the lower right."""
    from PIL import Image, ImageDraw

    out = []
    for t in range(41, 46):
        im = Image.new("RGB", (64, 36), (20, 160, 40))
        ImageDraw.Draw(im).rectangle((32, 18, 57, 32), fill=(30, 60, 200))
        path = folder / f"{t}.jpg"
        im.save(path, quality=95)
        out.append(Frame(video_id=VID, t=float(t), path=str(path), width=64, height=36, kind="sample"))
    return out


def records(folder) -> dict[str, list]:
    lines = [TextLine(video_id=VID, span=Span(a, b), text=t, score=0.99, box=(0.3, y, 0.7, y + 0.08), source="ocr@1")
             for a, b, t, y in SHOWN]
    return {"scan": [Shot(video_id=VID, index=0, span=Span(0, DURATION), source="scan@1"), *_frames(folder)],
            "asr": [_seg(*s) for s in SAID], "ocr": lines,
            "detect": [Detection(video_id=VID, t=43.0, label="bus", score=0.9, box=BUS, source="detect@1")]}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    from vidgraph.agents import Source
    from vidgraph.config import load_settings
    from vidgraph.errors import StoreError
    from vidgraph.memory import Memory

    recs = records(tmp_path_factory.mktemp("frames"))
    memory = Memory(tmp_path_factory.mktemp("typed"), load_settings())
    memory.build(VID, DURATION, recs)

    def read(video_id: str, stage: str) -> list:
        if stage not in recs:
            raise StoreError(f"{stage} is not indexed", "index it")
        return recs[stage]

    return Source(memory, {VID: "show.mp4"}, {VID: DURATION}, read=read)


def ask(source, question: str, *replies: dict, options=None):
    from vidgraph.agents import ask as run

    model = ScriptedModel({"tools": list(replies)}, by="prompt", name="typed", usage=Usage(50, 10, 0.0, 1))
    return run(source, question, options, strategy="tools", model=model), model


def cited(a) -> list[tuple[float, float]]:
    return [(c.span.start, c.span.end) for c in a.citations]


@pytest.mark.parametrize("question, text, start", [
    ("Which code appears on screen below the label LICENCE?", "HX-1712", 60.5),
    ("Read the code shown with LICENCE.", "HX-1712", 60.5),
    ("Who is credited for music and sound design?", "Lesser", 100.5),
    ("Who composed the music for the video?", "Lesser", 100.5),
    ("Which round number is on screen when the host asks about the spider?", "2", 20.5),
    ("What web address is shown while the narrator says 'come to our website'?", "http://creativecommons.org", 131.0),
    ("What web address is shown while the narrator invites you to their website?", "http://creativecommons.org", 131.0),
    ("What web address is shown at the end of the video?", "www.example-lab.org/av", 190.5),
    ("Whose website is junell.net?", "Ryan Junell", 90.5),
])
def test_a_value_of_the_kind_asked_is_copied_from_the_line_without_a_model_call(source, question, text, start):
    a, model = ask(source, question)
    assert (a.text, a.found, model.calls) == (text, True, []), a.trace
    assert cited(a)[0][0] == start


def test_a_paraphrase_no_vector_is_close_to_is_found_by_the_words_it_shares(source, monkeypatch):
    """When no speech segment is near enough in meaning, the segments holding at least half of the phrase's content
    words are what resembles it (evidence, no time of its own); fewer shared words find nothing."""
    from vidgraph.agents.query import Query

    monkeypatch.setattr(source.memory.vectors, "query", lambda *a, **k: [])
    q = Query(source, [VID])
    found = q.find("their website", "speech", match="semantic")
    assert found.note == "semantic" and [(f.span.start, f.modality) for f in found.found] == [(130.0, "speech")]
    located = q.locate("the narrator's website", modality="speech")
    assert located.value is None and located.found[0].span.start == 130.0
    assert not q.find("their website about volcanoes and glaciers", "speech", match="semantic").found


def test_the_entries_shown_in_turn_under_a_title_are_counted(source):
    a, model = ask(source, "How many organisations are listed under 'Very special thanks'?")
    assert (a.text, model.calls) == ("3 organisations", [])
    assert [round(s) for s, _ in cited(a)] == [110, 110, 114, 118][: len(a.citations)]


def test_a_model_misquoting_an_address_gets_the_line_as_written(source):
    misquote = {"answer": "http://www.example-lab.org", "option": None, "call": 0}
    a, model = ask(source, "Which website is given for the lab?", misquote)
    assert len(model.calls) == 1 and a.found and a.text == "www.example-lab.org/av", a.trace
    assert cited(a)[0][0] == 190.5


def test_an_amount_said_of_another_train_is_not_the_answer(source):
    options = ["15 minutes", "25 minutes", "The video does not say the York train is delayed"]
    a, _ = ask(source, "By how many minutes is the train to York delayed?", {"answer": "", "option": "A", "call": 0},
               options=options)
    assert a.choice == "C", a.trace
    b, _ = ask(source, "By how many minutes is the train to Bristol delayed?", {"answer": "15", "option": None,
                                                                                "call": 0})
    assert b.found and "15" in b.text and cited(b)[0][0] >= 42.0


def test_a_round_that_never_comes_and_a_measure_never_named_are_not_in_the_video(source):
    a, model = ask(source, "What score is shown after round 5?", options=["3", "4", "There is no round 5"])
    assert (a.choice, a.found, model.calls) == ("C", False, []), a.trace
    b, model = ask(source, "What sampling rate does the narrator give for the audio?")
    assert (b.found, model.calls) == (False, []) and "sampling rate" in b.trace[-2].detail, b.trace
    c, _ = ask(source, "What bit rate does the narrator give?", {"answer": "160 kilobits per second", "option": None,
                                                                "call": 0})
    assert c.found and cited(c)[0][0] >= 150.0


def test_colours_are_read_from_the_pixels_of_the_moment(source):
    a, model = ask(source, "What colour is the background while the speaker says 'delayed'?",
                   options=["blue", "green", "red"])
    assert (a.choice, a.found, model.calls) == ("B", True, []), a.trace
    assert cited(a) == [(42.0, 46.0)]  # the sentence the word is said in
    b, model = ask(source, "What colour is the bus when the speaker says 'delayed'?")
    assert (b.text, model.calls) == ("blue", [])


def test_an_option_whose_words_the_evidence_mostly_holds_is_chosen_over_the_models_unsupported_one(source):
    options = ["visit the website", "buy a ticket", "call the office"]
    a, _ = ask(source, "What does the narrator invite you to do?", {"answer": "", "option": "B", "call": 0},
               options=options)
    assert a.choice == "A" and cited(a)[0][0] == 130.0, a.trace


def test_a_phrase_written_over_two_lines_is_found_while_both_are_shown(source):
    from vidgraph.agents.query import Query

    q = Query(source, [VID])
    r = q.locate("Stanford Law School", 1, "text")
    assert r.value == Span(118.5, 122.5) and r.found[0].text == "Stanford Law / School"
    assert q.count("quiz rounds").value == 2  # "ROUND 1", "ROUND 2": the rounds of the quiz


def test_numbered_things_are_counted_and_an_amount_no_one_gives_is_not_shown(source):
    a, model = ask(source, "How many rounds does the quiz have?")
    assert (a.text, model.calls) == ("2", []) and len(a.citations) == 2
    options = ["Bristol", "York", "No train is delayed by 40 minutes"]
    b, model = ask(source, "Which train is delayed by 40 minutes?", options=options)
    assert (b.choice, model.calls) == ("C", [])


def test_an_answer_of_another_kind_than_asked_is_not_kept(source):
    a, model = ask(source, "What phone number is shown with the credits?", {"answer": "6", "option": None, "call": 0},
                   {"answer": "6", "option": None, "call": 0})
    assert not a.found and any("is not a phone number" in s.detail for s in a.trace), a.trace
