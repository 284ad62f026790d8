"""``vidgraph clip``: cut a moment of an indexed video into an mp4 (or webm) file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import app, command, examples, terminal


@app.command(help="Cut START-END of VIDEO (a name, path or id in FOLDER's index) into a clip: H.264/AAC mp4 that "
                  "plays everywhere (or VP9/Opus webm by the extension of -o), frame-accurate. Times are seconds, "
                  "mm:ss or h:mm:ss.",
             epilog=examples(("vidgraph clip ~/videos talk.mp4 1:02 1:15 -o moment.mp4", "13 s of talk.mp4"),
                              ("vidgraph clip ~/videos talk.mp4 62 75 -o moment.webm", "as webm")))
@command
def clip(
    folder: Annotated[Path, typer.Argument(help="An indexed folder of videos.", show_default=False)],
    video: Annotated[str, typer.Argument(help="The video: name, path or id.", show_default=False)],
    start: Annotated[str, typer.Argument(help="Start time.", show_default=False)],
    end: Annotated[str, typer.Argument(help="End time.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="The clip file (.mp4 or .webm).")] = Path("clip.mp4"),
    width: Annotated[Optional[int], typer.Option(  # noqa: UP007
        "--width", min=16, help="At most this many pixels wide. \\[default: the video's size]",
        show_default=False)] = None,
    index_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--index-dir", help="Where the index lives. \\[default: FOLDER/.vidgraph]", show_default=False)] = None,
) -> None:
    """Cut a clip (help text above)."""
    from ..errors import ConfigError, StoreError
    from ..library import Library
    from ..records import Span, fmt_span, parse_time
    from ..tools.clips import cut_clip
    from ..tools.decode import probe

    try:
        span = Span(parse_time(start), parse_time(end))
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("mp4", "webm"):
        raise ConfigError(f"{out}: a clip is .mp4 or .webm", "name the output file.mp4 or file.webm")
    library = Library(folder, index_dir=index_dir)
    entry = library.get(video)
    if not span.end > span.start or span.start >= entry.duration:
        raise ConfigError(f"{start}-{end} is not a span inside {entry.name} (0-{entry.duration:.1f} s)",
                          "give START < END within the video")
    src = library.file(entry)
    if src is None:
        raise StoreError(f"{entry.name}: its file is not in {library.folder}", "put the file back, or index again")
    cut_clip(src, Span(span.start, min(span.end, entry.duration)), out, fmt, width)
    got = probe(out)
    terminal().print(f"{out}  {entry.name} {fmt_span(span)}  {got.duration:.2f} s  {got.width}x{got.height} "
                     f"{got.video_codec}/{got.audio_codec or '-'}", soft_wrap=True, highlight=False)
