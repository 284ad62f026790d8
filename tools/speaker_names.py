"""Names for speakers, only from evidence: what they say about themselves, what the screen shows while they talk,
and what they are called right before they answer.

``name_speakers(turns, segments, lines)`` reads the speaker turns, the transcript (asr) and the on-screen lines
(ocr) of one video and returns a ``SpeakerName`` per named speaker, each with its evidence (span, modality, words,
rule, weight) and a confidence. Rules and weights:

| rule | example | weight |
|---|---|---|
| self-intro, in the speaker's own words | "my name is X" / "my name's X" | 0.95 |
| | "this is X speaking" / "this is X here" | 0.9 |
| | "I'm X" / "I am X" (X capitalised, not a word like Sorry, Sure, Going), "Hi, X here" | 0.8 |
| | "call me X." (sentence start, or after please / you can / just; the name ends the phrase) | 0.7 |
| on-screen | a lower-third line (top below 55 % of the height) that reads as a person's name ("Anna Berg", "DR. ANNA BERG", "Anna Berg, Engineer"), shown while one speaker does most of the talking | 0.8 |
| addressed | "..., X?", "X, what/do/can ... ?", "over to you, X" ending a turn, and a *different* speaker starts within 3 s | 0.3 |

A spoken name's weight is scaled down when the ASR was unsure of it (word probability under 0.5). A name's
confidence is 1 - prod(1 - weight) over its evidence. Forms of one name are one name when their first
words match ("Anna" said, "Anna Berg" shown: "Anna Berg"). A speaker takes its strongest name (none when two
names tie), a name goes only to the speaker with the strongest claim, and nothing under ``MIN_CONFIDENCE`` (0.5)
is kept: being addressed once is not enough, twice is.

A name heard in speech counts only when it is spelled as a given name of some language (Faker's lists, in
``tools.given_names``): "I'm Shalee" (Whisper's hearing of Shelby) names nobody; the screen's spelling needs no list.
And where the ``names`` stage heard the place again (``tools.rehear``: the seconds around it decoded alone, beam 5),
only when that second hearing has the same name: "I'm Udo" heard again as "I'm Hugo" names nobody.

Limits: the speech rules need a capitalising ASR (Whisper does) and take the name as the ASR heard it when that is
a real name (a misheard "Shelby" written "Shirley" is linked as Shirley); a rare name of no list (a pinyin "Wei")
is named only by the screen; names that are also words ("I'm Frank with you") can pass; quoted speech and role
play are taken at their word; the on-screen rule has no list of names, only of words that are not names, so a
two-word caption of unknown words ("Jade Harbour") reads as a name.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..records import HeardAgain, NameEvidence, Record, Span, SpeakerName, SpeakerTurn, TextLine, TranscriptSegment
from .speakers import TurnIndex, label_segments

SOURCE = "speaker-names@1"
RULES_VERSION = "1"
"""Changes when the speech rules read names in other places (the ``names`` stage hears those places again)."""
MIN_CONFIDENCE = 0.5
"""One vocative (0.3) alone names nobody; two (0.51) or any other rule do. (At 0.3, the benchmark's only wrong
addressed link was a misheard name: "What do you think, Alica?" for Anika.)"""
ADDRESS_GAP = 3.0
"""The addressed speaker must start talking within this many seconds of the end of the question."""
LOWER_THIRD = 0.55
SCREEN_SHARE = 0.6
"""The speaker named on screen does at least this share of the talk while the line is shown."""

STOP = set("""
sorry sure not going gonna glad happy here there fine good great back afraid done ready okay ok just so really very
still also always in on at from with the a an trying looking talking saying thinking tired excited new pretty kind
like all only actually telling getting coming working doing being having making taking calling speaking leaving
staying feeling hoping american english british french german canadian australian irish scottish italian spanish
indian chinese japanese mexican russian dutch swedish norwegian danish polish christian jewish muslim male female
married single old young late early right wrong free busy sick well better worse home out up down off over into
about after before because if when what who why how this that these those it its he she they we you i me my your
his her their our mr mrs ms dr sir madam miss professor doctor welcome hi hello hey yes no yeah nope today tomorrow
tonight now then again sometimes never ever literally basically honestly probably definitely absolutely totally
completely everyone everybody guys folks thanks thank please god
""".split())
CAPTION_STOP = STOP | set("""
breaking news live report update interview special guest host presenter speaker chapter part episode season
introduction summary conclusion agenda questions answers minutes meeting project review quarterly annual report
head chief senior junior manager director engineer officer president executive lead team department sales
marketing research development product design support customer service office city state county north south east
west street road avenue station airport park center centre hall school university college hospital company group
international national global world business market finance bank account invoice total price budget plan
schedule monday tuesday wednesday thursday friday saturday sunday january february march april may june july
august september october november december morning evening night day week month year time channel tv radio
press subscribe follow next previous end start stop open closed warning note tip step page slide figure table
the and of for to in on at by
""".split())

_NAME = r"(?P<name>[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?(?:\s+[A-Z][a-z]+)?)"
_TITLE = r"(?:(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+)?"
_END = r"(?=\s*(?:[.,!?;]|$|\s+(?:and|from|here|speaking|by the way|with|of)\b))"
SELF_PATTERNS = (
    (re.compile(r"\b[Mm]y name(?:'s|\s+is)\s+" + _TITLE + _NAME + _END), 0.95),
    (re.compile(r"\b[Tt]his\s+is\s+" + _TITLE + _NAME + r"(?=\s+(?:speaking|here)\b)"), 0.9),
    (re.compile(r"\b(?:I'm|I\s+am)\s+" + _TITLE + _NAME + _END), 0.8),
    (re.compile(r"\b(?:[Hh]i|[Hh]ello|[Hh]ey)(?:\s+(?:there|everyone|all|guys|folks))?,?\s+" + _NAME
                + r"\s+here\b"), 0.8),
    (re.compile(r"(?:(?:^|[.!?,]\s*)|\b(?:[Pp]lease|[Yy]ou\s+can|[Jj]ust)\s+)[Cc]all\s+me\s+" + _NAME
                + r"(?=\s*(?:[.,!?;]|$))"), 0.7),
)
ADDRESS_PATTERNS = (
    re.compile(r",\s*" + _NAME + r"\s*\?\s*$"),
    re.compile(r"(?:^|[.!?]\s+)" + _NAME + r",\s+(?:what|do|did|are|can|could|would|how|any)\b[^.!]*\?\s*$"),
    re.compile(r"\b(?:[Oo]ver\s+to\s+you|[Yy]our\s+turn),?\s+" + _NAME + r"\s*[.!?]?\s*$"),
)
ADDRESSED_WEIGHT = 0.3
HEARD_SURE = 0.5
"""A self-introduction's weight is scaled by the ASR's word probability of the name below this."""
SCREEN_WEIGHT = 0.8
_CAPTION_WORD = re.compile(r"^(?:[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?|[A-Z]{2,}(?:[-'][A-Z]+)?|(?:Mc|Mac|O')[A-Z][a-z]+)$")


def _is_name(name: str) -> bool:
    first = name.split()[0].lower()
    return first not in STOP and len(first) >= 2


def _titled(m: re.Match) -> bool:
    """Whether a title stands before the name ("Dr. Smith": a family name)."""
    return bool(re.search(r"\b(?:Mr|Mrs|Ms|Dr|Prof)\.?\s+$", m.string[m.start():m.start("name")]))


def _spelled_known(name: str, titled: bool = False) -> bool:
    """Whether a name heard in speech is spelled as a given name of some language (``tools.given_names``): a
    spelling of none is a misheard name more often than a rare one ("Shalee" for Shelby), and a second mention
    repeats the ASR's mishearing, so speech alone does not name anyone with it (the screen still can)."""
    from .given_names import is_given_name

    return is_given_name(name.split()[0], family=titled) is not False


