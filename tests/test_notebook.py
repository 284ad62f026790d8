"""examples/quickstart.ipynb runs from top to bottom in a fresh kernel of this venv's Python: no cell errors, the
library and a video's index render as HTML, and the Answer renders with embedded thumbnails and timestamps.

The kernel is a kernelspec written into a temp dir (found through JUPYTER_PATH) that runs ``sys.executable``, so the
test does not depend on a registered kernel; the notebook copies its clip into a temp dir (TMPDIR here), so nothing
is written into the repository."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"
TIMESTAMP = re.compile(r"\b\d+:\d\d\.\d–\d+:\d\d\.\d\b")  # display.span_text, e.g. 0:35.5–0:46.3


def test_the_notebook_is_saved_without_outputs():
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    tags = {t for c in code for t in c.metadata.get("tags", [])}
    assert {"ask", "answer", "citations"} <= tags
    source = "\n".join(c.source for c in code)
    for needle in ("VIDGRAPH_EXAMPLE_DIR", "tempfile.mkdtemp", "lib.view(video)", 'lib.records(video, "asr")',
                   "lib.ask(", "answer.citations"):
        assert needle in source, needle


def _html(cell) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in cell.outputs if "data" in o)


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")


@pytest.mark.slow
@pytest.mark.numerics
def test_the_quickstart_notebook_runs_and_shows_the_answer(tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    kernels = tmp_path / "jupyter" / "kernels" / "vidgraph-test"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "vidgraph test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebook's default folder: a copy in a temp dir
    monkeypatch.delenv("VIDGRAPH_EXAMPLE_DIR", raising=False)

    media_index = ROOT / "tests" / "media" / ".vidgraph" / "catalog.sqlite"
    before = media_index.stat().st_mtime_ns if media_index.exists() else None
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, kernel_name="vidgraph-test", timeout=900, allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    began = time.monotonic()
    try:
        client.execute()  # raises CellExecutionError on the first cell that fails
    finally:
        nbformat.write(nb, tmp_path / "executed.ipynb")  # to look at when it fails
    seconds = time.monotonic() - began

    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.get("output_type") == "error"]
    by_tag = {t: c for c in code for t in c.metadata.get("tags", [])}

    folders = list(tmp_path.glob("vidgraph-example-*"))  # the copy, and its index, are in the temp dir
    assert len(folders) == 1 and (folders[0] / ".vidgraph" / "catalog.sqlite").is_file()
    assert (media_index.stat().st_mtime_ns if media_index.exists() else None) == before
    assert not (NOTEBOOK.parent / ".vidgraph").exists()

    library_html, view_html = _html(code[1]), _html(code[2])
    assert "janus_ChID-BLITS-EBU.mp4" in library_html and "<table>" in library_html
    assert view_html.count('<img src="data:image/jpeg;base64,') >= 2 and TIMESTAMP.search(view_html)
    assert "kilobits per second" in _text(code[3])  # the transcript the question is asked about

    html = _html(by_tag["answer"])
    assert '<img src="data:image/jpeg;base64,' in html, html[:2000]
    assert TIMESTAMP.search(html), html[:2000]
    assert "At what bit rate does the audio codec operate?" in html and "trace (" in html
    steps = _text(by_tag["ask"]).split()
    assert "routed" in steps and "answered" in steps
    assert "<table" in _html(by_tag["citations"]) and "janus_ChID-BLITS-EBU.mp4" in _html(by_tag["citations"])
    said = re.search(r'font-size:18px[^>]*>([^<]*)<', html)
    assert said and "160" in said.group(1), html[:2000]  # "operating at a bit rate of 160 kilobits per second"
    # and it cites the moment the narrator says it (35.5-46.3 s), whatever the wording of the transcript
    rows = [re.findall(r"<td>([^<]*)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>",
                                                                      _html(by_tag["citations"]), re.S)]
    spans = [(float(r[1]), float(r[2])) for r in rows if len(r) >= 3 and r[0] == "janus_ChID-BLITS-EBU.mp4"]
    assert any(start < 46.3 and end > 35.5 for start, end in spans), rows
    print(f"\nquickstart notebook: {seconds:.0f} s (index + one answer); answer: {said and said.group(1)!r}")
