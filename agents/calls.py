"""How the tool loop's model calls tools: by the number of a suggested call (``menu``), or also by writing a call
with its arguments (``free``: native tool calls where the backend has them, one JSON schema elsewhere).

    tools = offered(kit, options, menu)      # [Tool("answer"), Tool("suggested"), Tool("count"), ...]
    call = written(ToolCall("locate", {"query": "pump", "occurrence": 2}), kit, question)
    call      # Call("locate", {"query": "pump", "occurrence": 2}), or a one-line reason it cannot run
    turn_of(reply, kit, question, options, menu, done)   # ({"call": call}, "call locate(...)"), or an answer, a note

The tools' parameters are typed here (JSON schemas small enough for llama.cpp's grammar conversion); what each does,
as the model reads it, is a line of ``prompts/calls.md``. A written call is checked before it runs: an unknown tool
or video, a span outside the video, a missing argument is a reason the model reads, never a crash.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from ..models.base import Tool, ToolCall
from ..prompts import load
from ..records import LETTERS, fmt_span, parse_time, Span
from .intent import Call
from .kit import Kit

_MODALITIES = ("speech", "text", "objects", "any")
PARAMS: dict[str, tuple[tuple[str, str], ...]] = {
    "search": (("query", "text"),),
    "find": (("query", "text"), ("modality", "modality"), ("video", "video")),
    "count": (("query", "text"), ("modality", "modality"), ("video", "video")),
    "most": (("query", "text"), ("video", "video")),
    "locate": (("query", "text"), ("occurrence", "int"), ("modality", "modality"), ("video", "video")),
    "order": (("targets", "list"), ("modality", "modality"), ("video", "video")),
    "read": (("video", "video"), ("start", "seconds"), ("end", "seconds"), ("modality", "modality")),
    "screen": (("query", "text"), ("at", "seconds"), ("video", "video")),
    "shots": (("video", "video"),),
    "videos": (),
    "speakers": (("video", "video"),),
    "who": (("query", "text"), ("video", "video"), ("at", "seconds")),
    "said_by": (("speaker", "text"), ("query", "text"), ("video", "video")),
    "colours": (("video", "video"), ("start", "seconds"), ("end", "seconds"), ("thing", "text")),
    "look": (("video", "video"), ("start", "seconds"), ("end", "seconds")),
    "read_all": (("question", "text"),),
    "deep_search": (("question", "text"),),
}
"""Each tool the model may call and its arguments (name, kind), in the order they are written."""
REQUIRED = {"search": ("query",), "find": ("query",), "count": ("query",), "most": ("query",),
            "locate": ("query",), "order": ("targets",), "said_by": ("speaker",), "look": ("video", "start", "end")}


@cache
def descriptions() -> dict[str, tuple[str, str]]:
    """name -> (its arguments as written, what it does), from the lines of ``prompts/calls.md``."""
    out = {}
    for line in load("calls").text.splitlines():
        m = re.match(r"^(?:- )?(\w+)\(([^)]*)\): (.+)$", line.strip())
        if m:
            out[m.group(1)] = (m.group(2), m.group(3))
    return out


def system_prompt(mode: str) -> tuple[str, str]:
    """The loop's system prompt for ``mode`` (``menu`` or ``free``) and the versions of its prompt files."""
    parts = [load("tools"), load("menu" if mode == "menu" else "calls")]
    return "\n\n".join(p.text for p in parts), "+".join(p.version for p in parts)


def offered(kit: Kit, options: list[str], menu: list[Call], reading: bool = False) -> list[Tool]:
    """The tools of one free turn: ``answer``, ``suggested`` (when there is a menu) and, unless the model only
    reads this turn, every call it may write (``look`` while looks are left; the slow sub-graphs while calls are)."""
    about = descriptions()
    answer: dict[str, Any] = {"answer": {"type": "string", "maxLength": 200}}
    if options:
        answer["option"] = {"enum": list(LETTERS[: len(options)])}
    tools = [Tool("answer", about["answer"][1], _object(answer, ["answer", "option"] if options else ["answer"]))]
    if reading:
        return tools
    if menu:
        tools.append(Tool("suggested", about["suggested"][1],
                          _object({"number": {"enum": list(range(1, len(menu) + 1))}}, ["number"])))
    videos = [kit.name(v) for v in kit.videos]
    for name, params in PARAMS.items():
        if (name == "look" and kit.looks >= kit.budget.looks) or (name == "deep_search" and kit.calls_left() < 3) \
                or (name == "read_all" and kit.calls_left() < 2):
            continue
        props = {key: _schema(kind, videos) for key, kind in params}
        tools.append(Tool(name, about[name][1], _object(props, list(REQUIRED.get(name, ())))))
    return tools


def _object(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required}


def _schema(kind: str, videos: list[str]) -> dict[str, Any]:
    if kind == "modality":
        return {"enum": list(_MODALITIES)}
    if kind == "video":
        return {"enum": videos} if len(videos) <= 20 else {"type": "string"}
    if kind == "seconds":
        return {"type": "number"}
    if kind == "int":
        return {"type": "integer"}
    if kind == "list":
        return {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 5}
    return {"type": "string"}


