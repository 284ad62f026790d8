"""Faults of the index itself, each made for real: a video replaced while it is indexed, damaged artifacts, a memory
that failed, a deleted vector store, a truncated video, a read-only index, a full disk, a damaged catalog, a moved
folder, kill -9 at several points — and what must happen instead of a silent wrong answer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from helpers_library import VIDGRAPH, clip, clips  # noqa: E402

from vidgraph import Library  # noqa: E402
from conftest import make_settings  # noqa: E402


def index(folder: Path, *args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(VIDGRAPH), "index", str(folder), *args], capture_output=True, text=True,
                          timeout=timeout, **kw)


def stages(folder: Path) -> dict[tuple[str, str], tuple[str, float]]:
    """(path, stage) -> (status, updated) from the catalog."""
    with sqlite3.connect(folder / ".vidgraph" / "catalog.sqlite") as con:
        rows = con.execute("SELECT f.path, s.stage, s.status, s.updated FROM stages s JOIN files f ON "
                           "f.video_id = s.video_id").fetchall()
    return {(p, s): (st, u) for p, s, st, u in rows}


def _speech_video(out: Path, words: str, seconds: int = 24) -> Path:
    from vidgraph.eval import synth

    scenes = [synth.Scene(seconds / 3, src, (synth.Text(f"{words.split()[0].upper()} {n}", 0.5, seconds / 3 - 0.5),),
                          (synth.Speech(f"{words} number {n}.", 0.5),))
              for n, src in enumerate(("testsrc2", "smptehdbars", "mandelbrot"), 1)]
    synth.make_video(scenes, out, size="640x360")
    out.with_suffix(".truth.json").unlink()
    return out


@pytest.fixture(scope="module")
def talks(tmp_path_factory):
    """Two different 24 s videos with speech (indexing one takes seconds: there is time to replace it)."""
    folder = tmp_path_factory.mktemp("talks")
    return (_speech_video(folder / "apples.mp4", "The green apples are ripe"),
            _speech_video(folder / "trains.mp4", "The night trains are late"))


# -- the source changes -------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_video_replaced_while_it_is_indexed_is_indexed_as_its_new_content(tmp_path, talks):
    apples, trains = talks
    folder = tmp_path / "d"
    folder.mkdir()
    shutil.copy(apples, folder / "gen.mp4")
    proc = subprocess.Popen([str(VIDGRAPH), "index", str(folder), "--stages", "scan,asr", "--no-memory", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    catalog = folder / ".vidgraph" / "catalog.sqlite"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the probe is committed: the stages are running now
        time.sleep(0.05)
        try:
            if catalog.is_file() and sqlite3.connect(catalog).execute("SELECT COUNT(*) FROM videos").fetchone()[0]:
                break
        except sqlite3.OperationalError:
            pass
    shutil.copy(trains, folder / ".t")
    os.replace(folder / ".t", folder / "gen.mp4")  # cp other.mp4 d/.t && mv d/.t d/gen.mp4
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "changed while being indexed" in err, err
    lib = Library(folder)
    (entry,) = lib.videos()
    from vidgraph.tools.decode import content_hash

    assert entry.video_id == content_hash(trains)  # the new content, under its own hash
    said = " ".join(s.text for s in lib.records(entry, "asr")).lower()
    assert "train" in said and "apple" not in said, said  # nothing of the old file mixed in
    # a later copy of the original is indexed as the original, not served the other video's transcript
    shutil.copy(apples, folder / "again.mp4")
    assert index(folder, "--stages", "scan,asr", "--no-memory").returncode == 0
    first = Library(folder).get("again.mp4")
    said = " ".join(s.text for s in lib.records(first, "asr")).lower()
    assert "apple" in said and "train" not in said, said


# -- damaged artifacts ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["empty", "garbage", "cut"])
def test_a_damaged_artifact_is_a_missing_one(tmp_path, damage):
    folder = tmp_path / "v"
    clip(folder / "a.mp4", 0)
    assert index(folder, "--stages", "scan,asr", "--no-memory").returncode == 0
    lib = Library(folder)
    (asr,) = [p for p in lib.artifacts_dir.glob("*/asr*.jsonl")]
    text = asr.read_text()
    asr.write_text({"empty": "", "garbage": "{not json at all\n", "cut": text.splitlines()[0] + "\n"}[damage]
                   if damage != "cut" or len(text.splitlines()) > 1 else text[: len(text) // 2])
    before = stages(folder)[("a.mp4", "scan")]
    read = subprocess.run([str(VIDGRAPH), "inspect", str(folder / "a.mp4"), "transcript"], capture_output=True,
                          text=True)
    assert read.returncode == 1 and "is damaged" in read.stderr and asr.name in read.stderr
    assert "run vidgraph index" in read.stderr or "vidgraph index" in read.stderr
    again = index(folder, "--stages", "scan,asr", "--no-memory", "--json")
    assert again.returncode == 0, again.stderr
    assert asr.name in again.stderr and "made again" in again.stderr  # one line naming the file
    report = json.loads(again.stdout)
    ran = {s["stage"]: s["ran"] for s in report["results"][0]["stages"]}
    assert ran["asr"] and not ran.get("scan", False)  # only the damaged stage ran again
    assert stages(folder)[("a.mp4", "scan")] == before
    assert Library(folder).records("a.mp4", "asr") is not None


def test_a_failed_memory_is_shown_again_until_it_is_retried(tmp_path, monkeypatch):
    from vidgraph.errors import StoreError
    from vidgraph.memory import Memory

    folder = tmp_path / "v"
    clip(folder / "a.mp4", 0)
    real = Memory.build

    def broken(self, *args, **kwargs):
        raise StoreError("the embedder fell over", "try again")

    monkeypatch.setattr(Memory, "build", broken)
    lib = Library(folder, settings=make_settings())
    first = lib.index(["scan"], progress=False)
    assert not first.ok and "memory" in first.failures[0].error
    again = lib.index(["scan"], progress=False)
    assert not again.ok and "the embedder fell over" in again.failures[0].error  # not "0 failed"
    monkeypatch.setattr(Memory, "build", real)
    fixed = lib.index(["scan"], progress=False, retry_failed=True)
    assert fixed.ok and lib.memory.videos()


# -- the memory loses a part ------------------------------------------------------------------------------------------
def test_a_deleted_vector_store_is_rebuilt_from_the_artifacts(tmp_path, talks):
    folder = tmp_path / "v"
    folder.mkdir()
    shutil.copy(talks[0], folder / "a.mp4")
    assert index(folder, "--stages", "scan,asr").returncode == 0
    lib = Library(folder)
    held = lib.memory.vectors.count("speech")
    assert held > 0
    shutil.rmtree(folder / ".vidgraph" / "memory" / "chroma")
    searched = subprocess.run([str(VIDGRAPH), "search", str(folder), "green apples"], capture_output=True, text=True)
    assert searched.returncode == 1 and "missing or was replaced" in searched.stderr  # not silently empty
    again = index(folder, "--stages", "scan,asr", "--json")
    assert again.returncode == 0, again.stderr
    assert "rebuilding it from the artifacts" in again.stderr and "chroma" in again.stderr
    report = json.loads(again.stdout)
    ran = {s["stage"]: s["ran"] for s in report["results"][0]["stages"]}
    assert ran == {"scan": False, "asr": False, "memory": True}  # no tool ran again
    lib = Library(folder)
    assert lib.memory.vectors.count("speech") == held and not lib.memory.lost()
    assert lib.memory.search("green apples", k=1)


# -- bad media --------------------------------------------------------------------------------------------------------
def test_a_truncated_video_is_one_line_not_a_short_index(tmp_path):
    full = tmp_path / "full.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25", "-f", "lavfi",
                    "-i", "sine=d=30", "-t", "30", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-c:a", "aac",
                    "-movflags", "+faststart", str(full)], check=True)
    folder = tmp_path / "v"
    folder.mkdir()
    (folder / "cut.mp4").write_bytes(full.read_bytes()[:200_000])  # the first 200 KB of a longer file
    out = index(folder, "--stages", "scan", "--no-memory")
    assert out.returncode == 1
    line = [x for x in out.stdout.splitlines() if "cut.mp4" in x and "✗" in x]
    assert line and "truncated or damaged" in line[0] and "of its 0:30.0 could be decoded" in line[0], out.stdout


# -- the disk and the folder ----------------------------------------------------------------------------------------
@pytest.fixture
def read_only(tmp_path):
    """A read-only bind mount of a folder (as a read-only disk or another user's index is)."""
    views: list[Path] = []

    def mount(folder: Path) -> Path:
        view = tmp_path / f"ro-{len(views)}"
        view.mkdir()
        for cmd in (["mount", "--bind", str(folder), str(view)], ["mount", "-o", "remount,bind,ro", str(view)]):
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                pytest.fail(f"{' '.join(cmd)}: {done.stderr.strip()} (the read-only tests need root and mount)")
        views.append(view)
        return view

    yield mount
    for view in views:
        subprocess.run(["umount", "-l", str(view)], capture_output=True)


def test_a_read_only_index_can_be_read_and_says_where_it_cannot_be_written(tmp_path, read_only):
    folder = tmp_path / "v"
    clip(folder / "a.mp4", 0)
    assert index(folder, "--stages", "scan").returncode == 0
    view = read_only(folder)
    for args in (["inspect", str(view)], ["inspect", str(view / "a.mp4"), "shots"], ["search", str(view), "shot"]):
        done = subprocess.run([str(VIDGRAPH), *args], capture_output=True, text=True, timeout=120)
        assert done.returncode in (0, 1) and "error" not in done.stderr, (args, done.stderr)
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"by": "prompt", "replies": {"tools": [{"answer": "", "option": None, "call": 0}]}}))
    asked = subprocess.run([str(VIDGRAPH), "ask", str(view), "How many shots are there?", "--model",
                            f"scripted:{script}", "--quiet"], capture_output=True, text=True, timeout=120)
    assert asked.returncode == 0 and asked.stdout.startswith("2 shots"), asked.stderr
    write = index(view, "--stages", "scan")
    assert write.returncode == 1 and len(write.stderr.strip().splitlines()) == 1
    assert "cannot write there (read-only file system)" in write.stderr and "--index-dir" in write.stderr


