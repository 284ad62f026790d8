"""The tool-using agent: the index computes, the model chooses.

    understand (rules: kind, targets, suggested calls) ─ probe (run the first call) ─┬─ compose (a tool computed
                                                                                     │   the answer) ─ finish
                                                                                     └─ decide (the model: answer
                                    from the observations, or pick the next call) ⇄ act ─ check ─ finish

Every observation is numbered and its evidence are numbered items; an answer cites the items that hold its
content (found by ``compose.attribute``), or, when a tool computed it, the items the tool found. The model's turns
are one growing conversation (the same system prompt, earlier turns kept), so an in-process model reuses what it
already read and no prompt is ever sent twice.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from ..models.base import Message, ToolCall
from ..prompts import load, quote
from ..records import Span
from .calls import offered, system_prompt, turn_of
from .choice import as_state, commit, missing_subject, not_shown
from .compose import Draft, attribute, compose, relevant
from .drafts import NOT_FOUND, OBSERVATIONS, Rt, failed, schema_for
from .intent import Call, Intent, read_question
from .plan import first_calls
from .kit import Kit, question_block
from .schemas import Next
from .state import Item, Observation, Shot, State
from .subject import bound
from .typed import KIND_NAMES, asked, closest, values
from .words import content, number_in, overlap_score, phrase_tokens, related

MISSES = 2
"""Free calls: after this many calls in a row that could not run (bad arguments, repeats) the model is asked no
more."""
TOOLS = ("search", "find", "count", "most", "locate", "order", "read", "screen", "shots", "videos", "speakers",
         "who", "said_by", "colours", "look", "read_all", "deep_search")


# -- the nodes --------------------------------------------------------------------------------------------------
def understand(state: State, runtime: Rt) -> dict:
    kit = runtime.context
    intent = read_question(state["question"], state.get("options", []))
    calls = first_calls(intent, state["question"], state.get("options", []), kit)
    detail = f"{intent.kind}: {', '.join(repr(t) for t in intent.targets) or '-'} ({intent.modality}) → " + \
             "; ".join(str(c) for c in calls)
    return {"intent": intent, "suggested": calls, "talk": [], "trace": [kit.step("understood", detail)]}


def probe(state: State, runtime: Rt) -> dict:
    """Run the first suggested call without asking the model (the rules are sure of it), and for a question
    about what happens during / after / before a moment, read that moment too."""
    kit = runtime.context
    intent: Intent = state["intent"]
    calls = state.get("suggested", [])
    if not calls:
        return {}
    obs, trace = run(kit, calls[0])
    if (obs is None or not obs.items) and intent.kind == "count" and len(calls) > 1 and calls[1].tool == "count":
        obs, more = run(kit, calls[1])  # no list on screen: count the thing itself ("colour words")
        trace, calls = trace + more, calls[1:]
    if intent.kind == "quantity" and len(calls) > 1:  # the sentences naming the thing, then what matches the question
        more, steps = run(kit, calls[1])
        return {"observations": [o for o in (obs, more) if o is not None], "suggested": calls[2:],
                "trace": trace + steps, "done_calls": [str(calls[0]), str(calls[1])]}
    if obs is not None and intent.kind == "during" and obs.items:  # at the moment found, or the closest related one
        moment = _moment(kit, obs.items[0]) if intent.relation == "during" else obs.items[0].span
        span = _around(moment, intent.relation, obs.items[0].modality, intent.then)
        follow = Call("read", {"video": obs.items[0].video_id, "start": round(span.start, 2),
                               "end": round(span.end, 2), "modality": intent.then})
        kind = asked(state["question"])
        if kind is not None and kind.kind == "colour":  # the colours of the frames (or the thing) at that moment
            at = moment if intent.relation == "during" else span
            follow = Call("colours", {"video": obs.items[0].video_id, "start": round(at.start, 2),
                                      "end": round(at.end, 2), "thing": kind.qualifier})
        more, steps = run(kit, follow)
        if more is not None and intent.relation == "during":  # what is there most of the moment comes first
            more = replace(more, items=tuple(sorted(more.items, key=lambda i: -i.span.overlap(moment))))
        trace += steps
        return {"observations": [o for o in (obs, more) if o is not None], "suggested": calls[1:], "trace": trace,
                "done_calls": [str(calls[0]), str(follow)]}
    return {"observations": [obs] if obs is not None else [], "suggested": calls[1:], "trace": trace,
            "done_calls": [str(calls[0])]}


def composed(state: State, runtime: Rt) -> dict:
    """The answer computed by a tool, when there is one (no model call); a question about something the videos
    never say or show is answered without one too (an abstention, or the "not shown" option)."""
    kit = runtime.context
    options = state.get("options", [])
    draft = compose(state["intent"], state["question"], options, state.get("observations", []))
    missing = missing_subject(state["intent"], state["question"], kit) \
        if draft is None or options or state["intent"].kind == "during" else ""
    if missing and options:  # even over a computed option: "4" is no score after a round 5 that never comes
        return not_shown(state, kit, missing) or ({"draft": as_state(draft)} if draft else {"draft": None})
    if missing and draft is not None and draft.by != "read":
        missing = ""  # a count or a time computed from the thing itself: it is there
    if missing:  # no model call: nothing it could read would be about this
        return {"draft": None, "stop": True, "rejected": "", "trace": [kit.step(
            "reflected", f"{missing!r} is never said or shown in the videos: the question is about something they "
                         "do not hold")]}
    if draft is None:
        return {"draft": None}
    return {"draft": as_state(draft), "trace": [kit.step("answered", f"{draft.text} — computed by {draft.by}: "
                                                                     f"{draft.why}")]}


def after_compose(state: State, runtime: Rt) -> str:
    """A computed answer ends the loop; otherwise the model reads — unless nothing was found and there is nothing
    left to try, which is an abstention without a model call."""
    if state.get("draft") or state.get("stop"):
        return "conclude"
    found = any(o.items for o in state.get("observations", []))
    return "decide" if found or _menu(state, runtime.context) else "conclude"


def decide(state: State, runtime: Rt) -> dict:
    """The model reads the observations and answers, or picks one of the suggested calls (by its number; with
    ``free`` calls it may also write a call of its own, checked before it runs)."""
    kit = runtime.context
    options = state.get("options", [])
    talk = list(state.get("talk", []))
    offer = bool(talk) or state["intent"].kind not in ("lookup", "quantity", "during")  # first read what was found
    suggested = _menu(state, kit) if offer else []
    free = kit.calls == "free"
    if not talk:
        news = question_block(state["question"], options) + "\n\n" + _observations(state.get("observations", []))
    else:
        news = _observations(state.get("observations", [])[state.get("shown", 0):], again=True)
    if state.get("note"):
        news = state["note"] + "\n\n" + news
    if state.get("rejected"):
        news = load("rejected_answer").render(reason=quote(state["rejected"], 300)) + "\n\n" + news
    ask = _suggestions(suggested) if offer else load("calls_answer_only" if free else "answer_only").text
    last = talk[-1] if talk else None
    native = free and kit.model.native_tools and last is not None and isinstance(last[2], ToolCall) and last[2].id
    turn = [("tool", news, last[2].id), ("user", ask, None)] if native else [("user", news + "\n\n" + ask, None)]
    system, version = system_prompt(kit.calls)
    messages = [Message.system(system), *(_message(t, free) for t in talk + turn)]
    start = time.perf_counter()
    try:
        if free:
            data, usage = kit.chat(messages, None, 160, tools=offered(kit, options, suggested, reading=not offer))
        else:
            data, usage = kit.chat(messages, schema_for(Next, state), 160)
    except OBSERVATIONS as e:
        return {"decision": None, **failed(kit, "decide", e)}
    seconds = time.perf_counter() - start
    talk += turn
    shown = len(state.get("observations", []))
    done = {"talk": talk, "shown": shown, "offered": offer, "note": ""}
    if free:
        decision, detail = turn_of(data, kit, state["question"], options, suggested, state.get("done_calls", []))
        reply = data.json() if isinstance(data, ToolCall) else str(data)
        talk.append(("assistant", reply, data if isinstance(data, ToolCall) else None))
        step = kit.step("drafted" if "answer" in decision else "decided", detail, seconds=seconds,
                        calls=usage.calls, prompt=version)
        kept = {} if "answer" in decision else {"rejected": ""}  # an answer is checked; a call moves on
        misses = state.get("misses", 0) + 1 if "note" in decision else 0
        return {"decision": decision, **done, **kept, "note": decision.get("note", ""), "misses": misses,
                "trace": [step]}
    talk.append(("assistant", data.model_dump_json(), None))
    step = int(data.call or 0)
    if offer and step and 1 <= step <= len(suggested):
        call = suggested[step - 1]
        return {"decision": {"call": call}, **done, "rejected": "",
                "trace": [kit.step("decided", f"call {call}", seconds=seconds, calls=usage.calls, prompt=version)]}
    option = (data.option or "").strip()[:1].upper() or None
    answer = (data.answer or "").strip()
    option = option if options else None
    return {"decision": {"answer": answer, "option": option}, **done,
            "trace": [kit.step("drafted", f"{answer or '-'}" + (f" (option {option})" if option else ""),
                               seconds=seconds, calls=usage.calls, prompt=version)]}


def after_decide(state: State, runtime: Rt) -> str:
    decision = state.get("decision")
    if decision and decision.get("call"):
        return "act"
    if decision and decision.get("note") and state.get("misses", 0) < MISSES and runtime.context.can_call():
        return "decide"  # the model reads why its call was not run and may correct it
    return "check"


def act(state: State, runtime: Rt) -> dict:
    kit = runtime.context
    call: Call = state["decision"]["call"]
    obs, trace = run(kit, call)
    remaining = [c for c in state.get("suggested", []) if c != call]
    return {"observations": [obs] if obs is not None else [], "suggested": remaining, "trace": trace,
            "done_calls": [str(call)]}


def check(state: State, runtime: Rt) -> dict:
    """A model's answer is kept when the observations hold its content and that evidence is about what the
    question asks; a multiple-choice answer always commits to an option."""
    kit = runtime.context
    options = state.get("options", [])
    decision = state.get("decision") or {}
    items = [i for o in state.get("observations", []) for i in o.items]
    answer, option = decision.get("answer", ""), decision.get("option")
    if not answer and not decision.get("note"):  # no answer from the model (or no budget left for it)
        answer = _nested(state.get("observations", []))
    if options:
        return commit(state, kit, option, answer, items)
    if decision.get("note"):  # its calls could not run, again: no answer from it
        why, misses = decision["note"].removeprefix("The ").rstrip("."), state.get("misses", 0)
        head = f"{misses} calls in a row not run" if misses > 1 else "the model's call was not run, no call is left"
        return {"draft": None, "rejected": "", "trace": [kit.step("reflected", f"{head} (last: {why}): no answer")]}
    if not answer:
        if not state.get("offered", True) and _menu(state, kit):  # nothing in what was read: now it may call
            return _reject(state, kit, "the observations so far do not answer it")
        return {"draft": None, "rejected": "", "trace": [kit.step("reflected", "the model found no answer in the "
                                                                              "observations")]}
    if answer.casefold() in state.get("refused", []):  # asked again, it gives the answer refused before: stop
        return {"draft": None, "rejected": "", "trace": [kit.step("reflected", f"{answer!r} again, after it was "
                                                                              "rejected: no supported answer")]}
    cited = attribute(answer, items) or _computed(answer, state.get("observations", []))
    kind = asked(state["question"])
    pool = [kit.items[i] for i in cited] or items
    near = closest(kind.kind, answer, [i.text for i in pool]) if kind else None
    if near is not None:  # an address or a code as written in the observation, not as the model recalls it
        answer, cited = near[0], [pool[near[1]].id, *(i for i in cited if i != pool[near[1]].id)]
    intent: Intent = state["intent"]
    if not cited and kind is not None and kind.kind == "colour":  # a colour the video gives, not the one known
        vocabulary, titles = kit.query.vocabulary(), kit.query.titles()
        said = [(c, i.id) for i in items if relevant(state["question"], i, items, vocabulary, titles)
                for c in values("colour", i.text)]
        if len({c for c, _ in said}) == 1:
            answer, cited = said[0][0], [said[0][1]]
    if intent.kind in ("lookup", "during") and intent.sure and " or " not in state["question"] and set(
            content(phrase_tokens(answer))) <= set(
            content(phrase_tokens(intent.targets[0]))) and content(phrase_tokens(answer)):
        return _reject(state, kit, f"{answer!r} is what the question names, not its answer", answer)
    if kind is not None and kind.kind in KIND_NAMES and not values(kind.kind, answer):  # "6" is no phone number
        return _reject(state, kit, f"{answer!r} is not a {KIND_NAMES[kind.kind]}", answer)
    if kind is not None and kind.kind == "number" and kind.qualifier and cited and not any(
            related(kind.qualifier, t) for i in cited for t in phrase_tokens(kit.items[i].text)) \
            and kind.qualifier in kit.query.vocabulary():  # "2" of "2. HIRING" is no room number
        return _reject(state, kit, f"the evidence for {answer!r} names no {kind.qualifier}", answer)
    if not cited:
        return _reject(state, kit, f"{answer!r} is not in any observation", answer)
    if intent.kind == "during" and intent.then == "text" and all(kit.items[i].modality == "speech" for i in cited):
        return _reject(state, kit, f"the question asks what is shown; {answer!r} is what is said", answer)
    if number_in(answer) is not None and not bound(state["question"], [kit.items[i] for i in cited], items,
                                                   kit.query.vocabulary()):
        return _reject(state, kit, f"{answer!r} is said or shown of something else than what the question names",
                       answer)
    if not any(relevant(state["question"], kit.items[i], items, kit.query.vocabulary(), kit.query.titles())
               for i in cited):
        return _reject(state, kit, f"the evidence for {answer!r} says nothing about what the question asks", answer)
    draft = Draft(answer, cited=cited, confidence=0.7)
    return {"draft": as_state(draft), "rejected": "",
            "trace": [kit.step("reflected", f"supported by {', '.join(f'[{i}]' for i in cited)}")]}


def _nested(observations: list[Observation]) -> str:
    """The answer a strategy run inside the loop (deep search, reading every clip) drafted and verified, if any:
    it still has to pass the checks of the loop's own answers."""
    for obs in reversed(observations):
        if getattr(obs.call, "tool", "") in ("deep_search", "read_all") and isinstance(obs.value, str) and obs.value:
            return obs.value
    return ""


