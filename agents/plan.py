"""The calls a question starts with, by rule: the ones its kind suggests (``Intent.calls``), a search, and the reads
a wording asks for first — the lines shown with a label it names, the title as the video shows it, the video in
time order for "which animal is named first", the start or the end of each video for "at the very end"."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .intent import Call, Intent, window
from .kit import Kit
from .typed import label_of
from .words import fold

_TITLE = re.compile(r"\bwhat(?:'s| is| was) the (?:main |full )?title\b(?! (?:card|of the (?:first|second|third|last|"
                    r"next)))")
_FIRST = re.compile(r"^which (\w+) (?:is|was|gets?) (?:named|mentioned|said|shown|seen|heard|listed) (first|last)\b")


def first_calls(intent: Intent, question: str, options: Sequence[str], kit: Kit) -> list[Call]:
    """The suggested calls for ``question``, best first (the first one runs without a model)."""
    search = Call("search", {"query": " ".join([question, *options])})
    calls = [search] if intent.kind == "lookup" else [*intent.calls(), search]
    if intent.kind != "lookup":
        return calls
    q = fold(question)
    label = label_of(question)
    shown = kit.query.find(label, "text") if label else None  # "below the label LICENCE": the lines shown with it
    if shown is not None and shown.found and shown.note != "semantic":
        calls = [Call("screen", {"query": label}), *calls]
    if _TITLE.search(q):  # as the video shows it
        calls = [*(Call("title", {"video": v}) for v in kit.videos[:1]), *calls]
    if _FIRST.search(q) and len(kit.videos) == 1:  # "which animal is named first": the video in time order
        calls = [Call("read", {"video": kit.videos[0]}), *calls]
    where = window(question)
    if where is not None:  # "what title is shown at the very start": first read that part of each video
        calls = [*_reads(kit, where, intent.modality), *calls]
    return calls


def _reads(kit: Kit, where: tuple[str, float], modality: str) -> list[Call]:
    """Reading the start or the end of each video in scope (at most three)."""
    out = []
    for v in kit.videos[:3]:
        d = kit.source.durations.get(v, 0.0)
        a, b = (0.0, min(where[1], d or where[1])) if where[0] == "start" else (max(0.0, d - where[1]), d)
        if b > a:
            out.append(Call("read", {"video": v, "start": round(a, 2), "end": round(b, 2), "modality": modality}))
    return out
