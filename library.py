"""A library: a folder of videos, indexed once, resumable, safe to kill and to share.

    from vidgraph import Library
    lib = Library("~/videos")                      # index in ~/videos/.vidgraph/ (or index_dir=...)
    report = lib.index(["scan", "asr"], jobs=2)    # runs what is new or changed, skips what is done
    for video in lib.videos():
        print(video.name, video.status, video.duration)
    shots = lib.records("talk.mp4", "scan")

How it works:

- every video file under the folder (recursively; hidden files and folders and the index itself are skipped) is
  identified by its content hash, cached by (path, size, mtime) so unchanged files are not read again; a renamed
  or moved file keeps its hash, so its artifacts are reused; a video whose file is gone is forgotten;
- each capability of each video is one *stage*: the tool's records are written atomically as an artifact under
  ``<index>/artifacts/<video_id>/``, then the catalog row is committed; a crash loses at most the stage in flight,
  and a stage whose artifact exists is never computed again;
- one process writes the catalog (holding ``<index>/index.lock``); videos run serially, in ``jobs`` worker
  processes (each loading a model once and using ``cores // jobs`` threads), or as Ray tasks; the workers send
  progress and stage results back as messages; readers never wait (SQLite WAL).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .catalog import Catalog, FileProblem, FileRow, StageStatus, VideoEntry, db_text
from .config import Settings, load_settings
from .errors import ConfigError, MediaError, MissingExtraError, StoreError, ToolError, VidgraphError
from .records import Answer, ProbeInfo, Record
from .tools.base import ArtifactStore, VideoContext, read_artifact

if TYPE_CHECKING:
    from .memory import Memory, MemoryStats

_HASH = re.compile(r"[0-9a-f]{32}")
MEMORY_INPUTS = ("scan", "asr", "ocr", "detect", "tags")
"""Capabilities whose records go into a video's memory (those that are indexed)."""
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".wmv", ".flv"})
INDEX_DIR_NAME = ".vidgraph"

__all__ = ["IndexReport", "Library", "StageResult", "VideoResult", "VIDEO_EXTENSIONS", "RichReporter"]


# -- results ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageResult:
    """One capability of one video in one run."""

    capability: str
    status: str
    """``done`` or ``failed``."""
    seconds: float = 0.0
    error: str = ""
    caused_by: str = ""
    """When this stage could not run because another one failed: that capability."""
    ran: bool = False
    """True when the tool ran in this run (False: its artifact already existed)."""
    artifact: str = ""
    finished: float = 0.0


@dataclass(frozen=True)
class VideoResult:
    """What happened to one video file (or one unusable file) in a run."""

    path: str
    """Relative to the library folder."""
    video_id: str | None
    status: str
    """``done`` (indexed in this run), ``skipped`` (already indexed) or ``failed``."""
    stages: tuple[StageResult, ...] = ()
    duration: float = 0.0
    seconds: float = 0.0
    error: str = ""
    """One line: the file, the problem, what to do."""
    paths: tuple[str, ...] = ()
    worker: int = 0
    """Process id that indexed it (0 when nothing ran)."""

    @property
    def ran(self) -> bool:
        return any(s.ran for s in self.stages)

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("path", "video_id", "status", "duration", "seconds", "error", "worker")}
        out["paths"] = list(self.paths)
        out["stages"] = [s.__dict__ for s in self.stages]
        return out


@dataclass(frozen=True)
class IndexReport:
    """The outcome of ``Library.index``: per-file results, failures, hours of video, wall time."""

    folder: str
    capabilities: tuple[str, ...]
    results: tuple[VideoResult, ...]
    forgotten: tuple[str, ...] = ()
    seconds: float = 0.0
    jobs: int = 1
    backend: str = "serial"

    @property
    def failures(self) -> tuple[VideoResult, ...]:
        return tuple(r for r in self.results if r.status == "failed")

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def videos(self) -> int:
        """Files found: distinct videos (by content) plus files that are not usable videos."""
        return len(self.results)

    @property
    def indexed(self) -> tuple[VideoResult, ...]:
        """Videos for which a tool ran in this run."""
        return tuple(r for r in self.results if r.ran)

    @property
    def skipped(self) -> tuple[VideoResult, ...]:
        return tuple(r for r in self.results if r.status == "skipped")

    @property
    def hours(self) -> float:
        return sum(r.duration for r in self.results) / 3600

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "capabilities": list(self.capabilities), "seconds": round(self.seconds, 3),
                "jobs": self.jobs, "backend": self.backend, "hours": self.hours, "videos": self.videos,
                "failures": len(self.failures), "forgotten": list(self.forgotten),
                "results": [r.to_dict() for r in self.results]}


# -- progress events (for bars, logs, notebooks) -------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    text: str


@dataclass(frozen=True)
class Hashing:
    done: int
    total: int


@dataclass(frozen=True)
class Planned:
    videos: int
    todo: int


@dataclass(frozen=True)
class VideoStarted:
    key: int
    name: str
    stages: tuple[str, ...]


@dataclass(frozen=True)
class StageProgress:
    key: int
    stage: str
    done: float
    total: float


@dataclass(frozen=True)
class StageFinished:
    key: int
    result: StageResult


@dataclass(frozen=True)
class VideoFinished:
    key: int
    result: VideoResult


@dataclass(frozen=True)
class MemoryProgress:
    """Building the memory (events, entities, vectors) of ``name``: video ``done`` of ``total``."""

    done: int
    total: int
    name: str
    step: str = ""


Event = Message | Hashing | Planned | VideoStarted | StageProgress | StageFinished | VideoFinished | MemoryProgress
EventFn = Callable[[Event], None]


# -- the library ------------------------------------------------------------------------------------------------


