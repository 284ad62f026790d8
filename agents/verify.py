"""Reflection: a draft is checked against the evidence it cites, first by rule, then by the model; a rejected
draft sends the search back for more evidence within the budget, else the answer is an abstention."""

from __future__ import annotations

import re
import time
from typing import Any

from ..models.base import Message
from ..prompts import load, quote
from ..records import LETTERS, parse_time
from . import router
from .drafts import OBSERVATIONS, Rt, failed
from .kit import Kit, evidence_block
from .schemas import Verdict
from .state import Item, State


MAX_ROUNDS = 2
"""Times the verifier may send the search back for more evidence."""


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
        earlier = (state.get("verdict") or {}).get("reason") if draft else None  # why the last draft failed
        return {"verdict": {"supported": False, "reason": earlier or "the evidence does not answer the question"},
                "trace": [kit.step("reflected", "no supported draft")]}
    draft, moment = _cite_the_named_moment(draft, state["question"], kit)
    draft, video = _name_the_cited_video(draft, state["question"], options, kit)
    problem = _rule_check(draft, options, kit, state["question"])
    calls, reason, notes = 0, "", moment + video
    start = time.perf_counter()
    letter = draft.get("option") or ""
    claim = draft["answer"] or (options[LETTERS.index(letter)] if letter and letter in LETTERS[:len(options)] else "")
    judged = kit.verdicts.get((claim, tuple(draft["cited"])))
    if problem is None and judged is not None:  # the same draft on the same evidence was judged already
        problem = None if judged["supported"] else judged["reason"]
        notes.append(kit.step("reflected", "the same answer on the same evidence as before: the same verdict"))
    elif problem is None and state["strategy"] not in ("rag", "uniform") and kit.can_call():
        cited = [kit.items[i] for i in draft["cited"]]
        try:
            data, usage = kit.chat([Message.system(load("verify").text),
                                    Message.user(f"Question: {state['question']}\nAnswer: {quote(claim, 300)}",
                                                 "Cited evidence:\n" + evidence_block(cited, 2500))], Verdict, 120)
            calls, reason = usage.calls, data.reason
            if not data.supported:
                problem = data.reason or "the model found the answer unsupported"
        except OBSERVATIONS as e:
            notes += failed(kit, "verify", e)["trace"]
    verdict = {"supported": problem is None, "reason": problem or reason or "supported by the cited evidence"}
    kit.verdicts[(claim, tuple(draft["cited"]))] = verdict
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
    start, end = parse_time(named[1]), parse_time(named[2])
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
    if "search" in (state["strategy"], state.get("fallback")) and more and state.get("chain"):
        return "decide"
    if state["strategy"] == "mapreduce" and not state.get("fallback") and more:
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
        t = parse_time(stamp)
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
