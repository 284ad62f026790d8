"""Server-sent events from a ``Job``: one frame per event, ``id`` = its index, a comment as keep-alive."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi.responses import StreamingResponse

from .jobs import Job

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
PING = 15.0
OPENAPI = {200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                 "description": "Server-sent events (`event:` name, `id:`, `data:` JSON), ending after the final "
                                "`result`, `error` or `cancelled` event."}}


def frame(event: str, data: Any, id: int | None = None) -> bytes:
    """One SSE frame (``json.dumps`` emits no raw newline, so one ``data:`` line holds it)."""
    head = f"id: {id}\n" if id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


async def events(job: Job, last_id: int = -1, first: bytes = b"", ping: float = PING,
                 cancel_on_close: bool = False) -> AsyncIterator[bytes]:
    try:
        if first:
            yield first
        async for idx, event, data in job.follow(last_id, ping=ping):
            yield b": ping\n\n" if event == "ping" else frame(event, data, idx)
    finally:
        if cancel_on_close and not job.done:
            job.cancel.set()  # the client went away: stop at the agents' next step


def stream(job: Job, last_id: int = -1, first: bytes = b"", cancel_on_close: bool = False,
           ping: float = PING) -> StreamingResponse:
    return StreamingResponse(events(job, last_id, first, ping, cancel_on_close), media_type="text/event-stream",
                             headers=HEADERS)
