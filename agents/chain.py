"""Chain-of-shot search: a ranked chain of candidate moments from retrieval; at each step the model answers or
picks an action on one candidate — look (dense frames read by the tools), split (halves with their evidence),
previous / next / entity (graph moves) or stop. An impossible choice falls back to the next useful action."""

from __future__ import annotations

import time
from typing import Any

from ..models.base import Message
from ..prompts import load, quote
from .drafts import OBSERVATIONS, Rt, describe_draft, draft_of, failed, query_text, ranked_items, schema_for
from .kit import Kit, evidence_block, question_block
from .schemas import Decision
from .state import Shot, State


def search_retrieve(state: State, runtime: Rt) -> dict:
    kit = runtime.context
    shots, items, step = kit.retrieve(query_text(state), k=6)
    update: dict[str, Any] = {"chain": shots, "items": items, "trace": [step], "pending": None}
    if state["strategy"] != "search":  # a fallback (MapReduce found no support): say so, then search
        update["fallback"] = "search"
        update["trace"] = [kit.step("routed", f"{state['strategy']} found no supported answer: chain-of-shot search "
                                              "for the moment itself"), step]
    return update


def decide(state: State, runtime: Rt) -> dict:
    """Answer from the evidence so far, or choose the next action on one candidate."""
    kit = runtime.context
    steps = state.get("steps", 0)
    if steps >= kit.budget.steps:
        return {"pending": {"action": "stop"},
                "trace": [kit.step("budget", f"all {kit.budget.steps} search steps used")]}
    chain = _shown(state.get("chain", []))
    items = ranked_items(state, kit)
    rejected = (state.get("verdict") or {}).get("reason")
    note = "\n" + load("rejected").render(reason=quote(rejected, 300)) if rejected else ""
    start = time.perf_counter()
    try:
        data, usage = kit.chat([Message.system(load("search").text),
                                Message.user(question_block(state["question"], state.get("options", [])) + note,
                                             "Evidence:\n" + evidence_block(items, 3000),
                                             "Candidate moments:\n" + _candidates(chain, kit))],
                                schema_for(Decision, state), 300)
    except OBSERVATIONS as e:
        return {"pending": {"action": "stop"}, "steps": steps + 1, **failed(kit, "decide", e)}
    seconds = time.perf_counter() - start
    if data.found:
        draft = draft_of(data, kit.items)
        return {"draft": draft, "pending": None, "steps": steps + 1,
                "trace": [kit.step("drafted", describe_draft(draft, state), seconds=seconds, calls=usage.calls)]}
    pending = {"action": data.action, "target": data.target}
    return {"pending": pending, "steps": steps + 1, "draft": draft_of(data, kit.items) if data.option else
            state.get("draft"),
            "trace": [kit.step("decided", f"{data.action} #{data.target}", seconds=seconds, calls=usage.calls)]}


def after_decide(state: State) -> str:
    if state.get("pending") is not None:
        return "act" if state["pending"]["action"] != "stop" else "verify"
    return "verify"


def act(state: State, runtime: Rt) -> dict:
    """Carry out the chosen action; an impossible choice falls back to the next useful one, errors are recorded
    on the candidate and shown to the model at the next step."""
    kit = runtime.context
    chain = [Shot(s.video_id, s.span, s.score, s.event, s.why, s.depth, set(s.done)) for s in state["chain"]]
    shown = _shown(chain)
    pending = state.get("pending") or {}
    action, target = pending.get("action", "look"), int(pending.get("target") or 1)
    shot = shown[target - 1] if 1 <= target <= len(shown) else None
    if shot is None or not _possible(action, shot, kit):
        action, shot = _fallback(shown, kit)
    if shot is None:
        return {"pending": None, "trace": [kit.step("budget", "nothing left to look at within the budget")]}
    shot.done.add(action)
    new_shots: list[Shot] = []
    try:
        if action == "look":
            items, step = kit.look(shot, state["question"])
        elif action == "split":
            new_shots, items, step = kit.split(shot)
        else:
            new_shots, items, step = kit.move(shot, action)
    except OBSERVATIONS as e:
        shot.done.add(f"{action} failed: {getattr(e, 'message', None) or e}")
        return {"chain": chain, "pending": None, **failed(kit, action, e)}
    known = {s.key for s in chain}
    chain += [s for s in new_shots if s.key not in known]
    chain.sort(key=lambda s: -s.score)
    return {"chain": chain, "items": items, "pending": None, "trace": [step]}


def _shown(chain: list[Shot], n: int = 6) -> list[Shot]:
    return chain[:n]


def _candidates(chain: list[Shot], kit: Kit) -> str:
    lines = []
    for n, s in enumerate(chain, 1):
        done = f"; done: {', '.join(sorted(s.done))}" if s.done else ""
        lines.append(f"#{n} {kit.name(s.video_id)} {s.span} ({s.span.duration:.0f} s; {quote(s.why, 80)}{done})")
    return "\n".join(lines) or "(none)"


def _possible(action: str, shot: Shot, kit: Kit) -> bool:
    if action in shot.done:
        return False
    if action == "look":
        return kit.looks < kit.budget.looks
    if action == "split":
        return shot.span.duration >= 4
    return action in ("previous", "next", "entity") and shot.event >= 0


def _fallback(shown: list[Shot], kit: Kit) -> tuple[str, Shot | None]:
    for action in ("look", "next", "previous", "entity"):
        for shot in shown:
            if _possible(action, shot, kit):
                return action, shot
    return "stop", None
