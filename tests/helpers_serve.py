"""What the serve tests share: a scripted model for any number of questions, an SSE parser, raw HTTP, a
thread for async bodies, tiny media and headless Chromium."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--autoplay-policy=no-user-gesture-required"]
INVOICE = "What is the invoice number?"


def scripted(delay: float = 0.0, text: str = "4821-B"):
    """The tool loop's model for every question: it answers ``text`` (after ``delay`` seconds)."""
    from vidgraph.models.base import Usage
    from vidgraph.models.testing import ScriptedModel

    def reply(call: Any) -> dict[str, Any]:
        if delay:
            time.sleep(delay)
        return {"answer": text, "option": None, "call": 0}

    return ScriptedModel({"tools": reply}, by="prompt", name="serve-test", usage=Usage(50, 10, 0.0, 1))


def sse(lines: Iterator[str]) -> Iterator[tuple[str, Any, str | None]]:
    """``(event, data, id)`` from the lines of a text/event-stream (comments skipped)."""
    event, data, id_ = "message", [], None
    for line in lines:
        if line == "":
            if data:
                yield event, json.loads("\n".join(data)), id_
            event, data, id_ = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                data.append(value)
            elif field == "event":
                event = value
            elif field == "id":
                id_ = value


def raw_get(port: int, target: str, host: str = "127.0.0.1") -> tuple[int, bytes]:
    """A GET with the request line sent verbatim (httpx and browsers normalise ``../`` before sending)."""
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def arun(fn, *args):
    """``anyio.run`` in a fresh thread: Playwright's sync API leaves an event loop running on the main thread,
    so a later ``asyncio.run`` there fails."""
    import anyio

    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        return ex.submit(anyio.run, fn, *args).result()


def ffmpeg(out: Path, *args: str) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-threads", "1", *args, str(out)], check=True, timeout=120)
    return out


def h264(out: Path, seconds: float = 4, source: str = "testsrc2") -> Path:
    return ffmpeg(out, "-f", "lavfi", "-i", f"{source}=s=320x240:r=25", "-f", "lavfi", "-i",
                  "sine=f=440:sample_rate=44100", "-t", f"{seconds:g}", "-pix_fmt", "yuv420p", "-c:v", "libx264",
                  "-preset", "veryfast", "-g", "25", "-c:a", "aac", "-movflags", "+faststart")


def mpeg4_avi(out: Path, seconds: float = 4) -> Path:
    """MPEG-4 Part 2 in AVI with MP3: a file Chromium cannot play."""
    return ffmpeg(out, "-f", "lavfi", "-i", "mandelbrot=s=320x240:r=25", "-f", "lavfi", "-i",
                  "sine=f=300:sample_rate=44100", "-t", f"{seconds:g}", "-c:v", "mpeg4", "-q:v", "5",
                  "-c:a", "libmp3lame")


def require_chromium() -> Path:
    """Debian's chromium (Playwright drives it by ``executable_path``; no browser is downloaded). Missing, the
    test fails: install.sh installs it."""
    import pytest

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run install.sh (it apt-get installs chromium)")
    return CHROMIUM
