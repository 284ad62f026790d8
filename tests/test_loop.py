"""The tool-using agent (strategy ``tools``, what ``auto`` runs), driven by the shipped scripted model over a real
indexed library: answers computed by the tools need no model call and cite what the tools found; a model's answer
is cited by its content, never by numbers it types; a rejected answer changes the next prompt; multiple choice
commits; a model failure is an error, never an abstention."""

from __future__ import annotations

import re

import pytest

from vidgraph.agents import Budget
from vidgraph.errors import ModelError
from vidgraph.models.base import Usage
from vidgraph.models.testing import ScriptedModel
from vidgraph.records import Span

FIXTURE = "fixture.mp4"
NOT_FOUND = "Not in the video."


@pytest.fixture(scope="module")
def lib(agents_library):
    return agents_library


def tools(*replies, **kw) -> ScriptedModel:
    """A scripted model for the tool loop's turns (a list: one reply per turn)."""
    return ScriptedModel({"tools": list(replies)}, by="prompt", name="loop", usage=Usage(50, 10, 0.0, 1), **kw)


def ask(lib, model, question, **kw):
    kw.setdefault("videos", FIXTURE)
    return lib.ask(question, model=model, index=False, progress=False, **kw)


def kinds(a) -> list[str]:
    return [s.kind for s in a.trace]


def answer(text: str = "", option: str | None = None, call: int = 0) -> dict:
    return {"answer": text, "option": option, "call": call}


_LINE = re.compile(r"^\s*\[(\d+)\] (\S+) (\d+:\d\d\.\d)-(\d+:\d\d\.\d) ([\w:]+): <<<(.*?)>>>$", re.M)


def evidence(prompt: str) -> list[str]:
    return [m[6] for m in _LINE.finditer(prompt)]


