"""The one decoding layer every tool goes through (PyAV).

- ``open_container`` turns every way a file can be unusable into one ``MediaError`` line;
- ``probe`` reads the headers (no decoding);
- ``decode`` is the sequential pass (seeking per sample costs 4x a straight decode), ``timed`` the same with each
  frame's time on the video's timeline (0 = the container's start: an MPEG-TS file starts at 1.4 s, say);
- ``frames_in_span`` / ``frames_at`` seek for sparse or local needs (the agents' "look closer");
- ``load_audio`` gives 16 kHz mono float32 for speech models (``tools.audio`` streams it in windows);
- ``readable_until`` says how far a file that is still being written can be read.

Times are on the video's timeline everywhere.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import MediaError
from ..records import ProbeInfo, Span

if TYPE_CHECKING:
    import av

HASH_CHUNK = 1 << 20


def content_hash(path: str | Path) -> str:
    """The video's identity: BLAKE2b-128 of its bytes (about 1 s per GB)."""
    h = hashlib.blake2b(digest_size=16)
    try:
        with open(path, "rb") as f:
            while chunk := f.read(HASH_CHUNK):
                h.update(chunk)
    except OSError as e:
        raise os_error(path, e) from e
    return h.hexdigest()


def os_error(path: str | Path, e: OSError) -> MediaError:
    if e.errno == errno.ENOENT:
        if os.path.islink(path):
            return MediaError(str(path), "broken symbolic link", "point the link at an existing file or delete it")
        return MediaError(str(path), "file not found", "check the path")
    if e.errno == errno.EACCES:
        return MediaError(str(path), "permission denied", "make the file readable (chmod +r) or skip it")
    if e.errno == errno.ELOOP:
        return MediaError(str(path), "symbolic link loop", "fix or delete the link")
    if e.errno == errno.EISDIR:
        return MediaError(str(path), "is a directory, not a video file", "pass a video file")
    return MediaError(str(path), f"cannot read the file ({e.strerror})", "check the file and the disk")


def open_container(path: str | Path) -> av.container.InputContainer:
    """Open a media file for reading, or raise one clear ``MediaError``."""
    import av

    path = str(path)
    try:
        size = os.stat(path).st_size
        with open(path, "rb"):
            pass
    except OSError as e:
        raise os_error(path, e) from e
    if size == 0:
        raise MediaError(path, "empty file (0 bytes)", "re-copy or re-download it")
    try:
        return av.open(path, metadata_errors="ignore")
    except av.error.InvalidDataError as e:
        raise MediaError(path, "not a video or audio file that FFmpeg can read",
                         "check that it is a complete video file") from e
    except av.error.FFmpegError as e:
        raise MediaError(path, f"FFmpeg cannot open it ({e.strerror or e})",
                         "check that it is a complete video file") from e


def video_duration(path: str | Path) -> float | None:
    """The video stream's own duration from its header (None when it has none): a track can end before the
    container's longest stream."""
    container = open_container(path)
    try:
        v = container.streams.video[0] if container.streams.video else None
        return float(v.duration * v.time_base) if v is not None and v.duration and v.time_base else None
    finally:
        container.close()


def probe(path: str | Path, video_id: str | None = None, source: str = "") -> ProbeInfo:
    """Duration, streams and frame rate from the container headers."""
    path = str(path)
    container = open_container(path)
    try:
        vstreams = [s for s in container.streams.video if s.codec_context is not None]
        astreams = list(container.streams.audio)
        v = vstreams[0] if vstreams else None
        a = astreams[0] if astreams else None
        duration = _duration(container, v, a)
        fps = 0.0
        vfr = False
        if v is not None:
            avg = v.average_rate or v.guessed_rate
            base = v.base_rate or v.guessed_rate
            fps = float(avg) if avg else 0.0
            if avg and base and abs(float(avg) - float(base)) > 0.01 * float(base):
                vfr = True
        info = ProbeInfo(
            video_id=video_id or content_hash(path),
            path=os.path.abspath(path),
            size_bytes=os.path.getsize(path),
            container=container.format.name,
            duration=duration,
            has_video=v is not None,
            has_audio=a is not None,
            width=v.codec_context.width if v else 0,
            height=v.codec_context.height if v else 0,
            fps=round(fps, 3),
            video_codec=v.codec_context.name if v else "",
            audio_codec=a.codec_context.name if a else "",
            audio_rate=a.codec_context.sample_rate if a else 0,
            variable_frame_rate=vfr,
            source=source,
        )
    finally:
        container.close()
    if info.duration <= 0:
        raise MediaError(path, "has no duration (no decodable stream)", "check that it is a complete video file")
    return info