def test_a_full_disk_is_one_line_and_the_catalog_stays_whole(tmp_path):
    """The index on a 1 MB disk (a tmpfs): the run stops with one line naming what filled and --index-dir; the
    catalog is whole; with room again the next run finishes."""
    folder = tmp_path / "v"
    folder.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25", "-t", "20",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", str(folder / "a.mp4")], check=True)
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True,
                             text=True)
    if mounted.returncode:
        pytest.fail(f"mount tmpfs: {mounted.stderr.strip()} (the disk-full test needs root and mount)")
    try:
        out = index(folder, "--stages", "scan", "--index-dir", str(disk / "idx"))
        assert out.returncode == 1, out.stdout
        said = (out.stderr + out.stdout).strip().splitlines()
        full = [x for x in said if "the disk is full" in x]
        assert full and str(disk) in full[0] and "--index-dir" in full[0], said
        assert "internal error" not in out.stderr and "Traceback" not in out.stderr
        with sqlite3.connect(disk / "idx" / "catalog.sqlite") as con:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True)
        again = index(folder, "--stages", "scan", "--index-dir", str(disk / "idx"))
        assert again.returncode == 0, again.stdout + again.stderr  # room again: it finishes what was left
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)  # lazy: even if a file is still open


def test_a_damaged_catalog_is_rebuilt_from_the_artifacts(tmp_path):
    folder = tmp_path / "v"
    clips(folder, 2, seconds=3)
    assert index(folder, "--stages", "scan").returncode == 0
    catalog = folder / ".vidgraph" / "catalog.sqlite"
    catalog.write_bytes(b"")
    reader = subprocess.run([str(VIDGRAPH), "inspect", str(folder)], capture_output=True, text=True)
    assert reader.returncode == 1 and "catalog.sqlite: the catalog is damaged" in reader.stderr
    assert "delete the index folder" not in reader.stderr  # only the catalog is named
    again = index(folder, "--stages", "scan", "--json")
    assert again.returncode == 0 and "set aside" in again.stderr, again.stderr
    ran = [s["ran"] for r in json.loads(again.stdout)["results"] for s in r["stages"] if s["stage"] == "scan"]
    assert ran == [False, False]  # every artifact was reused: no tool ran again
    assert [v.status for v in Library(folder).videos()] == ["done", "done"]


