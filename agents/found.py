"""What the query tools return: evidence they found (``Found``) and their computed results (``Result``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..records import Span


@dataclass(frozen=True, slots=True)
class Found:
    """One cited piece of evidence a tool found: where, in what modality, and the words seen or heard there."""

    video_id: str
    span: Span
    modality: str
    text: str
    context: str = ""
    """The surrounding sentence (speech) or line, when ``text`` is only the matched part."""
    score: float = 1.0
    speaker: str = ""
    """Who says it (speech, when the speakers stage ran): the speaker's name, else its label."""


@dataclass(frozen=True)
class Result:
    """A tool's answer: its computed ``value`` (a count, an order, a span, a list), a one-line ``summary``, and
    the evidence it rests on (``found``), in time order."""

    tool: str
    args: dict[str, Any]
    value: Any
    summary: str
    found: tuple[Found, ...] = ()
    note: str = ""
    """How it matched (exact, fuzzy, semantic) or why it found nothing."""

    @property
    def empty(self) -> bool:
        return not self.found
