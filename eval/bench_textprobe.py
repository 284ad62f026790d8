"""Recall of the OCR's text probe (``tools.textprobe``) against OCR on every key frame (not a test).

    python -m vidgraph.eval.bench_textprobe [VIDEO_OR_FOLDER ...]   # default: bundled clips, fixture, near-blank

For each video: the scan's key frames (indexed into a scratch store), each read by the OCR (``ocr.paddle``) and
tested by the probe. Reports per video the key frames, those the probe skips, key frames with a kept read that
the probe would skip (missed frames), the text lines merged from every frame versus from the frames the probe
passes (lines lost: a line of the full OCR that no line of the probed OCR reads as), and the OCR seconds saved.
"""

from __future__ import annotations

import argparse
import difflib
import json
import tempfile
import time
from pathlib import Path

from ..config import Settings
from ..records import Frame, Shot
from ..tools import textprobe
from ..tools.context import VideoContext
from ..tools.decode import probe
from ..tools.ocr import PaddleOCRTool, frame_ends, is_junk, merge_reads, normalise, scale_to
from ..tools.store import ArtifactStore
from ..tools.stream import KeyImage

VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".avi", ".mov", ".ts"}


def _same(a: str, b: str) -> bool:
    a, b = normalise(a), normalise(b)
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= 0.85


def measure(video: Path, store: Path, tool: PaddleOCRTool) -> dict[str, object]:
    info = probe(video)
    ctx = VideoContext(info, ArtifactStore(store), tool.settings)
    scan = ctx.get("scan")
    keys = sorted((r for r in scan if isinstance(r, Frame) and r.kind == "key"), key=lambda f: f.t)
    shot_end = {s.index: s.span.end for s in scan if isinstance(s, Shot)}
    ends = frame_ends([f.t for f in keys], [shot_end.get(f.shot_index, info.duration) for f in keys], info.duration)
    p = tool.params()
    full, probed, missed = [], [], []
    ocr_s = probe_s = saved_s = 0.0
    skipped = 0
    for frame, end in zip(keys, ends):
        bgr = KeyImage(frame).bgr
        t0 = time.perf_counter()
        passes = textprobe.may_hold_text(bgr)
        t1 = time.perf_counter()
        reads = tool.read_image(scale_to(bgr, p["det_long_side"]))
        t2 = time.perf_counter()
        probe_s, ocr_s = probe_s + t1 - t0, ocr_s + t2 - t1
        if not passes:
            skipped += 1
            saved_s += t2 - t1
            if any(not is_junk(r, p["min_score"]) for r in reads):
                missed.append(frame.t)
        full.append((frame.t, end, reads))
        probed.append((frame.t, end, reads if passes else []))
    kw = {"video_id": info.video_id, "source": tool.source, "min_score": p["min_score"],
          "merge_ratio": p["merge_ratio"], "merge_iou": p["merge_iou"]}
    lines_full, lines_probed = merge_reads(full, **kw), merge_reads(probed, **kw)
    lost = [line.text for line in lines_full if not any(_same(line.text, x.text) for x in lines_probed)]
    return {"video": video.name, "minutes": round(info.duration / 60, 2), "key_frames": len(keys),
            "skipped": skipped,
            "missed_frames": missed, "lines": len(lines_full), "distinct_texts": len({normalise(x.text)
                                                                                    for x in lines_full}),
            "lines_lost": lost, "ocr_s": round(ocr_s, 2), "probe_s": round(probe_s, 3), "saved_s": round(saved_s, 2)}


def sparse_scenes(minutes: float = 10.0) -> list:
    """A near-blank recording (dark plain backgrounds, fades of grey) with a small caption in one scene of four."""
    from .synth import Scene, Text

    backgrounds = ["color=c=black", "color=c=0x101010", "color=c=0x202830", "color=c=0x080808"]
    return [Scene(20, backgrounds[i % 4], (Text(f"Camera {i // 4 + 1} at {10 + i}:00", 3, 15, y=0.85, size=14),)
                  if i % 4 == 0 else ()) for i in range(int(minutes * 3))]


def _videos(paths: list[Path]) -> list[Path]:
    out = []
    for path in paths:
        out += sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES) if path.is_dir() else [path]
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("videos", nargs="*", type=Path, help="videos or folders (default: /work/shared/media, "
                        "the generated fixture and a generated near-blank recording)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="vidgraph-textprobe-"))
    videos = _videos(args.videos)
    if not videos:
        from . import synth

        media = Path("/work/shared/media")
        videos = _videos([media]) if media.is_dir() else []
        fixture, sparse = work / "fixture.mp4", work / "sparse-320x180.mp4"
        synth.make_video(synth.fixture_scenes(), fixture)
        synth.make_video(sparse_scenes(), sparse, size="320x180")
        videos += [fixture, sparse]
    tool = PaddleOCRTool(Settings())
    rows = []
    print(f"{'video':<34} {'keys':>5} {'skip':>5} {'missed':>6} {'lines':>6} {'lost':>5} {'OCR s':>7} "
          f"{'probe s':>8} {'saved s':>8}")
    for video in videos:
        m = measure(video, work / "store", tool)
        rows.append(m)
        print(f"{m['video'][:34]:<34} {m['key_frames']:>5} {m['skipped']:>5} {len(m['missed_frames']):>6} "
              f"{m['lines']:>6} {len(m['lines_lost']):>5} {m['ocr_s']:>7.1f} {m['probe_s']:>8.2f} "
              f"{m['saved_s']:>8.1f}", flush=True)
        for text in m["lines_lost"]:
            print(f"    lost: {text!r}")
    total = {k: sum(r[k] for r in rows) for k in ("key_frames", "skipped", "lines", "ocr_s", "probe_s", "saved_s")}
    lost = sum(len(r["lines_lost"]) for r in rows)
    print(f"all: {total['key_frames']} key frames, {total['skipped']} skipped, {lost} of {total['lines']} lines "
          f"lost (line recall {1 - lost / max(total['lines'], 1):.3f}); OCR {total['ocr_s']:.1f} s, probe "
          f"{total['probe_s']:.2f} s, saved {total['saved_s']:.1f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