class Library:
    """A folder of videos and its index (``<folder>/.vidgraph/`` unless ``index_dir`` is given)."""

    def __init__(self, folder: str | Path, index_dir: str | Path | None = None,
                 settings: Settings | None = None) -> None:
        self.folder = Path(folder).expanduser().resolve()
        if not self.folder.is_dir():
            raise ConfigError(f"{folder}: not a folder" if self.folder.exists() else f"{folder}: no such folder",
                              "pass the folder that holds your videos")
        self.index_dir = Path(index_dir).expanduser().resolve() if index_dir else self.folder / INDEX_DIR_NAME
        self.settings = settings or load_settings()

    def __repr__(self) -> str:
        return f"Library({str(self.folder)!r}, index_dir={str(self.index_dir)!r})"

    @property
    def catalog_path(self) -> Path:
        return self.index_dir / "catalog.sqlite"

    @property
    def artifacts_dir(self) -> Path:
        return self.index_dir / "artifacts"

    @property
    def exists(self) -> bool:
        return self.catalog_path.is_file()

    @property
    def memory(self) -> Memory:
        """The searchable memory of this library (events, entities, graph; see ``vidgraph.memory``)."""
        if getattr(self, "_memory", None) is None:
            from .memory import Memory

            self._memory = Memory(self.index_dir / "memory", self.settings)
        return self._memory

    def build_memory(self, video: str | Path | VideoEntry, caption: bool | None = None,
                     model: Any = None, progress: Callable[[str, float, float], None] | None = None) -> MemoryStats:
        """(Re)build the memory of one indexed video now; ``caption=True`` captions every clip with ``model``."""
        entry = self.get(video)
        records, artifacts = self._memory_inputs(entry)
        caption = self.settings.caption if caption is None else caption
        spec = (model if isinstance(model, str) else getattr(model, "spec", None)) or \
            (self.settings.vlm or self.settings.llm)
        fingerprint = self.memory.fingerprint(artifacts, spec if caption else None)
        return self.memory.build(entry.video_id, entry.duration, records, fingerprint, caption, model, progress)

    def _memory_inputs(self, entry: VideoEntry) -> tuple[dict[str, list[Record]], list[str]]:
        records, artifacts = {}, []
        for cap in MEMORY_INPUTS:
            stage = entry.stage(cap)
            if stage is not None and stage.status == "done":
                records[cap] = self.records(entry, cap)
                artifacts.append(stage.artifact)
        if "scan" not in records:
            raise StoreError(f"{entry.name}: scan is not indexed, so it has no shots to build events from",
                             f"run: vidgraph index {self.folder}")
        return records, artifacts

    # -- indexing -------------------------------------------------------------------------------------------------
    def index(self, capabilities: Iterable[str] | str | None = None, jobs: int = 1, ray: str | None = None,
              progress: bool | EventFn = True, wait: float | None = None,
              retry_failed: bool = False, memory: bool = True) -> IndexReport:
        """Index every new or changed video; skip what is done; forget deleted videos.

        ``capabilities``: e.g. ``["scan", "asr"]`` (default: scan, asr, ocr, detect, tags; ``probe`` always runs).
        ``jobs``: videos in parallel processes. ``ray``: a Ray address (``auto``, ``host:port``, or ``local`` to
        start a local cluster for this run) to run videos as Ray tasks. ``progress``: Rich bars on stderr, or a
        function that receives the events. ``wait``: seconds to wait for another indexer (None: forever).
        ``retry_failed``: run stages that failed in earlier runs again. ``memory``: then build the memory
        (events, entities, vectors) of every video whose tool outputs changed (captioned when
        ``settings.caption``).
        """
        caps = resolve_capabilities(capabilities, self.settings)
        jobs = max(1, int(jobs))
        settings = self._settings_for(jobs)
        reporter = _reporter(progress)
        with reporter as emit, self._writer_lock(wait, emit):
            catalog = Catalog(self.catalog_path, create=True)
            try:
                return _Indexer(self, catalog, caps, settings, emit, retry_failed, memory).run(jobs, ray)
            finally:
                catalog.close()

    def _settings_for(self, jobs: int) -> Settings:
        if jobs > 1 and "threads" not in self.settings.model_fields_set:
            return self.settings.with_(threads=max(1, (os.cpu_count() or 1) // jobs))
        return self.settings

    @contextmanager
    def _writer_lock(self, wait: float | None, emit: EventFn) -> Iterator[None]:
        from filelock import FileLock, Timeout

        self.index_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.index_dir / "index.lock"), thread_local=False)
        owner_file = self.index_dir / "index.pid"
        try:
            lock.acquire(timeout=0)
        except Timeout:
            owner = _read_owner(owner_file)
            limit = f" (up to {wait:g} s)" if wait is not None else ""
            emit(Message(f"another vidgraph index{owner} is running on {self.folder}; waiting{limit}…"))
            try:
                lock.acquire(timeout=-1 if wait is None else wait)
            except Timeout:
                raise StoreError(f"{self.folder} is being indexed by another process{owner}",
                                 "wait for it to finish, or pass --wait SECONDS to wait longer") from None
        try:
            owner_file.write_text(str(os.getpid()))
            yield
        finally:
            lock.release()

    # -- reading --------------------------------------------------------------------------------------------------
    def _reader(self) -> Catalog:
        return Catalog(self.catalog_path)

    def videos(self) -> list[VideoEntry]:
        """Every video in the catalog (by content), sorted by path; [] before the first index."""
        if not self.exists:
            return []
        with self._reader() as catalog:
            return catalog.entries(self.folder)

    def problems(self) -> list[FileProblem]:
        """Files that could not be used as videos at all, each with its one-line error."""
        if not self.exists:
            return []
        with self._reader() as catalog:
            return catalog.problems()

    def failures(self) -> list[tuple[str, str]]:
        """(path, one-line error) for every file or video that failed, in path order."""
        out = [(p.path, p.error) for p in self.problems()]
        out += [(v.name, v.error) for v in self.videos() if v.status == "failed"]
        return sorted(out)

    def get(self, video: str | Path | VideoEntry) -> VideoEntry:
        """A video by path (absolute or relative to the folder), file name, stem, or id (or an id prefix)."""
        if isinstance(video, VideoEntry):
            return video
        entries = self.videos()
        matches = _match(entries, str(video), self.folder)
        if len(matches) == 1:
            return matches[0]
        if matches:
            names = ", ".join(e.name for e in matches[:5])
            raise ConfigError(f"{video!s} matches {len(matches)} videos: {names}", "give the path or the video id")
        problem = next((p for p in self.problems() if str(video) in (p.path, Path(p.path).name)), None)
        if problem is not None:
            raise MediaError(problem.path, problem.error.split(": ", 1)[-1])
        raise StoreError(f"{video!s}: not in the index of {self.folder}",
                         f"list the videos with: vidgraph inspect {self.folder}")

    def records(self, video: str | Path | VideoEntry, capability: str) -> list[Record]:
        """The records of one capability (``probe``, ``scan``, ``asr``, ``ocr``, ``detect``, ...) of a video."""
        entry = self.get(video)
        if capability == "probe":
            return [entry.info]
        stage = entry.stage(capability)
        if stage is None:
            raise StoreError(f"{entry.name}: {capability} is not indexed",
                             f"run: vidgraph index {self.folder} --tools {capability}")
        if stage.status != "done":
            raise StoreError(f"{entry.name}: {capability} failed: {stage.error}",
                             f"fix the cause, then run: vidgraph index {self.folder} --retry-failed")
        path = self.artifacts_dir / entry.video_id / stage.artifact
        records = read_artifact(path)
        if records is None:
            raise StoreError(f"{entry.name}: the {capability} artifact is missing ({path})",
                             f"run: vidgraph index {self.folder} --tools {capability}")
        return records

    def context(self, video: str | Path | VideoEntry) -> VideoContext:
        """A ``VideoContext`` over this library's artifacts (tools run through the same cache)."""
        entry = self.get(video)
        return VideoContext(replace(entry.info, path=entry.path), ArtifactStore(self.artifacts_dir), self.settings)

    # -- asking -------------------------------------------------------------------------------------------------
    def ask(self, question: str, options: Sequence[str] | None = None, strategy: str = "auto", model: Any = None,
            videos: str | Sequence[str] | None = None, budget: Any = None, index: bool = True,
            progress: bool | EventFn = True, on_step: Callable[[Any], None] | None = None) -> Answer:
        """Answer a question about the videos, citing the moments that prove it (see ``vidgraph.agents``).

        ``options``: choices of a multiple-choice question (the answer's ``choice`` is a letter). ``strategy``:
        ``auto``, ``rag``, ``search``, ``mapreduce`` or ``uniform``. ``model``: a spec (``llamacpp:...``,
        ``openai:model@url``) or a ``ChatModel`` (default ``settings.llm``). ``videos``: a video or a list (name,
        path or id; default all). ``budget``: a ``vidgraph.agents.Budget``. With ``index``, whatever is not indexed
        yet is indexed first (with ``progress``).
        """
        from .agents import ask

        if index:
            report = self.index(progress=progress)
            if not self.memory.videos() and report.failures:
                raise StoreError(f"no video of {self.folder} could be indexed ({report.failures[0].error})",
                                 "fix the files listed, then ask again")
        if isinstance(videos, (str, Path)):
            videos = [videos]
        scope = [self.get(v).video_id for v in videos] if videos else None
        return ask(self, question, options, strategy, model, scope, budget, on_step)

    def view(self, video: str | Path | VideoEntry) -> Any:
        """A video's index (events with thumbnails and evidence) that renders as HTML in notebooks."""
        from .display import VideoIndex

        return VideoIndex(self, video)

    def _repr_html_(self) -> str:
        from .display import library_html

        return library_html(self)

    # -- forgetting -----------------------------------------------------------------------------------------------
    def forget(self, video: str | Path | VideoEntry, wait: float | None = None) -> VideoEntry:
        """Remove a video from the catalog and delete its artifacts (its file is not touched)."""
        entry = self.get(video)
        with self._writer_lock(wait, lambda event: None), Catalog(self.catalog_path) as catalog:
            _forget(catalog, self.artifacts_dir, entry.video_id)
            if (self.index_dir / "memory").is_dir():
                self.memory.drop(entry.video_id)
        return entry


