"""What a question asks, read by rules (instant, deterministic, testable): the kind of answer, the things it is about,
where to look (speech, on-screen text, objects) and which occurrence — and from that, the tool calls to suggest.

    intent = read_question("How many times is the word 'pump' said?")
    intent.kind, intent.targets, intent.modality          # "count", ("pump",), "speech"
    intent.calls()                                        # [Call("count", {"query": "pump", "modality": "speech"})]

The model still chooses: these calls are suggestions it may take, change or ignore (a larger model writes its
own). Kinds: ``count``, ``order``, ``when``, ``during`` (what is shown while something is said, or the reverse),
``which_video``, ``list`` (the lines on a screen), ``shots``, ``videos``, ``speakers`` (how many people speak),
``who`` (who says something), ``said_by`` (what one speaker says), ``summary``, ``lookup`` (find a fact and read
it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..records import parse_time
from .wording import AUX as _AUX, NTH as _NTH, QUOTED as _QUOTED, SAID as _SAID, SHOWN as _SHOWN, SPEAKER as _SPEAKER
from .wording import TEXTY as _TEXTY, caps_in as _caps, clean as _clean, modality_of as _modality
from .wording import names_in as _names, occurrence_of as _occurrence
from .words import ANY_NUMBER, STOP, fold, ordinal

_LIST_UNITS = ("item", "line", "entry", "point", "bullet", "option", "step", "name", "word")


@dataclass(frozen=True)
class Call:
    """A tool call: the tool's name and its arguments."""

    tool: str
    args: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.args.items() if v not in (None, "", "any"))
        return f"{self.tool}({shown})"


@dataclass(frozen=True)
class Intent:
    kind: str
    targets: tuple[str, ...] = ()
    modality: str = "any"
    occurrence: int = 1
    then: str = "any"
    """For ``during``: what to read at the moment found (``text`` shown while X is said, ``speech`` said while
    X is shown)."""
    unit: str = ""
    """For ``count``: what is counted (times, items, people, ...)."""
    relation: str = "during"
    """For ``during``: read at the moment found (``during``), or just ``after`` / ``before`` it."""
    question: str = ""
    speaker: str = ""
    """For ``said_by``: the speaker named (a name, "the second speaker", "S2")."""
    listed: bool = False
    """For ``count``: the things counted are listed under the target (a title on screen)."""
    sure: bool = False
    """The targets come from quotes, capitals or a wording pattern (not the last-words guess): what the question
    is about, so a target the videos never say or show makes it unanswerable."""

    def calls(self) -> list[Call]:
        """The tool calls that answer this kind of question, best first."""
        t = self.targets
        first = t[0] if t else ""
        m = self.modality
        if self.kind == "shots":
            return [Call("count", {"query": self.unit or "shots"})]
        if self.kind == "videos":
            return [Call("videos")]
        if self.kind == "count" and first and self.unit == "thing":
            return [Call("most", {"query": first}), Call("count", {"query": first, "modality": "objects"})]
        if self.kind == "quantity" and first:
            return [Call("find", {"query": first, "modality": m})]
        if self.kind == "count" and first:
            if (self.unit in _LIST_UNITS or self.listed) and m != "speech":
                return [Call("screen", {"query": first}), Call("count", {"query": first, "modality": m})]
            return [Call("count", {"query": first, "modality": m}), Call("find", {"query": first, "modality": m})]
        if self.kind == "order" and len(t) >= 2:
            return [Call("order", {"targets": list(t), "modality": m})]
        if self.kind == "when" and first:
            return [Call("locate", {"query": first, "occurrence": self.occurrence, "modality": m})]
        if self.kind == "during" and first:
            return [Call("locate", {"query": first, "occurrence": self.occurrence, "modality": m})]
        if self.kind == "which_video" and first:
            return [Call("find", {"query": first, "modality": m}), Call("search", {"query": first})]
        if self.kind == "list" and first:
            return [Call("screen", {"query": first})]
        if self.kind == "speakers":
            return [Call("speakers")]
        if self.kind == "who" and self.unit == "time":
            return [Call("who", {"at": parse_time(re.sub(r"\s*s$", "", first))})]
        if self.kind == "who" and first:
            return [Call("who", {"query": first}), Call("find", {"query": first, "modality": "speech"})]
        if self.kind == "said_by":
            rest = Call("find", {"query": first, "modality": "speech"}) if first else Call("speakers")
            return [Call("said_by", {"speaker": self.speaker, "query": first}), rest]
        if self.kind == "summary":
            return [Call("read_all", {"question": self.question})]
        return [Call("search", {"query": first or ""})]


