"""What kind of value a question asks for, and the values of that kind in the evidence — so the value is copied
from what was said or shown, never typed from a model's memory ("What web address is shown at the end?" is
answered by the line ``www.iis.fraunhofer.de/amm``, not by a plausible "http://www.fraunhofer.de").

    asked("Which round number is on screen when the host asks about the spider?")   # Asked("number", "round")
    values("number", "ROUND 2")                                                      # ["2"]

Also the label a question reads a value next to ("the code below the label LICENCE", "who is credited for music
and sound design"): the line shown under or beside it holds the answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .colours import colour_word
from .words import fold, phrase_tokens, similar

_URL = re.compile(r"(?<![@\w.-])(?:https?://)?(?:www\.)?[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:[a-z]{2,6})"
                  r"(?:/[\w./%~-]*)?(?![\w@])", re.I)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_CODE = re.compile(r"\b(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]{1,6}(?:-[A-Z0-9]{1,8})+\b|\b[A-Z]{1,4}\d{3,}\b")
_NUMBER = re.compile(r"(?<![\w.-])\d+(?:[.,-]\d+)*(?![\w-])")
_CLOCK = re.compile(r"\b\d{1,2}[:.]\d{2}\b(?:\s?[ap]\.?m\.?)?", re.I)
_YEAR = re.compile(r"\b(?:1[6-9]|20)\d{2}\b")
_PERCENT = re.compile(r"\b\d+(?:[.,]\d+)?\s?(?:%|percent\b|per cent\b)", re.I)
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d ()./-]{5,}\d(?!\w)")
_PATTERNS = {"url": _URL, "email": _EMAIL, "code": _CODE, "number": _NUMBER, "clock": _CLOCK, "year": _YEAR,
             "percent": _PERCENT, "phone": _PHONE}


@dataclass(frozen=True)
class Asked:
    """The kind of value asked for (url, email, phone, code, number, clock, year, percent, colour) and the word
    naming whose value it is, when the question gives one ("round" in "which round number", "platform" in "which
    platform"; for a colour, the thing whose colour, "" for the whole frame)."""

    kind: str
    qualifier: str = ""


_CLAUSE = re.compile(r"\b(?:while|when|as soon as|as|during|after|before|once|until)\b")
NUMBERED = ("round", "step", "room", "platform", "gate", "track", "page", "chapter", "channel", "lane", "route",
            "level", "floor", "seat", "score", "exit", "line", "bay", "aisle")
"""Things known by their number: "which round" asks for a number."""


def asked(question: str) -> Asked | None:
    """The kind of value ``question`` asks for, read from its head (before "while …", "when …": the clause that
    says where to look is not what is asked), or None."""
    q = " ".join(fold(question).split())
    head = q.split(":")[-1] if ":" in q else q
    if re.match(r"(?:while|when|as|during|after|before|once)\b", head) and "," in head:
        head = head.split(",", 1)[1]  # "while the web address is on screen, what bit rate …": the bit rate
    m = _CLAUSE.search(head, 4)
    head = head[: m.start()] if m and not head.startswith(("when", "at what")) else head
    if re.match(r"(?:and )?(?:who|whose|whom)\b", head):  # "whose website is junell.net" asks for a person
        return None
    colour = re.search(r"\b(?:what|which) colou?rs? (?:is|are|was|were|does|do) (?:the |a |an |his |her |their )?"
                       r"(?:main |dominant |most common )?([\w-]+(?: [\w-]+)?)|\b(?:what|which) (?:is|was) the "
                       r"(?:main |dominant )?colou?r of (?:the |a |an )?([\w-]+(?: [\w-]+)?)|"
                       r"\b(?:what|which) (?:is|was) the (?:main |dominant )?([\w-]+ )?colou?r\b", head)
    if colour and not re.search(r"\bcolou?r (?:code|words?|names?|scheme|chart)\b", head):  # "colour word": text
        thing = next((g for g in colour.groups() if g), "").strip()
        thing = re.sub(r"\s+(?:while|when|as|during|in|on|at|shown|seen|wearing|wear|have|has)\b.*$", "", thing)
        whole = thing in ("", "background", "screen", "frame", "picture", "image", "scene", "video", "main",
                          "dominant", "sky", "wall", "backdrop", "main background", "screen background")
        return Asked("colour", "" if whole else thing)
    if re.search(r"\b(?:web ?address|website|web site|url|web page|homepage|web link|internet address)\b", head):
        return Asked("url")
    if re.search(r"\be-?mail(?: address)?\b", head):
        return Asked("email")
    if re.search(r"\b(?:phone|telephone|mobile|fax|contact) number\b", head):
        return Asked("phone")
    if re.search(r"\b(?:percentage|percent|per cent)\b", head):
        return Asked("percent")
    if re.search(r"\b(?:at )?what time (?:does|do|did|will|is|was) (?!.*\b(?:said|say|says|shown|appears?|"
                 r"mentioned|heard)\b)", head):
        return Asked("clock")
    if re.search(r"\b(?:what|which|in what) year\b", head):
        return Asked("year")
    if re.search(r"\b(?:code|booking ref\w*|registration plate|licen[cs]e plate)\b", head) \
            and not re.search(r"\b(?:colou?r|dress|source|country|area) code\b", head):
        return Asked("code")
    m = re.search(r"\b(?:what|which)\s+(?:is |was )?(?:the )?((?:[\w-]+\s+){0,3}?)(?:number|no\.?|#)(?!\w)", head)
    if m:
        qualifier = (m.group(1).split() or [""])[-1]
        return Asked("number", "" if qualifier in ("the", "a", "phone", "telephone") else qualifier)
    m = re.search(rf"\b(?:what|which)\s+(?:final\s+|total\s+)?({'|'.join(NUMBERED)})\b(?!\s+(?:is|are|was|were)\s+"
                  r"(?:named|called))", head)
    if m:
        return Asked("number", m.group(1))
    return None


def values(kind: str, text: str) -> list[str]:
    """The values of ``kind`` written in ``text``, in order (a web address also as written with its scheme)."""
    if kind == "colour":  # colour words said or shown ("Purple.")
        return list(dict.fromkeys(c for w in re.findall(r"[a-zA-Z]+", text) if (c := colour_word(w))))
    found = [m.group(0).rstrip(".,;:") for m in _PATTERNS[kind].finditer(text)]
    if kind == "url":  # "3304-4.2" or "5.1" are not addresses; "EBU.Tech" neither: a known top-level part or www/http
        found = [u for u in found if re.search(r"[a-z]", u, re.I) and (
            re.match(r"(?:https?://|www\.)", u, re.I) or "/" in u
            or re.search(r"\.(?:com|org|net|edu|gov|int|io|de|uk|fr|eu|info|tv|me|co|nl|es|it|ch|at|jp|ru|cn|be|"
                         r"se|no|dk|fi|pl|us|ca|au|in|br)(?:/|$)", u, re.I))]
    if kind == "phone":  # seven digits at least
        found = [v for v in found if sum(c.isdigit() for c in v) >= 7 and not _CLOCK.fullmatch(v)]
    if kind == "number":  # a code is a number too ("the invoice number": 4821-B), the code first
        found = [m.group(0) for m in _CODE.finditer(text)] + found + _spelled(text)
    return list(dict.fromkeys(found))


_NUMBER_WORD = r"(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen|twenty|thirty|" \
               r"forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand)"
_SPELLED = re.compile(rf"\b{_NUMBER_WORD}(?:(?:\s+and\s+|[\s-]+){_NUMBER_WORD})*\b")


def _spelled(text: str) -> list[str]:
    """Numbers written in words ("twenty minutes" -> "20"), as the tokens fold them."""
    return [t for m in _SPELLED.finditer(fold(text)) for t in phrase_tokens(m.group(0)) if t.isdigit()]


def pick(a: Asked, texts: Sequence[str], strict: bool = False) -> tuple[str, int] | None:
    """The value of kind ``a.kind`` in the first of ``texts`` holding one (with the qualifier word first: "ROUND 2"
    for "which round number", not the clock beside it), and its index; None when none holds one (``strict``:
    when none with the qualifier does — a counter beside it is no room number)."""
    if strict and a.qualifier and not any(_qualified(a, t) for t in texts):
        return None
    order = list(range(len(texts)))
    if a.qualifier:
        order.sort(key=lambda k: not _qualified(a, texts[k]))
    for k in order:
        vs = values(a.kind, texts[k])
        if a.kind == "number" and a.qualifier and _qualified(a, texts[k]):
            after = re.search(rf"\b{re.escape(a.qualifier)}\w*\W*(\w*\d[\w-]*)", texts[k], re.I)
            if after:
                return after.group(1), k
        if a.kind == "number" and _CLOCK.fullmatch(texts[k].strip()) is None:
            vs = [v for v in vs if not _in_clock(v, texts[k])]
        if vs:
            return vs[0], k
    return None


def _qualified(a: Asked, text: str) -> bool:
    return any(similar(t, a.qualifier) for t in phrase_tokens(text))


def _in_clock(value: str, text: str) -> bool:
    """Is ``value`` part of a time of day or a timecode in ``text`` ("00:00:02.500", "14:35")?"""
    return any(value in m.group(0) for m in re.finditer(r"\d+(?:[:.]\d+){1,3}", text) if ":" in m.group(0))


KIND_NAMES = {"url": "web address", "email": "e-mail address", "phone": "phone number", "code": "code",
              "number": "number", "clock": "time of day", "year": "year", "percent": "percentage"}


def _norm(kind: str, v: str) -> str:
    v = fold(v).strip().rstrip("/")
    return re.sub(r"^(?:https?://)?(?:www\.)?", "", v) if kind == "url" else v.replace(" ", "")


def same_value(kind: str, a: str, b: str) -> bool:
    """Are two written values the same (an address with or without ``http://`` / ``www.``, case aside)?"""
    return _norm(kind, a) == _norm(kind, b)


_LABELLED = [
    r"\b(?:below|under|beneath|underneath|above|beside|next to|alongside|right of|left of|after|with) (?:the )?"
    r"(?:label|caption|heading|header|title|word|words|text|line|sign|field)\s+(.+?)(?:\?|$| on (?:the )?screen| in "
    r"the video)",
    r"\b(?:shown|written|displayed|printed|appears?|given|listed) (?:on (?:the )?screen )?(?:with|next to|beside|"
    r"under|below|beneath|after) (?:the )?(.+?)(?:\?|$| on (?:the )?screen| in the video)",
    r"\bwho (?:is|was|are|were) (?:credited|listed|named|shown) (?:for|with|as|under) (?:the )?(.+?)(?:\?|$| in the "
    r"(?:video|credits|clip))",
    r"\baccording to the (?:closing |opening |end )?credits,? who (?:did|made|wrote|composed|directed|produced|"
    r"designed|edited|created|handled) (?:the )?(.+?)(?:\?|$)",
]


_ROLES = {"directed": "director", "produced": "producer", "wrote": "writer", "edited": "editor",
          "narrated": "narrator", "composed": "composer", "animated": "animation", "scored": "music"}
_WORK = ("film", "video", "clip", "movie", "it", "this", "short", "show", "episode", "piece")


def label_of(question: str) -> str:
    """The label the question reads a value next to ("LICENCE" in "which code appears below the label LICENCE?",
    "music and sound design" in "who is credited for music and sound design?"), or ""."""
    quoted = re.findall(r"[\"“‘']([^\"”’']{2,})[\"”’']", question)
    q = " ".join(fold(question).split())
    for pattern in _LABELLED:
        m = re.search(pattern, q)
        if m:
            label = re.sub(r"\s+(?:of|in|from|on) (?:the|this) (?:video|clip|film|recording|credits)$", "",
                           m.group(1).strip(" .?!,;:\"'“”‘’"))
            for x in quoted:  # as the question writes it (capitals kept)
                if fold(x) in label:
                    return x
            caps = re.findall(r"\b[A-Z][A-Z0-9&+ -]*[A-Z0-9]\b", question)
            for c in caps:
                if fold(c) == label or fold(c) in label:
                    return c.strip()
            return label
    m = re.search(r"\bwho (directed|produced|wrote|edited|narrated|composed|animated|scored|did|made|designed|"
                  r"created) (?:the )?(.+?)(?:\?|$| (?:for|in|of|on) (?:the|this) (?:video|film|clip|movie))", q)
    if m:  # "who wrote the script": the SCRIPT line; "who directed the film": the line naming the director
        thing = m.group(2).strip(" .?!,;:")
        return _ROLES.get(m.group(1), "") if thing in _WORK else thing
    return ""


def closest(kind: str, answer: str, texts: Sequence[str]) -> tuple[str, int] | None:
    """The written value of ``kind`` (an address, a code) that ``answer`` misquotes ("http://www.fraunhofer.de"
    for the line ``www.iis.fraunhofer.de/amm``), and the index of its text; None when none is close."""
    from difflib import SequenceMatcher

    if kind not in ("url", "email", "code"):
        return None
    scored = [(SequenceMatcher(None, _norm(kind, answer), _norm(kind, v)).ratio(), -k, v) for k, t in enumerate(texts)
              for v in values(kind, t)]
    if not scored:
        return None
    ratio, k, v = max(scored)
    return (v, -k) if ratio >= 0.6 else None
