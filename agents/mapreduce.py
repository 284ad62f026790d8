"""MapReduce: every event in scope (or the best ``MAP_EVENTS`` by retrieval) packed into clip groups within the
call budget, read in parallel (LangGraph ``Send``), findings reduced in time order into one cited draft."""

from __future__ import annotations

import time

from langgraph.types import Send

from ..models.base import Message
from ..prompts import load, quote
from ..records import Span
from .drafts import OBSERVATIONS, Rt, describe_draft, draft_of, failed, query_text, ranked_items, schema_for
from .kit import evidence_block, question_block
from .schemas import Draft, MapReply
from .state import Item, MapTask, Shot, State


MAP_EVENTS = 48
"""MapReduce reads every event of a video up to this many, else the best this many by retrieval."""


CHUNK_CHARS = 2400


def map_plan(state: State, runtime: Rt) -> dict:
    """Every event in scope (or the best ``MAP_EVENTS``), its evidence in time order, packed into chunks."""
    kit = runtime.context
    events = [e for v in kit.videos for e in kit.memory.events(v)]
    how = f"all {len(events)} events"
    if len(events) > MAP_EVENTS:
        hits = kit.memory.search(query_text(state), videos=kit.videos, k=MAP_EVENTS, expand=True)
        keep = {(h.video_id, h.event.index) for h in hits}
        how = f"the best {len(keep)} of {len(events)} events"
        events = [e for e in events if (e.video_id, e.index) in keep]
    items = [i for e in events for i in kit.event_items(e) if i.modality != "tags"]  # scene classes: too noisy
    chunks = _pack(items, CHUNK_CHARS, max(1, kit.calls_left() - 2))
    read = sum(len(c) for c in chunks)
    detail = f"{how} → {len(chunks)} clip groups ({read} of {len(items)} evidence lines)"
    return {"items": items, "chunks": [[i.id for i in c] for c in chunks],
            "chain": [Shot(e.video_id, e.span, 0.0, e.index) for e in events],
            "trace": [kit.step("planned", detail)]}


def _pack(items: list[Item], limit: int, most: int) -> list[list[Item]]:
    """Items grouped in order, each group at most ``limit`` characters; at most ``most`` groups (bigger groups
    first, then the tail is dropped)."""
    def pack(size: int) -> list[list[Item]]:
        out: list[list[Item]] = [[]]
        used = 0
        for item in items:
            n = len(item.line())
            if out[-1] and used + n > size:
                out.append([])
                used = 0
            out[-1].append(item)
            used += n
        return [c for c in out if c]

    chunks = pack(limit)
    if len(chunks) > most:
        chunks = pack(min(2 * limit, sum(len(i.line()) for i in items) // most + 1))
    return chunks[:most]


def fan_out(state: State, runtime: Rt) -> list[Send] | str:
    kit = runtime.context
    if not state.get("chunks"):
        return "reduce"
    return [Send("map_clips", MapTask(question=state["question"], options=state.get("options", []),
                                      chunk=chunk, items=[kit.items[i] for i in chunk]))
            for chunk in state["chunks"]]


def map_clips(task: MapTask, runtime: Rt) -> dict:
    """One clip group: what in it bears on the question, with the lines it comes from (or nothing)."""
    kit = runtime.context
    items = task["items"]
    start = time.perf_counter()
    try:
        data, usage = kit.chat([Message.system(load("map").text),
                                Message.user(question_block(task["question"], task["options"]),
                                             "Evidence:\n" + evidence_block(items, 10 ** 6))], MapReply, 300)
    except OBSERVATIONS as e:
        return failed(kit, "map", e)
    ids = {i.id for i in items}
    found = []
    for f in data.findings:
        cited = [i for i in f.evidence if i in ids]
        if f.fact.strip() and cited:
            found.append({"fact": f.fact.strip(), "evidence": cited})
    span = Span(min(i.span.start for i in items), max(i.span.end for i in items))
    what = "; ".join(f["fact"][:60] for f in found) or "nothing relevant"
    return {"findings": found, "trace": [kit.step("mapped", what, items[0].video_id, span,
                                                   time.perf_counter() - start, usage.calls)]}


def reduce(state: State, runtime: Rt) -> dict:
    kit = runtime.context
    findings = sorted(state.get("findings", []), key=lambda f: min((kit.items[i].video_id, kit.items[i].span.start)
                                                                   for i in f["evidence"]))
    if findings:
        lines = []
        for n, f in enumerate(findings, 1):
            first = kit.items[f["evidence"][0]]
            refs = ", ".join(f"[{i}]" for i in f["evidence"])
            lines.append(f"({n}) {first.video} {first.span}: {quote(f['fact'], 300)} {refs}")
        cited = [kit.items[i] for f in findings for i in f["evidence"]]
        body = "Findings in time order:\n" + "\n".join(lines) + "\n\nTheir evidence lines:\n" + \
            evidence_block(list(dict.fromkeys(cited)), 2500)
    elif state.get("options"):
        body = load("no_findings").text + "\n" + evidence_block(ranked_items(state, kit), 2500)
    else:
        return {"draft": None, "trace": [kit.step("reduced", "no clip reported anything relevant")]}
    start = time.perf_counter()
    try:
        data, usage = kit.chat([Message.system(load("reduce").text),
                                Message.user(question_block(state["question"], state.get("options", [])), body)],
                               schema_for(Draft, state))
    except OBSERVATIONS as e:
        return {"draft": None, **failed(kit, "reduce", e)}
    draft = draft_of(data, kit.items)
    return {"draft": draft, "trace": [kit.step("reduced", f"{len(findings)} findings → " +
                                               describe_draft(draft, state), seconds=time.perf_counter() - start,
                                               calls=usage.calls)]}
