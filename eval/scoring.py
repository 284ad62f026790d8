"""Deterministic scoring: answer extraction, per-question grading and the report.

    r = grade(question, "The answer is B.", citations=[("v.mp4", 12.0, 15.0)], model_calls=3, strategy="agent")
    report = score([r, ...])                 # accuracy (micro, macro, by kind, by duration) with 95% CIs ...
    print(render_markdown(report))

Rules, all deterministic (no random fallback, no LLM judge):

- Multiple choice: ``extract_choice`` reads the letter; a reply it cannot read counts as wrong and is counted
  separately (``Report.unparsed``). A system error counts as wrong too (``Report.errors``).
- Open-ended (ActivityNet-QA style): ``match_open`` is a deterministic *proxy* for the usual GPT judge: normalised
  exact match, or the answer's words inside the reply (yes/no: the reply's first yes/no; numbers: the only number
  said), with number words folded to digits ("two" == "2").
- Unanswerable questions: right when the system abstained ("not in the video", found=False).
- Grounding (``kind == "grounding"``): temporal IoU of the predicted span with the best ground-truth span, both
  clipped to the video's duration; reported as R1@{0.3,0.5,0.7} and mIoU, not in accuracy.
- Confidence intervals: percentile cluster bootstrap over videos (questions about one video are correlated;
  seeded, so the same results give the same interval), or a cluster-robust normal approximation. With fewer
  than ``MIN_CLUSTERS`` videos neither means anything (two videos give three possible resamples), so the
  interval is a Wilson interval over questions instead, marked ``clustered=False`` (and ``*`` in reports).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from .questions import BUCKETS, LETTERS, VIDEO_EXTENSIONS, Question

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


def _video_key(video: str) -> str:
    name = Path(video).name.lower()
    stem, dot, ext = name.rpartition(".")
    return stem if dot and f".{ext}" in VIDEO_EXTENSIONS else name


def _overlaps(c: Citation, e: Citation) -> bool:
    if c[0] and e[0] and _video_key(c[0]) != _video_key(e[0]):
        return False
    (c0, c1), (e0, e1) = sorted(c[1:]), sorted(e[1:])
    if c0 == c1:
        return e0 <= c0 <= e1
    return min(c1, e1) > max(c0, e0)


# -- per-question results -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One graded answer. ``correct`` is None when there is nothing to compare with (grounding, withheld truth)."""

    question_id: str
    benchmark: str
    kind: str
    duration_bucket: str
    video: str
    predicted: str
    choice: str | None
    correct: bool | None
    parsed: bool
    abstained: bool
    answerable: bool
    citations: tuple[Citation, ...] = ()
    evidence: tuple[Citation, ...] = ()
    predicted_span: Span | None = None
    duration: float | None = None
    kinds: tuple[str, ...] = ()
    """Every category the question counts in (LVBench lists several), when not just ``kind``."""
    model_calls: int = 0
    tokens: int = 0
    frames: int = 0
    seconds: float = 0.0
    strategy: str = ""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("citations", "evidence", "kinds"):
            data[key] = [list(x) if isinstance(x, tuple) else x for x in data[key]]
        data["predicted_span"] = list(self.predicted_span) if self.predicted_span else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        d = dict(data)
        d["citations"] = tuple((str(v), float(a), float(b)) for v, a, b in d.get("citations") or ())
        d["evidence"] = tuple((str(v), float(a), float(b)) for v, a, b in d.get("evidence") or ())
        d["kinds"] = tuple(d.get("kinds") or ())
        span = d.get("predicted_span")
        d["predicted_span"] = (float(span[0]), float(span[1])) if span else None
        return cls(**d)


