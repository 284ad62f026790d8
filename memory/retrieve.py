"""Hybrid retrieval: vector similarity + BM25 keywords, fused by score, then expanded along the graph.

Each source scores events: vectors over event documents, speech segments, text lines and entity names (cosine
similarity above a floor, and not far below the source's best), BM25 over all of them (exact names, numbers,
codes and quotes; normalised by the best keyword hit). The weighted sum ranks events; the best events then lend
part of their score to their neighbours in time and to other events that mention the same named entity (in any
video allowed by the filter). Every hit says why it matched.

Rank fusion (RRF) was tried first: with few events, every event is in every list and weak matches count as
much as strong ones, so scores are used instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..records import Event, Span
from .graph import Graph

WEIGHTS = {"keyword": 1.2, "events": 1.0, "speech": 0.9, "text": 0.9, "entities": 0.7}
FLOOR = {"events": 0.2, "speech": 0.2, "text": 0.25, "entities": 0.35}
"""Cosine similarity below which a vector hit is noise (MiniLM gives 0.1-0.25 to unrelated short texts)."""
MARGIN = 0.25
"""A vector hit more than this below its source's best hit is dropped."""
MODALITY = {"speech": "speech", "text": "text", "events": "event", "entities": "entity"}


@dataclass(frozen=True, slots=True)
class Hit:
    """An event found for a query: its score (higher is better) and the reasons it matched."""

    event: Event
    score: float
    reasons: tuple[str, ...]
    modalities: tuple[str, ...] = ()

    @property
    def video_id(self) -> str:
        return self.event.video_id

    @property
    def span(self) -> Span:
        return self.event.span


@dataclass
class _Candidate:
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    modalities: set[str] = field(default_factory=set)

    def add(self, score: float, reason: str, modality: str) -> None:
        self.score += score
        if reason not in self.reasons:
            self.reasons.append(reason)
        if modality:
            self.modalities.add(modality)


Key = tuple[str, int]


def hybrid_search(query: str, graph: Graph, vectors, keywords, videos: Sequence[str] | None = None,
                  span: Span | None = None, k: int = 10, expand: bool = True) -> list[Hit]:
    """The ``k`` best events for ``query`` within ``videos`` (all when None) and the time ``span``."""
    window = (span.start, span.end) if span is not None else None
    depth = max(2 * k, 10)
    found: dict[Key, _Candidate] = defaultdict(_Candidate)

    def score(source: str, items: list[tuple[list[Key], float, str, str]]) -> None:
        """Each event takes its best item of this source (value in 0..1) times the source's weight."""
        best: dict[Key, tuple[float, str, str]] = {}
        for keys, value, reason, modality in items:
            for key in keys:
                if key not in best or value > best[key][0]:
                    best[key] = (value, reason, modality)
        for key, (value, reason, modality) in best.items():
            found[key].add(WEIGHTS[source] * value, reason, modality)

    sources: list[tuple[str, list[tuple[dict, float, str, str]]]] = []
    for coll in ("events", "speech", "text", "entities"):
        try:
            hits = vectors.query(coll, query, k=depth, videos=videos, span=window, fields=False)
        except Exception:  # noqa: BLE001 - an empty or missing collection scores nothing
            hits = []
        top = max((h.similarity for h in hits), default=0.0)
        hits = _with_docs(coll, [h for h in hits if h.similarity >= max(FLOOR[coll], top - MARGIN)], vectors,
                          keywords)
        sources.append((coll, [(h.meta, (h.similarity - FLOOR[coll]) / (1 - FLOOR[coll]),
                                f"similar {coll} ({h.similarity:.2f}): {_snippet(h.text)}", _modality(coll, h.meta))
                               for h in hits]))

    kw = keywords.search(query, k=3 * depth, videos=videos, span=window)
    top = max((h.score for h in kw), default=0.0)
    sources.append(("keyword", [(h.meta, h.score / top if top > 0 else 0.0,
                                 f"keyword {', '.join(h.terms)} in {h.collection}: {_snippet(h.text)}",
                                 _modality(h.collection, h.meta)) for h in kw]))
    mentions = graph.entity_events((str(m["key"]), str(m.get("video_id", ""))) for _, items in sources
                                   for m, *_ in items if "key" in m)
    for source, items in sources:
        score(source, [(_targets(meta, mentions), value, reason, modality) for meta, value, reason, modality in items])

    if expand and found:
        _expand(found, graph, videos, span)
    ordered = sorted(found.items(), key=lambda kv: (-kv[1].score, kv[0]))
    out: list[Hit] = []
    events: dict[Key, Event] = {}
    read = 0  # the candidates whose events are read (a few times k at once)
    for n, ((vid, idx), cand) in enumerate(ordered):
        if n >= read:
            read = n + k - len(out) + 2
            events.update(graph.events_at(key for key, _ in ordered[n:read]))
        event = events.get((vid, idx))
        if event is None or (span is not None and event.span.overlap(span) <= 0
                             and not span.contains(event.span.start)):
            continue
        out.append(Hit(event, round(cand.score, 5), tuple(cand.reasons), tuple(sorted(cand.modalities))))
        if len(out) == k:
            break
    return out


def _with_docs(collection: str, hits: list, vectors, keywords) -> list:
    """``hits`` (ids and similarities) with their text and meta: from the keyword index, which holds the same
    docs; what it lacks, from the vector store."""
    ids = [h.id for h in hits]
    docs = keywords.docs(collection, ids) if ids else {}
    missing = [i for i in ids if i not in docs]
    if missing:
        docs.update(vectors.docs(collection, missing))
    return [replace(h, text=docs[h.id][0], meta=docs[h.id][1]) for h in hits if h.id in docs]


def _targets(meta: dict, mentions: dict[tuple[str, str], list[Key]]) -> list[Key]:
    """The events a document belongs to (an entity's: those mentioning it, from ``Graph.entity_events``)."""
    vid = str(meta.get("video_id", ""))
    if "key" in meta:
        return list(mentions.get((str(meta["key"]), vid), []))
    first = int(meta.get("event", -1))
    last = int(meta.get("event_last", first))
    return [(vid, i) for i in range(first, last + 1)] if first >= 0 else []


def _modality(collection: str, meta: dict) -> str:
    if collection == "events":
        return "event"
    return MODALITY.get(collection, collection)


def _snippet(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _expand(found: dict[Key, _Candidate], graph: Graph, videos: Sequence[str] | None, span: Span | None,
            seeds: int = 5, neighbour: float = 0.25, same: float = 0.4, max_events: int = 12) -> None:
    """Give temporal neighbours and same-entity events of the best candidates part of their score."""
    top = sorted(found.items(), key=lambda kv: -kv[1].score)[:seeds]
    gifts: dict[Key, list[tuple[float, str, str]]] = defaultdict(list)
    for (vid, idx), cand in top:
        for other, kind in graph.neighbours(vid, idx):
            gifts[(vid, other)].append((neighbour * cand.score, f"{kind} to event {idx}", ""))
        for key in graph.mentioned(vid, idx):
            entity = graph.entity(vid, key)
            if entity is None or entity.kind not in ("name", "code", "number", "thing"):
                continue
            events = graph.same_entity(key, videos, limit=max_events + 1)
            if len(events) > max_events:
                continue
            for ev in events:
                if ev != (vid, idx):
                    where = "" if ev[0] == vid else " in another video"
                    gifts[ev].append((same * cand.score, f"same entity '{entity.name}' as event {idx}{where}",
                                      "entity"))
    for key, offers in gifts.items():
        score, reason, modality = max(offers)
        found[key].add(score, reason, modality)