@dataclass
class _SpokenTurn:
    """Consecutive transcript pieces of one speaker, as text with the time of every character range."""

    speaker: str
    text: str = ""
    units: list[tuple[int, int, Span]] = field(default_factory=list)
    probs: list[float] = field(default_factory=list)

    def add(self, text: str, span: Span, prob: float = 1.0) -> None:
        if self.text:
            self.text += " "
        self.units.append((len(self.text), len(self.text) + len(text), span))
        self.probs.append(prob)
        self.text += text

    def prob_of(self, a: int, b: int) -> float:
        """How sure the ASR is of the words in characters ``a..b`` (the least sure of them)."""
        return min((p for (u0, u1, _), p in zip(self.units, self.probs) if u0 < b and u1 > a), default=1.0)

    @property
    def span(self) -> Span:
        return Span(start=self.units[0][2].start, end=max(u[2].end for u in self.units))

    def span_of(self, a: int, b: int) -> Span:
        hit = [s for u0, u1, s in self.units if u0 < b and u1 > a] or [self.units[-1][2]]
        return Span(start=hit[0].start, end=max(hit[0].start, hit[-1].end))

    def sentence(self, a: int, b: int) -> str:
        start = max(self.text.rfind(c, 0, a) for c in ".!?") + 1
        ends = [i for c in ".!?" if (i := self.text.find(c, b)) >= 0]
        return self.text[start:(min(ends) + 1 if ends else len(self.text))].strip()[:160]


