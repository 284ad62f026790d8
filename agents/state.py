"""What the agents carry while answering: budget, evidence items, the chain of candidate shots, the state.

Every piece of evidence is an ``Item`` with a number the models cite (``[3]``), the moment it comes from and its
modality. The graph state is a ``TypedDict``; lists that several nodes extend (evidence, trace, findings) are
merged by concatenation, so parallel MapReduce branches never overwrite each other.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from ..errors import ConfigError
from ..prompts import quote
from ..records import Span
from .answer import Step


@dataclass(frozen=True)
class Budget:
    """Limits per question. ``seconds`` is wall time; the answer reports what was used."""

    looks: int = 3
    """Dense re-samplings of a span (frames decoded and analysed)."""
    calls: int = 10
    """Model calls (every strategy; MapReduce plans its map calls within it)."""
    seconds: float = 300.0
    frames_per_look: int = 8
    steps: int = 6
    """Chain-of-shot decisions."""

    def __post_init__(self) -> None:
        for name in ("looks", "calls", "seconds", "frames_per_look", "steps"):
            value = getattr(self, name)
            if value < 0 or (name != "looks" and value <= 0):
                raise ConfigError(f"--{name} {value:g} is out of range",
                                  "--looks takes 0 or more; --calls, --seconds and the other limits more than 0")


@dataclass(frozen=True)
class Item:
    """One piece of evidence the models see and cite by ``id``."""

    id: int
    video_id: str
    video: str
    span: Span
    modality: str
    """speech, text, objects, tags, caption (from the index) or look:text, look:objects, look:tags, look:caption."""
    text: str
    event: int = -1
    speaker: str = ""
    """Who says it (speech), when known."""

    def line(self) -> str:
        said = f" ({self.speaker})" if self.speaker else ""
        return f"[{self.id}] {self.video} {self.span} {self.modality}{said}: {quote(self.text, 600)}"


@dataclass(frozen=True)
class Observation:
    """What one tool call returned: its computed value and summary, and the numbered evidence it rests on."""

    id: int
    call: Any
    """The ``intent.Call`` that was run."""
    value: Any
    summary: str
    items: tuple[Item, ...] = ()
    note: str = ""
    total: int = 0
    """How many pieces of evidence the tool found (``items`` holds the first of them)."""

    def block(self, lines: int = 8) -> str:
        """The observation as the model reads it: the call, the computed summary, then its evidence lines."""
        head = f"O{self.id} {self.call} -> {quote(self.summary, 300)}"
        more = f"\n  (+{self.total - lines} more)" if self.total > lines else ""
        return "\n".join([head, *("  " + i.line() for i in self.items[:lines])]) + more


@dataclass
class Shot:
    """A candidate moment in the chain of shots: where, how promising, and what was done to it already."""

    video_id: str
    span: Span
    score: float
    event: int = -1
    why: str = ""
    depth: int = 0
    """0 for an event of the memory; +1 for each split."""
    done: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return f"{self.video_id}:{self.span.start:.2f}-{self.span.end:.2f}"


class State(TypedDict, total=False):
    """The graph state (LangGraph). Nodes return partial updates."""

    question: str
    options: list[str]
    videos: list[str]
    strategy: str
    fallback: str
    """The strategy the graph fell back to (MapReduce without support searches for the moment)."""
    items: Annotated[list[Item], operator.add]
    trace: Annotated[list[Step], operator.add]
    chain: list[Shot]
    findings: Annotated[list[dict], operator.add]
    chunks: list[list[int]]
    draft: dict | None
    pending: dict | None
    verdict: dict | None
    steps: int
    rounds: int
    final: dict | None
    intent: Any
    """The tool loop: what the question asks (``intent.Intent``)."""
    suggested: list[Any]
    """The tool loop: calls worth making next (``intent.Call``)."""
    observations: Annotated[list[Observation], operator.add]
    done_calls: Annotated[list[str], operator.add]
    talk: list[tuple[str, str, Any]]
    """The tool loop's conversation with the model so far (role, text, the assistant's tool call or the call id a
    tool reply answers)."""
    note: str
    """The tool loop: why the model's last call was not run (the next prompt says it)."""
    misses: int
    """The tool loop: how many of the model's calls in a row were not run (after two it is asked no more)."""
    shown: int
    decision: dict | None
    rejected: str
    offered: bool
    stop: bool
    """The tool loop stops: nothing could answer (what the question is about is never said or shown)."""
    refused: Annotated[list[str], operator.add]
    """Answers the tool loop rejected (the same one again ends the loop)."""
    """Whether the model was offered calls at its last turn (a lookup first only reads)."""


class MapTask(TypedDict):
    """The input of one MapReduce branch (sent with ``Send``)."""

    question: str
    options: list[str]
    chunk: list[int]
    items: list[Item]
