"""``vidgraph serve``: the REST API (OpenAPI at /docs), the web page and the MCP endpoint over one folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from .app import app, command, examples, terminal


@app.command(help="Serve FOLDER: a web page that answers questions and plays the cited moments (/), the REST API "
                  "with its OpenAPI docs (/docs), and the MCP server (/mcp), all offline.\n\n"
                  "One model per process; questions wait in a bounded queue (full: 503 with Retry-After). Listens "
                  "on 127.0.0.1 unless --host says otherwise; any other address needs a token in the environment "
                  "variable named by --token-env (clients send 'Authorization: Bearer TOKEN'; a browser opens "
                  "http://HOST:PORT/?token=TOKEN once).",
             epilog=examples(("vidgraph serve ~/videos", "http://127.0.0.1:8765/"),
                              ("vidgraph serve ~/videos --model openai:qwen2.5-7b@http://gpu:8000/v1", "another model"),
                              ("VIDGRAPH_TOKEN=$(openssl rand -hex 24) vidgraph serve ~/videos --host 0.0.0.0",
                               "on the network, with a token")))
@command
def serve(
    folder: Annotated[Path, typer.Argument(help="A folder of videos (index it first, or from the page).",
                                           show_default=False)],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535)] = 8765,
    model: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--model", "-m", metavar="BACKEND:MODEL", help="The language model for questions (loaded once). "
        "\\[default: settings llm, llamacpp:qwen2.5-coder-1.5b]", show_default=False)] = None,
    token_env: Annotated[str, typer.Option(
        "--token-env", metavar="NAME", help="Environment variable holding the token (never on the command line). "
        "When it is set, every request needs the token, on loopback too.")] = "VIDGRAPH_TOKEN",
    queue: Annotated[int, typer.Option("--queue", min=1, max=1000, help="Questions that may wait for the model.")] = 8,
    cors: Annotated[Optional[list[str]], typer.Option(  # noqa: UP007
        "--cors", metavar="ORIGIN", help="Allow this web origin to call the API from a browser (repeat; "
        "default: none).", show_default=False)] = None,
    stages: Annotated[Optional[str], typer.Option(  # noqa: UP007
        "--stages", metavar="STAGES", help="Stages an index run started from the page runs, comma-separated "
        "(e.g. scan,asr). \\[default: every stage]", show_default=False)] = None,
    cache_mb: Annotated[float, typer.Option(
        "--cache-mb", min=16, metavar="MB", help="Disk the playable copies, clips and stills made for the page may use "
        "(INDEX/serve); past it, those used longest ago are deleted.")] = 4096,
    questions: Annotated[str, typer.Option(
        "--questions", metavar="process|thread", help="Where questions are answered: 'process', a child process "
        "with the model (searches never wait for a question's Python; the memory is loaded twice), or 'thread', "
        "in the server's process (less memory; searches slow down while questions run).")] = "process",
    no_mcp: Annotated[bool, typer.Option("--no-mcp", help="Do not serve MCP at /mcp.")] = False,
    index_dir: Annotated[Optional[Path], typer.Option(  # noqa: UP007
        "--index-dir", help="Where the index lives. \\[default: FOLDER/.vidgraph]", show_default=False)] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn's: warning, info, debug.")] = "info",
) -> None:
    """Serve a folder (help text above)."""
    from ..library import Library
    from ..serve.app import create_app
    from ..serve.security import check_bind
    from ..serve.server import run
    from ..serve.service import Limits

    if questions not in ("process", "thread"):
        raise typer.BadParameter("choose process or thread", param_hint="--questions")
    token = os.environ.get(token_env) or None
    check_bind(host, token, token_env)  # before anything loads or listens
    library = Library(folder, index_dir=index_dir)
    index_stages = tuple(x.strip() for x in stages.split(",") if x.strip()) if stages else None
    app_ = create_app(library, model, token=token, host=host, cors=cors or (),
                      limits=Limits(ask_queue=queue, index_stages=index_stages, cache_mb=cache_mb),
                      mcp=not no_mcp)
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    err = terminal(stderr=True)
    err.print(f"vidgraph serving {library.folder} ({len(library.videos())} videos) at {where}/  ·  API {where}/docs"
              + ("" if no_mcp else f"  ·  MCP {where}/mcp") + ("  ·  token required" if token else ""),
              soft_wrap=True, highlight=False)
    run(app_, host, port, log_level, ask_process=questions == "process")
