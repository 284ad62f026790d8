"""Who may reach what: loopback by default, a token for anything else (header or the page's cookie, also on /mcp),
no request path reaches the file system (``../``, encoded variants, absolute paths, names instead of ids, links
out of the folder), a Host check on loopback, CORS off unless configured."""

from __future__ import annotations

import shutil

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers_serve import arun, h264, raw_get, scripted

from vidgraph.errors import ConfigError
from vidgraph.serve.app import create_app
from vidgraph.serve.security import check_bind, is_loopback
from vidgraph.serve.server import ThreadedServer

TOKEN = "t0ken-for-the-tests-3f9a1c"


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
                                           ("[::1]", True), ("localhost", True), ("0.0.0.0", False), ("::", False),
                                           ("192.168.1.5", False), ("example.com", False),
                                           ("localhost.evil", False)])
def test_only_loopback_listens_without_a_token(host, loopback):
    assert is_loopback(host) is loopback
    if loopback:
        check_bind(host, None)
    else:
        with pytest.raises(ConfigError, match="without a token"):
            check_bind(host, None)
        check_bind(host, TOKEN)


def test_the_command_refuses_a_public_address_without_a_token(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from vidgraph.cli import app

    monkeypatch.delenv("VIDGRAPH_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["serve", str(tmp_path), "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "refusing to listen on 0.0.0.0 without a token" in result.stderr


@pytest.fixture(scope="module")
def open_server(agents_library):
    app = create_app(agents_library, scripted(), preload=False)
    with ThreadedServer(app) as server:
        server.ids = {v["name"]: v["video_id"] for v in httpx.get(f"{server.url}/api/videos").json()["videos"]}
        yield server


@pytest.fixture(scope="module")
def token_server(agents_library):
    """As it would run on 0.0.0.0 with a token (the test still listens on loopback only)."""
    app = create_app(agents_library, scripted(), token=TOKEN, host="0.0.0.0", preload=False)
    with ThreadedServer(app) as server:
        yield server


def test_a_token_is_needed_by_header_or_cookie(token_server):
    u = token_server.url
    r = httpx.get(f"{u}/api/videos")
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    for path in ("/", "/docs", "/openapi.json", "/api/health"):
        assert httpx.get(u + path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(f"{u}/api/videos", headers={"Authorization": f"Bearer {TOKEN}"}).json()["total"] == 2
    login = httpx.get(f"{u}/?token={TOKEN}")
    assert login.status_code == 303 and "HttpOnly" in login.headers["set-cookie"]
    with httpx.Client(base_url=u, cookies={"vg_token": TOKEN}) as c:  # what EventSource and <video> send
        assert c.get("/api/videos").status_code == 200 and c.get("/").status_code == 200
    assert httpx.get(f"{u}/?token=wrong").status_code == 401


def test_mcp_over_http_needs_the_token_too(token_server):
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    url = f"{token_server.url}/mcp"
    assert httpx.post(url, json={}, headers={"Accept": "application/json, text/event-stream"}).status_code == 401

    async def tools():
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http:
            async with streamable_http_client(url, http_client=http) as (read, write):
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    return sorted(t.name for t in (await s.list_tools()).tools)

    assert "search_moments" in arun(tools)


TRAVERSALS = [
    "/api/media/../../../../etc/passwd", "/api/media/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/api/media/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/api/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/media/%252e%252e%252fetc%252fpasswd", "/api/media/..\\..\\etc\\passwd", "/api/media//etc/passwd",
    "/api/media/%2Fetc%2Fpasswd", "/api/media/%00", "/api/media/fixture.mp4", "/api/media/FIXTURE",
    "/api/videos/..%2f..%2fetc%2fpasswd/frame?t=0", "/api/videos/%2e%2e/clip?start=0&end=1",
    "/api/videos/%2Fetc%2Fpasswd/thumbnail", "/../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2f..%2fetc%2fpasswd", "/%2e%2e/serve/app.py", "/..%2fapp.py", "/static/../app.py",
    "/app.js%00.html", "//etc/passwd", "/_docs/../../fastapi_offline/__init__.py", "/_docs/%2e%2e/__init__.py",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_no_request_path_reaches_the_file_system(open_server, target):
    status, body = raw_get(open_server.port, target)
    assert status in (400, 404, 405, 422), (target, status)
    assert b"root:" not in body and b"import " not in body and b"def " not in body


def test_ids_only_and_uppercase_or_prefixes_are_not_ids(open_server):
    vid = open_server.ids["fixture.mp4"]
    assert httpx.get(f"{open_server.url}/api/media/{vid}", headers={"Range": "bytes=0-1"}).status_code == 206
    for bad in (vid.upper(), vid[:12], vid + "0", f"{vid}/../{vid}"):
        assert raw_get(open_server.port, f"/api/media/{bad}")[0] == 404, bad


def test_a_link_out_of_the_folder_is_never_served(tmp_path):
    """Indexed through a file link (the catalog follows it), the outside file is still never read by the server:
    no media, frame, thumbnail or clip of it; the inside copy of other content is."""
    folder, outside = tmp_path / "videos", tmp_path / "outside"
    h264(folder / "inside.mp4", 3)
    h264(outside / "secret.mp4", 3, source="smptebars")
    (folder / "link.mp4").symlink_to(outside / "secret.mp4")
    (folder / "dir").symlink_to(outside, target_is_directory=True)  # a folder link: not walked at all
    app = create_app(folder, scripted(), mcp=False, preload=False)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        job = c.post("/api/index", json={"stages": ["scan"]}).json()
        with c.stream("GET", job["url"]) as r:
            assert "result" in r.read().decode()
        videos = {v["name"]: v for v in c.get("/api/videos").json()["videos"]}
        assert set(videos) == {"inside.mp4", "link.mp4"}
        assert videos["inside.mp4"]["served"] and not videos["link.mp4"]["served"]
        link = videos["link.mp4"]["video_id"]
        for path in (f"/api/media/{link}", f"/api/videos/{link}/frame?t=1", f"/api/videos/{link}/frames?start=0&end=2",
                     f"/api/videos/{link}/clip?start=0&end=1", f"/api/videos/{link}/thumbnail?t=2.9"):
            r = c.get(path)
            assert r.status_code == 404 and "not in the folder" in r.json()["detail"], path
        assert c.get(f"/api/media/{videos['inside.mp4']['video_id']}").status_code == 200


def test_loopback_refuses_other_host_names(open_server):
    assert httpx.get(f"{open_server.url}/api/health").status_code == 200
    assert httpx.get(f"{open_server.url}/api/health", headers={"Host": "evil.example"}).status_code == 400


def test_cors_is_off_unless_configured(agents_library):
    origin = {"Origin": "http://elsewhere.example"}
    with TestClient(create_app(agents_library, scripted(), mcp=False, preload=False),
                    base_url="http://127.0.0.1") as c:
        r = c.get("/api/health", headers=origin)
        assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
        pre = c.options("/api/ask", headers={**origin, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in pre.headers
    with TestClient(create_app(agents_library, scripted(), mcp=False, preload=False, token=TOKEN,
                               cors=["http://elsewhere.example"]), base_url="http://127.0.0.1") as c:
        pre = c.options("/api/ask", headers={**origin, "Access-Control-Request-Method": "POST"})
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "http://elsewhere.example"
        assert c.get("/api/health", headers=origin).status_code == 401  # CORS is not authentication


def test_the_media_cache_is_named_by_ids_and_numbers_only(open_server, agents_library):
    vid = open_server.ids["other.mp4"]
    assert httpx.get(f"{open_server.url}/api/videos/{vid}/clip?start=1&end=2").status_code == 200
    cache = agents_library.index_dir / "serve"
    names = [p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file()]
    assert names and all(n.split("/")[0] in ("clips", "play", "thumbs", "exports") for n in names)
    shutil.rmtree(cache / "clips" / vid)
