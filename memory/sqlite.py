"""Opening the index's SQLite files: read-write for the writer, read-only (and immutable) for a reader that may
not write there (a read-only folder, another user's index), so reading never needs write access."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any


def can_write(path: Path) -> bool:
    """May this process write ``path`` (and its folder, where SQLite keeps its journal)?"""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if path.exists():
        return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    return os.access(folder, os.W_OK)


def connect(path: Path, timeout: float = 60.0, **options: Any) -> tuple[sqlite3.Connection, bool]:
    """A connection to ``path`` and whether it is read-only; a missing file that cannot be created is an error."""
    if can_write(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=timeout, **options)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        return db, False
    if not path.is_file():
        raise sqlite3.OperationalError(f"unable to open database file {path} (read-only and missing)")
    return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, timeout=timeout, **options), True


def chunks(items: list, size: int = 400) -> list[list]:
    """``items`` in chunks that keep a query under SQLite's limit of bound values."""
    return [items[i:i + size] for i in range(0, len(items), size)]
