"""The event graph on disk (SQLite beside Chroma): events, entities, mentions, edges, captions.

Edges: ``next`` (time order within a video; ``previous`` is its reverse), ``overlaps`` (two events share a
sentence or a line of text), ``mentions`` (event -> entity, the ``mentions`` table), ``same entity`` (events
that mention one entity key, in this video or another: a join, not stored twice). Every write of one video is one
transaction, so a crash leaves the previous version of that video intact.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import os_failure, sqlite_failure
from ..records import Caption, Entity, Event, Record, record_from_dict
from .sqlite import chunks, connect

_SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (video_id TEXT PRIMARY KEY, fingerprint TEXT, built REAL, events INTEGER,
    entities INTEGER, captions INTEGER, seconds REAL);
CREATE TABLE IF NOT EXISTS events (video_id TEXT, idx INTEGER, start REAL, end REAL, data TEXT,
    PRIMARY KEY (video_id, idx));
CREATE TABLE IF NOT EXISTS entities (video_id TEXT, key TEXT, name TEXT, kind TEXT, data TEXT,
    PRIMARY KEY (video_id, key));
CREATE INDEX IF NOT EXISTS entities_key ON entities (key);
CREATE TABLE IF NOT EXISTS mentions (video_id TEXT, idx INTEGER, key TEXT, modality TEXT);
CREATE INDEX IF NOT EXISTS mentions_event ON mentions (video_id, idx);
CREATE INDEX IF NOT EXISTS mentions_key ON mentions (key);
CREATE INDEX IF NOT EXISTS mentions_key_video ON mentions (key, video_id, idx);
CREATE TABLE IF NOT EXISTS edges (video_id TEXT, src INTEGER, dst INTEGER, kind TEXT);
CREATE INDEX IF NOT EXISTS edges_src ON edges (video_id, src);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS captions (video_id TEXT, start REAL, end REAL, model TEXT, prompt TEXT, data TEXT,
    PRIMARY KEY (video_id, start, end, model, prompt));
"""


