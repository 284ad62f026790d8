"""The vector half of the memory: Chroma collections of ``Doc``s embedded with vidgraph's own embedder.

One Chroma collection per kind of document (``vidgraph_events``, ``vidgraph_speech``, ``vidgraph_text``,
``vidgraph_entities``), cosine space, every row tagged with its ``video_id`` so one video can be replaced or
deleted alone. Embedded Chroma (``PersistentClient``) in the index folder by default, or a Chroma server
(``HttpClient``) given by URL. Chroma's default embedding function downloads its model and so is never used: the
collections carry vidgraph's own embedding function (name ``"vidgraph"``, config ``{"spec", "dim"}``), which
Chroma persists and rebuilds from the installed embedder on reopen; a store opened with another embedder than
the one it was built with is refused.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import ConfigError, StoreError, VidgraphError

if TYPE_CHECKING:
    from ..models.embed import Embedder

Meta = dict[str, str | int | float | bool]
PREFIX = "vidgraph_"
EF_NAME = "vidgraph"
BATCH = 1000


@dataclass(frozen=True, slots=True)
class Doc:
    """One searchable text: ``id`` is unique within its collection; ``meta`` is flat (video_id, start, end, ...)."""

    id: str
    text: str
    meta: Meta = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VectorHit:
    collection: str
    id: str
    text: str
    meta: dict[str, Any]
    similarity: float  # cosine similarity, 1 - cosine distance


QUERY_CACHE = 512
"""Query embeddings kept per embedding function (a search embeds its query once for its four collections)."""


@functools.cache
def _ef_class() -> type:
    """vidgraph's Chroma EmbeddingFunction (built on first use so ``import vidgraph`` never imports chromadb)."""
    from chromadb import EmbeddingFunction
    from chromadb.utils.embedding_functions import register_embedding_function

    class VidgraphEmbeddingFunction(EmbeddingFunction):  # type: ignore[type-arg]
        """Wraps a vidgraph Embedder; persisted as ``{"spec": ..., "dim": ...}`` and rebuilt lazily from it."""

        def __init__(self, embedder: Embedder | None = None, spec: str = "", dim: int = 0) -> None:
            self._queries: OrderedDict[str, Any] = OrderedDict()
            self._lock = threading.Lock()
            self._embedder = embedder
            self.spec = embedder.spec if embedder is not None else spec
            self.dim = embedder.dim if embedder is not None else dim

        @property
        def embedder(self) -> Embedder:
            if self._embedder is None:  # rebuilt from a persisted config: load on first use only
                from ..models.embed import embedder_for

                self._embedder = embedder_for(self.spec)
            return self._embedder

        def __call__(self, input: Sequence[str]) -> list[Any]:  # noqa: A002 (Chroma's argument name)
            if len(input) != 1:
                return list(self.embedder.embed(list(input)))
            text = input[0]  # a query: one search asks every collection with it, and people ask again
            with self._lock:
                if text in self._queries:
                    self._queries.move_to_end(text)
                    return [self._queries[text]]
            vector = self.embedder.embed([text])[0]
            with self._lock:
                self._queries[text] = vector
                while len(self._queries) > QUERY_CACHE:
                    self._queries.popitem(last=False)
            return [vector]

        @staticmethod
        def name() -> str:
            return EF_NAME

        def default_space(self) -> str:
            return "cosine"

        def supported_spaces(self) -> list[str]:
            return ["cosine"]

        def get_config(self) -> dict[str, Any]:
            return {"spec": self.spec, "dim": self.dim}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> VidgraphEmbeddingFunction:
            return VidgraphEmbeddingFunction(spec=str(config["spec"]), dim=int(config.get("dim", 0)))

    register_embedding_function(VidgraphEmbeddingFunction)
    return VidgraphEmbeddingFunction


def embedding_function(embedder: Embedder) -> Any:
    """A Chroma ``EmbeddingFunction`` that embeds with ``embedder``."""
    return _ef_class()(embedder)


def _flat_meta(doc: Doc, video_id: str) -> Meta:
    """Chroma-ready metadata: no None values, times as floats (filters compare floats), the video id set."""
    meta: Meta = {}
    for key, value in doc.meta.items():
        if value is None:
            continue
        if not isinstance(value, (str, int, float, bool)):
            raise ConfigError(f"doc {doc.id!r}: metadata {key!r} is a {type(value).__name__}",
                              "metadata values must be str, int, float or bool")
        meta[key] = float(value) if key in ("start", "end") and not isinstance(value, bool) else value
    if meta.setdefault("video_id", video_id) != video_id:
        raise ConfigError(f"doc {doc.id!r} belongs to video {meta['video_id']!r}, not {video_id!r}",
                          "pass each video's docs under its own video_id")
    return meta


