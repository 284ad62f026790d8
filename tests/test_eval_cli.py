"""`vidgraph eval`: one-line errors before any work, and a real run on a small generated haystack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

VIDGRAPH = [sys.executable, "-m", "vidgraph.cli"]


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*VIDGRAPH, *args], capture_output=True, text=True, cwd=cwd, timeout=1800)


def test_eval_rejects_unknown_strategy_and_missing_videos_folder(tmp_path):
    r = _run("eval", "haystack:1", "--strategy", "magic", "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "unknown strategy 'magic'" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    csv = next((Path(__file__).parent / "data" / "annotations").glob("nextqa/*.csv"))
    r = _run("eval", str(csv), "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "--videos" in r.stderr and "Traceback" not in r.stderr
    r = _run("eval", str(tmp_path / "nope.json"), "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "nope.json" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
@pytest.mark.numerics
def test_eval_cli_on_a_small_haystack_with_the_default_model(tmp_path):
    out = tmp_path / "run"
    r = _run("eval", "haystack:1.5:7", "--strategy", "rag", "--limit", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all(row["strategy"] == "rag" and row["error"] is None for row in rows)
    assert all(row["model_calls"] >= 1 for row in rows)
    report = (out / "report.md").read_text()
    assert "| rag |" in report and (out / "accuracy_vs_frames.svg").is_file()
    again = _run("eval", "haystack:1.5:7", "--strategy", "rag", "--limit", "2", "--out", str(out))
    assert again.returncode == 0 and len((out / "results.jsonl").read_text().splitlines()) == 2  # resumed
