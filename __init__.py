"""vidgraph: answer questions about long videos with perception tools, an event memory and LLM agents."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .library import Library

_LAZY = {"Library": ("vidgraph.library", "Library")}


def __getattr__(name: str) -> Any:
    """Public API objects, imported on first use so ``import vidgraph`` stays light."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'vidgraph' has no attribute {name!r}")


__all__ = ["Library", "__version__"]
