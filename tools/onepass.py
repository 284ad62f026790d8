"""The one pass over a video: every stage that reads its frames or its audio, from one decode of each.

    run_pass(ctx, ["scan", "asr", "ocr"])      # -> {"scan": [...], "asr": [...], "ocr": [...]}

Two sides run at once, each in its own thread (the frames and the audio are independent, and the decoders and
models release the GIL while they work):

- the **video side** decodes every frame once, in order: the scan's stream sees each one (shots, thumbnails, key
  frames) and the key-frame streams (ocr, detect, tags) see each key frame as it is made, still in memory. When
  only key-frame stages are asked and the scan is indexed, they read its stored key frames (nothing is decoded);
- the **audio side** decodes the audio once, in windows cut in pauses (``tools.audio``), which the speech streams
  (asr, speakers) read.

At most one frame and one audio window are held; what grows with the video is the items (``tools.stream``).

**Checkpoints.** With ``checkpoints`` (a folder), each side appends its items to a journal and writes its state
every ``every`` seconds of video and when it stops (an error, Ctrl-C, the end). A pass started again on the same
video and stages goes on from there: the video side decodes from the key frame before its position and lets the
scan see its last frames again (its cuts go on as if it never stopped); the audio side decodes from a second
before its next window. ``until`` reads a file that is still being written up to that time: the records are those
of the part read, and the checkpoint is where the next part starts.
"""

from __future__ import annotations

import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ToolError, VidgraphError
from ..records import Frame, Record
from .audio import SR, Windows, blocks
from .context import VideoContext
from .decode import timed
from .passside import PASS_VERSION, DependencyError, _Side  # noqa: F401 - DependencyError: part of this API
from .stream import KeyImage, PassView, Stream

VIDEO_STAGES = ("scan", "ocr", "detect", "tags")
AUDIO_STAGES = ("asr", "speakers")
EVERY = 60.0
"""Seconds of video between checkpoints."""


@dataclass
class PassResult:
    records: dict[str, list[Record]] = field(default_factory=dict)
    errors: dict[str, VidgraphError] = field(default_factory=dict)
    until: dict[str, float] = field(default_factory=dict)
    """Seconds of the video each side covered."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall seconds each stage worked (the scan's include decoding; the two sides overlap)."""
    final: bool = True


def streams_of(ctx: VideoContext, stages: list[str], threads: int | None = None
               ) -> tuple[dict[str, Stream], dict[str, VidgraphError]]:
    """The streams of ``stages`` (their models on ``threads`` threads each); a stage whose tool cannot start is an
    error, not an exception."""
    out, errors = {}, {}
    settings = ctx.settings if threads is None else ctx.settings.with_(threads=threads)
    for stage in stages:
        try:
            stream = type(ctx.tool(stage))(settings).stream(ctx)
        except VidgraphError as e:
            errors[stage] = e
            continue
        except Exception as e:  # noqa: BLE001 - a tool that cannot start is that stage's failure
            errors[stage] = ToolError(f"{ctx.path}: {ctx.tool(stage).name} failed: {type(e).__name__}: {e}",
                                      "run with --debug for the traceback")
            continue
        if stream is None:
            raise ToolError(f"stage {stage!r} does not read frames or audio", "run it with VideoContext.get")
        out[stage] = stream
    return out, errors


