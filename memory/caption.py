"""MapReduce captioning (MR. Video): caption clips independently and in parallel, then standardise names.

Map: each event gets a caption from a VLM over its frames, or, with a text-only model, from its evidence
(speech, on-screen text, objects, scene classes). Reduce: the entity names the captions used are grouped by the
model into one standard name each (``reduce_names``), and the string-level reduce in ``entities`` does the rest.
Captions are cached by (video, span, model, prompt version): captioning the same clip twice costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from pydantic import BaseModel, Field

from ..errors import ModelError
from ..models.base import ChatModel, ImagePart, Message, Usage
from ..prompts import load, quote
from ..records import Caption, Event, fmt_time
from .graph import Graph


class CaptionReply(BaseModel):
    caption: str = Field(description="one or two sentences")
    entities: list[str] = Field(default_factory=list, description="named entities in the clip")


class NameGroup(BaseModel):
    name: str
    aliases: list[str]


class NameGroups(BaseModel):
    groups: list[NameGroup]


def evidence_block(event: Event) -> str:
    """The evidence of one event as labelled lines; video text is quoted as data."""
    lines = [f"Clip: {fmt_time(event.span.start)} to {fmt_time(event.span.end)}"]
    ev = event.evidence()
    for key, label in (("speech", "Said"), ("text", "On-screen text")):
        if key in ev:
            lines.append(f"{label}: {quote(ev[key])}")
    if "objects" in ev:
        lines.append(f"Objects detected: {ev['objects']}")
    if "tags" in ev:
        lines.append(f"Scene classes: {ev['tags']}")
    if len(lines) == 1:
        lines.append("(no speech, text or objects were found in this clip)")
    return "\n".join(lines)


FramesFn = Callable[[Event], list[ImagePart]]


def caption_events(events: Sequence[Event], model: ChatModel, graph: Graph | None = None,
                   frames: FramesFn | None = None, concurrency: int = 2,
                   progress: Callable[[int, int], None] | None = None) -> tuple[list[Event], Usage]:
    """Events with ``caption`` filled (cached ones reused), and the usage of the calls made."""
    prompt = load("caption")
    model_name = model.spec + ("+frames" if frames is not None and model.supports_images else "")
    done, failed = [0], [0]
    total = Usage()

    def one(event: Event) -> tuple[Event, Usage]:
        cached = graph.caption(event.video_id, event.span.start, event.span.end, model_name, prompt.version) \
            if graph is not None else None
        usage = Usage()
        if cached is None:
            parts: list[str | ImagePart] = [evidence_block(event)]
            if frames is not None and model.supports_images:
                parts += frames(event)
            try:
                reply = model.chat([Message.system(prompt.text), Message.user(*parts)], schema=CaptionReply,
                                   max_tokens=320)
            except ModelError:
                failed[0] += 1  # one clip without a caption; its evidence is still indexed
                return event, Usage()
            usage = reply.usage
            data: CaptionReply = reply.data
            cached = Caption(video_id=event.video_id, span=event.span, text=data.caption.strip(),
                             entities=tuple(dict.fromkeys(e.strip() for e in data.entities if e.strip())),
                             source=f"{model_name}|{prompt.version}")
            if graph is not None:
                graph.put_caption(cached, model_name, prompt.version)
        done[0] += 1
        if progress:
            progress(done[0], len(events))
        return replace(event, caption=cached), usage

    with ThreadPoolExecutor(max(1, concurrency)) as pool:
        results = list(pool.map(one, events))
    for _, usage in results:
        total += usage
    if failed[0] == len(events):
        raise ModelError(f"{model.spec} could not caption any of {len(events)} clips",
                         "check the model with: vidgraph doctor; or index without --caption")
    return [e for e, _ in results], total


def reduce_names(names: Sequence[str], model: ChatModel, limit: int = 60) -> tuple[dict[str, str], Usage]:
    """Alias -> standard name for names the model groups as one entity (the reduce step).

    The ``limit`` most frequent names go to the model in one call (its reply grows with them); the string-level
    reduce in ``entities`` handles the rest.
    """
    counts: dict[str, int] = {}
    for n in (n.strip() for n in names):
        if n:
            counts[n] = counts.get(n, 0) + 1
    unique = sorted(counts, key=lambda n: -counts[n])[:limit]
    if len(unique) < 2:
        return {}, Usage()
    prompt = load("reduce_entities")
    listing = "\n".join(f"- {quote(n, 80)}" for n in unique)
    try:
        reply = model.chat([Message.user(prompt.render(names=listing))], schema=NameGroups, max_tokens=400)
    except ModelError:
        return {}, Usage()  # the string-level reduce still runs; a failed LLM reduce loses only merges
    known = {n.lower(): n for n in unique}
    out: dict[str, str] = {}
    for group in reply.data.groups:
        members = list(dict.fromkeys(known[a.lower()] for a in [group.name, *group.aliases] if a.lower() in known))
        if len(members) >= 2 and _plausible(members):
            for alias in members:
                out[alias] = group.name
    return out, reply.usage


def _plausible(members: list[str], most: int = 4) -> bool:
    """A small model's grouping is kept only if it could be one thing: a few names, the same numbers, and no
    two full names without a word in common (two different people)."""
    import re

    if len(members) > most or len({"".join(re.findall(r"\d", m)) for m in members}) > 1:
        return False
    full = [set(m.lower().split()) for m in members if len(m.split()) >= 2 and m[:1].isupper()]
    return all(a & b for i, a in enumerate(full) for b in full[i + 1:])
