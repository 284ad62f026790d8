"""``vidgraph watch FOLDER``: index a folder whenever its videos change, with the ``watchdog`` package.

The watch runs one index at start, then listens to the folder (created, modified, moved and deleted files; the
index folder and hidden files are ignored). A file is *settled* when no event touched it for ``settle`` seconds:
then a run indexes it (and forgets what was deleted). A file that keeps changing is a recording being written:
every ``chunk`` seconds a run indexes what can be read of it so far (``index/live.py``), and the run after it
settles finishes it. Each run is an ordinary ``index`` run (its crash safety included), so Ctrl-C — between runs
or inside one — leaves a consistent index: what finished is kept, the next run goes on.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import VidgraphError
from .discovery import is_video_name

SETTLE = 3.0
"""Seconds without a write after which a file is taken as finished."""
CHUNK = 10.0
"""Seconds between the runs that index growing files."""


class Watch:
    """Call ``run`` when the videos under ``folder`` settle (and every ``chunk`` seconds while some grow: while
    ``run`` returns true, there are growing files whose last step is still to come)."""

    def __init__(self, folder: Path, index_dir: Path, run: Callable[[], Any], *, settle: float = SETTLE,
                 chunk: float = CHUNK, stop: threading.Event | None = None, polling: bool = False) -> None:
        self.folder, self.index_dir, self.run = Path(folder).resolve(), Path(index_dir).resolve(), run
        self.settle, self.chunk, self.polling = settle, chunk, polling
        self.stop = stop or threading.Event()
        self.touched: dict[str, float] = {}
        """Path -> monotonic time of its last event, for the paths no run has seen since."""
        self.runs = 0
        self.pending = False
        """The last run left growing files unfinished (``run`` returned true): run again after ``chunk``."""
        self._lock = threading.Lock()

    # -- events (watchdog's thread) -----------------------------------------------------------------------------
    def on_event(self, event: Any) -> None:
        paths = [p for p in (getattr(event, "src_path", ""), getattr(event, "dest_path", "")) if p]
        for raw in paths:
            path = os.fsdecode(raw)
            if self._ignored(path, event.is_directory, event.event_type):
                continue
            with self._lock:
                self.touched[path] = time.monotonic()

    def _ignored(self, path: str, is_dir: bool, kind: str) -> bool:
        p = Path(path)
        if p == self.index_dir or self.index_dir in p.parents:
            return True
        try:
            rel = p.relative_to(self.folder)
        except ValueError:
            return True
        if any(part.startswith(".") for part in rel.parts):
            return True
        if is_dir:
            return kind not in ("deleted", "moved")  # a folder that went takes its videos with it
        return not is_video_name(p.name)

    # -- the loop ----------------------------------------------------------------------------------------------
    def due(self, now: float, last_run: float) -> bool:
        """Is a run due: a touched file settled, or one grows and the last run is ``chunk`` seconds old?"""
        with self._lock:
            ages = [now - t for t in self.touched.values()]
        if self.pending and now - last_run >= self.chunk:
            return True
        if not ages:
            return False
        return max(ages) >= self.settle or now - last_run >= self.chunk

    def serve(self, idle: float = 0.2) -> int:
        """Run until ``stop`` is set (or Ctrl-C, which is raised after the observer stopped); the number of runs."""
        observer = self._observer()
        observer.start()
        try:
            self._run()
            last = time.monotonic()
            while not self.stop.wait(idle):
                now = time.monotonic()
                if self.due(now, last):
                    with self._lock:  # events from now on are for the next run
                        seen = {p for p, t in self.touched.items() if now - t >= self.settle}
                        for p in seen:
                            del self.touched[p]
                    self._run()
                    last = time.monotonic()
        finally:
            observer.stop()
            observer.join(timeout=5)
        return self.runs

    def _run(self) -> None:
        started = time.time()
        try:
            self.pending = bool(self.run())
        finally:
            self.runs += 1
            self._recent(started)

    def _recent(self, since: float) -> None:
        """Files written since just before the run started are touched again: a run may have seen them half
        written (and left them for later) while their events came before the watch, or during the run."""
        wall, mono = time.time(), time.monotonic()
        for top, dirs, files in os.walk(self.folder):
            dirs[:] = [d for d in dirs if not d.startswith(".") and Path(top, d) != self.index_dir]
            for name in files:
                path = os.path.join(top, name)
                if self._ignored(path, False, "modified"):
                    continue
                try:
                    mtime = os.stat(path).st_mtime
                except OSError:
                    continue
                if mtime >= since - self.settle:
                    with self._lock:
                        self.touched.setdefault(path, mono - max(0.0, wall - mtime))

    def _observer(self) -> Any:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
            from watchdog.observers.polling import PollingObserver
        except ImportError as e:
            raise VidgraphError(f"{self.folder}: watching a folder needs the Python package 'watchdog', which is "
                                f"not installed", "install it with: pip install watchdog") from e
        watch = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type in ("created", "modified", "moved", "deleted", "closed"):
                    watch.on_event(event)

        observer = PollingObserver(timeout=0.5) if self.polling else Observer()
        observer.schedule(Handler(), str(self.folder), recursive=True)
        return observer


__all__ = ["CHUNK", "SETTLE", "Watch"]
