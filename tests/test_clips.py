"""Clips cut with PyAV (no ffmpeg binary): frame-accurate spans as H.264/AAC mp4 or VP9/Opus webm, from sources a
browser cannot play too; which files a browser plays as they are; ``vidgraph clip``; ``Answer.export``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers_serve import mpeg4_avi
from typer.testing import CliRunner

from vidgraph.cli import app
from vidgraph.records import Span
from vidgraph.tools.clips import browser_playable, cut_clip, still
from vidgraph.tools.decode import frames_at, probe


def test_a_clip_starts_on_the_frame_it_was_asked_for(fixture_video, tmp_path):
    """The fixture cuts from one scene to the next at 10 s: a clip of 9.5-10.5 s shows the first scene for its first
    half and the second for the rest."""
    out = cut_clip(fixture_video, Span(9.5, 10.5), tmp_path / "cut.mp4")
    info = probe(out)
    assert (info.video_codec, info.audio_codec, info.width, info.height) == ("h264", "aac", 1280, 720)
    assert abs(info.duration - 1.0) < 0.1 and browser_playable(info)
    (_, a), (_, b) = frames_at(out, [0.2, 0.8])
    (_, src_a), (_, src_b) = frames_at(fixture_video, [9.7, 10.3])
    assert np.abs(a.astype(int) - src_a).mean() < 12 and np.abs(b.astype(int) - src_b).mean() < 12
    assert np.abs(a.astype(int) - b).mean() > 20  # a different scene after the cut


def test_webm_and_sources_a_browser_cannot_play(tmp_path):
    avi = mpeg4_avi(tmp_path / "old.avi", 3)
    assert not browser_playable(probe(avi))
    for fmt, codecs in (("mp4", ("h264", "aac")), ("webm", ("vp9", "opus"))):
        info = probe(cut_clip(avi, Span(0.5, 2.5), tmp_path / f"c.{fmt}", fmt, width=160))
        assert (info.video_codec, info.audio_codec) == codecs and info.width == 160 and browser_playable(info)
        assert abs(info.duration - 2.0) < 0.15
    path, t = still(avi, 1.0, tmp_path / "s.jpg", 100)
    assert path.read_bytes()[:3] == b"\xff\xd8\xff" and abs(t - 1.0) < 0.05
    with pytest.raises(ValueError):
        cut_clip(avi, Span(2.0, 2.0), tmp_path / "empty.mp4")
    assert not list(tmp_path.glob(".*tmp*"))  # nothing half-written left behind


def test_vidgraph_clip(agents_library, tmp_path):
    out = tmp_path / "moment.mp4"
    result = CliRunner().invoke(app, ["clip", str(agents_library.folder), "fixture.mp4", "0:12", "15.5",
                                      "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "fixture.mp4 0:12.0–0:15.5" in result.stdout and abs(probe(out).duration - 3.5) < 0.1
    bad = CliRunner().invoke(app, ["clip", str(agents_library.folder), "fixture.mp4", "70", "80", "-o", str(out)])
    assert bad.exit_code == 1 and "not a span inside fixture.mp4" in bad.stderr


def test_an_answer_exports_from_the_library_folder_too(agents_library, tmp_path):
    """``Answer.export(dir, folder)``: each citation's file found by its name inside the folder."""
    from helpers_serve import INVOICE, scripted

    answer = agents_library.ask(INVOICE, model=scripted(), videos="fixture.mp4", index=False, progress=False)
    done = answer.export(tmp_path / "out", agents_library.folder, pad=0.5)
    clip, = done.clips
    c = answer.citations[0]
    assert abs(probe(clip).duration - (c.span.duration + 1.0)) < 0.15
    data = json.loads(done.json.read_text())
    assert data["text"] == "4821-B" and data["citations"][0]["frame"] is None  # no path of the index leaks out
    again = answer.export(tmp_path / "lib", agents_library)  # the Library itself: Library.export
    assert again.clips[0].is_file() and not again.problems
    missing = answer.export(tmp_path / "none", {})  # no file for the video: listed, not cut
    assert missing.clips == (None,) and "not available" in missing.problems[0]
