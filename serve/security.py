"""Who may talk to the server: loopback by default, a token for anything else, bounded requests.

- ``check_bind``: listening beyond loopback without a token is refused before anything listens.
- ``TokenMiddleware`` (pure ASGI, so it wraps streams and ``/mcp`` unchanged): ``Authorization: Bearer <token>``
  or the ``vg_token`` cookie, which ``GET /?token=<token>`` sets — a browser's ``EventSource`` and ``<video src>``
  cannot send headers. Compared in constant time; failures get 401 with ``WWW-Authenticate``.
- ``BodyLimitMiddleware``: a request body over the limit gets 413, announced or streamed.
- Videos are addressed by id only (``VIDEO_ID``): a request path never names a file.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import parse_qs

from starlette.exceptions import HTTPException

from ..errors import ConfigError

COOKIE = "vg_token"
VIDEO_ID = re.compile(r"[0-9a-f]{32}")
"""A video's id: its content hash (BLAKE2b-128, lowercase hex). Nothing else addresses a video over HTTP."""
LOOPBACK_NAMES = ("localhost",)

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``; any other name counts as public (``localhost.evil`` too)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None, token_env: str = "VIDGRAPH_TOKEN") -> None:
    """Refuse to listen on ``host`` beyond loopback without a token."""
    if not is_loopback(host) and not token:
        raise ConfigError(f"refusing to listen on {host} without a token: anyone who reaches it could read every "
                          "video and run the model",
                          f"set {token_env} to a long random secret (e.g. export {token_env}=$(openssl rand -hex 24))"
                          " and send it as 'Authorization: Bearer ...', or listen on 127.0.0.1")


def allowed_hosts(host: str) -> list[str]:
    """``Host`` headers accepted without a token on loopback (a DNS-rebinding page sends its own name)."""
    return ["127.0.0.1", "localhost", "[::1]", "::1"] + ([host] if host not in ("127.0.0.1", "localhost") else [])


async def _reply(send: Callable[[Any], Awaitable[None]], status: int, body: bytes,
                 headers: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


class TokenMiddleware:
    """Every request needs the token (header or cookie); ``GET /?token=`` logs a browser in (303 + cookie)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.token = app, token.encode()

    def _ok(self, value: str | None) -> bool:
        return value is not None and hmac.compare_digest(value.encode(), self.token)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        auth = headers.get("authorization", "")
        given = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if given is None and "cookie" in headers:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(headers["cookie"])
            except CookieError:
                pass
            given = jar[COOKIE].value if COOKIE in jar else None
        if self._ok(given):
            return await self.app(scope, receive, send)
        if scope.get("path") == "/" and scope.get("method") == "GET":
            login = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [None])[0]
            if self._ok(login):
                cookie = f"{COOKIE}={login}; HttpOnly; SameSite=Strict; Path=/"
                return await _reply(send, 303, b"", [(b"location", b"/"), (b"set-cookie", cookie.encode())])
        await _reply(send, 401, b'{"detail":"missing or wrong token: send Authorization: Bearer <token>"}',
                     [(b"www-authenticate", b'Bearer realm="vidgraph"')])


class BodyLimitMiddleware:
    """Bodies over ``limit`` bytes get 413 (by ``Content-Length``, or counted as they stream in)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            return await _reply(send, 413, f'{{"detail":"request body over {self.limit} bytes"}}'.encode())
        seen = 0
        started = False

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return message

        async def tracked(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await _reply(send, 413, f'{{"detail":"request body over {self.limit} bytes"}}'.encode())


class _TooLarge(HTTPException):
    """Raised while a streamed body is read; FastAPI passes an ``HTTPException`` on as its status (413)."""

    def __init__(self) -> None:
        super().__init__(413, "request body too large")
