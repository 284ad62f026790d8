"""Query tools over the timestamped index: exact answers computed from the records, each carrying its citations.

    q = Query(source, videos)
    r = q.count("pump", "speech")        # Result(value=3, found=(Found(video, span, "speech", "pump", ...), ...))
    q.locate("pump", occurrence=2)       # the span of the second time it is said (word times)
    q.order(["invoice", "bus"])          # which comes first, with the spans that show it
    q.shots(video)                       # shots with their count and durations
    q.read(video, Span(10, 20))          # what is said and shown in a span

No model runs here: results are deterministic and testable. Speech is matched at word level (word times from the
ASR), on-screen text by line, objects by label; ``match="fuzzy"`` tolerates ASR/OCR slips, and when nothing
matches exactly or fuzzily, ``find`` falls back to the memory's vectors (``semantic``), and past them to the lines
sharing most of the query's telling words (still ``semantic``: what resembles the thing, not the thing).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from ..errors import StoreError
from ..records import FrameTags, ObjectSpan, Record, Shot, Span, TextLine, TranscriptSegment, fmt_span
from .colours import Colours, colour_word
from .found import Found, Result
from .reading import Reading
from .source import Source
from .voices import Voices
from .words import GENERIC, content, find_phrase, fold, phrase_tokens, similar, tokens

MODALITIES = ("speech", "text", "objects", "any")
GAP = 1.0
"""Seconds between two sightings of the same line or object that still make one appearance."""
_LABEL_WORDS = {"people": "person", "persons": "person", "man": "person", "woman": "person", "men": "person",
                "women": "person", "child": "person", "children": "person", "kid": "person", "player": "person",
                "automobile": "car", "vehicle": "car", "motorbike": "motorcycle", "bike": "bicycle",
                "television": "tv", "phone": "cell phone", "mobile": "cell phone", "sofa": "couch", "plane": "airplane"}


_MEDIUM = {"photo", "photos", "photograph", "picture", "pictures", "image", "images", "shot", "shots", "footage",
           "clip", "scene", "drawing", "illustration", "the", "a", "an"}


@dataclass
class _Words:
    """A video's spoken words in time order with their folded tokens (token i -> words[first..last])."""

    words: list[tuple[Span, str, int]] = field(default_factory=list)
    """(span, word, segment index)."""
    toks: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)


