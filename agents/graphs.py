"""The agent graph (LangGraph): route, then one of the strategies, then reflection, then the answer.

    route ─┬─ rag:       retrieve ─ answer ─────────────────────────────────────┐
           ├─ search:    retrieve ─ decide ⇄ act (look | split | move)          ├─ verify ─┬─ finish
           │                          └──── reflect: verify rejects, search on ─┘          │
           ├─ mapreduce: plan ─ map ×N (parallel, Send) ─ reduce ────────────────────────┘
           └─ uniform:   frames evenly spaced ─ answer (the baseline without memory)

Nodes take the ``State`` and the per-question ``Kit`` (LangGraph runtime context); the graph is compiled once and
shared. A model call that would exceed the budget raises ``BudgetExhausted``: the node records it and the graph
goes on to the answer with what it has. Every answer cites evidence; an unsupported draft becomes an abstention.
"""

from __future__ import annotations

import re
import time
from functools import cache
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from ..errors import VidgraphError
from ..models.base import Message
from ..prompts import load, quote
from ..records import Span
from . import router
from .kit import LETTERS, BudgetExhausted, Kit, evidence_block, question_block, when
from .schemas import Decision, Draft, MapReply, Verdict, with_options
from .state import Item, MapTask, Shot, State

NOT_FOUND = "Not in the video."
MAP_EVENTS = 48
"""MapReduce reads every event of a video up to this many, else the best this many by retrieval."""
CHUNK_CHARS = 2400
MAX_ROUNDS = 2
"""Times the verifier may send the search back for more evidence."""

Rt = Runtime[Kit]


def _query(state: State) -> str:
    return " ".join([state["question"], *state.get("options", [])])


def _schema(base: type[Draft], state: State) -> type[Draft]:
    n = len(state.get("options", []))
    return with_options(base, n) if n else base


def _failed(kit: Kit, what: str, e: Exception) -> dict:
    kind = "budget" if isinstance(e, BudgetExhausted) else "error"
    text = getattr(e, "message", None) or str(e)
    return {"trace": [kit.step(kind, f"{what}: {text}")]}


def _draft(data: Draft, items: dict[int, Item]) -> dict:
    return {"found": bool(data.found), "answer": data.answer.strip(), "option": (data.option or "").strip()[:1].upper()
            or None, "cited": [i for i in dict.fromkeys(data.evidence) if i in items],
            "confidence": float(data.confidence)}


def _ranked_items(state: State, kit: Kit) -> list[Item]:
    """Evidence in the order of the chain (best shot first), then the rest."""
    items = list({i.id: i for i in state.get("items", [])}.values())
    order: dict[tuple[str, int], int] = {}
    for rank, shot in enumerate(state.get("chain", [])):
        order.setdefault((shot.video_id, shot.event), rank)
    looks = [i for i in items if i.modality.startswith("look:")]
    rest = sorted((i for i in items if not i.modality.startswith("look:")),
                  key=lambda i: (order.get((i.video_id, i.event), 999), i.video_id, i.span.start))
    return looks + rest


# -- route ---------------------------------------------------------------------------------------------------------
def route(state: State, runtime: Rt) -> dict:
    kit = runtime.context
    asked = state.get("strategy", "auto")
    events = sum((kit.memory.graph.stats(v) or {}).get("events", 0) for v in kit.videos)
    if asked == "auto":
        strategy, why = router.route(state["question"], events)
    else:
        strategy, why = asked, "chosen by the caller"
    return {"strategy": strategy, "steps": 0, "rounds": 0,
            "trace": [kit.step("routed", f"{strategy}: {why} ({len(kit.videos)} videos, {events} events)")]}


def after_route(state: State) -> str:
    return {"rag": "rag_retrieve", "search": "search_retrieve", "mapreduce": "map_plan",
            "uniform": "uniform_look"}[state["strategy"]]


# -- rag: the one-call baseline ------------------------------------------------------------------------------------
def rag_retrieve(state: State, runtime: Rt) -> dict:
    kit = runtime.context
    shots, items, step = kit.retrieve(_query(state), k=8)
    events = [e for v in kit.videos for e in kit.memory.events(v)]
    if len(events) <= router.SMALL:  # everything fits in one prompt: read it all, best matches first
        items += [i for e in events for i in kit.event_items(e)]
    return {"chain": shots, "items": items, "trace": [step]}


