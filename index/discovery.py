"""Finding the video files of a folder: recursively, in path order, with a one-line problem for each file that
cannot be a video at all (unreadable, empty, a pipe, a broken link) and the sub-folders that cannot be listed."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .catalog import FileRow, db_text

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv", ".ts")
"""File extensions taken as videos (case-insensitive), in the order a file is looked for by its stem."""
INDEX_DIR_NAME = ".vidgraph"


@dataclass
class Found:
    rel: str
    """Catalog key: path relative to the folder, POSIX, valid UTF-8."""
    path: str
    """The real path (may hold surrogate escapes)."""


def is_video_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in VIDEO_EXTENSIONS


def discover(folder: Path, index_dir: Path) -> tuple[list[Found], list[tuple[Found, str]], list[str]]:
    """Video files under ``folder`` (hidden ones and the index skipped), unusable ones with their problem, and the
    sub-folders that could not be listed (their videos are kept in the catalog, not forgotten)."""
    from ..tools.decode import os_error

    found: list[Found] = []
    problems: list[tuple[Found, str]] = []
    unreadable: list[str] = []

    def on_error(e: OSError) -> None:
        where = Path(e.filename) if e.filename else folder
        rel = db_text(where.relative_to(folder).as_posix()) if where != folder else ""
        unreadable.append(rel)
        problems.append((Found(rel or ".", str(where)),
                         f"folder cannot be listed ({e.strerror}) (make it readable: chmod +rx, or move it out)"))

    for root, dirs, files in os.walk(folder, onerror=on_error):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and Path(root, d) != index_dir)
        for name in sorted(files):
            if not is_video_name(name):
                continue
            path = os.path.join(root, name)
            item = Found(db_text(Path(path).relative_to(folder).as_posix()), path)
            try:
                st = os.stat(path)
            except OSError as e:
                err = os_error(path, e)
                problems.append((item, err.problem + (f" ({err.hint})" if err.hint else "")))
                continue
            if not stat.S_ISREG(st.st_mode):
                kind = "a named pipe" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) \
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a file"
                problems.append((item, f"is {kind}, not a regular file (replace it with the video file)"))
            elif st.st_size == 0:
                problems.append((item, "empty file (0 bytes) (re-copy or re-download it)"))
            elif not os.access(path, os.R_OK):
                problems.append((item, "permission denied (make the file readable: chmod +r, or move it out)"))
            else:
                found.append(item)
    return found, problems, unreadable


def unchanged(row: FileRow | None, path: str) -> bool:
    """Is the file still the one the catalog hashed (same size and mtime)?"""
    if row is None or row.video_id is None:
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    return row.size == st.st_size and row.mtime_ns == st.st_mtime_ns


def under(rel: str, folders: list[str]) -> bool:
    return any(rel == f or rel.startswith(f.rstrip("/") + "/") or f == "" for f in folders)


def relative_to(path: str, folder: Path) -> str:
    try:
        return Path(path).relative_to(folder).as_posix()
    except ValueError:
        return path
