"""Reading answers deterministically: the option letter of a reply, an open answer's match, abstentions, a time
span in a reply, temporal IoU and citation overlap (no random fallback, no LLM judge). See ``scoring`` for how
they grade a question.

- Multiple choice: ``extract_choice`` reads the letter ("Best answer: D", "(C)", "**B**", an option's text,
  negations); a reply it cannot read is None (graded wrong and counted apart).
- Open-ended (ActivityNet-QA style): ``match_open`` is a deterministic *proxy* for the usual GPT judge: normalised
  exact match, or the answer's words inside the reply (yes/no: the reply's first yes/no; numbers: the only number
  said), with number words folded to digits ("two" == "2").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..index.discovery import VIDEO_EXTENSIONS
from ..records import LETTERS

Span = tuple[float, float]
Citation = tuple[str, float, float]


# -- multiple choice ----------------------------------------------------------------------------------------------

_L = r"(?<![A-Za-z0-9'’\-.])"
_R = r"(?![A-Za-z0-9'’\-])(?!\.[A-Za-z0-9])"
_PHRASE = re.compile(
    r"(?:\b(?i:answer|option|choice|selection)s?\b\s*(?i:is|was|would\s+be|should\s+be|will\s+be|must\s+be|[=:\-–])"
    r"|\b(?i:choose|chose|pick|select|go\s+with|going\s+with|opt\s+for)\b)"
    r"\s*(?:(?i:the\s+)?(?i:option|choice|letter|answer)\b\s*)?[:\-]?\s*[(\[]?\s*([A-Za-z])\s*[)\]]?" + _R)
_ALTERNATIVE = re.compile(r"\s*(?:,|/|\b(?i:or|and)\b)\s*(?:(?i:option|choice)\s+)?[(\[]?[A-Z]" + _R)
_NEG_BEFORE = re.compile(
    r"\b(?i:not|isn'?t|aren'?t|never|except|excluding|rather\s+than|instead\s+of|other\s+than|rules?\s+out|"
    r"ruled\s+out|eliminates?|eliminated)\s+(?:(?i:the\s+)?(?i:option|choice|answer)\s+)?[(\[]?([A-Z])" + _R)
_NEG_AFTER = re.compile(_L + r"[(\[]?([A-Z])[)\]]?\s+(?i:is|are|seems|looks)\s+(?i:wrong|incorrect|false|not\b)")
_TRAILING = re.compile(r"(?:^|[,:;\n(\[]|=>|->)\s*[(\[]?([A-Z])[)\]]?\s*[.!]?\s*$")
_MENTION = re.compile(r"(?:[(\[]([A-Z])[)\]]|\b(?i:option|choice)\s+([A-Z])" + _R + ")")
_STANDALONE = re.compile(_L + r"([A-Z])" + _R)
_WORDLIKE = re.compile(r"\s+(?!(?i:or|and|nor|is|was|are|seems|looks)\b)[A-Za-z]{2,}")
_NEG_WORDS = {"not", "no", "never", "isnt", "arent", "except", "excluding", "nor"}


def _clean(text: str) -> str:
    text = re.sub(r"</?\s*(?:answer|final|choice)\s*>", " ", text, flags=re.IGNORECASE)
    text = text.translate(str.maketrans({"（": "(", "）": ")", "：": ":", "*": None, "`": None}))
    return text.strip()


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", re.sub(r"['’]", "", text.lower()))


def _occurrences(tokens: list[str], phrase: list[str]) -> list[tuple[int, int]]:
    n = len(phrase)
    return [(i, i + n) for i in range(len(tokens) - n + 1) if tokens[i: i + n] == phrase]


def _by_text(text: str, options: Sequence[str]) -> str | None | bool:
    """The option whose text the reply says (longest unique match, not negated); None if none, False if several."""
    tokens = _words(text)
    found: dict[int, list[tuple[int, int]]] = {}
    for i, option in enumerate(options):
        phrase = _words(option)
        occ = [o for o in _occurrences(tokens, phrase) if not (o[0] and tokens[o[0] - 1] in _NEG_WORDS)] \
            if phrase else []
        if occ:
            found[i] = occ
    if not found:
        return None
    longest = max(len(_words(options[i])) for i in found)
    top = sorted({tuple(_words(options[i])) for i in found if len(_words(options[i])) == longest})
    if len(top) > 1:
        return False
    best = min(i for i in found if tuple(_words(options[i])) == top[0])

    def inside(o: tuple[int, int]) -> bool:
        return any(a <= o[0] and o[1] <= b for a, b in found[best])

    if all(inside(o) for i in found for o in found[i]):
        return LETTERS[best]
    return False


def extract_choice(text: str, options: Sequence[str] = ()) -> str | None:
    """The option letter a free-text reply chooses, or None when it cannot be read.

    In order: an answer phrase ("Best answer: D", "The answer is option B", "I choose (C)"; the last one wins),
    a leading letter ("(C) Berries", "C.", "C) ...", a bare "c"), a trailing letter after punctuation
    ("..., so: B"), a single parenthesised or "option X" letter, an option's full text (case and punctuation
    ignored, longest match, only if no other option is said outside it), and a single standalone capital letter.
    Letters negated ("not A", "A is wrong"), inside words ("Dogs"), used as the article "A" or the pronoun "I",
    or offered as alternatives ("A or B") are not choices; two different letters at the same level give None.
    Valid letters are those of ``options`` (A-E when no options are given).
    """
    valid = LETTERS[: len(options)] if options else LETTERS[:5]
    s = _clean(text or "")
    if not s:
        return None
    negated = {m.start(1) for p in (_NEG_BEFORE, _NEG_AFTER) for m in p.finditer(s)}

    phrase, ambiguous = [], False
    for m in _PHRASE.finditer(s):
        c = m.group(1)
        rest = s[m.end():]
        if c.islower() and re.match(r"\s+[A-Za-z]", rest):
            continue  # "the answer is a dog"
        if m.start(1) in negated or c.upper() not in valid:
            continue
        if _ALTERNATIVE.match(rest):
            ambiguous = True
            continue
        phrase.append(c.upper())
    if phrase:
        return phrase[-1]
    if ambiguous:
        return None

    for pattern in (r"^[(\[]\s*([A-Za-z])\s*[)\]]", r"^([A-Za-z])\s*[.!]?$", r"^([A-Z])[.:)](?=\s|$)",
                    r"^([A-Z])\s*[-–—]\s"):
        m = re.match(pattern, s)
        if m and m.group(1).upper() in valid:
            return None if _ALTERNATIVE.match(s, m.end()) else m.group(1).upper()
    m = re.match(r"^([A-Z])\s+(\S.*)$", s, re.DOTALL)
    if m and m.group(1) in valid and options:
        said, option = _words(m.group(2)), _words(options[LETTERS.index(m.group(1))])
        if option and said[: len(option)] == option:
            return m.group(1)

    m = _TRAILING.search(s)
    if m and m.group(1) in valid and m.start(1) not in negated:
        return m.group(1)

    mentioned = {m.group(1) or m.group(2) for m in _MENTION.finditer(s)
                 if (m.group(1) or m.group(2)) in valid and m.start(1 if m.group(1) else 2) not in negated}
    if len(mentioned) == 1:
        return mentioned.pop()
    if len(mentioned) > 1:
        return None

    if options:
        by_text = _by_text(s, options)
        if by_text is False:
            return None
        if by_text:
            return by_text

    alone = set()
    for m in _STANDALONE.finditer(s):
        c = m.group(1)
        if c not in valid or m.start(1) in negated:
            continue
        if c in "AI" and _WORDLIKE.match(s, m.end()):
            continue  # the article "A", the pronoun "I"
        alone.add(c)
    return alone.pop() if len(alone) == 1 else None


# -- open-ended -----------------------------------------------------------------------------------------------------

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NUMBER = {w: i for i, w in enumerate(_ONES)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_ARTICLES = {"a", "an", "the"}


def normalize_answer(text: str) -> list[str]:
    """Lower-case words and numbers, punctuation and articles dropped, number words as digits ("twenty one" ->
    "21")."""
    out: list[str] = []
    tens = False
    for w in re.findall(r"\d+(?:\.\d+)?|[a-z]+", re.sub(r"['’]", "", (text or "").lower())):
        if w in _ARTICLES:
            tens = False
            continue
        if tens and 0 < _NUMBER.get(w, 0) < 10:
            out[-1] = str(int(out[-1]) + _NUMBER[w])
            tens = False
            continue
        tens = w in _TENS
        out.append(str(_NUMBER[w]) if w in _NUMBER else w)
    return out


def _is_number(w: str) -> bool:
    return bool(re.fullmatch(r"\d+(?:\.\d+)?", w))


def match_open(predicted: str, answer: str) -> bool:
    """Whether an open-ended reply gives the answer (a deterministic proxy for an LLM judge, see the module doc)."""
    p, a = normalize_answer(predicted), normalize_answer(answer)
    if not a:  # an answer of only articles or punctuation ("a"): compare as written
        return bool(answer.strip()) and re.sub(r"[^\w]", "", (predicted or "").lower()) == re.sub(
            r"[^\w]", "", answer.lower())
    if p == a:
        return True
    if a in (["yes"], ["no"]):
        said = next((w for w in p if w in ("yes", "no")), None)
        return said == a[0]
    if len(a) == 1 and _is_number(a[0]):
        numbers = {float(w) for w in p if _is_number(w)}
        return numbers == {float(a[0])}
    return any(not (i and p[i - 1] in _NEG_WORDS) for i, _ in _occurrences(p, a))


# -- abstention and time ------------------------------------------------------------------------------------------

_ABSTAIN = re.compile(
    r"\bnot\s+(?:\w+\s+)?(?:in|shown\s+in|mentioned\s+in|said\s+in|stated\s+in|visible\s+in|present\s+in|found\s+in)"
    r"\s+(?:the|this|any|these)\s+(?:video|videos|footage|clip)s?\b"
    r"|\b(?:video|videos|footage|clip)s?\s+(?:does|do)\s*(?:n[o']t)\s+(?:show|mention|say|contain|include)"
    r"|\bcan(?:not|'t|\s+not)\s+be\s+(?:determined|answered|found)|\b(?:cannot|can't|unable\s+to)\s+"
    r"(?:determine|tell|answer|find)\b|\bno\s+(?:information|evidence|mention)\s+(?:about|of|on|regarding)\b"
    r"|\bnot\s+answerable\b|\bunanswerable\b|\bi\s+don'?t\s+know\b|\bfound\s*[=:]\s*false\b", re.IGNORECASE)


def is_abstention(text: str) -> bool:
    """Whether a reply declines to answer ("not in the video", "cannot be determined", "found: false" ...)."""
    return bool(_ABSTAIN.search(text or ""))


_TIME = r"(\d+(?::\d{1,2}){0,2}(?:\.\d+)?)"
_SPAN = re.compile(_TIME + r"\s*(?:s|secs?|seconds?)?\s*(?:-|–|—|~|,|\bto\b|\buntil\b|\btill\b|\band\b)\s*" + _TIME)


def extract_span(text: str) -> Span | None:
    """The first time range in a reply ("24.3 - 30.4", "from 1:05 to 1:12", "between 10 and 20 s"), in seconds."""
    m = _SPAN.search(text or "")
    if not m:
        return None

    def seconds(t: str) -> float:
        total = 0.0
        for part in t.split(":"):
            total = total * 60 + float(part)
        return total

    a, b = seconds(m.group(1)), seconds(m.group(2))
    return (min(a, b), max(a, b))


def temporal_iou(predicted: Span, truth: Span, duration: float | None = None) -> float:
    """Intersection over union of two time spans, both clipped to ``[0, duration]`` when it is known."""
    (p0, p1), (t0, t1) = sorted(predicted), sorted(truth)
    if duration is not None:
        p0, p1, t0, t1 = (min(max(x, 0.0), duration) for x in (p0, p1, t0, t1))
    inter = max(0.0, min(p1, t1) - max(p0, t0))
    union = (p1 - p0) + (t1 - t0) - inter
    return inter / union if union > 0 else 0.0


def best_iou(predicted: Span | None, truths: Iterable[Span], duration: float | None = None) -> float:
    """IoU with the best-matching ground-truth span (0 when nothing was predicted)."""
    if predicted is None:
        return 0.0
    return max((temporal_iou(predicted, t, duration) for t in truths), default=0.0)


def video_key(video: str) -> str:
    name = Path(video).name.lower()
    stem, dot, ext = name.rpartition(".")
    return stem if dot and f".{ext}" in VIDEO_EXTENSIONS else name


def overlaps(c: Citation, e: Citation) -> bool:
    if c[0] and e[0] and video_key(c[0]) != video_key(e[0]):
        return False
    (c0, c1), (e0, e1) = sorted(c[1:]), sorted(e[1:])
    if c0 == c1:
        return e0 <= c0 <= e1
    return min(c1, e1) > max(c0, e0)


__all__ = ["best_iou", "extract_choice", "extract_span", "is_abstention", "match_open", "normalize_answer", "overlaps",
           "temporal_iou", "video_key"]
