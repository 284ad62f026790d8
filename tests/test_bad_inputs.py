"""A folder of bad and odd inputs next to good videos: every good video is indexed, every bad file gets exactly
one clear line (file, problem, what to do) in the catalog and in the CLI output, and the exit code says so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from helpers_library import GOOD, VIDGRAPH, clip, make_corpus  # noqa: E402

from vidgraph import Library  # noqa: E402
from vidgraph.cli import app  # noqa: E402


def test_bad_and_odd_corpus(tmp_path):
    folder = tmp_path / "corpus"
    expect = make_corpus(folder)
    bad = {name: problem for name, problem in expect.items() if problem != GOOD}
    good = {name for name, problem in expect.items() if problem == GOOD}

    result = CliRunner().invoke(app, ["index", str(folder), "--tools", "scan", "--jobs", "2"])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    for name, problem in bad.items():
        mine = [line for line in lines if f"{name}:" in line]
        assert len(mine) == 1, (name, mine)  # exactly one line per bad file...
        assert mine[0] == f"✗ {name}: {problem}" + mine[0][len(f"✗ {name}: {problem}"):]  # ...naming file, problem
        assert mine[0].endswith(")") and " (" in mine[0]  # ...and what to do
    assert sum(line.startswith("✗ ") for line in lines) == len(bad)
    assert "failures   " + str(len(bad)) in result.stdout
    assert result.stderr == ""  # no traceback, no noise

    lib = Library(folder)
    catalog_lines = dict(lib.failures())
    assert set(catalog_lines) == set(bad)
    assert all(catalog_lines[name].startswith(f"{name}: {bad[name]}") for name in bad)
    videos = lib.videos()
    indexed = {p for v in videos for p in v.paths}
    assert indexed == good | {"audio only.mp4"}  # probed, but its scan failed
    assert all(v.status == "done" for v in videos if v.name != "audio only.mp4")
    by_name = {p: v for v in videos for p in v.paths}
    assert by_name["link to good.mp4"] is by_name["good one.mp4"]  # a link is the same video, not a second one
    assert by_name["variable fps.mp4"].info.variable_frame_rate
    assert not by_name["sub/deeper/UPPER CASE.MP4"].info.has_audio
    assert (by_name["vp9.webm"].info.video_codec, by_name["mjpeg.avi"].info.video_codec) == ("vp9", "mjpeg")
    for name in ("variable fps.mp4", "vp9.webm", "mjpeg.avi", "latin1 \\xe9t\\xe9.mkv", "dir.mp4/inside.mp4"):
        assert lib.records(by_name[name], "scan"), name
    assert len([r for r in lib.records(by_name["good one.mp4"], "scan") if r.type_name == "Shot"]) == 2

    again = CliRunner().invoke(app, ["index", str(folder), "--tools", "scan", "--json"])
    assert again.exit_code == 1
    report = json.loads(again.stdout)
    assert {r["path"]: r["status"] for r in report["results"] if r["status"] != "failed"} == \
        {v.name: "skipped" for v in videos if v.name != "audio only.mp4"}
    assert len(report["results"]) - report["failures"] == len(videos) - 1

    table = CliRunner().invoke(app, ["inspect", str(folder)])
    assert table.exit_code == 0
    assert "pipe.mp4" in table.stdout and "is a named pipe" in table.stdout


def _nobody_can_run_vidgraph() -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(VIDGRAPH),
                            "--version"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _nobody_can_run_vidgraph(), reason="needs root, setpriv and a venv readable by nobody")
def test_unreadable_file_as_another_user():
    """Tests run as root, who reads everything: the indexer runs as user nobody (setpriv), next to a file only
    root may read and a folder nobody may not list."""
    folder = Path(tempfile.mkdtemp(prefix="vidgraph-perm-", dir="/tmp"))
    try:
        clip(folder / "good.mp4", 0)
        clip(folder / "secret.mp4", 1)
        clip(folder / "locked" / "inside.mp4", 2)
        os.chmod(folder / "secret.mp4", 0o000)
        os.chmod(folder / "locked", 0o000)
        os.chmod(folder, 0o777)  # nobody may create the index here
        os.chmod(folder / "good.mp4", 0o644)
        env = {"PATH": os.environ["PATH"], "HOME": str(folder), "XDG_CACHE_HOME": str(folder / ".cache"),
               "LANG": "C.UTF-8"}
        out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(VIDGRAPH), "index",
                              str(folder), "--tools", "scan"], capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 1, out.stderr
        lines = out.stdout.splitlines()
        assert [line for line in lines if "secret.mp4" in line] == [
            "✗ secret.mp4: permission denied (make the file readable: chmod +r, or move it out)"]
        assert [line for line in lines if "locked" in line] == [
            "✗ locked: folder cannot be listed (Permission denied) (make it readable: chmod +rx, or move it out)"]
        assert out.stderr == ""
        lib = Library(folder)
        assert [(v.name, v.status) for v in lib.videos()] == [("good.mp4", "done")]
    finally:
        os.chmod(folder / "locked", 0o755)
        shutil.rmtree(folder)
