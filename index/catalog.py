"""The library catalog: one SQLite file (WAL mode) that says what the index knows about every video.

Tables:

- ``files``: every video file found in the folder, by path relative to the folder, with the (size, mtime_ns)
  its content hash was computed for (so unchanged files are not re-hashed), the hash (``video_id``) and, for a
  file that cannot be used, its one-line error;
- ``videos``: one row per distinct content (the hash), with its probe info;
- ``stages``: per video and stage: the artifact file that holds the records, status (``done`` or
  ``failed``), the one-line error, the stage whose failure prevented it (``caused_by``), and seconds;
- ``runs``: one row per ``index`` run;
- ``live``: files indexed while they grow (a recording being written): the provisional id of what is indexed so far,
  how far (``until``, seconds), and the size and fingerprints of the bytes read (``index/live.py``).

Every write is one transaction, so a crash (even ``kill -9``) loses at most the write in flight. Readers never
block writers (WAL); the single writer is the process holding the index's file lock (see ``index/lock.py``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import StoreError, os_failure, sqlite_failure
from ..memory.sqlite import can_write
from ..records import ProbeInfo

SCHEMA = 3
"""2: the column naming a stage is ``stage`` (1 called it ``capability``); 3: the ``live`` table. Older catalogs are
migrated on open."""

_LIVE_DDL = """
CREATE TABLE IF NOT EXISTS live (
    path TEXT PRIMARY KEY,
    video_id TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    head TEXT NOT NULL,
    tail TEXT NOT NULL,
    until REAL NOT NULL,
    updated REAL NOT NULL
)"""

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL DEFAULT -1,
    mtime_ns INTEGER NOT NULL DEFAULT -1,
    video_id TEXT,
    error TEXT,
    seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS files_by_video ON files(video_id);
CREATE TABLE IF NOT EXISTS videos (
    video_id TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    duration REAL NOT NULL,
    probe TEXT NOT NULL,
    added REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS stages (
    video_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    artifact TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    caused_by TEXT NOT NULL DEFAULT '',
    seconds REAL NOT NULL DEFAULT 0,
    updated REAL NOT NULL,
    PRIMARY KEY (video_id, stage)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pid INTEGER NOT NULL,
    started REAL NOT NULL,
    finished REAL,
    stages TEXT NOT NULL,
    jobs INTEGER NOT NULL,
    status TEXT NOT NULL,
    videos INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    seconds REAL NOT NULL DEFAULT 0
);
""" + _LIVE_DDL + ";\n"


def db_text(s: str) -> str:
    """``s`` as valid UTF-8 text (file names that are not UTF-8 get backslash escapes)."""
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class _Damaged(Exception):
    """The catalog file exists but is not a usable catalog."""


@dataclass(frozen=True)
class StageStatus:
    """One stage of one video: what the catalog knows, and what a run did (``ran``)."""

    stage: str
    status: str
    """``done`` or ``failed``."""
    artifact: str = ""
    """File name of the records under ``artifacts/<video_id>/`` (for ``memory``: the fingerprint it was built
    from)."""
    error: str = ""
    caused_by: str = ""
    """The stage whose failure prevented this one (its error is the video's one line)."""
    seconds: float = 0.0
    updated: float = 0.0
    ran: bool = False
    """True when its tool ran in this run (False: read from the catalog or an existing artifact)."""

    def to_dict(self) -> dict:
        return {"stage": self.stage, "status": self.status, "artifact": self.artifact,
                "error": self.error, "caused_by": self.caused_by, "seconds": self.seconds, "updated": self.updated,
                "ran": self.ran}