def answer(state: State, runtime: Rt) -> dict:
    """One call: the question and the evidence in, a cited draft out."""
    kit = runtime.context
    items = _ranked_items(state, kit)
    start = time.perf_counter()
    try:
        data, usage = kit.chat([Message.system(load("answer").text),
                                Message.user(question_block(state["question"], state.get("options", [])),
                                             "Evidence:\n" + evidence_block(items))], _schema(Draft, state))
    except (BudgetExhausted, VidgraphError) as e:
        return {"draft": None, **_failed(kit, "answer", e)}
    draft = _draft(data, kit.items)
    return {"draft": draft, "trace": [kit.step("drafted", _describe_draft(draft, state), seconds=time.perf_counter()
                                               - start, calls=usage.calls)]}


# -- chain-of-shot search ------------------------------------------------------------------------------------------
def search_retrieve(state: State, runtime: Rt) -> dict:
    kit = runtime.context
    shots, items, step = kit.retrieve(_query(state), k=6)
    update: dict[str, Any] = {"chain": shots, "items": items, "trace": [step], "pending": None}
    if state["strategy"] == "mapreduce":
        update["strategy"] = "mapreduce+search"
    return update


def decide(state: State, runtime: Rt) -> dict:
    """Answer from the evidence so far, or choose the next action on one candidate."""
    kit = runtime.context
    steps = state.get("steps", 0)
    if steps >= kit.budget.steps:
        return {"pending": {"action": "stop"}, "trace": [kit.step("budget", f"all {kit.budget.steps} search steps used")]}
    chain = _shown(state.get("chain", []))
    items = _ranked_items(state, kit)
    rejected = (state.get("verdict") or {}).get("reason")
    note = f"\nA previous answer was rejected: {quote(rejected, 300)}. Find better evidence." if rejected else ""
    start = time.perf_counter()
    try:
        data, usage = kit.chat([Message.system(load("search").text),
                                Message.user(question_block(state["question"], state.get("options", [])) + note,
                                             "Evidence:\n" + evidence_block(items, 3000),
                                             "Candidate moments:\n" + _candidates(chain, kit))],
                                _schema(Decision, state), 300)
    except (BudgetExhausted, VidgraphError) as e:
        return {"pending": {"action": "stop"}, "steps": steps + 1, **_failed(kit, "decide", e)}
    seconds = time.perf_counter() - start
    if data.found:
        draft = _draft(data, kit.items)
        return {"draft": draft, "pending": None, "steps": steps + 1,
                "trace": [kit.step("drafted", _describe_draft(draft, state), seconds=seconds, calls=usage.calls)]}
    pending = {"action": data.action, "target": data.target}
    return {"pending": pending, "steps": steps + 1, "draft": _draft(data, kit.items) if data.option else
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
    except (BudgetExhausted, VidgraphError, ValueError, OSError) as e:
        shot.done.add(f"{action} failed: {getattr(e, 'message', None) or e}")
        return {"chain": chain, "pending": None, **_failed(kit, action, e)}
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
        lines.append(f"#{n} {kit.name(s.video_id)} {when(s.span)} ({s.span.duration:.0f} s; {quote(s.why, 80)}{done})")
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


# -- MapReduce -----------------------------------------------------------------------------------------------------
def map_plan(state: State, runtime: Rt) -> dict:
    """Every event in scope (or the best ``MAP_EVENTS``), its evidence in time order, packed into chunks."""
    kit = runtime.context
    events = [e for v in kit.videos for e in kit.memory.events(v)]
    how = f"all {len(events)} events"
    if len(events) > MAP_EVENTS:
        hits = kit.memory.search(_query(state), videos=kit.videos, k=MAP_EVENTS, expand=True)
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
    except (BudgetExhausted, VidgraphError) as e:
        return _failed(kit, "map", e)
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
            lines.append(f"({n}) {first.video} {when(first.span)}: {quote(f['fact'], 300)} {refs}")
        cited = [kit.items[i] for f in findings for i in f["evidence"]]
        body = "Findings in time order:\n" + "\n".join(lines) + "\n\nTheir evidence lines:\n" + \
            evidence_block(list(dict.fromkeys(cited)), 2500)
    elif state.get("options"):
        body = "No clip reported anything relevant. Evidence:\n" + evidence_block(_ranked_items(state, kit), 2500)
    else:
        return {"draft": None, "trace": [kit.step("reduced", "no clip reported anything relevant")]}
    start = time.perf_counter()
    try:
        data, usage = kit.chat([Message.system(load("reduce").text),
                                Message.user(question_block(state["question"], state.get("options", [])), body)],
                               _schema(Draft, state))
    except (BudgetExhausted, VidgraphError) as e:
        return {"draft": None, **_failed(kit, "reduce", e)}
    draft = _draft(data, kit.items)
    return {"draft": draft, "trace": [kit.step("reduced", f"{len(findings)} findings → " +
                                               _describe_draft(draft, state), seconds=time.perf_counter() - start,
                                               calls=usage.calls)]}


# -- uniform frames: the baseline without memory -------------------------------------------------------------------
def uniform_look(state: State, runtime: Rt) -> dict:
    """N frames evenly spaced over each video, read by the tools (and the VLM when there is one)."""
    kit = runtime.context
    items, trace = [], []
    per_video = max(1, kit.budget.looks // max(1, len(kit.videos)))
    for v in kit.videos:
        duration = kit.library.get(v).duration
        width = duration / per_video
        for n in range(per_video):
            shot = Shot(v, Span(round(n * width, 3), round(min(duration, (n + 1) * width), 3)), 0.0)
            try:
                found, step = kit.look(shot, state["question"])
            except (BudgetExhausted, VidgraphError, OSError) as e:
                trace += _failed(kit, "look", e)["trace"]
                break
            items += found
            trace.append(step)
    return {"items": items, "trace": trace}


# -- reflection ----------------------------------------------------------------------------------------------------
def verify(state: State, runtime: Rt) -> dict:
    """Check the draft against its cited evidence: first by rule (citations exist, every number and code in the
    answer appears in them, a count has as many cited moments, the option is valid; a moment named instead of
    cited and the video of the evidence for "which video" are resolved first), then by the model. Rejected drafts
    go back to the search while the budget allows; otherwise the answer is an abstention."""
    kit = runtime.context
    draft = state.get("draft")
    options = state.get("options", [])
    rounds = state.get("rounds", 0)
    if not draft or not draft["found"]:
        return {"verdict": {"supported": False, "reason": "the evidence does not answer the question"},
                "trace": [kit.step("reflected", "no supported draft")]}
    draft, moment = _cite_the_named_moment(draft, state["question"], kit)
    draft, video = _name_the_cited_video(draft, state["question"], options, kit)
    problem = _rule_check(draft, options, kit, state["question"])
    calls, reason, notes = 0, "", moment + video
    start = time.perf_counter()
    if problem is None and state["strategy"] not in ("rag", "uniform") and kit.can_call():
        cited = [kit.items[i] for i in draft["cited"]]
        claim = draft["answer"] or (options[LETTERS.index(draft["option"])] if draft.get("option") else "")
        try:
            data, usage = kit.chat([Message.system(load("verify").text),
                                    Message.user(f"Question: {state['question']}\nAnswer: {quote(claim, 300)}",
                                                 "Cited evidence:\n" + evidence_block(cited, 2500))], Verdict, 120)
            calls, reason = usage.calls, data.reason
            if not data.supported:
                problem = data.reason or "the model found the answer unsupported"
        except (BudgetExhausted, VidgraphError) as e:
            notes += _failed(kit, "verify", e)["trace"]
    verdict = {"supported": problem is None, "reason": problem or reason or "supported by the cited evidence"}
    step = kit.step("reflected", ("supported: " if problem is None else "rejected: ") + verdict["reason"],
                    seconds=time.perf_counter() - start, calls=calls)
    update: dict[str, Any] = {"verdict": verdict, "rounds": rounds + (problem is not None), "trace": [*notes, step],
                              "draft": {**draft, "found": problem is None}}  # kept as a guess for multiple choice
    return update


def _cite_the_named_moment(draft: dict, question: str, kit: Kit) -> tuple[dict, list]:
    """A draft for "when ...?" or "which video ...?" that names a moment by its time ("9:22.0-9:31.0") instead of
    citing line numbers cites the evidence lines inside that moment, when they all come from one video."""
    named = _SPAN.search(draft["answer"])
    if draft["cited"] or not named or not (router.asks_when(question) or router.asks_which_video(question)):
        return draft, []
    start, end = _clock(named[1]), _clock(named[2])
    inside = [i for i in kit.items.values() if i.span.start >= start - 1 and i.span.end <= end + 1]
    if len({i.video_id for i in inside}) != 1:
        return draft, []
    return {**draft, "cited": [i.id for i in inside]}, [
        kit.step("reflected", f"cited the {len(inside)} evidence lines inside {named[0]}, the moment the answer names")]


def _name_the_cited_video(draft: dict, question: str, options: list[str], kit: Kit) -> tuple[dict, list]:
    """For "which video ...?" the cited evidence says which: the option naming the cited video (or, open-ended, the
    cited videos' names) becomes the answer, and the trace says so. Options that name no video are left alone."""
    if not router.asks_which_video(question) or not draft["cited"]:
        return draft, []
    videos = list(dict.fromkeys(kit.items[i].video for i in draft["cited"]))
    if options:
        named = [k for k, o in enumerate(options) if any(_names(o, v) for v in videos)]
        if len(named) != 1 or LETTERS[named[0]] == draft.get("option"):
            return draft, []
        letter = LETTERS[named[0]]
        change = {"option": letter, "answer": options[named[0]]}
        note = f"option {draft.get('option') or '-'} → {letter}: the cited evidence is in {options[named[0]]}"
    else:
        if any(_names(draft["answer"], v) for v in videos):
            return draft, []
        change = {"answer": ", ".join(videos)}
        note = f"answer → {change['answer']}: the video of the cited evidence"
    return {**draft, **change}, [kit.step("reflected", note)]


def _names(text: str, video: str) -> bool:
    """Does ``text`` name the file ``video`` (with or without its extension)?"""
    text, stem = text.lower(), video.lower().rsplit(".", 1)[0]
    return video.lower() in text or re.search(rf"(?<![\w-]){re.escape(stem)}(?![\w-])", text) is not None


def after_verify(state: State, runtime: Rt) -> str:
    kit = runtime.context
    verdict = state.get("verdict") or {}
    if verdict.get("supported") or (state.get("pending") or {}).get("action") == "stop":
        return "finish"
    more = kit.can_call(2) and state.get("rounds", 0) <= MAX_ROUNDS and state.get("steps", 0) < kit.budget.steps
    if state["strategy"].endswith("search") and more and state.get("chain"):
        return "decide"
    if state["strategy"] == "mapreduce" and more:
        return "search_retrieve"  # reading the whole video found no support: search for the moment itself
    return "finish"


def _rule_check(draft: dict, options: list[str], kit: Kit, question: str) -> str | None:
    if not draft["cited"]:
        return "the answer cites no evidence"
    if options:
        if not draft.get("option") or draft["option"] not in LETTERS[:len(options)]:
            return f"the option {draft.get('option')!r} is not one of A-{LETTERS[len(options) - 1]}"
        return None
    items = [kit.items[i] for i in draft["cited"]]
    text = " ".join(i.text for i in items)
    digits = re.sub(r"[\s,.]", "", text.lower())
    answer = draft["answer"]
    for video in {i.video for i in items}:  # naming the cited video is not a number to check
        answer = re.sub(re.escape(video), " ", answer, flags=re.I)
    count = re.match(r"\s*(\d+)\b", answer) if router.is_counting(question) else None
    if count:  # a count is not quoted from the video: each occurrence counted must be a cited moment
        moments = _moments(items)
        if int(count[1]) > moments:
            return f"counted {count[1]} but cited {moments} distinct moment{'s' * (moments != 1)}"
        answer = answer[count.end():]
    for stamp in _TIME.findall(answer):  # a time in the answer: said or shown, or inside a cited moment
        t = _clock(stamp)
        if stamp not in text and not any(i.span.start - 2 <= t <= i.span.end + 2 for i in items):
            return f"{stamp} is not inside a cited moment"
    for token in re.findall(r"[A-Za-z]*\d[\w-]*", _TIME.sub(" ", answer)):
        if re.sub(r"[\s,.]", "", token.lower()) not in digits:
            return f"{token!r} is not in the cited evidence"
    return None


def _moments(items: list[Item]) -> int:
    """Distinct moments among cited items: overlapping spans of one video (speech and text of a scene) are one."""
    n, last = 0, None
    for i in sorted(items, key=lambda i: (i.video_id, i.span.start)):
        if last is None or i.video_id != last[0] or i.span.start >= last[1]:
            n, last = n + 1, (i.video_id, i.span.end)
        else:
            last = (i.video_id, max(last[1], i.span.end))
    return n


_TIME = re.compile(r"\b\d{1,2}(?::\d{2}){1,2}(?:\.\d+)?\b")
"""A clock time in an answer (``11:16.9``, ``1:02:05``): checked against the cited spans, not their text."""


_SPAN = re.compile(rf"({_TIME.pattern})\s*-\s*({_TIME.pattern})")
"""A moment named in an answer: ``9:22.0-9:31.0``."""


def _clock(stamp: str) -> float:
    total = 0.0
    for part in stamp.split(":"):
        total = total * 60 + float(part)
    return total


# -- the answer ----------------------------------------------------------------------------------------------------
def finish(state: State, runtime: Rt) -> dict:
    kit = runtime.context
    draft = state.get("draft") or {}
    verdict = state.get("verdict") or {}
    options = state.get("options", [])
    ok = bool(draft.get("found")) and bool(verdict.get("supported"))
    opt = draft.get("option")
    letter = opt if opt and opt in LETTERS[:len(options)] else None
    if ok:
        text = f"{letter}. {options[LETTERS.index(letter)]}" if letter else draft["answer"]
        final = {"text": text, "found": True, "choice": letter, "cited": draft["cited"],
                 "confidence": draft.get("confidence", 0.5)}
        step = kit.step("answered", f"{text} (citing {', '.join(f'[{i}]' for i in draft['cited'])})")
    else:
        guess = f" (best guess: {letter}. {options[LETTERS.index(letter)]})" if letter else ""
        final = {"text": NOT_FOUND + guess, "found": False, "choice": letter,
                 "cited": draft.get("cited", []) if letter else [], "confidence": 0.0 if not letter else
                 min(0.5, draft.get("confidence", 0.25))}
        step = kit.step("abstained", verdict.get("reason") or "no evidence answers the question")
    return {"final": final, "trace": [step]}


def _describe_draft(draft: dict, state: State) -> str:
    if not draft["found"] and not draft.get("option"):
        return "not found in the evidence"
    what = draft["answer"] or f"option {draft.get('option')}"
    return f"{what} (citing {', '.join(f'[{i}]' for i in draft['cited']) or 'nothing'})"


@cache
def compiled() -> Any:
    """The agent graph, compiled once per process (every library and question shares it)."""
    g = StateGraph(State, context_schema=Kit)
    for name, fn in [("route", route), ("rag_retrieve", rag_retrieve), ("answer", answer),
                     ("search_retrieve", search_retrieve), ("decide", decide), ("act", act), ("map_plan", map_plan),
                     ("map_clips", map_clips), ("reduce", reduce), ("uniform_look", uniform_look),
                     ("verify", verify), ("finish", finish)]:
        g.add_node(name, fn)
    g.add_edge(START, "route")
    g.add_conditional_edges("route", after_route, ["rag_retrieve", "search_retrieve", "map_plan", "uniform_look"])
    g.add_edge("rag_retrieve", "answer")
    g.add_edge("uniform_look", "answer")
    g.add_edge("answer", "verify")
    g.add_edge("search_retrieve", "decide")
    g.add_conditional_edges("decide", after_decide, ["act", "verify"])
    g.add_edge("act", "decide")
    g.add_conditional_edges("map_plan", fan_out, ["map_clips", "reduce"])
    g.add_edge("map_clips", "reduce")
    g.add_edge("reduce", "verify")
    g.add_conditional_edges("verify", after_verify, ["finish", "decide", "search_retrieve"])
    g.add_edge("finish", END)
    return g.compile()
