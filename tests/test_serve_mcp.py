"""The MCP server with the official SDK's client: over stdio (``vidgraph mcp FOLDER`` as a desktop agent runs it)
and over streamable HTTP at ``/mcp`` of ``vidgraph serve``. Tools are listed with schemas; every result carries
(video, start, end); ``look`` returns JPEG images each followed by its timestamp; errors are one line."""

from __future__ import annotations

import base64
import os
import sys

import pytest
from helpers_serve import arun, scripted

from vidgraph.records import Span
from vidgraph.serve.app import create_app
from vidgraph.serve.server import ThreadedServer

TOOLS = {"list_videos", "search_moments", "transcript", "list_shots", "look", "ask", "find", "count", "locate",
         "order", "read", "screen", "speakers", "who", "said_by", "colours"}


async def exercise(session) -> dict:
    await session.initialize()
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == TOOLS
    assert tools["search_moments"].input_schema["properties"]["query"]["type"] == "string"
    assert tools["look"].annotations.read_only_hint

    videos = (await session.call_tool("list_videos", {})).structured_content["videos"]
    fixture = next(v for v in videos if v["name"] == "fixture.mp4")
    assert (fixture["start"], fixture["end"]) == (0.0, 60.0)

    found = await session.call_tool("search_moments", {"query": "invoice 4821-B", "videos": ["fixture.mp4"], "k": 3})
    assert not found.is_error
    moments = found.structured_content["moments"]
    assert moments and all({"video", "start", "end"} <= set(m) for m in moments)
    top = moments[0]
    assert top["video"] == fixture["video"] and Span(top["start"], top["end"]).overlap(Span(12, 19)) > 0

    look = await session.call_tool("look", {"video": top["video"], "start": 12.5, "end": 18.5, "frames": 3})
    assert not look.is_error and [c.type for c in look.content] == ["image", "text"] * 3
    images, labels = look.content[0::2], look.content[1::2]
    assert all(i.mime_type == "image/jpeg" and base64.b64decode(i.data)[:3] == b"\xff\xd8\xff" for i in images)
    times = [float(label.text.split("t=")[1].split("s")[0]) for label in labels]
    assert all(12.5 <= t <= 18.5 for t in times) and times == sorted(times)
    assert all(f"video={top['video']}" in label.text for label in labels)

    count = (await session.call_tool("count", {"query": "pump", "video": "fixture.mp4"})).structured_content
    assert count["value"] == 2 and all({"video", "start", "end"} <= set(f) for f in count["found"])
    said = (await session.call_tool("transcript", {"video": "fixture.mp4", "start": 30, "end": 40})).structured_content
    assert any("pump" in line["text"] for line in said["lines"])
    who = (await session.call_tool("who", {"query": "pump", "video": "fixture.mp4"})).structured_content
    assert who["tool"] == "who" and any(f["speaker"] for f in who["found"])
    colours = (await session.call_tool("colours", {"video": "fixture.mp4", "start": 30, "end": 40})).structured_content
    assert colours["tool"] == "colours" and colours["value"] and colours["found"][0]["start"] == 30.0
    shots = (await session.call_tool("list_shots", {"video": top["video"]})).structured_content["shots"]
    assert len(shots) == 6 and shots[1]["start"] == 10.0

    bad = await session.call_tool("look", {"video": "../../etc/passwd", "start": 0, "end": 1})
    assert bad.is_error and "no video" in bad.content[0].text
    return {"tools": len(tools)}


def test_mcp_over_stdio(agents_library):
    from mcp import ClientSession, StdioServerParameters, stdio_client

    # the client passes only a few environment variables on: give the import path of this checkout
    env = {k: os.environ[k] for k in ("PATH", "HOME", "PYTHONPATH", "VIDGRAPH_TEST_CACHE") if k in os.environ}
    params = StdioServerParameters(command=sys.executable,
                                   args=["-m", "vidgraph.cli", "mcp", str(agents_library.folder)], env=env)

    async def main():
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                return await exercise(session)

    assert arun(main) == {"tools": len(TOOLS)}


@pytest.fixture(scope="module")
def http_server(agents_library):
    with ThreadedServer(create_app(agents_library, scripted(), preload=False)) as server:
        yield server


def test_mcp_over_http_on_the_server_with_the_ask_tool(http_server):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def main():
        async with streamable_http_client(f"{http_server.url}/mcp") as (read, write):
            async with ClientSession(read, write) as session:
                out = await exercise(session)
                asked = await session.call_tool("ask", {"question": "What is the invoice number?",
                                                        "videos": ["fixture.mp4"]})
                return out, asked.structured_content

    out, answer = arun(main)
    assert out == {"tools": len(TOOLS)}
    assert answer["found"] and answer["text"] == "4821-B"
    cited = answer["citations"][0]
    assert cited["name"] == "fixture.mp4" and Span(cited["start"], cited["end"]).overlap(Span(12, 19)) > 0
