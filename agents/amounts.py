"""Amounts read off the evidence by rule, for "how many …" and "how often …" questions the video answers with a
number rather than with things to count: a number said right before the thing ("36 new laptops"), a frequency
("comes back every 20 minutes"), things numbered on screen ("ROUND 1" … "ROUND 4").

Each returns ``(answer, cited item ids, why)`` or None; ``compose`` makes the draft.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .state import Item, Observation
from .words import content, fold, phrase_tokens, related

Read = tuple[str, list[int], str]
_EVERY = re.compile(r"\bevery (\d+|\w+) (seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b|\b(hourly|daily|"
                    r"weekly|monthly|yearly|annually)\b", re.I)


def _found(obs: Sequence[Observation], tools: tuple[str, ...] = ("find", "count")) -> list[Item]:
    return [i for o in obs if getattr(o.call, "tool", "") in tools for i in o.items]


def _said(item: Item) -> str:
    """The sentence or line of an item (a match is shown as "laptops (in: 36 new laptops this month)")."""
    m = re.search(r"\(in: (.*)\)$", item.text)
    return m.group(1) if m else item.text


def stated(target: str, obs: Sequence[Observation]) -> Read | None:
    """The number said or shown right before the thing (at most two words between: "36 new laptops"), when every
    sentence or line naming it that gives one gives the same."""
    head = content(phrase_tokens(target))[-1:]
    if not head:
        return None
    seen: dict[str, list[int]] = {}
    for item in _found(obs, ("find",)):
        said = _said(item)
        words = re.findall(r"\d+(?:[.,]\d+)*|[^\W\d_][\w'’-]*", said)  # "5.1" stays one number, as written
        for k, w in enumerate(words):
            if any(related(t, head[0]) for t in phrase_tokens(w)):
                before = [x for x in words[max(0, k - 3): k] if x[0].isdigit()] or \
                    [t for x in words[max(0, k - 3): k] for t in phrase_tokens(x) if t.isdigit()]  # "eight legs"
                if before:
                    seen.setdefault(before[-1], []).append(item.id)
    if len(seen) != 1:
        return None
    (n, ids), = seen.items()
    return n, ids[:2], f"{n} is said or shown with {head[0]!r}"


def frequency(obs: Sequence[Observation]) -> Read | None:
    """"How often does the bus come back?" said as "every 20 minutes": the one frequency the sentences give."""
    seen: dict[str, int] = {}
    for item in _found(obs, ("find", "count", "search")):
        m = _EVERY.search(_said(item))
        if m:
            seen.setdefault(fold(m.group(0)), item.id)
    if len(seen) != 1:
        return None
    (text, i), = seen.items()
    return text, [i], f"said: {text!r}"


def numbered(target: str, obs: Sequence[Observation]) -> Read | None:
    """"How many rounds does the quiz have?" where lines ROUND 1 … ROUND 4 are shown: the numbered things,
    counted (1 to n, each shown)."""
    head = content(phrase_tokens(target))[-1:]
    if not head:
        return None
    for o in obs:
        if getattr(o.call, "tool", "") not in ("find", "count"):
            continue
        seen: dict[int, int] = {}
        for i in o.items:
            m = re.fullmatch(rf"\W*{re.escape(head[0])}\w*\W*(\d+)\W*", fold(i.text))
            if m and i.modality == "text":
                seen.setdefault(int(m.group(1)), i.id)
        if len(seen) >= 2 and sorted(seen) == list(range(1, max(seen) + 1)):
            n = max(seen)
            return str(n), list(seen.values()), f"{head[0]} 1 to {n} are shown"
    return None
