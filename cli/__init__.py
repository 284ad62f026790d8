"""The ``vidgraph`` command: index a folder, inspect and search what the index knows, ask, evaluate, check.

One module per command (``index``, ``watch``, ``inspect``, ``search``, ``ask``, ``clip``, ``serve``, ``mcp``,
``eval``, ``doctor``) over the public API; ``app`` holds what they share.
"""

from __future__ import annotations

import sys

from . import (  # noqa: F401 - each registers its command on the app
    ask, clip, doctor, eval, index, inspect, mcp, search, serve, watch,
)
from .app import app


def main() -> None:
    """Entry point of the ``vidgraph`` command."""
    try:
        app(prog_name="vidgraph")
    except BrokenPipeError:  # printing to a reader that left (vidgraph … | head -1)
        from .app import _quiet_stdout

        _quiet_stdout()


__all__ = ["app", "main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
