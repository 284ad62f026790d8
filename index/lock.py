"""The one writer of an index: whoever holds ``<index>/index.lock`` (a file lock; the holder's pid is kept beside
it for the message another writer sees). Readers never take it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreError
from .progress import Notice, Progress


@contextmanager
def writer_lock(index_dir: Path, folder: Path, wait: float | None,
                emit: Callable[[Progress], None] = lambda event: None) -> Iterator[None]:
    """Hold the index's writer lock; wait at most ``wait`` seconds for another writer (None: until it ends)."""
    from filelock import FileLock, Timeout

    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / "index.lock"), thread_local=False)
    owner_file = index_dir / "index.pid"
    try:
        lock.acquire(timeout=0)
    except Timeout:
        owner = _read_owner(owner_file)
        limit = f" (up to {wait:g} s)" if wait is not None else ""
        emit(Notice(f"another vidgraph index{owner} is running on {folder}; waiting{limit}…"))
        try:
            lock.acquire(timeout=-1 if wait is None else wait)
        except Timeout:
            raise StoreError(f"{folder} is being indexed by another process{owner}",
                             "wait for it to finish, or pass --wait SECONDS to wait longer") from None
    try:
        owner_file.write_text(str(os.getpid()))
        yield
    finally:
        lock.release()


def _read_owner(owner_file: Path) -> str:
    try:
        return f" (pid {int(owner_file.read_text().strip())})"
    except (OSError, ValueError):
        return ""
