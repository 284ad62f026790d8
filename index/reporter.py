"""Where the progress of an ``index`` run goes: Rich bars on a terminal (off a terminal only notices are printed),
a function, or nothing.

``Library.index(progress=...)`` takes ``True`` (Rich bars on stderr), ``False`` (nothing), a function that
receives every ``Progress`` event, or a reporter (a context manager that yields such a function).
"""

from __future__ import annotations

from typing import Any

from .progress import (Hashing, MemoryProgress, Notice, Planned, Progress, ProgressSink, StageProgress, VideoFinished,
                       VideoStarted)


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

    def __enter__(self) -> ProgressSink:
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

    def __call__(self, event: Progress) -> None:
        if isinstance(event, Notice):
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


class _Sink:
    """A reporter around a plain function (or nothing)."""

    def __init__(self, fn: ProgressSink | None) -> None:
        self.fn = fn or (lambda event: None)

    def __enter__(self) -> ProgressSink:
        return self.fn

    def __exit__(self, *exc: object) -> None:
        return None


def reporter(progress: bool | ProgressSink | Any) -> Any:
    """The reporter for ``progress``: Rich bars for ``True``, a reporter as is, a function wrapped, else none."""
    if progress is True:
        return RichReporter()
    if hasattr(progress, "__enter__"):
        return progress
    return _Sink(progress if callable(progress) else None)
