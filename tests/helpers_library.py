"""Media for the library tests, made with ffmpeg at test time (cached): small distinct clips with a known cut,
and a corpus of bad and odd inputs next to good videos, with what each file should give."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

CACHE = Path(os.environ.get("VIDGRAPH_TEST_CACHE", Path.home() / ".cache" / "vidgraph" / "test-media")) / "library"
PYTHON = Path(sys.executable)
VIDGRAPH = PYTHON.parent / "vidgraph"

SOURCES = ["testsrc2", "mandelbrot", "smptebars", "rgbtestsrc", "color=c=red", "color=c=blue", "testsrc",
           "yuvtestsrc", "smptehdbars", "color=c=green", "pal75bars", "allrgb"]


def _ffmpeg(args: list[str], out: Path) -> Path:
    """Run ffmpeg once per distinct command line; the output is cached."""
    key = hashlib.sha256(("\0".join(args) + out.suffix).encode()).hexdigest()[:12]
    cached = CACHE / f"{out.stem}-{key}{out.suffix}"
    if not cached.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.stem}.{os.getpid()}{cached.suffix}")
        done = subprocess.run(["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", *args, str(tmp)],
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"ffmpeg {' '.join(args)}: {done.stderr}")
        tmp.replace(cached)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, out)
    return out


def _lavfi(source: str, size: str, fps: int, seconds: float) -> list[str]:
    sep = ":" if "=" in source else "="
    return ["-f", "lavfi", "-t", f"{seconds:g}", "-i", f"{source}{sep}s={size}:r={fps}"]


def clip(out: Path, index: int = 0, seconds: float = 3.0, size: str = "320x240", fps: int = 25,
         audio: bool = True) -> Path:
    """An H.264 mp4 of two scenes (``seconds`` each, a hard cut at ``seconds``) with a sine tone; ``index``
    picks the pictures, so clips with different indices have different content."""
    a, b = SOURCES[index % len(SOURCES)], SOURCES[(index + 1) % len(SOURCES)]
    args = [*_lavfi(a, size, fps, seconds), *_lavfi(b, size, fps, seconds)]
    graph = f"[0:v][1:v]concat=n=2:v=1:a=0,format=yuv420p,drawtext=text='{index}':fontsize=40:x=8:y=8:" \
            "fontcolor=white:fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf[v]"
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=f={300 + 40 * index}:d={2 * seconds:g}"]
    args += ["-filter_complex", graph, "-map", "[v]"]
    if audio:
        args += ["-map", "2:a", "-c:a", "aac"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-g", str(fps * 2)]
    return _ffmpeg(args, out)


def clips(folder: Path, n: int, **kwargs) -> list[Path]:
    return [clip(folder / f"clip{i}.mp4", i, **kwargs) for i in range(n)]


# -- the bad and odd corpus ---------------------------------------------------------------------------------------

GOOD = "done"


def make_corpus(folder: Path) -> dict[str, str]:
    """Bad and odd inputs beside good videos. Returns {relative path: "done" or the problem its line must say}."""
    folder.mkdir(parents=True, exist_ok=True)
    expect: dict[str, str] = {}

    def good(rel: str, path: Path | None = None) -> None:
        expect[rel] = GOOD

    clip(folder / "good one.mp4", 0)
    good("good one.mp4")
    clip(folder / "vidéo 東京 – été.mp4", 1)  # spaces and non-ASCII
    good("vidéo 東京 – été.mp4")
    clip(folder / "sub" / "deeper" / "UPPER CASE.MP4", 2, audio=False)  # nested, upper-case extension, no audio
    good("sub/deeper/UPPER CASE.MP4")
    clip(folder / "dir.mp4" / "inside.mp4", 3)  # a directory named .mp4 is a folder: searched, not an error
    good("dir.mp4/inside.mp4")
    _ffmpeg([*_lavfi("testsrc2", "320x240", 30, 6), "-vf", r"select='lt(n\,60)+gte(n\,60)*not(mod(n\,3))'",
             "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast", "-an"], folder / "variable fps.mp4")
    good("variable fps.mp4")
    _ffmpeg([*_lavfi("mandelbrot", "320x240", 25, 3), "-f", "lavfi", "-i", "sine=d=3", "-c:v", "libvpx-vp9",
             "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k", "-c:a", "libopus"], folder / "vp9.webm")
    good("vp9.webm")
    _ffmpeg([*_lavfi("smptebars", "320x240", 25, 3), "-f", "lavfi", "-i", "sine=d=3", "-c:v", "mjpeg",
             "-q:v", "5", "-c:a", "pcm_s16le"], folder / "mjpeg.avi")
    good("mjpeg.avi")
    latin1 = os.fsdecode(b"latin1 \xe9t\xe9.mkv")  # a file name that is not valid UTF-8
    _ffmpeg([*_lavfi("rgbtestsrc", "320x240", 25, 3), "-c:v", "libx264", "-preset", "ultrafast"], folder / latin1)
    good("latin1 \\xe9t\\xe9.mkv")
    os.symlink("good one.mp4", folder / "link to good.mp4")  # a link to a video: the same video, two paths
    expect["link to good.mp4"] = GOOD

    (folder / "empty.mp4").write_bytes(b"")
    expect["empty.mp4"] = "empty file (0 bytes)"
    full = clip(CACHE / "tmp-truncated-source.mp4", 4)  # moov atom at the end: cutting it loses the index
    data = full.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    expect["truncated.mp4"] = "not a video or audio file that FFmpeg can read"
    (folder / "notes.mp4").write_text("These are my notes, not a video.\n" * 20)
    expect["notes.mp4"] = "not a video or audio file that FFmpeg can read"
    _ffmpeg(["-f", "lavfi", "-i", "sine=f=500:d=3", "-c:a", "aac"], folder / "audio only.mp4")
    expect["audio only.mp4"] = "has no video stream"
    os.mkfifo(folder / "pipe.mp4")
    expect["pipe.mp4"] = "is a named pipe, not a regular file"
    os.symlink("loop b.mp4", folder / "loop a.mp4")
    os.symlink("loop a.mp4", folder / "loop b.mp4")
    expect["loop a.mp4"] = expect["loop b.mp4"] = "symbolic link loop"
    os.symlink("gone.mp4", folder / "dangling.mp4")
    expect["dangling.mp4"] = "broken symbolic link"

    (folder / "readme.txt").write_text("not a video extension: ignored")
    (folder / ".hidden.mp4").write_text("hidden files are ignored")
    return expect
