"""Serving a library: a REST API with OpenAPI, a web page that plays the cited moments, and an MCP server.

    vidgraph serve ~/videos                    # http://127.0.0.1:8765/ (page), /docs (API), /mcp (MCP)
    vidgraph mcp ~/videos                      # MCP over stdio, for desktop agents

Modules: ``app`` (the FastAPI app), ``api`` and ``asking`` (routes), ``service`` (what the routes and the MCP tools
call: one library, one model, the queues), ``media`` (frames, playable copies, clips, exports), ``jobs`` (workers
and their bounded queues, events for streams), ``sse``, ``security`` (bind policy, token, limits),
``mcp_server``, ``server`` (uvicorn), ``static/`` (the page: plain HTML, JS and CSS, no CDN).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .service import Limits, Service

_LAZY = {"create_app": ("app", "create_app"), "Service": ("service", "Service"), "Limits": ("service", "Limits")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Limits", "Service", "create_app"]