# -- computed by the tools: no model call ---------------------------------------------------------------------------
def test_a_count_is_computed_and_cites_every_occurrence(lib):
    model = tools()
    a = ask(lib, model, "How many times is the pump mentioned?")
    assert a.found and a.text == "2 times" and a.strategy == "tools", a.text
    assert a.cost.model_calls == 0 and model.calls == []
    assert sorted((c.span.start // 10, c.modality) for c in a.citations) == [(3, "speech"), (4, "text")]
    assert kinds(a) == ["routed", "understood", "called", "answered", "answered"]
    assert "computed by count" in a.trace[3].detail


def test_when_a_word_is_said_is_its_word_time(lib):
    a = ask(lib, tools(), "When is the word 'copper' said?")
    assert a.found and a.cost.model_calls == 0
    cited = a.citations[0]
    assert cited.modality == "speech" and 11.0 <= cited.span.start <= 16.4 and cited.span.duration < 1.5
    assert re.fullmatch(r"0:1\d\.\d–0:1\d\.\d", a.text), a.text


def test_order_open_and_multiple_choice(lib):
    a = ask(lib, tools(), "Which is shown first, the bus or the invoice?")
    assert (a.text, a.found) == ("invoice", True)
    b = ask(lib, tools(), "Which comes first?", options=["the bus", "the invoice"])
    assert (b.choice, b.text, b.found) == ("B", "B. the invoice", True)
    assert b.cost.model_calls == 0 and [round(c.span.start) // 10 for c in b.citations] == [1, 3]


def test_shots_and_which_video_are_computed(lib):
    shots = ask(lib, tools(), "How many shots are in the video?")
    assert shots.text == "6 shots" and len(shots.citations) == 6
    which = ask(lib, tools(), "Which video says 'north gate'?", videos=None)
    assert which.text == "other.mp4" and which.citations[0].video == "other.mp4"


# -- read by the model, cited by the tools ------------------------------------------------------------------------
def test_a_lookup_is_read_by_the_model_and_cited_by_its_content(lib):
    seen = []

    def reads(call):
        seen.append(call.last)
        assert any("4821-B" in line for line in evidence(call.last)), call.last
        return answer("4821-B")

    model = tools(reads)
    a = ask(lib, model, "What is the invoice number?")
    assert (a.text, a.found, a.cost.model_calls) == ("4821-B", True, 1)
    assert a.citations and all("4821" in c.evidence for c in a.citations)
    assert any(c.span.overlap(Span(12, 19)) > 0 for c in a.citations)
    assert "Suggested calls" not in seen[0]  # a lookup first only reads what the search found
    from vidgraph.agents.calls import system_prompt
    from vidgraph.prompts import load

    drafted = next(s for s in a.trace if s.kind == "drafted")
    text, version = system_prompt("menu")
    assert drafted.prompt == version == f"{load('tools').version}+{load('menu').version}"
    assert model.calls[0].messages[0].text() == text


def test_a_rejected_answer_changes_the_next_prompt_and_no_prompt_repeats(lib):
    model = tools(answer("in the attic"), answer("the red container"))
    a = ask(lib, model, "Where is the copper wire kept?")
    assert a.found and "red container" in a.text and a.cost.model_calls == 2
    first, second = model.calls
    assert "was not accepted" in second.last and "in the attic" in second.last
    texts = [c.text for c in model.calls]
    assert len(set(texts)) == len(texts)
    assert second.text.startswith(first.text[: len(first.text) - 10])  # one growing conversation
    assert any(s.kind == "reflected" and "rejected" in s.detail for s in a.trace)


def test_a_question_about_what_no_video_holds_abstains_without_a_model_call(lib):
    model = tools()
    a = ask(lib, model, "What is the wifi password?")
    assert (a.text, a.found, a.citations, a.cost.model_calls) == (NOT_FOUND, False, (), 0)
    assert any("'wifi' is never said or shown" in s.detail for s in a.trace)


def test_evidence_must_be_about_what_the_question_asks():
    """An answer is kept only when the evidence near it mentions what the question is about (the question's words
    that the videos hold); a code read next to nothing about a bus is no answer to "which code is on the bus"."""
    from vidgraph.agents.compose import relevant
    from vidgraph.agents.state import Item

    invoice = Item(1, "v", "a.mp4", Span(12.5, 19), "text", "Invoice No. 4821-B")
    bus = Item(2, "v", "a.mp4", Span(30, 40), "objects", "bus, person")
    near = Item(3, "v", "a.mp4", Span(11.5, 16.4), "speech", "The red container holds copper wire")
    vocabulary = {"invoice", "no", "4821-b", "bus", "person", "red", "container", "hold", "copper", "wire"}
    assert not relevant("Which code is on the bus?", invoice, [invoice, bus, near], vocabulary)
    assert relevant("What is the invoice code?", invoice, [invoice, bus, near], vocabulary)
    assert relevant("What does the red container hold?", near, [invoice, bus, near], vocabulary)
    # a question naming only a kind of thing cannot be held to the evidence (what no video names is another rule:
    # test_a_question_about_what_no_video_holds_abstains_without_a_model_call)
    assert relevant("Which dish is named in the title?", invoice, [invoice], vocabulary)
    # near is overlapping or a few seconds apart, not the sentence before last: 'Monday' said 9 s after the
    # interview is no day of the interview
    interview = Item(4, "v", "a.mp4", Span(28.4, 31.2), "speech", "Next, hiring! The interview starts soon!")
    monday = Item(5, "v", "a.mp4", Span(40.1, 43.3), "speech", "The car park is closed on Monday!")
    said = Item(6, "v", "a.mp4", Span(2.5, 11.5), "text", "INTERVIEWS")
    vocabulary |= {"interview", "monday", "car", "park", "closed", "hiring"}
    assert not relevant("On which day do the interviews take place?", monday, [interview, monday], vocabulary)
    friday = Item(7, "v", "a.mp4", Span(12.8, 15.0), "speech", "on Friday")  # 1.3 s after the caption
    assert relevant("On which day do the interviews take place?", friday, [said, friday], vocabulary)


def test_what_is_said_at_a_moment_is_computed_and_one_thing_in_it_is_picked_by_the_model(lib):
    """'What is said while X is on screen' is the words read there (no model call); 'which day is announced while X
    is on screen' leaves the model to pick the day out of them, and cites the line that holds it."""
    said = ask(lib, tools(), "What is said while the caption MEETING MOVED is on screen?")
    assert said.found and said.cost.model_calls == 0 and "Thursday" in said.text, [s.detail for s in said.trace]

    def pick(c):
        assert "meeting moves to Thursday" in c.user, c.user
        return answer("Thursday")

    model = tools(pick)
    day = ask(lib, model, "The caption MEETING MOVED is on screen: which day is announced at that moment?")
    assert (day.text, day.found, day.cost.model_calls) == ("Thursday", True, 1), [s.detail for s in day.trace]
    assert any(c.modality == "speech" and 20 <= c.span.start <= 25 for c in day.citations)


def test_the_model_may_take_a_suggested_call(lib):
    def pick_look(call):
        lines = call.last.splitlines()
        n = next(int(line.split(".")[0]) for line in lines if re.match(r"\d+\. look\(", line))
        return answer(call=n)

    def after(call):
        assert "O2 look(" in call.last, call.last
        return answer("4821-B")

    model = tools(answer(""), pick_look, after)
    a = ask(lib, model, "What is the code on the invoice?", budget=Budget(looks=1))
    assert a.found and a.cost.looks == 1 and a.cost.model_calls == 3
    assert [s.kind for s in a.trace if "look(" in s.detail] == ["decided", "called"]
    assert any(c.modality.startswith("look:") or "4821" in c.evidence for c in a.citations)


# -- multiple choice commits ----------------------------------------------------------------------------------------
def test_multiple_choice_commits_and_the_not_shown_option_is_an_abstention(lib):
    options = ["a helicopter", "a submarine", "It is not shown in the video"]
    a = ask(lib, tools(answer(option="A")), "Which vehicle lands on the roof?", options=options)
    assert (a.choice, a.found) == ("C", False) and a.text == "C. It is not shown in the video"
    assert "best guess" not in a.text
    b = ask(lib, tools(answer(option="B")), "To which day is the meeting moved?",
            options=["Monday", "Thursday", "Friday"])
    assert (b.choice, b.found, b.text) == ("B", True, "B. Thursday")
    assert b.citations and any("Thursday" in c.evidence for c in b.citations)
    c = ask(lib, tools(answer(option="A")), "To which day is the meeting moved?", options=["Monday", "Sunday"])
    assert c.choice == "A" and not c.found and c.text == "A. Monday" and c.confidence < 0.5  # committed, unsupported


# -- errors are errors ----------------------------------------------------------------------------------------------
class Down(ScriptedModel):
    def _complete(self, messages, **kw):
        raise ModelError("http://localhost:9/v1/chat/completions unreachable after 4 tries (ConnectError)",
                         "is the server running? check llm_base_url")


def test_a_model_server_that_is_down_is_an_error_not_an_abstention(lib):
    with pytest.raises(ModelError, match="unreachable"):
        ask(lib, Down(), "What is the invoice number?")
    computed = ask(lib, Down(), "How many times is the pump mentioned?")  # no model needed: still answered
    assert computed.found and computed.text == "2 times"


# -- the first design's strategies as sub-graphs the loop calls ---------------------------------------------------
def test_a_summary_reads_every_clip_with_mapreduce_inside_the_loop(lib):
    def mapper(call):
        ids = [int(m[1]) for m in _LINE.finditer(call.user) if m[5] == "speech"][:1]
        return {"findings": [{"fact": "someone speaks", "evidence": ids}] if ids else []}

    def reducer(call):
        first = re.search(r"\[(\d+)\]", call.user)
        return {"found": True, "answer": "a quarterly review of a warehouse project", "option": None,
                "evidence": [int(first[1])], "confidence": 0.8}

    model = ScriptedModel({"map": mapper, "reduce": [reducer]}, by="prompt", name="loop")
    a = ask(lib, model, "Summarize the video.")
    assert a.found and a.text == "a quarterly review of a warehouse project" and a.strategy == "tools"
    assert a.citations and model.count("reduce") == 1 and model.count("map") >= 1
    assert any(s.kind == "called" and s.detail.startswith("read_all(") for s in a.trace)
    assert any(s.kind == "mapped" for s in a.trace)  # the sub-graph's steps are in the answer's trace


def test_deep_search_runs_chain_of_shot_search_when_the_model_asks_for_it(lib):
    """The model asks for a deep search; the search drafts and verifies an answer, which ends the loop (the model
    is not asked to restate it, nor can it lose it by saying nothing or running out of budget)."""
    def take_deep(call):
        n = next(int(line.split(".")[0]) for line in call.last.splitlines() if re.match(r"\d+\. deep_search\(", line))
        return answer(call=n)

    def chain(call):
        cited = next(int(m[1]) for m in re.finditer(r"^\[(\d+)\] .*4821-B", call.user, re.M))
        return {"found": True, "answer": "4821-B", "option": None, "evidence": [cited], "confidence": 0.8,
                "action": "answer", "target": 1}

    model = ScriptedModel({"tools": [answer(""), take_deep, answer("4821-B")], "search": [chain]}, by="prompt",
                          name="loop")
    a = ask(lib, model, "Which code does the invoice carry?", budget=Budget(calls=6))
    assert a.found and "4821-B" in a.text and model.count("search") == 1
    assert model.count("tools") == 2  # the deep search's verified answer ends the loop: no third turn to restate it
    assert any(s.detail.startswith("deep_search(") for s in a.trace if s.kind == "called")
    assert a.text == "4821-B", [s.detail for s in a.trace]  # its answer stands as it was verified, cited by it
    assert any(c.modality == "text" and "4821-B" in c.evidence for c in a.citations)


def test_a_name_no_video_holds_is_no_answer():
    """'the train to Glasgow' where the videos name York and Bristol only: the platform said for York is no
    answer; a name said with an ASR slip ('Anne' for Ann) or in a video's file name still counts."""
    from vidgraph.agents.compose import relevant, unheard_names
    from vidgraph.agents.state import Item

    york = Item(1, "v", "station.mp4", Span(23, 26.8), "speech", "The train to York will now depart from platform 7")
    vocabulary = {"the", "train", "to", "york", "will", "now", "depart", "from", "platform", "7", "anne", "said"}
    assert relevant("Which platform does the train to York leave from?", york, [york], vocabulary)
    assert not relevant("Which platform does the train to Glasgow leave from?", york, [york], vocabulary)
    assert unheard_names("What did Ann say about the platform?", vocabulary) == []
    assert unheard_names("In the Big Buck Bunny clip, which platform is named?", vocabulary,
                         {"big", "buck", "bunny"}) == []
    assert unheard_names("Which platform? Trains to Leeds or to Hull?", vocabulary) == ["Leeds", "Hull"]
    assert unheard_names("Is it the train to York or to Leeds?", vocabulary) == []  # it asks which of the two



def test_a_question_naming_what_no_video_names_abstains_without_a_model_call(lib):
    model = tools()
    a = ask(lib, model, "Which code does the invoice from Rotterdam carry?")
    assert not a.found and a.cost.model_calls == 0 and model.calls == [], [s.detail for s in a.trace]
    assert any("'Rotterdam' is never said or shown" in s.detail for s in a.trace)


def test_what_is_shown_at_the_start_reads_the_start_first(lib):
    """'... at the very start' points at the first seconds: the model first reads what is said and shown there
    (not the search's best matches from anywhere in the video) and is cited by it."""
    def first(c):
        assert "read(video=" in c.user and "start=0.0, end=15.0" in c.user, c.user
        lines = evidence(c.user)
        assert lines, c.user
        return answer(lines[0])

    a = ask(lib, tools(first), "What is shown on screen at the very start?")
    assert a.found and a.cost.model_calls == 1, [s.detail for s in a.trace]
    assert all(c.span.start < 15.0 for c in a.citations)


def test_a_which_video_choice_goes_to_the_video_whose_evidence_answers(lib):
    """The options are file names, which no evidence line holds: an option is supported by its video's evidence
    about the question. The model picks the video without it; the one the evidence supports is chosen."""
    from vidgraph.agents.choice import same_file as _same_file

    assert _same_file("other.mp4", "other.mp4") and _same_file("other", "clips/other.mp4")
    assert not _same_file("other.mp4", "fixture.mp4")
    a = ask(lib, tools(answer(option="A"), answer(option="A")), "Which video says that the gate is shut for repairs?",
            options=["fixture.mp4", "other.mp4"], videos=["fixture.mp4", "other.mp4"])
    assert (a.choice, a.found) == ("B", True), [s.detail for s in a.trace]
    assert a.citations and all(c.video == "other.mp4" for c in a.citations)
    assert a.cost.model_calls >= 1 and any(s.kind == "reflected" and "option B" in s.detail for s in a.trace)


def test_what_is_shown_while_words_are_said_is_read_over_their_sentence():
    """"What step is on screen when the cook says to add the cream?": the words end at 37.7 s, the STEP 3 caption
    is first seen on the key frame of 38.5 s (it came up while the sentence went on), STEP 2 was last seen at 36.0
    s. The moment is the sentence, what is read there is widened by the gap between sampled frames, and the line
    that fills most of the moment comes first."""
    from types import SimpleNamespace

    from vidgraph.agents.loop import _around, _moment
    from vidgraph.agents.state import Item
    from vidgraph.records import TranscriptSegment

    said = TranscriptSegment(video_id="v", span=Span(36.6, 40.6), text="Add the cream, stir again and cook slowly.",
                             language="en", source="t@1")
    kit = SimpleNamespace(query=SimpleNamespace(segments=lambda v: [said]))
    words = Item(1, "v", "recipe.mp4", Span(36.6, 37.7), "speech", "Add the cream")
    moment = _moment(kit, words)
    assert moment == Span(36.6, 40.6)
    window = _around(moment, "during", "speech", "text")
    assert window == Span(35.1, 42.1)  # 1.5 s either side: captions are read from sampled frames
    assert Span(38.5, 47.5).overlap(moment) > Span(26.5, 36.0).overlap(window)  # STEP 3 over STEP 2
    assert _around(Span(10, 11), "during", "speech", "speech") == Span(9.5, 11.5)  # words read as words: 2 s
    assert _moment(kit, Item(2, "v", "recipe.mp4", Span(38.5, 47.5), "text", "STEP 3")) == Span(38.5, 47.5)