class Graph:
    """Events and entities of every video in one SQLite file (WAL: readers never block the writer)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self.read_only = False
        try:
            db = self._db()
            if not self.read_only:
                with db:
                    db.executescript(_SCHEMA)
        except sqlite3.Error as e:
            raise sqlite_failure(e, self.path) from e
        except OSError as e:
            raise os_failure(e, self.path) from e

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db, self.read_only = connect(self.path)
            self._local.db = db
        return db

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- writes (one transaction per video) -------------------------------------------------------------------
    def replace_video(self, video_id: str, events: Sequence[Event], entities: Sequence[Entity],
                      overlaps: Iterable[tuple[int, int]], fingerprint: str, seconds: float, built: float) -> None:
        db = self._db()
        with db:
            self._delete(db, video_id, keep_captions=True)
            db.executemany("INSERT INTO events VALUES (?,?,?,?,?)",
                           [(video_id, e.index, e.span.start, e.span.end, json.dumps(e.to_dict())) for e in events])
            db.executemany("INSERT INTO entities VALUES (?,?,?,?,?)",
                           [(video_id, x.key, x.name, x.kind, json.dumps(x.to_dict())) for x in entities])
            db.executemany("INSERT INTO mentions VALUES (?,?,?,?)",
                           sorted({(video_id, m.event_index, x.key, m.modality) for x in entities for m in x.mentions}))
            edges = [(video_id, a.index, b.index, "next") for a, b in zip(events, events[1:])]
            edges += [(video_id, a, b, "overlaps") for a, b in overlaps]
            db.executemany("INSERT INTO edges VALUES (?,?,?,?)", edges)
            captions = sum(e.caption is not None for e in events)
            db.execute("INSERT INTO videos VALUES (?,?,?,?,?,?,?)",
                       (video_id, fingerprint, built, len(events), len(entities), captions, seconds))
            self._bump(db)

    def delete_video(self, video_id: str) -> None:
        db = self._db()
        with db:
            self._delete(db, video_id, keep_captions=False)
            self._bump(db)

    @staticmethod
    def _delete(db: sqlite3.Connection, video_id: str, keep_captions: bool) -> None:
        tables = ["videos", "events", "entities", "mentions", "edges"] + ([] if keep_captions else ["captions"])
        for table in tables:
            db.execute(f"DELETE FROM {table} WHERE video_id = ?", (video_id,))

    def put_caption(self, caption: Caption, model: str, prompt: str) -> None:
        db = self._db()
        with db:
            db.execute("INSERT OR REPLACE INTO captions VALUES (?,?,?,?,?,?)",
                       (caption.video_id, caption.span.start, caption.span.end, model, prompt,
                        json.dumps(caption.to_dict())))

    # -- reads --------------------------------------------------------------------------------------------------
    def fingerprint(self, video_id: str) -> str | None:
        row = self._db().execute("SELECT fingerprint FROM videos WHERE video_id = ?", (video_id,)).fetchone()
        return row[0] if row else None

    def stats(self, video_id: str) -> dict | None:
        row = self._db().execute("SELECT events, entities, captions, seconds, built FROM videos WHERE video_id = ?",
                                 (video_id,)).fetchone()
        return dict(zip(("events", "entities", "captions", "seconds", "built"), row)) if row else None

    def meta(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        db = self._db()
        with db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def forget_fingerprints(self) -> None:
        """Mark every video's memory as not built (it is rebuilt from the artifacts at the next index)."""
        db = self._db()
        with db:
            db.execute("UPDATE videos SET fingerprint = NULL")
            self._bump(db)

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        """One more change of the memory (in the writing transaction; see ``generation``)."""
        db.execute("INSERT INTO meta VALUES ('generation', '1') "
                   "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")

    def generation(self) -> int:
        """A number that changes whenever a video's memory is written or dropped, by any process: the last
        store a build writes is the graph, so what was read before it changed is no longer current."""
        return int(self.meta("generation") or 0)

    def video_ids(self) -> list[str]:
        return [r[0] for r in self._db().execute("SELECT video_id FROM videos ORDER BY video_id")]

    def events(self, video_id: str, start: float | None = None, end: float | None = None) -> list[Event]:
        sql, args = "SELECT data FROM events WHERE video_id = ?", [video_id]
        if start is not None:
            sql, args = sql + " AND end >= ?", args + [start]
        if end is not None:
            sql, args = sql + " AND start <= ?", args + [end]
        return [_event(r[0]) for r in self._db().execute(sql + " ORDER BY idx", args)]

    def event(self, video_id: str, index: int) -> Event | None:
        row = self._db().execute("SELECT data FROM events WHERE video_id = ? AND idx = ?",
                                 (video_id, index)).fetchone()
        return _event(row[0]) if row else None

    def entities(self, video_id: str | None = None) -> list[Entity]:
        sql, args = "SELECT data FROM entities", []
        if video_id is not None:
            sql, args = sql + " WHERE video_id = ?", [video_id]
        return [record_from_dict(json.loads(r[0])) for r in self._db().execute(sql, args)]  # type: ignore[misc]

    def entity(self, video_id: str, key: str) -> Entity | None:
        row = self._db().execute("SELECT data FROM entities WHERE video_id = ? AND key = ?",
                                 (video_id, key)).fetchone()
        return _record(row[0]) if row else None

    def neighbours(self, video_id: str, index: int) -> list[tuple[int, str]]:
        """Events linked to one event: ``(index, kind)`` with kind next / previous / overlaps."""
        db = self._db()
        out = [(r[0], "next" if r[1] == "next" else r[1]) for r in
               db.execute("SELECT dst, kind FROM edges WHERE video_id = ? AND src = ?", (video_id, index))]
        out += [(r[0], "previous" if r[1] == "next" else r[1]) for r in
                db.execute("SELECT src, kind FROM edges WHERE video_id = ? AND dst = ?", (video_id, index))]
        return out

    def mentioned(self, video_id: str, index: int) -> list[str]:
        """Entity keys an event mentions."""
        return [r[0] for r in self._db().execute(
            "SELECT DISTINCT key FROM mentions WHERE video_id = ? AND idx = ?", (video_id, index))]

    def same_entity(self, key: str, videos: Sequence[str] | None = None,
                    limit: int | None = None) -> list[tuple[str, int]]:
        """``(video_id, event index)`` of every event mentioning entity ``key`` (across ``videos``; the first
        ``limit`` of them)."""
        sql, args = "SELECT DISTINCT video_id, idx FROM mentions WHERE key = ?", [key]
        wanted = None if videos is None else list(dict.fromkeys(videos))
        if wanted is not None and len(wanted) <= 500:  # in SQL (an index on key, video_id); past 500, filtered here
            if not wanted:
                return []
            sql += f" AND video_id IN ({', '.join('?' * len(wanted))})"
            args += wanted
        sql += " ORDER BY video_id, idx"
        if limit is not None and (wanted is None or len(wanted) <= 500):
            sql += f" LIMIT {int(limit)}"
        rows = self._db().execute(sql, args).fetchall()
        if wanted is not None and len(wanted) > 500:
            keep = set(wanted)
            rows = [r for r in rows if r[0] in keep][:limit]
        return [(v, i) for v, i in rows]

    # -- reads of many at once (one query instead of one per event: a search reads dozens) -------------------------
    def events_at(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Event]:
        """The events ``(video_id, index)`` that exist, by key."""
        by: dict[str, list[int]] = defaultdict(list)
        for vid, idx in dict.fromkeys(keys):
            by[vid].append(int(idx))
        out: dict[tuple[str, int], Event] = {}
        for part in chunks(list(by.items()), 50):  # (video_id = ? AND idx IN (...)) OR ...: the primary key
            sql = " OR ".join(f"(video_id = ? AND idx IN ({', '.join('?' * len(idxs))}))" for _, idxs in part)
            rows = self._db().execute(f"SELECT video_id, idx, data FROM events WHERE {sql}",
                                      [x for vid, idxs in part for x in (vid, *idxs)])
            out.update(((v, i), _event(d)) for v, i, d in rows)
        return out

    def entity_events(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[tuple[str, int]]]:
        """For each ``(key, video_id)``: the events of that video mentioning the entity (as ``same_entity``)."""
        out: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for part in chunks(list(dict.fromkeys(pairs)), 200):  # an index on (key, video_id, idx)
            sql = " OR ".join(["(key = ? AND video_id = ?)"] * len(part))
            rows = self._db().execute(f"SELECT DISTINCT key, video_id, idx FROM mentions WHERE {sql} "
                                      f"ORDER BY video_id, idx", [x for p in part for x in p])
            for key, vid, idx in rows:
                out.setdefault((key, vid), []).append((vid, idx))
        return out

    def caption(self, video_id: str, start: float, end: float, model: str, prompt: str) -> Caption | None:
        row = self._db().execute(
            "SELECT data FROM captions WHERE video_id = ? AND start = ? AND end = ? AND model = ? AND prompt = ?",
            (video_id, start, end, model, prompt)).fetchone()
        return _record(row[0]) if row else None


@functools.lru_cache(maxsize=4096)
def _record(data: str) -> Record:
    return record_from_dict(json.loads(data))  # type: ignore[return-value]


@functools.lru_cache(maxsize=2048)
def _event(data: str) -> Event:
    """An event from its stored JSON; the same JSON is parsed once (events are frozen: sharing them is safe), which
    spares a search most of its decoding (every hit is an event with its words)."""
    return record_from_dict(json.loads(data))  # type: ignore[return-value]
