"""Run strategies over a benchmark and report: ``vidgraph eval BENCH`` (and ``run_eval`` from Python).

    vidgraph eval haystack:30 --out runs/h30                # our benchmark, 30 min of video (generated once)
    vidgraph eval mlvu_dev.json --videos ~/MLVU/video --limit 50

Every (question, strategy) answer is appended to ``results.jsonl`` as soon as it is graded (the whole answer, with
its trace, goes to ``answers/<question>.<strategy>.json``), so a stopped run resumes where it stopped; the same
models answer for every strategy. The report (``report.md``) puts the strategies side by side — accuracy,
abstention, citation overlap, frames looked at, model calls, seconds — then each strategy's full tables;
``accuracy_vs_frames.svg`` plots accuracy against frames looked at per question.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, VidgraphError
from .questions import Question, resolve_videos
from .scoring import UNCLUSTERED_NOTE, Report, Result, grade, interval, render_markdown, score_by_strategy

DEFAULT_STRATEGIES = ("uniform", "rag", "search", "mapreduce")


@dataclass(frozen=True)
class Benchmark:
    """Questions and the folder that holds their videos (one library)."""

    name: str
    questions: tuple[Question, ...]
    folder: Path
    files: dict[str, str]
    """Benchmark video id -> file name relative to ``folder``."""
    missing: tuple[str, ...] = ()


def open_benchmark(spec: str, videos: str | Path | None, out: Path) -> Benchmark:
    """``haystack[:MINUTES[:SEED]]`` (generated into ``out/haystack``: two videos of MINUTES/2, or one below 10
    minutes), a haystack folder, or an annotation file (videos resolved under ``videos``)."""
    from .loaders import load_benchmark, load_haystack

    if spec.startswith("haystack") and not Path(spec).exists():
        from .haystack import make_haystack

        parts = spec.split(":")
        try:
            minutes = float(parts[1]) if len(parts) > 1 else 1.5
            seed = int(parts[2]) if len(parts) > 2 else 0
        except ValueError:
            raise ConfigError(f"{spec!r} is not haystack[:MINUTES[:SEED]]", "e.g. haystack:30 or haystack:10:1")
        n = 2 if minutes >= 10 else 1
        hay = make_haystack(out / "haystack", minutes / n, seed=seed, videos=n)
        return _haystack(spec, load_haystack(hay), Path(hay.root))
    path = Path(spec).expanduser()
    if path.is_dir() and (path / "haystack.json").is_file():
        return _haystack(path.name, load_haystack(path), path)
    questions = load_benchmark(path)
    if videos is None:
        raise ConfigError(f"{spec}: where are its videos?", "pass --videos DIR (the folder that holds them)")
    found, missing = resolve_videos(questions, videos)
    link_dir = out / "videos"
    link_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for vid, file in found.items():  # only the videos asked about are indexed: link them into one folder
        link = link_dir / file.name
        if not link.exists():
            os.symlink(file.resolve(), link)
        files[vid] = link.name
    return Benchmark(path.name, tuple(questions), link_dir, files, tuple(missing))


def _haystack(name: str, questions: list[Question], root: Path) -> Benchmark:
    names = {q.video for q in questions if q.video} | {v for q in questions for v in q.extra.get("videos", [])}
    return Benchmark(name, tuple(questions), root, {n: n for n in names})


def _key(q: Question, strategy: str, model: str) -> str:
    return f"{q.benchmark}|{q.id}|{strategy}|{model}"


def run_eval(bench: Benchmark, strategies: Sequence[str] = DEFAULT_STRATEGIES, model: Any = None,
             out: str | Path = "eval-run", limit: int | None = None, kinds: Sequence[str] | None = None,
             per_kind: int | None = None,
             budget: Any = None, settings: Any = None, progress: bool = True,
             on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Answer every question with every strategy (cached in ``out/results.jsonl``) and write the report.

    ``kinds``: only these question kinds; ``per_kind``: the first N of each kind; ``limit``: the first N questions.
    """
    from ..library import Library
    from ..models import resolve_model

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lib = Library(bench.folder, index_dir=out / "index" if bench.folder.name == "videos" else None,
                  settings=settings)
    chat = resolve_model(model, lib.settings)
    questions = [q for q in bench.questions if (not kinds or q.kind in kinds)
                 and all(v in bench.files for v in (q.videos or ()))]
    if per_kind:  # the first N questions of each kind, taken round-robin (a partial run covers every kind)
        rank: dict[str, int] = {}
        ranked = []
        for n, q in enumerate(questions):
            rank[q.kind] = rank.get(q.kind, 0) + 1
            if rank[q.kind] <= per_kind:
                ranked.append((rank[q.kind], n, q))
        questions = [q for _, _, q in sorted(ranked, key=lambda t: t[:2])]
    questions = questions[:limit] if limit else questions
    results_path = out / "results.jsonl"
    done: dict[str, Result] = {}
    if results_path.is_file():
        for line in results_path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                key = row.pop("key")
                done[key] = Result.from_dict(row)
    todo = [(q, s) for q in questions for s in strategies if _key(q, s, chat.spec) not in done]
    if todo:
        lib.index(progress=progress)
    results = [done[k] for q in questions for s in strategies if (k := _key(q, s, chat.spec)) in done]
    bar = _bar(progress, len(todo))
    with bar as update, results_path.open("a") as sink:
        for q, strategy in todo:
            r = _answer(lib, q, strategy, chat, bench, budget, out / "answers" / f"{q.id}.{strategy}.json")
            sink.write(json.dumps({"key": _key(q, strategy, chat.spec), **r.to_dict()}) + "\n")
            sink.flush()
            results.append(r)
            if on_result:
                on_result(r)
            update(f"{strategy}: {q.id} {'✓' if r.correct else '✗' if r.correct is False else '·'}")
    write_report(results, out, bench, chat.spec)
    return results