def _forget(catalog: Catalog, artifacts: Path, video_id: str) -> None:
    """Catalog rows first (one transaction), then the artifacts; its memory goes at the next index or forget."""
    catalog.forget_video(video_id)
    shutil.rmtree(artifacts / video_id, ignore_errors=True)


def _read_owner(owner_file: Path) -> str:
    try:
        return f" (pid {int(owner_file.read_text().strip())})"
    except (OSError, ValueError):
        return ""


def _match(entries: list[VideoEntry], query: str, folder: Path) -> list[VideoEntry]:
    path = Path(query).expanduser()
    if path.exists() or path.is_symlink():
        resolved = path.absolute().parent.resolve() / path.name  # a link to a video is its own path
        try:
            rel = resolved.relative_to(folder).as_posix()
        except ValueError:
            rel = None
        hits = [e for e in entries if rel is not None and db_text(rel) in e.paths]
        if not hits and path.is_file():  # not under its known path: find it by content
            from .tools.decode import content_hash

            vid = content_hash(path)
            hits = [e for e in entries if e.video_id == vid]
        return hits
    for test in (
        lambda e: query in e.paths,
        lambda e: query == e.video_id,
        lambda e: len(query) >= 6 and e.video_id.startswith(query.lower()),
        lambda e: any(Path(p).name == query for p in e.paths),
        lambda e: any(Path(p).stem == query for p in e.paths),
        lambda e: any(Path(p).name.lower() == query.lower() or Path(p).stem.lower() == query.lower()
                      for p in e.paths),
    ):
        hits = [e for e in entries if test(e)]
        if hits:
            return hits
    return []


def _artifact_seconds(path: Path) -> float:
    try:
        with open(path, encoding="utf-8") as f:
            return float(json.loads(f.readline()).get("seconds", 0.0))
    except (OSError, ValueError):
        return 0.0


# -- capabilities -----------------------------------------------------------------------------------------------------


