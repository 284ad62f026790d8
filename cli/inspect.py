"""``vidgraph inspect``: the videos of a folder and their stages, or what the index knows about one video."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .app import app, command, echo_json, examples, terminal


class Section(str, Enum):
    """What one stage's records are called here; the stage's own name is accepted too (``asr`` = ``transcript``)."""

    shots = "shots"
    transcript = "transcript"
    speakers = "speakers"
    text = "text"
    objects = "objects"
    tags = "tags"
    events = "events"
    entities = "entities"
    scan = "scan"
    asr = "asr"
    ocr = "ocr"
    detect = "detect"
    memory = "memory"


_MEMORY_SECTIONS = ("events", "entities")
_SECTIONS = {"shots": ("scan", ("Shot",)), "transcript": ("asr", ("TranscriptSegment",)),
             "speakers": ("speakers", ("Speaker", "SpeakerTurn")), "text": ("ocr", ("TextLine",)),
             "objects": ("detect", ("ObjectSpan", "Detection")),
             "tags": ("tags", ("FrameTags",))}
_BY_STAGE = {"scan": "shots", "asr": "transcript", "ocr": "text", "detect": "objects", "memory": "events"}


@app.command("inspect", epilog=examples(
    ("vidgraph inspect ~/videos", "every video, status per stage"),
    ("vidgraph inspect ~/videos/talk.mp4 transcript", "timestamped speech, with speakers"),
    ("vidgraph inspect ~/videos/talk.mp4 speakers", "voices: talk time, names and their evidence"),
    ("vidgraph inspect talk.mp4 shots --json", "by name, in the library here")))
@command
def inspect_cmd(
    target: Annotated[str, typer.Argument(metavar="VIDEO_OR_FOLDER", show_default=False,
                                          help="An indexed folder, or a video: path, file name, or id.")],
    section: Annotated[Optional[Section], typer.Argument(  # noqa: UP007
        help="Only this part: shots (the scan stage), transcript (asr, with who speaks when speakers is indexed), "
             "speakers (voices, talk time, names), text (ocr: on screen), objects (detect), tags, or from the "
             "memory: events, entities.", show_default=False)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the records as JSON (to_dict()).")] = False,
    library_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--library", "-l", help="The library folder, when VIDEO is a name. [default: the folder above VIDEO, or "
                                "the current one]", show_default=False)] = None,
    index_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--index-dir", help="Where the index lives. [default: LIBRARY/.vidgraph]", show_default=False)] = None,
) -> None:
    """Print what the index knows about a video (timestamped), or list the videos of a folder."""
    from ..library import Library

    path = Path(target).expanduser()
    if path.is_dir() and library_dir is None:
        library = Library(path, index_dir=index_dir)
        if not library.exists:
            from ..errors import StoreError

            raise StoreError(f"{path}: not indexed yet", f"run: vidgraph index {path}")
        if section is not None:
            raise typer.BadParameter("sections are for one video; give a video, not a folder")
        _inspect_folder(library, json_out)
        return
    library = Library(library_dir or _find_library(path, index_dir), index_dir=index_dir)
    if not library.exists:
        from ..errors import StoreError

        raise StoreError(f"{library.folder}: not indexed yet", f"run: vidgraph index {library.folder}")
    entry = library.get(target)
    name = section.value if section else None
    _inspect_video(library, entry, _BY_STAGE.get(name, name) if name else None, json_out)


def _find_library(path: Path, index_dir: Path | None) -> Path:
    """The nearest folder above ``path`` (or the current folder) that has an index."""
    from ..index.discovery import INDEX_DIR_NAME

    start = path.absolute().parent.resolve() if path.exists() or path.is_symlink() else Path.cwd()
    if index_dir is not None:
        return start
    for folder in (start, *start.parents):
        if (folder / INDEX_DIR_NAME / "catalog.sqlite").is_file():
            return folder
    from ..errors import StoreError

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

    from ..records import fmt_time

    videos, problems = library.videos(), library.problems()
    if json_out:
        echo_json({"folder": str(library.folder), "videos": [v.to_dict() for v in videos],
                    "problems": [p.to_dict() for p in problems]})
        return
    order = ["scan", "asr", "speakers", "ocr", "detect", "tags"]
    caps = [c for c in order if any(v.stage(c) for v in videos)]
    caps += sorted({s.stage for v in videos for s in v.stages} - set(caps))
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
    console = terminal()
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
            from ..errors import StoreError

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
            found[name] = (f"not indexed (run: vidgraph index {library.folder} --stages {cap})" if stage is None
                           else f"failed: {stage.error}")
            continue
        found[name] = [r for r in library.records(entry, cap) if r.type_name in types]
        if name == "objects" and any(r.type_name == "ObjectSpan" for r in found[name]):
            found[name] = [r for r in found[name] if r.type_name == "ObjectSpan"]
    if "transcript" in found or "speakers" in found:
        _add_speakers(library, entry, found)
    if json_out:
        if section:
            data: Any = [_as_dict(r) for r in found[section]]  # type: ignore[union-attr]
        else:
            data = {"video": entry.to_dict(),
                    **{k: (v if isinstance(v, str) else [_as_dict(r) for r in v]) for k, v in found.items()}}
        echo_json(data)
        return
    console = terminal()
    if not section:
        _print_header(entry, console)
    for name, value in found.items():
        _print_section(name, value, console, header=not section)


def _done(entry: Any, cap: str) -> bool:
    stage = entry.stage(cap)
    return stage is not None and stage.status == "done"


def _add_speakers(library: Any, entry: Any, found: dict[str, Any]) -> None:
    """Transcript lines labelled with their speaker (split where it changes); speakers with their names."""
    from ..tools.speaker_names import name_speakers
    from ..tools.speakers import label_segments, link_speakers, speakers_of, turns_of

    if not _done(entry, "speakers"):
        return
    records = library.records(entry, "speakers")
    turns = turns_of(records)
    asr = library.records(entry, "asr") if _done(entry, "asr") else []
    ocr = library.records(entry, "ocr") if _done(entry, "ocr") else []
    heard = library.records(entry, "names") if _done(entry, "names") else []
    names = {n.speaker: n for n in name_speakers(turns, asr, ocr, heard=heard)}
    if isinstance(found.get("transcript"), list):
        found["transcript"] = [_Said(seg, label, names.get(label or "")) for label, seg in
                               label_segments(found["transcript"], turns)]
    if isinstance(found.get("speakers"), list):
        links: dict[str, list[str]] = {}
        threshold = library.settings.speaker_link_threshold
        if threshold is not None:
            mine = speakers_of(records)
            others = [r for v in library.videos() if v.video_id != entry.video_id and _done(v, "speakers")
                      for r in speakers_of(library.records(v, "speakers"))]
            by_id = {v.video_id: v.name for v in library.videos()}
            for link in link_speakers(mine + others, threshold):
                a, b = (link.a, link.b) if link.a.video_id == entry.video_id else (link.b, link.a)
                if a.video_id == entry.video_id and b.video_id != entry.video_id:
                    links.setdefault(a.speaker, []).append(f"{by_id.get(b.video_id, b.video_id)} {b.speaker} "
                                                           f"({link.similarity:.2f})")
        found["speakers"] = [_Voice(r, names.get(r.speaker), links.get(r.speaker, [])) for r in records
                             if r.type_name == "Speaker"]


class _Said:
    """A transcript segment (or the piece of one) with its speaker and the speaker's name."""

    type_name = "Said"

    def __init__(self, segment: Any, speaker: str | None, name: Any) -> None:
        self.segment, self.speaker, self.name = segment, speaker, name

    def to_dict(self) -> dict[str, Any]:
        return {**self.segment.to_dict(), "speaker": self.speaker, "name": self.name.name if self.name else None}