class Query(Reading, Voices, Colours):
    """The query tools over the videos of one question (``videos``: ids)."""

    def __init__(self, source: Source, videos: Sequence[str]) -> None:
        self.source = source
        self.videos = list(videos)
        self._records: dict[tuple[str, str], list[Record]] = {}

    # -- records --------------------------------------------------------------------------------------------------
    def records(self, video_id: str, stage: str) -> list[Record]:
        key = (video_id, stage)
        if key not in self._records:
            try:
                self._records[key] = self.source.records(video_id, stage)
            except StoreError:
                self._records[key] = []  # not indexed: nothing found there (the trace says which)
        return self._records[key]

    def segments(self, v: str) -> list[TranscriptSegment]:
        """The transcript in time order, each segment with its speaker when the speakers stage ran (split where
        the speaker changes)."""
        if (v, "said") not in self._records:
            from ..tools.speaker_names import with_speakers

            said = [r for r in self.records(v, "asr") if isinstance(r, TranscriptSegment)]
            voices = [*self.records(v, "speakers"), *self.records(v, "names")]
            self._records[(v, "said")] = list(with_speakers(said, voices, self.lines(v))[0])
        return self._records[(v, "said")]  # type: ignore[return-value]

    def lines(self, v: str) -> list[TextLine]:
        return sorted((r for r in self.records(v, "ocr") if isinstance(r, TextLine)), key=lambda t: t.span.start)

    def objects(self, v: str) -> list[ObjectSpan]:
        return sorted((r for r in self.records(v, "detect") if isinstance(r, ObjectSpan)), key=lambda o: o.span.start)

    def shot_list(self, v: str) -> list[Shot]:
        return sorted((r for r in self.records(v, "scan") if isinstance(r, Shot)), key=lambda s: s.span.start)

    def frame_tags(self, v: str) -> list[FrameTags]:
        return [r for r in self.records(v, "tags") if isinstance(r, FrameTags)]

    @cached_property
    def _spoken(self) -> dict[str, _Words]:
        out = {}
        for v in self.videos:
            w = _Words()
            for n, seg in enumerate(self.segments(v)):
                if seg.words:
                    w.words += [(word.span, word.text, n) for word in seg.words]
                else:  # a backend without word times: the segment's words share its span
                    w.words += [(seg.span, word, n) for word in seg.text.split()]
            toks = tokens([text for _, text, _ in w.words])
            w.toks = [t.text for t in toks]
            w.spans = [(t.first, t.last) for t in toks]
            out[v] = w
        return out

    def name(self, video_id: str) -> str:
        return self.source.name(video_id)

    @cached_property
    def _vocabulary(self) -> set[str]:
        out: set[str] = set()
        for v in self.videos:
            out.update(self._spoken[v].toks)
            for line in self.lines(v):
                out.update(phrase_tokens(line.text))
            for o in self.objects(v):
                out.update(phrase_tokens(o.label))
        return out

    def vocabulary(self) -> set[str]:
        """Every word said or shown in the videos in scope (folded tokens), and the objects' labels."""
        return self._vocabulary

    @cached_property
    def _titles(self) -> set[str]:
        return {fold(w) for v in self.videos for w in re.split(r"[\W_]+|(?<=[a-z])(?=[A-Z])", self.name(v)) if w}

    def titles(self) -> set[str]:
        """The words of the videos' file names ("big_buck_bunny.mp4" -> big, buck, bunny, mp4), folded."""
        return self._titles

    def _scope(self, video: str | None) -> list[str]:
        if not video:
            return self.videos
        hits = [v for v in self.videos if video in (v, self.name(v)) or self.name(v).rsplit(".", 1)[0] == video
                or v.startswith(video)]
        return hits or self.videos

    # -- find -----------------------------------------------------------------------------------------------------
    def find(self, query: str, modality: str = "any", video: str | None = None, match: str = "auto") -> Result:
        """Every occurrence of ``query`` (a word, phrase, text or object) in time order: speech at word level,
        on-screen lines, objects by label. ``match``: ``exact``, ``fuzzy``, ``words`` (every content word of a
        phrase in one sentence or line, other words between: "the car park is closed" finds "the car park will be
        closed"), ``semantic`` or ``auto`` (each in that order until one finds something)."""
        args = {"query": query, "modality": modality, "video": video, "match": match}
        found: list[Found] = []
        how = ""
        if match == "literal":  # every literal sighting: exact, with ASR/OCR slips, or its words in one sentence
            for mode in ("exact", "fuzzy", "words"):  # the stricter match wins where two cover the same words
                before = list(found)
                for f in self.find(query, modality, video, mode).found:
                    if not any(g.video_id == f.video_id and g.modality == f.modality and g.span.overlap(f.span) > 0
                               for g in before):
                        found.append(f)
            found.sort(key=lambda f: (self.videos.index(f.video_id), f.span.start))
            return Result("find", args, len(found), f"{len(found)} literal occurrences of {query!r}", tuple(found),
                          "literal" if found else "nothing matched")
        for mode in (("exact", "fuzzy", "words", "semantic") if match == "auto" else (match,)):
            if mode == "semantic":
                found = self._semantic(query, modality, video)
            elif mode == "words":
                found = [f for v in self._scope(video) for f in self._words_of(v, query, modality)]
            else:
                found = [f for v in self._scope(video) for f in self._literal(v, query, modality, mode == "fuzzy")]
            if found:
                how = mode
                break
        found.sort(key=lambda f: (self.videos.index(f.video_id), f.span.start))
        where = f" in {modality}" if modality != "any" else ""
        summary = (f"{len(found)} occurrence{'s' * (len(found) != 1)} of {query!r}{where} ({how} match)" if found
                   else f"{query!r} is not found{where}")
        return Result("find", args, len(found), summary, tuple(found), how or "nothing matched")

    def _literal(self, v: str, query: str, modality: str, fuzzy: bool) -> list[Found]:
        want = phrase_tokens(query)
        if not want:
            return []
        out: list[Found] = []
        if modality in ("speech", "any"):
            out += self._in_speech(v, want, fuzzy)
        if modality in ("text", "any"):
            shown = [Found(v, line.span, "text", line.text) for line in self.lines(v)
                     if find_phrase(phrase_tokens(line.text), want, fuzzy)]
            out += shown or (self._across_lines(v, want, fuzzy) if len(want) >= 2 else [])
        if modality in ("objects", "any"):
            label = self._label(query)
            for o in self.objects(v):
                if label and (o.label == label or (fuzzy and similar(o.label, label))):
                    out.append(Found(v, o.span, "objects", f"{o.label} x{o.max_count}" if o.max_count > 1 else o.label,
                                     score=o.score))
        return out

    def _words_of(self, v: str, query: str, modality: str) -> list[Found]:
        """Sentences and lines that hold every content word of a phrase of two or more (in any order)."""
        want = [w for w in content(phrase_tokens(query)) if len(w) > 1]
        if len(want) < 2:
            return []
        out: list[Found] = []
        w = self._spoken.get(v)
        if modality in ("speech", "any") and w is not None:
            by_segment: dict[int, list[int]] = {}
            for k, (first, _) in enumerate(w.spans):
                by_segment.setdefault(w.words[first][2], []).append(k)
            segments = self.segments(v)
            for n, idx in by_segment.items():
                for a, b in _windows(idx, w.toks, want):
                    first, last = w.spans[a][0], w.spans[b][1]
                    span = Span(w.words[first][0].start, max(w.words[first][0].start, w.words[last][0].end))
                    said = " ".join(text for _, text, _ in w.words[first:last + 1]).strip(" ,.!?;:")
                    context = segments[n].text.strip() if n < len(segments) else ""
                    who = segments[n].who if n < len(segments) else ""
                    out.append(Found(v, span, "speech", said, context, score=0.8, speaker=who))
        if modality in ("text", "any"):
            for line in self.lines(v):
                have = phrase_tokens(line.text)
                if all(any(similar(x, h) for h in have) for x in want):
                    out.append(Found(v, line.span, "text", line.text, score=0.8))
        return out

    def _in_speech(self, v: str, want: list[str], fuzzy: bool) -> list[Found]:
        w = self._spoken.get(v)
        if w is None:
            return []
        out = []
        segments = self.segments(v)
        for a, b in find_phrase(w.toks, want, fuzzy):
            first, last = w.spans[a][0], w.spans[b - 1][1]
            span = Span(w.words[first][0].start, max(w.words[first][0].start, w.words[last][0].end))
            said = " ".join(text for _, text, _ in w.words[first:last + 1])
            seg = segments[w.words[first][2]] if segments else None
            out.append(Found(v, span, "speech", said.strip(" ,.!?;:"), seg.text.strip() if seg else "",
                             speaker=seg.who if seg else ""))
        return out

    def _across_lines(self, v: str, want: list[str], fuzzy: bool) -> list[Found]:
        """A phrase written over two or three lines shown together, top to bottom ("THE PEACH OPEN MOVIE PROJECT"
        over "PRESENTS"): each as one sighting, while all of its lines are on screen."""
        out: list[Found] = []
        lines = self.lines(v)
        for line in lines:
            together = sorted((x for x in lines if abs(x.span.start - line.span.start) <= 0.6
                               and x.span.overlap(line.span) > 0), key=lambda x: (x.box[1], x.box[0]))
            k = together.index(line)
            for group in (together[k:k + 2], together[k:k + 3]):
                if len(group) < 2 or not find_phrase(phrase_tokens(" ".join(x.text for x in group)), want, fuzzy):
                    continue
                span = Span(max(x.span.start for x in group), max(max(x.span.start for x in group),
                                                                  min(x.span.end for x in group)))
                if not any(f.span.overlap(span) > 0 or f.span == span for f in out):
                    out.append(Found(v, span, "text", " / ".join(x.text for x in group)))
                break
        return out

    @staticmethod
    def _label(query: str) -> str:
        """The object label a query names ("people" -> person; "the bus photo" -> bus: a photo, picture or shot
        of a thing shows the thing)."""
        words = [w for w in content(phrase_tokens(query)) if w not in _MEDIUM] or phrase_tokens(query)
        if not words:
            return ""
        joined = " ".join(words)
        return _LABEL_WORDS.get(joined, _LABEL_WORDS.get(words[-1], joined))

    def _semantic(self, query: str, modality: str, video: str | None) -> list[Found]:
        """The nearest speech segments / text lines by meaning (vectors), above the memory's noise floor; when none
        is that close, those sharing most of the query's telling words (``_sharing``)."""
        from ..memory.retrieve import FLOOR

        out: list[Found] = []
        scope = self._scope(video)
        collections = {"speech": ("speech",), "text": ("text",), "any": ("speech", "text")}.get(modality, ())
        for coll in collections:
            try:
                hits = self.source.memory.nearest(coll, query, k=5, videos=scope)
            except Exception:  # noqa: BLE001 - a missing collection finds nothing
                hits = []
            top = max((h.similarity for h in hits), default=0.0)
            for h in hits:
                if h.similarity >= max(FLOOR[coll] + 0.15, top - 0.1):
                    span = Span(float(h.meta["start"]), float(h.meta["end"]))
                    out.append(Found(str(h.meta["video_id"]), span, coll, h.text, score=round(h.similarity, 3),
                                     speaker=str(h.meta.get("speaker") or "")))
        return out or self._sharing(query, collections, scope)

    def _sharing(self, query: str, collections: Sequence[str], scope: list[str]) -> list[Found]:
        """The speech segments / text lines holding at least half of the query's content words, the best by BM25
        (the rarest words weigh most): a paraphrase keeps its key word, "invites you to their website" for "just
        come to our website", while a long sentence said around it dilutes its vector below the floor."""
        words = {w for w in content(phrase_tokens(query)) if len(w) > 2 and w not in GENERIC}
        if not words or not collections:
            return []
        memory = self.source.memory
        hits = memory.keywords.search(" ".join(sorted(words)), k=10, videos=memory.scope(scope),
                                      collections=list(collections))
        shared = [(len(words & set(h.terms)), h) for h in hits]
        best = max((n for n, _ in shared), default=0)
        if 2 * best < len(words):
            return []
        kept = [h for n, h in shared if n == best]
        return [Found(str(h.meta["video_id"]), Span(float(h.meta["start"]), float(h.meta["end"])), h.collection,
                      h.text, score=round(0.5 * h.score / kept[0].score, 3), speaker=str(h.meta.get("speaker") or ""))
                for h in kept[:3] if h.score >= 0.8 * kept[0].score]

    # -- count, locate, order ---------------------------------------------------------------------------------
    def count(self, query: str, modality: str = "any", video: str | None = None, match: str = "auto") -> Result:
        """How many distinct times ``query`` occurs: each spoken occurrence counts; a line or object seen again
        within ``GAP`` seconds is the same appearance. Shots, cuts and videos are counted by their own tools."""
        target = " ".join(phrase_tokens(query))
        if target in ("shot", "cut", "scene", "scene change", "camera shot", "clip"):
            shots = self.shots(video)
            n = shots.value if target != "cut" else max(0, shots.value - len(self._scope(video)))
            return Result("count", {"query": query, "video": video}, n, f"{n} {target}{'s' * (n != 1)}"
                          + (f" ({shots.summary})" if target == "cut" else ""), shots.found)
        if target in ("color word", "color", "color name"):  # "how many colour words are shown": lines naming one
            shown = [Found(v, line.span, "text", line.text) for v in self._scope(video) for line in self.lines(v)
                     if colour_word(line.text.strip(" .!,:"))]
            merged = _appearances(shown)
            return Result("count", {"query": query, "video": video}, len(merged), f"{len(merged)} colour words "
                          "shown: " + ", ".join(f.text for f in merged[:12]), tuple(merged), "colour")
        if target in ("video", "file", "clip file", "recording"):
            return Result("count", {"query": query}, len(self.videos), f"{len(self.videos)} videos",
                          self.videos_list().found)
        hits = self.find(query, modality, video, match)
        words = content(phrase_tokens(query))
        if (hits.note == "semantic" or not hits.found) and len(words) == 2 == len(phrase_tokens(query)) \
                and match == "auto" and words[-1] not in ("time", "thing", "one", "way", "part", "mention"):
            head = self.count(words[-1], modality, video, "literal")  # "quiz rounds": the rounds ("ROUND 1", …)
            if head.value and self.find(words[0], "any", video, "literal").value:  # of the quiz the video has
                return replace(head, args={**head.args, "query": query}, summary=f"{query!r} is not found as such; "
                               f"{words[-1]!r} occurs {head.value} time{'s' * (head.value != 1)}", note="head")
        if hits.note == "semantic":  # counting needs the thing itself, not what resembles it
            return Result("count", hits.args, 0, f"{query!r} is not found as such (only related moments)", (),
                          "nothing matched exactly")
        merged = _appearances(list(hits.found))
        by = {}
        for f in merged:
            by[f.modality] = by.get(f.modality, 0) + 1
        parts = ", ".join(f"{n} in {m}" for m, n in by.items())
        n = len(merged)
        return Result("count", hits.args, n, f"{query!r} occurs {n} time{'s' * (n != 1)}" + (f" ({parts})" if n
                      else ""), tuple(merged), hits.note)

    def most(self, query: str, video: str | None = None) -> Result:
        """The most objects of one kind seen at once (a detector's count of people, cars, ...), and where."""
        label = self._label(query)
        seen = [(v, o) for v in self._scope(video) for o in self.objects(v) if o.label == label]
        if not seen:
            return Result("most", {"query": query, "video": video}, 0, f"no {label or query} is detected", ())
        v, o = max(seen, key=lambda vo: (vo[1].max_count, -vo[1].span.start))
        return Result("most", {"query": query, "video": video}, o.max_count,
                      f"at most {o.max_count} {o.label} at once ({self.name(v)} {fmt_span(o.span)})",
                      (Found(v, o.span, "objects", f"{o.label} x{o.max_count}" if o.max_count > 1 else o.label,
                             score=o.score),))

    def locate(self, query: str, occurrence: int = 1, modality: str = "any", video: str | None = None) -> Result:
        """The span of the ``occurrence``-th time ``query`` is said or shown (1 = first, -1 = last)."""
        hits = self.find(query, modality, video, "literal")
        if not hits.found:
            hits = self.find(query, modality, video)
        found = list(hits.found)
        args = {**hits.args, "occurrence": occurrence}
        if not found:
            return Result("locate", args, None, hits.summary, (), hits.note)
        if hits.note == "semantic":  # a time needs the thing itself: what only resembles it is evidence, no answer
            return Result("locate", args, None, f"{query!r} is not found as such; related moments follow",
                          tuple(found), hits.note)
        k = occurrence - 1 if occurrence > 0 else len(found) + occurrence
        if not 0 <= k < len(found):
            return Result("locate", args, None, f"{query!r} occurs only {len(found)} time(s)", tuple(found), hits.note)
        f = found[k]
        nth = "last" if occurrence == -1 else _nth(occurrence)
        return Result("locate", args, f.span, f"the {nth} time {query!r} occurs: {self.name(f.video_id)} "
                      f"{fmt_span(f.span)} ({f.modality})", (f,), hits.note)

    def order(self, targets: Sequence[str], modality: str = "any", video: str | None = None) -> Result:
        """``targets`` sorted by the time each first occurs (those never found are listed apart). The order is
        read in one modality where every target occurs at distinct times (the asked one, else speech, text,
        objects): a list on screen naming them all at once says nothing about which comes first."""
        args = {"targets": list(targets), "modality": modality, "video": video}
        hits = {t: self.find(t, modality, video, "literal") for t in targets}
        for t, h in hits.items():  # nothing literal: what resembles it (a paraphrase) still has a time
            if not h.found:
                hits[t] = self.find(t, modality, video)
        missing = [t for t, h in hits.items() if not h.found]
        where = [modality] if modality != "any" else ["speech", "text", "objects", "any"]
        for m in where:
            firsts = []
            for t, h in hits.items():
                mine = [f for f in h.found if f.modality == m or m == "any" or modality != "any"]
                if mine:
                    firsts.append((t, min(mine, key=lambda f: (self.videos.index(f.video_id), f.span.start))))
            starts = [(self.videos.index(f.video_id), round(f.span.start, 1)) for _, f in firsts]
            together = len({(f.video_id, f.text) for _, f in firsts}) < len(firsts)  # one line naming them all
            if len(firsts) == len(targets) - len(missing) >= 2 and len(set(starts)) == len(starts) and not together:
                firsts.sort(key=lambda tf: (self.videos.index(tf[1].video_id), tf[1].span.start))
                summary = " → ".join(f"{t!r} at {fmt_span(f.span)} ({f.modality})" for t, f in firsts)
                if missing:
                    summary += f"; not found: {', '.join(repr(t) for t in missing)}"
                return Result("order", args, [t for t, _ in firsts], summary, tuple(f for _, f in firsts),
                              "missing: " + ", ".join(missing) if missing else "")
        found = tuple(f for h in hits.values() for f in h.found[:2])
        why = "none of them is found" if not found else "they are not found at distinct times in one modality"
        return Result("order", args, [], why + (f"; not found: {', '.join(map(repr, missing))}" if missing else ""),
                      found, "ambiguous")

    # -- reading the index --------------------------------------------------------------------------------------