def resolve_capabilities(capabilities: Iterable[str] | str | None, settings: Settings) -> tuple[str, ...]:
    """Validated capabilities in order (``probe`` first); raises one line if a tool cannot run here."""
    from .tools.registry import CAPABILITIES, INDEX_CAPABILITIES, tool_class, tool_name_for

    if capabilities is None:
        wanted = list(INDEX_CAPABILITIES)
    elif isinstance(capabilities, str):
        wanted = [c.strip() for c in capabilities.split(",") if c.strip()]
    else:
        wanted = [c.strip() for item in capabilities for c in item.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in CAPABILITIES]
    if unknown:
        raise ConfigError(f"unknown tool {unknown[0]!r}", f"choose from: {', '.join(CAPABILITIES)}")
    if not wanted:
        raise ConfigError("no tools to run", f"choose from: {', '.join(CAPABILITIES)}")
    out = ["probe"] + [c for i, c in enumerate(wanted) if c != "probe" and c not in wanted[:i]]
    for cap in out[1:]:
        name = tool_name_for(cap, settings)
        try:
            cls = tool_class(name)
        except VidgraphError:
            raise
        except Exception as e:  # a broken tool module
            raise ToolError(f"tool {name!r} cannot be loaded: {type(e).__name__}: {e}",
                            "run: vidgraph doctor") from e
        available = cls.availability(settings)
        if not available.ok:
            raise ToolError(f"tool {name!r} ({cap}) cannot run here: {available.reason}",
                            available.fix or "run: vidgraph doctor")
    return tuple(out)


# -- one video, in whichever process runs it ----------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    key: int
    path: str
    video_id: str
    info: dict | None
    capabilities: tuple[str, ...]
    store: str
    settings: Settings
    prior_failures: dict[str, str] = field(default_factory=dict)
    """Stages that failed in an earlier run and are not retried: capability -> error line."""


@dataclass(frozen=True)
class _Outcome:
    key: int
    info: dict | None
    stages: tuple[StageResult, ...]
    problem: tuple[str, str] | None
    """(problem, hint) when the file cannot be used as a video at all."""
    worker: int
    seconds: float
    crashed: bool = False
    """The process running it died: nothing is recorded, the next run retries."""


class _DependencyFailed(VidgraphError):
    def __init__(self, capability: str, line: str) -> None:
        self.capability = capability
        super().__init__(line)


def _one_line(text: str) -> str:
    return db_text(" ".join(text.replace("\r", "\n").split("\n")).strip())


def _index_video(task: _Task, emit: Callable[[tuple], None]) -> _Outcome:
    """Probe (when new) and run the stages of one video; every result is also sent with ``emit`` at once."""
    from .tools.decode import probe

    start = time.perf_counter()
    emit(("start", task.key, os.getpid()))
    try:
        if task.info is not None:
            info = replace(ProbeInfo.from_dict(task.info), path=task.path)
        else:
            info = probe(task.path, video_id=task.video_id, source="probe@1")
    except MediaError as e:
        return _Outcome(task.key, None, (), (e.problem, e.hint), os.getpid(), time.perf_counter() - start)
    except Exception as e:  # noqa: BLE001 - any other failure to read the file is still one line
        return _Outcome(task.key, None, (), (f"cannot be probed ({type(e).__name__}: {e})",
                                             "check that the file plays; run with --debug for details"),
                        os.getpid(), time.perf_counter() - start)
    if task.info is None:
        emit(("probe", task.key, info.to_dict()))
    ctx = _IndexContext(info, task, _Throttled(emit, task.key))
    results = []
    for cap in task.capabilities:
        result = ctx.run_stage(cap)
        emit(("stage", task.key, result))
        results.append(result)
    new_info = info.to_dict() if task.info is None else None
    return _Outcome(task.key, new_info, tuple(results), None, os.getpid(), time.perf_counter() - start)


class _IndexContext(VideoContext):
    """A VideoContext that remembers failures, so a stage whose input failed is not computed again."""

    def __init__(self, info: ProbeInfo, task: _Task, progress: Callable[[str, float, float], None]) -> None:
        super().__init__(info, ArtifactStore(task.store), task.settings, progress=progress)
        self.failed: dict[str, VidgraphError] = {
            cap: _DependencyFailed(cap, line) for cap, line in task.prior_failures.items()}

    def get(self, capability: str) -> list[Record]:
        prior = self.failed.get(capability)
        if prior is not None:
            raise prior if isinstance(prior, _DependencyFailed) else _DependencyFailed(capability, str(prior))
        try:
            return super().get(capability)
        except VidgraphError as e:
            self.failed.setdefault(capability, e)
            raise

    def run_stage(self, cap: str) -> StageResult:
        """Run (or load) one capability; never raises: a failure is a result with one line."""
        start = time.perf_counter()
        artifact = ""
        try:
            artifact = self.store.path(self.video_id, self.tool(cap)).name
            self.get(cap)
        except _DependencyFailed as e:
            return StageResult(cap, "failed", 0.0, str(e), e.capability, False, artifact, time.time())
        except VidgraphError as e:
            cause = next((c for c, err in self.failed.items() if err is e and c != cap), "")
            return StageResult(cap, "failed", time.perf_counter() - start, _one_line(str(e)), cause, not cause,
                               artifact, time.time())
        except Exception as e:  # noqa: BLE001 - outside a tool's run (e.g. the cache): one line, keep going
            line = _one_line(f"{self.path}: {cap} failed: {type(e).__name__}: {e} (run with --debug)")
            self.failed.setdefault(cap, ToolError(line))
            return StageResult(cap, "failed", time.perf_counter() - start, line, "", True, artifact, time.time())
        ran = cap in self.timings
        seconds = self.timings[cap] if ran else _artifact_seconds(self.store.video_dir(self.video_id) / artifact)
        return StageResult(cap, "done", round(seconds, 3), "", "", ran, artifact, time.time())


class _Throttled:
    """Forward tool progress at most every ``interval`` seconds per stage (and always the end)."""

    def __init__(self, emit: Callable[[tuple], None], key: int, interval: float = 0.3) -> None:
        self.emit, self.key, self.interval = emit, key, interval
        self.last: dict[str, float] = {}

    def __call__(self, stage: str, done: float, total: float) -> None:
        now = time.monotonic()
        final = total > 0 and done >= total
        if final or done == 0 or now - self.last.get(stage, 0.0) >= self.interval:
            self.last[stage] = now
            self.emit(("progress", self.key, (stage, float(done), float(total))))