def read_question(question: str, options: tuple[str, ...] | list[str] = ()) -> Intent:
    """The intent of ``question`` (its options help for ordering and which-video questions)."""
    intent = _read(question, options)
    q = " ".join(fold(question).split())
    named = {fold(t) for t in [m.group(1).strip() for m in _QUOTED.finditer(question)] + _caps(question)
             + _names(question)}
    named.add(_pattern_object(q, _SURE))
    sure = bool(intent.targets) and ((intent.kind == "quantity" and intent.unit not in _MEASURES)
                                     or all(fold(t) in named for t in intent.targets))
    return replace(intent, sure=sure)


_AMOUNT = r"(\d+|one|two|three|four|five|ten|fifteen|twenty|thirty|a|the)"
_WORDS_N = {"a": 1, "the": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10, "fifteen": 15,
            "twenty": 20, "thirty": 30}
OPENING = 15.0
"""Seconds that "at the start" / "at the end" of a video read."""


def window(question: str) -> tuple[str, float] | None:
    """Where in each video the question points: ``("start", s)`` for the first ``s`` seconds ("at the very start",
    "in the opening", "in the first two minutes"), ``("end", s)`` for the last ones; None for the whole video."""
    q = " ".join(fold(question).split())
    m = re.search(rf"\b(?:in|during|within) the (first|last|final|opening|closing) {_AMOUNT}? ?(seconds?|minutes?)\b",
                  q)
    if m:
        n = int(m.group(2)) if (m.group(2) or "").isdigit() else _WORDS_N.get(m.group(2) or "a", 1)
        return ("start" if m.group(1) in ("first", "opening") else "end", n * (60.0 if m.group(3)[0] == "m" else 1.0))
    if re.search(r"\b(?:at|in|near) the (?:very )?(?:start|beginning|opening)\b|\bopening (?:title|shot|scene|"
                 r"screen|words?|line)\b|\bfirst thing\b", q):
        return ("start", OPENING)
    if re.search(r"\b(?:at|in|near) the (?:very )?end\b|\bclosing (?:title|shot|scene|screen|words?|line)\b|"
                 r"\blast thing\b|\bfinal (?:title|shot|scene|screen|words?)\b", q):
        return ("end", OPENING)
    return None