def _computed(answer: str, observations: list[Observation]) -> list[int]:
    """An answer read from what a tool computed (a count, a duration, an order in its summary) cites the evidence
    that result rests on; the latest such result first."""
    for obs in reversed(observations):
        if obs.value is not None and obs.items and attribute(answer, [replace(obs.items[0], text=obs.summary)]):
            return [i.id for i in obs.items[:4]]
    return []


def after_check(state: State, runtime: Rt) -> str:
    kit = runtime.context
    if state.get("draft") or not state.get("rejected"):
        return "conclude"
    return "decide" if kit.can_call() else "conclude"


def conclude(state: State, runtime: Rt) -> dict:
    kit = runtime.context
    draft = state.get("draft")
    options = state.get("options", [])
    if draft and draft["found"]:
        step = kit.step("answered", f"{draft['text']} (citing {', '.join(f'[{i}]' for i in draft['cited'])})")
        return {"final": {**draft}, "trace": [step]}
    if draft and options:  # committed to an option the evidence does not show
        step = kit.step("abstained", f"no evidence for any option; chose {draft['text']}")
        return {"final": {**draft}, "trace": [step]}
    why = state.get("rejected") or _nothing(state)
    return {"final": {"text": NOT_FOUND, "found": False, "choice": None, "cited": [], "confidence": 0.0},
            "trace": [kit.step("abstained", why)]}


