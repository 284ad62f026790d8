"""The benchmarks run (not their numbers: those are for the closing notes): each at its smallest size, end to end
with the real tools, so a renamed API cannot leave one broken until the next time someone measures."""

from __future__ import annotations

import pytest

from vidgraph.tools.speakers import ResemblyzerSpeakersTool


@pytest.mark.slow
@pytest.mark.skipif(not ResemblyzerSpeakersTool.availability().ok, reason="the speakers extra is not installed")
@pytest.mark.numerics
def test_bench_speakers_runs(tmp_path, capsys):
    from vidgraph.eval import bench_speakers

    bench_speakers.main(["--minutes", "0.4", "--n", "1", "--names-n", "0", "--keep", str(tmp_path)])
    out = capsys.readouterr().out
    assert "speakers" in out and "asr" in out and "% " in out
    assert "names:" in out and "names, each heard once (no names stage):" in out
    assert any(line.startswith("names ") for line in out.splitlines())  # the names stage's cost, beside the asr
