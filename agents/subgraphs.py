"""The first design's strategies as sub-graphs the tool loop can call (sharing its Kit and budget): ``mapreduce``
(read every clip, reduce the findings in time order) and ``search`` (chain-of-shot: look, split, move until the
model drafts an answer)."""

from __future__ import annotations

from functools import cache
from typing import Any

from langgraph.graph import END, START, StateGraph

from .chain import act, after_decide, decide, search_retrieve
from .kit import Kit
from .mapreduce import fan_out, map_clips, map_plan, reduce
from .state import State


@cache
def subgraph(name: str) -> Any:
    """A strategy as a sub-graph the tool loop can call: ``mapreduce`` (read every clip, reduce the findings) or
    ``search`` (chain-of-shot: look, split, move until the model drafts an answer)."""
    g = StateGraph(State, context_schema=Kit)
    if name == "mapreduce":
        for node, fn in [("map_plan", map_plan), ("map_clips", map_clips), ("reduce", reduce)]:
            g.add_node(node, fn)
        g.add_edge(START, "map_plan")
        g.add_conditional_edges("map_plan", fan_out, ["map_clips", "reduce"])
        g.add_edge("map_clips", "reduce")
        g.add_edge("reduce", END)
    else:
        for node, fn in [("search_retrieve", search_retrieve), ("decide", decide), ("act", act)]:
            g.add_node(node, fn)
        g.add_edge(START, "search_retrieve")
        g.add_edge("search_retrieve", "decide")
        g.add_conditional_edges("decide", after_decide, {"act": "act", "verify": END})
        g.add_edge("act", "decide")
    return g.compile()