def _read(question: str, options: tuple[str, ...] | list[str]) -> Intent:
    q = " ".join(fold(question).split())
    q = re.sub(r"\bbefore or after\b|\bafter or before\b", "before", q)
    quoted = [m.group(1).strip() for m in _QUOTED.finditer(question)] or _caps(question)
    modality = _modality(q)
    occurrence = _occurrence(q)
    if re.search(r"\bhow many (?:different |distinct |separate )?(?:camera )?(shots|cuts|scenes|scene changes|"
                 r"clips)\b", q) or re.search(r"\bnumber of (shots|cuts|scenes)\b", q):
        unit = re.search(r"(shots|cuts|scenes|scene changes|clips)", q).group(1)  # type: ignore[union-attr]
        return Intent("shots", unit={"cuts": "cuts"}.get(unit, "shots"))
    if re.search(r"\bhow many (videos|files|recordings)\b", q):
        return Intent("videos")
    voices = _voices(q, question, quoted)
    if voices is not None:
        return voices
    if re.search(r"\b(summar\w*|overview|main (?:topic|idea|theme|point|message)s?|gist|what (?:is|are) (?:this|the) "
                 r"(?:video|clip|recording|film)s? (?:about|mainly about)|"
                 r"what happens in (?:the|this) (?:video|clip))\b", q):
        return Intent("summary", question=question)
    if re.search(r"\bwhich (?:of the )?(?:videos?|files?|clips?|recordings?)\b", q):
        names = _names(question)
        amount = re.search(r"\b(?:a|an|any) (?:number|amount|count|figure) of ([\w-]+)", q)
        target = quoted[0] if quoted else fold(names[0]) if names else f"{ANY_NUMBER} {amount.group(1)}" if amount \
            else _object_of(q)  # "in which videos is a number of minutes given": any "<n> minutes"
        return Intent("which_video", (target,) if target else (), modality)
    counting = re.search(r"\bhow (?:many|often)\b|\bnumber of\b|\bcount\b", q)
    if counting:
        return _count(q, quoted, modality)
    around = _around(q, quoted)
    if around is not None:
        return around
    if re.search(r"\b(first|earlier|earliest|last|later|latest|before|after|order|sequence|precede|precedes|"
                 r"follows?|followed)\b", q) and (options or re.search(r"\bor\b|,|\bbefore\b|\bafter\b", q)):
        targets = _order_targets(q, quoted, options)
        if len(targets) >= 2:
            return Intent("order", tuple(targets), modality)
    during = _during(q, quoted)
    if during is not None:
        return during
    whose = re.search(r"^(?:and )?whose (?:[\w-]+ ){0,2}(?:is|are|was|were) (?:the )?(.+?)\??$", q)
    if whose:  # "whose website is junell.net": who is named on screen with it
        return Intent("during", (quoted[0] if quoted else _clean(whose.group(1)),), "text", then="text")
    if re.search(r"(?:^|[:;,] |^(?:and|so|but|then) )when\b|\bat what (?:time|point|moment|minute|second)\b|"
                 r"\bat which (?:time|point|moment)\b|\bwhat time\b|\btimestamp\b|\bhow (?:far|long) into\b", q) \
            and not _clock_time(q):  # "when" asks for a moment at the start, not in "what word … when the time …"
        target = quoted[0] if quoted else _object_of(q)
        return Intent("when", (target,) if target else (), modality, occurrence)
    nth = re.search(rf"\b{_NTH} (?:([\w-]+) )?(?:item|line|point|entry|thing|step|name|bullet)\b", q)
    if nth and modality != "speech":
        m = re.search(r"\b(?:on|in|under|of) (?:the |that |this )?(.+?)(?:\?|$| shown| displayed| at )", q)
        target = quoted[0] if quoted else _clean(m.group(1)) if m else nth.group(2) or ""  # "the fourth agenda item"
        if target:
            return Intent("list", (target,), "text", ordinal(nth.group(1)) or 1, unit="item")
    if re.search(r"\b(list|listed|bullet|items?)\b", q) and modality != "speech":
        m = re.search(r"\b(?:on|in|under|of) (?:the |that |this )?(.+?)(?:\?|$| shown| displayed| at )", q)
        target = quoted[0] if quoted else _clean(m.group(1)) if m else ""
        if target:
            return Intent("list", (target,), "text")
    target = quoted[0] if quoted else _object_of(q)
    return Intent("lookup", (target,) if target else (), modality, occurrence)


def _clock_time(q: str) -> bool:
    """"At what time does the Bristol train leave?", "According to the board, what time is the meeting?": a time
    the video tells (a fact to look up), not a moment of the video (nothing is said, shown or seen in it)."""
    asks = re.search(r"\b(?:at )?what time\b|\baccording to\b", q)
    about_video = re.search(rf"\b(?:{_SAID}|{_SHOWN}|{_NTH} (?:time|occurrence|mention|appearance)|in the (?:video|"
                            r"clip|recording)|into the (?:video|clip)|timestamp|happens?|occurs?)\b", q)
    return asks is not None and about_video is None


def _object_of(q: str) -> str:
    """The thing a question is about, from its wording ("when is the invoice shown" -> "invoice"), else a guess."""
    return _pattern_object(q) or _fallback(q)