def _duration(container: av.container.InputContainer, v: av.stream.Stream | None, a: av.stream.Stream | None) -> float:
    if container.duration:
        return container.duration / 1_000_000
    for s in (v, a):
        if s is not None and s.duration and s.time_base:
            return float(s.duration * s.time_base)
    # No header duration (some webm/streams): decode timestamps of the last packets.
    best = 0.0
    for packet in container.demux():
        if packet.pts is not None and packet.time_base:
            best = max(best, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return best


def frame_time(frame: av.VideoFrame, index: int, fps: float, origin: float = 0.0) -> float:
    t = frame.time
    return float(t) - origin if t is not None else index / (fps or 25.0)


def time_origin(container: av.container.InputContainer) -> float:
    """The container's start time (s): what time 0 of the video's timeline is in its timestamps."""
    start = container.start_time
    return start / 1_000_000 if start not in (None, 0) else 0.0


def timed(path: str | Path, fps: float, *, start: float | None = None, end: float | None = None,
          frame_threads: bool = True) -> Iterator[tuple[float, av.VideoFrame]]:
    """``decode`` with each frame's time on the video's timeline; ``start``/``end`` are on it too."""
    container = open_container(path)
    origin = time_origin(container)
    container.close()
    for index, frame in enumerate(decode(path, start=None if start is None else start + origin,
                                         end=None if end is None else end + origin, frame_threads=frame_threads)):
        yield frame_time(frame, index, fps, origin), frame


def readable_until(path: str | Path, margin: float = 1.0) -> float:
    """How far a file that is still being written can be read (s on its timeline): the end of its last packet of
    every stream, less ``margin`` (the last packets may be cut short); 0 when nothing is readable yet."""
    import av

    try:
        container = open_container(path)
    except MediaError:
        return 0.0
    try:
        origin = time_origin(container)
        streams = [s for s in (*container.streams.video[:1], *container.streams.audio[:1])]
        ends = {s.index: 0.0 for s in streams}
        try:
            for packet in container.demux(*streams):
                if packet.pts is not None and packet.time_base:
                    t = float((packet.pts + (packet.duration or 0)) * packet.time_base) - origin
                    ends[packet.stream.index] = max(ends[packet.stream.index], t)
        except av.error.FFmpegError:  # the bytes being written: what came before is readable
            pass
    finally:
        container.close()
    return max(0.0, min(ends.values(), default=0.0) - margin)


def decode(
    path: str | Path, *, skip_nonref: bool = False, start: float | None = None, end: float | None = None,
    frame_threads: bool = True,
) -> Iterator[av.VideoFrame]:
    """Decode video frames in order (one pass, frame threads). With ``start``, seek there first.

    ``frame_threads=False`` for short windows: leaving a frame-threaded decoder early can deadlock FFmpeg's
    ``avcodec_free_context`` (seen under heavy load), and threads gain nothing for a few frames.
    """
    import av

    target = _seek_target(path, start) if start is not None and start > 0 else None
    container = open_container(path)
    if not container.streams.video:
        container.close()
        raise MediaError(str(path), "has no video stream", "vidgraph needs a video track; audio-only files are skipped")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO" if frame_threads else "SLICE"
    if skip_nonref:
        stream.codec_context.skip_frame = "NONREF"
    try:
        if target is not None:
            container.seek(int(target / stream.time_base), stream=stream, backward=True, any_frame=False)
        try:
            for frame in container.decode(stream):
                t = frame.time
                if start is not None and t is not None and t < start - 1e-6:
                    continue
                if end is not None and t is not None and t > end:
                    break
                yield frame
        except av.error.InvalidDataError as e:
            raise MediaError(str(path), "is corrupt or truncated (decoding failed)",
                             "re-copy the file; the part before the damage may still play") from e
    finally:
        container.close()


def _seek_target(path: str | Path, start: float) -> float | None:
    """Where to seek to decode from ``start``: a seek in a file without an index (MPEG-TS) can land past its
    target, so each try decodes one frame (slice threads: a frame-threaded decoder left early can deadlock) and
    the next seeks further back; None: from the beginning."""
    import av

    back = 0.0
    while start - back > 0:
        container = open_container(path)
        try:
            if not container.streams.video:
                return None
            stream = container.streams.video[0]
            stream.thread_type = "SLICE"
            container.seek(int((start - back) / stream.time_base), stream=stream, backward=True, any_frame=False)
            try:
                first = next(container.decode(stream), None)
            except av.error.InvalidDataError:
                first = None
        finally:
            container.close()
        if first is not None and (first.time is None or first.time <= start + 1e-6):
            return start - back
        back = max(2.0, back * 2)
    return None


def luma(frame: av.VideoFrame) -> np.ndarray:
    """The frame's luma plane as a 2-D uint8 array, without colour conversion when the format is YUV."""
    if frame.format.name.startswith(("yuv", "yuvj", "nv12", "gray")):
        plane = frame.planes[0]
        buf = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return buf[:, : plane.width]
    return frame.to_ndarray(format="gray")


def frames_in_span(path: str | Path, span: Span, fps: float, max_frames: int = 64) -> list[tuple[float, np.ndarray]]:
    """RGB frames re-sampled inside ``span`` at ``fps`` (at most ``max_frames``, spread evenly)."""
    n = max(1, min(max_frames, int(round(span.duration * fps)) or 1))
    step = span.duration / n
    targets = [span.start + step * (i + 0.5) for i in range(n)]
    return frames_at(path, targets, window=span)


def frames_at(path: str | Path, times: Sequence[float], window: Span | None = None) -> list[tuple[float, np.ndarray]]:
    """RGB frames nearest to each time in ``times`` (sorted), by one seek and a forward decode per cluster."""
    times = sorted(times)
    out: list[tuple[float, np.ndarray]] = []
    if not times:
        return out
    start = window.start if window else times[0]
    end = window.end if window else times[-1]
    if window is None and times[-1] - times[0] > 30:
        # far-apart times: one seek each rather than decoding everything between them
        for t in times:
            out.extend(frames_at(path, [t], Span(start=t, end=t)))
        return out
    pending = list(times)
    previous = None
    frames = timed(path, 0.0, start=max(0.0, start - 0.001), end=end + 1.0, frame_threads=False)
    for t, frame in frames:
        while pending and t >= pending[0]:
            chosen = frame if previous is None or abs(t - pending[0]) <= abs(previous[0] - pending[0]) else previous[1]
            ct = t if chosen is frame else previous[0]
            out.append((ct, chosen.to_ndarray(format="rgb24")))
            pending.pop(0)
        if not pending:
            break
        previous = (t, frame)
    if pending and previous is not None:  # times past the last frame: use the last one
        out.extend((previous[0], previous[1].to_ndarray(format="rgb24")) for _ in pending)
    frames.close()  # close the container now, not whenever the generator is collected
    return out


def load_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """The first audio track as mono float32 at ``sample_rate`` (empty if the file has no audio)."""
    import av

    container = open_container(path)
    try:
        if not container.streams.audio:
            return np.zeros(0, dtype=np.float32)
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        chunks = []
        try:
            for frame in container.decode(stream):
                frame.pts = None
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.InvalidDataError as e:
            raise MediaError(str(path), "audio track is corrupt or truncated", "re-copy the file") from e
    finally:
        container.close()
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return (np.concatenate(chunks).astype(np.float32) / 32768.0)
