"""One video, in whichever process indexes it: probe, then each stage through the artifact cache.

The worker never writes the catalog: it sends typed messages (``Started``, ``Probed``, ``StageDone``,
``ToolProgress``) to the process that does, as soon as each thing happens, and returns an ``Outcome``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..config import Settings
from ..errors import MediaError, SourceChanged, ToolError, VidgraphError
from ..records import ProbeInfo, Record
from ..tools.store import ArtifactStore, artifact_seconds
from ..tools.context import VideoContext
from .catalog import StageStatus, db_text
from .live import LiveOutcome, LiveSpec, head_of, tail_of

STREAMED = ("scan", "asr", "speakers", "ocr", "detect", "tags")
"""Stages run together in the one pass over a video (``tools.onepass``)."""


@dataclass(frozen=True)
class Task:
    key: int
    path: str
    video_id: str
    info: ProbeInfo | None
    stages: tuple[str, ...]
    store: str
    settings: Settings
    prior_failures: dict[str, str] = field(default_factory=dict)
    """Stages that failed in an earlier run and are not retried: stage -> error line."""
    stat: tuple[int, int] | None = None
    """(size, mtime_ns) of the file when its content hash was taken: a stage's result is kept only while the file
    is still that one."""
    live: LiveSpec | None = None
    """The file is still being written: index what can be read of it (``index/live.py``)."""


@dataclass(frozen=True)
class Outcome:
    key: int
    info: ProbeInfo | None
    """The probe, when this run made it."""
    stages: tuple[StageStatus, ...]
    problem: tuple[str, str] | None
    """(problem, hint) when the file cannot be used as a video at all."""
    worker: int
    seconds: float
    crashed: bool = False
    """The process running it died: nothing is recorded, the next run retries."""
    changed: bool = False
    """The file changed while it was indexed: the stage in flight was dropped; the file is hashed and indexed
    again as the content it now has."""
    live: LiveOutcome | None = None
    """What a step over a growing file read."""


# -- messages from a worker to the catalog's writer ---------------------------------------------------------------
@dataclass(frozen=True)
class Started:
    key: int
    pid: int


@dataclass(frozen=True)
class Probed:
    key: int
    info: ProbeInfo


@dataclass(frozen=True)
class StageDone:
    key: int
    stage: StageStatus


@dataclass(frozen=True)
class ToolProgress:
    key: int
    stage: str
    done: float
    total: float


WorkerMessage = Started | Probed | StageDone | ToolProgress
Send = Callable[[WorkerMessage], None]


class DependencyFailed(VidgraphError):
    def __init__(self, stage: str, line: str) -> None:
        self.stage = stage
        super().__init__(line)


def one_line(text: str) -> str:
    return db_text(" ".join(text.replace("\r", "\n").split("\n")).strip())


def index_video(task: Task, send: Send) -> Outcome:
    """Probe (when new) and run the stages of one video; every result is also sent at once."""
    from ..tools.decode import probe, readable_until

    start = time.perf_counter()
    send(Started(task.key, os.getpid()))
    until = None
    try:
        if task.live is not None and not task.live.final:
            size_read = os.stat(task.path).st_size
            until = readable_until(task.path)
        info = replace(task.info, path=task.path) if task.info is not None else \
            probe(task.path, video_id=task.video_id, source="probe@1")
    except MediaError as e:
        return Outcome(task.key, None, (), (e.problem, e.hint), os.getpid(), time.perf_counter() - start)
    except Exception as e:  # noqa: BLE001 - any other failure to read the file is still one line
        return Outcome(task.key, None, (), (f"cannot be probed ({type(e).__name__}: {e})",
                                            "check that the file plays; run with --debug for details"),
                       os.getpid(), time.perf_counter() - start)
    if until is not None:
        info = replace(info, duration=max(until, 0.001))
    if task.info is None:
        send(Probed(task.key, info))
    ctx = IndexContext(info, task, Throttled(send, task.key))
    results = ctx.run_pass(send, until)
    for cap in task.stages:
        if ctx.changed:  # what this stage read is of neither version: nothing more of this file is trusted
            break
        if cap in ctx.sent:
            continue
        result = ctx.run_stage(cap)
        if ctx.changed:
            break
        send(StageDone(task.key, result))
        results.append(result)
    live = _live_outcome(task, ctx, until, size_read if until is not None else 0) if task.live and not ctx.changed \
        else None
    return Outcome(task.key, info if task.info is None else None, tuple(results), None, os.getpid(),
                   time.perf_counter() - start, changed=ctx.changed, live=live)


def _live_outcome(task: Task, ctx: IndexContext, until: float | None, size: int) -> LiveOutcome:
    """How far a step over a growing file read; after the last one, the finished file's content hash."""
    from ..tools.decode import content_hash

    if until is not None:
        covered = min(ctx.covered.values(), default=until)
        st = os.stat(task.path)
        return LiveOutcome(covered, size, st.st_mtime_ns, tail_of(task.path, size))
    before = os.stat(task.path)
    final_id = content_hash(task.path)
    after = os.stat(task.path)
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        final_id = None  # it grew again: the next step goes on from the checkpoint
    return LiveOutcome(ctx.info.duration, after.st_size, after.st_mtime_ns, tail_of(task.path, after.st_size),
                       final_id)


