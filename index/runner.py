"""One ``index`` run over a folder: find files, identify them by content, forget the gone, plan what each video
still needs, execute (serially, in processes, or on Ray), record every stage as it finishes, build memories.

The runner is the only writer of the catalog during a run (the caller holds the writer lock); workers send it
messages. A stage's row is committed after its artifact is written, so a crash loses at most the stage in flight.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import MediaError, VidgraphError
from ..tools.store import ArtifactStore
from .artifacts import MEMORY_INPUTS, forget, memory_inputs
from .catalog import Catalog, FileRow, StageStatus, VideoEntry
from .discovery import Found, discover, relative_to, under, unchanged
from .growing import WAIT, Growing
from .live import LiveSpec
from .executors import run_pool, run_ray, run_serial
from .progress import (Hashing, MemoryProgress, Notice, Planned, ProgressSink, StageFinished, StageProgress,
                       VideoFinished, VideoStarted)
from .results import IndexReport, VideoResult
from .worker import Outcome, Probed, StageDone, Started, Task, ToolProgress, WorkerMessage, one_line

if TYPE_CHECKING:
    from ..memory import Memory

_HASH = re.compile(r"[0-9a-f]{32}")
ROUNDS = 3
"""Times one run goes over the folder when files change while they are indexed."""


@dataclass(frozen=True)
class Plan:
    """What one run is asked to do."""

    stages: tuple[str, ...]
    settings: Settings
    retry_failed: bool = False
    build_memory: bool = True
    live: float | None = None
    """Files written less than this many seconds ago are indexed as they grow (``index/growing.py``)."""


class Runner:
    """One run over ``folder`` whose index is ``index_dir``; ``memory`` opens the index's memory when needed."""

    def __init__(self, folder: Path, index_dir: Path, catalog: Catalog, plan: Plan, emit: ProgressSink,
                 memory: Callable[[], Memory]) -> None:
        from ..tools.registry import tool_for

        self.folder, self.index_dir, self.catalog, self.plan, self.emit = folder, index_dir, catalog, plan, emit
        self.memory = memory
        self.artifacts = index_dir / "artifacts"
        self.store = ArtifactStore(self.artifacts, on_invalid=lambda e: emit(Notice(
            f"{relative_to(str(e.path), index_dir)}: {e.why}; it is made again")))
        self.tools = {cap: tool_for(cap, plan.settings) for cap in plan.stages if cap != "probe"}
        self.tasks: dict[int, Task] = {}
        self.task_paths: dict[int, list[Found]] = {}
        self.applied: dict[int, set[str]] = {}
        self.prior: dict[int, dict[str, StageStatus]] = {}
        self.results: list[VideoResult] = []
        self.backend = "serial"
        self.stats: dict[str, tuple[int, int]] = {}
        """(size, mtime_ns) of each file when its content hash was taken or trusted."""
        self.changed: list[str] = []
        """Files that changed while indexed in this round."""
        self.growing: dict[str, LiveSpec] = {}
        """Video id -> the orders of a growing file's step, this round."""

    # -- the run ----------------------------------------------------------------------------------------------
    def run(self, jobs: int, ray: str | None) -> IndexReport:
        start = time.perf_counter()
        run_id = self.catalog.start_run(list(self.plan.stages), jobs)
        status = "interrupted"
        forgotten: list[str] = []
        try:
            self._clean_temporary_files()
            for _ in range(ROUNDS):  # a file that changed while it was indexed is indexed again as what it is now
                self.changed = []
                found, problems, unreadable = discover(self.folder, self.index_dir)
                groups = self._identify(found, problems, unreadable)
                forgotten += self._forget_missing(groups)
                tasks = self._plan(groups)
                self.emit(Planned(len(groups) + len(problems), len(tasks)))
                self._execute(tasks, jobs, ray)
                if not self.changed:
                    break
                self.results = [r for r in self.results if r.path not in self.changed]
                self.emit(Notice(f"{', '.join(self.changed)} changed while being indexed: indexing the new content"))
            if self.plan.build_memory:
                self._sync_memory()
            status = "done"
        finally:
            seconds = time.perf_counter() - start
            failed = sum(r.status == "failed" for r in self.results)
            self.catalog.finish_run(run_id, status, len(self.results), failed, seconds)
        results = tuple(sorted(self.results, key=lambda r: r.path))
        return IndexReport(str(self.folder), self.plan.stages, results, tuple(forgotten), seconds, jobs,
                           self.backend)

    def _clean_temporary_files(self) -> None:
        """Half-written artifacts of a killed run (we hold the writer lock: nobody else is writing)."""
        for tmp in self.artifacts.glob("*/.*.tmp"):
            tmp.unlink(missing_ok=True)

    # -- memory: built by this process (the only writer) as soon as a video's tools are done ------------------
    def _sync_memory(self) -> None:
        """Build the memory of every video whose inputs changed; drop the memory of forgotten videos."""
        entries = self.catalog.entries(self.folder)
        memory = self.memory()
        lost = memory.rebuild_lost()
        if lost:
            self.emit(Notice(f"the memory lost part of itself ({lost}): rebuilding it from the artifacts"))
        memory.keep_only({e.video_id for e in entries})
        self._build_memories(entries)

    def _build_memories(self, entries: list[VideoEntry]) -> None:
        memory = self.memory()
        settings = self.plan.settings
        spec = (settings.vlm or settings.llm) if settings.caption else None
        todo = []
        for entry in entries:
            if (scan := entry.stage("scan")) is None or scan.status != "done":
                continue
            artifacts = [s.artifact for c in MEMORY_INPUTS if (s := entry.stage(c)) and s.status == "done"]
            if entry.live is not None:  # the same artifacts hold more with every step
                artifacts.append(f"live-until-{entry.live:.3f}")
            fingerprint = memory.fingerprint(artifacts, spec)
            prior = entry.stage("memory")
            if memory.is_current(entry.video_id, fingerprint) and prior is not None and prior.status == "done":
                continue
            if prior is not None and prior.status == "failed" and prior.artifact == fingerprint \
                    and not self.plan.retry_failed:
                continue
            todo.append((entry, fingerprint))
        for n, (entry, fingerprint) in enumerate(todo):
            self.emit(MemoryProgress(n, len(todo), entry.name))

            def step(name: str, done: float, total: float, n: int = n, entry: VideoEntry = entry) -> None:
                self.emit(MemoryProgress(n, len(todo), entry.name, f"{name} {done:.0f}/{total:.0f}"))

            started = time.perf_counter()
            try:
                records, _ = memory_inputs(entry, self.artifacts, self.folder)
                memory.build(entry.video_id, entry.duration, records, fingerprint, settings.caption, None, step)
                result = StageStatus("memory", "done", fingerprint, seconds=round(time.perf_counter() - started, 3),
                                     updated=time.time(), ran=True)
            except VidgraphError as e:
                result = StageStatus("memory", "failed", fingerprint, one_line(f"{entry.name}: memory: {e}"),
                                     seconds=round(time.perf_counter() - started, 3), updated=time.time(), ran=True)
            self.catalog.put_stage(entry.video_id, result)
            self._add_stage_result(entry.video_id, result)
        if todo:
            self.emit(MemoryProgress(len(todo), len(todo), ""))

    def _add_stage_result(self, video_id: str, stage: StageStatus) -> None:
        for i, r in enumerate(self.results):
            if r.video_id == video_id:
                stages = tuple(s for s in r.stages if s.stage != stage.stage) + (stage,)
                failed = sorted((s for s in stages if s.status == "failed"), key=lambda s: (bool(s.caused_by),
                                                                                             s.updated))
                status = "failed" if failed else "done" if r.status in ("skipped", "failed") else r.status
                self.results[i] = replace(r, stages=stages, status=status, error=failed[0].error if failed else "")

    # -- identify: content hash per file, cached by (path, size, mtime) ---------------------------------------
    def _identify(self, found: list[Found], problems: list[tuple[Found, str]],
                  unreadable: list[str]) -> dict[str, list[Found]]:
        from ..tools.decode import content_hash

        known = self.catalog.files()
        growing = Growing(self.catalog, self.artifacts, self.plan.live) if self.plan.live is not None else None
        self.growing = {}
        rows: list[FileRow] = []
        groups: dict[str, list[Found]] = {}
        to_hash = {f.rel for f in found if not unchanged(known.get(f.rel), f.path)}
        hashed = 0
        for f in found:
            row = known.get(f.rel)
            try:
                st = os.stat(f.path)
            except OSError:  # gone since it was listed
                continue
            live = growing.identify(f, st) if growing is not None else None
            if live == WAIT:
                continue
            if isinstance(live, tuple):
                vid, self.growing[live[0]] = live
                rows.append(FileRow(f.rel, st.st_size, st.st_mtime_ns, vid, None))
                groups.setdefault(vid, []).append(f)
                continue
            if f.rel in to_hash:
                if len(to_hash) > 1:
                    self.emit(Hashing(hashed, len(to_hash)))
                try:
                    vid = content_hash(f.path)
                    after = os.stat(f.path)
                except MediaError as e:
                    problems.append((f, e.problem + (f" ({e.hint})" if e.hint else "")))
                    continue
                except OSError:
                    continue
                finally:
                    hashed += 1
                if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):  # written while hashed
                    self.emit(Notice(f"{f.rel} is being written: it is indexed once it stops changing"))
                    continue
            else:
                vid = row.video_id  # type: ignore[union-attr]
            self.stats[f.rel] = (st.st_size, st.st_mtime_ns)
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
        gone = [p for p in known if p not in present and not under(p, unreadable)]
        self.catalog.remove_files(gone)
        return groups

    def _forget_missing(self, groups: dict[str, list[Found]]) -> list[str]:
        """Forget videos none of whose files exist any more (their catalog rows and artifacts)."""
        keep = set(groups) | {r.video_id for r in self.catalog.files().values() if r.video_id}
        forgotten = []
        for entry in self.catalog.entries(self.folder):
            if entry.video_id not in keep:
                forget(self.catalog, self.artifacts, entry.video_id)
                forgotten.append(entry.paths[0] if entry.paths else relative_to(entry.path, self.folder))
        if self.artifacts.is_dir():  # artifacts of content that is gone (e.g. a killed first run)
            for folder in self.artifacts.iterdir():
                if folder.is_dir() and _HASH.fullmatch(folder.name) and folder.name not in keep:
                    shutil.rmtree(folder, ignore_errors=True)
        return forgotten

    # -- plan: what each video still needs ----------------------------------------------------------------------
    def _plan(self, groups: dict[str, list[Found]]) -> list[Task]:
        entries = {e.video_id: e for e in self.catalog.entries(self.folder)}
        tasks = []
        for vid, files in sorted(groups.items(), key=lambda kv: kv[1][0].rel):
            entry = entries.get(vid)
            if entry is not None and Path(entry.path) != self.folder / files[0].rel:
                self.catalog.set_video_path(vid, files[0].rel)
            live = self.growing.get(vid)
            todo, prior = (list(self.tools), {}) if live is not None else self._todo(vid, entry)
            if entry is not None and not todo:
                self.results.append(self._skipped(entry, files))
                continue
            key = len(self.tasks)
            task = Task(key, os.path.abspath(files[0].path), vid, entry.info if entry and not live else None,
                        tuple(todo), str(self.store.root), self.plan.settings,
                        {cap: s.error for cap, s in prior.items()}, self.stats.get(files[0].rel), live)
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
                if stage.status == "done" and self.store.valid(vid, tool):  # a damaged artifact is a missing one
                    continue
                if stage.status == "failed" and not self.plan.retry_failed:
                    prior[cap] = stage
                    continue
            todo.append(cap)
        return todo, prior

    def _skipped(self, entry: VideoEntry, files: list[Found]) -> VideoResult:
        """A video with nothing to run: done, or failed again with the one line of the stage that failed (a failed
        memory included: the error is shown again until --retry-failed or a change makes it run)."""
        wanted = [*self.tools, "memory"] if self.plan.build_memory else list(self.tools)
        stages = tuple(s for cap in wanted if (s := entry.stage(cap)) is not None)
        failed = sorted((s for s in stages if s.status == "failed"), key=lambda s: (bool(s.caused_by), s.updated))
        return VideoResult(files[0].rel, entry.video_id, "failed" if failed else "skipped", stages, entry.duration,
                           error=failed[0].error if failed else "", paths=tuple(f.rel for f in files))

    # -- execute ----------------------------------------------------------------------------------------------
    def _execute(self, tasks: list[Task], jobs: int, ray: str | None) -> None:
        if not tasks:
            return
        if ray:
            self.backend = "ray"
            run_ray(tasks, ray, self.plan.settings, self._on_message, self._finish, self._crashed)
        elif jobs > 1 and len(tasks) > 1:
            self.backend = "processes"
            run_pool(tasks, jobs, self.plan.settings.threads, self._on_message, self._finish, self._crashed)
        else:
            run_serial(tasks, self._on_message, self._finish)

    # -- messages from workers: the catalog is written here, one transaction per stage ------------------------
    def _on_message(self, message: WorkerMessage) -> None:
        key = message.key
        if isinstance(message, Started):
            self.emit(VideoStarted(key, self.task_paths[key][0].rel, self.tasks[key].stages))
        elif isinstance(message, ToolProgress):
            self.emit(StageProgress(key, message.stage, message.done, message.total))
        elif isinstance(message, Probed):
            self._apply_probe(key, message.info)
        elif isinstance(message, StageDone):
            self._apply_stage(key, message.stage)

    def _apply_probe(self, key: int, info) -> None:
        if "probe" not in self.applied[key]:
            self.applied[key].add("probe")
            self.catalog.put_video(info, self.task_paths[key][0].rel)

    def _apply_stage(self, key: int, result: StageStatus) -> StageStatus:
        result = replace(result, error=self._relative(result.error, key))
        if result.stage not in self.applied[key]:
            self.applied[key].add(result.stage)
            self.catalog.put_stage(self.tasks[key].video_id, result)
            self.emit(StageFinished(key, result))
        return result

    def _relative(self, line: str, key: int) -> str:
        line = line.replace(self.tasks[key].path, self.task_paths[key][0].rel)
        return one_line(line.replace(str(self.folder) + os.sep, ""))

    def _finish(self, outcome: Outcome) -> None:
        key = outcome.key
        task, files = self.tasks[key], self.task_paths[key]
        paths = tuple(f.rel for f in files)
        if outcome.changed:  # hash it again next round: it is another content now (or gone)
            self.catalog.put_files([FileRow(f.rel, -1, -1, None, None) for f in files])
            self.changed += [f.rel for f in files]
            return
        if outcome.problem is not None:
            problem, hint = outcome.problem
            lines = {f.rel: one_line(f"{f.rel}: {problem}" + (f" ({hint})" if hint else "")) for f in files}
            self.catalog.set_file_errors(task.video_id, lines)
            result = VideoResult(files[0].rel, task.video_id, "failed", (), 0.0, outcome.seconds,
                                 lines[files[0].rel], paths, outcome.worker)
        else:
            if outcome.crashed:
                self.applied[key].update(task.stages)
            if outcome.info is not None:
                self._apply_probe(key, outcome.info)
            stages = [self._apply_stage(key, s) for s in outcome.stages]
            stages += [replace(s, ran=False) for s in self.prior[key].values()]
            info = outcome.info or task.info
            failed = sorted((s for s in stages if s.status == "failed"), key=lambda s: (bool(s.caused_by), s.updated))
            result = VideoResult(files[0].rel, task.video_id, "failed" if failed else "done", tuple(stages),
                                 info.duration if info else 0.0, outcome.seconds,
                                 failed[0].error if failed else "", paths, outcome.worker)
        vid = task.video_id
        if task.live is not None and outcome.live is not None and outcome.problem is None:
            vid = Growing(self.catalog, self.artifacts, 0.0).finished(task.live, vid, outcome.live,
                                                                      result.status == "done")
            result = replace(result, video_id=vid)
        self.results.append(result)
        self.emit(VideoFinished(key, result))
        if self.plan.build_memory and result.status == "done":
            self._build_memories(self.catalog.entries(self.folder, [vid]))

    def _crashed(self, task: Task, why: str) -> Outcome:
        rel = self.task_paths[task.key][0].rel
        line = f"{rel}: {why} while indexing it (run again; it resumes after the last finished stage)"
        stages = tuple(StageStatus(cap, "failed", error=line) for cap in task.stages[:1])
        return Outcome(task.key, None, stages, None, 0, 0.0, crashed=True)
