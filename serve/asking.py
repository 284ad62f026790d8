"""REST routes that queue work: questions (JSON, streamed steps, or a job to follow), index runs, exports.

Questions wait in a bounded queue for the one model of the process; a full queue is 503 with ``Retry-After``,
decided before any byte of a stream is sent. An accepted question is always answered: the JSON route waits for
it even if its client leaves; a stream's client that leaves cancels its question at the agents' next step.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field

from . import sse
from .api import Svc, _wait
from .jobs import Job
from .service import MAX_QUESTION, Service

router = APIRouter(prefix="/api")


class BudgetIn(BaseModel):
    calls: int = Field(10, ge=1, le=50, description="Model calls at most.")
    looks: int = Field(3, ge=0, le=10, description="Looks (frames decoded and analysed) at most.")
    seconds: float = Field(300, gt=0, le=1800, description="Wall time of the agents at most.")


class AskIn(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_QUESTION, examples=["What is the invoice number?"])
    options: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, max_length=10, description="2 to 10 choices of a multiple-choice question.")
    strategy: str = Field("auto", max_length=20, description="auto, tools, classic, rag, search, mapreduce, uniform.")
    videos: list[Annotated[str, Field(max_length=300)]] | None = Field(
        None, max_length=1000, description="Ids or names (default: every video).")
    budget: BudgetIn | None = None


class IndexIn(BaseModel):
    stages: list[Annotated[str, Field(max_length=20)]] | None = Field(
        None, max_length=10, description="e.g. [\"scan\", \"asr\"] (default: every stage).")
    retry_failed: bool = False


class JobOut(BaseModel):
    job: str
    kind: str
    state: str
    events: int
    created: float
    started: float | None = None
    finished: float | None = None
    url: str = ""
    """Where to follow it: ``GET`` this for server-sent events."""
    position: int = 0
    """Place in the queue (1 = next), 0 once running."""


def submit_ask(body: AskIn, request: Request) -> Job:
    """Admission (a dependency: it runs before any response starts, so a full queue is still a 503)."""
    svc: Service = request.app.state.service
    return svc.submit_ask(question=body.question, options=body.options, strategy=body.strategy,
                          videos=body.videos, budget=body.budget.model_dump() if body.budget else None)


Asked = Annotated[Job, Depends(submit_ask)]


def _out(job: Job, svc: Service) -> dict[str, Any]:
    worker = svc.asks if job.kind == "ask" else svc.indexer
    return {**job.status(), "url": f"/api/jobs/{job.id}/events",
            "position": worker.position(job) if worker is not None else 0}


@router.post("/ask", tags=["ask"], responses={503: {"description": "The question queue is full (Retry-After)."}})
async def ask(job: Asked) -> dict[str, Any]:
    """Answer a question: the ``Answer`` as JSON (``Answer.to_dict()``; each citation's ``frame`` is a thumbnail
    URL). Waits in the queue for the model."""
    await asyncio.wrap_future(job.future)  # an error is re-raised here (and mapped by the app's handlers)
    return job.future.result()


@router.post("/ask/stream", tags=["ask"], response_class=Response,
             responses={**sse.OPENAPI, 503: {"description": "The question queue is full (Retry-After)."}})
async def ask_stream(job: Asked, request: Request) -> Response:
    """Answer a question as server-sent events: ``queued``, one ``step`` per agent step (``Step.to_dict()``),
    then ``result`` (the Answer) or ``error``. Leaving the stream cancels the question."""
    svc: Service = request.app.state.service
    return sse.stream(job, first=sse.frame("queued", _out(job, svc)), cancel_on_close=True)


@router.post("/asks", tags=["ask"], status_code=202, response_model=JobOut,
             responses={503: {"description": "The question queue is full (Retry-After)."}})
def ask_job(job: Asked, svc: Svc) -> dict[str, Any]:
    """Queue a question as a job; follow it with ``GET /api/jobs/{job}/events`` (an ``EventSource``)."""
    return _out(job, svc)


@router.post("/index", tags=["index"], status_code=202, response_model=JobOut,
             responses={503: {"description": "An index run is already queued (Retry-After)."}})
def index_job(body: IndexIn, svc: Svc) -> dict[str, Any]:
    """Index every new or changed video of the folder (one run at a time); progress as events of the job."""
    return _out(svc.submit_index(body.stages, body.retry_failed), svc)


@router.get("/jobs", tags=["jobs"], response_model=list[JobOut])
def jobs(svc: Svc) -> list[dict[str, Any]]:
    return [_out(j, svc) for j in svc.jobs() if j.kind in ("ask", "index")]


@router.get("/jobs/{job_id}", tags=["jobs"])
def job(job_id: str, svc: Svc) -> dict[str, Any]:
    """A job's state; with its ``result`` once done."""
    j = svc.job(job_id)
    out = _out(j, svc)
    if j.future.done() and j.future.exception() is None:
        out["result"] = j.future.result()
    return out


@router.get("/jobs/{job_id}/events", tags=["jobs"], response_class=Response, responses=sse.OPENAPI)
async def job_events(job_id: str, svc: Svc,
                     last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None) -> Response:
    """A job's events as server-sent events, from the first (or after ``Last-Event-ID``): ``step`` (asks) or
    ``progress`` (index runs), then ``result``, ``error`` or ``cancelled``. Reading does not cancel the job."""
    j = svc.job(job_id)
    last = int(last_event_id) if last_event_id and last_event_id.isdigit() else -1
    if j.done and last >= len(j.events) - 1:
        return Response(status_code=204)  # after the end: 204 tells an EventSource to stop reconnecting
    return sse.stream(j, last, first=b"retry: 2000\n\n")


@router.delete("/jobs/{job_id}", tags=["jobs"], response_model=JobOut)
def cancel(job_id: str, svc: Svc) -> dict[str, Any]:
    """Cancel a job: a queued one never runs; a running one stops at its next step or progress event."""
    j = svc.job(job_id)
    j.cancel.set()
    return _out(j, svc)


@router.get("/jobs/{job_id}/export", tags=["jobs"], response_class=FileResponse,
            responses={200: {"content": {"application/zip": {}}}})
async def export(job_id: str, svc: Svc) -> FileResponse:
    """The answer of an ask job as a zip: each cited moment as an mp4 clip, ``report.html``, ``answer.json``."""
    j = svc.job(job_id)
    if j.kind != "ask":
        raise HTTPException(404, "only an ask job has an answer to export")
    path = await _wait(svc, svc.media.export(j))
    return FileResponse(path, media_type="application/zip", filename=f"vidgraph-{j.id}.zip")
