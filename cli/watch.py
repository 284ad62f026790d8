"""``vidgraph watch``: keep a folder's index current while videos arrive, grow, change and go."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .app import app, command, examples, terminal
from .index import _STAGES_HELP


@app.command(help="Index FOLDER now, then whenever its videos appear, change or are deleted (until Ctrl-C).\n\n"
                  "A file is indexed once nothing wrote to it for --settle seconds; a recording still being "
                  "written (MP4 with fragments, MKV, MPEG-TS) is indexed every --chunk seconds as far as it can "
                  "be read, and questions about it are answered on what is indexed so far. Deleted files are "
                  "forgotten. Ctrl-C leaves a consistent index: run index or watch again to go on.",
             epilog=examples(("vidgraph watch ~/recordings", "index what arrives; Ctrl-C to stop"),
                             ("vidgraph watch ~/obs --chunk 30", "a growing recording indexed every 30 s")))
@command
def watch(
    folder: Annotated[Path, typer.Argument(help="Folder of videos (watched recursively).", show_default=False)],
    stages: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007 - typer needs Optional here
        "--stages", "-t", metavar="STAGES", help=_STAGES_HELP, show_default=False)] = None,
    index_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--index-dir", help="Where the index lives. [default: FOLDER/.vidgraph]", show_default=False)] = None,
    settle: Annotated[float, typer.Option("--settle", min=0.1, help="Seconds without a write after which a file "
                                                                  "is finished.")] = 3.0,
    chunk: Annotated[float, typer.Option("--chunk", min=1.0, help="Seconds between the steps over a growing "
                                                                "file.")] = 10.0,
    memory: Annotated[bool, typer.Option("--memory/--no-memory", help="Build the searchable memory after the "
                                                                       "tools.")] = True,
    polling: Annotated[bool, typer.Option("--polling", help="Poll the folder instead of OS events (network "
                                                            "shares).")] = False,
) -> None:
    """Watch a folder (help text above)."""
    from ..index.reporter import RichReporter
    from ..library import Library

    if not folder.is_dir():
        from ..errors import ConfigError

        raise ConfigError(f"{folder}: not a folder", "give the folder of videos to watch")
    console = terminal(stderr=True)
    library = Library(folder, index_dir=index_dir)

    def on_run(report: Any) -> None:
        live = [e for e in library.videos() if e.live is not None]
        if not (report.indexed or report.failures or report.forgotten or live):
            return  # a run that found nothing new
        line = (f"indexed {len(report.indexed)}, failed {len(report.failures)}, forgotten {len(report.forgotten)}"
                + "".join(f"; {e.name}: live, indexed up to {e.live:.0f} s" for e in live))
        console.print(f"[dim]watch ·[/dim] {line}", soft_wrap=True)
        for result in report.failures:
            console.print(f"[red]✗ {result.error}[/red]", soft_wrap=True)

    console.print(f"[dim]watching {folder} (Ctrl-C to stop)[/dim]")
    library.watch(stages or None, settle=settle, chunk=chunk, progress=RichReporter(console), memory=memory,
                  polling=polling, on_run=on_run)