# -- running calls ------------------------------------------------------------------------------------------------
def run(kit: Kit, call: Call) -> tuple[Observation | None, list]:
    """Run one tool call; its result becomes a numbered observation (a failure is a trace step)."""
    start = time.perf_counter()
    inner: list = []
    try:
        if call.tool in ("read_all", "deep_search"):
            obs, inner = _strategy(kit, call, "mapreduce" if call.tool == "read_all" else "search")
        else:
            obs = _run(kit, call)
    except OBSERVATIONS as e:
        return None, failed(kit, str(call), e)["trace"]
    first = obs.items[0] if obs.items else None
    step = kit.step("called", f"{call} → {obs.summary}", first.video_id if first else "",
                    first.span if first and len(obs.items) == 1 else None, time.perf_counter() - start,
                    sum(s.calls for s in inner))
    return obs, [*inner, step]


def _run(kit: Kit, call: Call) -> Observation:
    a, q = call.args, kit.query
    video = a.get("video") or None
    span = Span(float(a["start"]), float(a["end"])) if a.get("start") is not None and a.get("end") is not None \
        else None
    if call.tool == "search":
        query = str(a.get("query", ""))
        shots, items, _ = kit.retrieve(query, k=6)
        kit.candidates = shots
        rank = {(s.video_id, s.event): n for n, s in enumerate(shots)}
        said = [i for i in items if i.modality in ("speech", "text", "caption")] or items
        said.sort(key=lambda i: (-round(overlap_score(i.text, query), 1), rank.get((i.video_id, i.event), 99),
                                 i.span.start))
        return _observation(kit, call, len(shots), f"{len(shots)} moments match; the lines that match best", said)
    if call.tool == "look":
        if video is None or span is None:
            raise ValueError("look needs a video, a start and an end")
        items, step = kit.look(Shot(_video_id(kit, video), span, 1.0), "")
        return _observation(kit, call, len(items), step.detail, items)
    tools = {"find": lambda: q.find(a.get("query", ""), a.get("modality", "any"), video),
             "count": lambda: q.count(a.get("query", ""), a.get("modality", "any"), video),
             "locate": lambda: q.locate(a.get("query", ""), int(a.get("occurrence", 1)), a.get("modality", "any"),
                                        video),
             "order": lambda: q.order(list(a.get("targets", [])), a.get("modality", "any"), video),
             "read": lambda: q.read(video, span, a.get("modality", "any")),
             "screen": lambda: q.screen(a.get("query") or None, a.get("at"), video),
             "shots": lambda: q.shots(video), "videos": q.videos_list,
             "most": lambda: q.most(a.get("query", ""), video),
             "speakers": lambda: q.speakers(video),
             "who": lambda: q.who(a.get("query", ""), video, float(a["at"]) if a.get("at") is not None else None),
             "said_by": lambda: q.said_by(str(a.get("speaker", "")), a.get("query", ""), video),
             "colours": lambda: q.colours(video, span, str(a.get("thing") or "")),
             "title": lambda: q.title(video)}
    if call.tool not in tools:
        raise ValueError(f"there is no tool {call.tool!r}")
    return kit.observe(call, tools[call.tool]())


