"""The artifact store: one JSON-lines file per (video hash, tool, version, params), written atomically and validated
on every read.

    <store>/<video_id>/<tool>@<version>-<params hash>.jsonl     header line, then one record per line

The header names the schema, the tool, its version and params, the video and how many records follow. A file
that is empty, cut short, not JSON, of another video or tool, or whose records do not parse is *invalid*:
``read_artifact`` raises ``InvalidArtifact`` naming the file and why, and the store treats it as missing (the
stage runs again). Paths of frames inside an artifact are kept relative to the store, so a moved index keeps
working; old absolute paths are re-rooted on read.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError, os_failure
from ..records import Frame, Record, record_from_dict

if TYPE_CHECKING:
    from .base import Tool

SCHEMA_VERSION = 1


class InvalidArtifact(StoreError):
    """An artifact file that cannot be trusted: ``path`` names it, the message says why."""

    def __init__(self, path: Path, why: str) -> None:
        self.path = Path(path)
        self.why = why
        super().__init__(f"{path}: damaged artifact ({why})", "run vidgraph index on the folder: it is made again")


def params_hash(params: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()[:12]


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the whole new one, never a part; a full disk or a
    folder that cannot be written is one ``StoreError`` naming the path."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise os_failure(e, path) from e


def read_artifact(path: Path, root: Path | None = None, expect: dict[str, Any] | None = None) -> list[Record] | None:
    """The records of an artifact (None if there is no file); ``InvalidArtifact`` when it cannot be trusted.
    ``expect``: header fields that must match (video_id, tool, version); ``root``: the store, for frame paths."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise InvalidArtifact(path, "not UTF-8 text") from None
    except OSError as e:
        raise os_failure(e, path) from e
    lines = text.splitlines()
    if not lines:
        raise InvalidArtifact(path, "empty file")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        raise InvalidArtifact(path, "its header is not JSON") from None
    if not isinstance(header, dict) or header.get("schema") != SCHEMA_VERSION:
        raise InvalidArtifact(path, f"schema {header.get('schema') if isinstance(header, dict) else '?'} is not "
                                    f"{SCHEMA_VERSION}")
    for key, value in (expect or {}).items():
        if header.get(key) != value:
            raise InvalidArtifact(path, f"it belongs to {key} {header.get(key)!r}, not {value!r}")
    if "records" in header and header["records"] != len(lines) - 1:
        raise InvalidArtifact(path, f"cut short: {len(lines) - 1} of {header['records']} records")
    if not text.endswith("\n"):
        raise InvalidArtifact(path, "cut short: no final newline")
    records = []
    for n, line in enumerate(lines[1:], 2):
        try:
            records.append(record_from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidArtifact(path, f"line {n} is not a record ({type(e).__name__})") from None
    return [_absolute(r, root) for r in records] if root is not None else records


def artifact_seconds(path: Path) -> float:
    """Seconds the tool took to make an artifact (from its header; 0 when unknown)."""
    try:
        with open(path, encoding="utf-8") as f:
            return float(json.loads(f.readline()).get("seconds", 0.0))
    except (OSError, ValueError):
        return 0.0


def _relative(record: Record, root: Path) -> Record:
    if isinstance(record, Frame) and os.path.isabs(record.path):
        try:
            return replace(record, path=Path(record.path).relative_to(root).as_posix())
        except ValueError:
            return record
    return record


def _absolute(record: Record, root: Path) -> Record:
    if not isinstance(record, Frame):
        return record
    if not os.path.isabs(record.path):
        return replace(record, path=str(root / record.path))
    if not os.path.exists(record.path):  # written before paths were relative, then the index moved: re-root it
        parts = Path(record.path).parts
        for i in range(len(parts) - 1, 0, -1):
            if parts[i] == record.video_id:
                moved = root.joinpath(*parts[i:])
                if moved.exists():
                    return replace(record, path=str(moved))
                break
    return record


class ArtifactStore:
    """Tool outputs of every video under ``root/<video_id>/``, keyed by (tool, version, params). An invalid file is
    a missing one: ``on_invalid(error)`` hears about it (the index says so in one line) and the tool runs again."""

    def __init__(self, root: str | Path, on_invalid: Callable[[InvalidArtifact], None] | None = None) -> None:
        self.root = Path(root)
        self.on_invalid = on_invalid

    def video_dir(self, video_id: str) -> Path:
        return self.root / video_id

    def path(self, video_id: str, tool: Tool) -> Path:
        return self.video_dir(video_id) / f"{tool.name}@{tool.version}-{params_hash(tool.params())}.jsonl"

    def work_dir(self, video_id: str, tool: Tool) -> Path:
        """A folder for files a tool writes (frames); its records point into it."""
        return self.video_dir(video_id) / f"{tool.name}-{params_hash(tool.params())}"

    def load(self, video_id: str, tool: Tool) -> list[Record] | None:
        """The tool's records for the video; None when missing or invalid (an invalid file is moved aside)."""
        path = self.path(video_id, tool)
        try:
            return read_artifact(path, self.root, {"video_id": video_id, "tool": tool.name, "version": tool.version})
        except InvalidArtifact as e:
            self.discard(path)
            if self.on_invalid is not None:
                self.on_invalid(e)
            return None

    def valid(self, video_id: str, tool: Tool) -> bool:
        return self.load(video_id, tool) is not None

    def discard(self, path: Path) -> None:
        """Set an untrusted artifact aside (``.<name>.invalid``, kept for a look; replaced by the next one)."""
        try:
            os.replace(path, path.with_name(f".{path.name}.invalid"))
        except OSError:
            path.unlink(missing_ok=True)

    def save(self, video_id: str, tool: Tool, records: Iterable[Record], seconds: float,
             extra: dict[str, Any] | None = None) -> None:
        """Write the tool's records (``extra``: more header fields, e.g. ``until`` for a part of a growing file)."""
        records = [_relative(r, self.root) for r in records]
        header = {"schema": SCHEMA_VERSION, "tool": tool.name, "version": tool.version, "params": tool.params(),
                  "video_id": video_id, "seconds": round(seconds, 3), "created": time.time(), "records": len(records),
                  **(extra or {})}
        body = [json.dumps(header)] + [json.dumps(r.to_dict(), ensure_ascii=False) for r in records]
        atomic_write_text(self.path(video_id, tool), "\n".join(body) + "\n")
