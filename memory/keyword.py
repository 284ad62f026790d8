"""The keyword half of the memory: BM25 over every doc with SQLite FTS5, for names, numbers and codes.

Embeddings blur exact strings ("XK-42", "4,729", "Dr. Okafor"); this index finds them. Documents are indexed
in a normalised form (lowercase, no diacritics, thousands separators dropped, and code-like tokens such as
"XK-42" also indexed joined as "xk42"), so the same normalisation on the query side makes "4729" find "4,729"
and "XK42" find "XK-42". A user's question becomes a safe FTS5 expression (every token quoted: quotes, colons,
hyphens or ``AND`` in the question are never FTS5 syntax): the content words OR-ed, a stem prefix for longer
words, and phrases for quoted parts and codes, which count twice so an exact phrase beats scattered words.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, StoreError
from .sqlite import chunks, connect
from .store import Doc, _flat_meta

SCHEMA_VERSION = 1
MAX_TERMS = 40
COMMON = 0.2
"""A word in more than this share of the documents adds next to nothing to BM25 (its IDF is about log 4) but costs
the most to match: in an index of ``COMMON_FROM`` docs or more it is left out of the query."""
COMMON_FROM = 5000
MATCHES = 4000
"""BM25 ranks every document a word matches (about 1-3 µs each): in a large index the commonest words are left out
while the words kept match more than this many documents in all, as long as one word is left."""

STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren as at be because been before being below
between both but by can could did didn do does doesn doing don down during each either else ever every few
for from further get gets got had has have having he her here hers herself him himself his i if in into is isn
it its itself just let me might more most much must my myself no nor not of off on once only or other our ours
ourselves out over own please same shall she should so some such than that the their theirs them themselves then
there these they this those through to too under until up upon us very was wasn we were weren will with
within without would you your yours yourself yourselves s t d ll m re ve
what when where which who whom whose why how whats whatever whenever wherever whoever
does say says said saying tell tells told show shows shown showing showed see seen seeing saw
video videos clip clips footage recording film movie scene scenes frame frames screen onscreen
appear appears appeared appearing happen happens happened happening mention mentions mentioned mentioning
written write writes displayed display displays visible moment time times point part
anyone someone something anything thing things one ones kind kinds
""".split())

_QUOTED = re.compile(r'"([^"]*)"|\u201c([^\u201d]*)\u201d|\u00ab([^\u00bb]*)\u00bb')
_THOUSANDS = re.compile(r"(?<=\d)[,\u00a0\u202f](?=\d{3}(?!\d))")
_CODE = re.compile(r"[^\W_]+(?:[-_./:#+'\u2010\u2011\u2013][^\W_]+)+")
_TOKEN = re.compile(r"[^\W_]+")
_SUFFIXES = ("ings", "ing", "ers", "er", "edly", "ed", "es", "s", "ly")


def fold(text: str) -> str:
    """Lowercase, strip diacritics, drop thousands separators between digits ("4,729" -> "4729")."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return _THOUSANDS.sub("", plain)


def tokens(text: str) -> list[str]:
    """Word tokens as FTS5's unicode61 tokenizer (remove_diacritics 2) sees them, after :func:`fold`."""
    return _TOKEN.findall(fold(text))


def _codes(text: str) -> list[list[str]]:
    """Code-like tokens: alphanumeric parts joined by punctuation, with a digit ("XK-42", "B-17", "3.5", "12:30")."""
    out = []
    for m in _CODE.finditer(fold(text)):
        parts = _TOKEN.findall(m.group())
        if any(c.isdigit() for c in m.group()):
            out.append(parts)
    return out


def _joinable(parts: Sequence[str]) -> bool:
    """Codes with letters and digits are also indexed joined ("xk42"); "3.5" is not (it would read as "35")."""
    joined = "".join(parts)
    return any(c.isdigit() for c in joined) and any(c.isalpha() for c in joined)


def index_text(text: str) -> str:
    """What FTS5 indexes for ``text``: the folded text plus each letter-digit code joined ("XK-42" also "xk42")."""
    joined = ["".join(parts) for parts in _codes(text) if _joinable(parts)]
    return " ".join([fold(text), *joined])


