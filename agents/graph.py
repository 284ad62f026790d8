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

from functools import cache
from typing import Any

from langgraph.graph import END, START, StateGraph

from ..records import LETTERS
from . import router
from .chain import act, after_decide, decide, search_retrieve
from .drafts import NOT_FOUND, Rt
from .kit import Kit
from .loop import act as tools_act
from .loop import after_check, after_compose, check, composed, conclude, probe, understand
from .loop import after_decide as tools_after_decide
from .loop import decide as tools_decide
from .mapreduce import fan_out, map_clips, map_plan, reduce
from .rag import answer, rag_retrieve, uniform_look
from .state import State
from .verify import after_verify, verify


def route(state: State, runtime: Rt) -> dict:
    kit = runtime.context
    asked = state.get("strategy", "auto")
    events = sum((kit.memory.graph.stats(v) or {}).get("events", 0) for v in kit.videos)
    if asked == "auto":
        strategy, why = "tools", "the index computes, the model chooses"
    elif asked == "classic":
        strategy, why = router.route(state["question"], events)
    else:
        strategy, why = asked, "chosen by the caller"
    return {"strategy": strategy, "steps": 0, "rounds": 0,
            "trace": [kit.step("routed", f"{strategy}: {why} ({len(kit.videos)} videos, {events} events)")]}


def after_route(state: State) -> str:
    return {"rag": "rag_retrieve", "search": "search_retrieve", "mapreduce": "map_plan",
            "uniform": "uniform_look", "tools": "understand"}[state["strategy"]]


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


@cache
def compiled() -> Any:
    """The agent graph, compiled once per process (every library and question shares it)."""
    g = StateGraph(State, context_schema=Kit)
    for name, fn in [("route", route), ("rag_retrieve", rag_retrieve), ("answer", answer),
                     ("search_retrieve", search_retrieve), ("decide", decide), ("act", act), ("map_plan", map_plan),
                     ("map_clips", map_clips), ("reduce", reduce), ("uniform_look", uniform_look),
                     ("verify", verify), ("finish", finish), ("understand", understand), ("probe", probe),
                     ("composed", composed), ("tools_decide", tools_decide), ("tools_act", tools_act),
                     ("check", check), ("conclude", conclude)]:
        g.add_node(name, fn)
    g.add_edge(START, "route")
    g.add_conditional_edges("route", after_route, ["rag_retrieve", "search_retrieve", "map_plan", "uniform_look",
                                                   "understand"])
    g.add_edge("understand", "probe")
    g.add_edge("probe", "composed")
    g.add_conditional_edges("composed", after_compose, {"conclude": "conclude", "decide": "tools_decide"})
    g.add_conditional_edges("tools_decide", tools_after_decide, {"act": "tools_act", "check": "check",
                                                                 "decide": "tools_decide"})
    g.add_edge("tools_act", "composed")
    g.add_conditional_edges("check", after_check, {"conclude": "conclude", "decide": "tools_decide"})
    g.add_edge("conclude", END)
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
