"""Who speaks, for the agents: a transcript labelled by speaker (split where the voice changes, named from evidence)
goes into the memory's events and entities and the agents' evidence lines; the query tools ``speakers``, ``who``
and ``said_by`` answer "how many people speak", "who said X", "what did Ann say about Y" — computed, cited, no
model call — over a memory built from hand-made records with known truth (the real stage: tests/test_speakers.py)."""

from __future__ import annotations

import pytest

from vidgraph.agents.intent import read_question
from vidgraph.models.base import Usage
from vidgraph.models.testing import ScriptedModel
from vidgraph.records import Shot, Span, Speaker, SpeakerTurn, TextLine, TranscriptSegment, Word

VID = "a" * 32
TALK = [  # (start, end, speaker, text): Ann introduces herself, Bob is named by a lower third, S3 stays unnamed
    (0.5, 4.0, "S1", "Hello everyone, my name is Ann Lee."),
    (4.0, 8.0, "S1", "Today we talk about the budget."),
    (8.5, 13.0, "S2", "The pump in hall B is broken again."),
    (13.5, 17.0, "S3", "We should order a new pump next week."),
    (17.5, 21.0, "S1", "The budget allows one new pump."),
    (21.5, 25.0, "S2", "Then the invoice goes to finance."),
]


def _seg(a: float, b: float, text: str) -> TranscriptSegment:
    parts = text.split()
    step = (b - a) / len(parts)
    words = tuple(Word(span=Span(a + i * step, a + (i + 1) * step), text=w) for i, w in enumerate(parts))
    return TranscriptSegment(video_id=VID, span=Span(a, b), text=text, words=words, source="asr@1")


def records(speakers: bool = True) -> dict[str, list]:
    # the ASR's segments do not follow the voices: one segment holds S1's last words and S2's first
    a, b = _seg(*TALK[1][:2], TALK[1][3]), _seg(*TALK[2][:2], TALK[2][3])
    joined = TranscriptSegment(video_id=VID, span=Span(a.span.start, b.span.end), text=f"{a.text} {b.text}",
                               words=a.words + b.words, source="asr@1")
    asr = [_seg(*TALK[0][:2], TALK[0][3]), joined, *(_seg(a, b, t) for a, b, _, t in TALK[3:])]
    turns = [SpeakerTurn(video_id=VID, span=Span(a, b), speaker=s, source="speakers@1") for a, b, s, _ in TALK]
    voices = [Speaker(video_id=VID, speaker=s, talk_seconds=sum(b - a for a, b, k, _ in TALK if k == s),
                      turns=sum(k == s for _, _, k, _ in TALK), source="speakers@1") for s in ("S1", "S2", "S3")]
    lower_third = TextLine(video_id=VID, span=Span(8.6, 12.8), text="Bob Stone", score=0.95,
                           box=(0.1, 0.8, 0.5, 0.9), source="ocr@1")
    out = {"scan": [Shot(video_id=VID, index=0, span=Span(0, 13), source="scan@1"),
                    Shot(video_id=VID, index=1, span=Span(13, 26), source="scan@1")],
           "asr": asr, "ocr": [lower_third]}
    if speakers:
        out["speakers"] = [*turns, *voices]
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    from vidgraph.agents import Source
    from vidgraph.config import load_settings
    from vidgraph.errors import StoreError
    from vidgraph.memory import Memory

    recs = records()
    memory = Memory(tmp_path_factory.mktemp("who"), load_settings())
    memory.build(VID, 26.0, recs)

    def read(video_id: str, stage: str) -> list:
        if stage not in recs:
            raise StoreError(f"{stage} is not indexed", "index it")
        return recs[stage]

    return Source(memory, {VID: "meeting.mp4"}, {VID: 26.0}, read=read)


@pytest.fixture()
def q(source):
    from vidgraph.agents.query import Query

    return Query(source, [VID])


def ask(source, question: str, *replies: dict, options=None):
    from vidgraph.agents import ask as run

    model = ScriptedModel({"tools": list(replies)}, by="prompt", name="who", usage=Usage(50, 10, 0.0, 1))
    return run(source, question, options, strategy="tools", model=model), model


# -- the transcript, the memory ---------------------------------------------------------------------------------
def test_the_transcript_is_split_at_each_change_of_voice_and_named_from_evidence(q):
    said = [(s.who, s.text) for s in q.segments(VID)]
    assert said[:3] == [("Ann Lee", TALK[0][3]), ("Ann Lee", TALK[1][3]), ("Bob Stone", TALK[2][3])]
    assert [w for w, _ in said[3:]] == ["S3", "Ann Lee", "Bob Stone"]  # S3 gives no evidence of a name


def test_memory_events_and_entities_carry_the_speakers(source):
    events = source.memory.events(VID)
    assert events[0].evidence()["speech"].startswith("Ann Lee: Hello everyone") and "Bob Stone: The pump" in \
        events[0].evidence()["speech"]
    assert "S3: We should order" in events[1].document()
    ann = next(e for e in source.memory.entities(VID) if e.key == "ann lee")
    assert {m.modality for m in ann.mentions} >= {"speech", "voice"}  # said once, and the voice in both events
    assert {m.event_index for m in ann.mentions if m.modality == "voice"} == {0, 1}


