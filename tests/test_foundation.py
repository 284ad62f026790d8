"""Records, settings, the light import, the decode layer, probe and the one-pass scan."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import real
from vidgraph.config import load_settings
from vidgraph.errors import ConfigError, MediaError
from vidgraph.records import Detection, Span, TranscriptSegment, Word, fmt_time, record_from_dict
from vidgraph.tools import ArtifactStore, open_video
from vidgraph.tools.decode import content_hash, frames_at, probe
from vidgraph.tools.frames import dense_frames, thumbnail
from vidgraph.tools.scan import frames_of, shots_of


def test_records_round_trip_and_are_immutable():
    seg = TranscriptSegment(video_id="v", span=Span(start=1.0, end=2.5), text="hi there",
                            words=(Word(span=Span(start=1.0, end=1.4), text="hi", prob=0.9),), source="asr@1")
    assert record_from_dict(seg.to_dict()) == seg
    det = Detection(video_id="v", t=3.0, label="bus", score=0.9, box=(0.1, 0.2, 0.5, 0.6), source="d@1")
    assert record_from_dict(det.to_dict()) == det
    with pytest.raises(Exception):
        seg.text = "changed"  # type: ignore[misc]
    with pytest.raises(ValueError):
        Span(start=2.0, end=1.0)
    assert Span(start=0, end=10).iou(Span(start=5, end=15)) == pytest.approx(5 / 15)
    assert fmt_time(3725.5) == "1:02:05.5" and fmt_time(65) == "1:05.0"


def test_settings_precedence(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vidgraph.toml").write_text('asr_backend = "whisperx"\nsample_fps = 2.0\n')
    monkeypatch.setenv("VIDGRAPH_SAMPLE_FPS", "0.5")
    s = load_settings(threads=3)
    assert (s.asr_backend, s.sample_fps, s.threads) == ("whisperx", 0.5, 3)
    with pytest.raises(ConfigError, match="asr_backend"):
        load_settings(asr_backend="nope")


def test_import_is_light():
    """``import vidgraph`` and the tools package load no torch/paddle/ultralytics/transformers/cv2."""
    code = ("import sys, vidgraph, vidgraph.tools, vidgraph.tools.registry, vidgraph.records;"
            "heavy = [m for m in ('torch', 'paddle', 'paddleocr', 'ultralytics', 'transformers', 'cv2',"
            " 'faster_whisper', 'whisperx', 'chromadb', 'onnxruntime', 'scenedetect', 'av') if m in sys.modules];"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_probe_fixture(fixture_video):
    info = probe(fixture_video)
    assert (info.width, info.height, info.has_audio, info.has_video) == (1280, 720, True, True)
    assert info.fps == pytest.approx(30, abs=0.01)
    assert info.duration == pytest.approx(60, abs=0.1)
    assert info.video_id == content_hash(fixture_video) and len(info.video_id) == 32


@pytest.mark.parametrize("name,problem", [
    ("empty.mp4", "empty file"),
    ("text.mp4", "not a video"),
    ("missing.mp4", "file not found"),
])
def test_probe_bad_files_give_one_clear_line(tmp_path, name, problem):
    path = tmp_path / name
    if name == "empty.mp4":
        path.write_bytes(b"")
    elif name == "text.mp4":
        path.write_text("this is not a video\n" * 50)
    with pytest.raises(MediaError) as e:
        probe(path)
    msg = str(e.value)
    assert str(path) in msg and problem in msg and "\n" not in msg


def test_scan_finds_every_cut_and_no_false_one(fixture_video, fixture_truth, store, settings):
    ctx = open_video(fixture_video, store, settings)
    records = ctx.get("scan")
    shots = shots_of(records)
    found = [s.span.start for s in shots[1:]]
    assert len(found) == len(fixture_truth.cuts), found
    for truth, got in zip(fixture_truth.cuts, found):
        assert abs(truth - got) <= 0.2
    assert shots[0].span.start == 0 and shots[-1].span.end == pytest.approx(60, abs=0.1)
    samples = frames_of(records, "sample")
    assert len(samples) == 60 and all(Path(f.path).is_file() and f.width == 320 for f in samples)
    keys = frames_of(records, "key")
    assert all(f.width == 1280 for f in keys)
    # every shot opens with a key frame within a second, and no gap between keys exceeds key_max_gap
    for shot in shots:
        assert any(shot.span.start <= k.t <= shot.span.start + 1.0 for k in keys), shot
    gaps = np.diff([k.t for k in keys])
    assert gaps.max() <= settings.key_max_gap + 1e-6
    assert len(keys) < len(samples) / 2  # OCR/detection run on far fewer frames than the sampling rate
    assert {f.shot_index for f in keys} == set(range(len(shots)))


def test_scan_is_cached(fixture_video, store, settings):
    ctx = open_video(fixture_video, store, settings)
    ctx.get("scan")
    again = open_video(fixture_video, store, settings, video_id=ctx.video_id)
    start = time.perf_counter()
    records = again.get("scan")
    assert time.perf_counter() - start < 0.5 and "scan" not in again.timings
    assert records == ctx.get("scan")
    assert ArtifactStore(store).path(ctx.video_id, ctx.tool("scan")).is_file()


def test_dense_frames_inside_span_and_thumbnail(fixture_video, store, settings):
    ctx = open_video(fixture_video, store, settings)
    frames = dense_frames(ctx, Span(start=31.0, end=33.0), fps=4)
    assert len(frames) == 8 and all(31.0 <= f.t <= 33.0 for f in frames)
    assert frames == dense_frames(ctx, Span(start=31.0, end=33.0), fps=4)  # cached
    thumb = thumbnail(ctx, 35.2)
    assert abs(thumb.t - 35.2) <= 1.0 and Path(thumb.path).is_file()


def test_frames_at_is_frame_exact(fixture_video):
    """Seek-based extraction returns the same pixels as a sequential decode at that time."""
    from vidgraph.tools.decode import decode

    target = 33.5
    (t, seeked), = frames_at(fixture_video, [target])
    for frame in decode(fixture_video, start=33.0):
        if frame.time >= target - 1e-3:
            sequential = frame.to_ndarray(format="rgb24")
            break
    assert abs(t - target) < 1 / 30 + 1e-6
    assert np.abs(seeked.astype(int) - sequential.astype(int)).mean() < 1.0


@pytest.mark.parametrize("name,brackets", [
    # Big Buck Bunny 0-30 s, checked frame by frame: hills -> stream between 11.5 and 12.0 s, stream -> bird
    # between 15.4 and 15.9 s, bird with the "PEACH OPEN MOVIE PROJECT" title -> burrow between 22.7 and 23.2 s.
    # The fade-in from black at 0-1 s is not a cut.
    ("moviepy_big_buck_bunny_0_30.webm", [(11.5, 12.0), (15.4, 15.9), (22.7, 23.2)]),
    # OpenCV's vtest: one fixed surveillance camera, no cut.
    ("opencv_vtest.avi", []),
    # auto-editor's example: a static green card with a running timecode, no cut.
    ("autoeditor_example.mp4", []),
])
def test_scan_real_media(store, settings, name, brackets):
    ctx = open_video(real(name), store, settings)
    records = ctx.get("scan")
    shots = shots_of(records)
    found = [s.span.start for s in shots[1:]]
    assert len(found) == len(brackets), found
    for (lo, hi), t in zip(brackets, found):
        assert lo <= t <= hi
    assert shots[-1].span.end == pytest.approx(ctx.info.duration, abs=0.5)
    assert frames_of(records, "key")
