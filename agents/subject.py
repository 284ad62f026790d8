"""Is what the question asks about in the videos at all, and is an answer's evidence about *it*? Checks by rule on
the index's own words (no model):

- ``never_shown``: a word of what the question is surely about that no video says or shows ("zebra");
- ``unseen_numbered``: a numbered thing the videos never name although they name its kind ("round 5" where rounds
  1-4 are shown);
- ``unknown_measure``: a measure whose kind the videos never name ("sampling rate" where only a bit rate is said);
- ``bound``: an amount answers a question naming a place or a person only where it is said or shown with that name
  ("delayed by 15 minutes" is the Bristol train's, not the York train's).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .intent import Intent
from .state import Item
from .typed import NUMBERED
from .words import GENERIC, content, fold, ordinal, phrase_tokens, similar

_NUMBERED = re.compile(rf"\b({'|'.join(NUMBERED)}|episode|table|slide|question|part|stage|locker|row|zone|item|card|"
                       r"lot|rack|case|ticket|invoice|bus|car|player|team|week|day|lesson|unit|section|figure|box)s? "
                       r"(?:no\.? |number )?(\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b")
_AMOUNT = re.compile(r"\b(?:by|costs?|costing|weighs?|weighing|lasts?|lasting|takes?|of) (\d+(?:[.,]\d+)?) "
                     r"(minutes?|seconds?|hours?|days?|weeks?|years?|euros?|dollars?|pounds?|kilograms?|kilos?|grams?|"
                     r"kilometres?|kilometers?|miles?|metres?|meters?|percent|people|points?|degrees?)\b")
"""An amount a question gives as what its subject is ("delayed by 40 minutes", "costs 5 euros")."""
_MEASURES = r"(?:rate|speed|frequency|temperature|price|cost|fee|size|weight|length|width|height|depth|distance|" \
            r"duration|capacity|voltage|pressure|resolution|ratio|population|budget|salary|score|age|address|number)"
_PLAIN = set("""exact total main average maximum minimum overall current new old final first last given stated quoted
correct actual approximate typical usual full whole same other real official original top best worst highest lowest
starting opening closing estimated expected required recommended""".split())


def vocabulary_has(word: str, vocabulary: set[str]) -> bool:
    """Is ``word`` (folded) said or shown somewhere, up to an ASR/OCR slip?"""
    w = word.replace("-", "")
    return w in vocabulary or any(similar(w, v) for v in vocabulary if len(v) >= 6 and abs(len(v) - len(w)) <= 2)


def never_shown(intent: Intent, vocabulary: set[str]) -> str:
    """A word of what the question is surely about that no video says or shows (nor anything close), or ""."""
    vocab = {v.replace("-", "") for v in vocabulary}
    if intent.kind == "during" and intent.modality == "speech" and intent.targets and not intent.sure:
        words = [w for w in content(phrase_tokens(intent.targets[0])) if len(w) > 2 and w not in GENERIC]
        last = words[-1].replace("-", "") if words else ""  # "when the cook says to add salt": the salt
        return last if last and not last.endswith(("ed", "ing")) and not vocabulary_has(last, vocab) else ""
    if not intent.sure or intent.kind not in ("lookup", "quantity", "when", "during", "which_video"):
        return ""
    for target in intent.targets:
        for w in content(phrase_tokens(target)):
            w = w.replace("-", "")
            if len(w) > 2 and w not in GENERIC and not w.endswith(("ed", "ing")) and ordinal(w) is None \
                    and not vocabulary_has(w, vocab):
                return w
    return ""


def unseen_numbered(question: str, find) -> str:
    """A numbered thing the question names ("round 5") that no video says or shows while its kind ("round") is
    said or shown: ``find(phrase)`` counts the literal occurrences of a phrase. "" when there is none."""
    q = " ".join(fold(question).split())
    for m in _NUMBERED.finditer(q):
        kind, n = m.group(1), m.group(2)
        if re.search(rf"\b(?:first|last|next|past) {re.escape(n)}\b", q[max(0, m.start() - 6): m.end()]):
            continue
        if find(f"{kind} {n}") == 0 and find(kind) > 0:
            return f"{kind} {n}"
    for m in _AMOUNT.finditer(q):  # "which train is delayed by 40 minutes" where delays of 15 and 25 are said
        n, unit = m.group(1), m.group(2)
        if find(f"{n} {unit}") == 0 and find(unit) > 0:
            return f"{n} {unit}"
    return ""


def unknown_measure(question: str, vocabulary: set[str]) -> str:
    """A measure named by a word no video says or shows while the measure itself is said ("sampling rate" where
    only "bit rate" is): the question asks for another quantity. "" when there is none."""
    q = " ".join(fold(question).split())
    for m in re.finditer(rf"\b([a-z][a-z-]{{3,}}) {_MEASURES}\b", q):
        word = m.group(1)
        head = m.group(0).split()[-1]
        if word in _PLAIN or word in GENERIC or word.endswith("ly") or word in ("what", "which", "whose", "their",
                                                                               "your", "this", "that", "much"):
            continue
        if vocabulary_has(head, vocabulary) and not vocabulary_has(_stem(word), vocabulary) \
                and not vocabulary_has(word, vocabulary):
            return m.group(0)
    return ""


_VEHICLES = {"tram": "train", "streetcar": "train", "locomotive": "train", "lorry": "truck", "van": "truck",
             "taxi": "car", "cab": "car", "automobile": "car", "coach": "bus", "motorbike": "motorcycle",
             "bike": "bicycle", "ship": "boat", "plane": "airplane", "aeroplane": "airplane", "jet": "airplane"}
"""Things a question may say a value is written on, as the detector names them (COCO)."""
_DETECTABLE = {"train", "truck", "car", "bus", "motorcycle", "bicycle", "boat", "airplane", "laptop", "tv",
               "suitcase", "cup", "bottle", "book", "clock"}


def unseen_holder(question: str, vocabulary: set[str]) -> str:
    """The detectable thing a value is said to be written on ("the number written on the tram") when the
    detector never saw one and no video names it: "" otherwise (a board or a sign cannot be told from text)."""
    q = " ".join(fold(question).split())
    m = re.search(r"\b(?:written|shown|printed|displayed|painted|visible|seen|displayed)?\s*(?:on|of) (?:the|a|an) "
                  r"([a-z]+)\b", q)
    if not m:
        return ""
    noun = _stem(m.group(1))
    label = _VEHICLES.get(noun, noun)
    if label in _DETECTABLE and label not in vocabulary and noun not in vocabulary:
        return m.group(1)
    return ""


def _stem(word: str) -> str:
    return phrase_tokens(word)[0] if phrase_tokens(word) else word


_NAME = re.compile(r"(?<![.?!:]\s)(?<!^)\b([A-Z][a-z]{2,}(?:[-'][A-Z]?[a-z]+)?)\b")


def bound(question: str, cited: Sequence[Item], items: Sequence[Item], vocabulary: set[str]) -> bool:
    """Does the evidence of an amount hold the names the question gives (in the cited item, or in what is said
    or shown at the same moment)? A question naming nothing is bound to anything."""
    names = [fold(m.group(1)).removesuffix("'s") for m in _NAME.finditer(question.strip())]
    names = [n for n in names if n in vocabulary and n not in GENERIC]
    if not names:
        return True
    for c in cited:
        near = {t for i in [c, *items] if i.video_id == c.video_id and (i is c or _touch(i, c))
                for t in phrase_tokens(i.text)}
        if all(any(similar(n, t) for t in near) for n in names):
            return True
    return False


def _touch(a: Item, b: Item) -> bool:
    return a.span.start <= b.span.end + 0.5 and b.span.start <= a.span.end + 0.5