def test_a_moved_folder_keeps_working(tmp_path):
    folder = tmp_path / "before"
    clip(folder / "a.mp4", 0)
    assert index(folder, "--stages", "scan").returncode == 0
    moved = tmp_path / "after"
    os.rename(folder, moved)
    lib = Library(moved)
    frames = [r for r in lib.records("a.mp4", "scan") if r.type_name == "Frame"]
    assert frames and all(Path(f.path).is_file() and str(moved) in f.path for f in frames)
    (raw,) = lib.artifacts_dir.glob("*/scan@*.jsonl")
    assert str(tmp_path) not in raw.read_text()  # paths inside artifacts are relative to the index
    assert index(moved, "--stages", "scan", "--json").returncode == 0


# -- small things ---------------------------------------------------------------------------------------------------
def test_the_command_line_and_the_cache_say_what_to_do(tmp_path):
    folder = tmp_path / "v"
    clip(folder / "a.mp4", 0)
    bad = subprocess.run([str(VIDGRAPH), "search", str(folder), "x", "--from", "soon"], capture_output=True,
                         text=True)
    assert bad.returncode == 2  # a malformed command line, as the README says
    twice = subprocess.run([str(VIDGRAPH), "ask", str(folder), "Which day?", "-o", "Monday", "-o", "monday"],
                           capture_output=True, text=True)
    assert twice.returncode == 1 and "given twice" in twice.stderr
    assert index(folder, "--stages", "scan").returncode == 0
    pipe = subprocess.run(f"{VIDGRAPH} inspect {folder / 'a.mp4'} | head -1", shell=True, capture_output=True,
                          text=True, executable="/bin/bash")
    assert pipe.returncode == 0 and pipe.stderr == ""
    piped = subprocess.run(["bash", "-c", f"set -o pipefail; {VIDGRAPH} inspect {folder / 'a.mp4'} | head -1"],
                           capture_output=True, text=True)
    assert piped.returncode == 0, piped.stderr
    locked = tmp_path / "cache"
    locked.mkdir()
    env = {**os.environ, "VIDGRAPH_CACHE_DIR": str(locked / "sub"), "VIDGRAPH_ASR_MODEL": "base"}
    os.chmod(locked, 0o500)
    try:
        no_cache = index(folder, "--stages", "asr", env=env) if os.geteuid() != 0 else None
    finally:
        os.chmod(locked, 0o700)
    if no_cache is not None:  # as root every folder is writable: the mapping is tested below instead
        assert no_cache.returncode == 1 and "VIDGRAPH_CACHE_DIR" in no_cache.stdout + no_cache.stderr
    from vidgraph.errors import os_failure
    from vidgraph.tools.weights import CACHE_FIX

    e = os_failure(PermissionError(13, "Permission denied", str(locked)), locked, CACHE_FIX)
    assert "cannot write there (permission denied)" in str(e) and "VIDGRAPH_CACHE_DIR" in str(e)


