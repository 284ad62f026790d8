"""Entities: names, codes, numbers and objects found in events, standardised across the whole video.

Map: every event yields mentions (a person's name said or shown, a code like ``XK-4217``, a number, a detected
object, a name a captioner used). Reduce: mentions of the same thing get one entity with one standard name,
even across modalities and small spelling differences (``MARTA KOWALSKI`` on screen, "Marta Kowalski" said,
"Kowalski" later). An optional alias map (from the LLM reduce over captions) merges what strings cannot.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from difflib import SequenceMatcher

from ..records import Entity, Event, Mention, Span

ENTITIES_VERSION = 1

_STOP = set("""i i'm im the a an this that these those my our your his her its their it we you he she they there here
then and but or so now today yesterday tomorrow ok okay yes no hello hi welcome thanks thank please good great well
let let's what when where who why how which is are was were be been on in at of to for from with by as if not
mr mrs ms dr sir madam monday tuesday wednesday thursday friday saturday sunday january february march april may
june july august september october november december english god oh also all every after before next first last
one two three four five six seven eight nine ten""".split())

_NAME = re.compile(r"\b[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?(?:\s+[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?)*")
_CAPS = re.compile(r"\b[A-Z]{2,}(?:\s+[A-Z]{2,}){1,3}\b")
_CODE = re.compile(r"\b(?=[A-Za-z0-9]*[A-Za-z])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9]{1,6}(?:-[A-Za-z0-9]{1,6}){0,2}\b")
_NUMBER = re.compile(r"(?<![\w.:])(?:\d{1,2}:\d{2}(?::\d{2})?|\d{1,3}(?:,\d{3})+|\d{2,}(?:\.\d+)?)(?![\w:])")


@dataclass(frozen=True, slots=True)
class Found:
    key: str
    surface: str
    kind: str
    modality: str
    event: int
    span: Span


def name_key(text: str) -> str:
    """``"MARTA  Kowalski."`` -> ``"marta kowalski"``."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def code_key(text: str) -> str:
    """``"XK-4217"`` / ``"xk 4217"`` -> ``"xk4217"``; ``"4,729"`` -> ``"4729"``."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def mentions_in(text: str, modality: str, event: int, span: Span) -> list[Found]:
    """Names, codes and numbers in one piece of speech or on-screen text."""
    out: list[Found] = []
    taken: list[tuple[int, int]] = []
    for m in _CODE.finditer(text):
        if re.fullmatch(r"[\d-]+", m.group()) is None:  # has a letter: a code (numbers come below)
            out.append(Found(code_key(m.group()), m.group(), "code", modality, event, span))
            taken.append(m.span())
    for m in _NUMBER.finditer(text):
        if not any(a <= m.start() < b for a, b in taken):
            out.append(Found(code_key(m.group()), m.group(), "number", modality, event, span))
    names = list(_NAME.finditer(text))
    if modality == "text":
        names += list(_CAPS.finditer(text))
    for m in names:
        start = m.start()
        words = [w.group() for w in re.finditer(r"\S+", m.group())
                 if not any(a <= start + w.start() < b for a, b in taken)]
        sentence_start = start == 0 or re.search(r"[.!?:]\s*$", text[:start]) is not None
        while words and words[0].lower() in _STOP:
            words = words[1:]
            sentence_start = False
        while words and words[-1].lower() in _STOP:
            words = words[:-1]
        if not words:
            continue
        surface = " ".join(words)
        if len(surface) < 3 or code_key(surface).isdigit():
            continue
        # a lone capitalised word opening a sentence may be an ordinary word: kept only if it joins a full name
        kind = "initial" if sentence_start and len(words) == 1 else \
            "name" if (modality != "text" or not surface.isupper()) else "text"
        out.append(Found(name_key(surface), surface, kind, modality, event, span))
    return out


def map_event(event: Event, caption_entities: tuple[str, ...] = ()) -> list[Found]:
    """Every mention in one event (the map step)."""
    found: list[Found] = []
    for seg in event.speech:
        found += mentions_in(seg.text, "speech", event.index, seg.span)
        if seg.speaker_name and name_key(seg.speaker_name):  # the named speaker talks here: an edge to the name
            found.append(Found(name_key(seg.speaker_name), seg.speaker_name, "name", "voice", event.index, seg.span))
    for line in event.text:
        found += mentions_in(line.text, "text", event.index, line.span)
    for obj in event.objects:
        span = Span(max(obj.span.start, event.span.start), min(max(obj.span.end, obj.span.start), event.span.end))
        span = span if span.start <= span.end else event.span
        found.append(Found(name_key(obj.label), obj.label, "object", "objects", event.index, span))
    names = caption_entities or (event.caption.entities if event.caption else ())
    for name in names:
        if name_key(name):
            found.append(Found(name_key(name), name, "thing", "caption", event.index, event.span))
    return found


def reduce_entities(video_id: str, events: list[Event], aliases: dict[str, str] | None = None,
                    similarity: float = 0.88) -> tuple[list[Entity], list[Event]]:
    """Entities of a video (the reduce step) and the events with their ``entities`` filled in.

    ``aliases`` maps a name key to the key of its standard name (from the LLM reduce over captions).
    """
    found = [f for e in events for f in map_event(e)]
    aliases = {name_key(k): name_key(v) for k, v in (aliases or {}).items() if name_key(k) and name_key(v)}
    groups: dict[str, list[Found]] = defaultdict(list)
    for f in found:
        groups[aliases.get(f.key, f.key)].append(f)
    merged = _merge_similar(groups, similarity)

    entities: list[Entity] = []
    by_event: dict[int, list[str]] = defaultdict(list)
    for key, items in merged.items():
        kind = _kind(items)
        modalities = {f.modality for f in items}
        if kind == "initial" or (kind == "text" and len(items) < 2 and len(modalities) < 2):
            continue  # a one-off line of on-screen text is already searchable as text
        name = _standard_name(items, kind)
        mentions = tuple(sorted({(f.event, f.span.start, f.span.end, f.modality, f.surface) for f in items}))
        entities.append(Entity(
            video_id=video_id, key=key, name=name, kind=kind,
            aliases=tuple(sorted({f.surface for f in items} - {name})),
            mentions=tuple(Mention(event_index=e, span=Span(a, b), modality=m, surface=s)
                           for e, a, b, m, s in mentions),
            source=f"entities@{ENTITIES_VERSION}"))
        for e in sorted({f.event for f in items}):
            by_event[e].append(key)
    entities.sort(key=lambda x: (x.mentions[0].span.start, x.key))
    events = [replace(e, entities=tuple(sorted(by_event.get(e.index, ())))) for e in events]
    return entities, events


def _merge_similar(groups: dict[str, list[Found]], similarity: float) -> dict[str, list[Found]]:
    """Merge name groups that are spelling variants, or a surname of exactly one full name."""
    keys = sorted(groups, key=lambda k: (-len(groups[k]), k))
    parent = {k: k for k in keys}

    def root(k: str) -> str:
        while parent[k] != k:
            k = parent[k]
        return k

    wordy = [k for k in keys if _kind(groups[k]) in ("name", "text", "thing", "initial")]
    for i, a in enumerate(wordy):
        for b in wordy[i + 1:]:
            if root(a) != root(b) and len(a) >= 5 and len(b) >= 5 and _digits(a) == _digits(b) and \
                    SequenceMatcher(None, a, b).ratio() >= similarity:
                parent[root(b)] = root(a)
    full = [k for k in wordy if " " in k]
    for k in wordy:
        if " " not in k and len(k) >= 4:
            owners = {root(f) for f in full if k in f.split()}
            if len(owners) == 1:
                parent[root(k)] = owners.pop()
    out: dict[str, list[Found]] = defaultdict(list)
    for k in keys:
        out[root(k)] += groups[k]
    # the key of a merged group is its most complete spelling
    return {max({f.key for f in v}, key=lambda x: (len(x.split()), sum(f.key == x for f in v), x)): v
            for v in out.values()}


def _digits(key: str) -> str:
    return re.sub(r"\D", "", key)


def _kind(items: list[Found]) -> str:
    kinds = Counter(f.kind for f in items)
    for kind in ("name", "code", "number", "object", "thing", "text"):
        if kinds.get(kind):
            return kind
    return "initial"


def _standard_name(items: list[Found], kind: str) -> str:
    if kind in ("code", "number"):
        return Counter(f.surface.upper() if kind == "code" else f.surface for f in items).most_common(1)[0][0]
    longest = max(len(f.key.split()) for f in items)
    full = [f for f in items if len(f.key.split()) == longest]
    spoken = [f.surface for f in full if not f.surface.isupper()]
    if spoken:
        return Counter(spoken).most_common(1)[0][0]
    surface = Counter(f.surface for f in full).most_common(1)[0][0]
    return surface.title() if kind in ("name", "text") and surface.isupper() else surface
