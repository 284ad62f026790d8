"""Library: index, skip what is done, follow renames, forget deletions, survive kill -9, share with other
processes, run videos in processes and on Ray."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from helpers_library import VIDGRAPH, clip, clips  # noqa: E402

from vidgraph import Library  # noqa: E402
from vidgraph.errors import ConfigError, StoreError  # noqa: E402
from vidgraph.records import Shot  # noqa: E402


def artifact_times(lib: Library) -> dict[str, int]:
    return {str(p.relative_to(lib.artifacts_dir)): p.stat().st_mtime_ns for p in lib.artifacts_dir.glob("*/*.jsonl")}


def test_index_then_reindex_skips(tmp_path, monkeypatch):
    folder = tmp_path / "videos"
    clips(folder, 2)
    lib = Library(folder)
    assert lib.videos() == [] and not lib.exists

    report = lib.index("scan", progress=False)
    assert report.ok and report.stages == ("probe", "scan")
    assert [r.path for r in report.results] == ["clip0.mp4", "clip1.mp4"]
    assert all(r.status == "done" and r.ran for r in report.results)
    assert abs(report.hours * 3600 - 12.0) < 0.2  # two clips of 2 x 3 s
    videos = lib.videos()
    assert [v.name for v in videos] == ["clip0.mp4", "clip1.mp4"]
    assert all(v.status == "done" and v.stage("scan").status == "done" for v in videos)
    assert {(v.info.width, v.info.height, v.info.has_audio) for v in videos} == {(320, 240, True)}
    shots = [r for r in lib.records("clip0.mp4", "scan") if isinstance(r, Shot)]
    assert [round(s.span.start, 1) for s in shots] == [0.0, 3.0]  # the clip has one hard cut at 3 s
    before = artifact_times(lib)

    import vidgraph.tools.decode

    def no_hashing(path):
        raise AssertionError(f"{path} was hashed again")

    monkeypatch.setattr(vidgraph.tools.decode, "content_hash", no_hashing)  # unchanged files are not re-read
    again = lib.index("scan", progress=False)
    assert again.ok and [r.status for r in again.results] == ["skipped", "skipped"]
    assert not again.indexed and not any(s.ran for r in again.results for s in r.stages)
    assert artifact_times(lib) == before
    assert again.seconds < 2.0


def test_rename_move_copy_reuse_the_work(tmp_path):
    folder = tmp_path / "videos"
    a, b = clips(folder, 2)
    lib = Library(folder)
    lib.index("scan", progress=False)
    ids = {v.name: v.video_id for v in lib.videos()}
    before = artifact_times(lib)

    (folder / "moved" / "deeper").mkdir(parents=True)
    a.rename(folder / "moved" / "deeper" / "renamed A.mp4")
    b.rename(folder / "clip1 renamed.mp4")
    (folder / "copy of clip1.mp4").write_bytes((folder / "clip1 renamed.mp4").read_bytes())
    report = lib.index("scan", progress=False)

    assert report.ok and not report.indexed and not report.forgotten
    by_id = {v.video_id: v for v in lib.videos()}
    assert set(by_id) == set(ids.values())
    assert by_id[ids["clip0.mp4"]].paths == ("moved/deeper/renamed A.mp4",)
    assert by_id[ids["clip1.mp4"]].paths == ("clip1 renamed.mp4", "copy of clip1.mp4")
    assert lib.get("renamed A").video_id == ids["clip0.mp4"]
    assert artifact_times(lib) == before


def test_delete_and_change_forget_the_old_video(tmp_path):
    folder = tmp_path / "videos"
    a, b = clips(folder, 2)
    lib = Library(folder)
    lib.index("scan", progress=False)
    old = lib.get("clip0.mp4")
    assert (lib.artifacts_dir / old.video_id).is_dir()

    a.unlink()
    report = lib.index("scan", progress=False)
    assert report.forgotten == ("clip0.mp4",)
    assert [v.name for v in lib.videos()] == ["clip1.mp4"]
    assert not (lib.artifacts_dir / old.video_id).exists()

    old_b = lib.get("clip1.mp4")
    clip(b, 5)  # same path, new content
    report = lib.index("scan", progress=False)
    assert [r.status for r in report.results] == ["done"] and report.forgotten == ("clip1.mp4",)
    new_b = lib.get("clip1.mp4")
    assert new_b.video_id != old_b.video_id and not (lib.artifacts_dir / old_b.video_id).exists()

    lib.forget("clip1.mp4")
    assert lib.videos() == [] and b.exists()


def test_get_records_and_errors(tmp_path):
    folder = tmp_path / "videos"
    clips(folder, 2)
    clip(folder / "sub" / "clip0.mp4", 7)
    lib = Library(folder, settings=None)
    lib.index("scan", progress=False)
    entry = lib.get("sub/clip0.mp4")
    assert lib.get(entry.video_id[:8]) == entry
    assert lib.get(str(folder / "sub" / "clip0.mp4")) == entry
    assert lib.get("clip1").name == "clip1.mp4"
    with pytest.raises(ConfigError, match="matches 2 videos"):
        lib.get("clip0")
    with pytest.raises(StoreError, match="not in the index"):
        lib.get("nothing.mp4")
    assert lib.records(entry, "probe") == [entry.info]
    with pytest.raises(StoreError, match="asr is not indexed.*--stages asr"):
        lib.records(entry, "asr")
    with pytest.raises(ConfigError, match="unknown tool 'speech'"):
        lib.index("scan,speech", progress=False)
    with pytest.raises(ConfigError, match="no such folder"):
        Library(tmp_path / "missing")


def test_index_dir_elsewhere_leaves_the_folder_alone(tmp_path):
    folder = tmp_path / "videos"
    clips(folder, 1)
    lib = Library(folder, index_dir=tmp_path / "index")
    assert lib.index("probe", progress=False).ok
    assert sorted(os.listdir(folder)) == ["clip0.mp4"]
    assert (tmp_path / "index" / "catalog.sqlite").is_file()
    assert lib.videos()[0].stages == ()  # probe only: the video is known, no stage ran


def test_failed_stage_is_one_line_and_dependents_do_not_run(tmp_path):
    """An audio-only file: scan fails with one line; ocr needs the scan and is not attempted."""
    folder = tmp_path / "videos"
    folder.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=2", "-c:a", "aac",
                    str(folder / "talk.mp4")], check=True)
    lib = Library(folder)
    report = lib.index(["scan", "ocr"], progress=False)
    assert not report.ok and len(report.failures) == 1
    failed = report.failures[0]
    assert failed.path == "talk.mp4" and failed.error.startswith("talk.mp4: has no video stream")
    by_cap = {s.stage: s for s in failed.stages}
    assert by_cap["scan"].status == "failed" and by_cap["scan"].caused_by == ""
    assert by_cap["ocr"].status == "failed" and by_cap["ocr"].caused_by == "scan" and not by_cap["ocr"].ran
    assert lib.failures() == [("talk.mp4", failed.error)]
    # a failed stage is not retried for an unchanged file, but it is still reported
    again = lib.index(["scan", "ocr"], progress=False)
    assert [r.error for r in again.failures] == [failed.error] and not again.indexed


def test_jobs_run_videos_in_worker_processes(tmp_path):
    folder = tmp_path / "videos"
    clips(folder, 4)
    lib = Library(folder, settings=None)
    assert lib._settings_for(2).threads == max(1, (os.cpu_count() or 1) // 2)
    events = []
    report = lib.index("scan", jobs=2, progress=events.append)
    assert report.ok and report.backend == "processes" and len(report.indexed) == 4
    workers = {r.worker for r in report.results}
    assert len(workers) <= 2 and os.getpid() not in workers  # processes are reused across videos
    names = {type(e).__name__ for e in events}
    assert {"Planned", "VideoStarted", "StageProgress", "StageFinished", "VideoFinished"} <= names
    assert all(len([r for r in lib.records(v, "scan") if isinstance(r, Shot)]) == 2 for v in lib.videos())


def test_lock_waits_for_another_indexer_then_times_out(tmp_path):
    folder = tmp_path / "videos"
    clips(folder, 1)
    lib = Library(folder)
    lib.index_dir.mkdir()
    # another process holds the writer lock until its stdin closes
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from filelock import FileLock; "
                               f"lock = FileLock({str(lib.index_dir / 'index.lock')!r}); lock.acquire(); "
                               "print('held', flush=True); sys.stdin.read(); lock.release()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        (lib.index_dir / "index.pid").write_text(str(holder.pid))
        messages = []
        start = time.monotonic()
        with pytest.raises(StoreError, match=rf"being indexed by another process \(pid {holder.pid}\)"):
            lib.index("scan", progress=messages.append, wait=0.3)
        assert 0.25 < time.monotonic() - start < 3
        assert f"another vidgraph index (pid {holder.pid}) is running on {folder}; waiting" in messages[0].text

        threading.Timer(0.5, holder.stdin.close).start()
        report = lib.index("scan", progress=messages.append)  # waits until the other one ends, then runs
        assert report.ok and len(report.indexed) == 1
        assert "waiting" in messages[1].text
    finally:
        holder.wait(timeout=10)


def test_readers_never_wait_for_the_writer(tmp_path):
    folder = tmp_path / "videos"
    clips(folder, 1)
    lib = Library(folder)
    lib.index("scan", progress=False)
    writer = sqlite3.connect(lib.catalog_path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE videos SET updated = updated + 1")
    start = time.monotonic()
    assert [v.name for v in lib.videos()] == ["clip0.mp4"]  # read while a write transaction is open
    assert time.monotonic() - start < 1.0
    writer.execute("ROLLBACK")
    writer.close()


def _catalog_rows(index: Path) -> list[tuple]:
    with sqlite3.connect(f"file:{index / 'catalog.sqlite'}?mode=ro", uri=True) as con:
        return con.execute("SELECT v.path, s.stage, s.status, s.updated FROM stages s "
                           "JOIN videos v USING(video_id) ORDER BY v.path").fetchall()


@pytest.mark.slow
def test_kill_9_mid_index_then_resume(tmp_path):
    """A real `vidgraph index` is killed (SIGKILL) after its first video is done (tools and memory) and while
    another is in flight; the next run keeps what was done, redoes nothing of it, and never reads a half-written
    artifact."""
    folder = tmp_path / "videos"
    clips(folder, 5, seconds=8, size="640x360")
    index = folder / ".vidgraph"
    proc = subprocess.Popen([str(VIDGRAPH), "index", str(folder), "--tools", "scan"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    done: list[tuple] = []
    while time.monotonic() < deadline and not done:
        time.sleep(0.02)
        if (index / "catalog.sqlite").is_file():
            try:
                done = [r for r in _catalog_rows(index) if r[1] == "memory" and r[2] == "done"]
            except sqlite3.OperationalError:
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert done, "the first video never finished"
    with sqlite3.connect(index / "catalog.sqlite") as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT status FROM runs").fetchall() == [("running",)]  # killed, not finished
    finished = {r[0] for r in _catalog_rows(index) if r[1] == "memory" and r[2] == "done"}
    before = {(r[0], r[1]): r[3] for r in _catalog_rows(index) if r[0] in finished}
    assert 1 <= len(finished) < 5, "the kill came too late to test anything"
    lib = Library(folder)
    for path in lib.artifacts_dir.glob("*/*.jsonl"):  # whatever exists is complete
        from vidgraph.tools.store import read_artifact

        assert read_artifact(path)
    artifacts_before = artifact_times(lib)

    out = subprocess.run([str(VIDGRAPH), "index", str(folder), "--tools", "scan", "--json"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    status = {r["path"]: r["status"] for r in report["results"]}
    assert all(status[p] == "skipped" for p in finished)  # nothing done before the kill ran again
    assert sorted(status) == [f"clip{i}.mp4" for i in range(5)] and set(status.values()) <= {"done", "skipped"}
    after = {(r[0], r[1]): r[3] for r in _catalog_rows(index)}
    assert all(after[k] == t for k, t in before.items())
    assert all(artifact_times(lib)[k] == t for k, t in artifacts_before.items())
    assert not list(lib.artifacts_dir.glob("*/.*.tmp"))  # the killed run's half-written file was cleaned up
    assert all(v.status == "done" for v in lib.videos()) and len(lib.videos()) == 5


@pytest.mark.slow
def test_two_indexers_and_a_reader_at_once(tmp_path):
    folder = tmp_path / "videos"
    clips(folder, 4, seconds=6, size="640x360")
    cmd = [str(VIDGRAPH), "index", str(folder), "--tools", "scan", "--json"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not (folder / ".vidgraph" / "catalog.sqlite").is_file():
        time.sleep(0.02)
    second = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reader = subprocess.run([str(VIDGRAPH), "inspect", str(folder)], capture_output=True, text=True, timeout=30)
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert first.returncode == 0 and second.returncode == 0, outs
    assert reader.returncode == 0, reader.stderr
    assert "another vidgraph index" in outs[1][1] and "waiting" in outs[1][1]
    reports = [json.loads(o[0]) for o in outs]
    assert len([r for r in reports[0]["results"] if r["status"] == "done"]) == 4
    assert all(r["status"] == "skipped" for r in reports[1]["results"])  # nothing done twice
    lib = Library(folder)
    assert [v.status for v in lib.videos()] == ["done"] * 4


@pytest.mark.slow
def test_ray_tasks_write_the_same_catalog(tmp_path):
    ray = pytest.importorskip("ray")
    folder = tmp_path / "videos"
    clips(folder, 3)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)  # a local cluster started by the test
    try:
        lib = Library(folder)
        report = lib.index("scan", jobs=2, ray="auto", progress=False)
    finally:
        ray.shutdown()
    assert report.ok and report.backend == "ray" and len(report.indexed) == 3
    assert os.getpid() not in {r.worker for r in report.results}
    assert [v.status for v in lib.videos()] == ["done"] * 3
    assert all(len([r for r in lib.records(v, "scan") if isinstance(r, Shot)]) == 2 for v in lib.videos())
    again = lib.index("scan", progress=False)
    assert [r.status for r in again.results] == ["skipped"] * 3