class _Voice:
    type_name = "Voice"

    def __init__(self, speaker: Any, name: Any, links: list[str]) -> None:
        self.speaker, self.name, self.links = speaker, name, links

    def to_dict(self) -> dict[str, Any]:
        out = self.speaker.to_dict()
        out.pop("embedding", None)
        return {**out, "name": self.name.to_dict() if self.name else None, "same_voice_as": self.links}


def _as_dict(r: Any) -> dict[str, Any]:
    return r.to_dict()


def _print_header(entry: Any, console: Any) -> None:
    from rich.text import Text

    from ..records import fmt_time

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
        console.print(Text("  "), mark, Text(f" {s.stage:<7} {note}"), soft_wrap=True)


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
    from ..records import fmt_time

    span = getattr(r, "span", None)
    when = str(span) if span is not None else fmt_time(getattr(r, "t", 0))
    kind = r.type_name
    if kind == "Shot":
        return f"{when}  shot {r.index} ({span.duration:.1f} s)"
    if kind == "TranscriptSegment":
        return f"{when}  {r.text.strip()}"
    if kind == "Said":
        who = r.name.name if r.name else (r.speaker or "?")
        return f"{r.segment.span}  {who}  {r.segment.text.strip()}"
    if kind == "Voice":
        sp = r.speaker
        line = f"{sp.speaker}  {sp.talk_seconds:.1f} s in {sp.turns} turn{'s' * (sp.turns != 1)}"
        if r.name:
            ev = r.name.evidence[0]
            line += (f"  {r.name.name} ({r.name.confidence:.2f}; {ev.rule} at {fmt_time(ev.span.start)}: "
                     f"{ev.text!r}" + (f" +{len(r.name.evidence) - 1} more" if len(r.name.evidence) > 1 else "") + ")")
        if r.links:
            line += "  same voice as " + ", ".join(r.links)
        return line
    if kind == "SpeakerTurn":
        return f"{when}  {r.speaker}"
    if kind == "TextLine":
        return f"{when}  {r.text}  ({r.score:.2f})"
    if kind == "ObjectSpan":
        return f"{when}  {r.label} ×{r.max_count}  ({r.score:.2f})"
    if kind == "Detection":
        return f"{when}  {r.label}  ({r.score:.2f})"
    if kind == "FrameTags":
        return f"{when}  " + ", ".join(f"{name} {p:.2f}" for name, p in r.tags)
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
