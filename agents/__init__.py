"""Agents that answer questions about the videos of a library (LangGraph), with cited moments as evidence.

    answer = ask(library, "What is the locker code?")
    answer.text, answer.citations, answer.trace, answer.cost

Strategies (``strategy=``): ``auto`` (the router picks), ``rag`` (retrieve and answer in one call, the baseline),
``search`` (chain-of-shot search: look, split, move, stop), ``mapreduce`` (every clip read in parallel, findings
reduced: counting, ordering, summaries), ``uniform`` (frames evenly spaced, no memory: the baseline of baselines).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..records import Answer, Step
from .router import STRATEGIES
from .state import Budget

if TYPE_CHECKING:
    from ..library import Library
    from ..models.base import ChatModel


def ask(library: Library, question: str, options: Sequence[str] | None = None, strategy: str = "auto",
        model: ChatModel | str | None = None, videos: Sequence[str] | None = None, budget: Budget | None = None,
        on_step: Callable[[Step], None] | None = None) -> Answer:
    """Answer ``question`` over ``videos`` (ids; default every video in the memory) of an indexed library."""
    from ..models import load_model
    from .graphs import compiled
    from .kit import Kit

    question = " ".join(question.split())
    if not question:
        raise ConfigError("the question is empty", "ask a question, e.g. vidgraph ask ~/videos \"who speaks first?\"")
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}", f"choose one of: {', '.join(STRATEGIES)}")
    options = [" ".join(o.split()) for o in options or []]
    if len(options) == 1 or len(options) > 10:
        raise ConfigError(f"{len(options)} options given", "give between 2 and 10 options, or none")
    settings = library.settings
    chat = model if model is not None and not isinstance(model, str) else load_model(model or settings.llm, settings)
    vlm = load_model(settings.vlm, settings) if settings.vlm else None
    scope = list(videos) if videos is not None else library.memory.videos()
    if not scope:
        raise ConfigError(f"{library.folder} has no indexed videos with a memory",
                          f"run: vidgraph index {library.folder}")
    kit = Kit(library, chat, budget or Budget(), scope, vlm, on_step)
    state = compiled().invoke({"question": question, "options": options, "strategy": strategy, "videos": scope},
                              context=kit, config={"recursion_limit": 200})
    return kit.answer(question, options, state["final"], state.get("trace", []), state["strategy"])


__all__ = ["STRATEGIES", "Budget", "ask"]
