"""The memory of a library: events, entities and their graph, searchable by meaning, keyword and link.

    mem = Library("videos/").memory
    for hit in mem.search("what is the locker code?", k=5):
        print(hit.event.span, hit.score, hit.reasons)

On disk (``<index>/memory/``): ``graph.sqlite`` (events, entities, mentions, edges, captions),
``keyword.sqlite`` (BM25), ``chroma/`` (vectors; or a Chroma server when ``chroma_url`` is set). One video's
memory is replaced or removed as a unit; the graph is written last, so a crash mid-build is rebuilt next time.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import StoreError
from ..records import Entity, Event, Frame, Record, Span, TextLine, TranscriptSegment
from .entities import ENTITIES_VERSION, reduce_entities
from .events import EVENTS_VERSION, build_events, overlap_edges
from .graph import Graph
from .retrieve import Hit, hybrid_search

if TYPE_CHECKING:
    from ..models.base import ChatModel, ImagePart, Usage
    from .keyword import KeywordIndex
    from .store import Doc, VectorStore

MEMORY_VERSION = f"{EVENTS_VERSION}.{ENTITIES_VERSION}.1"
STORE_ID = "vidgraph-store.id"
"""A random id written in a new vector store and kept in the graph: a store that lost it was deleted or replaced."""
SEARCHES_KEPT = 512
"""Searches whose hits are kept for the same search again (until the memory changes)."""


@dataclass(frozen=True)
class MemoryStats:
    video_id: str
    events: int
    entities: int
    captions: int
    seconds: float
    model_calls: int = 0
    tokens: int = 0


ProgressFn = Callable[[str, float, float], None]


class Memory:
    """Events, entities and the graph of every video of one index, with hybrid search over them."""

    def __init__(self, root: str | Path, settings: Settings) -> None:
        self.root = Path(root)
        self.settings = settings
        self.graph = Graph(self.root / "graph.sqlite")
        self._keywords: KeywordIndex | None = None
        self._vectors: VectorStore | None = None
        self._found: OrderedDict[tuple, tuple[Hit, ...]] = OrderedDict()
        """The last searches' hits, by the memory's generation and the search: people and the agents search
        again for the same words; any write to the memory changes the generation."""
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Memory({str(self.root)!r})"

    @property
    def keywords(self) -> KeywordIndex:
        if self._keywords is None:
            from .keyword import KeywordIndex

            self._keywords = KeywordIndex(self.root / "keyword.sqlite")
        return self._keywords

    @property
    def vectors(self) -> VectorStore:
        if self._vectors is None:
            from ..models.embed import load_embedder
            from .store import VectorStore

            embedder = load_embedder(self.settings.embedder, self.settings)
            url = self.settings.chroma_url
            fresh = url is None and not (self.root / "chroma" / STORE_ID).is_file()
            self._vectors = VectorStore(None if url else self.root / "chroma", embedder, url=url)
            if fresh and not self.graph.read_only and (not self.graph.video_ids()
                                                       or self.graph.meta("vectors") is None):
                self._mark_store()  # a new store (or one from before stores were marked): its loss can be told
        return self._vectors

    def _mark_store(self) -> None:
        store_id = uuid.uuid4().hex
        (self.root / "chroma" / STORE_ID).write_text(store_id)
        self.graph.set_meta("vectors", store_id)

    def lost(self) -> str:
        """What of the memory is gone while the graph says it holds videos ("" when it is whole): a deleted or
        replaced vector store, a deleted keyword index. ``rebuild_lost`` makes it whole from the artifacts."""
        if not self.graph.video_ids():
            return ""
        if not (self.root / "keyword.sqlite").is_file():
            return f"{self.root / 'keyword.sqlite'} is missing"
        if self.settings.chroma_url is None:
            expected, marker = self.graph.meta("vectors"), self.root / "chroma" / STORE_ID
            found = marker.read_text().strip() if marker.is_file() else None
            if expected is not None and found != expected:
                return f"{self.root / 'chroma'} is missing or was replaced"
        return ""

    def rebuild_lost(self) -> str:
        """When part of the memory is gone: start it empty and mark every video for rebuilding (from the
        artifacts, no tool runs again); returns what was lost ("" when nothing was)."""
        why = self.lost()
        if why:
            import shutil

            self._vectors = self._keywords = None
            shutil.rmtree(self.root / "chroma", ignore_errors=True)
            (self.root / "keyword.sqlite").unlink(missing_ok=True)
            self.graph.forget_fingerprints()  # events and captions stay; every video's memory is built again
            _ = self.vectors, self.keywords
            if self.settings.chroma_url is None:
                self._mark_store()
        return why

    # -- building ---------------------------------------------------------------------------------------------
    def fingerprint(self, artifacts: Sequence[str], caption_model: str | None = None) -> str:
        """What a video's memory was built from: the artifacts, the memory version and the captioner."""
        text = "|".join([MEMORY_VERSION, self.settings.embedder, str(self.settings.clip_seconds),
                         caption_model or "-", *sorted(artifacts)])
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()

    def is_current(self, video_id: str, fingerprint: str) -> bool:
        return self.graph.fingerprint(video_id) == fingerprint

    def build(self, video_id: str, duration: float, records: dict[str, list[Record]], fingerprint: str = "",
              caption: bool | None = None, model: ChatModel | str | None = None,
              progress: ProgressFn | None = None) -> MemoryStats:
        """(Re)build one video's memory from its tools' records; with ``caption``, caption every clip first."""
        from ..models.base import Usage

        start = time.perf_counter()
        caption = self.settings.caption if caption is None else caption
        records = with_speakers(records)
        events = build_events(video_id, duration, records, self.settings.clip_seconds)
        usage, aliases = Usage(), {}
        if caption and events:
            events, usage, aliases = self._caption(events, records, model, progress)
        entities, events = reduce_entities(video_id, events, aliases)
        docs = memory_docs(video_id, events, entities, records)
        if progress:
            progress("embed", 0, 1)
        self.vectors.replace_video(video_id, docs)
        self.keywords.replace_video(video_id, docs)
        seconds = time.perf_counter() - start
        self.graph.replace_video(video_id, events, entities, overlap_edges(events, records), fingerprint,
                                 round(seconds, 3), time.time())
        if progress:
            progress("embed", 1, 1)
        return MemoryStats(video_id, len(events), len(entities), sum(e.caption is not None for e in events),
                           round(seconds, 3), usage.calls, usage.tokens)

    def _caption(self, events: list[Event], records: dict[str, list[Record]], model: ChatModel | str | None,
                 progress: ProgressFn | None) -> tuple[list[Event], Usage, dict[str, str]]:
        from ..models import resolve_model
        from .caption import caption_events, reduce_names

        chat = resolve_model(model or self.settings.vlm or self.settings.llm, self.settings)
        frames = keyframe_parts(records) if chat.supports_images else None
        report = (lambda done, total: progress("caption", done, total)) if progress else None
        events, usage = caption_events(events, chat, self.graph, frames, self.settings.caption_concurrency, report)
        names = [n for e in events if e.caption for n in e.caption.entities]
        aliases, more = reduce_names(names, chat)
        return events, usage + more, aliases

    def drop(self, video_id: str) -> None:
        """Remove one video's events, entities, edges, vectors and keywords."""
        self.vectors.delete_video(video_id)
        self.keywords.delete_video(video_id)
        self.graph.delete_video(video_id)

    def keep_only(self, video_ids: set[str]) -> list[str]:
        """Drop the memory of every video not in ``video_ids``; returns the dropped ids."""
        gone = [v for v in self.graph.video_ids() if v not in video_ids]
        for v in gone:
            self.drop(v)
        return gone

    # -- reading ----------------------------------------------------------------------------------------------
    def search(self, query: str, videos: Sequence[str] | None = None, span: Span | None = None, k: int = 10,
               expand: bool = True) -> list[Hit]:
        """The ``k`` events that best match ``query`` (hybrid: vectors + keywords + graph); a memory that lost a part
        says so (a ``StoreError``) instead of answering from what is left."""
        lost = self.lost()
        if lost:
            raise StoreError(f"the memory lost part of itself: {lost}",
                             "run vidgraph index on the folder: it is rebuilt from the artifacts (no tool runs again)")
        videos = self.scope(videos)
        key = (self.graph.generation(), query, None if videos is None else tuple(videos),
               None if span is None else (span.start, span.end), k, expand)
        with self._lock:
            if key in self._found:
                self._found.move_to_end(key)
                return list(self._found[key])
        hits = hybrid_search(query, self.graph, self.vectors, self.keywords, videos, span, k, expand)
        with self._lock:
            self._found[key] = tuple(hits)
            while len(self._found) > SEARCHES_KEPT:
                self._found.popitem(last=False)
        return hits

    def scope(self, videos: Sequence[str] | None) -> list[str] | None:
        """``videos`` as a filter: None (no filter) when they are every video of the memory, since a filter on many
        ids costs Chroma ~100x the search itself."""
        if videos is not None and len(videos) > 1 and set(videos) >= set(self.graph.video_ids()):
            return None
        return None if videos is None else list(videos)

    def nearest(self, collection: str, text: str, k: int = 10, videos: Sequence[str] | None = None) -> list:
        """The ``k`` docs of ``collection`` nearest to ``text`` by meaning (``VectorStore.query``), in ``videos``."""
        return self.vectors.query(collection, text, k=k, videos=self.scope(videos))

    def videos(self) -> list[str]:
        return self.graph.video_ids()

    def events(self, video_id: str, span: Span | None = None) -> list[Event]:
        return self.graph.events(video_id, span.start if span else None, span.end if span else None)

    def event(self, video_id: str, index: int) -> Event | None:
        return self.graph.event(video_id, index)

    def entities(self, video_id: str | None = None) -> list[Entity]:
        return self.graph.entities(video_id)


