"""Words as the query tools compare them: tokens (NFKC, case-folded, punctuation off), number words folded to digits
("four hundred and twenty" = "420"), plurals and a few spelling variants folded, and phrase matching — exact or
fuzzy (for ASR and OCR errors) — over a sequence of tokens.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

_ONES = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                    "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i > 1}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
             "ninth": 9, "tenth": 10, "last": -1, "final": -1, "once": 1, "twice": 2, "thrice": 3}
STOP = frozenset("""a an the of to in on at by for from with and or but is are was were be been being it its this that
these those there here as into onto than then so do does did has have had what which who whom whose when where why how
i you he she we they me him her us them my your his our their""".split())


def fold(text: str) -> str:
    """NFKC, case-folded, typographic quotes and dashes made plain."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return text.translate(str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-"}))


def _plain(word: str) -> str:
    w = re.sub(r"[^\w'-]", "", word).strip("'-")
    w = w.replace("'", "")
    if w in STOP or w in ("yes", "news", "always", "perhaps", "series", "species"):  # "does" is not a plural
        return w
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith(("ses", "xes", "zes", "ches", "shes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")) and not w.isdigit():
        w = w[:-1]
    return {"colour": "color", "grey": "gray", "centre": "center", "metre": "meter", "ok": "okay"}.get(w, w)


@dataclass(frozen=True, slots=True)
class Token:
    """One folded token and the range of original words it came from (a number may span several)."""

    text: str
    first: int
    last: int


def tokens(words: Sequence[str]) -> list[Token]:
    """Folded tokens of a word sequence, number words joined into one digit token ("twenty one" -> "21")."""
    plain = []
    for i, w in enumerate(words):
        for part in re.split(r"[\s/]+|(?<=[a-z])[-.](?=[a-z])", fold(w)):
            p = _plain(part)
            if p:
                plain.append((p, i))
    out: list[Token] = []
    j = 0
    while j < len(plain):
        value, k = _number(plain, j)
        if k > j:
            out.append(Token(str(value), plain[j][1], plain[k - 1][1]))
            j = k
        else:
            out.append(Token(plain[j][0].replace(",", ""), plain[j][1], plain[j][1]))
            j += 1
    return out


def _number(plain: list[tuple[str, int]], j: int) -> tuple[int, int]:
    """A number spelled in words starting at ``plain[j]``: (value, index after it); (0, j) when there is none."""
    total, current, k, seen = 0, 0, j, False
    while k < len(plain):
        w = plain[k][0]
        if w in _ONES:
            current += _ONES[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w in _SCALES and seen:
            if _SCALES[w] == 100:
                current *= 100
            else:
                total, current = total + current * _SCALES[w], 0
        elif w == "and" and seen and k + 1 < len(plain) and (plain[k + 1][0] in _ONES or plain[k + 1][0] in _TENS):
            pass
        else:
            break
        seen = True
        k += 1
    return (total + current, k) if seen else (0, j)


def phrase_tokens(text: str) -> list[str]:
    """The folded tokens of a query phrase."""
    return [t.text for t in tokens(text.split())]


def content(tokens_: Sequence[str]) -> list[str]:
    """The tokens that carry meaning (stop words dropped, unless nothing else is left)."""
    kept = [t for t in tokens_ if t not in STOP]
    return kept or list(tokens_)


def similar(a: str, b: str, ratio: float = 0.8) -> bool:
    """Same token, or (both at least 6 characters, not numbers) close enough for an ASR/OCR slip: short words
    differ by one letter too often to be the same word ("pump", "plump")."""
    if a == b:
        return True
    if len(a) < 6 or len(b) < 6 or any(c.isdigit() for c in a + b):
        return False
    return SequenceMatcher(None, a, b).ratio() >= ratio


def stem(word: str) -> str:
    """A word without its -ing / -ed / -es / -s ending, for telling that two words are one word in two forms
    ("served", "serve", "serving" -> "serv"; "stopped" -> "stop"): for what a question is about, not for slips."""
    w = word
    for end in ("ing", "ed", "es", "s", "e"):
        if len(w) > len(end) + 2 and w.endswith(end):
            w = w[: -len(end)]
            break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]
    return w