def _answer(lib: Any, q: Question, strategy: str, chat: Any, bench: Benchmark, budget: Any, keep: Path) -> Result:
    """Ask, keep the whole Answer (trace included) in ``keep``, and grade it."""
    scope = [bench.files[v] for v in q.videos]
    start = time.perf_counter()
    try:
        a = lib.ask(q.question, list(q.options) or None, strategy, chat, scope or None, budget, index=False,
                    progress=False)
    except VidgraphError as e:
        return grade(q, strategy=strategy, error=e.message, seconds=time.perf_counter() - start)
    keep.parent.mkdir(parents=True, exist_ok=True)
    keep.write_text(json.dumps(a.to_dict(), ensure_ascii=False))
    span = None
    if q.kind == "grounding" and a.citations:
        span = (a.citations[0].span.start, a.citations[0].span.end)
    return grade(q, a.text, choice=a.choice, abstained=not a.found and a.choice is None, span=span,
                 citations=[(c.video, c.span.start, c.span.end) for c in a.citations], model_calls=a.cost.model_calls,
                 tokens=a.cost.tokens, frames=a.cost.frames, seconds=a.cost.seconds, strategy=strategy)


class _bar:
    def __init__(self, show: bool, total: int) -> None:
        self.show, self.total = show, total

    def __enter__(self) -> Callable[[str], None]:
        if not self.show or not self.total:
            return lambda text: None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("answering"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                 TextColumn("{task.description}"))
        self.progress.__enter__()
        task = self.progress.add_task("", total=self.total)
        return lambda text: self.progress.update(task, advance=1, description=text)

    def __exit__(self, *exc: Any) -> None:
        if self.show and self.total:
            self.progress.__exit__(*exc)


