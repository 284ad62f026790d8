"""The library as an MCP server (the official SDK, 2.x): tools another agent calls to search, read and look at the
videos, and to ask the library's own agents.

    vidgraph mcp ~/videos                 # stdio (Claude Desktop, Claude Code, any MCP client)
    vidgraph serve ~/videos               # the same tools over streamable HTTP at http://127.0.0.1:8765/mcp

Every moment in a result carries ``video`` (the id to pass back), ``start`` and ``end`` in seconds; ``look``
returns the frames themselves as JPEG images, each followed by its timestamp. A video argument takes the id, a
name (path in the folder), a file name or a stem.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from ..errors import VidgraphError
from ..records import Span
from .jobs import QueueFull
from .service import NotFound

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from .service import Service

INSTRUCTIONS = """Tools over an indexed folder of videos (speech with word times, on-screen text, objects, shots).
Start with list_videos or search_moments; read what is said and shown in a span with read or transcript; look at
frames with look; count, locate, order and find occurrences exactly with the query tools; ask runs vidgraph's own
agents and answers with cited moments. Times are seconds; `video` is the id returned by list_videos."""

Modality = Literal["speech", "text", "objects", "any"]


class Moment(BaseModel):
    video: str = Field(description="The video's id (pass it back to other tools).")
    name: str = Field(description="The video's file, relative to the library folder.")
    start: float
    end: float


class VideoInfo(Moment):
    duration: float
    status: str
    stages: dict[str, str]


class Videos(BaseModel):
    videos: list[VideoInfo]


class Hit(Moment):
    score: float
    evidence: dict[str, str] = Field(description="What is said, shown, detected there, by modality.")
    reasons: list[str] = Field(description="Why it matched.")


class Hits(BaseModel):
    moments: list[Hit]


class Line(Moment):
    modality: str
    text: str


class Lines(BaseModel):
    lines: list[Line]


class Shots(BaseModel):
    shots: list[Moment]


class Found(Moment):
    modality: str
    text: str
    context: str = ""
    score: float = 1.0
    speaker: str = Field("", description="Who says it (speech, when the speakers stage ran): a name or a label.")


class ToolResult(BaseModel):
    tool: str
    value: Any = Field(description="What the tool computed: a count, a span, an order, a number of lines.")
    summary: str
    found: list[Found] = Field(description="The evidence it rests on, each a moment.")


class Cited(Moment):
    modality: str
    evidence: str


class AnswerOut(BaseModel):
    question: str
    text: str
    found: bool = Field(description="False when the agents abstained (nothing in the videos supports an answer).")
    choice: str | None = None
    confidence: float
    citations: list[Cited]
    strategy: str
    model: str
    model_calls: int
    seconds: float


def _errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """vidgraph's errors reach the client as their one line (only ``ToolError`` text does)."""
    from mcp.server.mcpserver.exceptions import ToolError

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (NotFound, QueueFull) as e:
            raise ToolError(str(e)) from None
        except VidgraphError as e:
            raise ToolError(" ".join(str(e).split())) from None

    return wrapper