def spoken_turns(segments: Iterable[TranscriptSegment], turns: Sequence[SpeakerTurn],
                 max_gap: float = 2.0) -> list[_SpokenTurn]:
    out: list[_SpokenTurn] = []
    last_end = -1e9
    for speaker, seg in label_segments(segments, turns):
        if speaker is None:
            continue
        if not out or out[-1].speaker != speaker or seg.span.start - last_end > max_gap:
            out.append(_SpokenTurn(speaker))
        for text, span, prob in _units(seg):
            if text:
                out[-1].add(text, span, prob)
        last_end = seg.span.end
    return [t for t in out if t.units]


def _units(seg: TranscriptSegment) -> list[tuple[str, Span, float]]:
    return [(w.text, w.span, w.prob) for w in seg.words] if seg.words else [(seg.text.strip(), seg.span, 1.0)]


def said_names(segments: Iterable[TranscriptSegment]) -> list[tuple[Span, str]]:
    """Where the speech rules read a name, segment by segment (a self-introduction: its words; a question to
    someone: the name): what the ``names`` stage hears again."""
    out: dict[tuple[float, float, str], Span] = {}
    for seg in segments:
        turn = _SpokenTurn("")
        for text, span, prob in _units(seg):
            if text:
                turn.add(text, span, prob)
        if not turn.units:
            continue
        for pattern, _ in SELF_PATTERNS:
            for m in pattern.finditer(turn.text):
                if _is_name(m.group("name")) and _spelled_known(m.group("name"), _titled(m)):
                    span = turn.span_of(*m.span())
                    out[(span.start, span.end, m.group("name"))] = span
        for pattern in ADDRESS_PATTERNS:
            m = pattern.search(turn.text)
            if m is not None and _is_name(m.group("name")) and _spelled_known(m.group("name")):
                span = turn.span_of(*m.span("name"))
                out[(span.start, span.end, m.group("name"))] = span
    return [(span, key[2]) for key, span in sorted(out.items())]


def _confirmed(name: str, span: Span, heard: Sequence[HeardAgain]) -> bool:
    """False when the place was heard again and the second hearing has not the same (first) name."""
    again = [h for h in heard if h.name == name and h.span.overlap(span) > 0]
    first = name.split()[0].lower()
    return not again or any(first in re.findall(r"[^\W\d_]+(?:[-'][^\W\d_]+)?", h.text.lower()) for h in again)