def memory_docs(video_id: str, events: list[Event], entities: list[Entity],
                records: dict[str, list[Record]]) -> dict[str, list[Doc]]:
    """The searchable documents of one video, one collection per kind, with flat metadata."""
    from .store import Doc

    def where(span: Span) -> tuple[int, int]:
        hit = [e.index for e in events if e.span.overlap(span) > 0 or e.span.contains(span.start)]
        return (hit[0], hit[-1]) if hit else (-1, -1)

    def meta(span: Span, kind: str, source: str, first: int, last: int, **more) -> dict:
        return {"video_id": video_id, "start": float(span.start), "end": float(span.end), "kind": kind,
                "source": source, "event": first, "event_last": last, **more}

    docs: dict[str, list[Doc]] = {"events": [], "speech": [], "text": [], "entities": []}
    for e in events:
        text = e.document()
        if text:
            docs["events"].append(Doc(f"{video_id}:e{e.index}", text, meta(e.span, "event", e.source, e.index,
                                                                            e.index)))
    for n, seg in enumerate(r for r in records.get("asr", []) if isinstance(r, TranscriptSegment)):
        if seg.text.strip():
            text = f"{seg.who}: {seg.text.strip()}" if seg.who else seg.text.strip()
            docs["speech"].append(Doc(f"{video_id}:s{n}", text, meta(seg.span, "speech", seg.source,
                                                                    *where(seg.span), speaker=seg.who)))
    for n, line in enumerate(r for r in records.get("ocr", []) if isinstance(r, TextLine)):
        docs["text"].append(Doc(f"{video_id}:t{n}", line.text, meta(line.span, "text", line.source,
                                                                   *where(line.span))))
    for x in entities:
        spans = x.spans
        span = Span(min(s.start for s in spans), max(s.end for s in spans))
        text = x.name + (f" (also: {', '.join(x.aliases)})" if x.aliases else "")
        docs["entities"].append(Doc(f"{video_id}:n:{x.key}", text,
                                    meta(span, x.kind, x.source, x.mentions[0].event_index,
                                         x.mentions[-1].event_index, key=x.key)))
    return docs


