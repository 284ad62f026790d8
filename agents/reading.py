"""The query tools that read the index rather than search it: what is said and shown in a span, the lines on screen
together (a slide, a list and its items), the shots, the videos. A mixin of ``query.Query``."""

from __future__ import annotations

from ..records import Span, TextLine, fmt_span
from .found import Found, Result
from .words import content, overlap_score, phrase_tokens

_CONTAINERS = {"list", "slide", "board", "screen", "sign", "menu", "card", "poster", "whiteboard", "table", "title",
               "caption", "heading", "page", "item", "line", "entry", "name"}
"""Words naming where lines are shown, not what: "the departures board" is found by "departures"."""


class Reading:
    """``read``, ``screen``, ``shots`` and ``videos_list``; mixed into ``query.Query``, whose records they read
    (``segments``, ``lines``, ``objects``, ``shot_list``, ``find``)."""

    def read(self, video: str | None, span: Span | None = None, modality: str = "any") -> Result:
        """What is said (words inside the span), shown (text lines, objects) and cut (shots) in ``span``."""
        found: list[Found] = []
        for v in self._scope(video)[:1] if video else self._scope(video):
            s = span or Span(0.0, self.source.durations.get(v, 1e9))
            if modality in ("speech", "any"):
                for seg in self.segments(v):
                    words = [w for w in seg.words if s.start - 0.25 <= w.span.middle <= s.end + 0.25] if seg.words \
                        else ([seg] if seg.span.overlap(s) > 0 else [])
                    if words:
                        text = " ".join(w.text.strip() for w in words) if seg.words else seg.text.strip()
                        found.append(Found(v, Span(words[0].span.start, words[-1].span.end), "speech", text,
                                           speaker=seg.who))
            if modality in ("text", "any"):
                found += [Found(v, t.span, "text", t.text) for t in self.lines(v) if _touches(t.span, s)]
            if modality in ("objects", "any"):
                found += [Found(v, o.span, "objects", f"{o.label} x{o.max_count}" if o.max_count > 1 else o.label)
                          for o in self.objects(v) if _touches(o.span, s)]
        found.sort(key=lambda f: (self.videos.index(f.video_id), f.span.start))
        where = f"{self.name(found[0].video_id)} {fmt_span(span)}" if found and span else "the video"
        return Result("read", {"video": video, "span": span, "modality": modality}, len(found),
                      f"{len(found)} things said or shown in {where}" if found else "nothing is said or shown there",
                      tuple(found))

    def screen(self, query: str | None = None, at: float | None = None, video: str | None = None) -> Result:
        """The text lines on screen together (a slide, a list): those visible with the line matching ``query``
        (or at time ``at``), top to bottom. Its value is the number of lines besides the matched one (a list's
        items under its title)."""
        scope = self._scope(video)
        anchor: Found | None = None
        column = False
        if query:  # the line as written, with OCR slips, else one holding its words ("MUSIC + SOUND DESIGN")
            hits = self.find(query, "text", video, match="fuzzy")
            hits = hits if hits.found else self.find(query, "text", video, match="words")
            for word in sorted(content(phrase_tokens(query)), key=len, reverse=True):  # "the departures board"
                if hits.found or word in _CONTAINERS or len(word) < 4:
                    continue
                hits = self.find(word, "text", video, match="fuzzy")
            anchor = next((f for f in hits.found if f.modality == "text"), None)
        if anchor is not None:
            scope, t = [anchor.video_id], anchor.span.middle
        elif at is not None:
            t = at
        else:  # no title to find: the moment with the most lines on screen together (a slide, a list), earliest
            busiest = max(((len(self._visible(v, line.span.start + 0.1)), -line.span.start, v) for v in scope
                           for line in self.lines(v)), default=None)
            if busiest is None:
                return Result("screen", {"query": query, "video": video}, 0, "no text is shown", ())
            if busiest[0] < 2:  # never two lines at once: there is no list to read
                return Result("screen", {"query": query, "video": video}, 0, "no list is shown", ())
            t, scope, column = -busiest[1] + 0.1, [busiest[2]], True
        lines = [(v, line) for v in scope for line in self._visible(v, t)]
        lines.sort(key=lambda vl: (vl[1].box[1], vl[1].box[0]))
        if column:  # the biggest left-aligned column: the list, not a clock or a logo beside it
            lines = _column(lines)
            if lines and (lines[0][1].text.rstrip().endswith(":") or (query and overlap_score(lines[0][1].text, query)
                                                                      >= 0.5)):
                title = lines[0][1]  # a heading on top of the column is the list's title, not an item
                anchor = Found(lines[0][0], title.span, "text", title.text)
        entries = None
        if anchor is not None:
            title = next((line for _, line in lines if line.text == anchor.text), None)
            if title is not None:
                lines = [(anchor.video_id, title)] + [(v, line) for v, line in _under(title, [x for _, x in lines])]
                entries = _rolling(title, self.lines(anchor.video_id))
        found = tuple(Found(v, line.span, "text", line.text) for v, line in lines)
        if entries:  # a title that stays while what is under it changes (credits): one entry per change
            found = (found[0], *(Found(anchor.video_id, Span(g[0].span.start, max(x.span.end for x in g)), "text",
                                       " / ".join(x.text for x in g)) for g in entries))
            return Result("screen", {"query": query, "at": at, "video": video}, len(entries),
                          f"{len(entries)} entries shown in turn under {anchor.text!r}: "
                          + " | ".join(f.text for f in found[1:]), found)
        others = [f for f in found if anchor is None or f.text != anchor.text]
        title = f" with {anchor.text!r}" if anchor else f" at {t:.1f} s"
        return Result("screen", {"query": query, "at": at, "video": video}, len(others),
                      f"{len(found)} lines on screen{title}: " + " | ".join(f.text for f in found), found)

    def title(self, video: str | None = None) -> Result:
        """A video's title as it shows it: on the first screen with words, the line in the largest letters (the
        highest when two are as large)."""
        for v in self._scope(video)[:1]:
            worded = [line for line in self.lines(v) if sum(c.isalpha() for c in line.text) >= 3]
            if not worded:
                return Result("title", {"video": video}, None, "no words are shown", ())
            first = min(line.span.start for line in worded)
            screen = [line for line in worded if line.span.start <= first + 1.0]
            top = max(screen, key=lambda x: (round(x.box[3] - x.box[1], 2), -x.box[1]))
            size, lines = top.box[3] - top.box[1], [top]
            for x in sorted(screen, key=lambda x: x.box[1]):  # a title over two lines: the next one as large, close
                if x.box[1] > lines[-1].box[1] and x.box[1] - lines[-1].box[3] <= 0.6 * size \
                        and x.box[3] - x.box[1] >= 0.9 * size:
                    lines.append(x)
            text = " ".join(x.text for x in lines)
            return Result("title", {"video": video}, text, f"the first words shown in {self.name(v)}, largest: "
                          f"{text!r}", tuple(Found(v, x.span, "text", x.text) for x in lines))
        return Result("title", {"video": video}, None, "no video", ())

    def _visible(self, v: str, t: float) -> list[TextLine]:
        return [line for line in self.lines(v) if line.span.start - 0.5 <= t <= line.span.end + 0.5]

    def shots(self, video: str | None = None) -> Result:
        """The shots (camera cuts) of a video: their number, spans and lengths."""
        found = []
        for v in self._scope(video) if video else self.videos:
            found += [Found(v, s.span, "shot", f"shot {s.index + 1} ({s.span.duration:.1f} s)")
                      for s in self.shot_list(v)]
        n = len(found)
        longest = max(found, key=lambda f: f.span.duration, default=None)
        summary = f"{n} shot{'s' * (n != 1)}" + (f"; longest {fmt_span(longest.span)} ({longest.span.duration:.1f} s)"
                                                 if longest else "")
        return Result("shots", {"video": video}, n, summary, tuple(found))

    def videos_list(self) -> Result:
        """The videos in scope: name, duration, number of shots, whether anything is said or shown."""
        found = []
        for v in self.videos:
            d = self.source.durations.get(v, 0.0)
            said = bool(self.segments(v))
            shown = bool(self.lines(v))
            live = self.source.live.get(v)
            growing = f"; still being written, indexed up to {live:.0f} s" if live is not None else ""
            found.append(Found(v, Span(0.0, d), "video", f"{self.name(v)} ({d:.0f} s, {len(self.shot_list(v))} "
                               f"shots{', speech' if said else ''}{', on-screen text' if shown else ''}{growing})"))
        return Result("videos", {}, len(found), f"{len(found)} videos: " + "; ".join(f.text for f in found),
                      tuple(found))


