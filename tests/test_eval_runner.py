"""The eval runner: every strategy over our haystack, results cached per question, report and plot written."""

from __future__ import annotations


import pytest

from vidgraph.eval.scoring import Result, score_by_strategy
from vidgraph.models.base import Usage
from vidgraph.models.testing import ScriptedModel
from conftest import make_settings


def Scripted() -> ScriptedModel:
    """Answers every question with evidence line 1 and a fixed text, by the reply's schema."""
    draft = {"found": True, "answer": "684", "option": "A", "evidence": [1], "confidence": 0.9}
    replies = {"Draft": draft, "Decision": {**draft, "action": "answer", "target": 1},
               "MapReply": {"findings": [{"fact": "something", "evidence": [1]}]},
               "Verdict": {"reason": "line 1 says it", "supported": True}}
    return ScriptedModel(lambda call: replies.get((call.json_schema or {}).get("title", ""), {}),
                         usage=Usage(10, 5, 0.01, 1))


def _result(strategy: str, correct: bool, frames: int) -> Result:
    return Result("q", "haystack", "needle_speech", "short", "a.mp4", "x", None, correct, True, False, True,
                  frames=frames, strategy=strategy, model_calls=1)


def test_report_and_plot_compare_strategies(tmp_path):
    from vidgraph.eval.runner import Benchmark, write_report

    results = [_result("rag", True, 0), _result("rag", False, 0), _result("search", True, 16),
               _result("search", True, 8)]
    reports = write_report(results, tmp_path, Benchmark("toy", (), tmp_path, {}, ("missing.mp4",)), "scripted:eval")
    assert reports["rag"].accuracy.value == 0.5 and reports["search"].accuracy.value == 1.0
    md = (tmp_path / "report.md").read_text()
    assert "| rag | 50.0" in md and "| search | 100.0" in md and "missing.mp4" in md
    svg = (tmp_path / "accuracy_vs_frames.svg").read_text()
    assert svg.startswith("<svg") and ">rag</text>" in svg and ">search</text>" in svg


def test_open_benchmark_lists_missing_videos(tmp_path):
    from vidgraph.eval.runner import open_benchmark

    from pathlib import Path

    csv = next((Path(__file__).parent / "data" / "annotations").glob("nextqa/*.csv"))
    videos = tmp_path / "videos"
    videos.mkdir()
    bench = open_benchmark(str(csv), videos, tmp_path / "out")
    assert bench.questions and not bench.files
    assert sorted(bench.missing) == sorted({q.video for q in bench.questions})


@pytest.mark.slow
@pytest.mark.numerics
def test_run_eval_every_strategy_resumes_and_reports(tmp_path):
    from vidgraph.agents import Budget
    from vidgraph.eval.haystack import haystack_fixture
    from vidgraph.eval.loaders import load_haystack
    from vidgraph.eval.runner import DEFAULT_STRATEGIES, Benchmark, run_eval
    import shutil
    from pathlib import Path

    hay = haystack_fixture()
    folder = tmp_path / "hay"
    shutil.copytree(hay.root, folder)
    questions = load_haystack(folder)
    bench = Benchmark("haystack", tuple(questions), folder, {Path(v).name: Path(v).name for v in hay.videos})
    model = Scripted()
    out = tmp_path / "run"
    results = run_eval(bench, model=model, out=out, per_kind=1, budget=Budget(looks=1, calls=4),
                       settings=make_settings(), progress=False)
    kinds = {q.kind for q in questions}
    assert len(results) == len(kinds) * len(DEFAULT_STRATEGIES)
    assert {r.strategy for r in results} == set(DEFAULT_STRATEGIES)
    assert all(r.error is None for r in results), [r.error for r in results if r.error]
    assert all(r.model_calls <= 4 for r in results)
    assert any(r.frames > 0 for r in results if r.strategy == "uniform")
    from vidgraph.eval.extract import match_open

    truth = next(q for q in questions if q.kind == "needle_speech").answer
    rag = next(r for r in results if r.kind == "needle_speech" and r.strategy == "rag")
    # the scripted "684" is not in evidence line 1, so the verifier's rule turns it into an abstention
    assert not match_open("684", truth) and rag.abstained and rag.correct is False and not rag.citations
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == len(results)
    calls = len(model.calls)
    again = run_eval(bench, model=model, out=out, per_kind=1, settings=make_settings(), progress=False)
    assert len(model.calls) == calls and len(again) == len(results)  # everything came from the cache
    md = (out / "report.md").read_text()
    for s in DEFAULT_STRATEGIES:
        assert f"| {s} |" in md
    assert set(score_by_strategy(again)) == set(DEFAULT_STRATEGIES)
