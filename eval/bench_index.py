"""Benchmark indexing one long generated speech video with the default tools (not a test).

    python -m vidgraph.eval.bench_index --minutes 60
    python -m vidgraph.eval.bench_index --minutes 600 --size 320x180      # the flat-memory check

The video is built from a generated 10-minute unit (speech, burned-in text, cuts, real photos), repeated with a
lossless ffmpeg concat. Reports wall time, x-realtime, CPU-seconds per video-hour and peak memory of
``Library.index()``, and the ratio to plainly decoding the same file, measured in the same run. Peak memory is the
largest sum of the resident sets of this process and its children, sampled every 0.2 s (psutil), next to the
kernel's high-water mark of the largest single process (``ru_maxrss``).
Targets on 2 cores: 1 h of 720p speech video in at most 4 min (>= 15x realtime), peak memory <= 2.5 GB at 1 h and
no more at 10 h.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ..library import Library
from ..tools.decode import decode, probe
from . import synth


def _cpu() -> float:
    self_, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_.ru_utime + self_.ru_stime + children.ru_utime + children.ru_stime


def _maxrss_mb() -> float:
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


class TreeRSS:
    """The peak of this process tree's summed resident set, sampled in a thread while in a ``with`` block; with the
    peak of each ``bucket`` seconds, so a run shows whether memory grows with time (``timeline``)."""

    def __init__(self, interval: float = 0.2, bucket: float = 10.0) -> None:
        self.interval, self.bucket, self.peak_mb = interval, bucket, 0.0
        self._peaks: dict[int, float] = {}
        self._started = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> float:
        import psutil

        me = psutil.Process(os.getpid())
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            mb = self._sample()
            self.peak_mb = max(self.peak_mb, mb)
            slot = int((time.perf_counter() - self._started) / self.bucket)
            self._peaks[slot] = max(self._peaks.get(slot, 0.0), mb)

    def timeline(self, parts: int = 10) -> list[float]:
        """The peak (MB) in each of ``parts`` equal stretches of the run: flat memory gives a flat list."""
        if not self._peaks:
            return []
        last = max(self._peaks) + 1
        return [round(max((mb for slot, mb in self._peaks.items() if n * last // parts <= slot
                           < max((n + 1) * last // parts, n * last // parts + 1)), default=0.0))
                for n in range(parts)]

    def __enter__(self) -> TreeRSS:
        self._started = time.perf_counter()
        try:
            self.peak_mb = self._sample()
        except ImportError:
            return self  # no psutil: only ru_maxrss is reported
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def build_video(minutes: float, work: Path, unit_minutes: float = 10.0, preset: str = "medium",
                size: str = "1280x720") -> Path:
    tag = "" if size == "1280x720" else f"-{size}"
    unit = work / f"unit-{unit_minutes:g}min-{preset}{tag}.mp4"
    if not unit.is_file():
        print(f"generating a {unit_minutes:g}-minute {size} unit ...", flush=True)
        synth.make_video(synth.long_scenes(unit_minutes), unit, size=size, preset=preset)
    repeats = max(1, round(minutes / unit_minutes))
    out = work / f"videos{tag}" / f"long-{repeats * unit_minutes:g}min{tag}.mp4"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        listing = work / f"concat{tag}.txt"
        listing.write_text("".join(f"file '{unit}'\n" for _ in range(repeats)))
        subprocess.run(["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i",
                        str(listing), "-c", "copy", "-movflags", "+faststart", str(out)], check=True)
    return out


def measure(video: Path, index_dir: Path, jobs: int = 1) -> dict[str, object]:
    """Plain decode, then index, of ``video`` in this process: the numbers of one run."""
    info = probe(video)
    hours = info.duration / 3600
    with TreeRSS() as decode_rss:
        wall, cpu = time.perf_counter(), _cpu()
        frames = sum(1 for _ in decode(video))
        decode_wall, decode_cpu = time.perf_counter() - wall, _cpu() - cpu
    shutil.rmtree(index_dir, ignore_errors=True)
    library = Library(video.parent, index_dir=index_dir)
    with TreeRSS() as index_rss:
        wall, cpu = time.perf_counter(), _cpu()
        report = library.index(jobs=jobs, progress=False)
        index_wall, index_cpu = time.perf_counter() - wall, _cpu() - cpu
    stages: dict[str, float] = {}
    for result in report.results:
        for stage in result.stages:
            stages[stage.stage] = stages.get(stage.stage, 0.0) + stage.seconds
    return {
        "video": video.name, "minutes": info.duration / 60, "size": f"{info.width}x{info.height}", "fps": info.fps,
        "frames": frames, "failures": len(report.failures),
        "decode": {"wall": decode_wall, "cpu_per_hour": decode_cpu / hours, "peak_mb": decode_rss.peak_mb},
        "index": {"wall": index_wall, "x_realtime": info.duration / index_wall, "cpu_per_hour": index_cpu / hours,
                  "vs_decode": index_wall / decode_wall, "cpu_vs_decode": index_cpu / max(decode_cpu, 1e-9),
                  "peak_mb": index_rss.peak_mb, "maxrss_mb": _maxrss_mb(), "peak_mb_by_tenth": index_rss.timeline()},
        "stages": stages,
    }


def show(m: dict) -> None:
    d, x = m["decode"], m["index"]
    minutes = m["minutes"]
    print(f"\nvideo: {m['video']}, {minutes:.1f} min, {m['size']} @ {m['fps']:g} fps, {m['frames']} frames; "
          f"failures: {m['failures']}")
    print(f"{'':<14} {'wall s':>8} {'x realtime':>11} {'CPU-s/video-h':>14} {'vs decode':>10}")
    print(f"{'plain decode':<14} {d['wall']:8.1f} {minutes * 60 / d['wall']:11.1f} {d['cpu_per_hour']:14.0f} "
          f"{1.0:10.2f}")
    for name, seconds in m["stages"].items():
        print(f"{'  ' + name:<14} {seconds:8.1f} {minutes * 60 / max(seconds, 1e-9):11.1f} {'':>14} "
              f"{seconds / d['wall']:10.2f}")
    print(f"{'index (all)':<14} {x['wall']:8.1f} {x['x_realtime']:11.1f} {x['cpu_per_hour']:14.0f} "
          f"{x['vs_decode']:10.2f}")
    print("(stage seconds overlap: the video and the audio side run at once)")
    print(f"peak memory: {x['peak_mb']:.0f} MB (process tree), ru_maxrss {x['maxrss_mb']:.0f} MB; 1 h of this video "
          f"would take {x['wall'] / (minutes / 60) / 60:.1f} min (target <= 4 min, <= 2.5 GB on 2 cores)")
    if x.get("peak_mb_by_tenth"):
        print("peak memory in each tenth of the run (MB): " + " ".join(f"{mb:.0f}" for mb in x["peak_mb_by_tenth"]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="video length (default 60)")
    parser.add_argument("--size", default="1280x720", help="frame size of the generated video (default 1280x720)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (one video: 1)")
    parser.add_argument("--work", type=Path, help="keep the generated video here (reused across runs)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="vidgraph-bench-index-"))
    work.mkdir(parents=True, exist_ok=True)
    video = build_video(args.minutes, work, size=args.size)
    numbers = measure(video, work / f"index-{os.getpid()}", args.jobs)
    shutil.rmtree(work / f"index-{os.getpid()}", ignore_errors=True)
    show(numbers)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(numbers, indent=2))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
