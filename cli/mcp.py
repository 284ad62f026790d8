"""``vidgraph mcp``: the library's tools as an MCP server over stdio, for desktop agents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import app, command, examples


@app.command(help="Run an MCP server over stdio for FOLDER: tools to list the videos, search moments, read the "
                  "transcript, list shots, look at frames (returned as images with their timestamps), ask "
                  "vidgraph's agents, and the exact query tools (find, count, locate, order, read, screen). "
                  "Every result carries (video, start, end).\n\n"
                  "Configure a client with the absolute path of this command, e.g. Claude Desktop: "
                  '{"mcpServers": {"vidgraph": {"command": "/abs/.venv/bin/vidgraph", '
                  '"args": ["mcp", "/abs/videos"]}}}. '
                  "Nothing but the protocol goes to stdout; logs go to stderr.",
             epilog=examples(("vidgraph mcp ~/videos", "stdio"),
                              ("claude mcp add vidgraph -- /abs/.venv/bin/vidgraph mcp /abs/videos", "Claude Code")))
@command
def mcp(
    folder: Annotated[Path, typer.Argument(help="An indexed folder of videos.", show_default=False)],
    model: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--model", "-m", metavar="BACKEND:MODEL", help="The model of the ask tool (loaded at its first call). "
        "\\[default: settings llm]", show_default=False)] = None,
    index_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--index-dir", help="Where the index lives. \\[default: FOLDER/.vidgraph]", show_default=False)] = None,
) -> None:
    """Serve MCP over stdio (help text above)."""
    import logging
    import sys

    from ..library import Library
    from ..serve.mcp_server import build_mcp
    from ..serve.service import Service

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # before the SDK configures the root logger
    service = Service(Library(folder, index_dir=index_dir), model).start(preload=False)
    try:
        build_mcp(service).run("stdio")
    finally:
        service.close()
