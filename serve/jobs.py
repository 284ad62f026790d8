"""Jobs and the workers that run them: one thread per worker, a bounded queue, events kept for late readers.

A ``Job`` is fed by its worker thread (``publish``: an agent step, an index progress event) and followed by any
number of asyncio readers (``follow``: the backlog, then live, ending after the final event), so a reader that
subscribes late or reconnects (``Last-Event-ID``) misses nothing. ``Worker.submit`` refuses with ``QueueFull``
(an HTTP 503 with ``Retry-After``) when its queue is full; a job it accepted always runs, unless its client
cancelled it; ``close`` lets every accepted job finish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import math
import os
import queue
import secrets
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from typing import Any

FINAL = ("result", "error", "cancelled")
_counter = itertools.count(1)


class NotFound(LookupError):
    """No such video or job (an HTTP 404)."""


class Cancelled(Exception):
    """Raised inside a job's synchronous work (at its next step or progress event) once it is cancelled."""


class QueueFull(Exception):
    def __init__(self, retry_after: int, what: str = "queue") -> None:
        super().__init__(f"the {what} is full; retry after {retry_after} s")
        self.retry_after = retry_after


class Job:
    """One unit of work (``kind``: ``ask``, ``index``, ``media``) with its events and its result."""

    def __init__(self, kind: str, payload: dict[str, Any]) -> None:
        self.id = f"{kind}-{next(_counter)}-{secrets.token_hex(4)}"
        self.kind, self.payload = kind, payload
        self.cancel = threading.Event()
        self.future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.events: list[tuple[str, Any]] = []
        """``(event, data)``; the index is the SSE id."""
        self.value: Any = None
        """The Python result beside its JSON (an ask keeps its ``Answer`` here, for the export)."""
        self.created = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self._subs: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]] = []
        self._lock = threading.Lock()
        self.future.add_done_callback(self._done)

    # -- the worker's side ------------------------------------------------------------------------------------
    def publish(self, event: str, data: Any) -> None:
        """Add an event; raises ``Cancelled`` once the job is cancelled, which stops its synchronous work."""
        if self.cancel.is_set():
            raise Cancelled(self.id)
        self._append(event, data)

    def _append(self, event: str, data: Any, last: bool = False) -> None:
        with self._lock:
            self.events.append((event, data))
            item = (len(self.events) - 1, event, data)
            subs = list(self._subs)
            if last:
                self._subs = []
        for loop, q in subs:
            _put(loop, q, item)
            if last:
                _put(loop, q, None)

    def _done(self, fut: concurrent.futures.Future[Any]) -> None:
        self.finished = time.time()
        if fut.cancelled():
            self._append("cancelled", {"job": self.id}, last=True)
            return
        e = fut.exception()
        if isinstance(e, Cancelled):
            self._append("cancelled", {"job": self.id}, last=True)
        elif e is not None:
            self._append("error", {"job": self.id, "error": _message(e), "kind": type(e).__name__}, last=True)
        else:
            self._append("result", fut.result(), last=True)

    def detach_all(self) -> None:
        """End every reader's stream now (server shutdown); the job itself goes on."""
        with self._lock:
            subs, self._subs = list(self._subs), []
        for loop, q in subs:
            _put(loop, q, None)

    # -- the readers' side ------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        return bool(self.events) and self.events[-1][0] in FINAL

    async def follow(self, last_id: int = -1, ping: float | None = None) -> AsyncIterator[tuple[int | None, str, Any]]:
        """``(id, event, data)`` from ``last_id + 1`` on: the backlog, then live, until the final event. With
        ``ping``, ``(None, "ping", None)`` after that many idle seconds (an SSE comment keeps proxies open)."""
        loop = asyncio.get_running_loop()
        q: asyncio.Queue[Any] = asyncio.Queue()
        with self._lock:
            backlog = list(enumerate(self.events))[last_id + 1:]
            finished = self.done
            if not finished:
                self._subs.append((loop, q))
        seen = last_id + len(backlog)
        try:
            for idx, (event, data) in backlog:
                yield idx, event, data
            if finished:
                return
            while True:
                try:
                    item = await (asyncio.wait_for(q.get(), ping) if ping else q.get())
                except asyncio.TimeoutError:
                    yield None, "ping", None
                    continue
                if item is None:
                    return
                if item[0] > seen:
                    seen = item[0]
                    yield item
        finally:
            with self._lock:
                if (loop, q) in self._subs:
                    self._subs.remove((loop, q))

    def state(self) -> str:
        f = self.future
        if f.done():
            return self.events[-1][0] if self.done else "done"
        return "running" if f.running() else "cancelling" if self.cancel.is_set() else "queued"

    def status(self) -> dict[str, Any]:
        return {"job": self.id, "kind": self.kind, "state": self.state(), "events": len(self.events),
                "created": self.created, "started": self.started, "finished": self.finished}