def with_speakers(records: dict[str, list[Record]]) -> dict[str, list[Record]]:
    """The records with the transcript labelled by speaker (and name), when the speakers stage is among them."""
    if not records.get("speakers") or not records.get("asr"):
        return records
    from ..tools.speaker_names import with_speakers as label

    other = [r for r in records["asr"] if not isinstance(r, TranscriptSegment)]
    said, _ = label((r for r in records["asr"] if isinstance(r, TranscriptSegment)),
                    [*records["speakers"], *records.get("names", [])],
                    (r for r in records.get("ocr", []) if isinstance(r, TextLine)))
    return {**records, "asr": [*other, *said]}


def keyframe_parts(records: dict[str, list[Record]], per_event: int = 4) -> Callable[[Event], list[ImagePart]]:
    """Frames for a VLM: up to ``per_event`` stored key frames inside an event, with their timestamps."""
    from ..models.base import ImagePart

    keys = sorted((r for r in records.get("scan", []) if isinstance(r, Frame) and r.kind == "key"),
                  key=lambda f: f.t)

    def frames(event: Event) -> list[ImagePart]:
        inside = [f for f in keys if event.span.start <= f.t < event.span.end]
        step = max(1, len(inside) // per_event)
        return [ImagePart(f.path, f.t) for f in inside[::step][:per_event]]

    return frames


__all__ = ["Hit", "Memory", "MemoryStats", "memory_docs"]