# worker processes (--jobs): the queue is set once per process; models stay loaded across videos
_QUEUE: Any = None


def _worker_init(threads: int, queue: Any) -> None:
    global _QUEUE
    _QUEUE = queue
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = str(threads)


def _pool_task(task: _Task) -> _Outcome:
    return _index_video(task, _QUEUE.put)


def _ray_task(task: _Task, queue: Any) -> _Outcome:
    return _index_video(task, queue.put_nowait)


# -- one run ----------------------------------------------------------------------------------------------------


@dataclass
class _Found:
    rel: str
    """Catalog key: path relative to the folder, POSIX, valid UTF-8."""
    path: str
    """The real path (may hold surrogate escapes)."""


class _Indexer:
    """One ``index`` run: find files, identify them, forget the gone, plan, execute, record."""

    def __init__(self, library: Library, catalog: Catalog, caps: tuple[str, ...], settings: Settings,
                 emit: EventFn, retry_failed: bool, memory: bool = True) -> None:
        from .tools.registry import tool_for

        self.lib, self.catalog, self.caps, self.settings, self.emit = library, catalog, caps, settings, emit
        self.retry_failed = retry_failed
        self.build_memory = memory
        self.store = ArtifactStore(library.artifacts_dir)
        self.tools = {cap: tool_for(cap, settings) for cap in caps if cap != "probe"}
        self.tasks: dict[int, _Task] = {}
        self.task_paths: dict[int, list[_Found]] = {}
        self.applied: dict[int, set[str]] = {}
        self.prior: dict[int, dict[str, StageStatus]] = {}
        self.results: list[VideoResult] = []
        self.started: set[int] = set()
        self.backend = "serial"

    # -- the run ----------------------------------------------------------------------------------------------
    def run(self, jobs: int, ray: str | None) -> IndexReport:
        start = time.perf_counter()
        run_id = self.catalog.start_run(list(self.caps), jobs)
        status = "interrupted"
        forgotten: list[str] = []
        try:
            self._clean_temporary_files()
            found, problems, unreadable = _discover(self.lib.folder, self.lib.index_dir)
            groups = self._identify(found, problems, unreadable)
            forgotten = self._forget_missing(groups)
            tasks = self._plan(groups)
            self.emit(Planned(len(groups) + len(problems), len(tasks)))
            self._execute(tasks, jobs, ray)
            if self.build_memory:
                self._sync_memory()
            status = "done"
        finally:
            seconds = time.perf_counter() - start
            failed = sum(r.status == "failed" for r in self.results)
            self.catalog.finish_run(run_id, status, len(self.results), failed, seconds)
        results = tuple(sorted(self.results, key=lambda r: r.path))
        return IndexReport(str(self.lib.folder), self.caps, results, tuple(forgotten), seconds, jobs, self.backend)

    # -- memory: built by this process (the only writer) as soon as a video's tools are done ------------------
    def _sync_memory(self) -> None:
        """Build the memory of every video whose inputs changed; drop the memory of forgotten videos."""
        entries = self.catalog.entries(self.lib.folder)
        self.lib.memory.keep_only({e.video_id for e in entries})
        self._build_memories(entries)

    def _build_memories(self, entries: list[VideoEntry]) -> None:
        memory = self.lib.memory
        caption = self.settings.caption
        spec = (self.settings.vlm or self.settings.llm) if caption else None
        todo = []
        for entry in entries:
            if (scan := entry.stage("scan")) is None or scan.status != "done":
                continue
            artifacts = [s.artifact for c in MEMORY_INPUTS if (s := entry.stage(c)) and s.status == "done"]
            fingerprint = memory.fingerprint(artifacts, spec)
            prior = entry.stage("memory")
            if memory.is_current(entry.video_id, fingerprint) and prior is not None and prior.status == "done":
                continue
            if prior is not None and prior.status == "failed" and prior.artifact == fingerprint \
                    and not self.retry_failed:
                continue
            todo.append((entry, fingerprint))
        for n, (entry, fingerprint) in enumerate(todo):
            self.emit(MemoryProgress(n, len(todo), entry.name))

            def step(name: str, done: float, total: float, n: int = n, entry: VideoEntry = entry) -> None:
                self.emit(MemoryProgress(n, len(todo), entry.name, f"{name} {done:.0f}/{total:.0f}"))

            started = time.perf_counter()
            try:
                records, _ = self.lib._memory_inputs(entry)
                memory.build(entry.video_id, entry.duration, records, fingerprint, caption, None, step)
                result = StageResult("memory", "done", time.perf_counter() - started, ran=True,
                                     artifact=fingerprint, finished=time.time())
            except VidgraphError as e:
                line = _one_line(f"{entry.name}: memory: {e}")
                result = StageResult("memory", "failed", time.perf_counter() - started, line, ran=True,
                                     artifact=fingerprint, finished=time.time())
            self.catalog.put_stage(entry.video_id, StageStatus("memory", result.status, result.artifact,
                                                               result.error, "", round(result.seconds, 3),
                                                               result.finished))
            self._add_stage_result(entry.video_id, result)
        if todo:
            self.emit(MemoryProgress(len(todo), len(todo), ""))

    def _add_stage_result(self, video_id: str, stage: StageResult) -> None:
        for i, r in enumerate(self.results):
            if r.video_id == video_id:
                stages = tuple(s for s in r.stages if s.capability != stage.capability) + (stage,)
                status = "failed" if stage.status == "failed" else ("done" if r.status == "skipped" else r.status)
                error = r.error or (stage.error if stage.status == "failed" else "")
                self.results[i] = replace(r, stages=stages, status=status, error=error)

    def _clean_temporary_files(self) -> None:
        """Half-written artifacts of a killed run (we hold the writer lock: nobody else is writing)."""
        for tmp in self.lib.artifacts_dir.glob("*/.*.tmp"):
            tmp.unlink(missing_ok=True)

    # -- identify: content hash per file, cached by (path, size, mtime) ---------------------------------------
    def _identify(self, found: list[_Found], problems: list[tuple[_Found, str]],
                  unreadable: list[str]) -> dict[str, list[_Found]]:
        from .tools.decode import content_hash

        known = self.catalog.files()
        rows: list[FileRow] = []
        groups: dict[str, list[_Found]] = {}
        to_hash = {f.rel for f in found if not _cached(known.get(f.rel), f.path)}
        hashed = 0
        for f in found:
            row = known.get(f.rel)
            try:
                st = os.stat(f.path)
            except OSError:  # gone since it was listed
                continue
            if f.rel in to_hash:
                if len(to_hash) > 1:
                    self.emit(Hashing(hashed, len(to_hash)))
                try:
                    vid = content_hash(f.path)
                except MediaError as e:
                    problems.append((f, e.problem + (f" ({e.hint})" if e.hint else "")))
                    continue
                finally:
                    hashed += 1
            else:
                vid = row.video_id  # type: ignore[union-attr]
            rows.append(FileRow(f.rel, st.st_size, st.st_mtime_ns, vid, row.error if row else None))
            groups.setdefault(vid, []).append(f)  # type: ignore[arg-type]
        if len(to_hash) > 1:
            self.emit(Hashing(hashed, len(to_hash)))
        for f, problem in problems:
            line = f"{f.rel}: {problem}"
            rows.append(FileRow(f.rel, -1, -1, None, line))
            self.results.append(VideoResult(f.rel, None, "failed", error=line, paths=(f.rel,)))
        self.catalog.put_files(rows)
        present = {r.path for r in rows}
        gone = [p for p in known if p not in present and not _under(p, unreadable)]
        self.catalog.remove_files(gone)
        return groups

    def _forget_missing(self, groups: dict[str, list[_Found]]) -> list[str]:
        """Forget videos none of whose files exist any more (their catalog rows and artifacts)."""
        keep = set(groups) | {r.video_id for r in self.catalog.files().values() if r.video_id}
        forgotten = []
        for entry in self.catalog.entries(self.lib.folder):
            if entry.video_id not in keep:
                _forget(self.catalog, self.lib.artifacts_dir, entry.video_id)
                forgotten.append(entry.paths[0] if entry.paths else _relative_to(entry.path, self.lib.folder))
        if self.lib.artifacts_dir.is_dir():  # artifacts of content that is gone (e.g. a killed first run)
            for folder in self.lib.artifacts_dir.iterdir():
                if folder.is_dir() and _HASH.fullmatch(folder.name) and folder.name not in keep:
                    shutil.rmtree(folder, ignore_errors=True)
        return forgotten

    # -- plan: what each video still needs ----------------------------------------------------------------------
    def _plan(self, groups: dict[str, list[_Found]]) -> list[_Task]:
        entries = {e.video_id: e for e in self.catalog.entries(self.lib.folder)}
        tasks = []
        for vid, files in sorted(groups.items(), key=lambda kv: kv[1][0].rel):
            entry = entries.get(vid)
            if entry is not None and Path(entry.path) != self.lib.folder / files[0].rel:
                self.catalog.set_video_path(vid, files[0].rel)
            todo, prior = self._todo(vid, entry)
            if entry is not None and not todo:
                self.results.append(self._skipped(entry, files, prior))
                continue
            key = len(self.tasks)
            task = _Task(key, os.path.abspath(files[0].path), vid, entry.info.to_dict() if entry else None,
                         tuple(todo), str(self.store.root), self.settings,
                         {cap: s.error for cap, s in prior.items()})
            self.tasks[key] = task
            self.task_paths[key] = files
            self.applied[key] = set()
            self.prior[key] = prior
            tasks.append(task)
        return tasks

    def _todo(self, vid: str, entry: VideoEntry | None) -> tuple[list[str], dict[str, StageStatus]]:
        todo, prior = [], {}
        for cap, tool in self.tools.items():
            expected = self.store.path(vid, tool).name
            stage = entry.stage(cap) if entry else None
            if stage is not None and stage.artifact == expected:
                if stage.status == "done" and (self.store.video_dir(vid) / expected).is_file():
                    continue
                if stage.status == "failed" and not self.retry_failed:
                    prior[cap] = stage
                    continue
            todo.append(cap)
        return todo, prior

    def _skipped(self, entry: VideoEntry, files: list[_Found], prior: dict[str, StageStatus]) -> VideoResult:
        stages = tuple(StageResult(cap, s.status, s.seconds, s.error, s.caused_by, False, s.artifact, s.updated)
                       for cap in self.tools if (s := entry.stage(cap)) is not None)
        failed = [s for s in stages if s.status == "failed"]
        error = ""
        if failed:
            error = sorted(failed, key=lambda s: (bool(s.caused_by), s.finished))[0].error
        return VideoResult(files[0].rel, entry.video_id, "failed" if failed else "skipped", stages, entry.duration,
                           error=error, paths=tuple(f.rel for f in files))

    # -- execute ----------------------------------------------------------------------------------------------
    def _execute(self, tasks: list[_Task], jobs: int, ray: str | None) -> None:
        if not tasks:
            return
        if ray:
            self.backend = "ray"
            self._run_ray(tasks, ray)
        elif jobs > 1 and len(tasks) > 1:
            self.backend = "processes"
            self._run_pool(tasks, jobs)
        else:
            for task in tasks:
                self._finish(_index_video(task, self._on_message))

    def _run_pool(self, tasks: list[_Task], jobs: int) -> None:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        context = multiprocessing.get_context("spawn")
        remaining = list(tasks)
        with context.Manager() as manager:
            queue = manager.Queue()
            while remaining:
                self.started = set()
                retry: list[_Task] = []
                pool = ProcessPoolExecutor(min(jobs, len(remaining)), mp_context=context, initializer=_worker_init,
                                           initargs=(self.settings.threads, queue))
                try:
                    futures = {pool.submit(_pool_task, t): t for t in remaining}
                    pending = set(futures)
                    while pending:
                        done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                        self._drain(queue)
                        for future in done:
                            task = futures[future]
                            try:
                                self._finish(future.result())
                            except BrokenProcessPool:
                                if task.key in self.started:
                                    self._finish(self._crashed(task, "the worker process died (out of memory?)"))
                                else:
                                    retry.append(task)
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
                pool.shutdown(wait=True)
                if retry and len(retry) == len(remaining):
                    for task in retry:
                        self._finish(self._crashed(task, "worker processes cannot start"))
                    retry = []
                remaining = retry

    def _run_ray(self, tasks: list[_Task], address: str) -> None:
        try:
            import ray
        except ImportError as e:
            raise MissingExtraError("--ray", "ray", "ray") from e
        from ray.util.queue import Queue

        started = False
        if not ray.is_initialized():
            import logging

            options = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
            try:
                if address == "local":
                    ray.init(num_cpus=os.cpu_count() or 1, **options)
                else:
                    _check_reachable(address)
                    ray.init(address=address, **options)
            except (ConnectionError, ValueError, RuntimeError) as e:
                raise ConfigError(f"cannot connect to the Ray cluster at {address!r}: {_one_line(str(e))}",
                                  "start one with 'ray start --head', or pass --ray local") from e
            started = True
        try:
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            threads = max(1, min(self.settings.threads, cpus))
            settings = self.settings if threads == self.settings.threads else self.settings.with_(threads=threads)
            queue = Queue(actor_options={"num_cpus": 0})
            remote = ray.remote(_ray_task).options(num_cpus=threads, max_retries=0)
            refs = {remote.remote(replace(t, settings=settings), queue): t for t in tasks}
            while refs:
                ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.2)
                self._drain(queue)
                for ref in ready:
                    task = refs.pop(ref)
                    try:
                        outcome = ray.get(ref)
                    except Exception as e:  # noqa: BLE001 - a dead worker or node
                        outcome = self._crashed(task, f"the Ray task failed: {type(e).__name__}")
                    self._drain(queue)
                    self._finish(outcome)
        finally:
            if started:
                ray.shutdown()

    def _drain(self, queue: Any) -> None:
        import queue as queue_module

        while True:
            try:
                message = queue.get_nowait()
            except (queue_module.Empty, EOFError, OSError):
                return
            except Exception as e:  # ray.util.queue.Empty is its own class
                if type(e).__name__ == "Empty":
                    return
                raise
            self._on_message(message)

    # -- messages from workers: the catalog is written here, one transaction per stage ------------------------
    def _on_message(self, message: tuple) -> None:
        kind, key, payload = message
        task = self.tasks[key]
        if kind == "start":
            self.started.add(key)
            self.emit(VideoStarted(key, self.task_paths[key][0].rel, task.capabilities))
        elif kind == "progress":
            self.emit(StageProgress(key, *payload))
        elif kind == "probe":
            self._apply_probe(key, payload)
        elif kind == "stage":
            self._apply_stage(key, payload)

    def _apply_probe(self, key: int, info: dict) -> None:
        if "probe" not in self.applied[key]:
            self.applied[key].add("probe")
            self.catalog.put_video(ProbeInfo.from_dict(info), self.task_paths[key][0].rel)

    def _apply_stage(self, key: int, result: StageResult) -> StageResult:
        result = replace(result, error=self._relative(result.error, key))
        if result.capability not in self.applied[key]:
            self.applied[key].add(result.capability)
            self.catalog.put_stage(self.tasks[key].video_id, StageStatus(
                result.capability, result.status, result.artifact, result.error, result.caused_by,
                round(result.seconds, 3), result.finished))
            self.emit(StageFinished(key, result))
        return result

    def _relative(self, line: str, key: int) -> str:
        line = line.replace(self.tasks[key].path, self.task_paths[key][0].rel)
        return _one_line(line.replace(str(self.lib.folder) + os.sep, ""))

    def _finish(self, outcome: _Outcome) -> None:
        key = outcome.key
        task, files = self.tasks[key], self.task_paths[key]
        paths = tuple(f.rel for f in files)
        if outcome.problem is not None:
            problem, hint = outcome.problem
            lines = {f.rel: _one_line(f"{f.rel}: {problem}" + (f" ({hint})" if hint else "")) for f in files}
            self.catalog.set_file_errors(task.video_id, lines)
            result = VideoResult(files[0].rel, task.video_id, "failed", (), 0.0, outcome.seconds,
                                 lines[files[0].rel], paths, outcome.worker)
        else:
            if outcome.crashed:
                self.applied[key].update(task.capabilities)
            if outcome.info is not None:
                self._apply_probe(key, outcome.info)
            stages = [self._apply_stage(key, s) for s in outcome.stages]
            stages += [StageResult(cap, "failed", s.seconds, s.error, s.caused_by, False, s.artifact, s.updated)
                       for cap, s in self.prior[key].items()]
            info = outcome.info or task.info or {}
            failed = sorted((s for s in stages if s.status == "failed"), key=lambda s: (bool(s.caused_by), s.finished))
            result = VideoResult(files[0].rel, task.video_id, "failed" if failed else "done", tuple(stages),
                                 float(info.get("duration", 0.0)), outcome.seconds,
                                 failed[0].error if failed else "", paths, outcome.worker)
        self.results.append(result)
        self.emit(VideoFinished(key, result))
        if self.build_memory and result.status == "done":
            self._build_memories(self.catalog.entries(self.lib.folder, [task.video_id]))

    def _crashed(self, task: _Task, why: str) -> _Outcome:
        rel = self.task_paths[task.key][0].rel
        line = f"{rel}: {why} while indexing it (run again; it resumes after the last finished stage)"
        stages = tuple(StageResult(cap, "failed", error=line) for cap in task.capabilities[:1])
        return _Outcome(task.key, None, stages, None, 0, 0.0, crashed=True)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds, with one line, when a Ray head's host:port does not answer (ray.init would retry long)."""
    import socket

    host_port = address.split("://", 1)[-1]
    if address == "auto" or ":" not in host_port:
        return
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot connect to the Ray cluster at {address!r}: {e}",
                          "start one with 'ray start --head', check the address, or pass --ray local") from None