def written(tc: ToolCall, kit: Kit, question: str) -> Call | str:
    """The call the model wrote, checked and in its canonical form (the same call always prints the same), or
    the one-line reason it cannot run."""
    if tc.problem:
        return tc.problem
    if tc.name not in PARAMS:
        return f"there is no tool {tc.name!r} (the tools: {', '.join(PARAMS)})"
    args: dict[str, Any] = {}
    for key, kind in PARAMS[tc.name]:
        value = tc.arguments.get(key)
        if value is None or value == "" or value == []:
            continue
        try:
            args[key] = _value(kind, value, kit)
        except (TypeError, ValueError, LookupError) as e:
            return f"{key}: {e}"
    if tc.name in ("read_all", "deep_search"):
        args.setdefault("question", question)
    if len(kit.videos) == 1 and tc.name in ("read", "look"):
        args.setdefault("video", kit.name(kit.videos[0]))
    missing = [k for k in REQUIRED.get(tc.name, ()) if k not in args]
    if tc.name in ("read", "look") and "video" not in args:
        missing.append("video")
    if missing:
        return f"{tc.name} needs {' and '.join(missing)}"
    return _check(Call(tc.name, args), kit) or Call(tc.name, args)


def _value(kind: str, value: Any, kit: Kit) -> Any:
    if kind == "modality":
        m = str(value).strip().lower()
        if m not in _MODALITIES:
            raise ValueError(f"{value!r} is not one of {', '.join(_MODALITIES)}")
        return m
    if kind == "video":
        return kit.name(_video(kit, str(value).strip()))
    if kind == "seconds":
        t = parse_time(re.sub(r"\s*s(?:ec\w*)?$", "", value)) if isinstance(value, str) else float(value)
        if t < 0:
            raise ValueError(f"{value!r} is before the start")
        return round(t, 2)
    if kind == "int":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(f"{value!r} is not a whole number")
        n = int(value)
        if n == 0:
            raise ValueError("0 is no occurrence (1 = first, -1 = last)")
        return n
    if kind == "list":
        if not isinstance(value, list):
            raise ValueError("give a list of two or more things")
        targets = list(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))
        if len(targets) < 2:
            raise ValueError("give two or more different things")
        return targets
    if isinstance(value, (dict, list)):
        raise ValueError("give a text")
    return str(value).strip()


def _video(kit: Kit, video: str) -> str:
    for v in kit.videos:
        name = kit.name(v)
        if video in (v, name, name.rsplit(".", 1)[0]) or (len(video) >= 8 and v.startswith(video)):
            return v
    names = ", ".join(kit.name(v) for v in kit.videos[:6]) + (", ..." if len(kit.videos) > 6 else "")
    raise LookupError(f"no video {video!r} is in scope (the videos: {names})")


def _check(call: Call, kit: Kit) -> str:
    """Why a well-formed call still cannot run (a span outside its video, no looks left), else ""."""
    a = call.args
    start, end = a.get("start"), a.get("end")
    if (start is None) != (end is None):
        return f"{call.tool} needs both start and end (or neither)"
    if start is not None and end is not None:
        if end <= start:
            return f"the span {start:g}-{end:g} s ends before it starts"
        video = _video(kit, a["video"])
        duration = kit.source.durations.get(video, 0.0)
        if duration and start >= duration:
            return f"{a['video']} is only {fmt_span(Span(0.0, duration))} long"
    if call.tool == "who" and not a.get("query") and a.get("at") is None:
        return "who needs a query (what is said) or at (a time)"
    if call.tool == "look" and kit.looks >= kit.budget.looks:
        return f"all {kit.budget.looks} looks are used"
    return ""


def observation_of(kit: Kit, call: Call) -> int | None:
    """The number of the observation an identical call made, if any."""
    return next((o.id for o in kit.observations.values() if str(o.call) == str(call)), None)


def turn_of(data: ToolCall | str, kit: Kit, question: str, options: list[str], suggested: list[Call],
            done: list[str]) -> tuple[dict, str]:
    """What a free turn decided — ``{"answer", "option"}``, ``{"call"}``, or ``{"note"}`` saying why the call was
    not run — and its trace detail. A reply calling no tool (text only) is an answer."""
    if isinstance(data, str) or data.name == "answer":
        args = {"answer": data} if isinstance(data, str) else data.arguments
        answer = str(args.get("answer") or "").strip()[:200]
        option = str(args.get("option") or "").strip()[:1].upper() or None if options else None
        return {"answer": answer, "option": option}, f"{answer or '-'}" + (f" (option {option})" if option else "")
    if data.name == "suggested":
        n = data.arguments.get("number")
        if isinstance(n, int) and 1 <= n <= len(suggested):
            return {"call": suggested[n - 1]}, f"call {suggested[n - 1]}"
        call: Call | str = f"there is no suggested call {n!r}"
    else:
        call = written(data, kit, question)
    shown = str(Call(data.name, data.arguments))
    if isinstance(call, str):
        return {"note": load("not_run").render(call=shown, reason=call)}, f"{shown} not run: {call}"
    before = observation_of(kit, call)
    if str(call) in set(done) or before is not None:
        where = f"O{before}" if before is not None else "an observation"
        return {"note": load("ran_before").render(call=str(call), observation=where)}, \
            f"{call} not run: made already ({where})"
    return {"call": call}, f"call {call} (written by the model)"
