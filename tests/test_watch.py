"""``vidgraph watch`` and recordings indexed while they grow (``index/watch.py``, ``index/growing.py``).

The waits below poll for a state with a generous deadline (the machine is shared): they assert what happens,
never how fast.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from vidgraph.index.watch import Watch
from vidgraph.library import Library
from vidgraph.records import Shot, TextLine, TranscriptSegment

DEADLINE = float(os.environ.get("VIDGRAPH_TEST_DEADLINE", "600"))


def wait_for(what, check, deadline: float = DEADLINE, every: float = 0.5, errors: list | None = None):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if errors:
            raise errors[0]
        got = check()
        if got:
            return got
        time.sleep(every)
    raise AssertionError(f"gave up waiting for {what}")


def _entries(folder: Path, index_dir: Path):
    library = Library(folder, index_dir=index_dir)
    try:
        return library.videos() if library.exists else []
    except Exception:  # noqa: BLE001 - the catalog is being created by the watch
        return []


# -- when a run is due, what is watched ------------------------------------------------------------------------
def test_a_run_is_due_when_a_touched_file_settles_or_a_growing_one_waited_a_chunk(tmp_path):
    watch = Watch(tmp_path, tmp_path / ".vidgraph", lambda: None, settle=3.0, chunk=10.0)
    assert not watch.due(100.0, 0.0)  # nothing touched
    watch.touched["a.mp4"] = 99.0
    assert not watch.due(100.0, 95.0)  # written 1 s ago, last run 5 s ago
    assert watch.due(102.5, 95.0)  # settled
    watch.touched["a.mp4"] = 104.0
    assert watch.due(105.0, 94.0)  # still written, but the last run is a chunk old: index what is there
    watch.touched.clear()
    watch.pending = True  # the last run left a growing file unfinished
    assert not watch.due(105.0, 100.0) and watch.due(110.5, 100.0)


def test_the_index_hidden_files_and_other_files_are_not_watched(tmp_path):
    watch = Watch(tmp_path, tmp_path / ".vidgraph", lambda: None)
    ignored = [(tmp_path / ".vidgraph" / "catalog.sqlite", False, "modified"), (tmp_path / ".x.mp4", False, "created"),
               (tmp_path / "notes.txt", False, "created"), (tmp_path / "sub", False, "created"),
               (tmp_path / "sub", True, "created"), ("/elsewhere/a.mp4", False, "created")]
    for path, is_dir, kind in ignored:
        assert watch._ignored(str(path), is_dir, kind), path
    assert not watch._ignored(str(tmp_path / "sub" / "a.mkv"), False, "modified")
    assert not watch._ignored(str(tmp_path / "sub"), True, "deleted")
    watch.on_event(SimpleNamespace(src_path=str(tmp_path / "a.ts"), dest_path="", is_directory=False,
                                   event_type="modified"))
    assert list(watch.touched) == [str(tmp_path / "a.ts")]


# -- a watched folder ---------------------------------------------------------------------------------------------
def _clip(out: Path, seconds: int = 4) -> Path:
    subprocess.run(["ffmpeg", "-y", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"testsrc=size=320x240:rate=10:duration={seconds}", "-pix_fmt", "yuv420p", str(out)], check=True)
    return out


def _watching(library: Library, stop: threading.Event, **kwargs) -> tuple[threading.Thread, list]:
    reports, errors = [], []

    def run():
        try:
            library.watch(progress=False, stop=stop, on_run=reports.append, **kwargs)
        except BaseException as e:  # noqa: BLE001 - shown by the test
            errors.append(e)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, errors


def test_files_that_arrive_are_indexed_and_deleted_ones_forgotten(tmp_path):
    folder, index_dir = tmp_path / "v", tmp_path / "idx"
    folder.mkdir()
    clip = _clip(tmp_path / "clip.mp4")
    library = Library(folder, index_dir=index_dir)
    stop = threading.Event()
    thread, errors = _watching(library, stop, stages=["scan"], settle=0.5, chunk=2.0, memory=False)
    try:
        shutil.copy(clip, folder / "arrived.mp4")
        entry = wait_for("the arrival indexed", lambda: [e for e in _entries(folder, index_dir)
                                                          if e.name == "arrived.mp4" and e.stage("scan")],
                         errors=errors)[0]
        assert entry.stage("scan").status == "done" and entry.live is None
        (folder / "arrived.mp4").unlink()
        wait_for("the deleted file forgotten", lambda: not _entries(folder, index_dir), errors=errors)
        assert not (index_dir / "artifacts" / entry.video_id).exists()
    finally:
        stop.set()
        thread.join(timeout=120)
    assert not errors and not thread.is_alive()


def test_ctrl_c_in_a_watch_stops_it_with_the_index_consistent(tmp_path, monkeypatch):
    folder, index_dir = tmp_path / "v", tmp_path / "idx"
    folder.mkdir()
    _clip(folder / "a.mp4")
    calls = []

    def interrupted():
        calls.append(1)
        Library(folder, index_dir=index_dir).index(["scan"], progress=False, memory=False)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Watch(folder, index_dir, interrupted, settle=0.5).serve()
    assert calls == [1]
    report = Library(folder, index_dir=index_dir).index(["scan"], progress=False, memory=False)
    assert [r.status for r in report.results] == ["skipped"]  # what the interrupted watch indexed is kept


# -- a recording that is still being written ----------------------------------------------------------------------
def _words(records) -> list[str]:
    """The spoken words, without the punctuation Whisper adds from its context: a window cut elsewhere may end a
    clause with a comma where the one-shot decode has none ("watching," against "watching"), the words the same."""
    words = " ".join(r.text for r in records if isinstance(r, TranscriptSegment)).lower().split()
    return [w.strip(".,;:!?\"'") for w in words]


def _search(folder: Path, index_dir: Path, query: str) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "vidgraph.cli", "search", str(folder), query, "--index-dir",
                          str(index_dir), "--json"], capture_output=True, text=True, env=os.environ.copy())
    return json.loads(out.stdout) if out.returncode == 0 and out.stdout.strip() else []


@pytest.mark.slow
@pytest.mark.numerics
def test_a_growing_recording_is_searchable_before_it_ends_and_ends_as_the_one_shot_index(tmp_path, fixture_video,
                                                                                         fixture_truth):
    """ffmpeg writes the fixture as MPEG-TS in real time while the folder is watched."""
    folder, index_dir = tmp_path / "v", tmp_path / "idx"
    folder.mkdir()
    stages = ["scan", "asr", "ocr"]
    library = Library(folder, index_dir=index_dir)
    stop = threading.Event()
    thread, errors = _watching(library, stop, stages=stages, settle=4.0, chunk=4.0)
    writer = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-i", str(fixture_video),
                               "-c", "copy", "-flush_packets", "1", "-f", "mpegts", str(folder / "rec.ts")])
    try:
        first = fixture_truth.texts[0]  # on screen in the first seconds
        hits = wait_for("the first part searchable while it is written",
                        lambda: writer.poll() is None and [h for h in _search(folder, index_dir, first[2])
                                                           if h["indexed_until"] is not None], every=2.0, errors=errors)
        assert writer.poll() is None, "the recording ended before its first part could be searched"
        assert hits[0]["start"] < first[1] + 5  # found where it was shown, with how far the recording is indexed
        assert 0.0 <= hits[0]["indexed_until"] < fixture_truth.duration
        assert writer.wait(timeout=DEADLINE) == 0
        live = wait_for("the finished recording adopted", lambda: [e for e in _entries(folder, index_dir)
                                                                  if e.live is None and e.stage("memory")],
                        errors=errors)[0]
    finally:
        stop.set()
        thread.join(timeout=300)
        if writer.poll() is None:
            writer.kill()
    assert not errors
    from vidgraph.tools.decode import content_hash

    assert live.video_id == content_hash(folder / "rec.ts")
    once_folder = tmp_path / "once"
    once_folder.mkdir()
    shutil.copy(folder / "rec.ts", once_folder / "rec.ts")
    once = Library(once_folder, index_dir=tmp_path / "once-idx")
    once.index(stages, progress=False, memory=False)
    [entry] = once.videos()
    grown, whole = {s: library.records(live, s) for s in stages}, {s: once.records(entry, s) for s in stages}
    frame = 1.0 / (entry.info.fps or 25.0)
    shots_a, shots_b = [r for r in grown["scan"] if isinstance(r, Shot)], [r for r in whole["scan"]
                                                                          if isinstance(r, Shot)]
    assert len(shots_a) == len(shots_b)
    assert all(abs(a.span.start - b.span.start) <= frame + 1e-6 for a, b in zip(shots_a, shots_b))
    assert _words(grown["asr"]) == _words(whole["asr"])
    assert sorted(r.text for r in grown["ocr"] if isinstance(r, TextLine)) == \
        sorted(r.text for r in whole["ocr"] if isinstance(r, TextLine))
