"""``vidgraph eval``: answering strategies compared on a benchmark (accuracy, abstention, citations, cost)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import app, command, examples, terminal


@app.command("eval", help="Evaluate answering strategies on a benchmark: every question with every strategy and the "
                          "same models; accuracy (by kind and duration, with 95% intervals clustered by video), "
                          "abstention, citation overlap with the true span, and cost (model calls, tokens, frames "
                          "looked at, seconds). Resumable: answers are cached in OUT/results.jsonl. Writes "
                          "OUT/report.md, OUT/report.json and OUT/accuracy_vs_frames.svg.\n\n"
                          "BENCH is our generated benchmark, haystack[:MINUTES[:SEED]] (long videos with planted "
                          "facts, made once into OUT/haystack), a haystack folder, or an annotation file of MLVU, "
                          "NExT-QA, ActivityNet-QA, Charades-STA, QVHighlights, Video-MME, LVBench, LongVideoBench "
                          "or EgoSchema (format detected) with --videos.",
             epilog=examples(("vidgraph eval haystack:30 --out runs/h30", "30 min of generated video, 4 strategies"),
                              ("vidgraph eval haystack:10 --strategy rag --strategy search --per-kind 2",
                               "two strategies, two questions of each kind"),
                              ("vidgraph eval MLVU/json/1_plotQA.json --videos MLVU/video --limit 50",
                               "a standard benchmark; missing videos are listed and skipped"),
                              ("vidgraph eval haystack:10 --model openai:qwen2.5-7b@http://gpu:8000/v1",
                               "your own model server")))
@command
def eval_(
    bench: Annotated[str, typer.Argument(help="haystack[:MINUTES[:SEED]], a haystack folder, or an annotation file.",
                                         show_default=False)],
    videos: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--videos", help="Folder holding the benchmark's videos (found by id, recursively).",
        show_default=False)] = None,
    strategy: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007
        "--strategy", "-s", help="uniform, rag, search, mapreduce; repeat for several. \\[default: all four]",
        show_default=False)] = None,
    model: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--model", "-m", help="backend:model for every strategy. \\[default: settings.llm]",
        show_default=False)] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the first N questions.",  # noqa: UP007
                                                 show_default=False)] = None,
    per_kind: Annotated[Optional[int], typer.Option(  # noqa: UP007
        "--per-kind", min=1, help="Only the first N questions of each kind.", show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where results and the report go.")] = Path("vidgraph-eval"),
) -> None:
    """Evaluate strategies (help text above)."""
    from rich.text import Text

    from ..agents import STRATEGIES
    from ..errors import ConfigError
    from ..eval.runner import DEFAULT_STRATEGIES, open_benchmark, run_eval

    chosen = tuple(strategy or DEFAULT_STRATEGIES)
    bad = [s for s in chosen if s not in STRATEGIES or s == "auto"]
    if bad:
        raise ConfigError(f"unknown strategy {bad[0]!r}", "choose from: uniform, rag, search, mapreduce")
    console = terminal(stderr=True)
    benchmark = open_benchmark(bench, videos, out)
    if benchmark.missing:
        console.print(Text(f"{len(benchmark.missing)} videos not found under {videos} (their questions are skipped): "
                           + ", ".join(benchmark.missing[:10]) + (" …" if len(benchmark.missing) > 10 else ""),
                           style="yellow"), soft_wrap=True)
    results = run_eval(benchmark, chosen, model, out, limit, per_kind=per_kind)
    if not results:
        raise ConfigError(f"{bench}: no question to answer", "check --videos, --limit and --per-kind")
    terminal().print(Text(f"{len(results)} answers; report: {out / 'report.md'}", style="bold"))
    table = (out / "report.md").read_text().split("\n\n")[2]
    terminal().print(table, markup=False, highlight=False)