def _under(title: TextLine, lines: list[TextLine]) -> list[tuple[str, TextLine]]:
    """The lines of a list under its title: below it, in its column (overlapping it sideways or starting near its
    left edge), top to bottom, until a gap much wider than the lines' own spacing."""
    x0, _, x1, bottom = title.box
    below = [line for line in lines if line is not title and line.box[1] >= bottom - 0.02
             and (min(x1, line.box[2]) - max(x0, line.box[0]) > 0 or abs(line.box[0] - x0) < 0.15)]
    below.sort(key=lambda line: line.box[1])
    kept: list[TextLine] = []
    for line in below:
        gaps = [b.box[1] - a.box[1] for a, b in zip(kept, kept[1:])]
        step = sorted(gaps)[len(gaps) // 2] if gaps else (line.box[3] - line.box[1]) * 2.5
        last = kept[-1].box[1] if kept else bottom
        if kept and line.box[1] - last > 2.5 * max(step, 0.02):
            break
        kept.append(line)
    return [(title.video_id, line) for line in kept]


def _rolling(title: TextLine, lines: list[TextLine]) -> list[list[TextLine]] | None:
    """The entries shown in turn under a title that stays on screen (a credits card: "VERY SPECIAL THANKS" over
    six sponsors, two or three lines each, one after another): lines below it, inside its time, each shorter than
    it, grouped by when they appear, each group gone before the next comes (items revealed one by one under a
    title stay: they are one list). None unless there are two such groups or more."""
    inside = [line for line in lines if line is not title and line.span.start >= title.span.start - 0.5
              and line.span.end <= title.span.end + 0.5 and line.span.duration < 0.8 * title.span.duration
              and line.box[1] >= title.box[3] - 0.02]
    groups: list[list[TextLine]] = []
    for line in sorted(inside, key=lambda x: (x.span.start, x.box[1])):
        if groups and abs(groups[-1][0].span.start - line.span.start) <= 0.3:
            groups[-1].append(line)
        else:
            groups.append([line])
    in_turn = all(b[0].span.start >= max(x.span.end for x in a) - 0.3 for a, b in zip(groups, groups[1:]))
    return [sorted(g, key=lambda x: x.box[1]) for g in groups] if len(groups) >= 2 and in_turn else None


def _column(lines: list[tuple[str, TextLine]]) -> list[tuple[str, TextLine]]:
    """The largest group of lines starting at the same left edge (within 8% of the width), top to bottom."""
    groups: list[list[tuple[str, TextLine]]] = []
    for vl in sorted(lines, key=lambda vl: vl[1].box[0]):
        if groups and abs(groups[-1][0][1].box[0] - vl[1].box[0]) <= 0.08:
            groups[-1].append(vl)
        else:
            groups.append([vl])
    best = max(groups, key=len, default=[])
    return sorted(best, key=lambda vl: vl[1].box[1])


def _touches(a: Span, b: Span) -> bool:
    return a.overlap(b) > 0 or b.contains(a.start) or a.contains(b.start)
