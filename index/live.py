"""Files indexed while they grow: a recording that ffmpeg or OBS is still writing (fragmented MP4, MKV, MPEG-TS).

A growing file has no content hash yet (it changes with every byte), so what is indexed of it lives under a
*provisional* id, and the catalog's ``live`` table keeps, per path, how far it is indexed (``until``, seconds) and
the size and two fingerprints of the bytes that were read:

- ``head``: the BLAKE2b of 64 KiB from offset 4 KiB — the start of the recording; the first 4 KiB are left out
  because muxers rewrite their header when they close (MKV writes its duration and seek head there);
- ``tail``: the BLAKE2b of the 64 KiB that ended the bytes read.

The file is a *growth* of what was indexed when it is at least as long, its head is the same and the bytes that
ended the part read are still there (``grown``): then a step indexes the new part only (``tools.onepass`` goes on
from its checkpoint) and the memory gains its events. Anything else — a shorter file, another head, rewritten
bytes — is another file: what was indexed of the old one is dropped, never mixed in. When the file stops changing
(``settle`` seconds without a write), the last step reads it to its end, the content hash is taken and the index
is moved from the provisional id to the hash (``adopt``): the same index as for the finished file read at once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from ..records import Frame
from ..tools.store import SCHEMA_VERSION, atomic_write_text, read_artifact
from .catalog import LiveRow

HEAD_SKIP = 4096
PROBE = 64 * 1024
MIN_SIZE = HEAD_SKIP + PROBE
"""Smaller files are not indexed while they grow (there is nothing to read yet)."""


@dataclass(frozen=True)
class LiveSpec:
    """A worker's orders for a growing file: read what can be read of it, or (``final``) read it to its end and
    take its content hash."""

    path: str
    """Relative to the library folder (the catalog's key)."""
    final: bool
    head: str
    size: int
    """Bytes there when the step was planned: the file may only grow from this."""


@dataclass(frozen=True)
class LiveOutcome:
    """What a step read: how far (s), the bytes and the fingerprint of their end, and for the last step the
    content hash of the finished file."""

    until: float
    size: int
    mtime_ns: int
    tail: str
    final_id: str | None = None


def _hash(path: str | Path, offset: int, length: int) -> str:
    with open(path, "rb") as f:
        f.seek(offset)
        return hashlib.blake2b(f.read(length), digest_size=16).hexdigest()


def head_of(path: str | Path) -> str:
    return _hash(path, HEAD_SKIP, PROBE)


def tail_of(path: str | Path, size: int) -> str:
    return _hash(path, max(HEAD_SKIP, size - PROBE), min(PROBE, size - HEAD_SKIP))


def live_id(rel: str, head: str) -> str:
    """The provisional id of a growing file: its path and its head (32 hex digits, like a content hash)."""
    return hashlib.blake2b(f"vidgraph-live\0{rel}\0{head}".encode(), digest_size=16).hexdigest()


def grown(path: str | Path, row: LiveRow) -> bool:
    """Is the file now a growth of what ``row`` says was read (never a replaced or rewritten file)?"""
    try:
        size = os.stat(path).st_size
        return size >= row.size >= MIN_SIZE and head_of(path) == row.head and tail_of(path, row.size) == row.tail
    except OSError:
        return False


def adopt(artifacts: Path, old: str, new: str) -> list[str]:
    """Copy a video's artifacts from its provisional id to its content hash (frames hard-linked, records given
    the new id and paths); returns the artifact file names. The old folder is left for the caller to delete once
    the catalog points at the new one, so a crash in between loses nothing."""
    src, dst = artifacts / old, artifacts / new
    tmp = artifacts / f".{new}.adopting"
    shutil.rmtree(tmp, ignore_errors=True)
    names = []
    for item in sorted(src.iterdir()) if src.is_dir() else []:
        if item.is_dir() and not item.name.startswith("pass"):
            shutil.copytree(item, tmp / item.name, copy_function=_link)
        elif item.suffix == ".jsonl" and not item.name.startswith("."):
            _rewrite(item, tmp / item.name, artifacts, old, new)
            names.append(item.name)
    tmp.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)
    return names


def _link(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _rewrite(src: Path, dst: Path, artifacts: Path, old: str, new: str) -> None:
    import json

    records = read_artifact(src, artifacts) or []
    header = json.loads(src.read_text(encoding="utf-8").splitlines()[0])
    header.update(video_id=new, schema=SCHEMA_VERSION)
    header.pop("until", None)
    body = [json.dumps(header)]
    for r in records:
        r = replace(r, video_id=new) if hasattr(r, "video_id") else r
        if isinstance(r, Frame):
            rel = Path(r.path).relative_to(artifacts / old)
            r = replace(r, path=(Path(new) / rel).as_posix())
        body.append(json.dumps(r.to_dict(), ensure_ascii=False))
    dst.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(dst, "\n".join(body) + "\n")


__all__ = ["LiveOutcome", "LiveSpec", "adopt", "grown", "head_of", "live_id", "tail_of"]
