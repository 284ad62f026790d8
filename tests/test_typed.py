"""What kind of value a question asks for and the values of that kind in evidence (agents.typed), and the rules
that tell whether the question's subject is in the videos at all (agents.subject) — no model, no media."""

from __future__ import annotations

import pytest

from vidgraph.agents.intent import read_question
from vidgraph.agents.state import Item
from vidgraph.agents.subject import bound, never_shown, unknown_measure, unseen_numbered
from vidgraph.agents.typed import Asked, asked, label_of, pick, same_value, values
from vidgraph.records import Span


@pytest.mark.parametrize("question, kind, qualifier", [
    ("What web address is shown while the narrator invites you to their website?", "url", ""),
    ("Which website is given at the end?", "url", ""),
    ("What e-mail address is on the slide?", "email", ""),
    ("Which code appears on screen below the label LICENCE?", "code", ""),
    ("Which round number is on screen when the host asks about the spider?", "number", "round"),
    ("What step number is shown when the cook says to add the cream?", "number", "step"),
    ("Which EBU Tech document number is shown with 'EBU Multichannel Ident'?", "number", "document"),
    ("From which platform will the train to York now depart?", "number", "platform"),
    ("At what time does the Bristol train leave?", "clock", ""),
    ("In what year was the film made?", "year", ""),
    ("What percentage of people agreed?", "percent", ""),
    ("What colour is the background while he says 'banana'?", "colour", ""),
    ("What is the main background colour while the narrator speaks?", "colour", ""),
    ("What colour is the bus?", "colour", "bus"),
    ("What is the colour of the car in the video?", "colour", "car"),
])
def test_the_kind_of_value_asked(question, kind, qualifier):
    assert asked(question) == Asked(kind, qualifier)


@pytest.mark.parametrize("question", ["Who is credited for music and sound design?", "Which colour word is shown?",
                                      "At what time is the word 'stir' said?", "What is the colour code?"])
def test_questions_that_ask_no_written_value(question):
    assert asked(question) is None


def test_values_of_each_kind_in_text():
    assert values("url", "www.iis.fraunhofer.de/amm EBU Tech 3304-4.2 at 5.1 http://creativecommons.org "
                         "junell.net") == ["www.iis.fraunhofer.de/amm", "http://creativecommons.org", "junell.net"]
    assert values("code", "LOT AC-4478 EBU Tech 3304-4.2 HX-1712 PAID: 4821-B") == ["AC-4478", "HX-1712", "4821-B"]
    assert values("number", "four hundred and twenty kilos, ROUND 2") == ["2", "420"]
    assert values("clock", "BRISTOL 14:35") == ["14:35"]
    assert same_value("url", "http://www.Example.org/", "example.org")


def test_a_qualified_number_is_read_from_its_own_line_not_a_clock_beside_it():
    assert pick(Asked("number", "round"), ["00:00:24.500", "54", "ROUND 2"]) == ("2", 2)
    assert pick(Asked("number", "line"), ["cero", "LINE 62"]) == ("62", 1)
    assert pick(Asked("number"), ["00:00:24.500"]) is None
    assert pick(Asked("url"), ["no address here"]) is None


@pytest.mark.parametrize("question, label", [
    ("Which code appears on screen below the label LICENCE?", "LICENCE"),
    ("Read the code shown with DELIVERY NOTE.", "DELIVERY NOTE"),
    ("Which EBU Tech document number is shown with 'EBU Multichannel Ident'?", "EBU Multichannel Ident"),
    ("Who is credited for music and sound design?", "music and sound design"),
    ("According to the closing credits, who did the animation and design?", "animation and design"),
    ("Who is credited as the director of the video?", "director"),
    ("Who directed the film?", "director"),
    ("Who wrote the script?", "script"),
    ("What is said while the bus is shown?", ""),
])
def test_the_label_a_value_is_read_next_to(question, label):
    assert label_of(question) == label


VOCAB = {"round", "1", "2", "3", "4", "score", "final", "train", "york", "bristol", "delayed", "minute", "bit",
         "rate", "kilobit", "platform", "7", "audio", "narrator"}


def _find(phrase: str) -> int:
    shown = ["round 1", "round 2", "round 3", "round 4", "platform 7"]
    return sum(phrase in s or (" " not in phrase and phrase in s.split()) for s in shown)


def test_a_numbered_thing_the_videos_never_name_while_they_name_its_kind():
    assert unseen_numbered("What score is shown after round 5?", _find) == "round 5"
    assert unseen_numbered("What score is shown after round 3?", _find) == ""
    assert unseen_numbered("Which train leaves from platform 7?", _find) == ""
    assert unseen_numbered("What is shown on page 4?", _find) == ""  # no page is named at all: not this rule's


def test_a_measure_of_another_kind_than_the_one_said():
    assert unknown_measure("What sampling rate does the narrator give for the audio?", VOCAB) == "sampling rate"
    assert unknown_measure("What bit rate does the narrator give?", VOCAB) == ""
    assert unknown_measure("What is the exact rate?", VOCAB) == ""
    assert unknown_measure("Which city's train is announced?", VOCAB) == ""


def test_never_shown_reads_only_what_the_question_is_surely_about():
    assert never_shown(read_question("Which colour word is on screen when the speaker says 'zebra'?"), VOCAB) \
        == "zebra"
    assert never_shown(read_question("When does the narrator say 'bristol'?"), VOCAB) == ""


def _item(n: int, a: float, b: float, text: str, modality: str = "speech") -> Item:
    return Item(n, "v", "station.mp4", Span(a, b), modality, text)


def test_an_amount_is_bound_to_the_names_said_or_shown_with_it():
    bristol = _item(1, 12.8, 16.9, "The train to Bristol is delayed by 15 minutes.")
    york = _item(2, 22.9, 26.8, "The train to York will now depart from platform 7.")
    caption = _item(3, 14.5, 21.5, "DELAYED", "text")
    items = [bristol, york, caption]
    question = "By how many minutes is the train to York delayed?"
    assert not bound(question, [bristol], items, VOCAB)  # York is said 6 s later: another sentence
    assert bound("By how many minutes is the train to Bristol delayed?", [bristol], items, VOCAB)
    assert bound("How many minutes is the delay?", [bristol], items, VOCAB)  # names nothing
    board = _item(4, 12.0, 20.0, "YORK 14:20", "text")
    assert bound(question, [bristol], [*items, board], VOCAB)  # shown at the same moment


def test_colour_names_from_pixels():
    import numpy as np

    from vidgraph.agents.colours import colour_word, shares

    def named(rgb):
        return max(shares(np.full((4, 4, 3), rgb, dtype=np.uint8)).items(), key=lambda kv: kv[1])[0]

    assert [named(c) for c in [(0, 0, 0), (255, 255, 255), (128, 128, 128), (220, 30, 30), (30, 170, 40),
                               (30, 60, 220), (240, 220, 30), (250, 140, 20), (130, 60, 20), (140, 40, 200)]] == \
        ["black", "white", "gray", "red", "green", "blue", "yellow", "orange", "brown", "purple"]
    assert (colour_word("Grey"), colour_word("navy"), colour_word("zebra")) == ("gray", "blue", "")
