"""Answers from observations: composed by rule where a tool computed the answer (a count, a time, an order, a
list, a video), options chosen by matching them to what was computed, and the citations of a model's answer
found by its content in the observations it came from (never from numbers the model typed).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from ..records import LETTERS, Span, fmt_span, parse_time
from .intent import Intent
from .state import Item, Observation
from .amounts import frequency, numbered, stated
from .colours import colour_word
from .typed import asked, label_of, pick, values
from .words import GENERIC, STOP, content, fold, number_in, overlap_score, phrase_tokens, related, similar

_TIME = re.compile(r"\b\d{1,2}(?::\d{2}){1,2}(?:\.\d+)?\b")
NOT_SHOWN = re.compile(r"\b(not (?:shown|said|mentioned|visible|in the video|stated|given|specified|seen|heard|"
                       r"present|there)|none of (?:the|these|them)|no such|never (?:shown|said|mentioned)|cannot be "
                       r"(?:determined|known|told)|can't (?:tell|be determined)|does not (?:show|say|mention|appear)|"
                       r"doesn't (?:show|say|mention|appear)|unknown|not (?:answerable|possible)|there (?:is|are|was|"
                       r"were) no|never (?:says|shows|mentions|names|appears|gives)|no [\w-]+(?: [\w-]+)? (?:is|are|"
                       r"was|were) (?:named|shown|given|mentioned|said|stated|listed|visible|credited|heard))\b", re.I)


@dataclass
class Draft:
    """An answer in the making: its text, the option it picks, the evidence items it rests on, and how it was
    made (``by``: a tool's name when computed, ``model`` when a model wrote it)."""

    text: str
    choice: str | None = None
    cited: list[int] = field(default_factory=list)
    confidence: float = 0.5
    found: bool = True
    by: str = "model"
    why: str = ""


_NONE = re.compile(r"^\s*(?:none(?: of \w+)?\W*$|(?:no|nobody|nothing|neither|never)\s+\w+\s+\w+)", re.I)
"""An option saying nothing answers ("No train is delayed by 40 minutes", "None of them"), not a bare "No"."""


def not_shown_option(options: Sequence[str]) -> int | None:
    """The option that says the video does not show or say it, if there is one."""
    hits = [i for i, o in enumerate(options) if NOT_SHOWN.search(o) or _NONE.search(o)]
    return hits[0] if len(hits) == 1 else None


def match_option(text: str, options: Sequence[str]) -> int | None:
    """The option ``text`` names: the same number, else the clearly best word overlap (None when unsure)."""
    n = number_in(text)
    if n is not None:
        same = [i for i, o in enumerate(options) if number_in(o) == n]
        if len(same) == 1:
            return same[0]
    scores = [max(overlap_score(text, o), overlap_score(o, text)) for o in options]
    best = max(range(len(options)), key=lambda i: scores[i], default=None)
    if best is None or scores[best] < 0.5:
        return None
    if sorted(scores)[-2:][0] >= scores[best] - 0.2 and len(options) > 1:
        return None
    return best


def compose(intent: Intent, question: str, options: Sequence[str], obs: Sequence[Observation]) -> Draft | None:
    """The answer a tool computed, when the observations hold one for this kind of question (else None: the model
    reads the observations)."""
    if not obs:
        return None
    target = intent.targets[0] if intent.targets else ""
    often = re.match(r"\s*how often\b", fold(question)) is not None
    read = (stated(target, obs) or numbered(target, obs)) if intent.kind == "quantity" else \
        frequency(obs) if often and intent.kind in ("count", "quantity", "lookup") else None
    if read is not None:  # "36 new laptops", "ROUND 1 … ROUND 4", "every 20 minutes"
        return _choose(Draft(read[0], cited=read[1], confidence=0.7, by="amounts", why=read[2]), options)
    last = obs[-1]
    tool = getattr(last.call, "tool", "")
    ids = [i.id for i in last.items]
    if tool == "most" and intent.kind == "count" and last.value:
        n = int(last.value)
        return _choose(Draft(str(n), cited=ids, confidence=0.7, by=tool, why=last.summary), options)
    if tool in ("count", "shots", "videos") and intent.kind in ("count", "shots", "videos"):
        n = int(last.value or 0)
        if n == 0:
            return None  # not found: the model may look elsewhere, or the answer is an abstention
        unit = "" if intent.kind == "videos" else _unit(intent, n)
        return _choose(Draft(f"{n}{unit}", cited=ids, confidence=0.9, by=tool, why=last.summary), options)
    if tool == "screen" and intent.kind in ("count", "list") and last.items:
        n = int(last.value or 0)
        if intent.kind == "count":
            return _choose(Draft(f"{n}{_unit(intent, n)}", cited=ids, confidence=0.8, by=tool, why=last.summary),
                           options) if n else None
        listed = list(last.items)
        if intent.unit == "item" and len(listed) > 1:  # "the third item": the third line under the title
            k = intent.occurrence if intent.occurrence > 0 else len(listed) - 1 + intent.occurrence + 1
            if 1 <= k < len(listed):
                item = listed[k]
                return _choose(Draft(re.sub(r"^\s*\d+[.)]\s*", "", item.text), cited=[item.id], confidence=0.75,
                                     by=tool, why=last.summary), options)
            return None
        return _choose(Draft(f"{len(listed)} lines: " + "; ".join(i.text for i in listed), cited=ids, confidence=0.7,
                             by=tool, why=last.summary), options)
    if tool == "locate" and intent.kind == "when" and last.value is not None:
        span: Span = last.value
        nth = "" if intent.occurrence == 1 else f" ({_ordinal(intent.occurrence)} time)"
        return _choose(Draft(f"{fmt_span(span)}{nth}", cited=ids[:1], confidence=0.85, by=tool, why=last.summary),
                       options)
    if tool == "order" and intent.kind == "order" and last.value:
        return _order(intent, question, options, last)
    if tool == "find" and intent.kind == "which_video" and last.items and last.note in ("exact", "fuzzy"):
        videos = list(dict.fromkeys(i.video for i in last.items))
        draft = Draft(", ".join(videos), cited=_one_per_video(last.items), confidence=0.8, by=tool, why=last.summary)
        if options:
            named = [k for k, o in enumerate(options) if any(_names(o, v) for v in videos)]
            exact = [k for k in named if {v for v in videos if _names(options[k], v)} == set(videos)]
            named = exact if len(named) > 1 and len(exact) == 1 else named  # "A, B and C" against "B only"
            if len(named) == 1:
                return Draft(f"{LETTERS[named[0]]}. {options[named[0]]}", LETTERS[named[0]], draft.cited, 0.8,
                             by=tool, why=last.summary)
            return None
        return draft
    if tool == "title" and last.value and re.search(r"\btitle\b", fold(question)):
        return _choose(Draft(str(last.value), cited=ids, confidence=0.6, by=tool, why=last.summary), options)
    if tool == "speakers" and intent.kind == "speakers" and last.value:
        n = int(last.value)
        return _choose(Draft(f"{n} speaker{'s' * (n != 1)}", cited=ids, confidence=0.8, by=tool, why=last.summary),
                       options)
    if tool == "who" and intent.kind == "who" and last.value:
        return _who(last, options)
    if tool == "said_by" and intent.kind == "said_by" and last.items and intent.targets and last.note != "semantic" \
            and len(last.items) <= 2:
        text = " ".join(i.text for i in last.items)
        return _choose(Draft(text, cited=ids, confidence=0.6, by=tool, why=last.summary), options)
    if tool == "read_all" and intent.kind == "summary" and last.value:
        return _choose(Draft(str(last.value), cited=ids, confidence=0.6, by="mapreduce", why=last.summary), options)
    if tool == "deep_search" and isinstance(last.value, str) and last.value and ids:  # drafted and verified there
        return _choose(Draft(last.value, cited=ids[:4], confidence=0.6, by="search", why=last.summary), options)
    typed = _typed(intent, question, options, last)
    if typed is not None:
        return typed
    if tool == "read" and intent.kind == "during" and last.items and re.match(r"\s*(?:who|whose)\b", fold(question)):
        names = [i for i in last.items if i.modality != "speech" and _PERSON.fullmatch(i.text.strip())
                 and not any(fold(t) in fold(i.text) for t in intent.targets)]
        if names:  # "whose website is junell.net", "who is shown when …": the name on screen then
            return _choose(Draft(names[0].text.strip(), cited=[names[0].id], confidence=0.6, by=tool,
                                 why=last.summary), options)
    if tool == "read" and intent.kind == "during" and last.items:
        said = [i for i in last.items if i.modality == "speech"] if intent.then == "speech" else \
            [i for i in last.items if i.modality != "speech"] if intent.then == "text" else list(last.items)
        if intent.then == "text" and len(said) > 1 and len(obs) > 1 and obs[-2].items:  # read most at the moment
            moment = obs[-2].items[0].span
            inside = [i for i in said if i.span.overlap(moment) >= 0.5 * moment.duration]
            said = inside if len(inside) == 1 else said
        if (len(said) == 1 or (said and intent.then == "speech")) and _asks_the_words(question):
            text = " ".join(i.text for i in said)
            return _choose(Draft(text, cited=[i.id for i in said], confidence=0.6, by=tool, why=last.summary), options)
    return None


def _typed(intent: Intent, question: str, options: Sequence[str], last: Observation) -> Draft | None:
    """A value of the kind asked (a web address, a code, a round number) copied from what was read: next to the
    label the question names, or at the moment it points to (what is there most of that moment first)."""
    tool = getattr(last.call, "tool", "")
    if tool == "screen" and intent.kind == "lookup" and last.items and label_of(question):
        return _labelled(question, options, last)
    a = asked(question)
    if tool == "colours" and last.value:
        return _colour(options, last)
    if a is None or a.kind == "colour" or tool != "read" or intent.kind not in ("during", "lookup") or not last.items:
        return None
    items = [i for i in last.items if i.modality != "speech"] if intent.then == "text" else list(last.items)
    got = pick(a, [i.text for i in items], strict=True)
    if got is None:
        return None
    value, k = got
    return _choose(Draft(value, cited=[items[k].id], confidence=0.7, by=tool, why=last.summary), options)


def _colour(options: Sequence[str], last: Observation) -> Draft | None:
    """The colour most of the frames (or of the thing) is, from the pixels; for options, the option naming the
    colour with the largest share (at least a tenth of the pixels)."""
    top: list[tuple[str, float]] = list(last.value)
    ids = [i.id for i in last.items]
    if not options:
        return Draft(top[0][0], cited=ids, confidence=0.6, by="colours", why=last.summary)
    share = dict(top)
    named = [(share.get(colour_word(w), 0.0), k) for k, o in enumerate(options) for w in re.findall(r"[a-zA-Z]+", o)
             if colour_word(w)]
    best = max(named, default=(0.0, -1))
    if best[0] < 0.1:
        return None
    k = best[1]
    return Draft(f"{LETTERS[k]}. {options[k]}", LETTERS[k], ids, 0.6, by="colours", why=last.summary)


def _labelled(question: str, options: Sequence[str], last: Observation) -> Draft | None:
    """The value shown with a label: on the label's own line after it ("EBU Tech 3304-4.2 EBU Multichannel
    Ident"), else on the lines under it ("LICENCE" / "HX-1712"; "MUSIC + SOUND DESIGN" / "Lesser")."""
    label = label_of(question)
    title, rest = last.items[0], list(last.items[1:])
    if overlap_score(title.text, label) < 0.6:
        return None  # no line holds the label: the lines read are not its
    own = " ".join(t for t in re.split(r"\s+", title.text) if not any(similar(fold(t), w)
                                                                     for w in phrase_tokens(label))).strip()
    lines = ([replace(title, text=own)] if own else []) + rest
    a = asked(question)
    if a is not None:
        got = pick(a, [i.text for i in lines])
        if got is None:
            return None
        value, k = got
        item = lines[k]
    else:  # who / what: the first line under it that is words (a name), not an address
        named = [i for i in rest if not values("url", i.text) and re.search(r"[^\W\d_]{2,}", i.text)]
        if not named:
            return None
        item = named[0]
        value = item.text
    cite = title.id if item.id == title.id else item.id
    return _choose(Draft(value, cited=[cite, title.id] if cite != title.id else [cite], confidence=0.75,
                         by="screen", why=last.summary), options)


_PERSON = re.compile(r"(?:(?:Dr|Mr|Mrs|Ms|Prof)\.? )?[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?(?: [A-Z]\.)?"
                     r"(?: (?:van |de |von |da )?[A-Z][a-z]+(?:[-'][A-Z]?[a-z]+)?){1,2}")
"""A line that is a person's name ("Ryan Junell", "Dr. Ann Lee", "Sara Kraft"), as credits and lower thirds show it."""


_THE_WORDS = re.compile(r"\bwhat (?:exactly )?(?:(?:is|was|are|were|does|do|did|can you)\b(?: [\w']+){0,3}? "
                        r"(?:said|says?|shown|shows?|written|writes?|announced|announces?|displayed|reads?|on screen|"
                        r"on the screen|heard|spoken|mentioned)|(?:text|words?|caption|lines?|message|sign|title|"
                        r"announcement)s?\b)")


def _asks_the_words(question: str) -> bool:
    """Does the question ask for what is said or shown itself ("What is said while ...", "What text appears ...")
    rather than for one thing in it ("Which city's train is announced ...", "What step number is on screen ...",
    left for the model to pick out of what was read)?"""
    return _THE_WORDS.search(fold(question)) is not None


def _who(last: Observation, options: Sequence[str]) -> Draft | None:
    """"Who said X": the speaker of its first time (the others who say it too, after it), cited where said."""
    order: list[str] = list(last.value)
    first = next(i for i in last.items if i.speaker == order[0]) if any(i.speaker == order[0] for i in last.items) \
        else last.items[0]
    text = _speaker_text(order[0]) + ("" if len(order) == 1 else
                                      " (also said by " + ", ".join(_speaker_text(w) for w in order[1:]) + ")")
    draft = Draft(text, cited=[first.id], confidence=0.8, by="who", why=last.summary)
    if not options:
        return draft
    named = [k for k, o in enumerate(options) if fold(order[0]) in fold(o) or (
        re.fullmatch(r"S\d+", order[0]) and re.search(rf"\bspeaker {order[0][1:]}\b|\b{order[0]}\b", o, re.I))]
    if len(named) == 1:
        k = named[0]
        return Draft(f"{LETTERS[k]}. {options[k]}", LETTERS[k], draft.cited, 0.8, True, "who", last.summary)
    return _choose(draft, options)


def _speaker_text(who: str) -> str:
    return f"speaker {who} (the video gives no name)" if re.fullmatch(r"S\d+", who) else who


def _unit(intent: Intent, n: int) -> str:
    unit = intent.unit if intent.unit not in ("", "time", "are", "is", "do", "does", "appear") else "time"
    if intent.kind == "shots":
        unit = "cut" if intent.unit == "cuts" else "shot"
    return f" {unit}{'s' * (n != 1)}" if unit.isalpha() and unit not in ("people", "person") else ""


def _ordinal(n: int) -> str:
    return {1: "first", 2: "second", 3: "third", -1: "last"}.get(n, f"{n}th")


def _choose(draft: Draft, options: Sequence[str]) -> Draft | None:
    """For a multiple-choice question, the option the computed answer names (None: the model chooses)."""
    if not options:
        return draft
    k = match_option(draft.text, options)
    if k is None:
        return None
    return Draft(f"{LETTERS[k]}. {options[k]}", LETTERS[k], draft.cited, draft.confidence, True, draft.by, draft.why)


def _order(intent: Intent, question: str, options: Sequence[str], last: Observation) -> Draft | None:
    order: list[str] = list(last.value)
    if len(order) < 2:
        return None  # a target is missing: the model may find it by other words
    q = fold(question)
    wants_last = re.search(r"\b(last|later|latest|after|second|final)\b", q) and not re.search(r"\bfirst\b", q)
    pick = order[-1] if wants_last else order[0]
    ids = [i.id for i in last.items]
    yes_no = re.match(r"^(is|are|was|were|does|do|did|has|have)\b", q)
    if yes_no and len(intent.targets) == 2:
        a, b = intent.targets
        before = order.index(a) < order.index(b) if a in order and b in order else None
        if before is None:
            return None
        asked_after = re.search(r"\bafter\b", q) is not None
        yes = before != asked_after
        return Draft(f"{'Yes' if yes else 'No'}: {order[0]!r} comes first", cited=ids, confidence=0.8, by="order",
                     why=last.summary)
    if options:
        targets = list(intent.targets)
        if pick in targets and len(targets) == len(options):
            k = targets.index(pick)
            return Draft(f"{LETTERS[k]}. {options[k]}", LETTERS[k], ids, 0.8, by="order", why=last.summary)
        k = match_option(pick, options)
        return None if k is None else Draft(f"{LETTERS[k]}. {options[k]}", LETTERS[k], ids, 0.8, by="order",
                                            why=last.summary)
    return Draft(pick if not re.search(r"\border\b|\bsequence\b", q) else ", then ".join(order), cited=ids,
                 confidence=0.8, by="order", why=last.summary)


def _one_per_video(items: Sequence[Item]) -> list[int]:
    seen: dict[str, int] = {}
    for i in items:
        seen.setdefault(i.video_id, i.id)
    return list(seen.values())


def _names(text: str, video: str) -> bool:
    """Does ``text`` name the file ``video`` (with or without its extension)?"""
    text, stem = fold(text), fold(video).rsplit(".", 1)[0]
    return fold(video) in text or re.search(rf"(?<![\w-]){re.escape(stem)}(?![\w-])", text) is not None


# -- citations of a model's answer ---------------------------------------------------------------------------------
def attribute(answer: str, items: Sequence[Item]) -> list[int]:
    """The items that hold the answer's content (its numbers and codes exactly, its words fuzzily), best first; an
    answer that is a time cites the items whose moment holds that time."""
    stamps = [parse_time(m[0]) for m in _TIME.finditer(answer)]
    shown = any(m[0] in i.text for m in _TIME.finditer(answer) for i in items)  # a clock on screen, not a moment
    if stamps and not shown and not _TIME.sub("", answer).strip(" -–—,.;:()at"):
        at = [i for i in items if any(i.span.start - 1 <= t <= i.span.end + 1 for t in stamps)]
        return [i.id for i in sorted(at, key=lambda i: i.span.duration)][:2]
    want = content(phrase_tokens(answer))
    if not want:
        return []
    scored = []
    for item in items:
        have = phrase_tokens(item.text)
        hard = [w for w in want if any(c.isdigit() for c in w)]
        if hard and not all(any(w == h or w.replace("-", "") == h.replace("-", "") for h in have) for w in hard):
            continue
        share = sum(any(similar(w, h) for h in have) for w in want) / len(want)
        if share >= 0.6:
            scored.append((-share, item.span.start, item.id, item))
    out: list[int] = []
    for _, _, i, item in sorted(scored):
        if not any(_same(item, kept) for kept in (items_by_id(items)[k] for k in out)):
            out.append(i)
    return out[:4]


def items_by_id(items: Sequence[Item]) -> dict[int, Item]:
    return {i.id: i for i in items}


def _same(a: Item, b: Item) -> bool:
    """The same moment seen twice (a search and a read of one sentence)."""
    return a.video_id == b.video_id and a.modality == b.modality and a.span.overlap(b.span) > 0.5 * min(
        a.span.duration, b.span.duration, 1e9) and overlap_score(a.text, b.text) > 0.8


def relevant(question: str, item: Item, around: Sequence[Item], vocabulary: set[str],
             titles: set[str] = frozenset(), share: float = 0.5) -> bool:
    """Does the evidence near ``item`` (its text and the items overlapping it or within ``NEAR`` s of it) mention
    what the question is about? The question's words that occur somewhere in the videos (``vocabulary``) must
    mostly occur near the evidence, and one at least; when none of its words occurs anywhere, the question is about
    something the videos do not hold. An answer found next to nothing the question names is not an answer to it."""
    near = {h for i in [item, *around] if i.video_id == item.video_id and _gap(i.span, item.span) <= NEAR
            for h in phrase_tokens(i.text)}
    if unheard_names(question, vocabulary, titles):  # "the train to Glasgow" where no video names Glasgow
        return False
    words = [w for w in content(phrase_tokens(question)) if len(w) > 2 and w not in GENERIC]
    known = [w for w in words if w in vocabulary or any(related(w, v) for v in vocabulary if len(v) >= 4)]
    if not known:  # the question names only kinds of things ("which dish…"): nothing to hold the evidence to
        return True
    hits = sum(any(related(w, h) for h in near) for w in known)
    return hits >= 1 and hits / len(known) >= share


_NAME = re.compile(r"(?<![.?!:]\s)(?<!^)\b([A-Z][a-z]{2,}(?:[-'][A-Z]?[a-z]+)?)\b")


def unheard_names(question: str, vocabulary: set[str], titles: set[str] = frozenset()) -> list[str]:
    """The names in the question (capitalised words inside a sentence: "the train to Glasgow", "what did Ann say")
    that no video says or shows, nor anything close (an ASR or OCR slip: "Anne", "Glasgo"), and no video's file
    name holds (``titles``): what the question is about is not in the videos. One of two alternatives ("on
    Monday or on Friday") is no such name: the question asks which."""
    import difflib

    out = []
    pairs = re.findall(r"(\w+)\s+or\s+(?:on |in |at |to |the |a |an )?(\w+)", question)
    either = {fold(w) for pair in pairs if any(fold(x) in vocabulary for x in pair) for w in pair}
    for m in _NAME.finditer(question.strip()):
        word = fold(m.group(1)).removesuffix("'s")
        if word in STOP or word in GENERIC or word in vocabulary or word in titles or word in either:
            continue
        close = [v for v in vocabulary if v[:1] == word[:1] and abs(len(v) - len(word)) <= 2]
        if not difflib.get_close_matches(word, close, n=1, cutoff=0.75):
            out.append(m.group(1))
    return out


def mentions(question: str, text: str) -> bool:
    """Does ``text`` hold one of the words the question is about (not its question words)?"""
    have = phrase_tokens(text)
    return any(any(related(w, h) for h in have) for w in content(phrase_tokens(question))
               if len(w) > 2 and w not in GENERIC)


NEAR = 6.0
"""Seconds between two pieces of evidence that are still about the same thing (a caption and what is said as it
ends; not the sentence before last)."""


def _gap(a: Span, b: Span) -> float:
    return max(0.0, max(a.start, b.start) - min(a.end, b.end))
