"""A question that names a video ("in the janus video", "the big buck bunny clip", "in opencv_vtest.avi") is asked
about that video only: a count, an order or a list over every video of a folder answers another question.

A video is named by its file name, its stem, or words of its name next to "video", "clip", "file", "recording",
"movie" or "film" — words no other video's name has. Plain words of a name alone ("do they work together?" with
``work_together.mp4``) name nothing: they are what the question is about, not where to look.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePath

from .words import fold

_NOUN = r"(?:video|clip|file|recording|movie|film)s?"
_SPLIT = re.compile(r"[^0-9a-z]+")
_GENERIC = {"the", "a", "an", "of", "and", "in", "on", "video", "clip", "file", "mp4", "mkv", "webm", "mov", "avi",
            "ts", "final", "new", "copy", "part", "example", "sample", "test", "other", "same", "this", "that", "first",
            "second", "third", "last", "next", "previous", "main", "short", "long", "full"}


def _words(name: str) -> list[str]:
    return [w for w in _SPLIT.split(fold(PurePath(name).stem)) if w]


def named_videos(question: str, names: Mapping[str, str], scope: Sequence[str]) -> list[str]:
    """The videos of ``scope`` (ids) that ``question`` names (``names``: id -> file name), in scope order."""
    if len(scope) < 2:
        return []
    q = fold(question)
    flat = " ".join(_SPLIT.split(q))
    words = {vid: _words(names.get(vid, "")) for vid in scope}
    counts: dict[str, int] = {}
    for ws in words.values():
        for w in set(ws):
            counts[w] = counts.get(w, 0) + 1
    hits = []
    for vid in scope:
        name = fold(PurePath(names.get(vid, "")).name)
        if name and (name in q or (len(PurePath(name).stem) >= 4 and re.search(
                rf"(?<![\w.]){re.escape(PurePath(name).stem)}(?![\w])", q))):
            hits.append(vid)
            continue
        own = [w for w in words[vid] if counts[w] == 1 and w not in _GENERIC and len(w) >= 3 and not w.isdigit()]
        if not own:
            continue
        alt = "|".join(re.escape(w) for w in own)
        run = rf"(?:(?:{alt}) ){{0,3}}(?:{alt})"  # one to four words of its name, in any order
        if re.search(rf"\b{run} {_NOUN}\b", flat) or re.search(rf"\b{_NOUN} (?:called |named )?{run}\b", flat):
            hits.append(vid)
    return hits


__all__ = ["named_videos"]
