"""REST routes over the videos: the catalog, each video's index, search, the query tools, frames, media, clips.

A video is named by its id (``[0-9a-f]{32}``) in every path; anything else is a 404 before any look-up.
"""

from __future__ import annotations

import asyncio
import mimetypes
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from ..records import Span
from .jobs import Job
from .security import VIDEO_ID
from .service import SECTIONS, NotFound, Service

router = APIRouter(prefix="/api")
QUERY_TOOLS = ("find", "count", "locate", "order", "read", "screen", "shots", "videos")


def service(request: Request) -> Service:
    return request.app.state.service


Svc = Annotated[Service, Depends(service)]


def video(video_id: str, svc: Svc) -> Any:
    if not VIDEO_ID.fullmatch(video_id):
        raise NotFound("no such video")
    return svc.get(video_id)


Entry = Annotated[Any, Depends(video)]


class Moment(BaseModel):
    video_id: str
    start: float
    end: float


class SearchHit(Moment):
    video: str
    score: float
    modalities: list[str]
    reasons: list[str] = Field(description="Why it matched: similar speech/text/events, keywords, graph links.")
    evidence: dict[str, str] = Field(description="The event's evidence by modality (speech, text, objects, ...).")
    event: int
    thumbnail: str


class QueryIn(BaseModel):
    tool: Literal["find", "count", "locate", "order", "read", "screen", "shots", "videos", "speakers", "who",
                  "said_by", "colours"]
    args: dict[str, Any] = Field(default_factory=dict, description="The tool's arguments, e.g. {\"query\": \"pump\", "
                                 "\"modality\": \"speech\"}; read and colours take video, start, end.")
    videos: list[str] | None = Field(None, max_length=1000, description="Ids or names (default: every video).")


@router.get("/health", tags=["server"])
def health(svc: Svc) -> dict[str, Any]:
    """The folder, how many videos, the model, and the question queue."""
    return svc.health()


@router.get("/videos", tags=["videos"])
def videos(svc: Svc, q: Annotated[str, Query(max_length=200, description="Only names containing this.")] = "",
           offset: Annotated[int, Query(ge=0)] = 0,
           limit: Annotated[int, Query(ge=1, le=10000)] = 1000) -> dict[str, Any]:
    """Every video of the library (by name), with its stages, whether a browser plays it, and its thumbnail."""
    entries = sorted(svc.entries().values(), key=lambda e: e.name)
    if q:
        entries = [e for e in entries if q.lower() in e.name.lower()]
    return {"total": len(entries), "videos": [svc.video(e) for e in entries[offset: offset + limit]]}


@router.get("/videos/{video_id}", tags=["videos"])
def one_video(entry: Entry, svc: Svc) -> dict[str, Any]:
    return svc.video(entry)


@router.get("/videos/{video_id}/index", tags=["videos"])
def video_index(entry: Entry, svc: Svc,
                sections: Annotated[str, Query(description=f"Comma-separated: {', '.join(SECTIONS)}.")]
                = ",".join(SECTIONS),
                words: Annotated[bool, Query(description="Word times in the transcript.")] = False) -> dict[str, Any]:
    """A video's index as moments: shots, transcript, on-screen text, objects, memory events."""
    return svc.index_view(entry, [s.strip() for s in sections.split(",") if s.strip()], words)


@router.get("/search", tags=["search"], response_model=list[SearchHit])
async def search(svc: Svc, q: Annotated[str, Query(min_length=1, max_length=500)],
                 video: Annotated[list[str] | None, Query(description="Only these videos (ids or names).")] = None,
                 start: Annotated[float | None, Query(ge=0)] = None, end: Annotated[float | None, Query(gt=0)] = None,
                 k: Annotated[int, Query(ge=1, le=50)] = 10) -> list[dict[str, Any]]:
    """The moments that best match ``q`` (meaning, exact words, graph links), each with why."""
    span = Span(start or 0.0, end if end is not None else 1e12) if start is not None or end is not None else None
    return await _read(svc, svc.search, q, video, span, k)


async def _read(svc: Service, fn: Any, *args: Any) -> Any:
    """``fn(*args)`` on the service's few reading threads (see ``Service.readers``)."""
    return await asyncio.wrap_future(svc.readers.submit(fn, *args))


@router.post("/query", tags=["search"])
async def query(body: QueryIn, svc: Svc) -> dict[str, Any]:
    """Run one of the agents' query tools (no model): find, count, locate, order, read, screen, shots, videos,
    speakers, who, said_by, colours."""
    return await _read(svc, _query, body, svc)