# -- kill -9 at several points ----------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("when", ["scan", "asr", "memory"])
def test_kill_9_during_a_stage_then_the_rerun_redoes_nothing_done(tmp_path, talks, when):
    folder = tmp_path / "v"
    folder.mkdir()
    for n, src in enumerate(talks):
        shutil.copy(src, folder / f"{n}.mp4")
    proc = subprocess.Popen([str(VIDGRAPH), "index", str(folder), "--stages", "scan,asr"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    before = {"scan": None, "asr": "scan", "memory": "asr"}[when]  # kill once this stage of the first video is done
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
        try:
            rows = stages(folder) if (folder / ".vidgraph" / "catalog.sqlite").is_file() else {}
        except sqlite3.OperationalError:
            continue
        if (before is None and (folder / ".vidgraph" / "artifacts").is_dir()) or \
                any(s == before and st == "done" for (_, s), (st, _) in rows.items()):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = {k: v for k, v in stages(folder).items() if v[0] == "done"}
    rerun = index(folder, "--stages", "scan,asr", "--json")
    assert rerun.returncode == 0, rerun.stderr
    after = stages(folder)
    assert all(after[k] == v for k, v in done_before.items())  # what was done stayed done, untouched
    assert {k[1] for k, v in after.items() if v[0] == "done"} == {"scan", "asr", "memory"}
    assert len({k[0] for k in after}) == 2 and all(v[0] == "done" for v in after.values())
