"""Prompt templates, one file per role (``<name>.md``), versioned by the hash of their text.

    p = load("caption")
    p.render(evidence="...")   # str.format fields
    p.version                  # "caption@1a2b3c4d", recorded in every caption and trace
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str

    @property
    def version(self) -> str:
        return f"{self.name}@{hashlib.sha256(self.text.encode()).hexdigest()[:8]}"

    def render(self, **fields: str) -> str:
        return self.text.format(**fields)


@cache
def load(name: str) -> Prompt:
    path = _DIR / f"{name}.md"
    if not path.is_file():
        raise FileNotFoundError(f"no prompt named {name!r} in {_DIR}")
    return Prompt(name, path.read_text(encoding="utf-8").strip())


@cache
def names() -> tuple[str, ...]:
    """Every prompt's name (its file name without ``.md``)."""
    return tuple(sorted(p.stem for p in _DIR.glob("*.md")))


def quote(text: str, limit: int = 2000) -> str:
    """Text that came from a video, fenced as data: the model must never read it as instructions."""
    text = text.replace("<<<", "< < <").replace(">>>", "> > >")
    if len(text) > limit:
        text = text[:limit] + " [...]"
    return f"<<<{text}>>>"