def write_report(results: Sequence[Result], out: Path, bench: Benchmark, model: str) -> dict[str, Report]:
    reports = score_by_strategy(results) if results else {}
    lines = [f"# vidgraph eval: {bench.name}", "",
             f"{len({r.question_id for r in results})} questions, model `{model}`, strategies "
             f"{', '.join(reports) or '–'}. Every strategy answers with the same models and budget.", ""]
    if bench.missing:
        lines += [f"**{len(bench.missing)} videos missing (their questions skipped):** "
                  + ", ".join(bench.missing[:20]) + (" …" if len(bench.missing) > 20 else ""), ""]
    lines += ["| strategy | accuracy % (95% CI) | abstention P / R | citations overlap % | frames / q | "
              "model calls / q | tokens / q | s / q |", "|---|---|---|---|---|---|---|---|"]
    for name, r in reports.items():
        acc = r.accuracy
        ci = f" ({interval(acc)})" if acc.low is not None else ""
        lines.append(f"| {name} | {_p(acc.value)}{ci} | {_p(r.abstention['precision'])} / "
                     f"{_p(r.abstention['recall'])} | {_p(r.citations['accuracy'])} | "
                     f"{r.cost['frames']['mean']:.1f} | {r.cost['model_calls']['mean']:.1f} | "
                     f"{r.cost['tokens']['mean']:.0f} | {r.cost['seconds']['mean']:.1f} |")
    if any(not r.accuracy.clustered for r in reports.values()):
        lines += ["", "\\" + UNCLUSTERED_NOTE + "."]
    kinds = sorted({k for r in reports.values() for k in r.by_kind})
    if kinds:
        lines += ["", "## Accuracy by kind (%)", "", "| kind | " + " | ".join(reports) + " |",
                  "|---|" + "---|" * len(reports)]
        for k in kinds:
            cells = [f"{_p(r.by_kind[k].value)} ({r.by_kind[k].n})" if k in r.by_kind else "–"
                     for r in reports.values()]
            lines.append(f"| {k} | " + " | ".join(cells) + " |")
    lines += ["", "![accuracy vs frames](accuracy_vs_frames.svg)", ""]
    for name, r in reports.items():
        lines += [render_markdown(r).replace("## Results", f"## {name}", 1)]
    (out / "report.md").write_text("\n".join(lines))
    (out / "accuracy_vs_frames.svg").write_text(plot_svg(reports))
    (out / "report.json").write_text(json.dumps({k: v.to_dict() for k, v in reports.items()}, indent=1,
                                                default=str))
    return reports


def _p(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def plot_svg(reports: dict[str, Report], width: int = 520, height: int = 340) -> str:
    """Accuracy (y) against mean frames looked at per question (x), one labelled point per strategy."""
    pts = [(n, r.cost["frames"]["mean"], r.accuracy.value or 0.0, r.accuracy.low, r.accuracy.high)
           for n, r in reports.items()]
    left, bottom, right, top = 60, height - 50, width - 20, 20
    xmax = max([p[1] for p in pts] + [1.0]) * 1.15
    sx = lambda x: left + (right - left) * x / xmax  # noqa: E731
    sy = lambda y: bottom - (bottom - top) * y  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">', f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{bottom}" x2="{left}" y2="{top}" stroke="black"/>',
           f'<text x="{(left + right) / 2}" y="{height - 12}" text-anchor="middle">frames looked at per question'
           f'</text>', f'<text x="14" y="{(top + bottom) / 2}" transform="rotate(-90 14 {(top + bottom) / 2})" '
           f'text-anchor="middle">accuracy</text>']
    for y in (0, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<text x="{left - 6}" y="{sy(y) + 4}" text-anchor="end">{y:.2f}</text>'
                   f'<line x1="{left}" y1="{sy(y)}" x2="{right}" y2="{sy(y)}" stroke="#eee"/>')
    for i in range(5):
        x = xmax * i / 4
        out.append(f'<text x="{sx(x)}" y="{bottom + 16}" text-anchor="middle">{x:.0f}</text>')
    colours = ["#2563eb", "#d97706", "#059669", "#b91c1c", "#7c3aed", "#374151"]
    for n, (name, x, y, lo, hi) in enumerate(pts):
        c = colours[n % len(colours)]
        if lo is not None and hi is not None:
            out.append(f'<line x1="{sx(x)}" y1="{sy(lo)}" x2="{sx(x)}" y2="{sy(hi)}" stroke="{c}"/>')
        out.append(f'<circle cx="{sx(x)}" cy="{sy(y)}" r="5" fill="{c}"/>'
                   f'<text x="{sx(x) + 8}" y="{sy(y) - 6}" fill="{c}">{name}</text>')
    return "\n".join(out + ["</svg>"])