def _heard(prob: float, sure: float = HEARD_SURE) -> float:
    """How much a spoken name counts given the ASR's probability for it: fully from ``sure`` up, less below (a
    name the ASR was unsure of is often a misheard one: "Shirley" for Shelby)."""
    return 1.0 if prob >= sure else max(0.0, prob / sure)


def caption_name(line: TextLine) -> str | None:
    """The person's name a lower-third line reads as, or None."""
    if line.box[1] < LOWER_THIRD:
        return None
    head = re.split(r"\s*(?:,|\||–|—|\s-\s|:)\s*", line.text.strip())[0]
    words = head.split()
    if words and re.fullmatch(r"(?:Mr|Mrs|Ms|Dr|Prof)\.?", words[0], re.I):
        words = words[1:]
    if not 2 <= len(words) <= 3 or not all(_CAPTION_WORD.match(w) for w in words):
        return None
    if any(w.lower().strip("'") in CAPTION_STOP for w in words):
        return None
    return " ".join(w if not w.isupper() else w.capitalize() for w in words)


def _evidence(turns: Sequence[SpeakerTurn], segments: Iterable[TranscriptSegment],
              lines: Iterable[TextLine], sure: float = HEARD_SURE,
              again: Sequence[HeardAgain] = ()) -> list[tuple[str, str, NameEvidence, bool]]:
    """(speaker, name, evidence, confirmed) for every piece of evidence found; not confirmed: the names stage heard
    the place again (``again``) without that name."""
    found: list[tuple[str, str, NameEvidence, bool]] = []
    spoken = spoken_turns(segments, turns)
    for i, turn in enumerate(spoken):
        for pattern, weight in SELF_PATTERNS:
            for m in pattern.finditer(turn.text):
                if _is_name(m.group("name")) and _spelled_known(m.group("name"), _titled(m)):
                    a, b = m.span()
                    heard = _heard(turn.prob_of(*m.span("name")), sure)
                    found.append((turn.speaker, m.group("name"), NameEvidence(
                        span=turn.span_of(a, b), modality="speech", text=turn.sentence(a, b), rule="self-intro",
                        weight=round(weight * heard, 4)), _confirmed(m.group("name"), turn.span_of(a, b), again)))
        tail_at = max(0, len(turn.text) - 160)
        for pattern in ADDRESS_PATTERNS:
            m = pattern.search(turn.text, tail_at)
            if m is None or not _is_name(m.group("name")) or not _spelled_known(m.group("name")):
                continue
            nxt = next((u for u in spoken[i + 1:] if u.speaker != turn.speaker), None)
            if nxt is not None and nxt.span.start - turn.span.end <= ADDRESS_GAP:
                a, b = m.span("name")
                found.append((nxt.speaker, m.group("name"), NameEvidence(
                    span=turn.span_of(a, b), modality="speech", text=turn.sentence(a, b), rule="addressed",
                    weight=round(ADDRESSED_WEIGHT * _heard(turn.prob_of(a, b), sure), 4)),
                    _confirmed(m.group("name"), turn.span_of(a, b), again)))
            break
    index = TurnIndex(turns)
    for line in lines:
        name = caption_name(line)
        if name is None:
            continue
        talk: dict[str, float] = defaultdict(float)
        for t in index.turns:
            talk[t.speaker] += t.span.overlap(line.span)
        total = sum(talk.values())
        if total <= 0:
            continue
        speaker = max(talk, key=talk.__getitem__)
        if talk[speaker] >= SCREEN_SHARE * total:
            found.append((speaker, name, NameEvidence(span=line.span, modality="text", text=line.text,
                                                      rule="on-screen", weight=SCREEN_WEIGHT), True))
    return found