def _query(body: QueryIn, svc: Service) -> dict[str, Any]:
    q = svc.query(body.videos)
    a = dict(body.args)
    if a.get("video"):  # a name or an id, as everywhere in the API
        a["video"] = svc.find(str(a["video"])).video_id
    if body.tool in ("read", "colours") and ("start" in a or "end" in a):
        a["span"] = Span(float(a.pop("start", 0.0)), float(a.pop("end", 1e12)))
    elif body.tool == "videos":
        return svc.result(q.videos_list())
    try:
        return svc.result(getattr(q, body.tool)(**a))
    except TypeError as e:
        raise HTTPException(422, f"bad arguments for {body.tool}: {e}") from None


def _jpeg(path: Any, t: float) -> FileResponse:
    return FileResponse(path, media_type="image/jpeg", headers={"X-Frame-Time": f"{t:.3f}",
                                                                "Cache-Control": "private, max-age=3600"})


@router.get("/videos/{video_id}/thumbnail", tags=["frames"], response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}}})
def thumbnail(entry: Entry, svc: Svc, t: Annotated[float, Query(ge=0)] = 0.0) -> FileResponse:
    """A small JPEG near ``t`` (the index's 1 fps thumbnails; ``X-Frame-Time`` says which)."""
    path, ft = svc.media.thumbnail(entry, t)
    return _jpeg(path, ft)


@router.get("/videos/{video_id}/frame", tags=["frames"], response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}}})
def frame(entry: Entry, svc: Svc, t: Annotated[float, Query(ge=0)] = 0.0,
          width: Annotated[int | None, Query(ge=16, le=3840)] = None) -> FileResponse:
    """The frame at ``t``, decoded (full size or ``width`` wide)."""
    f, = svc.media.frames(entry, Span(t, t + 0.04), 1, width)
    return _jpeg(f.path, f.t)


@router.get("/videos/{video_id}/frames", tags=["frames"])
def frames(entry: Entry, svc: Svc, start: Annotated[float, Query(ge=0)], end: Annotated[float, Query(gt=0)],
           n: Annotated[int, Query(ge=1, le=32)] = 8,
           width: Annotated[int | None, Query(ge=16, le=3840)] = 640) -> list[dict[str, Any]]:
    """``n`` frames spread over ``start``-``end``: their times and URLs."""
    out = svc.media.frames(entry, Span(start, max(start, end)), n, width)
    w = f"&width={width}" if width else ""
    return [{"video_id": f.video_id, "t": f.t, "start": f.t, "end": f.t, "width": f.width, "height": f.height,
             "url": f"/api/videos/{f.video_id}/frame?t={f.t:.3f}{w}"} for f in out]


async def _wait(svc: Service, made: Any) -> Any:
    if not isinstance(made, Job):
        return made
    try:
        return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(made.future)), svc.limits.media_wait)
    except asyncio.TimeoutError:
        raise HTTPException(503, "still being prepared; retry", headers={"Retry-After": "5"}) from None


@router.head("/media/{video_id}", include_in_schema=False)
@router.get("/media/{video_id}", tags=["media"], response_class=FileResponse,
            responses={200: {"content": {"video/mp4": {}, "video/webm": {}}}, 206: {"description": "A byte range"},
                       503: {"description": "A playable copy is being made; retry after Retry-After seconds"}})
async def media(entry: Entry, svc: Svc) -> FileResponse:
    """The video, with HTTP range requests (206). A file a browser cannot play (HEVC, MPEG-4 Part 2, AVI, ...) is
    served as an H.264/AAC copy, made once."""
    path = await _wait(svc, await asyncio.to_thread(svc.media.playable, entry))
    kind = mimetypes.guess_type(path.name)[0] or "video/mp4"
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "private, max-age=3600"})


@router.get("/videos/{video_id}/clip", tags=["media"], response_class=FileResponse,
            responses={200: {"content": {"video/mp4": {}, "video/webm": {}}}})
async def clip(entry: Entry, svc: Svc, start: Annotated[float, Query(ge=0)], end: Annotated[float, Query(gt=0)],
               fmt: Annotated[Literal["mp4", "webm"], Query()] = "mp4",
               download: Annotated[bool, Query(description="As an attachment (a file to save).")] = False) -> Any:
    """The span re-encoded (H.264/AAC mp4 or VP9/Opus webm), frame-accurate, cached."""
    from ..tools.clips import media_type

    path = await _wait(svc, svc.media.clip(entry, Span(start, max(start, end)), fmt))
    stem = entry.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return FileResponse(path, media_type=media_type(fmt), filename=f"{stem}_{start:.1f}-{end:.1f}.{fmt}",
                        content_disposition_type="attachment" if download else "inline")