def test_without_the_speakers_stage_nothing_is_labelled():
    from vidgraph.memory import with_speakers

    assert with_speakers(records(speakers=False))["asr"] == records(speakers=False)["asr"]


# -- the query tools --------------------------------------------------------------------------------------------
def test_speakers_counts_the_voices_with_their_names_and_talk(q):
    r = q.speakers()
    assert r.value == 3 and [f.speaker for f in r.found] == ["Ann Lee", "Bob Stone", "S3"]
    assert r.found[0].text.startswith("Ann Lee (S1): 11 s of speech in 3 turns")


def test_who_said_is_the_speaker_of_the_words_with_the_moment(q):
    r = q.who("pump in hall B is broken")
    assert r.value == ("Bob Stone",) and r.found[0].span.start >= 8.5 and r.found[0].span.end <= 13.1
    pump = q.who("pump")
    assert pump.value == ("Bob Stone", "S3", "Ann Lee") and len(pump.found) == 3
    assert q.who(at=15.0).value == ("S3",)
    assert q.who("giraffe").value is None


def test_said_by_resolves_names_labels_and_ordinals(q):
    assert [f.text for f in q.said_by("Ann", "budget").found] == [TALK[1][3], TALK[4][3]]
    assert [f.text for f in q.said_by("the second speaker").found] == [TALK[2][3], TALK[5][3]]
    assert q.said_by("speaker 3").found[0].text == TALK[3][3]
    assert q.said_by("S3").value == 1
    missing = q.said_by("Carol")
    assert missing.value is None and "Ann Lee (S1)" in missing.summary


@pytest.mark.parametrize("question, kind, targets, speaker", [
    ("How many people speak in the video?", "speakers", (), ""),
    ("How many different speakers are there?", "speakers", (), ""),
    ("Who said 'the pump is broken'?", "who", ("the pump is broken",), ""),
    ("Which speaker talked about the weather?", "who", ("weather",), ""),
    ("Who introduces herself as Ann?", "who", ("ann",), ""),
    ("What did Ann say about the budget?", "said_by", ("budget",), "ann"),
    ("What does the second speaker say?", "said_by", (), "second speaker"),
    ("How many people are in the kitchen?", "count", ("people",), ""),
    ("What did the cook put in the soup?", "lookup", ("cook put soup",), ""),
])
def test_questions_about_speakers_are_read_by_rules(question, kind, targets, speaker):
    intent = read_question(question)
    assert (intent.kind, intent.targets) == (kind, targets)
    assert intent.speaker == speaker


# -- the agent: computed, cited, no model call ------------------------------------------------------------------
def test_who_said_is_answered_with_the_name_and_the_moment_without_a_model_call(source):
    a, model = ask(source, "Who said that the pump in hall B is broken?")
    assert a.found and a.text == "Bob Stone" and model.calls == []
    assert len(a.citations) == 1 and 8.5 <= a.citations[0].span.start < 13
    b, _ = ask(source, "Who said that the pump is broken?", options=["Ann Lee", "Bob Stone", "Nobody"])
    assert (b.choice, b.found) == ("B", True)


def test_an_unnamed_speaker_is_answered_as_such(source):
    a, _ = ask(source, "Who said we should order a new pump?")
    assert a.text == "speaker S3 (the video gives no name)" and a.found


def test_how_many_people_speak_is_computed(source):
    a, model = ask(source, "How many people speak in the meeting?")
    assert (a.text, model.calls) == ("3 speakers", []) and len(a.citations) == 3


def test_what_a_speaker_said_is_read_from_their_sentences(source):
    a, _ = ask(source, "What did Bob say about the invoice?")
    assert a.text == TALK[5][3] and a.citations[0].span.start >= 21.5


def test_the_model_reads_evidence_lines_with_their_speakers(source):
    a, model = ask(source, "What does the second speaker say?", {"answer": "the pump is broken", "option": None,
                                                                  "call": 0})
    prompt = model.calls[0].user
    assert "speech (Bob Stone): <<<The pump in hall B is broken again.>>>" in prompt, prompt
    assert a.found and a.citations[0].span.start >= 8.5


def test_a_lone_unnamed_voice_leaves_the_lines_unlabelled_but_is_still_counted(tmp_path):
    from vidgraph.agents import Source
    from vidgraph.agents.query import Query
    from vidgraph.memory import Memory, with_speakers

    recs = records()
    lone = [SpeakerTurn(video_id=VID, span=Span(0.5, 25.0), speaker="S1", source="speakers@1"),
            Speaker(video_id=VID, speaker="S1", talk_seconds=24.5, turns=1, source="speakers@1")]
    recs["asr"] = [s for s in recs["asr"] if "Ann Lee" not in s.text]  # no self-introduction
    recs["ocr"], recs["speakers"] = [], lone
    assert [s.who for s in with_speakers(recs)["asr"]] == [""] * len(recs["asr"])
    q = Query(Source(Memory(tmp_path, None), read=lambda v, s: recs.get(s, [])), [VID])  # type: ignore[arg-type]
    assert q.speakers().value == 1 and q.who("invoice").value == ("S1",)
    assert len(q.said_by("the narrator").found) == len(recs["asr"])
