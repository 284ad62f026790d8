"""The agents' hands: retrieval, looking, splitting, moving, model calls within a budget, and the final Answer.

A ``Kit`` is made per question and passed to the compiled graphs as their runtime context. It owns the budget
counters (thread-safe: MapReduce branches call the model in parallel) and the numbering of evidence items.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import BudgetExhausted, ReplyError, VidgraphError
from ..memory.events import cut_segment
from ..records import LETTERS, Event, Span
from .answer import Answer, Citation, Cost, Step
from .query import Query
from .source import Source
from .state import Budget, Item, Observation, Shot

if TYPE_CHECKING:
    from ..models.base import ChatModel, Message, Tool, Usage


class RepeatedPrompt(BudgetExhausted):
    """This exact prompt was sent already: a deterministic model would answer the same, so it is not sent again."""


class Kit:
    """Everything the agent graphs use for one question."""

    def __init__(self, source: Source, model: ChatModel, budget: Budget, videos: Sequence[str],
                 vlm: ChatModel | None = None, on_step: Callable[[Step], None] | None = None,
                 calls: str = "menu") -> None:
        from ..models.base import Usage

        self.source = source
        self.memory = source.memory
        self.model = model
        self.vlm = vlm if vlm is not None else (model if model.supports_images else None)
        self.budget = budget
        self.videos = list(videos)
        self.on_step = on_step
        self.calls = calls
        """How the tool loop's model calls tools: ``menu`` (numbers of suggested calls) or ``free`` (also calls it
        writes; ``agents.calls``)."""
        self.started = time.perf_counter()
        self.usage = Usage()
        self.looks = 0
        self.frames = 0
        self.query = Query(source, self.videos)
        """The query tools over the index of this question's videos."""
        self.candidates: list[Shot] = []
        """The best moments of the last search (the tool loop offers looks and reads at them)."""
        self.items: dict[int, Item] = {}
        self.observations: dict[int, Observation] = {}
        self._seen: dict[tuple, int] = {}
        self._sent: set[str] = set()
        self.verdicts: dict[tuple, dict] = {}
        """The verifier's verdict per (claim, cited items): the same draft is never judged twice."""
        self._reserved = 0
        self._lock = threading.Lock()

    # -- budget and model calls ---------------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def calls_left(self) -> int:
        return max(0, self.budget.calls - self.usage.calls - self._reserved)

    def time_left(self) -> float:
        return self.budget.seconds - self.elapsed

    def can_call(self, n: int = 1) -> bool:
        return self.calls_left() >= n and self.time_left() > 0

    def chat(self, messages: list[Message], schema: Any, max_tokens: int = 256,
             model: ChatModel | None = None, tools: list[Tool] | None = None) -> tuple[Any, Usage]:
        """One structured call (the parsed reply; with ``tools``, the ``ToolCall`` the model made, or its text when
        it called none); raises ``BudgetExhausted`` when no call or time is left."""
        from ..models.base import Usage

        import hashlib
        import json

        model = model or self.model
        offered = [(t.name, t.parameters) for t in tools or []]
        key = hashlib.sha256(json.dumps([model.spec, [(m.role, m.text()) for m in messages],
                                         getattr(schema, "__name__", str(schema)), offered]).encode()).hexdigest()
        with self._lock:  # calls in flight are reserved, so parallel map branches never overrun the budget
            if key in self._sent:
                raise RepeatedPrompt("the same prompt was sent before; a deterministic model would answer the same")
            if not self.can_call():
                raise BudgetExhausted(f"budget used: {self.usage.calls} model calls, {self.elapsed:.0f} s")
            self._sent.add(key)
            self._reserved += 1
        held = [1]

        def retry() -> bool:  # the retry of an invalid reply is a call too: only when one is left
            with self._lock:
                if not self.can_call():
                    return False
                self._reserved += 1
                held[0] += 1
                return True

        try:
            reply = model.chat(messages, schema=schema, max_tokens=max_tokens, retry=retry, tools=tools)
        except VidgraphError as e:
            with self._lock:
                self._reserved -= held[0]
                self.usage = self.usage + getattr(e, "usage", Usage(calls=1))
            raise
        with self._lock:
            self._reserved -= held[0]
            self.usage = self.usage + reply.usage
        if tools:
            return (reply.calls[0] if reply.calls else reply.text), reply.usage
        return reply.data, reply.usage

    def step(self, kind: str, detail: str, video_id: str = "", span: Span | None = None, seconds: float = 0.0,
             calls: int = 0, prompt: str = "") -> Step:
        s = Step(kind=kind, detail=detail, video_id=video_id, span=span, seconds=round(seconds, 3), calls=calls,
                 prompt=prompt)
        if self.on_step is not None:
            self.on_step(s)
        return s

    # -- evidence items -------------------------------------------------------------------------------------------
    def add(self, found: Iterable[tuple]) -> list[Item]:
        """Evidence ``(video_id, span, modality, text, event[, speaker])`` as numbered items (known evidence keeps
        its number)."""
        out = []
        with self._lock:
            for video_id, span, modality, text, event, *who in found:
                text = " ".join(text.split())
                if not text:
                    continue
                key = (video_id, round(span.start, 1), round(span.end, 1), modality, text)
                if key in self._seen:
                    out.append(self.items[self._seen[key]])
                    continue
                item = Item(len(self.items) + 1, video_id, self.name(video_id), span, modality, text, event,
                            who[0] if who else "")
                self._seen[key] = item.id
                self.items[item.id] = item
                out.append(item)
        return out

    def name(self, video_id: str) -> str:
        return self.source.name(video_id)

    def observe(self, call: Any, result: Any, limit: int = 12) -> Observation:
        """A tool's result as a numbered observation whose evidence are numbered items (the citations)."""
        items = self.add((f.video_id, f.span, f.modality, f.text if not f.context or f.context == f.text else
                          f"{f.text} (in: {f.context})", -1, f.speaker) for f in result.found[:limit])
        with self._lock:
            obs = Observation(len(self.observations) + 1, call, result.value, result.summary, tuple(items),
                              result.note, len(result.found))
            self.observations[obs.id] = obs
        return obs

    def event_items(self, event: Event, within: Span | None = None) -> list[Item]:
        """The evidence of a memory event (speech per sentence, text per line, objects, scene, caption)."""
        span = within or event.span
        v, i = event.video_id, event.index
        found: list[tuple] = []
        for seg in event.speech:
            part = cut_segment(seg, span) if within else seg
            if part is not None:
                found.append((v, part.span, "speech", part.text, i, part.who))
        for line in event.text:
            if line.span.overlap(span) > 0 or span.contains(line.span.start):
                found.append((v, Span(max(span.start, line.span.start), min(span.end, line.span.end)) if
                              line.span.start < span.end else span, "text", line.text, i))
        objects = [o for o in event.objects if o.span.overlap(span) > 0 or span.contains(o.span.start)]
        if objects:
            found.append((v, span, "objects", ", ".join(f"{o.label} x{o.max_count}" if o.max_count > 1 else o.label
                                                        for o in objects), i))
        if event.tags and not within:
            found.append((v, span, "tags", ", ".join(event.tags), i))
        if event.caption and not within:
            found.append((v, span, "caption", event.caption.text, i))
        return self.add(found)

    # -- actions --------------------------------------------------------------------------------------------------
    def retrieve(self, query: str, k: int = 8) -> tuple[list[Shot], list[Item], Step]:
        start = time.perf_counter()
        hits = self.memory.search(query, videos=self.videos, k=k)
        shots = [Shot(h.video_id, h.span, h.score, h.event.index, "; ".join(h.reasons[:2])) for h in hits]
        items = [it for h in hits for it in self.event_items(h.event)]
        where = ", ".join(f"{self.name(s.video_id)} {s.span}" for s in shots[:4])
        return shots, items, self.step("retrieved", f"{len(hits)} moments for {query!r}: {where}",
                                       seconds=time.perf_counter() - start)

    def look(self, shot: Shot, question: str = "") -> tuple[list[Item], Step]:
        """Dense frames inside the shot read by OCR, detection and tags (and described by the VLM if any)."""
        from .look import look

        start = time.perf_counter()
        with self._lock:
            if self.looks >= self.budget.looks:
                raise BudgetExhausted(f"all {self.budget.looks} looks used")
            if self.time_left() <= 0:
                raise BudgetExhausted(f"the {self.budget.seconds:g} s budget is used")
            self.looks += 1
        ctx = self.source.context(shot.video_id)
        reading = look(ctx, shot.span, self.budget.frames_per_look)
        with self._lock:
            self.frames += len(reading.frames)
        found = [(shot.video_id, span, f"look:{modality}", text, shot.event) for modality, span, text in reading.found]
        calls = 0
        if self.vlm is not None and reading.frames and self.can_call():
            described, calls = self._describe(shot, reading.frames, question)
            found += described
        items = self.add(found)
        detail = f"{len(reading.frames)} frames: " + ("; ".join(f"{i.modality} {i.text[:60]}" for i in items)
                                                      or "nothing new")
        if reading.errors:
            detail += " (could not run: " + "; ".join(reading.errors) + ")"
        return items, self.step("looked", detail, shot.video_id, shot.span, time.perf_counter() - start, calls)

    def _describe(self, shot: Shot, frames: Sequence, question: str) -> tuple[list, int]:
        from ..models.base import ImagePart, Message
        from ..prompts import load
        from .schemas import Description

        picked = list(frames)[:: max(1, len(frames) // 4)][:4]
        parts = [ImagePart(f.path, f.t, self.name(shot.video_id)) for f in picked]
        prompt = load("describe")
        try:
            data, _ = self.chat([Message.system(prompt.text),
                                 Message.user(f"Question: {question}", *parts)], Description, 200, model=self.vlm)
        except (ReplyError, BudgetExhausted):  # a VLM that cannot describe: the look keeps its tool readings
            return [], 1
        return [(shot.video_id, shot.span, "look:caption", data.description, shot.event)], 1

    def split(self, shot: Shot, parts: int = 2) -> tuple[list[Shot], list[Item], Step]:
        """The shot cut into ``parts`` equal spans, each with the evidence that falls inside it."""
        if shot.span.duration < 2 * parts:
            raise ValueError(f"{shot.span} is too short to split")
        step = shot.span.duration / parts
        spans = [Span(round(shot.span.start + i * step, 3), round(shot.span.start + (i + 1) * step, 3))
                 for i in range(parts)]
        event = self.memory.event(shot.video_id, shot.event) if shot.event >= 0 else None
        children, items = [], []
        for n, span in enumerate(spans):
            children.append(Shot(shot.video_id, span, shot.score * (0.99 - 0.01 * n), shot.event,
                                 f"part {n + 1}/{parts} of {shot.span}", shot.depth + 1))
            if event is not None:
                items += self.event_items(event, within=span)
        return children, items, self.step("split", f"{shot.span} into {', '.join(map(str, spans))}",
                                          shot.video_id, shot.span)

    def move(self, shot: Shot, how: str) -> tuple[list[Shot], list[Item], Step]:
        """Neighbours of the shot's event: ``previous``, ``next`` or the events sharing a named ``entity``."""
        if shot.event < 0:
            raise ValueError("this moment is not a memory event")
        g = self.memory.graph
        targets: list[tuple[str, int, str]] = []
        if how in ("previous", "next"):
            targets = [(shot.video_id, i, how) for i, kind in g.neighbours(shot.video_id, shot.event) if kind == how]
        elif how == "entity":
            for key in g.mentioned(shot.video_id, shot.event)[:6]:
                targets += [(v, i, f"same {key!r}") for v, i in g.same_entity(key, self.videos)
                            if (v, i) != (shot.video_id, shot.event)]
        else:
            raise ValueError(f"cannot move {how!r}")
        shots, items, seen = [], [], set()
        for v, i, why in targets:
            if (v, i) in seen or len(shots) >= 4:
                continue
            seen.add((v, i))
            event = self.memory.event(v, i)
            if event is None:
                continue
            shots.append(Shot(v, event.span, shot.score * 0.9, i, f"{why} of {shot.span}"))
            items += self.event_items(event)
        where = ", ".join(f"{self.name(s.video_id)} {s.span}" for s in shots) or "nowhere new"
        return shots, items, self.step("moved", f"{how} from {shot.span}: {where}", shot.video_id, shot.span)

    # -- the answer -----------------------------------------------------------------------------------------------
    def citation(self, item: Item) -> Citation:
        frame = None
        try:
            from ..tools.frames import thumbnail

            frame = thumbnail(self.source.context(item.video_id), item.span.middle,
                              max(1.0, item.span.duration / 2)).path
        except Exception:  # a thumbnail is decoration: a citation never fails for want of one
            frame = None
        return Citation(video_id=item.video_id, video=item.video, span=item.span, modality=item.modality,
                        evidence=item.text, frame=frame)

    def answer(self, question: str, options: Sequence[str], final: dict, trace: Sequence[Step],
               strategy: str) -> Answer:
        cited = [self.items[i] for i in final.get("cited", []) if i in self.items]
        cost = Cost(model_calls=self.usage.calls, prompt_tokens=self.usage.prompt_tokens,
                    completion_tokens=self.usage.completion_tokens, frames=self.frames, looks=self.looks,
                    seconds=round(self.elapsed, 3))
        return Answer(question=question, text=final["text"], found=bool(final["found"]), choice=final.get("choice"),
                      options=tuple(options), confidence=round(float(final.get("confidence", 0.0)), 3),
                      citations=tuple(self.citation(i) for i in cited), trace=tuple(trace), cost=cost,
                      strategy=strategy, model=self.model.spec)


def evidence_block(items: Sequence[Item], limit: int = 3500) -> str:
    """Numbered evidence lines, in the given order, up to ``limit`` characters."""
    lines, size = [], 0
    for item in items:
        line = item.line()
        if size + len(line) > limit and lines:
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines) if lines else "(no evidence)"


def question_block(question: str, options: Sequence[str]) -> str:
    text = f"Question: {question}"
    if options:
        text += "\nOptions:\n" + "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))
    return text
