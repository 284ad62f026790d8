"""Running the app: ``run`` for the command line (Ctrl-C ends open streams first, then every accepted question is
answered before exit), ``ThreadedServer`` for tests and benchmarks (uvicorn in a thread, on a free port).

Open server-sent-event streams hold uvicorn's shutdown until ``timeout_graceful_shutdown`` (it runs the lifespan's
shutdown only after connections close), so both end them first (``Service.drain``).
"""

from __future__ import annotations

import gc
import socket
import sys
import threading
import time
from typing import Any

import uvicorn


SWITCH_INTERVAL = 0.0005
"""Seconds a thread may hold the interpreter while another waits (Python's default is 0.005). A search gives the
interpreter up at every SQLite, Chroma and ONNX call (~100 of them) and waits to take it back each time; behind a
busy thread (a question) each wait could last the whole interval, so searches took ~0.5 s instead of ~40 ms."""
GC_THRESHOLD = (50_000, 20, 20)
"""The garbage collector's generation thresholds for the server (Python's default: 700, 10, 10). A collection holds
the interpreter lock, and a full one walks every object alive: the records a question reads and the caches of
parsed events come to ~450,000 objects, and with the default a full sweep (100-430 ms, every few seconds under
load) stalled every request in flight. Young sweeps are then rarer and larger (a few ms), full ones rare; what is
loaded at start (the model, the memory's stores) is frozen out of them (``Service.freeze``)."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _drain(app: Any) -> None:
    service = getattr(getattr(app, "state", None), "service", None)
    if service is not None:
        service.drain()


class _Server(uvicorn.Server):
    """uvicorn's server; on Ctrl-C or SIGTERM it ends the open event streams before stopping."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        _drain(self.config.app)
        super().handle_exit(sig, frame)


def run(app: Any, host: str = "127.0.0.1", port: int = 8765, log_level: str = "info", grace: float = 30.0,
        ask_process: bool = True) -> None:
    """Serve ``app`` until Ctrl-C (one model). On Ctrl-C it stops listening, ends the event streams, and gives the
    questions already accepted ``grace`` seconds to be answered to their clients (they are answered in any case
    before the process exits); a second Ctrl-C stops at once. With ``ask_process``, questions are answered in a
    child process (``serve.asker``)."""
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=int(grace),
                            lifespan="on", access_log=log_level == "debug")
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.set_threshold(*GC_THRESHOLD)
    service = getattr(getattr(app, "state", None), "service", None)
    if service is not None:
        service.freeze = True  # what it loads at start is left out of the sweeps (``Service._preload``)
        service.ask_process = ask_process  # questions in a child process: searches never wait for their Python
    _Server(config).run()


class ThreadedServer:
    """uvicorn in a daemon thread on ``host:port`` (a free port by default); a context manager."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int | None = None, **kw: Any) -> None:
        self.app, self.host, self.port = app, host, port or free_port(host)
        kw.setdefault("log_level", "warning")
        kw.setdefault("timeout_graceful_shutdown", 3)
        kw.setdefault("lifespan", "on")
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, **kw))
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the server stopped while starting (port in use? lifespan error?)")
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not start")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 60.0) -> None:
        _drain(self.app)
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(10)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
