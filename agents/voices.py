"""The query tools about who speaks, over the speakers stage (turns, voices) and the names the evidence gives them
(``tools.speaker_names``). A mixin of ``query.Query``.

    q.speakers()                      # Result(value=2, found=(one line per voice: name or label, talk time, turns))
    q.who("the pump is broken")       # Result(value=("Quincy",), found=(the sentence, its speaker))
    q.said_by("the second speaker", "budget")   # what S2 says about the budget, in time order

A speaker is its name where the video gives one (a self-introduction, a lower third, being addressed), else its
label (``S1``, ``S2``... by first appearance in its video).
"""

from __future__ import annotations

import re

from ..records import Span, Speaker, TranscriptSegment, fmt_span
from .found import Found, Result
from .words import fold, ordinal, overlap_score

_ONE = {"speaker", "narrator", "presenter", "host", "voice", "voiceover", "voice-over", "announcer", "person"}
NOT_INDEXED = "who speaks is not indexed (the speakers stage did not run: vidgraph index FOLDER --stages speakers)"


class Voices:
    """``speakers``, ``who`` and ``said_by``; mixed into ``query.Query`` (``segments``, ``records``, ``find``,
    ``name``, ``_scope``, ``videos``)."""

    def voices(self, v: str) -> list[Speaker]:
        """The voices of a video, most talk first."""
        found = [r for r in self.records(v, "speakers") if isinstance(r, Speaker)]  # type: ignore[attr-defined]
        return sorted(found, key=lambda s: (-s.talk_seconds, s.speaker))

    def speaker_label(self, v: str, label: str) -> str:
        """How a speaker is named in answers: its name, else its label."""
        for seg in self.segments(v):  # type: ignore[attr-defined]
            if seg.speaker == label and seg.speaker_name:
                return seg.speaker_name
        return label

    def _turn_starts(self, v: str) -> dict[str, TranscriptSegment]:
        first: dict[str, TranscriptSegment] = {}
        lone = self._lone(v)
        for seg in self.segments(v):  # type: ignore[attr-defined]
            if seg.speaker or lone:
                first.setdefault(seg.speaker or lone, seg)
        return first

    def _lone(self, v: str) -> str:
        """The label of a video's only voice (whose lines are left unlabelled), else ``""``."""
        voices = self.voices(v)
        return voices[0].speaker if len(voices) == 1 else ""

    # -- the tools ---------------------------------------------------------------------------------------------
    def speakers(self, video: str | None = None) -> Result:
        """How many people speak, and each voice: its name (or label), talk time, turns and first words."""
        args = {"video": video}
        found: list[Found] = []
        people: set[str] = set()
        parts = []
        for v in self._scope(video):  # type: ignore[attr-defined]
            voices = self.voices(v)
            first = self._turn_starts(v)
            for s in voices:
                who = self.speaker_label(v, s.speaker)
                people.add(fold(who) if who != s.speaker else f"{v}:{s.speaker}")
                seg = first.get(s.speaker)
                span = seg.span if seg else Span(0.0, 0.0)
                found.append(Found(v, span, "speech", f"{_display(who, s.speaker)}: {_talk(s.talk_seconds)} of "
                                   f"speech in {s.turns} turn{'s' * (s.turns != 1)}",
                                   seg.text.strip() if seg else "", speaker=who))
            if voices:
                parts.append(f"{len(voices)} in {self.name(v)}")  # type: ignore[attr-defined]
        if not found:
            return Result("speakers", args, None, NOT_INDEXED, (), "not indexed")
        n = len(people)
        where = f" ({', '.join(parts)})" if len(parts) > 1 else ""
        names = ", ".join(f.text.split(":")[0] for f in found[:6])
        return Result("speakers", args, n, f"{n} speaker{'s' * (n != 1)}{where}: {names}", tuple(found))

    def who(self, query: str = "", video: str | None = None, at: float | None = None) -> Result:
        """Who says ``query`` (every time it is said, by whom), or who speaks at time ``at``: the value is the
        speakers in order of their first time."""
        args = {"query": query, "video": video, "at": at}
        if not any(self.voices(v) for v in self._scope(video)):  # type: ignore[attr-defined]
            return Result("who", args, None, NOT_INDEXED, (), "not indexed")
        if at is not None:
            hits = [self._with_speaker(Found(v, s.span, "speech", s.text.strip(), speaker=s.who))
                    for v in self._scope(video)[:1] for s in self.segments(v)  # type: ignore[attr-defined]
                    if s.span.start - 0.5 <= at <= s.span.end + 0.5]
            note = "at"
        else:
            found = self.find(query, "speech", video)  # type: ignore[attr-defined]
            hits, note = [self._with_speaker(f) for f in found.found], found.note
        said = [f for f in hits if f.speaker]
        if not said:
            what = f"at {fmt_span(Span(at, at))}" if at is not None else repr(query)
            return Result("who", args, None, f"nobody is heard saying {what}" if not hits else
                          f"{what} is said, but no speaker is found there", tuple(hits), note)
        order = list(dict.fromkeys(f.speaker for f in said))
        counts = {w: sum(f.speaker == w for f in said) for w in order}
        by = "; ".join(f"{w} ({counts[w]}x, first at {fmt_span(next(f.span for f in said if f.speaker == w))})"
                       for w in order)
        what = f"at {fmt_span(Span(at, at))}" if at is not None else repr(query)
        return Result("who", args, tuple(order), f"{what} is said by {by}" + (f" ({note} match)" if note and
                      note != "at" else ""), tuple(said), note)

    def said_by(self, speaker: str, query: str = "", video: str | None = None) -> Result:
        """What one speaker says (``speaker``: a name, a label like ``S2``, or "the second speaker"), about
        ``query`` when given (the sentences that match best), else everything, in time order."""
        args = {"speaker": speaker, "query": query, "video": video}
        scope = self._scope(video)  # type: ignore[attr-defined]
        if not any(self.voices(v) for v in scope):
            return Result("said_by", args, None, NOT_INDEXED, (), "not indexed")
        whose = [(v, label) for v in scope for label in self._resolve(v, speaker)]
        if not whose:
            known = "; ".join(f.text for f in self.speakers(video).found[:6])
            return Result("said_by", args, None, f"no speaker {speaker!r} is found (the speakers: {known})", (),
                          "no such speaker")
        mine = [(v, s) for v, label in whose for s in self.segments(v)  # type: ignore[attr-defined]
                if (s.speaker or self._lone(v)) == label and s.text.strip()]
        who = ", ".join(dict.fromkeys(_display(self.speaker_label(v, label), label) for v, label in whose))
        if query:
            scored = [(overlap_score(s.text, query), v, s) for v, s in mine]
            keep = [(sc, v, s) for sc, v, s in scored if sc >= 0.5]
            if keep:
                best = max(sc for sc, _, _ in keep)
                mine = [(v, s) for sc, v, s in sorted(keep, key=lambda x: x[2].span.start) if sc >= best - 0.25]
            else:
                labels = {(v, label) for v, label in whose}
                semantic = [self._with_speaker(f) for f in self.find(query, "speech", video, "semantic").found]  # type: ignore[attr-defined]
                near = [f for f in semantic if (f.video_id, self._label_at(f.video_id, f.span)) in labels]
                return Result("said_by", args, len(near), f"{who} says nothing with the words of {query!r}"
                              + ("; the nearest in meaning follow" if near else ""), tuple(near), "semantic")
        found = tuple(Found(v, s.span, "speech", s.text.strip(), speaker=s.who or self._lone(v)) for v, s in mine)
        about = f" about {query!r}" if query else ""
        return Result("said_by", args, len(found), f"{who} says{about}: {len(found)} sentence"
                      f"{'s' * (len(found) != 1)}", found)

    # -- helpers -----------------------------------------------------------------------------------------------
    def _resolve(self, v: str, ref: str) -> list[str]:
        """The labels in video ``v`` that ``ref`` names: a label, "speaker 2", "the second speaker", a name."""
        labels = [s.speaker for s in self.voices(v)]
        by_start = list(self._turn_starts(v))
        r = fold(ref).strip(" ?.!,;:\"'")
        r = re.sub(r"^(?:the|a)\s+", "", r)
        m = re.fullmatch(r"(?:speaker|voice|person|participant|s)\s*#?\s*(\d+)", r)
        if m:
            want = f"S{int(m.group(1))}"
            return [want] if want in labels else []
        m = re.fullmatch(r"(\w+)\s+(?:speaker|voice|person|participant|one)", r)
        if m and (k := ordinal(m.group(1))) is not None:
            pick = by_start[k - 1] if 0 < k <= len(by_start) else by_start[k] if k < 0 and -k <= len(by_start) \
                else None
            return [pick] if pick else []
        if r in _ONE and len(labels) == 1:  # "the narrator" of a video with one voice
            return labels
        words = set(r.split())
        out = []
        for label in labels:
            name = fold(self.speaker_label(v, label))
            if name != fold(label) and (name == r or words & set(name.split())):
                out.append(label)
        return out

    def _label_at(self, v: str, span: Span) -> str:
        if self._lone(v):  # one voice (its lines are not labelled): every word is its
            return self._lone(v)
        best, label = 0.0, ""
        for s in self.segments(v):  # type: ignore[attr-defined]
            shared = s.span.overlap(span) if span.duration else float(s.span.contains(span.start))
            if s.speaker and shared > best:
                best, label = shared, s.speaker
        return label

    def _with_speaker(self, f: Found) -> Found:
        """The found speech with its speaker (looked up by time when the finder did not carry it)."""
        if f.speaker or f.modality != "speech":
            return f
        label = self._label_at(f.video_id, f.span)
        if not label:
            return f
        from dataclasses import replace

        return replace(f, speaker=self.speaker_label(f.video_id, label))


def _display(who: str, label: str) -> str:
    return who if who == label else f"{who} ({label})"


def _talk(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{int(seconds // 60)} min {int(seconds % 60)} s"
