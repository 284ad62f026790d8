"""Retrieve-and-answer (one call over the best evidence: the baseline) and the uniform-frames baseline (no
memory: frames evenly spaced over each video, read by the tools, answered in one call)."""

from __future__ import annotations

import time

from ..models.base import Message
from ..prompts import load
from ..records import Span
from . import router
from .drafts import OBSERVATIONS, Rt, describe_draft, draft_of, failed, query_text, ranked_items, schema_for
from .kit import evidence_block, question_block
from .schemas import Draft
from .state import Shot, State


def rag_retrieve(state: State, runtime: Rt) -> dict:
    kit = runtime.context
    shots, items, step = kit.retrieve(query_text(state), k=8)
    events = [e for v in kit.videos for e in kit.memory.events(v)]
    if len(events) <= router.SMALL:  # everything fits in one prompt: read it all, best matches first
        items += [i for e in events for i in kit.event_items(e)]
    return {"chain": shots, "items": items, "trace": [step]}


def answer(state: State, runtime: Rt) -> dict:
    """One call: the question and the evidence in, a cited draft out."""
    kit = runtime.context
    items = ranked_items(state, kit)
    start = time.perf_counter()
    try:
        data, usage = kit.chat([Message.system(load("answer").text),
                                Message.user(question_block(state["question"], state.get("options", [])),
                                             "Evidence:\n" + evidence_block(items))], schema_for(Draft, state))
    except OBSERVATIONS as e:
        return {"draft": None, **failed(kit, "answer", e)}
    draft = draft_of(data, kit.items)
    return {"draft": draft, "trace": [kit.step("drafted", describe_draft(draft, state), seconds=time.perf_counter()
                                               - start, calls=usage.calls)]}


def uniform_look(state: State, runtime: Rt) -> dict:
    """N frames evenly spaced over each video, read by the tools (and the VLM when there is one)."""
    kit = runtime.context
    items, trace = [], []
    per_video = max(1, kit.budget.looks // max(1, len(kit.videos)))
    for v in kit.videos:
        duration = kit.source.durations.get(v, 0.0)
        width = duration / per_video
        for n in range(per_video):
            shot = Shot(v, Span(round(n * width, 3), round(min(duration, (n + 1) * width), 3)), 0.0)
            try:
                found, step = kit.look(shot, state["question"])
            except OBSERVATIONS as e:
                trace += failed(kit, "look", e)["trace"]
                break
            items += found
            trace.append(step)
    return {"items": items, "trace": trace}
