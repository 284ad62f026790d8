"""The wording of questions, as the rules read it: the verbs of saying and showing, quotes, capitals and names,
ordinals, and a target phrase cleaned of articles and fillers. Used by ``intent`` (what a question asks)."""

from __future__ import annotations

import re

from .words import ordinal


SAID = r"(?:said|say|says|saying|spoken|speak|speaks|mentioned|mention|mentions|heard|hear|pronounced|uttered|" \
        r"talked about|talks about|read out|announced|announces|called out|narrated)"


SHOWN = r"(?:shown|show|shows|displayed|display|displays|written|writes|visible|seen|see|appear|appears|appeared|" \
         r"on screen|on the screen|onscreen|printed|pictured)"


TEXTY = r"\b(?:text|caption|captions|title|titles|sign|signs|slide|slides|label|labels|banner|card|cards|subtitle|" \
         r"credits?|written|lower third|headline|list|bullet|on[- ]?screen)\b"


QUOTED = re.compile(r"(?:^|(?<=[\s(:,]))[\"“‘'«](.+?)[\"”’'»](?=[\s?.,!;:)]|$)")


AUX = r"(?:is|are|was|were|does|do|did|has|have|had|will|can)"


SPEAKER = r"(?:speaker|narrator|presenter|voice|man|woman|host|announcer|person|he|she|they|someone|video)"


NTH = r"(first|second|third|fourth|fifth|last|final|\d+(?:st|nd|rd|th))"


SPOKEN = r"(?:said|say|says|saying|spoken|speak|speaks|heard|hear|pronounced|uttered|read out|announced|announces|" \
          r"called out|narrated|narrator|speaker|voice|audio|aloud|out loud)"
"""Words that put a question in the speech (unlike "mentioned", which may be said or written)."""


def names_in(question: str) -> list[str]:
    """Names in Title Case inside a sentence ("credits name Sara Kraft", "the talk by Dr Ann Lee"): two words or
    more, the first not opening the sentence."""
    runs = re.findall(r"(?<![.?!:]\s)(?<!^)\b((?:[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?\s+)+[A-Z][a-z]+)\b", question.strip())
    return [r for r in runs if not re.match(r"(?:The|A|An|In|On|At|Which|What|Who|When)\s", r)]


def caps_in(question: str) -> list[str]:
    """Words written in capitals ("a TAXI sign", "the caption SAFETY DRILL"): text to look for as it is shown."""
    runs = re.findall(r"\b[A-Z][A-Z0-9-]+(?:\s+[A-Z][A-Z0-9-]+)*\b", question)
    return [r for r in runs if r not in ("TV", "OK", "ID", "PM", "AM") and not re.fullmatch(r"[A-Z]", r)]


def modality_of(q: str) -> str:
    said = re.search(rf"\b{SPOKEN}\b", q)
    texty = re.search(TEXTY, q)
    shown = re.search(rf"\b{SHOWN}\b", q)
    if said and not (texty or shown):
        return "speech"
    if texty and not said:
        return "text"
    if shown and not said:
        return "any"  # shown: on-screen text or an object
    return "any"


def occurrence_of(q: str) -> int:
    m = re.search(rf"\b(?:the |for the )?{NTH} (?:time|occurrence|mention|appearance)\b", q) or \
        re.search(rf"\b{NTH} (?:time|one)\b", q)
    if m:
        return ordinal(m.group(1)) or 1
    if re.search(r"\b(again|once more)\b", q):
        return 2
    return 1


def clean(phrase: str) -> str:
    """A target phrase without quotes, leading articles, fillers and trailing punctuation."""
    phrase = phrase.strip(" ?.!,;:\"'“”‘’")
    phrase = re.sub(r"^(?:the |a |an |some |any |that |this |those |these |first |again |is |are |was |were |does |"
                    r"do |did )+", "", phrase)
    phrase = re.sub(r"^(?:word|words|phrase|name|term|text|caption|title|number|code|sentence|line|label|sign)s?\s+",
                    "", phrase)
    phrase = re.sub(r"\s+(?:in|on|during|throughout|within|from|of) (?:the |this )?(?:whole |entire )?"
                    r"(?:video|clip|recording|film|footage|screen)\b.*$", "", phrase)
    phrase = re.sub(r"\s+(?:at all|in total|altogether|overall)$", "", phrase)
    phrase = re.sub(r"(?<=\w)\s+(?:part|section|segment|portion|phase|bit)$", "", phrase)  # "the hiring part"
    return phrase.strip(" ?.!,;:\"'“”‘’")