class OnePass:
    """One pass over ``ctx``'s video for ``stages`` (see the module docstring)."""

    def __init__(self, ctx: VideoContext, stages: list[str], *, checkpoints: Path | None = None,
                 until: float | None = None, every: float = EVERY,
                 on_stage: Callable[[str, list[Record]], None] | None = None,
                 stop: threading.Event | None = None) -> None:
        self.ctx, self.stages, self.until, self.every = ctx, list(stages), until, every
        self.checkpoints = checkpoints
        self.on_stage = on_stage
        self.stop = stop or threading.Event()
        self.events: queue.Queue = queue.Queue()
        self.result = PassResult(final=until is None)
        self.threads = max(1, ctx.settings.threads // 2)
        """Threads per model: up to three threads work at once (decoding and the scan, the key-frame models,
        the speech models), so each model gets a share of the cores rather than all of them."""

    # -- driving the sides --------------------------------------------------------------------------------------
    def run(self) -> PassResult:
        video = [s for s in self.stages if s in VIDEO_STAGES]
        audio = [s for s in self.stages if s in AUDIO_STAGES]
        sides = [side for side, stages in (("video", video), ("audio", audio)) if stages]
        threads = [threading.Thread(target=self._side, args=(side, video if side == "video" else audio),
                                    name=f"vidgraph-{side}", daemon=True) for side in sides]
        for t in threads:
            t.start()
        running = len(threads)
        try:
            while running:
                try:
                    kind, *rest = self.events.get(timeout=0.25)
                except queue.Empty:
                    continue
                if kind == "progress":
                    self.ctx.progress(*rest)
                elif kind == "stage":
                    stage, records = rest
                    self.result.records[stage] = records
                    if self.on_stage is not None:
                        self.on_stage(stage, records)
                elif kind == "error":
                    stage, error = rest
                    self.result.errors[stage] = error
                elif kind == "crash":
                    self.stop.set()
                    raise rest[0]
                elif kind == "done":
                    running -= 1
        except BaseException:
            self.stop.set()
            for t in threads:
                t.join()
            raise
        for t in threads:
            t.join()
        return self.result

    def _side(self, side: str, stages: list[str]) -> None:
        try:
            streams, errors = streams_of(self.ctx, stages, self.threads)
            for stage, error in errors.items():
                self.events.put(("error", stage, error))
            if side == "video":
                _VideoSide(self, streams, errors.get("scan")).run()
            else:
                _AudioSide(self, streams).run()
        except BaseException as e:  # noqa: BLE001 - handed to the driving thread
            self.events.put(("crash", e))
        finally:
            self.events.put(("done",))

    def progress(self, stages: list[str], done: float, total: float) -> None:
        for stage in stages:
            self.events.put(("progress", stage, done, total))


class _VideoSide(_Side):
    name = "video"

    def __init__(self, owner: OnePass, streams: dict[str, Stream], scan_error: VidgraphError | None) -> None:
        super().__init__(owner, streams)
        self.scan_error = scan_error

    def run(self) -> None:
        scan = self.streams.get("scan")
        keys = [s for s in self.streams if s != "scan"]
        try:
            if "scan" not in self.owner.stages:
                self._stored_keys(keys)
            elif scan is not None:
                self._decode(scan, keys)
            else:  # the scan could not start: nothing reads frames
                for stage in keys:
                    self.fail(stage, self.scan_error or ToolError(f"{self.ctx.path}: the scan failed"), "scan")
        finally:
            self.close()

    def _decode(self, scan: Any, keys: list[str]) -> None:
        state = self.resume()
        readers = _KeyReader(self, keys)
        try:
            last = self._frames(scan, keys, state, readers)
        finally:
            readers.close()
        if last is None:
            return
        info, owner = self.ctx.info, self.owner
        self.checkpoint({"t": last})
        if owner.stop.is_set():
            return
        final = owner.until is None
        if final:
            self.add("scan", scan.finish())
        covered = info.duration if final else max(0.0, last)
        owner.result.until[self.name] = covered
        view = PassView(self.ctx.video_id, covered, final)
        scan_records = self.derive("scan", view)
        if scan_records is None:
            for stage in keys:
                self.fail(stage, ToolError(f"{self.ctx.path}: the scan failed", "see the scan's error"), "scan")
            return
        view = PassView(self.ctx.video_id, covered, final, scan_records)
        out = {"scan": scan_records}
        for stage in keys:
            if (records := self.derive(stage, view)) is not None:
                out[stage] = records
        self.finish(out)
        owner.progress(list(out), info.duration, info.duration)

    def _frames(self, scan: Any, keys: list[str], state: dict[str, Any] | None, readers: _KeyReader) -> float | None:
        """Decode and scan every frame (key frames to ``readers``); the time of the last one, None on failure."""
        info, owner = self.ctx.info, self.owner
        last = state["t"] if state else -1.0
        warm = {round(t, 6): i for i, t in scan.warmup()} if state else {}
        start = min(warm) - 1e-3 if warm else None
        next_checkpoint = last + owner.every
        shown = -1.0
        frames = timed(self.ctx.path, info.fps or 25.0, start=start, frame_threads=owner.until is None)
        since = time.perf_counter()
        try:
            for t, frame in frames:
                if owner.stop.is_set():
                    break
                if t <= last + 1e-6:
                    if round(t, 6) in warm:
                        scan.warm(t, frame, warm[round(t, 6)])
                    continue
                if owner.until is not None and t >= owner.until:
                    break
                try:
                    items, made = scan.add(t, frame)
                except Exception as e:  # noqa: BLE001 - the scan's failure fails every stage that reads frames
                    self._scan_failed(e, keys)
                    return None
                self.add("scan", items)
                since = self.spent("scan", since)
                for key in made:
                    readers.put(key)
                since = time.perf_counter()
                last = t
                if t >= next_checkpoint:
                    readers.wait()
                    self.checkpoint({"t": last})
                    next_checkpoint = t + owner.every
                if t - shown >= 1.0:
                    owner.progress(["scan", *keys], t, info.duration)
                    shown = t
        except VidgraphError as e:  # the file cannot be decoded (past what was read while it grows: stop there)
            if owner.until is None:
                self._scan_failed(e, keys)
                return None
        finally:
            frames.close()
        readers.wait()
        return last

    def _scan_failed(self, error: Exception, keys: list[str]) -> None:
        self.fail("scan", error)
        for stage in keys:
            self.fail(stage, error, "scan")

    def _read(self, key: KeyImage, stages: list[str]) -> None:
        for stage in stages:
            since = time.perf_counter()
            try:
                self.add(stage, [self.streams[stage].add(key.frame, key)])  # type: ignore[attr-defined]
            except Exception as e:  # noqa: BLE001 - that stage fails, the others go on
                self.fail(stage, e)
            self.spent(stage, since)

    def _stored_keys(self, keys: list[str]) -> None:
        """Key-frame stages over the indexed scan's stored key frames."""
        scan_records = self.ctx.get("scan")
        frames = sorted((r for r in scan_records if isinstance(r, Frame) and r.kind == "key"), key=lambda f: f.t)
        state = self.resume()
        done = state["n"] if state else 0
        for n, frame in enumerate(frames[done:], done):
            if self.owner.stop.is_set():
                self.checkpoint({"n": n})
                return
            self._read(KeyImage(frame), [s for s in keys if s in self.streams])
            if n % 50 == 49:
                self.checkpoint({"n": n + 1})
            self.owner.progress(keys, frame.t, self.ctx.info.duration)
        self.checkpoint({"n": len(frames)})
        view = PassView(self.ctx.video_id, self.ctx.info.duration, True, scan_records)
        self.owner.result.until[self.name] = self.ctx.info.duration
        self.finish({stage: records for stage in keys if (records := self.derive(stage, view)) is not None})


class _KeyReader:
    """The key-frame streams in their own thread, fed key frames in order by the decoding thread (at most
    ``DEPTH`` waiting, so a slow model holds the decoder back rather than frames piling up)."""

    DEPTH = 4

    def __init__(self, side: _VideoSide, stages: list[str]) -> None:
        self.side, self.stages = side, stages
        self.queue: queue.Queue = queue.Queue(self.DEPTH)
        self.thread = threading.Thread(target=self._run, name="vidgraph-keys", daemon=True) if stages else None
        if self.thread is not None:
            self.thread.start()

    def put(self, key: KeyImage) -> None:
        if self.thread is not None:
            self.queue.put(key)

    def wait(self) -> None:
        """Until every key frame given so far was read (before a checkpoint)."""
        if self.thread is not None:
            self.queue.join()

    def close(self) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.thread = None

    def _run(self) -> None:
        while True:
            key = self.queue.get()
            try:
                if key is None:
                    return
                self.side._read(key, [s for s in self.stages if s in self.side.streams])
            finally:
                self.queue.task_done()


class _AudioSide(_Side):
    name = "audio"

    def run(self) -> None:
        try:
            self._run()
        finally:
            self.close()

    def _run(self) -> None:
        owner, info = self.owner, self.ctx.info
        state = self.resume()
        windows = Windows(start=state["start"] if state else 0)
        stop = None if owner.until is None else int(owner.until * SR)
        next_checkpoint = windows.start + int(owner.every * SR)

        def read(start: int, samples: Any) -> None:
            for stage in list(self.streams):
                since = time.perf_counter()
                try:
                    self.add(stage, self.streams[stage].add(start, samples))
                except Exception as e:  # noqa: BLE001 - that stage fails, the others go on
                    self.fail(stage, e)
                self.spent(stage, since)
            owner.progress(list(self.streams), (start + len(samples)) / SR, info.duration)

        try:
            for _, block in blocks(self.ctx.path, windows.start, stop):
                if owner.stop.is_set():
                    break
                for start, samples in windows.add(block):
                    read(start, samples)
                    if windows.start >= next_checkpoint:
                        self.checkpoint({"start": windows.start})
                        next_checkpoint = windows.start + int(owner.every * SR)
                    if owner.stop.is_set():
                        break
        except VidgraphError as e:  # past what was read while the file grows: stop there
            if owner.until is None:
                for stage in list(self.streams):
                    self.fail(stage, e)
                return
        self.checkpoint({"start": windows.start})  # before the last window: a file that grows again goes on here
        if owner.stop.is_set():
            return
        final = owner.until is None
        if final:
            for start, samples in windows.rest():
                read(start, samples)
            for stage in list(self.streams):
                try:
                    self.add(stage, self.streams[stage].finish())  # type: ignore[attr-defined]
                except Exception as e:  # noqa: BLE001 - that stage fails, the others go on
                    self.fail(stage, e)
        covered = info.duration if final else windows.start / SR
        owner.result.until[self.name] = covered
        view = PassView(self.ctx.video_id, covered, final)
        self.finish({stage: records for stage in list(self.streams)
                     if (records := self.derive(stage, view)) is not None})


def run_pass(ctx: VideoContext, stages: list[str], **kwargs: Any) -> dict[str, list[Record]]:
    """Run one pass and return the records of every stage, or raise the first stage's error."""
    result = OnePass(ctx, stages, **kwargs).run()
    for stage in stages:
        if stage in result.errors:
            raise result.errors[stage]
    return result.records


def clear(checkpoints: Path) -> None:
    """Drop the checkpoints of a video's passes (once their records are kept)."""
    for folder in checkpoints.glob(f"pass{PASS_VERSION}-*"):
        shutil.rmtree(folder, ignore_errors=True)