def _pattern_object(q: str, only: tuple[int, ...] | None = None) -> str:
    """The thing a question is about when a wording pattern names it, else "" (``only``: these patterns)."""
    patterns = [
        rf"\b{_SPEAKER}\s+(?:first\s+|again\s+|ever\s+|also\s+)?(?:say|says|said|mention|mentions|mentioned|talk about|"
        rf"talks about|read|reads|announce|announces)\s+(?:the (?:word|phrase|name) )?(.+?)"
        rf"(?:\?|$| for the| the \w+ time| again| at )",
        rf"\b(?:word|phrase|name|term|text|caption|title|code)s?\s+(.+?)\s+(?:{_AUX}\s+)?(?:being\s+)?(?:{_SAID}|{_SHOWN})\b",
        rf"\b{_AUX}\s+(?:the (?:speaker|narrator|presenter|voice|man|woman|host)\s+)?(?:first\s+)?(.+?)\s+"
        rf"(?:being\s+|first\s+|again\s+)?(?:{_SAID}|{_SHOWN})\b",
        r"\b(?:say|says|mention|mentions|show|shows|display|displays|read|reads)\s+(?:the (?:word|phrase|name) )?"
        r"(.+?)(?:\?|$| for the| the \w+ time| again| first| at )",
        r"\bwhat (?:is|was|are|were) (?:the )?(.+?)(?:\?|$| shown| said| mentioned| in the video| on the screen)",
        r"\bwho (?:is|was) (?:the )?(.+?)(?:\?|$)",
        rf"\b(?:{_SAID}|{_SHOWN})\s+(.+?)(?:\?|$)",
    ]
    for n, pattern in enumerate(patterns):
        if only is not None and n not in only:
            continue
        m = re.search(pattern, q)
        if m:
            phrase = _clean(m.group(1))
            if phrase and phrase not in STOP and not re.match(r"(?:it|this|that|there|they|he|she|we|you|i)\b", phrase):
                return phrase  # not "he promise to" (in "what word does he promise to say"): a person, not a thing
    return ""


_SURE = (0, 1, 4, 5)
"""The patterns that name what must be said or shown for the question to have an answer: what a speaker says, a
word said or shown, "what is the X", "who is the X" — not "which dish is named in the title" (a category)."""


def _fallback(q: str) -> str:
    """When no wording pattern fits: the question's last three content words."""
    words = [w for w in re.findall(r"[\w'-]+", q) if w not in STOP and w not in _QUESTION_WORDS]
    return " ".join(words[-3:])


_QUESTION_WORDS = {"many", "much", "often", "times", "time", "video", "clip", "said", "shown", "mentioned", "first",
                   "second", "last", "word", "phrase", "speaker", "narrator", "screen", "appear", "appears", "say",
                   "says", "show", "shows", "number", "count", "total"}


_SPEAKS = r"(?:said|says|say|mentioned|mentions|asked|asks|talked about|talks about|spoke about|speaks about|" \
          r"announced|announces|introduced|introduces|explained|explains|suggested|suggests|proposed|proposes|" \
          r"thanked|thanks|answered|answers|replied|replies|called|calls|claimed|claims|promised|promises|" \
          r"recommended|recommends|warned|warns|described|describes|told|tells|greeted|greets|uses|used|invites|" \
          r"invited|urges|urged|encourages|encouraged)"
_WHO_REF = r"(?:speaker|voice|person|participant|guest|interviewer|interviewee|panelist|host|presenter|narrator)"


def _voices(q: str, question: str, quoted: list[str]) -> Intent | None:
    """Questions about who speaks: "how many people speak", "who said X", "what did Ann / the second speaker say
    (about X)"."""
    if re.search(r"\bhow many (?:different |distinct |separate |individual )?(?:speakers|voices|(?:people|persons|"
                 r"participants|men|women) (?:speak|speaks|talk|talks|are (?:speaking|talking)|were (?:speaking|"
                 r"talking)|spoke|talked|take part|took part|are (?:heard|in the (?:conversation|meeting|"
                 r"interview|discussion|call))))\b", q) or re.search(r"\bnumber of (?:speakers|voices)\b", q):
        return Intent("speakers", unit="speaker")
    at = re.search(r"\bwho (?:is|was) (?:speaking|talking)\b.*?\bat (\d{1,2}:\d{2}(?::\d{2})?|\d+(?:\.\d+)?\s*s)", q)
    if at:
        return Intent("who", (at.group(1),), "speech", unit="time")
    m = re.search(rf"\b(?:who|which (?:{_WHO_REF}|one of them|of the (?:speakers|people|two|three)))\s+(?:first\s+)?"
                  rf"(?:{_AUX}\s+)?(?:the one (?:who|that)\s+)?{_SPEAKS}\s+(.+?)\??$", q)
    if m and not re.match(r"(?:by|in|on)\b", m.group(1)):
        target = quoted[0] if quoted else _clean(re.sub(r"^(?:that|the words?|the phrase|us|about|(?:him|her|them)"
                                                       r"sel(?:f|ves)(?: as)?)\s+", "", m.group(1)))
        return Intent("who", (target,) if target else (), "speech")
    m = re.search(r"\bwhat (?:did|does|do|has|had) (.+?) (?:say|said|mention|talk about|think|suggest|propose|ask|"
                  r"explain|tell us|answer|reply|describe|claim|promise|recommend)(?:\s+(?:about|of|on|regarding|"
                  r"concerning)\s+(.+?))?\s*\??$", q)
    if m:
        who = _clean(m.group(1))
        named = re.search(rf"\b{re.escape(who)}\b", fold(question)) and any(
            w[:1].isupper() for w in re.findall(r"[\w'-]+", question) if fold(w) in who.split())
        if re.search(rf"\b{_WHO_REF}\b|^s\d+$", who) or (named and who not in STOP):
            topic = _clean(m.group(2)) if m.group(2) else ""
            return Intent("said_by", (topic,) if topic else (), "speech", speaker=who)
    return None


