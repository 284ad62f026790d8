"""Agents that answer questions about the videos of a library (LangGraph), with cited moments as evidence.

    answer = Library("~/videos").ask("What is the locker code?")     # the usual way in
    answer = ask(source, "What is the locker code?")                 # a Source: what the agents may use
    answer.text, answer.citations, answer.trace, answer.cost

Strategies (``strategy=``): ``auto`` (the router picks), ``rag`` (retrieve and answer in one call, the baseline),
``search`` (chain-of-shot search: look, split, move, stop), ``mapreduce`` (every clip read in parallel, findings
reduced: counting, ordering, summaries), ``uniform`` (frames evenly spaced, no memory: the baseline of baselines).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .answer import Answer, Citation, Cost, Step
from .router import STRATEGIES
from .source import Source
from .state import Budget

if TYPE_CHECKING:
    from ..config import Settings
    from ..models.base import ChatModel


def check_question(question: str, options: Sequence[str] | None = None, strategy: str = "auto",
                   folder: str | Path | None = None) -> tuple[str, list[str]]:
    """The question and options with their whitespace folded, or a ``ConfigError`` saying what to fix."""
    question = " ".join(question.split())
    if not question:
        raise ConfigError("the question is empty",
                          f"ask a question, e.g. vidgraph ask {folder or '~/videos'} \"who speaks first?\"")
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}", f"choose one of: {', '.join(STRATEGIES)}")
    options = [" ".join(o.split()) for o in options or []]
    if len(options) == 1 or len(options) > 10:
        raise ConfigError(f"{len(options)} option{'' if len(options) == 1 else 's'} given",
                          "give --option between 2 and 10 times, or not at all (in Python: 2 to 10 options)")
    if any(not o for o in options):
        raise ConfigError("an option is empty", "give each --option some text")
    twice = next((o for i, o in enumerate(options) if o.casefold() in (p.casefold() for p in options[:i])), None)
    if twice is not None:
        raise ConfigError(f"the option {twice!r} is given twice", "give each choice once")
    return question, options


def ask(source: Source, question: str, options: Sequence[str] | None = None, strategy: str = "auto",
        model: ChatModel | str | None = None, videos: Sequence[str] | None = None, budget: Budget | None = None,
        on_step: Callable[[Step], None] | None = None, settings: Settings | None = None) -> Answer:
    """Answer ``question`` over ``videos`` (ids; default every video in the source's memory)."""
    from ..config import load_settings
    from ..models import resolve_model
    from .graph import compiled
    from .kit import Kit

    question, options = check_question(question, options, strategy)
    settings = settings or load_settings()
    chat = resolve_model(model, settings)
    vlm = resolve_model(settings.vlm, settings) if settings.vlm else None
    scope = list(videos) if videos is not None else source.memory.videos()
    if not scope:
        raise ConfigError("there are no indexed videos with a memory to ask about", "run: vidgraph index FOLDER")
    from .named import named_videos
    from .router import asks_which_video

    named = [] if asks_which_video(question) else named_videos(question, source.names, scope)
    if named:
        scope = named  # "how many shots are in the janus video?" counts that video's shots, not the folder's
    calls = settings.agent_calls if settings.agent_calls != "auto" else "free" if chat.native_tools else "menu"
    kit = Kit(source, chat, budget or Budget(), scope, vlm, on_step, calls)
    state = compiled().invoke({"question": question, "options": options, "strategy": strategy, "videos": scope},
                              context=kit, config={"recursion_limit": 200})
    return kit.answer(question, options, state["final"], state.get("trace", []), state["strategy"])


__all__ = ["STRATEGIES", "Answer", "Budget", "Citation", "Cost", "Source", "Step", "ask", "check_question"]