def name_speakers(turns: Sequence[SpeakerTurn], segments: Iterable[TranscriptSegment] = (),
                  lines: Iterable[TextLine] = (), min_confidence: float = MIN_CONFIDENCE,
                  heard_sure: float = HEARD_SURE, heard: Iterable[HeardAgain] = ()) -> list[SpeakerName]:
    """The names of a video's speakers that its speech and on-screen text give evidence for (see the module;
    ``heard_sure=0`` takes every spoken name at full weight whatever the ASR's probability; ``heard``: the
    ``names`` stage's second hearings)."""
    if not turns:
        return []
    video_id = turns[0].video_id
    by: dict[tuple[str, str], list[tuple[str, NameEvidence]]] = defaultdict(list)
    doubted: set[tuple[str, str]] = set()  # heard otherwise by a second hearing, and not shown on screen
    shown: set[tuple[str, str]] = set()
    for speaker, name, ev, sure in _evidence(turns, segments, lines, heard_sure, list(heard)):
        key = (speaker, name.split()[0].lower())
        by[key].append((name, ev))
        if not sure:
            doubted.add(key)
        if ev.modality == "text":
            shown.add(key)
    doubted -= shown
    claims: dict[str, list[tuple[float, str, tuple[NameEvidence, ...]]]] = defaultdict(list)
    for (speaker, key), items in by.items():
        miss = 1.0
        for _, ev in items:
            miss *= 1.0 - ev.weight
        name = max(items, key=lambda it: (len(it[0].split()), it[1].weight))[0]
        evidence = tuple(sorted((ev for _, ev in items), key=lambda e: (-e.weight, e.span.start)))
        claims[speaker].append((round(1.0 - miss, 4), name, evidence))
    best: dict[str, tuple[float, str, tuple[NameEvidence, ...]]] = {}
    for speaker, options in claims.items():
        options.sort(key=lambda o: -o[0])
        if (speaker, options[0][1].split()[0].lower()) in doubted:
            continue  # a second hearing of its strongest name heard another: no name (not the next best either)
        if len(options) > 1 and options[1][0] >= options[0][0]:
            continue  # two names, equally supported: none
        if options[0][0] >= min_confidence:
            best[speaker] = options[0]
    holders: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for speaker, (conf, name, _) in best.items():
        holders[name.split()[0].lower()].append((conf, speaker))
    out = []
    for speaker, (conf, name, evidence) in best.items():
        rivals = sorted(holders[name.split()[0].lower()], reverse=True)
        if rivals[0][1] != speaker or (len(rivals) > 1 and rivals[1][0] >= rivals[0][0]):
            continue  # the name is claimed more strongly (or as strongly) by another speaker
        out.append(SpeakerName(video_id=video_id, speaker=speaker, name=name, confidence=conf, evidence=evidence,
                               source=SOURCE))
    return sorted(out, key=lambda n: n.speaker)


def with_speakers(segments: Iterable[TranscriptSegment], records: Iterable[Record],
                  lines: Iterable[TextLine] = ()) -> tuple[list[TranscriptSegment], list[SpeakerName]]:
    """A transcript with its speakers: each segment (split where the speaker changes) carries the speaker's label
    and, where the evidence gives one, name; and those names with their evidence. ``records``: the speakers
    stage's records (and the ``names`` stage's); without turns, or with one voice and no name, the transcript is
    returned as it is."""
    from dataclasses import replace

    from .speakers import turns_of

    segments, lines, records = list(segments), list(lines), list(records)
    turns = turns_of(records)
    if not turns:
        return sorted(segments, key=lambda s: s.span.start), []
    names = name_speakers(turns, segments, lines, heard=[r for r in records if isinstance(r, HeardAgain)])
    if len({t.speaker for t in turns}) == 1 and not names:  # one voice, no name: nothing to tell apart or name
        return sorted(segments, key=lambda s: s.span.start), []
    by = {n.speaker: n.name for n in names}
    out = [replace(seg, speaker=label or "", speaker_name=by.get(label or "", ""))
           for label, seg in label_segments(segments, turns)]
    return out, names