def _count(q: str, quoted: list[str], modality: str) -> Intent:
    unit_m = re.search(r"\bhow many (?:different |distinct |separate |individual )?(?:[\w-]+ ){0,2}?([\w-]+)"
                       r"(?= (?:are|is|were|was|do|does|did|can|will|have|has|appear|appears|get|got|there)\b)", q) or \
        re.search(r"\bhow many (?:different |distinct |separate |individual )?([\w-]+)", q)  # "quiz rounds": rounds
    unit = re.sub(r"(?<=[^s])s$", "", unit_m.group(1)) if unit_m else "time"
    unit = {"entrie": "entry", "ite": "item"}.get(unit, unit)
    if quoted and re.search(r"\b(?:listed|under|on the (?:list|slide|board|card))\b", q) and modality != "speech":
        return Intent("count", (quoted[0],), "text", unit=unit, listed=True)  # "listed under 'Very special thanks'"
    if quoted:
        return Intent("count", (quoted[0],), modality, unit=unit)
    m = re.search(rf"\bhow (?:many (?:separate |different )?times|often) (?:{_AUX} )?(?:the |a |an )?(?:{_SPEAKER}\s+)"
                  rf"(?:say|says|said|mention|mentions|mentioned|show|shows|use|uses|repeat|repeats)\s+(.+?)"
                  rf"(?:\?|$)", q) or \
        re.search(rf"\bhow many (?:separate |different |distinct |individual )?times (?:{_AUX} )?(?:the )?(.+?)\s+"
                  rf"(?:being\s+)?(?:{_SAID}|{_SHOWN})\b", q) or \
        re.search(rf"\bhow often (?:{_AUX} )?(?:the )?(.+?)\s+(?:{_SAID}|{_SHOWN})\b", q)
    if m:
        return Intent("count", (_clean(m.group(1)),), modality, unit="time")
    m = re.search(r"\b(?:items?|lines?|entries|entry|points?|bullets?|options?|steps?|names?|words?)\b.*?"
                  r"\b(?:on|in|under|of) (?:the |that |this )?(.+?)(?:\?|$| shown| displayed| at | in the video)", q)
    if m and unit in _LIST_UNITS:
        return Intent("count", (_clean(m.group(1)),), "text", unit=unit)
    board = re.search(r"\b(?:on|in) (?:the|this|that) ((?:[\w-]+ )?(?:list|slide|board|sign|menu|card|poster|"
                      r"whiteboard|table))\b", q)
    if (board or re.search(r"\blisted\b", q)) and modality != "speech":  # "how many destinations are on the
        title = re.search(r"\bhow many (?:different |distinct )?([\w-]+)", q)  # departures board": its lines
        target = board.group(1) if board and board.group(1).count(" ") else title.group(1) if title else "list"
        return Intent("count", (_clean(target),), "text", unit="item")
    if unit in _MEASURES:  # "by how many minutes is the train delayed": an amount the video states, not a count
        rest = re.search(r"\bhow (?:many|much) [\w-]+\s+(.+?)(?:\?|$)", q)
        rest_ = re.sub(rf"^(?:per \w+\s+)?(?:{_AUX}\s+)?(?:the |a |an )?", "", rest.group(1)) if rest else ""
        rest_ = re.sub(rf"^(?:[\w-]+ )?(?:{_SPEAKER} )?(?:say|says|said|tell us|tells us|mention|mentions|"
                       rf"recommend|recommends)\s+(?:to |that |we )?", "", rest_)  # "the cook say to stir ..."
        target = _clean(rest_)
        return Intent("quantity", (target or unit,), modality, unit=unit)
    m = re.search(r"\bhow (?:many|much) (?:different |distinct )?(.+?)\s+(?:did|does|do|will|would|has|have|had|was|"
                  r"were)\s+(?!.*\b(?:appear|appears|shown|visible|seen|on screen)\b)(.+)$", q) or \
        re.search(r"\bhow (?:many|much) (?:different |distinct )?(.+?)\s+(?:is|are)\s+(?:the|a|an|this|that|it|he|she|"
                  r"they|we)\s+(?!.*\b(?:appear|appears|shown|visible|seen|on screen|listed)\b)(.+)$", q)
    if m:  # "how many laptops did the speaker say were ordered": a number the video states, not a count
        return Intent("quantity", (_clean(m.group(1)),), modality)
    m = re.search(r"\bhow many (?:different |distinct )?(.+?)\s+(?:are|were|is|can|do|does|appear|appears)\b", q) or \
        re.search(r"\bhow many (?:different |distinct )?(.+?)(?:\?|$)", q)
    target = _clean(m.group(1)) if m else _object_of(q)
    if modality in ("any", "objects") and _is_thing(target):
        return Intent("count", (target,), "objects", unit="thing")
    return Intent("count", (target,) if target else (), modality, unit=unit)