class IndexContext(VideoContext):
    """A VideoContext that remembers failures, so a stage whose input failed is not computed again."""

    def __init__(self, info: ProbeInfo, task: Task, progress: Callable[[str, float, float], None]) -> None:
        super().__init__(info, ArtifactStore(task.store), task.settings, progress=progress, guard=self._unchanged)
        self.task = task
        self.changed = False
        self.failed: dict[str, VidgraphError] = {
            cap: DependencyFailed(cap, line) for cap, line in task.prior_failures.items()}
        self.sent: set[str] = set()
        self.covered: dict[str, float] = {}

    def _unchanged(self) -> None:
        """The file is still the one that was hashed (same size and modification time) — for a growing file: it
        only grew — or ``SourceChanged``."""
        live = self.task.live
        if live is not None:
            try:
                ok = os.stat(self.task.path).st_size >= live.size and head_of(self.task.path) == live.head
            except OSError:
                ok = False
            if not ok:
                self.changed = True
                raise SourceChanged(self.task.path, "was replaced while it was being written",
                                    "what was read is dropped; it is indexed again as the file it is now")
            return
        if self.task.stat is None:
            return
        try:
            st = os.stat(self.task.path)
            now = (st.st_size, st.st_mtime_ns)
        except OSError:
            now = None
        if now != self.task.stat:
            self.changed = True
            raise SourceChanged(self.task.path, "changed while it was being indexed",
                                "what was read is dropped; it is indexed again as the file it is now")

    def get(self, stage: str) -> list[Record]:
        prior = self.failed.get(stage)
        if prior is not None:
            raise prior if isinstance(prior, DependencyFailed) else DependencyFailed(stage, str(prior))
        try:
            return super().get(stage)
        except VidgraphError as e:
            self.failed.setdefault(stage, e)
            raise

    def run_pass(self, send: Send, until: float | None) -> list[StageStatus]:
        """The stages that read frames or audio, in one pass (``tools.onepass``), each committed as it ends; a
        growing file (``until``) is read up to there, its checkpoint kept for the next step."""
        from ..tools.onepass import DependencyError, OnePass, clear

        live = self.task.live is not None
        stages = []
        for cap in self.task.stages:
            if cap not in STREAMED or cap in self.failed:
                continue
            try:
                tool = self.tool(cap)
                if not tool.streams or (not live and self.store.valid(self.video_id, tool)):
                    continue
            except VidgraphError:
                continue  # run_stage says why
            stages.append(cap)
        if not stages:
            return []
        started = time.perf_counter()
        results: list[StageStatus] = []
        checkpoints = self.store.video_dir(self.video_id)
        extra = {"until": until} if until is not None else {}

        def keep(stage: str, records: list[Record]) -> None:
            self.guard()
            tool = self.tool(stage)
            seconds = run.result.seconds.get(stage, time.perf_counter() - started)
            self.store.save(self.video_id, tool, records, seconds, extra)
            self.timings[stage] = seconds
            result = StageStatus(stage, "done", self.store.path(self.video_id, tool).name, "", "", round(seconds, 3),
                                 time.time(), ran=True)
            self.sent.add(stage)
            send(StageDone(self.task.key, result))
            results.append(result)

        run = OnePass(self, stages, checkpoints=checkpoints, until=until, on_stage=keep)
        try:
            outcome = run.run()
        except SourceChanged:
            return results
        self.covered = outcome.until
        for stage, error in outcome.errors.items():
            if stage in self.sent:
                continue
            cause = error.cause if isinstance(error, DependencyError) else ""
            self.failed.setdefault(stage, error)
            artifact = self.store.path(self.video_id, self.tool(stage)).name
            result = StageStatus(stage, "failed", artifact, one_line(str(error)), cause,
                                 round(outcome.seconds.get(stage, 0.0), 3), time.time(), ran=not cause)
            self.sent.add(stage)
            send(StageDone(self.task.key, result))
            results.append(result)
        if not live and not outcome.errors:
            clear(checkpoints)
        return results

    def run_stage(self, cap: str) -> StageStatus:
        """Run (or load) one stage; never raises: a failure is a result with one line."""
        start = time.perf_counter()
        artifact = ""
        try:
            artifact = self.store.path(self.video_id, self.tool(cap)).name
            self.get(cap)
        except DependencyFailed as e:
            return StageStatus(cap, "failed", artifact, str(e), e.stage, 0.0, time.time())
        except VidgraphError as e:
            cause = next((c for c, err in self.failed.items() if err is e and c != cap), "")
            return StageStatus(cap, "failed", artifact, one_line(str(e)), cause, time.perf_counter() - start,
                               time.time(), ran=not cause)
        except Exception as e:  # noqa: BLE001 - outside a tool's run (e.g. the cache): one line, keep going
            line = one_line(f"{self.path}: {cap} failed: {type(e).__name__}: {e} (run with --debug)")
            self.failed.setdefault(cap, ToolError(line))
            return StageStatus(cap, "failed", artifact, line, "", time.perf_counter() - start, time.time(), ran=True)
        ran = cap in self.timings
        seconds = self.timings[cap] if ran else artifact_seconds(self.store.video_dir(self.video_id) / artifact)
        return StageStatus(cap, "done", artifact, "", "", round(seconds, 3), time.time(), ran=ran)


class Throttled:
    """Forward tool progress at most every ``interval`` seconds per stage (and always the end)."""

    def __init__(self, send: Send, key: int, interval: float = 0.3) -> None:
        self.send, self.key, self.interval = send, key, interval
        self.last: dict[str, float] = {}

    def __call__(self, stage: str, done: float, total: float) -> None:
        now = time.monotonic()
        final = total > 0 and done >= total
        if final or done == 0 or now - self.last.get(stage, 0.0) >= self.interval:
            self.last[stage] = now
            self.send(ToolProgress(self.key, stage, float(done), float(total)))


# -- entry points of worker processes (--jobs) and Ray tasks ---------------------------------------------------------
_QUEUE: Any = None
"""Set once per worker process; the models a worker loads stay loaded across its videos."""


def worker_init(threads: int, queue: Any) -> None:
    global _QUEUE
    _QUEUE = queue
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = str(threads)


def pool_task(task: Task) -> Outcome:
    return index_video(task, _QUEUE.put)


def ray_task(task: Task, queue: Any) -> Outcome:
    return index_video(task, queue.put_nowait)
