"""Deterministic scoring: per-question grading (answers read by ``extract``) and the report.

    r = grade(question, "The answer is B.", citations=[("v.mp4", 12.0, 15.0)], model_calls=3, strategy="agent")
    report = score([r, ...])                 # accuracy (micro, macro, by kind, by duration) with 95% CIs ...
    print(render_markdown(report))

Rules, all deterministic (no random fallback, no LLM judge):

- Multiple choice: ``extract.extract_choice`` reads the letter; a reply it cannot read counts as wrong and is
  counted separately (``Report.unparsed``). A system error counts as wrong too (``Report.errors``).
- Open-ended: ``extract.match_open``, a deterministic proxy for the usual GPT judge.
- Unanswerable questions: right when the system abstained ("not in the video", found=False).
- Grounding (``kind == "grounding"``): temporal IoU of the predicted span with the best ground-truth span, both
  clipped to the video's duration; reported as R1@{0.3,0.5,0.7} and mIoU, not in accuracy.
- Confidence intervals: percentile cluster bootstrap over videos (questions about one video are correlated;
  seeded, so the same results give the same interval), or a cluster-robust normal approximation. With fewer
  than ``MIN_CLUSTERS`` videos neither means anything (two videos give three possible resamples), so the
  interval is a Wilson interval over questions instead, marked ``clustered=False`` (and ``*`` in reports).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

from .extract import Citation, Span, best_iou, extract_choice, extract_span, is_abstention, match_open, overlaps
from .questions import BUCKETS, Question


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
    elif not question.answerable and question.options and question.answer:
        correct = choice in (question.extra.get("answers") or [question.answer])  # the "not shown" option
        abstained = correct
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
    hit = [r for r in cited if any(overlaps(c, e) for c in r.citations for e in r.evidence)]
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


__all__ = ["MIN_CLUSTERS", "UNCLUSTERED_NOTE", "Estimate", "Report", "Result", "grade", "interval", "render_markdown",
           "score", "score_by_strategy"]