def _appearances(found: list[Found]) -> list[Found]:
    """One per distinct appearance: spoken occurrences each count; the same text or object seen again within
    ``GAP`` seconds (and overlapping sightings) is one appearance."""
    def key(f: Found) -> str:
        return f.text.lower().split(" x")[0] if f.modality == "objects" else f.text.lower()

    out: list[Found] = []
    for f in sorted(found, key=lambda f: (f.video_id, f.modality, key(f), f.span.start)):
        last = out[-1] if out else None
        same = last is not None and last.video_id == f.video_id and last.modality == f.modality != "speech" \
            and key(last) == key(f) and f.span.start <= last.span.end + GAP
        if same:
            out[-1] = Found(f.video_id, Span(last.span.start, max(last.span.end, f.span.end)), f.modality, last.text,
                            last.context, max(last.score, f.score))
        else:
            out.append(f)
    return sorted(out, key=lambda f: (f.video_id, f.span.start))


def _windows(idx: list[int], toks: list[str], want: list[str]) -> list[tuple[int, int]]:
    """The shortest runs of the tokens ``idx`` (one sentence) that hold every word of ``want``, a few other words
    between ("add a cream" for "add the cream"; not "add" at the start of a long sentence and "cream" at its end):
    each as (first token, last token), not overlapping."""
    out: list[tuple[int, int]] = []
    last: dict[str, int] = {}
    for k in idx:
        for x in want:
            if similar(toks[k], x):
                last[x] = k
        if len(last) == len(want):
            a = min(last.values())
            if k - a + 1 <= 2 * len(want) + 3:
                out.append((a, k))
                last = {}
    return out


def _nth(n: int) -> str:
    return {1: "first", 2: "second", 3: "third"}.get(n, f"{n}th")