def grade(question: Question, predicted: str = "", *, choice: str | None = None, abstained: bool | None = None,
          span: Span | None = None, citations: Iterable[Citation] = (), model_calls: int = 0, tokens: int = 0,
          frames: int = 0, seconds: float = 0.0, strategy: str = "", error: str | None = None) -> Result:
    """Grade one reply to ``question``.

    ``choice``: a letter the system gave as structured output (else read from ``predicted``); ``abstained``: the
    system's own found=False (None: read it from the reply); ``span``: a grounding prediction (else read from the
    reply). An MCQ answer is right when its letter is the answer's (or one of ``extra['answers']``).
    """
    text = predicted or ""
    choice = choice.strip().upper() if choice else None
    if question.options and choice is None and error is None:
        choice = extract_choice(text, question.options)
    if abstained is None:
        abstained = error is None and choice is None and is_abstention(text)
    grounding = question.kind == "grounding"
    if grounding and span is None and error is None:
        span = extract_span(text)
    correct: bool | None
    parsed = True
    if error is not None:
        parsed = False
        correct = None if grounding or (question.answerable and question.answer is None) else False
    elif not question.answerable:
        correct = abstained
    elif grounding:
        correct, parsed = None, span is not None or abstained
    elif question.answer is None:
        correct = None
    elif abstained:
        correct = False
    elif question.options:
        parsed = choice is not None
        correct = choice in (question.extra.get("answers") or [question.answer])
    else:
        parsed = bool(text.strip())
        correct = match_open(text, question.answer)
    ev_video = question.video or str(question.extra.get("evidence_video", ""))
    kinds = tuple(str(k) for k in question.extra.get("kinds", ()))
    return Result(question.id, question.benchmark, question.kind, question.duration_bucket, question.video, text,
                  choice, correct, parsed, bool(abstained), question.answerable,
                  tuple((str(v), float(a), float(b)) for v, a, b in citations),
                  tuple((ev_video, a, b) for a, b in question.evidence),
                  None if span is None else (float(span[0]), float(span[1])), question.duration, kinds,
                  int(model_calls), int(tokens), int(frames), float(seconds), strategy, error)


# -- the report ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A mean over questions with its confidence interval (None when there are no questions)."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    clusters: int
    clustered: bool = True
    """False: too few videos for a clustered interval; ``low``/``high`` are a Wilson interval over questions."""


@dataclass(frozen=True)
class Report:
    n: int
    videos: int
    benchmarks: tuple[str, ...]
    strategies: tuple[str, ...]
    accuracy: Estimate
    """Micro: pooled over every scored question."""
    macro_accuracy: Estimate
    """Mean of the per-kind accuracies."""
    by_kind: dict[str, Estimate]
    by_bucket: dict[str, Estimate]
    scored: int
    unparsed: int
    """Replies no choice could be read from (counted wrong)."""
    errors: int
    """System errors (counted wrong)."""
    unscored: int
    """Questions without ground truth (withheld answers, grounding without spans)."""
    grounding: dict[str, Estimate]
    """R1@0.3, R1@0.5, R1@0.7 and mIoU over grounding questions with ground truth."""
    grounding_unparsed: int
    """Grounding replies with no span (IoU 0)."""
    abstention: dict[str, Any]
    citations: dict[str, Any]
    cost: dict[str, dict[str, float]]
    ci: str
    level: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _kinds(r: Result) -> tuple[str, ...]:
    return r.kinds or (r.kind,)


def _cluster(r: Result) -> str:
    return r.video or f"question:{r.question_id}"


MIN_CLUSTERS = 5
"""Fewest videos for a clustered interval; below it the interval is over questions (Wilson)."""