def _stem(word: str) -> str | None:
    """A crude stem for prefix matching ("cooking" -> "cook*", "bomber" -> "bomb*"); None for short words and
    numbers."""
    if not word.isalpha() or len(word) < 5:
        return None
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


@dataclass(frozen=True, slots=True)
class _Term:
    label: str                 # what is reported as matched
    parts: tuple[str, ...]     # one token, or a phrase
    prefix: bool = False
    weight: int = 1            # how many times it appears in the expression (bm25 sums per phrase)

    def fts(self) -> str:
        return f'"{" ".join(self.parts)}"' + ("*" if self.prefix else "")

    def matches(self, toks: list[str], tokset: set[str]) -> bool:
        if self.prefix:
            return any(t.startswith(self.parts[0]) for t in tokset)
        if len(self.parts) == 1:
            return self.parts[0] in tokset
        n = len(self.parts)
        return any(tuple(toks[i:i + n]) == self.parts for i in range(len(toks) - n + 1))


def parse_query(query: str) -> list[_Term]:
    """The terms of a user's question: content words (+ stem prefixes), quoted phrases and codes."""
    terms: dict[tuple[tuple[str, ...], bool], _Term] = {}

    def add(term: _Term) -> None:
        key = (term.parts, term.prefix)
        if term.parts and key not in terms and len(terms) < MAX_TERMS:
            terms[key] = term

    for m in _QUOTED.finditer(query):  # quoted parts keep their stopwords and count as phrases
        parts = tuple(tokens(next(g for g in m.groups() if g is not None)))
        if parts:
            add(_Term(" ".join(parts), parts, weight=2))
    for parts in _codes(query):
        label = " ".join(parts)
        add(_Term(label, tuple(parts), weight=2))
        if _joinable(parts):
            add(_Term(label, ("".join(parts),), weight=2))
    for word in tokens(query):  # quoted words count alone too, so a near miss still ranks
        if word in STOPWORDS or (len(word) == 1 and word.isalpha()):
            continue
        add(_Term(word, (word,)))
        stem = _stem(word)
        if stem:
            add(_Term(word, (stem,), prefix=True))
    return list(terms.values())


def _plain(term: _Term) -> bool:
    """A word of the question (or its stem prefix), not a phrase, a code or a quoted part."""
    return len(term.parts) == 1 and term.weight == 1


def fts_expression(terms: Sequence[_Term]) -> str:
    """``"a" OR "b"* OR "x 42" OR "x 42"``: every token quoted, so user text never becomes FTS5 syntax."""
    return " OR ".join(t.fts() for t in terms for _ in range(t.weight))


@dataclass(frozen=True, slots=True)
class KeywordHit:
    collection: str
    id: str
    text: str
    meta: dict[str, Any]
    score: float               # -bm25: higher is better
    terms: tuple[str, ...]     # query terms (words or phrases) found in the doc