def _relative_to(path: str, folder: Path) -> str:
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return path


def _cached(row: FileRow | None, path: str) -> bool:
    if row is None or row.video_id is None:
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    return row.size == st.st_size and row.mtime_ns == st.st_mtime_ns


def _under(rel: str, folders: list[str]) -> bool:
    return any(rel == f or rel.startswith(f.rstrip("/") + "/") or f == "" for f in folders)


def _discover(folder: Path, index_dir: Path) -> tuple[list[_Found], list[tuple[_Found, str]], list[str]]:
    """Video files under ``folder`` (recursively, in path order), unusable ones with their problem, and the
    sub-folders that could not be listed (their videos are kept in the catalog, not forgotten)."""
    from .tools.decode import _os_error

    found: list[_Found] = []
    problems: list[tuple[_Found, str]] = []
    unreadable: list[str] = []

    def on_error(e: OSError) -> None:
        where = Path(e.filename) if e.filename else folder
        rel = db_text(where.relative_to(folder).as_posix()) if where != folder else ""
        unreadable.append(rel)
        problems.append((_Found(rel or ".", str(where)),
                         f"folder cannot be listed ({e.strerror}) (make it readable: chmod +rx, or move it out)"))

    for root, dirs, files in os.walk(folder, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(root, d) != index_dir)
        for name in sorted(files):
            if name.startswith(".") or os.path.splitext(name)[1].lower() not in VIDEO_EXTENSIONS:
                continue
            path = os.path.join(root, name)
            item = _Found(db_text(Path(path).relative_to(folder).as_posix()), path)
            try:
                st = os.stat(path)
            except OSError as e:
                err = _os_error(path, e)
                problems.append((item, err.problem + (f" ({err.hint})" if err.hint else "")))
                continue
            if not stat.S_ISREG(st.st_mode):
                kind = "a named pipe" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) \
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a file"
                problems.append((item, f"is {kind}, not a regular file (replace it with the video file)"))
            elif st.st_size == 0:
                problems.append((item, "empty file (0 bytes) (re-copy or re-download it)"))
            elif not os.access(path, os.R_OK):
                problems.append((item, "permission denied (make the file readable: chmod +r, or move it out)"))
            else:
                found.append(item)
    return found, problems, unreadable