def _wilson(p: float, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval of a proportion ``p`` over ``n`` trials."""
    centre, half = p + z * z / (2 * n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, float((centre - half) / (1 + z * z / n))), min(1.0, float((centre + half) / (1 + z * z / n)))


def _estimate(values: Sequence[float], clusters: Sequence[str], groups: Sequence[Sequence[int]] | None, *,
              method: str, n_boot: int, seed: int, level: float) -> Estimate:
    """Mean of ``values`` (or the mean over groups of the group means) with a cluster CI."""
    n = len(values)
    if n == 0:
        return Estimate(None, None, None, 0, 0)
    ids, inv = np.unique(np.asarray(clusters, dtype=object).astype(str), return_inverse=True)
    k = 1 + max((g for gs in groups for g in gs), default=0) if groups is not None else 1
    member = np.zeros((n, k))
    for i in range(n):
        for g in (groups[i] if groups is not None else (0,)):
            member[i, g] = 1.0
    y = np.asarray(values, dtype=float)
    sums = np.zeros((len(ids), k))
    counts = np.zeros((len(ids), k))
    np.add.at(sums, inv, member * y[:, None])
    np.add.at(counts, inv, member)

    def stat(s: np.ndarray, c: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(c > 0, s / np.where(c > 0, c, 1), np.nan)
            present = (c > 0).sum(axis=-1)
            return np.where(present > 0, np.nansum(means, axis=-1) / np.maximum(present, 1), np.nan)

    S, N = sums.sum(0), counts.sum(0)
    value = float(stat(S, N))
    nc = len(ids)
    videos = sum(not str(i).startswith("question:") for i in ids)  # video-less questions are their own cluster
    alpha = 1 - level
    if nc < MIN_CLUSTERS or 0 < videos < MIN_CLUSTERS:
        low, high = _wilson(value, n, NormalDist().inv_cdf(1 - alpha / 2))
        return Estimate(value, low, high, n, nc, clustered=False)
    if method == "normal":
        present = N > 0
        means = np.where(present, S / np.where(present, N, 1), 0.0)
        infl = ((sums - means * counts) / np.where(present, N, 1))[:, present].sum(1) / present.sum()
        se = float(np.sqrt(nc / (nc - 1) * (infl ** 2).sum()))
        z = NormalDist().inv_cdf(1 - alpha / 2)
        low, high = value - z * se, value + z * se
    else:
        rng = np.random.default_rng(seed)
        stats = []
        for start in range(0, n_boot, 256):
            b = min(256, n_boot - start)
            draws = rng.integers(0, nc, size=(b, nc))
            weight = np.zeros((b, nc))
            np.add.at(weight, (np.repeat(np.arange(b), nc), draws.ravel()), 1.0)
            stats.append(stat(weight @ sums, weight @ counts))
        boot = np.concatenate(stats)
        boot = boot[~np.isnan(boot)]
        low, high = (float(x) for x in np.quantile(boot, [alpha / 2, 1 - alpha / 2]))
    return Estimate(value, max(0.0, low), min(1.0, high), n, nc)


def score(results: Sequence[Result], *, ci: str = "bootstrap", n_boot: int = 2000, seed: int = 0,
          level: float = 0.95) -> Report:
    """Aggregate graded results (see the module doc for what counts how).

    ``ci``: ``"bootstrap"`` (percentile cluster bootstrap over videos, ``n_boot`` resamples from ``seed``) or
    ``"normal"`` (cluster-robust standard error, normal approximation).
    """
    if ci not in ("bootstrap", "normal"):
        raise ValueError(f"ci must be 'bootstrap' or 'normal', not {ci!r}")
    opts = {"method": ci, "n_boot": n_boot, "seed": seed, "level": level}
    results = list(results)

    def est(rs: Sequence[Result], values: Sequence[float]) -> Estimate:
        return _estimate(values, [_cluster(r) for r in rs], None, **opts)

    scored = [r for r in results if r.correct is not None]
    acc = [float(r.correct) for r in scored]
    kinds = sorted({k for r in scored for k in _kinds(r)})
    macro = _estimate(acc, [_cluster(r) for r in scored], [[kinds.index(k) for k in _kinds(r)] for r in scored],
                      **opts)
    by_kind = {k: est(rs, [float(r.correct) for r in rs])
               for k in kinds for rs in [[r for r in scored if k in _kinds(r)]]}
    order = [*BUCKETS, ""]
    by_bucket = {b or "unknown": est(rs, [float(r.correct) for r in rs])
                 for b in sorted({r.duration_bucket for r in scored}, key=lambda b: order.index(b) if b in order else 9)
                 for rs in [[r for r in scored if r.duration_bucket == b]]}

    ground = [r for r in results if r.kind == "grounding" and r.evidence]
    ious = [best_iou(r.predicted_span, [e[1:] for e in r.evidence], r.duration) for r in ground]
    grounding = {f"R1@{t}": est(ground, [float(x >= t) for x in ious]) for t in (0.3, 0.5, 0.7)} if ground else {}
    if ground:
        grounding["mIoU"] = est(ground, ious)

    unanswerable = sum(not r.answerable for r in results)
    abstained = sum(r.abstained for r in results)
    right = sum(r.abstained and not r.answerable for r in results)
    precision = right / abstained if abstained else None
    recall = right / unanswerable if unanswerable else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else (
        0.0 if precision is not None and recall is not None else None)
    abstention = {"precision": precision, "recall": recall, "f1": f1, "abstained": abstained,
                  "unanswerable": unanswerable, "abstained_on_unanswerable": right}

    with_evidence = [r for r in results if r.answerable and r.evidence and r.error is None]
    cited = [r for r in with_evidence if r.citations]
    hit = [r for r in cited if any(_overlaps(c, e) for c in r.citations for e in r.evidence)]
    citations = {"accuracy": len(hit) / len(cited) if cited else None,
                 "rate": len(cited) / len(with_evidence) if with_evidence else None,
                 "with_evidence": len(with_evidence), "cited": len(cited), "overlapping": len(hit)}

    cost = {f: {"mean": (sum(getattr(r, f) for r in results) / len(results)) if results else 0.0,
                "total": float(sum(getattr(r, f) for r in results))}
            for f in ("model_calls", "tokens", "frames", "seconds")}
    method = (f"cluster bootstrap over videos ({n_boot} resamples, seed {seed})" if ci == "bootstrap"
              else "cluster-robust normal approximation over videos")
    return Report(len(results), len({r.video for r in results if r.video}),
                  tuple(sorted({r.benchmark for r in results})), tuple(sorted({r.strategy for r in results})),
                  est(scored, acc), macro, by_kind, by_bucket, len(scored),
                  sum(not r.parsed and r.error is None and r.correct is not None for r in results),
                  sum(r.error is not None for r in results),
                  sum(r.correct is None and not (r.kind == "grounding" and r.evidence) for r in results),
                  grounding, sum(not r.parsed and r.error is None for r in ground), abstention, citations, cost,
                  method, level)


def score_by_strategy(results: Sequence[Result], **options: Any) -> dict[str, Report]:
    """One report per ``strategy``, for side-by-side comparison."""
    return {s: score([r for r in results if r.strategy == s], **options)
            for s in sorted({r.strategy for r in results})}


# -- markdown -----------------------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def interval(e: Estimate) -> str:
    """``low–high`` in percent, ``*`` when over questions (too few videos to cluster), ``–`` when none."""
    return f"{_pct(e.low)}–{_pct(e.high)}{'' if e.clustered else '*'}" if e.low is not None else "–"


def _row(name: str, e: Estimate) -> str:
    return f"| {name} | {_pct(e.value)} | {interval(e)} | {e.n} |"


UNCLUSTERED_NOTE = (f"* fewer than {MIN_CLUSTERS} videos behind the number: a Wilson interval over questions, "
                    "which ignores that questions about one video are correlated")
"""What ``*`` after an interval means (reports print it once when any interval has one)."""


def _estimates(report: Report) -> list[Estimate]:
    return [report.accuracy, report.macro_accuracy, *report.by_kind.values(), *report.by_bucket.values(),
            *report.grounding.values()]


def render_markdown(report: Report) -> str:
    """The report as Markdown tables (percentages; intervals at ``report.level``)."""
    lvl = f"{100 * report.level:g}% CI"
    title = " · ".join(x for x in (", ".join(report.benchmarks), ", ".join(s for s in report.strategies if s)) if x)
    note = f" ({UNCLUSTERED_NOTE})" if any(not e.clustered for e in _estimates(report)) else ""
    lines = [f"## Results{': ' + title if title else ''}", "",
             (f"{report.n} questions on {report.videos} videos; intervals: {report.ci}{note}. Micro = pooled over "
              f"questions, macro = mean over {len(report.by_kind)} kinds."), "",
             f"| metric | % | {lvl} | n |", "|---|---|---|---|",
             _row("accuracy (micro)", report.accuracy), _row("accuracy (macro)", report.macro_accuracy),
             "", (f"Unparsed replies (counted wrong): {report.unparsed}. Errors (counted wrong): "
                  f"{report.errors}. Unscored (no ground truth): {report.unscored}.")]
    for title_, table in (("By kind", report.by_kind), ("By duration", report.by_bucket),
                          (("Temporal grounding (IoU, ground truth clipped to the video; "
                            f"{report.grounding_unparsed} replies without a span count as 0)"), report.grounding)):
        if table:
            lines += ["", f"### {title_}", "", f"| | % | {lvl} | n |", "|---|---|---|---|",
                      *(_row(k, e) for k, e in table.items())]
    a = report.abstention
    if a["unanswerable"] or a["abstained"]:
        lines += ["", "### Abstention", "", "| precision | recall | F1 | abstained | unanswerable |",
                  "|---|---|---|---|---|",
                  (f"| {_pct(a['precision'])} | {_pct(a['recall'])} | {_pct(a['f1'])} | {a['abstained']} | "
                   f"{a['unanswerable']} |")]
    c = report.citations
    if c["with_evidence"]:
        lines += ["", "### Citations", "", "| overlap evidence | cited | questions with evidence |", "|---|---|---|",
                  f"| {_pct(c['accuracy'])} | {c['cited']} ({_pct(c['rate'])}) | {c['with_evidence']} |"]
    lines += ["", "### Cost", "", "| | mean per question | total |", "|---|---|---|",
              *(f"| {k.replace('_', ' ')} | {v['mean']:.4g} | {v['total']:.6g} |" for k, v in report.cost.items())]
    return "\n".join(lines) + "\n"


__all__ = ["MIN_CLUSTERS", "UNCLUSTERED_NOTE", "Estimate", "Report", "Result", "best_iou", "extract_choice",
           "extract_span", "grade", "interval", "is_abstention", "match_open", "normalize_answer", "render_markdown",
           "score", "score_by_strategy", "temporal_iou"]