_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs(
    rowid INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    video_id TEXT NOT NULL,
    t0 REAL,
    t1 REAL,
    text TEXT NOT NULL,
    body TEXT NOT NULL,
    meta TEXT NOT NULL,
    UNIQUE(collection, id)
);
CREATE INDEX IF NOT EXISTS docs_video ON docs(video_id);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    body, content='docs', content_rowid='rowid', tokenize='unicode61 remove_diacritics 2');
CREATE TRIGGER IF NOT EXISTS docs_ai AFTER INSERT ON docs BEGIN
    INSERT INTO fts(rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER IF NOT EXISTS docs_ad AFTER DELETE ON docs BEGIN
    INSERT INTO fts(fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
"""


class KeywordIndex:
    """BM25 keyword search over docs, in its own SQLite file (WAL); updates touch one video at a time."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._df: dict[str, int] = {}
        self._df_at = (0.0, 0)
        """When the document frequencies were last reset, and the number of documents then."""
        try:
            self._db, self.read_only = connect(self.path, 30, isolation_level=None, check_same_thread=False)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise StoreError(f"keyword index {self.path} has schema version {version}, not {SCHEMA_VERSION}",
                                 "delete the file and index again")
            if not self.read_only:
                self._db.executescript(_SCHEMA)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as e:
            raise StoreError(f"keyword index {self.path} is unusable: {e}",
                             "delete the file and index again" if "not a database" in str(e)
                             else "check the folder is writable and not locked by another program") from e

    def close(self) -> None:
        with self._lock:
            self._db.close()
            for db in self._readers:
                db.close()
            self._readers.clear()

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only connection: searches run in parallel (WAL) instead of queueing on the lock
        that writes hold (a server searches from many threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            flags = "mode=ro&immutable=1" if self.read_only else "mode=ro"  # as ``sqlite.connect`` reads
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?{flags}", uri=True, timeout=30,
                                 isolation_level=None, check_same_thread=False)
            self._local.db = db
            with self._lock:
                self._readers.append(db)
        return db

    def __enter__(self) -> KeywordIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def replace_video(self, video_id: str, docs: dict[str, list[Doc]]) -> None:
        """Make ``docs`` the only rows of ``video_id``, in one transaction."""
        rows = []
        for collection, items in docs.items():
            for d in items:
                meta = _flat_meta(d, video_id)
                t0, t1 = meta.get("start"), meta.get("end")
                rows.append((collection, d.id, video_id, t0, t1, d.text, index_text(d.text), json.dumps(meta)))
        with self._write(f"replace video {video_id}"):
            self._db.execute("DELETE FROM docs WHERE video_id = ?", (video_id,))
            try:
                self._db.executemany("INSERT INTO docs(collection, id, video_id, t0, t1, text, body, meta) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            except sqlite3.IntegrityError:
                raise self._duplicate(rows, video_id) from None

    def delete_video(self, video_id: str) -> None:
        with self._write(f"delete video {video_id}"):
            self._db.execute("DELETE FROM docs WHERE video_id = ?", (video_id,))

    def search(self, query: str, k: int = 20, videos: Sequence[str] | None = None,
               span: tuple[float, float] | None = None,
               collections: Sequence[str] | None = None) -> list[KeywordHit]:
        """The ``k`` best BM25 matches of ``query``; filters keep listed videos/collections and docs overlapping
        ``span``."""
        terms = parse_query(query)
        if not terms or k <= 0:
            return []
        terms = self._without_common(terms)
        if not terms:  # only words that match too much of a large index to tell anything apart
            return []
        where: list[str] = []
        args: list[Any] = [fts_expression(terms)]
        for column, values in (("d.video_id", videos), ("d.collection", collections)):
            if values is not None:
                values = list(values)
                if not values:
                    return []
                where.append(f"AND {column} IN ({', '.join('?' * len(values))})")
                args += values
        if span is not None:
            where.append("AND d.t0 <= ? AND d.t1 >= ?")
            args += [float(span[1]), float(span[0])]
        args.append(int(k))
        # ranked on the row ids first, the docs read for the k kept only: half the time of an unfiltered search,
        # which read the text of every match before sorting
        join = "JOIN docs d ON d.rowid = fts.rowid " if where else ""
        sql = (f"SELECT d.collection, d.id, d.text, d.meta, d.body, f.r FROM (SELECT fts.rowid AS id, bm25(fts) AS r "
               f"FROM fts {join}WHERE fts MATCH ? {' '.join(where)} ORDER BY r LIMIT ?) f "
               "JOIN docs d ON d.rowid = f.id ORDER BY f.r")
        try:
            rows = self._reader().execute(sql, args).fetchall()
        except sqlite3.Error as e:
            raise StoreError(f"keyword index {self.path}: search failed: {e}",
                             "delete the file and index again if it is damaged") from e
        hits = []
        for collection, id_, text, meta, body, rank in rows:
            toks = _TOKEN.findall(body)
            tokset = set(toks)
            matched = dict.fromkeys(t.label for t in terms if t.matches(toks, tokset))
            hits.append(KeywordHit(collection, id_, text, json.loads(meta), -float(rank), tuple(matched)))
        return hits

    def docs(self, collection: str, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and meta of the docs ``ids`` of ``collection`` (those it holds): the vector store keeps the same
        docs, and reading them here costs a fraction of reading them there."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        ids = list(dict.fromkeys(ids))
        try:
            for part in chunks(ids, 500):
                rows = self._reader().execute(f"SELECT id, text, meta FROM docs WHERE collection = ? AND id IN "
                                              f"({', '.join('?' * len(part))})", [collection, *part]).fetchall()
                out.update((id_, (text, json.loads(meta))) for id_, text, meta in rows)
        except sqlite3.Error as e:
            raise StoreError(f"keyword index {self.path}: reading docs failed: {e}",
                             "delete the file and index again if it is damaged") from e
        return out

    def _without_common(self, terms: list[_Term]) -> list[_Term]:
        """``terms`` less the words that match too much of a large index to rank cheaply or well: words found
        in more than ``COMMON`` of the documents, then the commonest while the rest match more than ``MATCHES``
        documents (one word always stays). Phrases and codes always stay. Counts are cached for a minute."""
        words = {t.label for t in terms if _plain(t)}
        if not words:
            return terms
        import time

        db = self._reader()
        with self._lock:
            at, total = self._df_at
            if time.monotonic() - at > 60:
                now = int(db.execute("SELECT count(*) FROM docs").fetchone()[0])
                if now != total:  # the index changed: count again (the counts only choose words to leave out)
                    self._df = {}
                total, self._df_at = now, (time.monotonic(), now)
        if total < COMMON_FROM:
            return terms
        for word in words - self._df.keys():
            expr = fts_expression([t for t in terms if t.label == word and _plain(t)])
            self._df[word] = int(db.execute("SELECT count(*) FROM fts WHERE fts MATCH ?", (expr,)).fetchone()[0])
        kept = sorted(words, key=lambda w: self._df[w])
        while kept and self._df[kept[-1]] > COMMON * total:
            kept.pop()
        while len(kept) > 1 and sum(self._df[w] for w in kept) > MATCHES:
            kept.pop()
        return [t for t in terms if not _plain(t) or t.label in kept]

    def count(self, collection: str | None = None, video_id: str | None = None) -> int:
        sql, args = "SELECT count(*) FROM docs WHERE 1", []
        if collection is not None:
            sql, args = sql + " AND collection = ?", [*args, collection]
        if video_id is not None:
            sql, args = sql + " AND video_id = ?", [*args, video_id]
        with self._lock:
            return int(self._db.execute(sql, args).fetchone()[0])

    def video_ids(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT DISTINCT video_id FROM docs")}

    # -- helpers ----------------------------------------------------------------------------------------------
    def _write(self, action: str) -> _Transaction:
        return _Transaction(self, action)

    def _duplicate(self, rows: list[tuple[Any, ...]], video_id: str) -> ConfigError:
        seen: set[tuple[str, str]] = set()
        for collection, id_, *_ in rows:
            if (collection, id_) in seen:
                return ConfigError(f"doc id {id_!r} appears twice in collection {collection}", "doc ids must be unique")
            seen.add((collection, id_))
        for collection, id_, *_ in rows:
            other = self._db.execute("SELECT video_id FROM docs WHERE collection = ? AND id = ? AND video_id != ?",
                                     (collection, id_, video_id)).fetchone()
            if other:
                return ConfigError(f"doc id {id_!r} in collection {collection} already belongs to video {other[0]!r}",
                                   f"prefix doc ids with the video id, e.g. '{video_id}:0'")
        return ConfigError(f"duplicate doc ids for video {video_id}", "doc ids must be unique within a collection")


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the index's lock; rolls back on any error."""

    def __init__(self, index: KeywordIndex, action: str) -> None:
        self.index, self.action = index, action

    def __enter__(self) -> None:
        self.index._lock.acquire()
        try:
            self.index._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            self.index._lock.release()
            raise StoreError(f"keyword index {self.index.path}: cannot {self.action}: {e}",
                             "another process may hold the index; try again") from e

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        db = self.index._db
        try:
            if exc_type is None:
                db.execute("COMMIT")
            else:
                db.execute("ROLLBACK")
        except sqlite3.Error as e:
            if exc_type is None:
                raise StoreError(f"keyword index {self.index.path}: cannot {self.action}: {e}",
                                 "check the disk is not full") from e
        finally:
            self.index._lock.release()
        if isinstance(exc, sqlite3.Error):
            raise StoreError(f"keyword index {self.index.path}: cannot {self.action}: {exc}",
                             "delete the file and index again if it is damaged") from exc


__all__ = ["KeywordHit", "KeywordIndex", "STOPWORDS", "fold", "fts_expression", "index_text", "parse_query", "tokens"]
