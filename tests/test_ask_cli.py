"""``vidgraph ask``: help with the examples users need, one-line errors before anything is indexed or loaded, the
flags reaching ``Library.ask``, the readable and JSON answers with their exit codes (0 answered, 3 abstained), live
steps on stderr, and one real run of the installed command with the default model on the 60 s fixture."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))
from helpers_library import PYTHON, VIDGRAPH  # noqa: E402

from vidgraph.cli import app  # noqa: E402
from vidgraph.agents.answer import Answer, Citation, Cost, Step  # noqa: E402
from vidgraph.records import Span  # noqa: E402

runner = CliRunner()
INVOICE = "What is the invoice number?"


def test_help_teaches_every_kind_of_question():
    result = runner.invoke(app, ["ask", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    out = result.stdout
    for needle in ('vidgraph ask ~/videos "What is the invoice number?"',  # a needle
                   "--option Monday --option Thursday --option Friday",  # multiple choice
                   '"How many times is the pump mentioned?"',  # counting, computed by the index
                   "When is budget said the second time?",  # grounding to the word
                   "--video a.mp4 --video b.mp4",  # several videos
                   "--model openai:qwen2.5-7b@http://localhost:8000/v1",  # a server model
                   "3 the agents abstained", "--looks", "--calls", "--seconds", "--json", "--index-dir",
                   "[default: 10]", "[default: FOLDER/.vidgraph]"):
        assert needle in out, needle
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0 and "ask" in top.stdout


def test_help_stays_fast_and_the_cli_imports_no_agent_code():
    code = ("import sys, vidgraph.cli; print([m for m in ('vidgraph.agents', 'vidgraph.library', 'langgraph', "
            "'llama_cpp', 'chromadb') if m in sys.modules])")
    out = subprocess.run([str(PYTHON), "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    start = time.monotonic()
    done = subprocess.run([str(VIDGRAPH), "ask", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "Examples" in done.stdout
    assert time.monotonic() - start < 3.0


@pytest.fixture
def no_ask(monkeypatch):
    """Library.ask must not be reached: the input is refused before anything is indexed or loaded."""
    from vidgraph.library import Library

    def refuse(*args, **kwargs):
        raise AssertionError("Library.ask was called")

    monkeypatch.setattr(Library, "ask", refuse)


@pytest.mark.parametrize("args, message", [
    (["{missing}", INVOICE], "error: {missing}: no such folder (pass the folder that holds your videos)"),
    (["{folder}", "   "], "error: the question is empty (ask a question, e.g. vidgraph ask {folder} "),
    (["{folder}", INVOICE, "--strategy", "fast"],
     "error: unknown strategy 'fast' (choose one of: auto, tools, classic, rag, search, mapreduce, uniform)"),
    (["{folder}", INVOICE, "--option", "Thursday"], "error: 1 option given (give --option between 2 and 10 times"),
    (["{folder}", INVOICE, *[a for i in range(11) for a in ("-o", f"day {i}")]], "error: 11 options given"),
    (["{folder}", INVOICE, "-o", "Monday", "-o", " "], "error: an option is empty"),
    (["{folder}", INVOICE, "--calls", "0"], "error: --calls 0 is out of range"),
    (["{folder}", INVOICE, "--seconds", "-1"], "error: --seconds -1 is out of range"),
])
def test_bad_inputs_are_one_line_and_exit_1_before_indexing(tmp_path, no_ask, args, message):
    folder, missing = tmp_path / "videos", tmp_path / "nowhere"
    folder.mkdir()
    fill = {"folder": str(folder), "missing": str(missing)}
    result = runner.invoke(app, ["ask", *[a.format(**fill) for a in args]])
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith(message.format(**fill)), result.stderr
    assert not (folder / ".vidgraph").exists()  # nothing was indexed


def test_an_unknown_video_or_an_empty_folder_is_one_line(tmp_path, agents_library):
    result = runner.invoke(app, ["ask", str(agents_library.folder), INVOICE, "--video", "nope.mp4", "--quiet"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.splitlines() == [f"error: nope.mp4: not in the index of {agents_library.folder} "
                                          f"(list the videos with: vidgraph inspect {agents_library.folder})"]
    empty = runner.invoke(app, ["ask", str(tmp_path), INVOICE, "--quiet"])
    assert empty.exit_code == 1 and empty.stderr.startswith(f"error: {tmp_path} holds no video files")
    assert not (tmp_path / ".vidgraph").exists()  # nothing was made


# -- the flags reach Library.ask; how answers print ------------------------------------------------------------------
STEPS = (Step(kind="routed", detail="rag: 6 events fit in one prompt"),
         Step(kind="retrieved", detail="6 moments for the question", video_id="v1", span=Span(10.0, 20.0),
              seconds=0.1),
         Step(kind="drafted", detail="4821-B (citing [2])", seconds=3.5, calls=1))
FOUND = Answer(question=INVOICE, text="4821-B", found=True, confidence=0.9, strategy="rag", model="llamacpp:test",
               citations=(Citation(video_id="v1", video="fixture.mp4", span=Span(12.5, 19.0), modality="text",
                                   evidence="Invoice No. 4821-B"),
                          Citation(video_id="v1", video="fixture.mp4", span=Span(11.5, 16.4), modality="speech",
                                   evidence="The red container holds four hundred and twenty kilograms")),
               trace=STEPS, cost=Cost(model_calls=1, prompt_tokens=1200, completion_tokens=30, seconds=3.6))
ABSTAINED = Answer(question="When is the meeting?", text="Not in the video. (best guess: B. Monday)", found=False,
                   choice="B", options=("Thursday", "Monday"), confidence=0.3, strategy="search",
                   model="llamacpp:test", trace=STEPS[:1])


@pytest.fixture
def fake_ask(monkeypatch, tmp_path):
    """Library.ask replaced by one that records its arguments, reports the steps, and returns a set answer."""
    from vidgraph.library import Library

    calls: list[dict] = []

    def ask(self, question, options=None, **kwargs):
        calls.append({"folder": self.folder, "question": question, "options": options, **kwargs})
        if kwargs["on_step"] is not None:
            for step in STEPS:
                kwargs["on_step"](step)
        return ABSTAINED if question.startswith("When") else FOUND

    monkeypatch.setattr(Library, "ask", ask)
    monkeypatch.setattr(Library, "videos", lambda self: [type("E", (), {"video_id": "v1", "name": "fixture.mp4"})])
    return calls


def test_the_flags_build_the_call_and_the_answer_prints_with_its_citations(tmp_path, fake_ask):
    result = runner.invoke(app, ["ask", str(tmp_path), f"  {INVOICE} ", "-o", "4821-B", "-o", "7", "--video",
                                 "a.mp4", "-v", "b.mp4", "--strategy", "search", "--model", "llamacpp:x",
                                 "--looks", "0", "--calls", "4", "--seconds", "30"], terminal_width=200)
    assert result.exit_code == 0, result.output
    from vidgraph.agents import Budget

    call = fake_ask[-1]
    assert call["folder"] == tmp_path.resolve() and call["options"] == ["4821-B", "7"]
    assert (call["strategy"], call["model"], call["videos"]) == ("search", "llamacpp:x", ["a.mp4", "b.mp4"])
    assert call["budget"] == Budget(looks=0, calls=4, seconds=30.0)
    assert call["progress"] is not False and call["on_step"] is not None
    assert result.stdout.splitlines() == [
        "4821-B",
        "confidence 0.90 · rag · llamacpp:test · 1 model call, 1230 tokens, 0 frames looked at, 3.6 s",
        "  fixture.mp4  0:12.5–0:19.0  text  Invoice No. 4821-B",
        "  fixture.mp4  0:11.5–0:16.4  speech  The red container holds four hundred and twenty kilograms"]
    steps = result.stderr.splitlines()  # live, in order, with the video's name and the span
    assert [line.split()[0] for line in steps] == ["routed", "retrieved", "drafted"]
    assert "fixture.mp4 0:10.0–0:20.0  6 moments for the question" in steps[1]
    assert steps[2].endswith("(3.5 s, 1 call)")

    defaults = runner.invoke(app, ["ask", str(tmp_path), INVOICE, "--quiet"])
    assert defaults.exit_code == 0 and defaults.stderr == ""  # --quiet: no steps, no progress
    call = fake_ask[-1]
    assert call["budget"] == Budget() and call["progress"] is False and call["on_step"] is None
    assert (call["options"], call["videos"], call["strategy"], call["model"]) == (None, None, "auto", None)


def test_json_is_the_answer_record(tmp_path, fake_ask):
    result = runner.invoke(app, ["ask", str(tmp_path), INVOICE, "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data == FOUND.to_dict() and Answer.from_dict(data) == FOUND
    assert result.stderr.count("\n") == 3  # the steps still go to stderr, not into the JSON


def test_an_abstention_exits_2_and_shows_the_options(tmp_path, fake_ask):
    result = runner.invoke(app, ["ask", str(tmp_path), "When is the meeting?", "-o", "Thursday", "-o", "Monday"])
    assert result.exit_code == 3, result.output
    lines = result.stdout.splitlines()
    assert lines[:3] == ["Not in the video. (best guess: B. Monday)", "  A. Thursday", "  B. Monday"]
    assert lines[3].startswith("confidence 0.30 · search") and len(lines) == 4  # no citations
    as_json = runner.invoke(app, ["ask", str(tmp_path), "When is the meeting?", "-o", "Thursday", "-o", "Monday",
                                  "--json", "-q"])
    assert as_json.exit_code == 3 and json.loads(as_json.stdout)["found"] is False


# -- the real thing ---------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.numerics
def test_ask_indexes_then_answers_the_needle_with_the_default_model(tmp_path, fixture_video, fixture_truth):
    """The installed command on an unindexed copy of the fixture: it indexes, then the default offline model
    answers from the burned-in text "Invoice No. 4821-B" (12-19 s) and cites it."""
    (start, end, text), = [t for t in fixture_truth.texts if "Invoice" in t[2]]
    assert (start, end, text) == (12.0, 19.0, "Invoice No. 4821-B")
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(fixture_video, folder / "fixture.mp4")
    began = time.monotonic()
    done = subprocess.run([str(VIDGRAPH), "ask", str(folder), INVOICE, "--json"], capture_output=True, text=True,
                          timeout=800)
    seconds = time.monotonic() - began
    assert done.returncode == 0, done.stderr[-2000:]
    answer = Answer.from_dict(json.loads(done.stdout))
    assert answer.found and "4821" in answer.text, answer.text
    assert any(c.video == "fixture.mp4" and c.span.overlap(Span(start, end)) > 0 for c in answer.citations), \
        answer.citations
    assert answer.cost.model_calls >= 1 and answer.trace[-1].kind == "answered"
    kinds = [line.split()[0] for line in done.stderr.splitlines() if line.startswith("  ") and line.strip()]
    assert "routed" in kinds and kinds[-1] == "answered"  # the steps were printed live on stderr
    assert (folder / ".vidgraph" / "catalog.sqlite").is_file()  # it indexed first
    print(f"\nvidgraph ask (index + answer, {answer.strategy}, {answer.cost.model_calls} calls): {seconds:.0f} s; "
          f"agents {answer.cost.seconds:.0f} s")


@pytest.mark.slow
@pytest.mark.numerics
def test_the_readme_quick_start_answers_on_a_fresh_copy_of_the_bundled_clips(tmp_path):
    """The README's main command, as a new user runs it: every bundled clip indexed from nothing, then the default
    offline model answers "160 kilobits per second", citing the Janus clip where the narrator says it."""
    from conftest import MEDIA

    folder = tmp_path / "media"
    shutil.copytree(MEDIA, folder, ignore=shutil.ignore_patterns(".vidgraph", "*.md"))
    began = time.monotonic()
    done = subprocess.run([str(VIDGRAPH), "ask", str(folder), "At what bit rate does the audio codec operate?",
                           "--json"], capture_output=True, text=True, timeout=1500)
    seconds = time.monotonic() - began
    assert done.returncode == 0, done.stderr[-2000:]
    answer = Answer.from_dict(json.loads(done.stdout))
    assert answer.found and "160" in answer.text and "kilobit" in answer.text.lower(), answer.text
    said = Span(35.5, 46.3)  # "…operating at a bit rate of 160 kilobits per second for 5.1 channels"
    assert any(c.video == "janus_ChID-BLITS-EBU.mp4" and c.span.overlap(said) > 0 for c in answer.citations), \
        answer.citations
    assert answer.strategy == "tools" and answer.cost.model_calls <= 3
    print(f"\nREADME quick start on a fresh copy: {seconds:.0f} s in all (index + answer); answer "
          f"{answer.cost.seconds:.1f} s, {answer.cost.model_calls} model call(s)")