@dataclass(frozen=True)
class VideoEntry:
    """A video of the library: its identity (content hash), where it is, what it contains, what is indexed."""

    video_id: str
    path: str
    """Absolute path of the first known copy."""
    paths: tuple[str, ...]
    """Every path of this content, relative to the library folder."""
    duration: float
    info: ProbeInfo
    stages: tuple[StageStatus, ...] = ()
    added: float = 0.0
    updated: float = 0.0
    live: float | None = None
    """Seconds indexed so far when the file is still being written (indexed while it grows), else None."""

    @property
    def name(self) -> str:
        return self.paths[0] if self.paths else os.path.basename(self.path)

    def stage(self, stage: str) -> StageStatus | None:
        return next((s for s in self.stages if s.stage == stage), None)

    @property
    def status(self) -> str:
        """``failed`` if a stage failed, else ``done`` (every indexed stage is done)."""
        return "failed" if any(s.status == "failed" for s in self.stages) else "done"

    @property
    def error(self) -> str:
        """The one line that explains why the video failed (the first failure that has no other cause)."""
        failed = sorted((s for s in self.stages if s.status == "failed"), key=lambda s: (bool(s.caused_by), s.updated))
        return failed[0].error if failed else ""

    def to_dict(self) -> dict:
        return {
            "video_id": self.video_id, "path": self.path, "paths": list(self.paths), "duration": self.duration,
            "status": self.status, "error": self.error, "info": self.info.to_dict(), "live": self.live,
            "stages": {s.stage: {"status": s.status, "error": s.error, "caused_by": s.caused_by,
                                      "seconds": s.seconds, "artifact": s.artifact} for s in self.stages},
        }


@dataclass(frozen=True)
class FileProblem:
    """A file in the folder that could not be indexed as a video at all (unreadable, empty, not a video)."""

    path: str
    """Relative to the library folder."""
    error: str
    video_id: str | None = None

    def to_dict(self) -> dict:
        return {"path": self.path, "error": self.error, "video_id": self.video_id, "status": "failed"}


@dataclass(frozen=True)
class LiveRow:
    """A file indexed while it grows: its provisional id, the bytes read (``size``, the fingerprints of where they
    start and end: ``index/live.py``) and the seconds indexed (``until``)."""

    path: str
    video_id: str
    size: int
    mtime_ns: int
    head: str
    tail: str
    until: float


@dataclass(frozen=True)
class FileRow:
    path: str
    size: int
    mtime_ns: int
    video_id: str | None
    error: str | None