# -- progress display ---------------------------------------------------------------------------------------------


class _NoReporter:
    def __enter__(self) -> EventFn:
        return lambda event: None

    def __exit__(self, *exc: object) -> None:
        return None


class _CallbackReporter:
    def __init__(self, fn: EventFn) -> None:
        self.fn = fn

    def __enter__(self) -> EventFn:
        return self.fn

    def __exit__(self, *exc: object) -> None:
        return None


def _reporter(progress: bool | EventFn) -> Any:
    if progress is True:
        return RichReporter()
    if hasattr(progress, "__enter__"):
        return progress
    if callable(progress):
        return _CallbackReporter(progress)
    return _NoReporter()


class RichReporter:
    """Rich progress bars on a terminal: one per video being indexed (its current stage, with ETA) and one for
    the run. Off a terminal (logs, pipes) only messages are printed; the caller prints the summary."""

    STEP = 100.0

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console

        self.console = console or Console(stderr=True)
        self.progress: Any = None
        self.overall: Any = None
        self.tasks: dict[int, tuple[Any, tuple[str, ...], str]] = {}
        self.fraction: dict[int, float] = {}
        self.hash_task: Any = None
        self.memory_task: Any = None

    def __enter__(self) -> EventFn:
        if self.console.is_terminal:
            from rich.progress import (BarColumn, Progress, SpinnerColumn, TaskProgressColumn,
                                       TextColumn, TimeElapsedColumn, TimeRemainingColumn)

            self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                                     BarColumn(), TaskProgressColumn(), TimeElapsedColumn(), TextColumn("eta"),
                                     TimeRemainingColumn(), TextColumn("{task.fields[note]}", markup=False),
                                     console=self.console, transient=True, refresh_per_second=8)
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: Event) -> None:
        if isinstance(event, Message):
            self.console.print(event.text, style="yellow", markup=False, highlight=False, soft_wrap=True)
            return
        p = self.progress
        if p is None:
            return
        if isinstance(event, Hashing):
            if self.hash_task is None:
                self.hash_task = p.add_task("hashing new files", total=event.total, note="")
            p.update(self.hash_task, completed=event.done)
            if event.done >= event.total:
                p.remove_task(self.hash_task)
                self.hash_task = None
        elif isinstance(event, Planned):
            done = event.videos - event.todo
            self.overall = p.add_task(f"videos ({done} of {event.videos} already indexed)",
                                      total=max(1, event.todo) * self.STEP, note="")
        elif isinstance(event, VideoStarted):
            task = p.add_task(f"  {event.name}", total=max(1, len(event.stages)) * self.STEP, note="probe")
            self.tasks[event.key] = (task, event.stages, "")
            p.refresh()
        elif isinstance(event, StageProgress) and event.key in self.tasks:
            task, stages, _ = self.tasks[event.key]
            index = stages.index(event.stage) if event.stage in stages else 0
            part = min(1.0, event.done / event.total) if event.total > 0 else 0.0
            completed = (index + part) * self.STEP
            p.update(task, completed=completed, note=event.stage)
            self._overall(event.key, completed / (max(1, len(stages)) * self.STEP))
            if part == 0.0 or part == 1.0:  # a stage starts or ends: draw it now
                p.refresh()
        elif isinstance(event, VideoFinished) and event.key in self.tasks:
            task, _, _ = self.tasks.pop(event.key)
            p.remove_task(task)
            self._overall(event.key, 1.0)
        elif isinstance(event, MemoryProgress):
            if self.memory_task is None:
                self.memory_task = p.add_task("memory (events, entities, vectors)", total=event.total, note="")
            p.update(self.memory_task, completed=event.done, note=f"{event.name} {event.step}".strip())
            if event.done >= event.total:
                p.remove_task(self.memory_task)
                self.memory_task = None

    def _overall(self, key: int, fraction: float) -> None:
        if self.overall is None:
            return
        self.fraction[key] = max(self.fraction.get(key, 0.0), fraction)
        self.progress.update(self.overall, completed=sum(self.fraction.values()) * self.STEP)
