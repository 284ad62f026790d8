"""What the strategies share: the abstention text, the runtime type, drafts from structured replies, evidence in
the order of the chain, and one trace step for a failed call."""

from __future__ import annotations

from langgraph.runtime import Runtime

from ..errors import BudgetExhausted, MediaError, ReplyError, ToolError
from .kit import Kit
from .schemas import Draft, with_options
from .state import Item, State


NOT_FOUND = "Not in the video."
OBSERVATIONS = (ToolError, MediaError, ReplyError, BudgetExhausted, LookupError, ValueError, OSError)
"""What a failed call or action is to the agents: something observed (a trace step; they go on with what they
have). Anything else — a model server that is down, a configuration error — ends the question as an error."""

Rt = Runtime[Kit]


def query_text(state: State) -> str:
    return " ".join([state["question"], *state.get("options", [])])


def schema_for(base: type[Draft], state: State) -> type[Draft]:
    n = len(state.get("options", []))
    return with_options(base, n) if n else base


def failed(kit: Kit, what: str, e: Exception) -> dict:
    kind = "budget" if isinstance(e, BudgetExhausted) else "error"
    text = getattr(e, "message", None) or str(e)
    return {"trace": [kit.step(kind, f"{what}: {text}")]}


def draft_of(data: Draft, items: dict[int, Item]) -> dict:
    return {"found": bool(data.found), "answer": data.answer.strip(), "option": (data.option or "").strip()[:1].upper()
            or None, "cited": [i for i in dict.fromkeys(data.evidence) if i in items],
            "confidence": float(data.confidence)}


def ranked_items(state: State, kit: Kit) -> list[Item]:
    """Evidence in the order of the chain (best shot first), then the rest."""
    items = list({i.id: i for i in state.get("items", [])}.values())
    order: dict[tuple[str, int], int] = {}
    for rank, shot in enumerate(state.get("chain", [])):
        order.setdefault((shot.video_id, shot.event), rank)
    looks = [i for i in items if i.modality.startswith("look:")]
    rest = sorted((i for i in items if not i.modality.startswith("look:")),
                  key=lambda i: (order.get((i.video_id, i.event), 999), i.video_id, i.span.start))
    return looks + rest


def describe_draft(draft: dict, state: State) -> str:
    if not draft["found"] and not draft.get("option"):
        return "not found in the evidence"
    what = draft["answer"] or f"option {draft.get('option')}"
    return f"{what} (citing {', '.join(f'[{i}]' for i in draft['cited']) or 'nothing'})"