def _strategy(kit: Kit, call: Call, name: str) -> tuple[Observation, list]:
    """Run MapReduce or chain-of-shot search as a sub-graph; its draft (with the lines it cites) is observed."""
    from .subgraphs import subgraph

    question = str(call.args.get("question", ""))
    state = subgraph(name).invoke({"question": question, "options": [], "strategy": name, "videos": kit.videos,
                                   "steps": 0, "rounds": 0}, context=kit, config={"recursion_limit": 60})
    draft = state.get("draft") or {}
    cited = [kit.items[i] for i in draft.get("cited", []) if i in kit.items]
    found = bool(draft.get("found")) and bool(draft.get("answer"))
    summary = f"{name}: {draft['answer']}" if found else f"{name}: nothing found"
    return _observation(kit, call, draft.get("answer") if found else None, summary, cited), state.get("trace", [])


def _observation(kit: Kit, call: Call, value: Any, summary: str, items: list[Item]) -> Observation:
    with kit._lock:
        obs = Observation(len(kit.observations) + 1, call, value, summary, tuple(items[:12]), "", len(items))
        kit.observations[obs.id] = obs
    return obs


def _video_id(kit: Kit, video: str) -> str:
    for v in kit.videos:
        if video in (v, kit.name(v)) or v.startswith(video):
            return v
    raise LookupError(f"no video named {video!r} in scope")