def _message(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _put(loop: asyncio.AbstractEventLoop, q: asyncio.Queue[Any], item: Any) -> None:
    try:
        loop.call_soon_threadsafe(q.put_nowait, item)
    except RuntimeError:  # that reader's loop is closed: it is gone
        pass


def lower_priority(nice: int) -> bool:
    """Lower the CPU priority of the calling thread by ``nice`` (and of the threads it starts later, e.g. a
    model's: they inherit it). Linux keeps a nice value per thread; elsewhere nothing changes (False)."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
        return True
    except OSError:
        return False


class Worker:
    """One thread running accepted jobs in order from a queue of at most ``maxsize`` waiting jobs."""

    def __init__(self, run: Callable[[Job], Any], maxsize: int = 8, name: str = "worker",
                 estimate: float = 5.0, keep: int = 500, start: Callable[[], None] | None = None,
                 nice: int = 0) -> None:
        self.name, self.nice = name, nice
        """``nice``: how much lower the thread's CPU priority is than the server's (batch work: questions, index
        runs), so that searches, media and the page are served first when the cores are busy."""
        self._run, self._start = run, start
        self._q: queue.Queue[Job | None] = queue.Queue(maxsize=maxsize)
        self._accepting = True
        self._submit = threading.Lock()
        self._avg = estimate
        """Seconds per job (moving average), for ``Retry-After``."""
        self.keep = keep
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.stats = {"accepted": 0, "rejected": 0, "done": 0, "failed": 0, "cancelled": 0}
        self._thread = threading.Thread(target=self._loop, name=f"vidgraph-{name}", daemon=True)
        self._thread.start()

    @property
    def maxsize(self) -> int:
        return self._q.maxsize

    def submit(self, job: Job) -> Job:
        with self._submit:
            if not self._accepting:
                raise QueueFull(30, f"{self.name} queue (shutting down)")
            try:
                self._q.put_nowait(job)
            except queue.Full:
                self.stats["rejected"] += 1
                raise QueueFull(self.retry_after(), f"{self.name} queue") from None
            self.stats["accepted"] += 1
            self.jobs[job.id] = job
            self._prune()
        return job

    def _prune(self) -> None:
        finished = [k for k, j in self.jobs.items() if j.future.done()]
        for k in finished[: max(0, len(self.jobs) - self.keep)]:
            del self.jobs[k]

    def retry_after(self) -> int:
        return max(1, math.ceil(self._avg * (self._q.qsize() + 1)))

    def waiting(self) -> int:
        return self._q.qsize()

    def position(self, job: Job) -> int:
        """1 for the next job to run, 0 when it is running or done."""
        with self._q.mutex:
            items = list(self._q.queue)
        return items.index(job) + 1 if job in items else 0

    def _loop(self) -> None:
        lower_priority(self.nice)
        if self._start is not None:
            try:
                self._start()
            except Exception:  # noqa: BLE001 - each job then meets the same error and reports it
                pass
        while True:
            job = self._q.get()
            if job is None:
                return
            if job.cancel.is_set() or not job.future.set_running_or_notify_cancel():
                self.stats["cancelled"] += 1
                if not job.future.done():
                    job.future.set_exception(Cancelled(job.id))
                continue
            t0 = time.monotonic()
            job.started = time.time()
            try:
                job.future.set_result(self._run(job))
                self.stats["done"] += 1
            except BaseException as e:  # noqa: BLE001 - the worker outlives any job
                job.future.set_exception(e)
                self.stats["cancelled" if isinstance(e, Cancelled) else "failed"] += 1
            self._avg = 0.8 * self._avg + 0.2 * (time.monotonic() - t0)

    def close(self, timeout: float | None = None) -> None:
        """Accept nothing more, let every accepted job finish, stop the thread."""
        with self._submit:
            self._accepting = False
        self._q.put(None)  # a blocking put: it lands after every accepted job
        self._thread.join(timeout)
