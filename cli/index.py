"""``vidgraph index``: index every new or changed video of a folder, with progress, then print the report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .app import app, command, examples, show, terminal


_STAGES_HELP = ("Stages to run, comma-separated: probe, scan, asr, speakers, names, ocr, detect, tags (--tools is the "
                "old name of this flag). [default: scan,asr,speakers,names,ocr,detect,tags; speakers and names only "
                "where the speakers extra is installed]")
_RAY_HELP = ("Run videos as Ray tasks: 'auto' (a running cluster), 'host:port', or 'local' (start one for this "
             "run). The index must be on storage every node sees.")


@app.command(help="Index every new or changed video in FOLDER; skip what is done; forget deleted videos.\n\n"
                  "Safe to interrupt (even kill -9) and run again: finished stages are kept. Exits 1 if any file "
                  "failed, with one line per failed file: the file, the problem, what to do.",
             epilog=examples(("vidgraph index ~/videos",
                              "default stages: scan, asr, speakers, names, ocr, detect, tags; then memory"),
                              ("vidgraph index ~/videos --caption", "also caption every clip (slow on CPU)"),
                              ("vidgraph index ~/videos --stages scan,asr -j 2", "two videos at a time"),
                              ("vidgraph index /data/videos --ray auto", "as Ray tasks on a running cluster")))
@command
def index(
    folder: Annotated[Path, typer.Argument(help="Folder of videos (searched recursively).", show_default=False)],
    stages: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007 - typer needs Optional here
        "--stages", "--tools", "-t", metavar="STAGES", help=_STAGES_HELP, show_default=False)] = None,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", min=1, help="Videos indexed in parallel processes; each uses cores // jobs threads.")] = 1,
    ray: Annotated[Optional[str], typer.Option("--ray", metavar="ADDRESS", help=_RAY_HELP)] = None,  # noqa: UP007
    index_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--index-dir", help="Where the index lives. [default: FOLDER/.vidgraph]", show_default=False)] = None,
    wait: Annotated[Optional[float], typer.Option(  # noqa: UP007
        "--wait", metavar="SECONDS", help="If another index runs on this folder, wait at most this long "
                                          "(default: until it ends).")] = None,
    retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Run stages that failed before again.")] = False,
    caption: Annotated[bool, typer.Option(
        "--caption", help="Caption every clip with the model while building the memory (seconds per clip on a "
                          "CPU; without it, events are composed from speech, text and objects and the agents "
                          "caption the clips they look at).")] = False,
    model: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--model", "-m", metavar="BACKEND:MODEL", help="Captioning model for --caption, e.g. "
        "openai:qwen2.5-vl-7b@http://gpu:8000/v1. [default: settings vlm, else llm]", show_default=False)] = None,
    memory: Annotated[bool, typer.Option("--memory/--no-memory", help="Build the searchable memory after the "
                                                                       "tools.")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead of a table.")] = False,
) -> None:
    """Index a folder (help text above)."""
    from ..config import load_settings
    from ..index.reporter import RichReporter
    from ..library import Library

    settings = load_settings(caption=caption or None, vlm=model)
    library = Library(folder, index_dir=index_dir, settings=settings)
    report = library.index(stages or None, jobs=jobs, ray=ray, progress=RichReporter(terminal(stderr=True)),
                           wait=wait, retry_failed=retry_failed, memory=memory)
    show(report, _print_report, json_out, 0 if report.ok else 1)


def _print_report(report: Any, console: Any) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ..records import fmt_time

    indexed, skipped, failed = len(report.indexed), len(report.skipped), len(report.failures)
    how = {"serial": "1 process", "processes": f"{report.jobs} processes", "ray": "Ray tasks"}[report.backend]
    console.print(Text(f"vidgraph index · {report.folder}", style="italic"), soft_wrap=True)
    table = Table(box=box.SIMPLE, show_header=False)
    table.add_column(style="bold")
    table.add_column()
    details = f"{indexed} indexed now, {skipped} already done, {failed} failed" + (
        f", {len(report.forgotten)} deleted and forgotten" if report.forgotten else "")
    table.add_row("files", f"{report.videos}  ({details})")
    table.add_row("hours", f"{report.hours:.2f}  ({fmt_time(report.hours * 3600)} of video)")
    table.add_row("stages", ", ".join(report.stages))
    table.add_row("failures", Text(str(failed), style="red" if failed else "green"))
    table.add_row("time", f"{report.seconds:.1f} s  ({how})")
    console.print(table)
    for result in report.failures:
        console.print(Text(f"✗ {result.error}", style="red"), soft_wrap=True)