def build_mcp(service: Service) -> MCPServer:
    """An ``MCPServer`` over ``service`` (build one per app: its session manager runs once)."""
    from mcp.server.mcpserver import Image, MCPServer
    from mcp_types import ToolAnnotations

    mcp = MCPServer("vidgraph", instructions=INSTRUCTIONS, log_level="WARNING")
    ro = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    def tool(fn: Callable[..., Any]) -> Callable[..., Any]:
        return mcp.tool(annotations=ro)(_errors(fn))

    def names() -> dict[str, str]:
        return service.names()

    def moment(video_id: str, span: Span) -> dict[str, Any]:
        return {"video": video_id, "name": names().get(video_id, video_id), "start": round(span.start, 3),
                "end": round(span.end, 3)}

    def video_id(video: str) -> str:
        return service.find(video).video_id

    def result(r: Any) -> ToolResult:
        value = r.value.to_dict() if hasattr(r.value, "to_dict") else r.value
        return ToolResult(tool=r.tool, value=value, summary=r.summary, found=[
            Found(**moment(f.video_id, f.span), modality=f.modality, text=f.text, context=f.context, score=f.score,
                  speaker=f.speaker)
            for f in r.found])

    @tool
    def list_videos(contains: str = "") -> Videos:
        """The videos of the library (optionally only names containing `contains`): id, name, duration, stages."""
        out = []
        for e in sorted(service.entries().values(), key=lambda e: e.name):
            if contains.lower() in e.name.lower():
                out.append(VideoInfo(**moment(e.video_id, Span(0.0, e.duration)), duration=e.duration,
                                     status=e.status, stages={s.stage: s.status for s in e.stages}))
        return Videos(videos=out)

    @tool
    def search_moments(query: str, videos: list[str] | None = None, start: float | None = None,
                       end: float | None = None, k: int = 5) -> Hits:
        """The moments that best match `query` (by meaning, exact words and links), each with its evidence and why
        it matched. Optionally only in `videos` and between `start` and `end` seconds."""
        span = Span(start or 0.0, end if end is not None else 1e12) if start is not None or end is not None else None
        hits = service.search(query, videos, span, max(1, min(int(k), 50)))
        return Hits(moments=[Hit(**moment(h["video_id"], Span(h["start"], h["end"])), score=h["score"],
                                 evidence=h["evidence"], reasons=h["reasons"]) for h in hits])

    @tool
    def transcript(video: str, start: float = 0.0, end: float | None = None) -> Lines:
        """What is said in a video between `start` and `end` seconds (default: all of it), segment by segment."""
        entry = service.find(video)
        stop = entry.duration if end is None else end
        view = service.index_view(entry, ["transcript"])
        return Lines(lines=[Line(**moment(entry.video_id, Span(s["start"], s["end"])), modality="speech",
                                 text=s["text"])
                            for s in view["transcript"] if s["end"] >= start and s["start"] <= stop])

    @tool
    def list_shots(video: str) -> Shots:
        """The shots (camera cuts) of a video, in order."""
        entry = service.find(video)
        view = service.index_view(entry, ["shots"])
        return Shots(shots=[Moment(**moment(entry.video_id, Span(s["start"], s["end"]))) for s in view["shots"]])

    @mcp.tool(annotations=ro, structured_output=False)  # images and their times, not JSON
    @_errors
    def look(video: str, start: float, end: float, frames: int = 4, width: int = 640) -> list[Any]:
        """Look at a span: `frames` frames (1-8) evenly spread between `start` and `end` seconds, as JPEG images,
        each followed by its video id and timestamp."""
        entry = service.find(video)
        out: list[Any] = []
        for f in service.media.frames(entry, Span(start, max(start, end)), max(1, min(int(frames), 8)),
                                      max(64, min(int(width), 1280))):
            with open(f.path, "rb") as fh:
                out.append(Image(data=fh.read(), format="jpeg"))
            out.append(f"video={entry.video_id} name={entry.name} t={f.t:.3f}s (start={f.t:.3f}, end={f.t:.3f})")
        return out

    @tool
    def find(query: str, modality: Modality = "any", video: str | None = None,
             videos: list[str] | None = None) -> ToolResult:
        """Every occurrence of a word, phrase, on-screen text or object label, in time order (speech at word
        level); exact, then fuzzy, then by meaning."""
        return result(service.query(videos).find(query, modality, video_id(video) if video else None))

    @tool
    def count(query: str, modality: Modality = "any", video: str | None = None,
              videos: list[str] | None = None) -> ToolResult:
        """How many distinct times something is said or shown (a caption still on screen counts once); "shots"
        counts shots, "videos" the videos."""
        return result(service.query(videos).count(query, modality, video_id(video) if video else None))

    @tool
    def locate(query: str, occurrence: int = 1, modality: Modality = "any", video: str | None = None,
               videos: list[str] | None = None) -> ToolResult:
        """The span of the `occurrence`-th time (1 = first, -1 = last) something is said or shown."""
        return result(service.query(videos).locate(query, occurrence, modality, video_id(video) if video else None))

    @tool
    def order(targets: list[str], modality: Modality = "any", video: str | None = None,
              videos: list[str] | None = None) -> ToolResult:
        """`targets` sorted by when each first occurs (those never found are listed apart)."""
        return result(service.query(videos).order(targets, modality, video_id(video) if video else None))

    @tool
    def read(video: str, start: float = 0.0, end: float | None = None, modality: Modality = "any") -> ToolResult:
        """What is said (the words inside the span), shown (on-screen lines, objects) in a span of a video."""
        vid = video_id(video)
        span = Span(start, end) if end is not None else (Span(start, 1e12) if start else None)
        return result(service.query([vid]).read(vid, span, modality))

    @tool
    def screen(query: str | None = None, at: float | None = None, video: str | None = None,
               videos: list[str] | None = None) -> ToolResult:
        """The on-screen lines shown together with the line matching `query` (or at time `at`), top to bottom:
        a slide, a list and its items."""
        return result(service.query(videos).screen(query, at, video_id(video) if video else None))

    @tool
    def colours(video: str, start: float = 0.0, end: float | None = None, thing: str = "") -> ToolResult:
        """The named colours on screen in a span of a video, from the pixels of the frames the index kept (whole
        frames: the background, the main colour), or of the boxes drawn around `thing` (a detected object)."""
        vid = video_id(video)
        span = Span(start, end) if end is not None else (Span(start, 1e12) if start else None)
        return result(service.query([vid]).colours(vid, span, thing))

    @tool
    def speakers(video: str | None = None, videos: list[str] | None = None) -> ToolResult:
        """How many people speak, and each voice: its name (or label like S2), talk time, turns, first words."""
        return result(service.query(videos).speakers(video_id(video) if video else None))

    @tool
    def who(query: str = "", at: float | None = None, video: str | None = None,
            videos: list[str] | None = None) -> ToolResult:
        """Who says `query` (each time it is said, by whom), or who speaks at time `at` (seconds)."""
        return result(service.query(videos).who(query, video_id(video) if video else None, at))

    @tool
    def said_by(speaker: str, query: str = "", video: str | None = None,
                videos: list[str] | None = None) -> ToolResult:
        """What one speaker says (a name, a label like S2, or "the second speaker"), about `query` if given."""
        return result(service.query(videos).said_by(speaker, query, video_id(video) if video else None))

    @mcp.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=False, idempotent_hint=False))
    @_errors
    def ask(question: str, options: list[str] | None = None, videos: list[str] | None = None) -> AnswerOut:
        """Ask vidgraph's own agents (a local model reads what the index finds): the answer with its cited
        moments. Slow (seconds to minutes); questions wait in one queue."""
        job = service.submit_ask(question=question, options=options or [], strategy="auto", videos=videos,
                                 budget=None)
        job.future.result()
        a = job.value
        return AnswerOut(question=a.question, text=a.text, found=a.found, choice=a.choice, confidence=a.confidence,
                         citations=[Cited(**moment(c.video_id, c.span), modality=c.modality, evidence=c.evidence)
                                    for c in a.citations], strategy=a.strategy, model=a.model,
                         model_calls=a.cost.model_calls, seconds=a.cost.seconds)

    return mcp