# -- what the model reads ----------------------------------------------------------------------------------------
def _menu(state: State, kit: Kit) -> list[Call]:
    """Calls worth making next: the rules' remaining suggestions, then looks and reads at the best moments."""
    done = set(state.get("done_calls", []))
    calls = [c for c in state.get("suggested", []) if str(c) not in done]
    for shot in getattr(kit, "candidates", [])[:2]:
        start, end = round(shot.span.start, 1), round(shot.span.end, 1)
        for tool in ("look", "read"):
            c = Call(tool, {"video": kit.name(shot.video_id), "start": start, "end": end})
            if str(c) not in done and not (tool == "look" and kit.looks >= kit.budget.looks):
                calls.append(c)
    deep = Call("deep_search", {"question": state["question"]})
    if state["intent"].kind in ("lookup", "during") and str(deep) not in done and kit.calls_left() >= 3:
        calls.append(deep)
    return calls[:6]


def _observations(obs: list[Observation], again: bool = False) -> str:
    if not obs:
        return "No new observations." if again else "Observations: none yet."
    return ("New observations:\n" if again else "Observations:\n") + "\n".join(o.block() for o in obs)


def _suggestions(calls: list[Call]) -> str:
    if not calls:
        return "Suggested calls: none left (answer now)."
    return "Suggested calls:\n" + "\n".join(f"{n}. {c}" for n, c in enumerate(calls, 1))


