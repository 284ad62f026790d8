"""``vidgraph search``: the moments of an indexed folder that best match a query, each with why."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import app, command, echo_json, examples, terminal


@app.command(help="Search the memory of an indexed FOLDER: the moments that best match QUERY, by meaning "
                  "(embeddings), exact words (names, numbers, codes) and links (neighbours, same entity), each "
                  "with why it matched.",
             epilog=examples(("vidgraph search ~/videos \"locker code\"", "the best 5 moments in any video"),
                              ("vidgraph search ~/videos XK-4217 --video talk.mp4", "in one video"),
                              ("vidgraph search ~/videos bus --from 10:00 --to 20:00 --json", "in a time range")))
@command
def search(
    folder: Annotated[Path, typer.Argument(help="An indexed folder of videos.", show_default=False)],
    query: Annotated[str, typer.Argument(help="What to look for.", show_default=False)],
    video: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007
        "--video", "-v", metavar="NAME", help="Only this video (name, path or id); repeat for several.",
        show_default=False)] = None,
    start: Annotated[Optional[str], typer.Option("--from", metavar="TIME", help="Only after this time "  # noqa: UP007
                                                 "(seconds, mm:ss or h:mm:ss).", show_default=False)] = None,
    end: Annotated[Optional[str], typer.Option("--to", metavar="TIME", help="Only before this time.",  # noqa: UP007
                                               show_default=False)] = None,
    k: Annotated[int, typer.Option("--top", "-k", min=1, help="How many moments.")] = 5,
    index_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--index-dir", help="Where the index lives. [default: FOLDER/.vidgraph]", show_default=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
) -> None:
    """Search the memory (help text above)."""
    from rich.text import Text

    from ..errors import StoreError
    from ..library import Library
    from ..records import Span, fmt_time

    span = None
    if start is not None or end is not None:  # a malformed time is a usage error, before anything is opened
        span = Span(_seconds(start) if start else 0.0, _seconds(end) if end else 1e9)
    library = Library(folder, index_dir=index_dir)
    if not library.exists or not library.memory.videos():
        raise StoreError(f"{folder}: no memory yet", f"run: vidgraph index {folder}")
    entries = [library.get(v) for v in video] if video else library.videos()
    names = {e.video_id: e.name for e in library.videos()}
    hits = library.memory.search(query, videos=[e.video_id for e in entries] if video else None, span=span, k=k)
    live = {e.video_id: e.live for e in library.videos() if e.live is not None}
    if json_out:
        echo_json([{"video": names.get(h.video_id, h.video_id), "video_id": h.video_id,
                     "start": h.span.start, "end": h.span.end, "score": h.score, "indexed_until": live.get(h.video_id),
                     "modalities": list(h.modalities), "reasons": list(h.reasons),
                     "evidence": h.event.evidence()} for h in hits])
        return
    console = terminal()
    if not hits:
        console.print(Text("nothing found", style="yellow"))
        raise typer.Exit(1)
    for n, h in enumerate(hits, 1):
        where = f"{names.get(h.video_id, h.video_id)}  {fmt_time(h.span.start)}-{fmt_time(h.span.end)}"
        console.print(Text(f"{n}. {where}", style="bold"), Text(f"  score {h.score:.3f}", style="dim"),
                      soft_wrap=True)
        for key, value in h.event.evidence().items():
            console.print(Text(f"   {key}: {value[:160]}"), soft_wrap=True)
        console.print(Text(f"   why: {'; '.join(h.reasons[:3])}", style="dim"), soft_wrap=True)
    for vid in sorted({h.video_id for h in hits} & set(live)):
        console.print(Text(f"{names.get(vid, vid)} is still being written: searched as indexed up to "
                           f"{fmt_time(live[vid])}", style="yellow"), soft_wrap=True)


def _seconds(text: str) -> float:
    from ..records import parse_time

    try:
        return parse_time(text)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