def related(a: str, b: str) -> bool:
    """The same word, an ASR/OCR slip of it, or another form of it."""
    if similar(a, b):
        return True
    if len(a) < 4 or len(b) < 4 or abs(len(a) - len(b)) > 3:
        return False
    return stem(a) == stem(b) or a.startswith(b) or b.startswith(a)  # "closes" is folded to "clos"


ANY_NUMBER = "anynumber"
"""A token of a phrase that any number matches ("anynumber minutes": "15 minutes", "twenty minutes")."""


def find_phrase(haystack: Sequence[str], phrase: Sequence[str], fuzzy: bool = False) -> list[tuple[int, int]]:
    """Every non-overlapping ``(start, end)`` (end exclusive) where ``phrase`` occurs in ``haystack`` tokens; a
    compound written as one word or two ("northgate", "north gate") is the same phrase."""
    n = len(phrase)
    base = similar if fuzzy else str.__eq__

    def same(a: str, b: str) -> bool:
        return bool(re.fullmatch(r"\d+(?:[.,]\d+)?", a)) if b == ANY_NUMBER else base(a, b)
    joined = "".join(phrase)
    out: list[tuple[int, int]] = []
    i = 0
    while n and i < len(haystack):
        if i + n <= len(haystack) and all(same(haystack[i + k], phrase[k]) for k in range(n)):
            out.append((i, i + n))
            i += n
        elif n > 1 and same(haystack[i], joined):
            out.append((i, i + 1))
            i += 1
        elif n == 1 and i + 1 < len(haystack) and same(haystack[i] + haystack[i + 1], joined) \
                and not same(haystack[i + 1], joined):  # "Mars. Correct" is not one word when "correct" alone is
            out.append((i, i + 2))
            i += 2
        else:
            i += 1
    return out


def contains(text: str, phrase: str, fuzzy: bool = False) -> bool:
    """Does ``text`` hold ``phrase`` as a token sequence (exact, or with ASR/OCR slips)?"""
    words = phrase_tokens(phrase)
    return bool(words) and bool(find_phrase(phrase_tokens(text), words, fuzzy))


def overlap_score(text: str, phrase: str) -> float:
    """The share of the phrase's content tokens found in ``text`` (fuzzy), 0..1."""
    want = content(phrase_tokens(phrase))
    have = phrase_tokens(text)
    if not want:
        return 0.0
    return sum(any(similar(w, h) for h in have) for w in want) / len(want)


def ordinal(word: str) -> int | None:
    """``"second"`` -> 2, ``"last"`` -> -1, ``"3rd"`` -> 3; None when it is not an ordinal."""
    word = fold(word).strip()
    if word in _ORDINALS:
        return _ORDINALS[word]
    m = re.fullmatch(r"(\d+)(?:st|nd|rd|th)", word)
    return int(m[1]) if m else None


def number_in(text: str) -> int | None:
    """The first number in ``text`` (digits or words), or None."""
    for t in tokens(text.split()):
        if t.text.isdigit():
            return int(t.text)
    return None


GENERIC = {"video", "clip", "said", "say", "shown", "show", "screen", "mentioned", "speaker", "narrator", "time",
            "what", "number", "name", "called", "word", "text", "point", "moment", "first", "second", "last",
            "which", "does", "did", "happen", "happens", "appear", "appears", "tell", "told", "give", "given",
            "after", "before", "during", "while", "until", "again", "also", "just", "right", "then", "next",
            # what the video is, or who speaks in it: "the title of the recipe", "according to the contestant"
            "recipe", "film", "movie", "talk", "lecture", "presentation", "tutorial", "episode", "documentary",
            "trailer", "programme", "program", "broadcast", "recording", "footage", "contestant", "host", "presenter",
            "viewer", "audience", "voice", "part", "section", "segment", "according"}
"""Words of a question that say where to look or what the video is, not what to find in it."""