_MEASURES = set("""second minute hour day week month year decade centurie metre meter kilometre kilometer km mile
foot feet inche yard kilogram kg gram pound ton tonne litre liter gallon euro dollar cent penny pence franc yen
percent degree calorie volt watt kilowatt byte megabyte gigabyte kilobit megabit""".split())
"""Units of measure (as singularised by ``_count``): "how many minutes" asks for an amount, not for a count."""


def _is_thing(target: str) -> bool:
    from .query import _LABEL_WORDS

    words = target.split()
    return bool(words) and (words[-1] in _LABEL_WORDS or words[-1].rstrip("s") in _COCO)


_COCO = set("""person bicycle car motorcycle airplane bus train truck boat bird cat dog horse sheep cow elephant bear
zebra giraffe backpack umbrella handbag tie suitcase frisbee skis snowboard kite skateboard surfboard bottle cup fork
knife spoon bowl banana apple sandwich orange broccoli carrot pizza donut cake chair couch bed toilet tv laptop mouse
remote keyboard microwave oven toaster sink refrigerator book clock vase scissors toothbrush""".split())


def _order_targets(q: str, quoted: list[str], options: tuple[str, ...] | list[str]) -> list[str]:
    if len(quoted) >= 2:
        return quoted
    if options and len(options) >= 2 and not any(re.search(r"\b(both|neither|same time|none)\b", fold(o))
                                                  for o in options):
        return [_clean(fold(o)) for o in options]
    m = re.search(r"[,:]\s*(.+?)\s+or\s+(.+?)\??$", q) or \
        re.search(rf"\b(?:is|was|are|were|does|do|did)\s+(?:the |a )?(?:{_SPEAKER}\s+)?"
                  rf"(?:say|mention|show|display|read)?\s*(.+?)\s+(?:{_SAID}\s+|{_SHOWN}\s+|come\s+|comes\s+|"
                  rf"happen\w*\s+)?(?:before|after)\s+(.+?)\??$", q)
    if m:
        parts = [p for part in m.groups() for p in re.split(r",\s*(?:or\s+)?", part)]
        return [c for c in (_clean(p) for p in parts) if c]
    listed = re.search(r"\b((?:(?:an?|the) )?[\w-]+(?:, (?:(?:an?|the) )?[\w-]+)+,? (?:and|or) "
                       r"(?:(?:an?|the) )?[\w-]+)\b", q)  # "gives a teacher, an artist and a writer as examples"
    if listed and re.search(r"\bwhich (?:of (?:them|these|those)|one)\b", q):
        return [c for c in (_clean(p) for p in re.split(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+",
                                                        listed.group(1))) if c]
    return []


