"""scan: one decode pass that gives shots and frames.

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
from ..records import Frame, Record, Shot, Span, fmt_time
from .base import Tool
from .context import VideoContext
from .decode import decode, frame_time, luma, video_duration

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
    version = "1"
    modules = ("av", "scenedetect")

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

    def run(self, ctx: VideoContext) -> list[Record]:
        from scenedetect import AdaptiveDetector, FrameTimecode

        p = self.params()
        if not ctx.info.has_video:
            raise MediaError(ctx.path, "has no video stream", "vidgraph indexes videos; audio-only files are skipped")
        fps = ctx.info.fps or 25.0
        detector = AdaptiveDetector(
            adaptive_threshold=p["adaptive_threshold"],
            min_scene_len=max(2, int(round(p["min_scene_len"] * fps))),
            luma_only=True,
        )
        out_dir = ctx.work_dir(self)
        times: list[float] = []
        cuts: list[int] = []
        frames: list[Frame] = []
        interval = 1.0 / p["sample_fps"]
        next_sample = interval / 2
        last_key_t = -1e9
        last_key_sig: np.ndarray | None = None
        last_key_cut = -1
        factor = 1
        duration = ctx.info.duration
        for index, frame in enumerate(decode(ctx.path)):
            t = frame_time(frame, index, fps)
            times.append(t)
            y = luma(frame)
            if index == 0:
                factor = max(1, y.shape[1] // p["luma_width"])
            small = y[::factor, ::factor]
            for cut in detector.process_frame(FrameTimecode(index, fps), np.dstack([small, small, small])):
                cuts.append(cut.frame_num)
            if t + 1e-6 < next_sample:
                continue
            while next_sample <= t + 1e-6:
                next_sample += interval
            sig = signature(small)
            new_shot = bool(cuts) and cuts[-1] > last_key_cut
            is_key = (
                last_key_sig is None
                or new_shot
                or t - last_key_t >= p["key_max_gap"]
                or (t - last_key_t >= p["key_min_gap"] and changed(sig, last_key_sig, p["change_delta"], p["change_fraction"]))
            )
            rgb = frame.to_ndarray(format="rgb24")
            stem = f"{t:010.3f}"
            w, h = save_jpeg(rgb, out_dir / "thumbs" / f"{stem}.jpg", THUMB_WIDTH, quality=80)
            frames.append(Frame(video_id=ctx.video_id, t=t, path=str(out_dir / "thumbs" / f"{stem}.jpg"),
                                width=w, height=h, kind="sample", source=self.source))
            if is_key:
                w, h = save_jpeg(rgb, out_dir / "keys" / f"{stem}.jpg", None, quality=92)
                frames.append(Frame(video_id=ctx.video_id, t=t, path=str(out_dir / "keys" / f"{stem}.jpg"),
                                    width=w, height=h, kind="key", source=self.source))
                last_key_t, last_key_sig = t, sig
                last_key_cut = cuts[-1] if cuts else -1
            ctx.progress("scan", t, duration)
        if not times:
            raise MediaError(ctx.path, "has a video stream but no decodable frame", "check that the file plays")
        expected = video_duration(ctx.path) or duration
        decoded = times[-1] + 1.0 / fps
        if expected - decoded > max(2.0, 0.05 * expected):  # the container promises more than the file holds
            raise MediaError(ctx.path, f"is truncated or damaged: only {fmt_time(decoded)} of its {fmt_time(expected)} "
                                       "could be decoded", "re-copy it; a partial index is not kept")
        for cut in detector.post_process(len(times)):
            cuts.append(cut.frame_num if hasattr(cut, "frame_num") else int(cut))
        end = max(duration, times[-1] + 1.0 / fps)
        bounds = [0.0] + [times[c] for c in sorted(set(cuts)) if 0 < c < len(times)] + [end]
        shots = [
            Shot(video_id=ctx.video_id, index=i, span=Span(start=round(a, 3), end=round(b, 3)), source=self.source)
            for i, (a, b) in enumerate(zip(bounds, bounds[1:]))
            if b > a
        ]
        starts = [s.span.start for s in shots]
        frames = [_with_shot(f, bisect.bisect_right(starts, f.t) - 1) for f in frames]
        return [*shots, *frames]


def _with_shot(frame: Frame, shot_index: int) -> Frame:
    from dataclasses import replace

    return replace(frame, shot_index=max(0, shot_index))


def shots_of(records: list[Record]) -> list[Shot]:
    return [r for r in records if isinstance(r, Shot)]


def frames_of(records: list[Record], kind: str | None = None) -> list[Frame]:
    return [r for r in records if isinstance(r, Frame) and (kind is None or r.kind == kind)]
