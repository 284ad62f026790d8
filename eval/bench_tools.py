"""Benchmark the perception tools on a generated speech video (not a test).

    python -m vidgraph.eval.bench_tools --minutes 10

Prints, per stage: wall seconds, x-realtime, CPU-seconds per video-hour and peak memory, beside the cost of
plainly decoding the same video (every frame, through the same decoding layer) measured in the same run.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from ..config import load_settings
from ..tools import open_video
from ..tools.decode import decode
from . import synth


def _measure(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the generated video (default 10)")
    parser.add_argument("--stages", default="scan,asr,ocr,detect", help="comma-separated stages")
    parser.add_argument("--video", type=Path, help="benchmark this video instead of generating one")
    parser.add_argument("--preset", default="medium", help="x264 preset of the generated video (default medium, "
                        "like most real encodes; decoding cost depends on it)")
    parser.add_argument("--keep", type=Path, help="keep the generated video and artifacts in this folder")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="vidgraph-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    video = args.video
    if video is None:
        video = work / f"bench-{args.minutes:g}min-{args.preset}.mp4"
        if not video.is_file():
            print(f"generating {args.minutes:g} min of 720p speech video ...", flush=True)
            _, wall, _ = _measure(lambda: synth.make_video(synth.long_scenes(args.minutes), video,
                                                           preset=args.preset))
            print(f"  generated in {wall:.0f} s", flush=True)
    settings = load_settings()
    store = work / "artifacts"
    shutil.rmtree(store, ignore_errors=True)
    ctx = open_video(video, store, settings)
    hours = ctx.info.duration / 3600
    rows = []

    def row(name: str, wall: float, cpu: float) -> None:
        rows.append((name, wall, ctx.info.duration / wall, cpu / hours, _rss_mb()))
        print(f"  {name:<14} {wall:8.1f} s", flush=True)

    _, wall, cpu = _measure(lambda: sum(1 for _ in decode(video)))
    row("plain decode", wall, cpu)
    for stage in args.stages.split(","):
        if stage != "scan":
            ctx.get("scan")  # dependencies outside the timing
        _, wall, cpu = _measure(lambda: ctx.get(stage))
        row(stage, wall, cpu)
    base = rows[0]
    total_wall = sum(r[1] for r in rows[1:])
    print(f"\nvideo: {video.name}, {ctx.info.duration / 60:.1f} min, {ctx.info.width}x{ctx.info.height} "
          f"@ {ctx.info.fps:g} fps; {settings.threads} threads")
    print(f"{'stage':<14} {'wall s':>8} {'x realtime':>11} {'CPU-s/video-h':>14} {'vs decode':>10} {'peak MB':>8}")
    for name, wall, xrt, cpuh, rss in rows:
        print(f"{name:<14} {wall:8.1f} {xrt:11.1f} {cpuh:14.0f} {wall / base[1]:10.2f} {rss:8.0f}")
    print(f"{'all stages':<14} {total_wall:8.1f} {ctx.info.duration / total_wall:11.1f} {'':>14} "
          f"{total_wall / base[1]:10.2f}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
