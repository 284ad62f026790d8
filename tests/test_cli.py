"""The vidgraph command: help with examples, one-line errors, --debug, inspect, doctor, progress, the installed
entry point, and one end-to-end run with the default tools."""

from __future__ import annotations

import difflib
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from helpers_library import PYTHON, VIDGRAPH, clips  # noqa: E402

from vidgraph.cli import app  # noqa: E402

runner = CliRunner()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Path:
    """Two clips (a hard cut at 3 s each), indexed with scan."""
    folder = tmp_path_factory.mktemp("cli") / "videos"
    clips(folder, 2)
    result = runner.invoke(app, ["index", str(folder), "--tools", "scan"])
    assert result.exit_code == 0, result.output
    return folder


@pytest.mark.parametrize("command", ["index", "inspect", "doctor", "serve", "mcp", "clip"])
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout and f"vidgraph {command}" in result.stdout


def test_top_level_help_version_and_light_import():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and all(c in result.stdout for c in ("index", "inspect", "doctor", "--debug"))
    assert runner.invoke(app, ["--version"]).stdout.strip() == "vidgraph 0.1.0"
    code = ("import sys, vidgraph, vidgraph.cli; heavy = [m for m in ('vidgraph.library', 'vidgraph.tools', 'av', "
            "'numpy', 'torch', 'cv2', 'pydantic') if m in sys.modules]; print(heavy)")
    out = subprocess.run([str(PYTHON), "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    start = time.monotonic()
    subprocess.run([str(VIDGRAPH), "--help"], capture_output=True, check=True)
    assert time.monotonic() - start < 3.0


def test_errors_are_one_line_and_debug_shows_the_traceback(tmp_path):
    result = runner.invoke(app, ["index", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [f"error: {tmp_path / 'nowhere'}: no such folder "
                                          "(pass the folder that holds your videos)"]
    bad_tool = runner.invoke(app, ["index", str(tmp_path), "--tools", "scan,speech"])
    assert bad_tool.exit_code == 1 and len(bad_tool.stderr.splitlines()) == 1
    assert "unknown tool 'speech' (choose from: probe, scan, asr, speakers, names, ocr, detect, tags)" \
        in bad_tool.stderr
    from vidgraph.errors import ConfigError

    debug = runner.invoke(app, ["--debug", "index", str(tmp_path / "nowhere")])
    assert debug.exit_code == 1 and isinstance(debug.exception, ConfigError)
    not_indexed = runner.invoke(app, ["inspect", str(tmp_path)])
    assert not_indexed.exit_code == 1 and "not indexed yet (run: vidgraph index" in not_indexed.stderr


def test_inspect_folder_video_sections_and_json(indexed, monkeypatch):
    table = runner.invoke(app, ["inspect", str(indexed)])
    assert table.exit_code == 0
    assert "clip0.mp4" in table.stdout and "clip1.mp4" in table.stdout and "2 videos" in table.stdout

    shots = runner.invoke(app, ["inspect", str(indexed / "clip0.mp4"), "shots"])
    assert shots.exit_code == 0
    assert shots.stdout.splitlines() == ["0:00.0-0:03.0  shot 0 (3.0 s)", "0:03.0-0:06.0  shot 1 (3.0 s)"]

    whole = runner.invoke(app, ["inspect", str(indexed / "clip1.mp4")])
    assert whole.exit_code == 0
    assert "320x240 25 fps h264" in whole.stdout and "shots (2)" in whole.stdout
    assert "transcript: not indexed (run: vidgraph index" in whole.stdout

    data = json.loads(runner.invoke(app, ["inspect", "clip1", "shots", "--json", "-l", str(indexed)]).stdout)
    assert [(d["type"], d["span"]["start"]) for d in data] == [("Shot", 0.0), ("Shot", 3.0)]
    monkeypatch.chdir(indexed)
    by_name = json.loads(runner.invoke(app, ["inspect", "clip0.mp4", "--json"]).stdout)
    assert by_name["video"]["paths"] == ["clip0.mp4"] and by_name["video"]["stages"]["scan"]["status"] == "done"
    assert by_name["transcript"].startswith("not indexed")

    missing = runner.invoke(app, ["inspect", "clip0.mp4", "transcript"])
    assert missing.exit_code == 1 and missing.stderr.startswith("error: clip0.mp4: asr is not indexed")
    unknown = runner.invoke(app, ["inspect", "nope.mp4"])
    assert unknown.exit_code == 1 and "nope.mp4: not in the index of" in unknown.stderr


def test_doctor_reports_every_tool_and_the_offline_facts(monkeypatch):
    from vidgraph.tools import registry

    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert all(name in out for name in registry.TOOLS)
    assert "whisperx cannot align words offline" in out
    assert "No package ships COCO YOLO weights" in out and "SSD-MobileNet-v2-COCO" in out
    assert "No VLM ships offline" in out
    assert "OpenCV" in out and "GPU" in out and "ffmpeg" in out

    monkeypatch.setitem(registry.TOOLS, "ocr.broken", "vidgraph.tools.not_there:Broken")
    broken = runner.invoke(app, ["doctor"])
    assert broken.exit_code == 0  # not a default tool: reported, not fatal
    line = next(line for line in broken.stdout.splitlines() if "ocr.broken" in line)
    assert "cannot import vidgraph.tools.not_there:" in line and "ModuleNotFoundError" in broken.stdout


def test_progress_bars_on_a_terminal(tmp_path):
    from rich.console import Console

    from vidgraph import Library
    from vidgraph.index.reporter import RichReporter

    folder = tmp_path / "videos"
    clips(folder, 2)
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    report = Library(folder).index("scan", progress=RichReporter(console))
    assert report.ok
    drawn = buffer.getvalue()
    assert "clip0.mp4" in drawn and "clip1.mp4" in drawn and "eta" in drawn and "scan" in drawn
    assert "videos (0 of 2 already indexed)" in drawn


def test_installed_command(tmp_path):
    folder = tmp_path / "my videos"
    clips(folder, 2)
    out = subprocess.run([str(VIDGRAPH), "index", str(folder), "-t", "scan", "-j", "2"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "failures   0" in out.stdout and "2 processes" in out.stdout
    shots = subprocess.run([str(VIDGRAPH), "inspect", str(folder / "clip1.mp4"), "shots"], capture_output=True,
                           text=True, timeout=60)
    assert shots.stdout.splitlines() == ["0:00.0-0:03.0  shot 0 (3.0 s)", "0:03.0-0:06.0  shot 1 (3.0 s)"]


def _reads_as(text: str, planted: str) -> bool:
    """The OCR read the planted line: equal up to case, spacing and punctuation, or nearly (85 % alike)."""
    a, b = ("".join(ch for ch in t.lower() if ch.isalnum()) for t in (text, planted))
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= 0.85


@pytest.mark.slow
@pytest.mark.numerics
def test_end_to_end_default_tools(tmp_path, fixture_video, fixture_truth):
    """The fixture (60 s: cuts every 10 s, a sentence and a text line per scene, a bus at 30-40 s) with the
    default tools: scan, asr, speakers, names, ocr, detect, tags, then the memory."""
    folder = tmp_path / "videos"
    folder.mkdir()
    os.symlink(fixture_video, folder / "fixture.mp4")
    result = runner.invoke(app, ["index", str(folder)])
    assert result.exit_code == 0, result.output
    assert "probe, scan, asr, speakers, names, ocr, detect, tags" in result.stdout

    data = json.loads(runner.invoke(app, ["inspect", str(folder / "fixture.mp4"), "--json"]).stdout)
    assert set(data["video"]["stages"]) == {"scan", "asr", "speakers", "names", "ocr", "detect", "tags", "memory"}
    assert [round(s["span"]["start"]) for s in data["shots"]] == [0, *[round(c) for c in fixture_truth.cuts]]
    said = " ".join(s["text"] for s in data["transcript"]).lower()
    assert "quarterly review" in said and "copper wire" in said and "auction in march" in said
    shown = [t["text"] for t in data["text"]]
    for planted in ("QUARTERLY REVIEW 2024", "Invoice No. 4821-B", "Pump replaced in basement"):
        assert any(_reads_as(text, planted) for text in shown), (planted, shown)
    bus = [o for o in data["objects"] if o["label"] == "bus"]
    assert bus and all(29.0 <= o["span"]["start"] and o["span"]["end"] <= 41.0 for o in bus)

    transcript = runner.invoke(app, ["inspect", str(folder / "fixture.mp4"), "transcript"])
    first = transcript.stdout.splitlines()[0]
    assert first.startswith("0:0") and "  S1  " in first and "welcome to the quarterly review" in first.lower()
    voices = json.loads(runner.invoke(app, ["inspect", str(folder / "fixture.mp4"), "speakers", "--json"]).stdout)
    assert [v["speaker"] for v in voices] == ["S1"]  # one espeak voice reads all six sentences

    again = runner.invoke(app, ["index", str(folder), "--json"])
    report = json.loads(again.stdout)
    assert again.exit_code == 0 and [r["status"] for r in report["results"]] == ["skipped"]
    assert report["seconds"] < 3.0

    found = runner.invoke(app, ["search", str(folder), "invoice 4821-B", "--json"])
    hits = json.loads(found.stdout)
    assert found.exit_code == 0 and hits[0]["video"] == "fixture.mp4" and 9 <= hits[0]["start"] <= 11
    assert any("4821" in r for r in hits[0]["reasons"])
    events = runner.invoke(app, ["inspect", str(folder / "fixture.mp4"), "events"])
    assert events.exit_code == 0 and events.stdout.count(" event ") == 6 and "4821-B" in events.stdout
    entities = runner.invoke(app, ["inspect", str(folder / "fixture.mp4"), "entities"])
    assert "bus  [object]" in entities.stdout
