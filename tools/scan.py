"""scan: shots and frames, from the one decode pass (``tools.onepass``) every stage that reads frames shares.

Every decoded frame's luma (sliced, no colour conversion) feeds PySceneDetect's ``AdaptiveDetector``; at the
sampling rate a frame is kept as a thumbnail, and at full resolution ("key") when it opens a new shot, when its
content changed since the last key frame, or when ``key_max_gap`` seconds passed. OCR and detection run on key
frames only, so a static slide costs one OCR call, not one per second.
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MediaError
from ..records import Frame, Record, Shot, Span, fmt_time, record_from_dict
from .base import Tool
from .context import VideoContext
from .decode import luma, video_duration
from .stream import KeyImage, PassView, VideoStream, pack, unpack

THUMB_WIDTH = 320


def signature(y: np.ndarray, cells: tuple[int, int] = (36, 64)) -> np.ndarray:
    """A 36x64 block-mean grey image: cheap to compare, insensitive to noise."""
    h, w = y.shape
    ch, cw = cells
    y = y[: h - h % ch, : w - w % cw] if h >= ch and w >= cw else y
    if y.shape[0] < ch or y.shape[1] < cw:
        return y.astype(np.float32)
    return y.reshape(ch, y.shape[0] // ch, cw, y.shape[1] // cw).mean(axis=(1, 3), dtype=np.float32)


def changed(a: np.ndarray, b: np.ndarray, cell_delta: float, min_fraction: float) -> bool:
    """True when more than ``min_fraction`` of the cells moved by more than ``cell_delta`` grey levels."""
    if a.shape != b.shape:
        return True
    return float((np.abs(a - b) > cell_delta).mean()) > min_fraction


def save_jpeg(rgb: np.ndarray, path: Path, width: int | None = None, quality: int = 90) -> tuple[int, int]:
    from PIL import Image

    img = Image.fromarray(rgb)
    if width and img.width > width:
        img = img.resize((width, max(1, round(img.height * width / img.width))), Image.BILINEAR)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.jpg")
    img.save(tmp, quality=quality)
    tmp.replace(path)
    return img.width, img.height


class ScanTool(Tool):
    name = "scan"
    stage = "scan"
    version = "2"
    """2: on the video's timeline (0 = the container's start), made by the one pass (``tools.onepass``)."""
    modules = ("av", "scenedetect")
    streams = True

    def params(self) -> dict[str, Any]:
        s = self.settings
        return {
            "sample_fps": s.sample_fps,
            "key_max_gap": s.key_max_gap,
            "key_min_gap": 2.0,
            "change_delta": 18.0,
            "change_fraction": 0.01,
            "adaptive_threshold": 3.0,
            "min_scene_len": 0.5,
            "luma_width": 256,
        }

    def stream(self, ctx: VideoContext) -> ScanStream:
        if not ctx.info.has_video:
            raise MediaError(ctx.path, "has no video stream", "vidgraph indexes videos; audio-only files are skipped")
        return ScanStream(self, ctx)

    def run(self, ctx: VideoContext) -> list[Record]:
        from .onepass import run_pass

        return run_pass(ctx, [self.stage])[self.stage]


class ScanStream(VideoStream):
    """Shots and frames, one decoded frame at a time (see the module docstring).

    Cuts come from ``AdaptiveDetector`` (its ``min_scene_len`` applied here, so the state to keep is one index);
    after a checkpoint the detector sees the last frames again (``warmup``) and goes on as if it never stopped.
    """

    WARM = 6
    """Frames the detector needs to see again: its window (2 x 2 + 1) and the frame before it."""

    def __init__(self, tool: ScanTool, ctx: VideoContext) -> None:
        from scenedetect import AdaptiveDetector

        super().__init__("scan")
        self.p = p = tool.params()
        self.fps = ctx.info.fps or 25.0
        self.min_len = max(2, int(round(p["min_scene_len"] * self.fps)))
        self.detector = AdaptiveDetector(adaptive_threshold=p["adaptive_threshold"], min_scene_len=0, luma_only=True)
        self.out_dir = ctx.work_dir(tool)
        self.video_id, self.source, self.path = ctx.video_id, tool.source, ctx.path
        self.interval = 1.0 / p["sample_fps"]
        self.n = 0
        self.recent: list[tuple[int, float]] = []
        self.last_cut = 0  # the detector's own min_scene_len starts counting at the first frame
        self.cut_index = -1  # the last cut kept (index of its first frame)
        self.next_sample = self.interval / 2
        self.last_key_t = -1e9
        self.last_key_sig: np.ndarray | None = None
        self.last_key_cut = -1
        self.factor = 0

    # -- the checkpoint -------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"n": self.n, "recent": self.recent, "last_cut": self.last_cut, "cut_index": self.cut_index,
                "next_sample": self.next_sample, "last_key_t": self.last_key_t, "last_key_cut": self.last_key_cut,
                "factor": self.factor, "sig": None if self.last_key_sig is None else pack(self.last_key_sig)}

    def restore(self, state: dict[str, Any]) -> None:
        self.n, self.last_cut, self.cut_index = state["n"], state["last_cut"], state["cut_index"]
        self.recent = [(int(i), float(t)) for i, t in state["recent"]]
        self.next_sample, self.last_key_t = state["next_sample"], state["last_key_t"]
        self.last_key_cut, self.factor = state["last_key_cut"], state["factor"]
        self.last_key_sig = None if state["sig"] is None else unpack(state["sig"])

    def warmup(self) -> list[tuple[int, float]]:
        return self.recent[-self.WARM:]

    def warm(self, t: float, frame: Any, index: int) -> None:
        from scenedetect import FrameTimecode

        self.detector.process_frame(FrameTimecode(index, self.fps), self._small3(frame))

    # -- frames ---------------------------------------------------------------------------------------------------
    def _small(self, frame: Any) -> np.ndarray:
        y = luma(frame)
        if not self.factor:
            self.factor = max(1, y.shape[1] // self.p["luma_width"])
        return y[::self.factor, ::self.factor]

    def _small3(self, frame: Any) -> np.ndarray:
        small = self._small(frame)
        return np.dstack([small, small, small])

    def add(self, t: float, frame: Any) -> tuple[list[Any], list[KeyImage]]:
        from scenedetect import FrameTimecode

        p, index = self.p, self.n
        self.n += 1
        self.recent = [*self.recent[-(self.WARM + 2):], (index, t)]
        items: list[Any] = []
        small = self._small(frame)
        for cut in self.detector.process_frame(FrameTimecode(index, self.fps), np.dstack([small, small, small])):
            c = int(cut.frame_num)
            if c - self.last_cut >= self.min_len:
                self.last_cut = self.cut_index = c
                at = next((ct for ci, ct in self.recent if ci == c), t)
                items.append({"cut": round(at, 6)})
        if t + 1e-6 < self.next_sample:
            return items, []
        while self.next_sample <= t + 1e-6:
            self.next_sample += self.interval
        sig = signature(small)
        new_shot = self.cut_index > self.last_key_cut
        is_key = (
            self.last_key_sig is None
            or new_shot
            or t - self.last_key_t >= p["key_max_gap"]
            or (t - self.last_key_t >= p["key_min_gap"]
                and changed(sig, self.last_key_sig, p["change_delta"], p["change_fraction"]))
        )
        stem = f"{t:010.3f}"
        thumb_path = self.out_dir / "thumbs" / f"{stem}.jpg"
        keys: list[KeyImage] = []
        w, h = save_thumb(frame, thumb_path)
        items.append({"frame": Frame(video_id=self.video_id, t=t, path=str(thumb_path), width=w, height=h,
                                     kind="sample", source=self.source).to_dict()})
        if is_key:
            rgb = frame.to_ndarray(format="rgb24")
            key_path = self.out_dir / "keys" / f"{stem}.jpg"
            w, h = save_jpeg(rgb, key_path, None, quality=92)
            key = Frame(video_id=self.video_id, t=t, path=str(key_path), width=w, height=h, kind="key",
                        source=self.source)
            items.append({"frame": key.to_dict()})
            keys.append(KeyImage(key, rgb))
            self.last_key_t, self.last_key_sig, self.last_key_cut = t, sig, self.cut_index
        return items, keys

    def finish(self) -> list[Any]:
        return []

    # -- records --------------------------------------------------------------------------------------------------
    def records(self, items: list[Any], view: PassView) -> list[Record]:
        frames = [record_from_dict(i["frame"]) for i in items if "frame" in i]
        cuts = sorted({i["cut"] for i in items if "cut" in i})
        last = self.recent[-1][1] if self.recent else 0.0
        if view.final:
            if not self.recent:
                raise MediaError(self.path, "has a video stream but no decodable frame", "check that the file plays")
            expected = video_duration(self.path) or view.duration
            decoded = last + 1.0 / self.fps
            if expected - decoded > max(2.0, 0.05 * expected):  # the container promises more than the file holds
                raise MediaError(self.path, f"is truncated or damaged: only {fmt_time(decoded)} of its "
                                            f"{fmt_time(expected)} could be decoded",
                                 "re-copy it; a partial index is not kept")
            end = max(view.duration, last + 1.0 / self.fps)
        else:
            end = last + 1.0 / self.fps if self.recent else view.duration
        bounds = [0.0] + [c for c in cuts if 0 < c < end] + [end]
        shots = [
            Shot(video_id=view.video_id, index=i, span=Span(start=round(a, 3), end=round(b, 3)), source=self.source)
            for i, (a, b) in enumerate(zip(bounds, bounds[1:]))
            if b > a
        ]
        starts = [s.span.start for s in shots]
        frames = [_with_shot(f, bisect.bisect_right(starts, f.t) - 1) for f in frames]  # type: ignore[arg-type]
        return [*shots, *frames]


def save_thumb(frame: Any, path: Path) -> tuple[int, int]:
    """A sample frame's thumbnail, scaled while converting (no full-size copy)."""
    w = THUMB_WIDTH if frame.width > THUMB_WIDTH else frame.width
    h = max(1, round(frame.height * w / frame.width))
    return save_jpeg(frame.to_ndarray(format="rgb24", width=w, height=h), path, None, quality=80)


def _with_shot(frame: Frame, shot_index: int) -> Frame:
    from dataclasses import replace

    return replace(frame, shot_index=max(0, shot_index))


def shots_of(records: list[Record]) -> list[Shot]:
    return [r for r in records if isinstance(r, Shot)]


def frames_of(records: list[Record], kind: str | None = None) -> list[Frame]:
    return [r for r in records if isinstance(r, Frame) and (kind is None or r.kind == kind)]