def _where(videos: Sequence[str] | None, span: tuple[float, float] | None) -> dict[str, Any] | None:
    clauses: list[dict[str, Any]] = []
    if videos is not None:
        clauses.append({"video_id": {"$in": list(videos)}})
    if span is not None:
        clauses += [{"start": {"$lte": float(span[1])}}, {"end": {"$gte": float(span[0])}}]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _readable_copy(path: Path) -> Path:
    """A temporary copy of a store this process may not write (a read-only index), deleted at exit."""
    import atexit
    import shutil
    import tempfile

    if not path.is_dir():
        raise StoreError(f"vector store {path} is missing and cannot be made (read-only)",
                         "index the folder where it may be written, or keep the index elsewhere with --index-dir DIR")
    copy = Path(tempfile.mkdtemp(prefix="vidgraph-chroma-")) / "chroma"
    shutil.copytree(path, copy)
    atexit.register(shutil.rmtree, copy.parent, True)
    return copy


class VectorStore:
    """Chroma collections of embedded docs: embedded at ``path``, or the server at ``url``."""

    COLLECTIONS = ("events", "speech", "text", "entities")

    def __init__(self, path: Path | None, embedder: Embedder, url: str | None = None) -> None:
        if (path is None) == (url is None):
            raise ConfigError("VectorStore needs exactly one of path and url", "pass the index folder or chroma_url")
        self.embedder = embedder
        self.location = url or str(path)
        self.url = url
        self._ef = embedding_function(embedder)
        self._collections: dict[str, Any] = {}
        with self._errors("open"):
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            settings = ChromaSettings(anonymized_telemetry=False)
            if url is not None:
                host, port, ssl = _parse_url(url)
                self.client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
                self.client.heartbeat()
            elif path is not None:
                from .sqlite import can_write

                if can_write(Path(path) / "chroma.sqlite3"):
                    Path(path).mkdir(parents=True, exist_ok=True)
                else:  # Chroma cannot open a store it may not write: read a private copy of it
                    path = _readable_copy(Path(path))
                self.client = chromadb.PersistentClient(path=str(path), settings=settings)

    # -- errors -----------------------------------------------------------------------------------------------
    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn Chroma/network failures into one-line StoreErrors that say what to do."""
        try:
            yield
        except VidgraphError:
            raise
        except Exception as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
            if self.url is not None and _is_connection_error(e):
                raise StoreError(f"cannot reach the Chroma server at {self.url} ({action}): {first}",
                                 "start it with `chroma run --path DIR --port PORT`, or fix/unset chroma_url") from e
            raise StoreError(f"vector store {self.location}: {action} failed: {type(e).__name__}: {first}",
                             "if the index is damaged, delete the folder and index again") from e

    # -- collections ------------------------------------------------------------------------------------------
    def _collection(self, name: str) -> Any:
        if name not in self.COLLECTIONS:
            raise ConfigError(f"unknown collection {name!r}", f"collections: {', '.join(self.COLLECTIONS)}")
        if name not in self._collections:
            with self._errors(f"open collection {name}"):
                col = self.client.get_or_create_collection(
                    PREFIX + name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=self._ef)
            stored = (col.configuration_json or {}).get("embedding_function") or {}
            spec = (stored.get("config") or {}).get("spec")
            if stored.get("name") != EF_NAME or spec != self.embedder.spec:
                built_with = spec or stored.get("name") or "an unknown embedder"
                raise StoreError(f"vector store {self.location}: collection {name} was built with embedder "
                                 f"{built_with!r}, not {self.embedder.spec!r}",
                                 f"set embedder = {built_with!r}, or index into a new folder")
            self._collections[name] = col
        return self._collections[name]

    def replace_video(self, video_id: str, docs: dict[str, list[Doc]]) -> None:
        """Make ``docs`` the only rows of ``video_id`` (collections missing from ``docs`` are cleared for it)."""
        unknown = set(docs) - set(self.COLLECTIONS)
        if unknown:
            raise ConfigError(f"unknown collection(s) {sorted(unknown)}", f"collections: {', '.join(self.COLLECTIONS)}")
        rows = {name: [(d.id, d.text, _flat_meta(d, video_id)) for d in docs.get(name, [])]
                for name in self.COLLECTIONS}
        for name, items in rows.items():
            ids = [i for i, _, _ in items]
            if len(set(ids)) != len(ids):
                dup = next(i for i in ids if ids.count(i) > 1)
                raise ConfigError(f"doc id {dup!r} appears twice in collection {name}", "doc ids must be unique")
        for name, items in rows.items():  # Chroma's add() silently skips ids it already holds
            if items:
                self._check_ids_free(name, [i for i, _, _ in items], video_id)
        self.delete_video(video_id)
        for name, items in rows.items():
            if not items:
                continue
            col = self._collection(name)
            with self._errors(f"add {len(items)} docs of video {video_id} to {name}"):
                size = min(BATCH, self.client.get_max_batch_size())
                for lo in range(0, len(items), size):
                    chunk = items[lo:lo + size]
                    col.add(ids=[i for i, _, _ in chunk], documents=[t for _, t, _ in chunk],
                            metadatas=[m for _, _, m in chunk])

    def _check_ids_free(self, name: str, ids: list[str], video_id: str) -> None:
        col = self._collection(name)
        for lo in range(0, len(ids), BATCH):
            with self._errors(f"check doc ids in {name}"):
                got = col.get(ids=ids[lo:lo + BATCH], where={"video_id": {"$ne": video_id}}, include=["metadatas"])
            if got["ids"]:
                owner = (got["metadatas"] or [{}])[0] or {}
                raise ConfigError(f"doc id {got['ids'][0]!r} in collection {name} already belongs to video "
                                  f"{owner.get('video_id')!r}",
                                  f"prefix doc ids with the video id, e.g. '{video_id}:0'")

    def delete_video(self, video_id: str) -> None:
        for name in self.COLLECTIONS:
            col = self._collection(name)
            with self._errors(f"delete video {video_id} from {name}"):
                col.delete(where={"video_id": video_id})

    def query(self, collection: str, text: str, k: int = 10, videos: Sequence[str] | None = None,
              span: tuple[float, float] | None = None, fields: bool = True) -> list[VectorHit]:
        """The ``k`` docs nearest to ``text``; ``videos`` limits the videos, ``span`` keeps docs overlapping it.
        Without ``fields`` only ids and similarities are read (text and meta empty: a third of the cost; the
        caller looks up the docs it keeps, e.g. in the keyword index that holds the same ones)."""
        col = self._collection(collection)
        if k <= 0 or (videos is not None and not list(videos)):
            return []
        include = ["documents", "metadatas", "distances"] if fields else ["distances"]
        with self._errors(f"query {collection}"):
            res = col.query(query_texts=[text], n_results=k, where=_where(videos, span), include=include)
        ids = res["ids"][0] if res["ids"] else []
        dists = (res.get("distances") or [[]])[0]
        docs = (res.get("documents") or [[]])[0] if fields else [""] * len(ids)
        metas = (res.get("metadatas") or [[]])[0] if fields else [{}] * len(ids)
        return [VectorHit(collection, i, d or "", dict(m or {}), 1.0 - float(dist))
                for i, d, m, dist in zip(ids, docs, metas, dists)]

    def docs(self, collection: str, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and meta of the docs ``ids`` of ``collection`` (those it holds)."""
        if not ids:
            return {}
        with self._errors(f"read docs of {collection}"):
            got = self._collection(collection).get(ids=list(ids), include=["documents", "metadatas"])
        return {i: (d or "", dict(m or {})) for i, d, m in zip(got["ids"], got["documents"] or [],
                                                              got["metadatas"] or [])}

    def count(self, collection: str, video_id: str | None = None) -> int:
        col = self._collection(collection)
        with self._errors(f"count {collection}"):
            if video_id is None:
                return int(col.count())
            return len(col.get(where={"video_id": video_id}, include=[])["ids"])

    def video_ids(self) -> set[str]:
        """Every video with at least one row in any collection."""
        out: set[str] = set()
        for name in self.COLLECTIONS:
            col = self._collection(name)
            with self._errors(f"list videos in {name}"):
                total, offset = col.count(), 0
                while offset < total:
                    got = col.get(include=["metadatas"], limit=BATCH, offset=offset)
                    out.update(str(m["video_id"]) for m in got["metadatas"] or [] if m and "video_id" in m)
                    if not got["ids"]:
                        break
                    offset += len(got["ids"])
        return out


def _parse_url(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"chroma_url {url!r} is not http(s)://host[:port]", "e.g. http://localhost:8000")
    if parts.path not in ("", "/"):
        raise ConfigError(f"chroma_url {url!r} has a path", "give only http(s)://host:port")
    ssl = parts.scheme == "https"
    try:
        port = parts.port or (443 if ssl else 8000)
    except ValueError as e:
        raise ConfigError(f"chroma_url {url!r} has a bad port", "e.g. http://localhost:8000") from e
    return parts.hostname, port, ssl


def _is_connection_error(e: BaseException) -> bool:
    seen: BaseException | None = e
    while seen is not None:
        name = type(seen).__name__
        if isinstance(seen, (ConnectionError, TimeoutError)) or name in (
                "ConnectError", "ConnectTimeout", "ReadTimeout", "RemoteProtocolError", "ReadError"):
            return True
        if "Could not connect to a Chroma server" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


__all__ = ["Doc", "VectorHit", "VectorStore", "embedding_function"]
