"""Benchmark indexing one long generated speech video with the default tools (not a test).

    python -m vidgraph.eval.bench_index --minutes 60

The video is built from a generated 10-minute unit (speech, burned-in text, cuts, real photos), repeated with a
lossless ffmpeg concat. Reports wall time, x-realtime, CPU-seconds per video-hour and peak memory of
``Library.index()``, and the ratio to plainly decoding the same file, measured in the same run.
Target: 1 h of 720p speech video indexed in at most 8 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ..library import Library
from ..tools.decode import decode, probe
from . import synth


def _cpu() -> float:
    self_, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_.ru_utime + self_.ru_stime + children.ru_utime + children.ru_stime


def _peak_mb() -> float:
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def build_video(minutes: float, work: Path, unit_minutes: float = 10.0, preset: str = "medium") -> Path:
    unit = work / f"unit-{unit_minutes:g}min-{preset}.mp4"
    if not unit.is_file():
        print(f"generating a {unit_minutes:g}-minute unit ...", flush=True)
        synth.make_video(synth.long_scenes(unit_minutes), unit, preset=preset)
    repeats = max(1, round(minutes / unit_minutes))
    out = work / "videos" / f"long-{repeats * unit_minutes:g}min.mp4"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        listing = work / "concat.txt"
        listing.write_text("".join(f"file '{unit}'\n" for _ in range(repeats)))
        subprocess.run(["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-f", "concat", "-safe", "0", "-i",
                        str(listing), "-c", "copy", "-movflags", "+faststart", str(out)], check=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="video length (default 60)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (one video: 1)")
    parser.add_argument("--work", type=Path, help="keep the generated video here (reused across runs)")
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="vidgraph-bench-index-"))
    work.mkdir(parents=True, exist_ok=True)
    video = build_video(args.minutes, work)
    info = probe(video)
    hours = info.duration / 3600

    wall, cpu = time.perf_counter(), _cpu()
    frames = sum(1 for _ in decode(video))
    decode_wall, decode_cpu = time.perf_counter() - wall, _cpu() - cpu

    index_dir = work / "index"
    shutil.rmtree(index_dir, ignore_errors=True)
    library = Library(video.parent, index_dir=index_dir)
    wall, cpu = time.perf_counter(), _cpu()
    report = library.index(jobs=args.jobs, progress=False)
    index_wall, index_cpu = time.perf_counter() - wall, _cpu() - cpu
    stages: dict[str, float] = {}
    for result in report.results:
        for stage in result.stages:
            stages[stage.stage] = stages.get(stage.stage, 0.0) + stage.seconds

    print(f"\nvideo: {video.name}, {info.duration / 60:.1f} min, {info.width}x{info.height} @ {info.fps:g} fps, "
          f"{frames} frames; failures: {len(report.failures)}")
    print(f"{'':<14} {'wall s':>8} {'x realtime':>11} {'CPU-s/video-h':>14} {'vs decode':>10}")
    print(f"{'plain decode':<14} {decode_wall:8.1f} {info.duration / decode_wall:11.1f} {decode_cpu / hours:14.0f} "
          f"{1.0:10.2f}")
    for name, seconds in stages.items():
        print(f"{'  ' + name:<14} {seconds:8.1f} {info.duration / max(seconds, 1e-9):11.1f} {'':>14} "
              f"{seconds / decode_wall:10.2f}")
    print(f"{'index (all)':<14} {index_wall:8.1f} {info.duration / index_wall:11.1f} {index_cpu / hours:14.0f} "
          f"{index_wall / decode_wall:10.2f}")
    print(f"peak memory: {_peak_mb():.0f} MB; 1 h of this video would take {index_wall / hours / 60:.1f} min "
          f"(target <= 8 min on 2 cores)")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
