"""The FastAPI app of ``vidgraph serve``: the REST API (OpenAPI at ``/docs``, offline), the web page at ``/``, and
the MCP server at ``/mcp``, over one ``Service`` (one library, one model, bounded queues).

    from vidgraph.serve import create_app
    app = create_app("~/videos", model="llamacpp:qwen2.5-coder-1.5b")     # then: uvicorn, or vidgraph serve

Security (see ``serve.security``): with a ``token`` every request needs it (bearer header or the page's cookie);
bound to loopback, requests naming another ``Host`` are refused (DNS rebinding); request bodies are bounded;
CORS is off unless ``cors`` lists origins.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from .. import __version__
from ..errors import ConfigError, MediaError, ModelError, StoreError, VidgraphError
from .jobs import Cancelled, QueueFull
from .security import BodyLimitMiddleware, TokenMiddleware, allowed_hosts, is_loopback
from .service import BATCH_NICE, Limits, NotFound, Service

if TYPE_CHECKING:
    from ..library import Library
    from ..models.base import ChatModel

STATIC = Path(__file__).parent / "static"
MAX_BODY = 64 * 1024
"""Bytes a request body may hold (a question, its options and scope fit in far less)."""


def create_app(library: Library | str | Path, model: ChatModel | str | None = None, *, token: str | None = None,
               host: str = "127.0.0.1", cors: Sequence[str] = (), limits: Limits | None = None, mcp: bool = True,
               max_body: int = MAX_BODY, preload: bool = True) -> FastAPI:
    """The app over ``library`` (a ``Library`` or its folder). ``model``: a spec or a ``ChatModel``, loaded once
    (with ``preload``, as soon as the app starts, on the question worker). ``host``: where it will listen (it
    decides the ``Host`` check). Public hosts need a ``token`` (``check_bind``)."""
    from ..library import Library

    lib = library if isinstance(library, Library) else Library(library)
    service = Service(lib, model, limits)
    mcp_server = None
    mcp_routes: list[Any] = []
    if mcp:
        from .mcp_server import build_mcp

        mcp_server = build_mcp(service)
        mcp_routes = list(mcp_server.streamable_http_app(streamable_http_path="/mcp", host=host).routes)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if service.ask_process and service._model is None:  # a model by its spec: loaded in a child process
            from .asker import AskProcess

            service._asker = AskProcess(lib.folder, lib.index_dir, service.settings, service.model_spec, BATCH_NICE,
                                        service.freeze)
        service.start(preload)
        try:
            async with contextlib.AsyncExitStack() as stack:
                if mcp_server is not None:  # a mounted app's lifespan is not run: its session manager runs here
                    await stack.enter_async_context(mcp_server.session_manager.run())
                yield
        finally:
            await asyncio.to_thread(service.close)  # every accepted question is answered before exit

    app = FastAPI(title="vidgraph", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Ask questions about a folder of videos; every answer cites its moments. "
                              "The web page is at `/`, the MCP server at `/mcp`.")
    app.state.service = service
    _handlers(app)
    _docs(app)
    from . import api, asking

    app.include_router(api.router)
    app.include_router(asking.router)
    app.router.routes.extend(mcp_routes)  # the route itself, so the endpoint is exactly /mcp
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="page")  # last: it answers every other path

    app.add_middleware(BodyLimitMiddleware, limit=max_body)
    if is_loopback(host):
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(host))
    if token:
        app.add_middleware(TokenMiddleware, token=token)
    if cors:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors), allow_credentials=True,
                           allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type",
                                                                                   "Last-Event-ID"])
    app.add_middleware(TimingMiddleware)  # outermost: the whole time the server took
    return app


class TimingMiddleware:
    """Every response says how long the server took to start it: ``Server-Timing: app;dur=MS`` (browsers show it
    in their developer tools; ``bench_serve`` reports it beside what its clients measured)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()

        async def timed(message: Any) -> None:
            if message["type"] == "http.response.start":
                ms = 1000 * (time.perf_counter() - t0)
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"server-timing", f"app;dur={ms:.1f}".encode())]}
            await send(message)

        await self.app(scope, receive, timed)


def _error(status: int, message: str, hint: str = "", headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": " ".join(message.split()), "hint": hint}, status, headers=headers)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def not_found(request: Request, e: NotFound) -> JSONResponse:
        return _error(404, str(e))

    @app.exception_handler(QueueFull)
    async def full(request: Request, e: QueueFull) -> JSONResponse:
        return _error(503, str(e), "retry later", {"Retry-After": str(e.retry_after)})

    @app.exception_handler(Cancelled)
    async def cancelled(request: Request, e: Cancelled) -> JSONResponse:
        return _error(409, "the job was cancelled")

    @app.exception_handler(VidgraphError)
    async def vidgraph_error(request: Request, e: VidgraphError) -> JSONResponse:
        if isinstance(e, MediaError):  # its message names the file: say the problem only
            return _error(422, f"the video cannot be read: {e.problem}", e.hint)
        status = 422 if isinstance(e, ConfigError) else 502 if isinstance(e, ModelError) else \
            409 if isinstance(e, StoreError) else 500
        return _error(status, e.message, e.hint)


def _docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` from the assets of the ``fastapi-offline`` wheel: FastAPI's own pages
    load them from a CDN, which renders nothing offline."""
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html

    try:
        assets = resources.files("fastapi_offline") / "static"
        folder = Path(str(assets))
        if not (folder / "swagger-ui-bundle.js").is_file():
            raise ImportError(folder)
    except (ImportError, ModuleNotFoundError, TypeError):
        @app.get("/docs", include_in_schema=False)
        def no_docs() -> HTMLResponse:
            return HTMLResponse("<p>The API docs need the <code>fastapi-offline</code> package (pip install "
                                "'vidgraph[serve]'). The schema is at <a href='/openapi.json'>/openapi.json</a>.</p>")
        return
    app.mount("/_docs", StaticFiles(directory=folder), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="vidgraph API",
                                   swagger_js_url="/_docs/swagger-ui-bundle.js",
                                   swagger_css_url="/_docs/swagger-ui.css", swagger_favicon_url="/_docs/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="vidgraph API",
                              redoc_js_url="/_docs/redoc.standalone.js", redoc_favicon_url="/_docs/favicon.png",
                              with_google_fonts=False)
