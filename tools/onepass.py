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

import json
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ToolError, VidgraphError, os_failure
from ..records import Frame, Record
from .audio import SR, Windows, blocks
from .context import VideoContext
from .decode import timed
from .store import atomic_write_text, params_hash
from .stream import KeyImage, PassView, Stream

PASS_VERSION = "1"
VIDEO_STAGES = ("scan", "ocr", "detect", "tags")
AUDIO_STAGES = ("asr", "speakers")
EVERY = 60.0
"""Seconds of video between checkpoints."""


class DependencyError(VidgraphError):
    """A stage that could not run because the stage it reads failed (``cause``)."""

    def __init__(self, cause: str, error: VidgraphError) -> None:
        self.cause = cause
        super().__init__(str(error))


@dataclass
class PassResult:
    records: dict[str, list[Record]] = field(default_factory=dict)
    errors: dict[str, VidgraphError] = field(default_factory=dict)
    until: dict[str, float] = field(default_factory=dict)
    """Seconds of the video each side covered."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall seconds each stage worked (the scan's include decoding; the two sides overlap)."""
    final: bool = True


def streams_of(ctx: VideoContext, stages: list[str]) -> tuple[dict[str, Stream], dict[str, VidgraphError]]:
    """The streams of ``stages``; a stage whose tool cannot start is an error, not an exception."""
    out, errors = {}, {}
    for stage in stages:
        try:
            stream = ctx.tool(stage).stream(ctx)
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
            streams, errors = streams_of(self.ctx, stages)
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


class _Side:
    """What both sides share: the streams, their items, the journal and the state of a checkpoint."""

    name = ""

    def __init__(self, owner: OnePass, streams: dict[str, Stream]) -> None:
        self.owner, self.ctx, self.streams = owner, owner.ctx, streams
        self.items: dict[str, list[Any]] = {s: [] for s in streams}
        self.folder: Path | None = None
        self._journal: Any = None
        self._pending: list[str] = []
        if owner.checkpoints is not None and streams:
            key = params_hash({s: [self.ctx.tool(s).name, self.ctx.tool(s).version, self.ctx.tool(s).params()]
                               for s in sorted(streams)})
            self.folder = owner.checkpoints / f"pass{PASS_VERSION}-{self.name}-{key}"

    def fail(self, stage: str, error: Exception, cause: str = "") -> None:
        if not isinstance(error, VidgraphError):
            error = ToolError(f"{self.ctx.path}: {self.ctx.tool(stage).name} failed: {type(error).__name__}: "
                              f"{error}", "run with --debug for the traceback; report it if the file plays elsewhere")
        self.streams.pop(stage, None)
        self.owner.events.put(("error", stage, DependencyError(cause, error) if cause else error))

    def spent(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        seconds = self.owner.result.seconds
        seconds[stage] = seconds.get(stage, 0.0) + now - since
        return now

    def add(self, stage: str, items: list[Any]) -> None:
        self.items[stage].extend(items)
        if self.folder is not None:
            self._pending += [json.dumps({"s": stage, "i": item}, ensure_ascii=False) for item in items]

    # -- checkpoints --------------------------------------------------------------------------------------------
    def resume(self) -> dict[str, Any] | None:
        """The state of the last checkpoint (items loaded, streams restored), or None to start at the beginning."""
        if self.folder is None:
            return None
        state_file, journal = self.folder / "state.json", self.folder / "journal.jsonl"
        state = None
        try:
            state = json.loads(state_file.read_text()) if state_file.is_file() else None
        except (OSError, ValueError):
            state = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if state is None:
                journal.unlink(missing_ok=True)
            else:
                with open(journal, "r+b") as f:  # what was written after the checkpoint is not trusted
                    f.truncate(state["journal"])
                with open(journal, encoding="utf-8") as f:
                    for line in f:
                        entry = json.loads(line)
                        if entry["s"] in self.items:
                            self.items[entry["s"]].append(entry["i"])
                for stage, stream in self.streams.items():
                    stream.restore(state["streams"].get(stage, {}))
            self._journal = open(journal, "a", encoding="utf-8")
        except OSError as e:
            raise os_failure(e, self.folder) from e
        return state

    def checkpoint(self, position: dict[str, Any]) -> None:
        if self.folder is None or self._journal is None:
            return
        try:
            if self._pending:
                self._journal.write("\n".join(self._pending) + "\n")
                self._pending = []
            self._journal.flush()
            os.fsync(self._journal.fileno())
            state = {"journal": self._journal.tell(), "streams": {s: st.state() for s, st in self.streams.items()},
                     **position}
            atomic_write_text(self.folder / "state.json", json.dumps(state))
        except OSError as e:
            raise os_failure(e, self.folder) from e

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def finish(self, records: dict[str, list[Record]]) -> None:
        for stage, recs in records.items():
            self.owner.events.put(("stage", stage, recs))

    def derive(self, stage: str, view: PassView) -> list[Record] | None:
        stream = self.streams.get(stage)
        if stream is None:
            return None
        since = time.perf_counter()
        try:
            return stream.records(self.items[stage], view)
        except Exception as e:  # noqa: BLE001 - one stage's failure
            self.fail(stage, e)
            return None
        finally:
            self.spent(stage, since)


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
                    self.fail("scan", e)
                    for stage in keys:
                        self.fail(stage, e, "scan")
                    return
                self.add("scan", items)
                since = self.spent("scan", since)
                for key in made:
                    self._read(key, [s for s in keys if s in self.streams])
                since = time.perf_counter()
                last = t
                if t >= next_checkpoint:
                    self.checkpoint({"t": last})
                    next_checkpoint = t + owner.every
                if t - shown >= 1.0:
                    owner.progress(["scan", *keys], t, info.duration)
                    shown = t
        except VidgraphError as e:  # the file cannot be decoded (past what was read while it grows: stop there)
            if owner.until is None:
                self.fail("scan", e)
                for stage in keys:
                    self.fail(stage, e, "scan")
                return
        finally:
            frames.close()
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
        except VidgraphError as e:
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

