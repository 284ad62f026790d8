"""The server's pictures and moving pictures: thumbnails, frames, playable copies, clips, answer exports.

Every file comes from a video's id: its file inside the library folder (``Service.file``), its index artifacts,
or this cache (``<index>/serve/``), named by the video id and numbers only. Decoding a frame is quick and runs
in the request; cutting a clip, transcoding a whole video a browser cannot play, and exporting an answer run on
the media worker (one thread, bounded queue), and a request waits for them at most ``limits.media_wait``
seconds (then 503 with Retry-After; the work goes on and the next request finds the file). The cache stays under
``cache_mb``: past it, the files used longest ago go first (``trim``; a file is used when it is served again).
"""

from __future__ import annotations

import bisect
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, StoreError
from ..records import Frame, Span
from .jobs import Job, NotFound, Worker

if TYPE_CHECKING:
    from ..config import Settings
    from ..index.catalog import VideoEntry
    from ..library import Library
    from ..tools.context import VideoContext


class Media:
    """Frames and clips of a library's videos (see the module doc). ``file`` gives a video's file inside the
    folder, or None (then nothing of it is decoded)."""

    def __init__(self, library: Library, settings: Settings, cache: Path, file: Callable[[VideoEntry], Path | None],
                 queue: int = 16, max_clip_seconds: float = 600.0, wait: float = 30.0,
                 cache_mb: float = 4096.0) -> None:
        self.library, self.settings, self.root, self.file = library, settings, cache, file
        self.queue, self.max_clip_seconds, self.wait, self.cache_mb = queue, max_clip_seconds, wait, cache_mb
        self._stills = 0
        self.worker: Worker | None = None
        self._pending: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._samples: OrderedDict[str, tuple[list[float], list[Frame]]] = OrderedDict()

    def start(self) -> None:
        self.worker = Worker(lambda job: job.payload["run"](), self.queue, "media", estimate=3.0)

    def _file(self, entry: VideoEntry) -> Path:
        path = self.file(entry)
        if path is None:
            raise NotFound(f"the file of video {entry.video_id} is not in the folder (moved, or a link out of it)")
        return path

    def context(self, entry: VideoEntry) -> VideoContext:
        """The video's tools and artifacts, decoding from its file inside the folder."""
        from ..tools.context import VideoContext
        from ..tools.store import ArtifactStore

        return VideoContext(replace(entry.info, path=str(self._file(entry))),
                            ArtifactStore(self.library.artifacts_dir), self.settings)

    # -- stills (in the request) ----------------------------------------------------------------------------
    def thumbnail(self, entry: VideoEntry, t: float) -> tuple[Path, float]:
        """The scan's 1 fps thumbnail nearest to ``t`` (within 1 s), else a frame decoded at ``t`` (cached)."""
        from ..tools.clips import still

        src = self._file(entry)  # no pixels of a video whose file is not in the folder, not even its thumbnails
        times, frames = self._sample_frames(entry)
        i = bisect.bisect_left(times, t)
        near = [frames[j] for j in (i - 1, i) if 0 <= j < len(frames)]
        best = min(near, key=lambda f: abs(f.t - t), default=None)
        if best is not None and abs(best.t - t) <= 1.0 and Path(best.path).is_file():
            return Path(best.path), best.t
        t = _clamp(t, entry.duration)
        dst = self.root / "thumbs" / entry.video_id / f"{t:010.1f}.jpg"
        if dst.is_file():
            return _used(dst), round(t, 1)
        path, ft = still(src, round(t, 1), dst, 320, quality=80)
        self._stills += 1
        if self._stills % STILLS_PER_TRIM == 0:
            self.trim(keep=path)
        return path, ft

    def _sample_frames(self, entry: VideoEntry) -> tuple[list[float], list[Frame]]:
        key = f"{entry.video_id}:{entry.updated}"
        with self._lock:
            if key in self._samples:
                self._samples.move_to_end(key)
                return self._samples[key]
        scan = entry.stage("scan")
        frames: list[Frame] = []
        if scan is not None and scan.status == "done":
            try:
                frames = sorted((r for r in self.library.records(entry, "scan")
                                 if isinstance(r, Frame) and r.kind == "sample"), key=lambda f: f.t)
            except StoreError:
                frames = []
        value = ([f.t for f in frames], frames)
        with self._lock:
            self._samples[key] = value
            while len(self._samples) > 256:
                self._samples.popitem(last=False)
        return value

    def frames(self, entry: VideoEntry, span: Span, n: int = 8, width: int | None = None) -> list[Frame]:
        """``n`` frames evenly spread inside ``span`` (full size, or ``width`` wide), cached with the index."""
        from ..tools.frames import dense_frames

        start = _clamp(span.start, entry.duration)
        end = min(max(span.end, start + 0.04), entry.duration)
        if end <= start:
            start = max(0.0, end - 0.04)
        span = Span(start, end)
        return dense_frames(self.context(entry), span, fps=max(n / max(span.duration, 1e-3), 0.01), max_frames=n,
                            width=width)

    # -- clips and copies (on the media worker) -------------------------------------------------------------
    def playable(self, entry: VideoEntry) -> Path | Job:
        """The file itself when a browser plays it, else an H.264/AAC copy (a ``Job`` while it is being made)."""
        from ..tools.clips import browser_playable, cut_clip

        src = self._file(entry)
        if browser_playable(entry.info):
            return src
        dst = self.root / "play" / f"{entry.video_id}.mp4"
        return self._made(dst, lambda: cut_clip(src, Span(0.0, entry.duration + 1.0), dst, "mp4"))

    def clip(self, entry: VideoEntry, span: Span, fmt: str = "mp4") -> Path | Job:
        """``span`` cut out as ``fmt`` (mp4 or webm), cached (a ``Job`` while it is being cut)."""
        from ..tools.clips import FORMATS, cut_clip

        if fmt not in FORMATS:
            raise ConfigError(f"unknown clip format {fmt!r}", "use mp4 or webm")
        start, end = max(0.0, span.start), min(span.end, entry.duration)
        if not end > start:
            raise ConfigError(f"the span {span.start:g}-{span.end:g} s is empty inside the video "
                              f"(0-{entry.duration:g} s)", "give 0 <= start < end <= the duration")
        if end - start > self.max_clip_seconds:
            raise ConfigError(f"a clip of {end - start:.0f} s is longer than {self.max_clip_seconds:g} s",
                              "cut a shorter span")
        src = self._file(entry)
        dst = self.root / "clips" / entry.video_id / f"{start:.2f}-{end:.2f}.{fmt}"
        return self._made(dst, lambda: cut_clip(src, Span(start, end), dst, fmt))

    def export(self, job: Job) -> Path | Job:
        """The answer of an ask job exported (``Library.export``) as one zip: clips, report.html, answer.json."""
        if job.value is None:
            raise ConfigError(f"job {job.id} has no answer to export (yet)", "wait for its result event")
        dst = self.root / "exports" / f"{job.id}.zip"

        def run() -> Path:
            with tempfile.TemporaryDirectory(dir=self.root) as tmp:
                self.library.export(job.value, Path(tmp) / "answer")
                made = shutil.make_archive(str(dst.with_suffix("")) + ".tmp", "zip", Path(tmp) / "answer")
                Path(made).replace(dst)
            return dst

        return self._made(dst, run)

    def _made(self, dst: Path, make: Callable[[], Any]) -> Path | Job:
        if dst.is_file():
            return _used(dst)
        assert self.worker is not None, "Service.start() first"
        key = str(dst)

        def run() -> Any:
            made = make()
            self.trim(keep=dst)
            return made

        with self._lock:
            job = self._pending.get(key)
            if job is None or (job.future.done() and not dst.is_file()):
                self.root.mkdir(parents=True, exist_ok=True)
                job = self.worker.submit(Job("media", {"run": run}))
                self._pending[key] = job
                job.future.add_done_callback(lambda _f, k=key: self._forget(k))
        return job

    def _forget(self, key: str) -> None:
        with self._lock:
            job = self._pending.get(key)
            if job is not None and job.future.done():
                del self._pending[key]


    def trim(self, keep: Path | None = None) -> int:
        """Delete the files used longest ago until the cache holds at most ``cache_mb`` (never ``keep``, a file
        being made, or a temporary one); returns how many went."""
        with self._lock:
            busy = set(self._pending)
        files, total = [], 0
        for path in self.root.rglob("*") if self.root.is_dir() else ():
            try:
                st = path.stat()
            except OSError:
                continue
            if path.is_file():
                files.append((st.st_mtime, st.st_size, path))
                total += st.st_size
        gone, limit = 0, self.cache_mb * 2**20
        for _, size, path in sorted(files):
            if total <= limit:
                break
            if path == keep or str(path) in busy or ".tmp" in path.name or any(
                    part.startswith("tmp") for part in path.relative_to(self.root).parts[:-1]):
                continue
            path.unlink(missing_ok=True)
            total, gone = total - size, gone + 1
        return gone


STILLS_PER_TRIM = 100
"""Stills are small and made in the request: the cache is trimmed after every hundredth."""


def _used(path: Path) -> Path:
    """``path``, marked as used now (its time orders ``Media.trim``)."""
    try:
        os.utime(path)
    except OSError:
        pass
    return path


def _clamp(t: float, duration: float) -> float:
    return min(max(0.0, t), max(0.0, duration - 0.05))