class Catalog:
    """The SQLite catalog of one library. ``create=False`` opens an existing catalog only (readers)."""

    def __init__(self, path: str | Path, create: bool = False, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.repaired = ""
        """Set when the writer found the catalog damaged: it was set aside and rebuilt (what it said)."""
        self.read_only = False
        if not create and not self.path.is_file():
            raise StoreError(f"no vidgraph index at {self.path.parent}", "run: vidgraph index FOLDER")
        try:
            if create and not self.path.is_file():
                self._create()
            self._open(timeout, create)
        except sqlite3.OperationalError as e:  # the disk, not the file: full, read-only, failing
            raise sqlite_failure(e, self.path) from e
        except (sqlite3.DatabaseError, _Damaged) as e:
            if not create:
                raise StoreError(f"{self.path}: the catalog is damaged ({e})",
                                 "run vidgraph index on the folder: it rebuilds catalog.sqlite from the artifacts "
                                 "(nothing else is lost)") from None
            self.repaired = self._set_aside(str(e))
            self._create()
            self._open(timeout, create)
        except OSError as e:
            raise os_failure(e, self.path) from e

    def _open(self, timeout: float, create: bool) -> None:
        """Read-write; a reader that may not write (a read-only folder) opens it read-only instead."""
        if self.path.stat().st_size == 0:
            raise _Damaged("the file is empty")
        if not can_write(self.path) and not create:
            mode, self.read_only = "ro", True
            uri = f"file:{self.path}?mode=ro&immutable=1"
        else:
            mode, uri = "rw", f"file:{self.path}?mode=rw"
        self.con = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        if mode == "rw":
            self.con.execute("PRAGMA synchronous=NORMAL")
        self._check_schema()

    def _set_aside(self, why: str) -> str:
        """Move a damaged catalog (and its WAL files) beside its place; the run rebuilds it from the artifacts."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{self.path}{suffix}")
            if part.exists():
                os.replace(part, part.with_name(f"{part.name}.damaged-{stamp}"))
        return f"{self.path.name} was damaged ({why}): set aside as {self.path.name}.damaged-{stamp}; rebuilt from " \
               "the artifacts"

    def _create(self) -> None:
        """Build the empty catalog beside its place, then move it in: readers never see a half-made one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):  # from a creator killed mid-way
            stale.unlink(missing_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")  # persistent: every later connection uses WAL
            con.execute("BEGIN")
            for statement in _DDL.split(";"):
                if statement.strip():
                    con.execute(statement)
            con.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
            con.execute("COMMIT")
        finally:
            con.close()
        os.replace(tmp, self.path)

    def _check_schema(self) -> None:
        try:
            row = self.con.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.OperationalError as e:
            raise _Damaged(f"not a vidgraph catalog: {e}") from e
        if row is None or int(row[0]) > SCHEMA:
            raise StoreError(f"{self.path}: catalog schema {row[0] if row else '?'} is newer than this vidgraph",
                             "upgrade vidgraph")
        if int(row[0]) < SCHEMA:
            self._migrate(int(row[0]))

    def _migrate(self, schema: int) -> None:
        """Bring an older catalog to this schema, in one transaction."""
        with self.write() as con:
            if schema < 2:
                con.execute("ALTER TABLE stages RENAME COLUMN capability TO stage")
                con.execute("ALTER TABLE runs RENAME COLUMN capabilities TO stages")
            if schema < 3:
                con.execute(_LIVE_DDL)
            con.execute("UPDATE meta SET value=? WHERE key='schema'", (str(SCHEMA),))

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One atomic write transaction; a full disk or a read-only file is one line naming the catalog."""
        if self.read_only:
            raise StoreError(f"{self.path}: the index is read-only here",
                             "make it writable, or keep the index elsewhere with --index-dir DIR")
        try:
            self.con.execute("BEGIN IMMEDIATE")
            try:
                yield self.con
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")
        except sqlite3.OperationalError as e:
            raise sqlite_failure(e, self.path) from e

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A consistent read (WAL readers never wait for the writer)."""
        self.con.execute("BEGIN")
        try:
            yield self.con
        finally:
            self.con.execute("COMMIT")

    # -- files ----------------------------------------------------------------------------------------------------
    def files(self) -> dict[str, FileRow]:
        rows = self.con.execute("SELECT path, size, mtime_ns, video_id, error FROM files").fetchall()
        return {r[0]: FileRow(*r) for r in rows}

    def put_files(self, rows: list[FileRow]) -> None:
        now = time.time()
        with self.write() as con:
            con.executemany(
                "INSERT INTO files(path, size, mtime_ns, video_id, error, seen) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(path) DO UPDATE SET size=excluded.size, mtime_ns=excluded.mtime_ns, "
                "video_id=excluded.video_id, error=excluded.error, seen=excluded.seen",
                [(r.path, r.size, r.mtime_ns, r.video_id, r.error, now) for r in rows])

    def remove_files(self, paths: list[str]) -> None:
        with self.write() as con:
            con.executemany("DELETE FROM files WHERE path=?", [(p,) for p in paths])

    def set_file_errors(self, video_id: str, errors: dict[str, str]) -> None:
        """Mark the files with this content as unusable (``errors``: path -> line); the content is no video."""
        with self.write() as con:
            con.executemany("UPDATE files SET error=? WHERE path=?", [(e, p) for p, e in errors.items()])
            con.execute("DELETE FROM stages WHERE video_id=?", (video_id,))
            con.execute("DELETE FROM videos WHERE video_id=?", (video_id,))

    # -- videos and stages ----------------------------------------------------------------------------------------
    def put_video(self, info: ProbeInfo, path: str) -> None:
        now = time.time()
        with self.write() as con:
            con.execute(
                "INSERT INTO videos(video_id, path, duration, probe, added, updated) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(video_id) DO UPDATE SET path=excluded.path, duration=excluded.duration, "
                "probe=excluded.probe, updated=excluded.updated",
                (info.video_id, path, info.duration, json.dumps(info.to_dict()), now, now))
            con.execute("UPDATE files SET error=NULL WHERE video_id=?", (info.video_id,))

    def set_video_path(self, video_id: str, path: str) -> None:
        with self.write() as con:
            con.execute("UPDATE videos SET path=? WHERE video_id=?", (path, video_id))

    def put_stage(self, video_id: str, stage: StageStatus) -> None:
        with self.write() as con:
            con.execute(
                "INSERT INTO stages(video_id, stage, artifact, status, error, caused_by, seconds, updated) "
                "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(video_id, stage) DO UPDATE SET "
                "artifact=excluded.artifact, status=excluded.status, error=excluded.error, "
                "caused_by=excluded.caused_by, seconds=excluded.seconds, updated=excluded.updated",
                (video_id, stage.stage, stage.artifact, stage.status, stage.error, stage.caused_by,
                 stage.seconds, stage.updated or time.time()))

    def forget_video(self, video_id: str) -> None:
        with self.write() as con:
            con.execute("DELETE FROM live WHERE video_id=?", (video_id,))
            con.execute("DELETE FROM stages WHERE video_id=?", (video_id,))
            con.execute("DELETE FROM videos WHERE video_id=?", (video_id,))
            con.execute("DELETE FROM files WHERE video_id=?", (video_id,))

    # -- files indexed while they grow ------------------------------------------------------------------------
    def live_rows(self) -> dict[str, LiveRow]:
        rows = self.con.execute("SELECT path, video_id, size, mtime_ns, head, tail, until FROM live").fetchall()
        return {r[0]: LiveRow(*r) for r in rows}

    def put_live(self, row: LiveRow) -> None:
        with self.write() as con:
            con.execute("INSERT INTO live(path, video_id, size, mtime_ns, head, tail, until, updated) "
                        "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(path) DO UPDATE SET video_id=excluded.video_id, "
                        "size=excluded.size, mtime_ns=excluded.mtime_ns, head=excluded.head, tail=excluded.tail, "
                        "until=excluded.until, updated=excluded.updated",
                        (row.path, row.video_id, row.size, row.mtime_ns, row.head, row.tail, row.until, time.time()))

    def drop_live(self, path: str) -> None:
        with self.write() as con:
            con.execute("DELETE FROM live WHERE path=?", (path,))

    def entries(self, folder: Path, video_ids: list[str] | None = None) -> list[VideoEntry]:
        """Catalog entries (all, or those of ``video_ids``), sorted by path."""
        with self.snapshot() as con:
            videos = con.execute("SELECT video_id, path, duration, probe, added, updated FROM videos").fetchall()
            stage_rows = con.execute("SELECT video_id, stage, status, artifact, error, caused_by, seconds, "
                                     "updated FROM stages ORDER BY updated").fetchall()
            file_rows = con.execute("SELECT path, video_id FROM files WHERE video_id IS NOT NULL ORDER BY path")
            file_rows = file_rows.fetchall()
            live = dict(con.execute("SELECT video_id, until FROM live").fetchall())
        wanted = set(video_ids) if video_ids is not None else None
        stages: dict[str, list[StageStatus]] = {}
        for vid, *rest in stage_rows:
            stages.setdefault(vid, []).append(StageStatus(*rest))
        paths: dict[str, list[str]] = {}
        for p, vid in file_rows:
            paths.setdefault(vid, []).append(p)
        out = []
        for vid, path, duration, probe, added, updated in videos:
            if wanted is not None and vid not in wanted:
                continue
            info = ProbeInfo.from_dict(json.loads(probe))
            out.append(VideoEntry(vid, str(folder / path), tuple(paths.get(vid, ())), duration, info,
                                  tuple(stages.get(vid, ())), added, updated, live.get(vid)))
        return sorted(out, key=lambda e: e.name)

    def problems(self) -> list[FileProblem]:
        rows = self.con.execute("SELECT path, error, video_id FROM files WHERE error IS NOT NULL ORDER BY path")
        return [FileProblem(*r) for r in rows.fetchall()]

    # -- runs -----------------------------------------------------------------------------------------------------
    def start_run(self, stages: list[str], jobs: int) -> int:
        with self.write() as con:
            cur = con.execute("INSERT INTO runs(pid, started, stages, jobs, status) VALUES (?,?,?,?,?)",
                              (os.getpid(), time.time(), ",".join(stages), jobs, "running"))
            return int(cur.lastrowid)

    def finish_run(self, run_id: int, status: str, videos: int, failed: int, seconds: float) -> None:
        with self.write() as con:
            con.execute("UPDATE runs SET finished=?, status=?, videos=?, failed=?, seconds=? WHERE id=?",
                        (time.time(), status, videos, failed, seconds, run_id))
