"""What the server does, apart from HTTP: one library, one model, the queues, and plain-dict results.

The REST routes, the web page and the MCP tools all go through a ``Service``:

- videos are found by id, id prefix or name in the catalog (dictionary look-ups: a request never names a file);
  a video is served only from a file inside the folder (``Library.file``: links out of it are not followed);
- questions run one at a time on one worker thread with the one model of the process, from a bounded queue
  (``QueueFull`` when it is full); index runs on another worker; cutting clips and making playable copies on a
  third (``serve.media``);
- every moment in a result carries ``video_id``, ``start`` and ``end``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, StoreError
from ..records import ObjectSpan, Shot, Span, TextLine, TranscriptSegment
from .jobs import Job, NotFound, Worker
from .media import Media

if TYPE_CHECKING:
    from ..agents.answer import Answer
    from ..agents.query import Query, Result
    from ..config import Settings
    from ..index.catalog import VideoEntry
    from ..library import Library
    from ..models.base import ChatModel

SECTIONS = ("shots", "transcript", "text", "objects", "events")
MAX_QUESTION = 2000
MAX_QUERY = 500


READERS = min(4, (os.cpu_count() or 2) + 1)
"""Threads that search at once (the rest wait their turn in the event loop)."""
BATCH_NICE = 10
"""Questions and index runs are batch work: their threads (and the model's) run 10 nice levels below the
server's, so a search or a seek in the player does not wait behind them for a core."""


@dataclasses.dataclass
class Limits:
    """Bounds on what one request may ask for."""

    ask_queue: int = 8
    """Questions waiting for the model (the one being answered is extra); one more gets 503."""
    index_queue: int = 2
    media_queue: int = 16
    max_clip_seconds: float = 600.0
    media_wait: float = 30.0
    """Seconds a request waits for a clip or a playable copy before it gets 503 + Retry-After (the work goes on)."""
    catalog_ttl: float = 5.0
    cache_mb: float = 4096.0
    """Size the cache of playable copies, clips, exports and stills (``<index>/serve/``) is kept under."""
    index_stages: tuple[str, ...] | None = None
    """Stages an index run without its own runs (``vidgraph serve --stages``; default: every stage)."""


class Service:
    """A library served: catalog look-ups, search, questions and index runs on workers, media (``self.media``)."""

    def __init__(self, library: Library, model: ChatModel | str | None = None, limits: Limits | None = None,
                 settings: Settings | None = None) -> None:
        self.library = library
        self.settings = settings or library.settings
        self.model_spec = model if isinstance(model, str) or model is None else getattr(model, "spec", "model")
        self._model: ChatModel | None = None if isinstance(model, str) or model is None else model
        self._model_error: str = ""
        self.limits = limits or Limits()
        self.cache = library.index_dir / "serve"
        self._catalog: tuple[float, dict[str, VideoEntry]] = (0.0, {})
        self._files: dict[str, Path | None] = {}
        self._lock = threading.Lock()
        self.media = Media(library, self.settings, self.cache, self.file, self.limits.media_queue,
                           self.limits.max_clip_seconds, self.limits.media_wait, self.limits.cache_mb)
        self.asks: Worker | None = None
        self.indexer: Worker | None = None
        self.readers = concurrent.futures.ThreadPoolExecutor(READERS, thread_name_prefix="vidgraph-read")
        """Searches and query tools run here, a few at a time: on a small machine, dozens of threads reading
        at once only contend for the cores, the interpreter and their connections' caches."""
        self.freeze = False
        """Set by ``serve.server.run`` (the process is the server's alone): after the model and the memory are
        loaded, everything alive is frozen out of the garbage collector's sweeps (``gc.freeze``)."""
        self.ask_process = False
        """Set by ``serve.server.run``: questions are answered in a child process (``serve.asker``), so searches
        never wait for their Python; only with a model given by its spec (a model object stays in-process)."""
        self._asker: Any = None
        """The question process (``serve.asker.AskProcess``), set by the app before ``start`` when ``ask_process``."""

    # -- lifecycle ----------------------------------------------------------------------------------------------
    def start(self, preload: bool = True) -> Service:
        """Start the workers; with ``preload`` the question worker loads the model and the memory first (else at
        the first question and the first search)."""
        if self.asks is None:
            self.asks = Worker(self._run_ask, self.limits.ask_queue, "ask", estimate=5.0,
                               start=self._preload if preload else None, nice=BATCH_NICE)
            self.indexer = Worker(self._run_index, self.limits.index_queue, "index", estimate=60.0,
                                  nice=BATCH_NICE)
            self.media.start()
        return self

    def close(self, timeout: float | None = 60.0) -> None:
        """Accept nothing more; finish every accepted job."""
        for worker in (self.asks, self.indexer, self.media.worker):
            if worker is not None:
                worker.close(timeout)
        if self._asker is not None:
            self._asker.stop()
        self.readers.shutdown(wait=False)

    def jobs(self) -> list[Job]:
        return [j for w in (self.asks, self.indexer, self.media.worker) if w is not None for j in list(w.jobs.values())]

    def job(self, job_id: str) -> Job:
        for w in (self.asks, self.indexer):
            if w is not None and job_id in w.jobs:
                return w.jobs[job_id]
        raise NotFound(f"no job {job_id!r}")

    def drain(self) -> None:
        """End every open event stream (before the server stops: its shutdown waits for open connections)."""
        for job in self.jobs():
            job.detach_all()

    # -- the catalog -------------------------------------------------------------------------------------------
    def entries(self, fresh: bool = False) -> dict[str, VideoEntry]:
        """Catalog entries by id, re-read at most every ``limits.catalog_ttl`` seconds (and after index runs)."""
        at, entries = self._catalog
        if fresh or time.monotonic() - at > self.limits.catalog_ttl:
            with self._lock:
                entries = {e.video_id: e for e in self.library.videos()}
                self._catalog = (time.monotonic(), entries)
                self._files = {}
        return entries

    def get(self, video_id: str) -> VideoEntry:
        """The entry of exactly this id (the only way HTTP paths name a video)."""
        entry = self.entries().get(video_id)
        if entry is None:
            raise NotFound(f"no video {video_id!r}")
        return entry

    def find(self, ref: str) -> VideoEntry:
        """A video by id, id prefix (6+ characters), name (path in the folder), file name or stem — by looking
        them up in the catalog, never on disk."""
        entries = list(self.entries().values())
        ref = ref.strip()
        for test in (lambda e: e.video_id == ref, lambda e: ref in e.paths,
                     lambda e: len(ref) >= 6 and e.video_id.startswith(ref.lower()),
                     lambda e: any(Path(p).name == ref or Path(p).stem == ref for p in e.paths),
                     lambda e: any(Path(p).name.lower() == ref.lower() or Path(p).stem.lower() == ref.lower()
                                   for p in e.paths)):
            hits = [e for e in entries if test(e)]
            if len(hits) == 1:
                return hits[0]
            if hits:
                raise NotFound(f"{ref!r} matches {len(hits)} videos: give the id")
        raise NotFound(f"no video {ref!r}")

    def scope(self, refs: Sequence[str] | None) -> list[str] | None:
        return [self.find(r).video_id for r in refs] if refs else None

    def file(self, entry: VideoEntry) -> Path | None:
        """The video's file if it lies inside the folder (resolved: a link out of it is not served)."""
        if entry.video_id not in self._files:
            try:
                self._files[entry.video_id] = self.library.file(entry)
            except (StoreError, OSError):
                self._files[entry.video_id] = None
        return self._files[entry.video_id]

    def names(self) -> dict[str, str]:
        return {v: e.name for v, e in self.entries().items()}

    def video(self, entry: VideoEntry) -> dict[str, Any]:
        from ..tools.clips import browser_playable

        info = entry.info
        return {"video_id": entry.video_id, "name": entry.name, "duration": entry.duration, "status": entry.status,
                "error": entry.error, "stages": {s.stage: s.status for s in entry.stages},
                "width": info.width, "height": info.height, "fps": info.fps, "container": info.container,
                "video_codec": info.video_codec, "audio_codec": info.audio_codec,
                "served": self.file(entry) is not None, "browser_playable": browser_playable(info),
                "media": f"/api/media/{entry.video_id}",
                "thumbnail": _thumb(entry.video_id, min(1.0, entry.duration / 2))}

    def index_view(self, entry: VideoEntry, sections: Sequence[str] = SECTIONS, words: bool = False) -> dict[str, Any]:
        """A video's index: shots, transcript, on-screen text, objects and memory events, as moments."""
        vid = entry.video_id
        out: dict[str, Any] = {"video_id": vid, "name": entry.name, "duration": entry.duration}

        def records(stage: str) -> list[Any]:
            try:
                return self.library.records(entry, stage)
            except StoreError:
                return []

        for section in sections:
            if section == "shots":
                out[section] = [_moment(vid, r.span, index=r.index) for r in records("scan") if isinstance(r, Shot)]
            elif section == "transcript":
                out[section] = [_moment(vid, r.span, text=r.text.strip(), **({"words": [
                    {"start": w.span.start, "end": w.span.end, "text": w.text} for w in r.words]} if words else {}))
                    for r in records("asr") if isinstance(r, TranscriptSegment)]
            elif section == "text":
                out[section] = [_moment(vid, r.span, text=r.text, score=round(r.score, 3))
                                for r in records("ocr") if isinstance(r, TextLine)]
            elif section == "objects":
                out[section] = [_moment(vid, r.span, label=r.label, max_count=r.max_count, score=round(r.score, 3))
                                for r in records("detect") if isinstance(r, ObjectSpan)]
            elif section == "events":
                events = self.library.memory.events(vid) if vid in set(self.library.memory.videos()) else []
                out[section] = [_moment(vid, e.span, index=e.index, evidence=e.evidence(), entities=list(e.entities))
                                for e in events]
            else:
                raise ConfigError(f"unknown section {section!r}", f"choose from: {', '.join(SECTIONS)}")
        return out

    # -- search and the query tools ---------------------------------------------------------------------------
    def search(self, query: str, videos: Sequence[str] | None = None, span: Span | None = None,
               k: int = 10) -> list[dict[str, Any]]:
        query = _bounded(query, MAX_QUERY, "query")
        names = self.names()
        hits = self.library.memory.search(query, videos=self.scope(videos), span=span, k=k)
        return [_moment(h.video_id, h.span, video=names.get(h.video_id, h.video_id), score=h.score,
                        modalities=list(h.modalities), reasons=list(h.reasons), evidence=h.event.evidence(),
                        event=h.event.index, thumbnail=_thumb(h.video_id, h.span.middle)) for h in hits]

    def query(self, videos: Sequence[str] | None = None) -> Query:
        """The agents' query tools over ``videos`` (default: every video with a memory)."""
        from ..agents.query import Query

        scope = self.scope(videos) or self.library.memory.videos()
        return Query(self.library.source(), scope)

    def result(self, r: Result) -> dict[str, Any]:
        names = self.names()
        value = r.value.to_dict() if hasattr(r.value, "to_dict") else r.value
        return {"tool": r.tool, "value": value, "summary": r.summary, "note": r.note,
                "found": [_moment(f.video_id, f.span, video=names.get(f.video_id, f.video_id), modality=f.modality,
                                  text=f.text, context=f.context, score=f.score, speaker=f.speaker)
                          for f in r.found]}

    # -- questions --------------------------------------------------------------------------------------------
    def model(self) -> ChatModel:
        if self._model is None:
            self._load_model()
        if self._model is None:
            raise ConfigError(f"the model {self.model_spec or self.settings.llm} could not be loaded: "
                              f"{self._model_error}", "check --model and run: vidgraph doctor")
        return self._model

    def _load_model(self) -> None:
        from ..models import resolve_model

        if self._model is None:
            try:
                self._model = resolve_model(self.model_spec, self.settings)
            except Exception as e:  # noqa: BLE001 - reported by every question until fixed
                self._model_error = f"{type(e).__name__}: {e}"

    def _preload(self) -> None:
        """Load the model and what every search needs (the memory's stores and its embedder) before the first
        question and search ask; then, in a process of its own (``freeze``), take all that out of the garbage
        collector's full sweeps. With a question process, that process loads the model (and its memory)."""
        if self._asker is not None:
            self._model_error = self._asker.start().get("model_error", "")
        else:
            self._load_model()
        if (self.library.index_dir / "memory").is_dir():
            try:
                self.library.memory.search("warm up", k=1)
            except Exception:  # noqa: BLE001 - an empty or damaged memory says so to the first real search
                pass
        if self.freeze:
            import gc

            gc.collect()
            gc.freeze()

    def check_ask(self, question: str, options: Sequence[str] | None, strategy: str,
                  videos: Sequence[str] | None, budget: dict[str, Any] | None) -> dict[str, Any]:
        """The question checked (a ``ConfigError`` says what to fix) before it takes a place in the queue."""
        from ..agents import Budget, check_question

        question, options = check_question(_bounded(question, MAX_QUESTION, "question"), options, strategy)
        return {"question": question, "options": options, "strategy": strategy, "videos": self.scope(videos),
                "budget": Budget(**(budget or {}))}

    def submit_ask(self, **request: Any) -> Job:
        assert self.asks is not None, "Service.start() first"
        return self.asks.submit(Job("ask", self.check_ask(**request)))

    def ask(self, on_step: Callable[[Any], None] | None = None, **request: Any) -> Answer:
        """Answer now, on the calling thread (MCP over stdio, the question process, tests; HTTP uses the queue)."""
        r = self.check_ask(**request)
        return self.library.ask(r["question"], r["options"] or None, r["strategy"], self.model(), r["videos"],
                                r["budget"], index=False, progress=False, on_step=on_step)

    def _run_ask(self, job: Job) -> dict[str, Any]:
        r = job.payload
        if self._asker is not None:
            from ..agents.answer import Answer

            request = {**r, "budget": dataclasses.asdict(r["budget"])}
            data = self._asker.ask(request, lambda s: job.publish("step", s), job.cancel.is_set,
                                   self._generation())
            self._model_error = self._asker.info.get("model_error", "")
            job.value = Answer.from_dict(data)
            return self.answer(job.value)

        def step(s: Any) -> None:
            job.publish("step", s.to_dict())

        answer = self.library.ask(r["question"], r["options"] or None, r["strategy"], self.model(), r["videos"],
                                  r["budget"], index=False, progress=False, on_step=step)
        job.value = answer
        return self.answer(answer)

    def _generation(self) -> int | None:
        """The memory's generation (it changes at every write), or None without a memory."""
        if not (self.library.index_dir / "memory").is_dir():
            return None
        try:
            return self.library.memory.graph.generation()
        except Exception:  # noqa: BLE001 - a damaged memory is reported by the question itself
            return None

    def answer(self, answer: Answer) -> dict[str, Any]:
        """``Answer.to_dict()``, each citation's ``frame`` (a path in the index) replaced by its thumbnail URL."""
        data = answer.to_dict()
        for c in data["citations"]:
            span = c["span"]
            c["frame"] = _thumb(c["video_id"], (span["start"] + span["end"]) / 2)
        return data

    # -- indexing ---------------------------------------------------------------------------------------------
    def submit_index(self, stages: Sequence[str] | None = None, retry_failed: bool = False) -> Job:
        from ..tools.registry import resolve_stages

        assert self.indexer is not None, "Service.start() first"
        stages = stages or self.limits.index_stages
        if stages:
            resolve_stages(list(stages), self.settings)  # an unknown stage is refused now, not in the worker
        return self.indexer.submit(Job("index", {"stages": list(stages) if stages else None,
                                                 "retry_failed": retry_failed}))

    def _run_index(self, job: Job) -> dict[str, Any]:
        def progress(event: Any) -> None:
            job.publish("progress", progress_dict(event))

        try:
            report = self.library.index(job.payload["stages"], progress=progress,
                                        retry_failed=job.payload["retry_failed"], wait=60)
        finally:
            self.entries(fresh=True)
        return json.loads(json.dumps(report.to_dict() if hasattr(report, "to_dict") else dataclasses.asdict(report),
                                     default=str))

    def health(self) -> dict[str, Any]:
        asks = self.asks
        return {"folder": str(self.library.folder), "videos": len(self.entries()),
                "model": self.model_spec or self.settings.llm,
                "model_loaded": self._model is not None or bool(self._asker and self._asker.loaded),
                "questions": "process" if self._asker is not None else "thread",
                "model_error": self._model_error,
                "asks": {"waiting": asks.waiting() if asks else 0, "limit": self.limits.ask_queue,
                         **(asks.stats if asks else {})}}


def progress_dict(event: Any) -> dict[str, Any]:
    """An index progress event (``vidgraph.index.progress``) as JSON: its fields and ``type``."""
    data = dataclasses.asdict(event) if dataclasses.is_dataclass(event) else {"text": str(event)}
    return {"type": type(event).__name__, **json.loads(json.dumps(data, default=str))}


def _moment(video_id: str, span: Span, **more: Any) -> dict[str, Any]:
    return {"video_id": video_id, "start": round(span.start, 3), "end": round(span.end, 3), **more}


def _thumb(video_id: str, t: float) -> str:
    return f"/api/videos/{video_id}/thumbnail?t={max(0.0, t):.2f}"


def _bounded(text: str, limit: int, what: str) -> str:
    if len(text) > limit:
        raise ConfigError(f"the {what} is {len(text)} characters long (at most {limit})", f"shorten the {what}")
    return text


__all__ = ["Limits", "NotFound", "SECTIONS", "Service", "progress_dict"]
