"""One exception tree; every message says what went wrong and what to do.

    VidgraphError
    ├── ConfigError          a setting or argument is wrong
    ├── MissingExtraError    an optional dependency is not installed (names the pip extra)
    ├── MediaError           a file cannot be used as a video (names the file)
    ├── ToolError            a perception tool failed on a video
    ├── ModelError           a model backend failed: unreachable, HTTP errors, timeouts, cannot load
    │   └── ReplyError       the model answered, but not in the asked form (invalid JSON twice)
    ├── StoreError           the index on disk is unusable or locked
    └── BudgetExhausted      a question's budget (calls, looks, seconds) is used up

For the agents, a ``ToolError``, ``MediaError``, ``ReplyError`` or ``BudgetExhausted`` is an observation (recorded
in the trace; the agents go on with what they have); every other error ends the question as an error, never as
"not in the video".

Exceptions never log; the CLI prints ``str(error)`` as one line.
"""

from __future__ import annotations


class VidgraphError(Exception):
    """Base of vidgraph's errors. ``hint`` says what the user can do about it."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


class ConfigError(VidgraphError):
    pass


class MissingExtraError(VidgraphError, ImportError):
    """An optional dependency is missing; ``extra`` is the pip extra that provides it."""

    def __init__(self, what: str, extra: str, module: str = "") -> None:
        self.extra = extra
        self.module = module
        super().__init__(
            f"{what} needs the Python package {module or extra!r}, which is not installed",
            f"install it with: pip install 'vidgraph[{extra}]'",
        )


class MediaError(VidgraphError):
    """A file cannot be read as a video; ``path`` names it."""

    def __init__(self, path: str, problem: str, hint: str = "") -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}", hint)


class ToolError(VidgraphError):
    pass


class SourceChanged(MediaError):
    """The video file changed while a tool read it: what the tool made is of neither version and is not kept."""


class ModelError(VidgraphError):
    pass


class ReplyError(ModelError):
    pass


class StoreError(VidgraphError):
    pass


class BudgetExhausted(VidgraphError):
    pass


def os_failure(e: OSError, path: object,
               elsewhere: str = "keep the index elsewhere with --index-dir DIR") -> StoreError:
    """An operating-system failure on a file, as one line naming the path and what to do (the one place where a full
    disk, a read-only folder or a missing directory become words). ``elsewhere``: how to use another place."""
    import errno

    where = getattr(e, "filename", None) or path
    if e.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", -1)):
        return StoreError(f"{where}: the disk is full", f"free some space there, or {elsewhere} (what was finished "
                                                        "is kept: run again)")
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = "read-only file system" if e.errno == errno.EROFS else "permission denied"
        return StoreError(f"{where}: cannot write there ({why})", f"make it writable, or {elsewhere}")
    return StoreError(f"{where}: {e.strerror or e}", "check the disk and the path")


def sqlite_failure(e: Exception, path: object) -> StoreError:
    """A SQLite failure of the catalog or memory as one line (full disk, read-only, damaged file)."""
    text = str(e).lower()
    if "disk is full" in text or "database or disk is full" in text:
        return StoreError(f"{path}: the disk is full", "free some space there, or keep the index elsewhere with "
                                                       "--index-dir DIR (the catalog is left as it was; run again)")
    if "disk i/o error" in text:
        return StoreError(f"{path}: the disk failed to write (disk I/O error: is it full?)",
                          "free some space there, or keep the index elsewhere with --index-dir DIR (the catalog "
                          "is left as it was; run again)")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StoreError(f"{path}: cannot write there (read-only or permission denied)",
                          "make it writable, or keep the index elsewhere with --index-dir DIR")
    if "malformed" in text or "not a database" in text or "file is not a database" in text:
        return StoreError(f"{path}: the file is damaged ({e})",
                          f"delete {path}: vidgraph index makes it again from the artifacts")
    return StoreError(f"{path}: {e}", "check the disk and the path")
