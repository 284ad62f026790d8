"""Cutting moments out of videos with PyAV (no ffmpeg binary): clips of a span, copies a browser can play, stills.

    cut_clip("talk.mkv", Span(12.0, 19.5), "moment.mp4")          # H.264/AAC mp4 (faststart), frame-accurate
    cut_clip("talk.mkv", Span(12.0, 19.5), "moment.webm", "webm")  # VP9/Opus webm
    browser_playable(info)                                         # can <video> play the file as it is?

Clips are re-encoded (decoded from the keyframe before ``start``, frames before it dropped), so they start on the
exact frame and always play in a browser: H.264/AAC mp4 is the most widely playable target (Chrome with its
proprietary codecs — Debian's Chromium has them — Safari, Firefox with system codecs); VP9/Opus webm plays in every
Chromium build. One thread per encoder keeps a clip from taking every core of a shared machine.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

from ..errors import MediaError
from ..records import ProbeInfo, Span
from .decode import frames_at, open_container

BROWSER_VIDEO = frozenset({"h264", "vp8", "vp9", "av1"})
"""Video codecs Chromium's ``<video>`` decodes (tested on Debian's build: not HEVC, MPEG-4 Part 2 or Theora)."""
BROWSER_AUDIO = frozenset({"aac", "opus", "mp3", "vorbis", "flac"})
BROWSER_CONTAINERS = frozenset({"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"})
FORMATS = {"mp4": ("libx264", "aac", "video/mp4"), "webm": ("libvpx-vp9", "libopus", "video/webm")}


def browser_playable(info: ProbeInfo) -> bool:
    """Whether a browser plays the file as it is (container, video and audio codecs all known to play)."""
    return (info.container in BROWSER_CONTAINERS and info.video_codec in BROWSER_VIDEO
            and (not info.has_audio or info.audio_codec in BROWSER_AUDIO))


def media_type(fmt: str) -> str:
    return FORMATS[fmt][2]


def cut_clip(src: str | Path, span: Span, dst: str | Path, fmt: str = "mp4", width: int | None = None) -> Path:
    """Re-encode ``span`` of ``src`` into ``dst`` (``mp4``: H.264/AAC with the index up front; ``webm``: VP9/Opus),
    at most ``width`` pixels wide (default: the source's size). Written atomically; returns ``dst``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown clip format {fmt!r} (mp4 or webm)")
    if not span.end > span.start:
        raise ValueError(f"empty span {span.start:g}-{span.end:g}")
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.stem}.{os.getpid()}.tmp{dst.suffix}")
    try:
        _encode(Path(src), span, tmp, fmt, width)
        tmp.replace(dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def _encode(src: Path, span: Span, dst: Path, fmt: str, width: int | None) -> None:
    import av

    vcodec, acodec, _ = FORMATS[fmt]
    inp = open_container(src)
    try:
        if not inp.streams.video:
            raise MediaError(str(src), "has no video stream", "a clip needs a video track")
        iv = inp.streams.video[0]
        iv.thread_type = "NONE"
        ia = inp.streams.audio[0] if inp.streams.audio else None
        rate = iv.average_rate or iv.guessed_rate or Fraction(25)
        w, h = iv.codec_context.width, iv.codec_context.height
        if width and w > width:
            w, h = width, round(h * width / w)
        w, h = max(2, w - w % 2), max(2, h - h % 2)  # 4:2:0 needs even sizes
        with av.open(str(dst), "w", format=fmt, options={"movflags": "+faststart"} if fmt == "mp4" else {}) as out:
            ov = out.add_stream(vcodec, rate=rate)
            ov.width, ov.height, ov.pix_fmt = w, h, "yuv420p"
            ov.options = ({"preset": "veryfast", "crf": "23", "threads": "1"} if fmt == "mp4"
                          else {"deadline": "realtime", "cpu-used": "8", "b": "800k", "threads": "1"})
            oa = None
            if ia is not None:
                sample_rate = 48000 if fmt == "webm" else (ia.codec_context.sample_rate or 48000)
                oa = out.add_stream(acodec, rate=sample_rate)
            try:
                _copy_frames(inp, iv, ia, ov, oa, out, span, rate, w, h)
            except av.error.InvalidDataError as e:
                raise MediaError(str(src), "is corrupt or truncated (decoding failed)", "re-copy the file") from e
    finally:
        inp.close()


def _copy_frames(inp, iv, ia, ov, oa, out, span: Span, rate: Fraction, w: int, h: int) -> None:
    start, end = span.start, span.end
    if start > 0:
        inp.seek(int(start / iv.time_base), stream=iv, backward=True, any_frame=False)
    frames = 0
    for packet in inp.demux([iv] + ([ia] if ia is not None else [])):
        video = packet.stream is iv
        if video and packet.pts is not None and packet.pts * iv.time_base > end + 1.0:
            break  # past the end (B-frames may still be pending: one second of slack)
        for frame in packet.decode():
            t = frame.time
            if t is None or t < start - 1e-6 or t >= end:
                continue
            if video:
                frame = frame.reformat(width=w, height=h, format="yuv420p")
                frame.pts, frame.time_base = frames, 1 / rate
                frames += 1
                for p in ov.encode(frame):
                    out.mux(p)
            elif oa is not None:
                frame.pts = None  # the encoder's re-framer numbers the samples from 0
                for p in oa.encode(frame):
                    out.mux(p)
    if frames == 0:
        raise MediaError(str(inp.name), f"has no frame in {start:.2f}-{end:.2f} s", "pick a span inside the video")
    for p in ov.encode(None):
        out.mux(p)
    if oa is not None:
        for p in oa.encode(None):
            out.mux(p)


def still(src: str | Path, t: float, dst: str | Path, width: int | None = None,
          quality: int = 85) -> tuple[Path, float]:
    """The frame nearest to ``t`` as a JPEG (at most ``width`` wide); returns the file and the frame's time."""
    from .scan import save_jpeg

    (ft, rgb), = frames_at(src, [max(0.0, t)])
    save_jpeg(rgb, Path(dst), width, quality=quality)
    return Path(dst), ft