def _message(turn: tuple, free: bool) -> Message:
    """A turn of the conversation: ``(role, text, extra)``, extra being the assistant's ``ToolCall`` (sent as a
    native call when it has the server's id) or a tool reply's call id."""
    role, text, extra = turn
    if role == "assistant":
        native = free and isinstance(extra, ToolCall) and extra.id
        return Message.assistant(calls=(extra,)) if native else Message.assistant(text)
    return Message.tool(extra, text) if role == "tool" else Message.user(text)


SAMPLED = 1.5
"""Seconds a line or object may have been on screen before (or after) the frames that saw it: text and objects
are read from sampled frames, speech has word times."""


def _moment(kit: Kit, item: Item) -> Span:
    """The moment a found item stands for: words said are the sentence they are said in ("when the cook says to
    add the cream" is the saying of "Add the cream, stir again and cook slowly"), anything else its own span."""
    if item.modality != "speech":
        return item.span
    for seg in kit.query.segments(item.video_id):
        if seg.span.start <= item.span.start <= seg.span.end:
            return Span(seg.span.start, max(seg.span.end, item.span.end))
    return item.span


def _around(span: Span, relation: str, modality: str = "speech", target: str = "speech") -> Span:
    """The span to read at a moment found: just after or before it, or during it (at least 2 s; widened by the
    gap between sampled frames when the moment or what is read there was seen on them — the words "add the
    cream" end at 37.7 s, the STEP 3 caption is first seen on the frame of 38.5 s)."""
    if relation == "after":
        return Span(span.end, span.end + 8.0)
    if relation == "before":
        return Span(max(0.0, span.start - 8.0), span.start)
    pad = max(0.0, (2.0 - span.duration) / 2, 0.0 if modality == target == "speech" else SAMPLED)
    return Span(max(0.0, span.start - pad), span.end + pad)


def _reject(state: State, kit: Kit, reason: str, answer: str = "") -> dict:
    refused = [answer.casefold()] if answer else []
    return {"draft": None, "rejected": reason, "refused": refused,
            "trace": [kit.step("reflected", f"rejected: {reason}")]}


def _nothing(state: State) -> str:
    obs = state.get("observations", [])
    if not obs:
        return "no tool found anything"
    return "; ".join(o.summary for o in obs[-2:])
