"""A library: a folder of videos, indexed once, resumable, safe to kill and to share.

    from vidgraph import Library
    lib = Library("~/videos")                      # index in ~/videos/.vidgraph/ (or index_dir=...)
    report = lib.index(["scan", "asr"], jobs=2)    # runs what is new or changed, skips what is done
    for video in lib.videos():
        print(video.name, video.status, video.duration)
    shots = lib.records("talk.mp4", "scan")
    answer = lib.ask("What is the locker code?")

How it works (see ``vidgraph.index``): every video file under the folder is identified by its content hash (cached
by path, size and mtime), so renamed or moved files reuse their work; each stage of each video (scan, asr, …)
writes its records as an artifact under ``<index>/artifacts/<video_id>/``, committed to the catalog once written; one
process writes (holding ``<index>/index.lock``), readers never wait (SQLite WAL).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings, load_settings
from .errors import ConfigError, MediaError, StoreError
from .index.artifacts import forget, memory_inputs, stage_records
from .index.catalog import Catalog, FileProblem, VideoEntry, db_text
from .index.discovery import INDEX_DIR_NAME
from .index.lock import writer_lock
from .index.progress import Notice, ProgressSink
from .index.reporter import reporter
from .memory.sqlite import can_write
from .index.results import IndexReport
from .records import Record
from .tools.store import ArtifactStore
from .tools.context import VideoContext

if TYPE_CHECKING:
    from .agents import Budget, Source
    from .agents.answer import Answer, Step
    from .agents.answer import Exported
    from .memory import Memory, MemoryStats
    from .models.base import ChatModel

__all__ = ["Library"]


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
        self._memory: Memory | None = None

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
        if self._memory is None:
            from .memory import Memory

            self._memory = Memory(self.index_dir / "memory", self.settings)
        return self._memory

    def build_memory(self, video: str | Path | VideoEntry, caption: bool | None = None,
                     model: ChatModel | str | None = None,
                     progress: Callable[[str, float, float], None] | None = None) -> MemoryStats:
        """(Re)build the memory of one indexed video now; ``caption=True`` captions every clip with ``model``."""
        entry = self.get(video)
        records, artifacts = memory_inputs(entry, self.artifacts_dir, self.folder)
        caption = self.settings.caption if caption is None else caption
        spec = (model if isinstance(model, str) else getattr(model, "spec", None)) or \
            (self.settings.vlm or self.settings.llm)
        fingerprint = self.memory.fingerprint(artifacts, spec if caption else None)
        return self.memory.build(entry.video_id, entry.duration, records, fingerprint, caption, model, progress)

    # -- indexing -------------------------------------------------------------------------------------------------
    def index(self, stages: Iterable[str] | str | None = None, jobs: int = 1, ray: str | None = None,
              progress: bool | ProgressSink = True, wait: float | None = None,
              retry_failed: bool = False, memory: bool = True, live: float | None = None) -> IndexReport:
        """Index every new or changed video; skip what is done; forget deleted videos.

        ``stages``: e.g. ``["scan", "asr"]`` (default: scan, asr, speakers where installed, ocr, detect, tags;
        ``probe`` always runs).
        ``jobs``: videos in parallel processes. ``ray``: a Ray address (``auto``, ``host:port``, or ``local`` to
        start a local cluster for this run) to run videos as Ray tasks. ``progress``: Rich bars on stderr, or a
        function that receives the ``vidgraph.index.progress`` events. ``wait``: seconds to wait for another
        indexer (None: forever). ``retry_failed``: run stages that failed in earlier runs again. ``memory``: then
        build the memory (events, entities, vectors) of every video whose tool outputs changed (captioned when
        ``settings.caption``). ``live``: files written less than this many seconds ago are indexed as they grow
        (what can be read of them so far; ``index/growing.py``) instead of waiting until they stop changing.
        """
        from .index.runner import Plan, Runner
        from .tools.registry import resolve_stages

        caps = resolve_stages(stages, self.settings)
        jobs = max(1, int(jobs))
        plan = Plan(caps, self._settings_for(jobs), retry_failed, memory, live)
        with reporter(progress) as emit, writer_lock(self.index_dir, self.folder, wait, emit):
            catalog = Catalog(self.catalog_path, create=True)
            if catalog.repaired:
                emit(Notice(catalog.repaired))
            try:
                return Runner(self.folder, self.index_dir, catalog, plan, emit, lambda: self.memory).run(jobs, ray)
            finally:
                catalog.close()

    def watch(self, stages: Iterable[str] | str | None = None, *, settle: float | None = None,
              chunk: float | None = None, progress: bool | ProgressSink = True, memory: bool = True,
              stop: Any = None, polling: bool = False, on_run: Any = None) -> int:
        """Index now, then whenever videos appear, change or go (``vidgraph watch``; ``index/watch.py``): a file
        is indexed once no write touched it for ``settle`` seconds, a growing one every ``chunk`` seconds as far
        as it can be read; deleted files are forgotten. Runs until ``stop`` (a ``threading.Event``) is set or
        Ctrl-C; returns the number of index runs. ``on_run`` receives each run's ``IndexReport``."""
        from .index.watch import CHUNK, SETTLE, Watch

        settle = SETTLE if settle is None else settle

        def run() -> bool:
            report = self.index(stages, progress=progress, memory=memory, live=settle)
            if on_run is not None:
                on_run(report)
            return any(e.live is not None for e in self.videos())  # growing files: their last step is to come

        return Watch(self.folder, self.index_dir, run, settle=settle, chunk=CHUNK if chunk is None else chunk,
                     stop=stop, polling=polling).serve()

    def _settings_for(self, jobs: int) -> Settings:
        if jobs > 1 and "threads" not in self.settings.model_fields_set:
            return self.settings.with_(threads=max(1, (os.cpu_count() or 1) // jobs))
        return self.settings

    # -- reading --------------------------------------------------------------------------------------------------
    def videos(self) -> list[VideoEntry]:
        """Every video in the catalog (by content), sorted by path; [] before the first index."""
        if not self.exists:
            return []
        with Catalog(self.catalog_path) as catalog:
            return catalog.entries(self.folder)

    def problems(self) -> list[FileProblem]:
        """Files that could not be used as videos at all, each with its one-line error."""
        if not self.exists:
            return []
        with Catalog(self.catalog_path) as catalog:
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

    def records(self, video: str | Path | VideoEntry, stage: str) -> list[Record]:
        """The records of one stage (``probe``, ``scan``, ``asr``, ``ocr``, ``detect``, ...) of a video."""
        return stage_records(self.get(video), stage, self.artifacts_dir, self.folder)

    def context(self, video: str | Path | VideoEntry) -> VideoContext:
        """A ``VideoContext`` over this library's artifacts (tools run through the same cache)."""
        entry = self.get(video)
        return VideoContext(replace(entry.info, path=entry.path), ArtifactStore(self.artifacts_dir), self.settings)

    # -- asking -------------------------------------------------------------------------------------------------
    def source(self) -> Source:
        """What the agents may use of this library: its memory, the videos' names and durations, their frames."""
        from .agents import Source

        entries = {e.video_id: e for e in self.videos()}
        return Source(memory=self.memory, names={v: e.name for v, e in entries.items()},
                      durations={v: e.duration for v, e in entries.items()},
                      live={v: e.live for v, e in entries.items() if e.live is not None},
                      open=lambda video_id: self.context(entries.get(video_id) or video_id),
                      read=lambda video_id, stage: self.records(entries.get(video_id) or video_id, stage))

    def ask(self, question: str, options: Sequence[str] | None = None, strategy: str = "auto",
            model: ChatModel | str | None = None, videos: str | Sequence[str] | None = None,
            budget: Budget | None = None, index: bool = True, progress: bool | ProgressSink = True,
            on_step: Callable[[Step], None] | None = None) -> Answer:
        """Answer a question about the videos, citing the moments that prove it (see ``vidgraph.agents``).

        ``options``: choices of a multiple-choice question (the answer's ``choice`` is a letter). ``strategy``:
        ``auto``, ``rag``, ``search``, ``mapreduce`` or ``uniform``. ``model``: a spec (``llamacpp:...``,
        ``openai:model@url``) or a ``ChatModel`` (default ``settings.llm``). ``videos``: a video or a list (name,
        path or id; default all). ``budget``: a ``vidgraph.agents.Budget``. With ``index``, whatever is not indexed
        yet is indexed first (with ``progress``). The question, options and budget are checked before anything
        is indexed; a bad one is a ``ConfigError``.
        """
        from .agents import ask, check_question

        question, options = check_question(question, options, strategy, self.folder)
        if isinstance(videos, (str, Path)):
            videos = [videos]
        if index and not self.exists and not self._has_videos():
            raise ConfigError(f"{self.folder} holds no video files", "put videos in it (mp4, mkv, webm, mov, avi, …) "
                                                                     "or give the folder that has them")
        if index and self.exists and not can_write(self.index_dir / "index.lock"):
            index = False  # a read-only index (another user's, a read-only disk): answer from what it holds
        if index:
            report = self.index(progress=progress)
            if not self.memory.videos() and report.failures:
                raise StoreError(f"no video of {self.folder} could be indexed ({report.failures[0].error})",
                                 "fix the files listed, then ask again")
        scope = [self.get(v).video_id for v in videos] if videos else self.memory.videos()
        if not scope:
            raise ConfigError(f"{self.folder} has no indexed videos with a memory",
                              f"run: vidgraph index {self.folder}")
        return ask(self.source(), question, options, strategy, model, scope, budget, on_step, self.settings)

    def file(self, video: str | Path | VideoEntry) -> Path | None:
        """The file of a video that lies inside the folder (a link resolving outside it does not count), or None."""
        entry = self.get(video)
        for rel in entry.paths:
            path = (self.folder / rel).resolve()
            if path.is_relative_to(self.folder) and path.is_file():
                return path
        return None

    def export(self, answer: Answer, folder: str | Path, fmt: str = "mp4", pad: float = 1.0) -> Exported:
        """Write each moment ``answer`` cites as a clip, with ``report.html`` and ``answer.json``, into ``folder``
        (``Answer.export`` with this library's files)."""
        files = {}
        for video_id in {c.video_id for c in answer.citations}:
            try:
                files[video_id] = self.file(video_id)
            except StoreError:  # no longer in the index: its moments are listed without a clip
                continue
        return answer.export(folder, {k: v for k, v in files.items() if v is not None}, fmt, pad)

    def _has_videos(self) -> bool:
        from .index.discovery import is_video_name

        for root, dirs, files in os.walk(self.folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            if any(is_video_name(f) for f in files):
                return True
        return False

    def view(self, video: str | Path | VideoEntry) -> Any:
        """A video's index (events with thumbnails and evidence) that renders as HTML in notebooks."""
        from .views import VideoIndex

        entry = self.get(video)
        return VideoIndex(entry, self.memory.events(entry.video_id), self.context(entry))

    def _repr_html_(self) -> str:
        from .views import library_html

        has_memory = (self.index_dir / "memory").is_dir()
        rows = [(e, self.memory.graph.stats(e.video_id) if has_memory else None, self.context(e))
                for e in self.videos()]
        return library_html(self.folder, rows)

    # -- forgetting -----------------------------------------------------------------------------------------------
    def forget(self, video: str | Path | VideoEntry, wait: float | None = None) -> VideoEntry:
        """Remove a video from the catalog and delete its artifacts (its file is not touched)."""
        entry = self.get(video)
        with writer_lock(self.index_dir, self.folder, wait), Catalog(self.catalog_path) as catalog:
            forget(catalog, self.artifacts_dir, entry.video_id)
            if (self.index_dir / "memory").is_dir():
                self.memory.drop(entry.video_id)
        return entry


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