def _during(q: str, quoted: list[str]) -> Intent | None:
    """"What is shown while X is said?" (then text) / "What is said when X is shown?" (then speech); also "X is on
    screen: what is announced at that moment?"."""
    if quoted and re.search(r"\b(?:at that (?:moment|time|point)|at the same time|meanwhile|simultaneously|while it "
                            r"is (?:shown|on screen|displayed)|when it (?:is shown|appears))\b", q):
        anchor_text = re.search(rf"{re.escape(fold(quoted[0]))}[^:?,.]*\b(?:{_SHOWN}|{_TEXTY})", q) is not None
        asks_said = re.search(rf"\b{_SAID}\b", q.split(":")[-1]) is not None
        return Intent("during", (quoted[0],), "text" if anchor_text else "speech", _occurrence(q),
                      then="speech" if asks_said or anchor_text else "text")
    m = re.search(rf"\b(?:what|which) (?:[\w-]+ ){{0,3}}(?:is|was|are|were|does|do|can be) (?:\w+ )?"
                  rf"(?:{_SHOWN}|{_SAID}|{_TEXTY})\b.*?\b(?:while|when|as|during|at the (?:time|moment))\b(.+)$",
                  q) or re.search(r"\b(?:what|which) (?:[\w-]+ ){0,4}?colou?rs?\b.*?\b(?:while|when|as|during|at the "
                                  r"(?:time|moment))\b(.+)$", q)  # "what colour is the background while he says X"
    loose = m is None
    m = m or re.search(rf"^(?:what|which|who)\b.*?\b(?:while|when|as)\s+(.+\b(?:{_SAID}|{_SHOWN}|asks|starts|begins|"
                       rf"ends|comes on)\b.*)$", q)  # "which animal is on the branch when the card X appears"
    if not m:
        return None
    head, tail = q[: m.start(1)], m.group(1).strip()
    asks_shown = re.search(rf"\b{_SHOWN}\b|{_TEXTY}", head) is not None
    anchor_said = re.search(rf"\b{_SAID}\b|\b{_SPEAKS}\b", tail) is not None  # "the narrator invites you to …"
    says = re.search(rf"^(?:the |a |an )?(?:[\w-]+ )?(?:{_SPEAKER} )?(?:{_SPEAKS}|reads)\s+"
                     rf"(?:(?:you|us|viewers|everyone|people|the (?:audience|viewers?|listeners?))\s+)?"
                     rf"(?:to |that |how to |about |for )?(.+)$", tail)  # "invites you to their website"
    if quoted:
        target = quoted[0]
    elif says:  # "when the cook says to add the cream": what is said comes after the verb
        target = _clean(says.group(1))
    else:  # "while the invoice is shown": what is shown comes before the verb
        target = _clean(re.sub(rf"\b(?:{_AUX}\s+)?(?:being\s+)?(?:{_SAID}|{_SHOWN})\b.*$", "", tail))
    if not target:
        return None
    anchor = "speech" if anchor_said else "text" if re.search(_TEXTY, tail) else "any"
    then = "any" if loose else "text" if asks_shown else "speech"
    return Intent("during", (target,), anchor, _occurrence(q), then=then)


def _around(q: str, quoted: list[str]) -> Intent | None:
    """"What is said right after X is shown?" / "What is shown just before X is said?" (read next to a moment)."""
    m = re.search(rf"\bwhat (?:is|was|does|do|did|happens?)\s+(?:the )?(?:{_SPEAKER}\s+)?(?:\w+\s+)?"
                  rf"(?:right |just |immediately |directly )?(after|before)\s+(.+)$", q)
    if not m or re.search(r"\b(first|order)\b", q[: m.start(1)]):
        return None
    head, tail = q[: m.start(1)], m.group(2)
    target = quoted[0] if quoted else _clean(re.sub(rf"\s+(?:{_AUX}\s+)?(?:{_SAID}|{_SHOWN})\b.*$", "", tail))
    if not target:
        return None
    then = "text" if re.search(rf"\b{_SHOWN}\b|{_TEXTY}", head) else "speech" if re.search(rf"\b{_SAID}\b|\bsay\b",
                                                                                           head) else "any"
    anchor = "speech" if re.search(rf"\b{_SAID}\b", tail) else "text" if re.search(_TEXTY, tail) else "any"
    return Intent("during", (target,), anchor, _occurrence(q), then=then, relation=m.group(1))
