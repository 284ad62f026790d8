"""Which strategy answers a question: from its wording and the size of what it is asked about.

- ``mapreduce`` for questions about the whole video: counting, ordering, summaries;
- ``search`` (chain-of-shot) for finding something: a needle, a moment, which video shows it;
- ``rag`` when everything fits in one prompt (a few events), or when forced as the baseline.

Rules, not a model call: routing is instant, deterministic and testable; the user can force any strategy.
"""

from __future__ import annotations

import re

STRATEGIES = ("auto", "tools", "classic", "rag", "search", "mapreduce", "uniform")
"""``auto`` is ``tools`` (the tool loop); ``classic`` is the first design's routing by wording (rag, chain-of-shot
search or MapReduce), kept to compare against."""

_COUNT = re.compile(r"\bhow (many|often)\b|\bnumber of (times|people|things)\b|\bcount\b|\bhow much times\b", re.I)
_ORDER = re.compile(r"\b(before|after|first|last|order|sequence|earlier|later|followed)\b", re.I)
_WHOLE = re.compile(r"\b(summar\w*|overall|main (topic|idea|theme|point)s?|about\??$|throughout|whole video|"
                    r"entire video|all the|every)\b", re.I)
_WHEN = re.compile(r"\bwhen\b|\bwhat time\b|\bat what (point|moment)\b", re.I)
_MULTI = re.compile(r"\bwhich (of the )?(videos?|files?|clips?|recordings?)\b", re.I)
SMALL = 10
"""With at most this many events in scope, one prompt reads them all (``rag`` over everything)."""


def asks_when(question: str) -> bool:
    """Is the answer a moment ("when is ... said?")?"""
    return bool(_WHEN.search(question))


def asks_which_video(question: str) -> bool:
    """Is the answer a video ("which video shows ...")?"""
    return bool(_MULTI.search(question))


def is_counting(question: str) -> bool:
    """Does the question ask how many / how often?"""
    return bool(_COUNT.search(question))


def route(question: str, events: int) -> tuple[str, str]:
    """``(strategy, why)`` for a question over ``events`` memory events."""
    if _MULTI.search(question):
        return "search", "asks which video: search across videos"
    for pattern, why in ((_COUNT, "counting"), (_ORDER, "ordering"), (_WHOLE, "about the whole video")):
        if pattern.search(question):
            if events <= SMALL:
                return "rag", f"{why}, and {events} events fit in one prompt"
            return "mapreduce", f"{why}: read every clip"
    if events <= SMALL:
        return "rag", f"{events} events fit in one prompt"
    return "search", "find the moment: chain-of-shot search"
