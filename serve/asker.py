"""Questions in a process of their own: the server's searches never wait for a question's Python.

One Python process runs one thread at a time (the interpreter lock). With questions on a thread of the server,
every search waited behind the agents' own work (parsing, the query tools, LangGraph) for the lock it gives up at
each SQLite, Chroma and ONNX call, and a lower CPU priority does not help with that lock. ``AskProcess`` runs the
questions in a child process (``spawn``: nothing of the server's threads is copied) with the library, its memory
and the one model of the server, at a lower CPU priority: the operating system then gives the server's searches a
core first, and the two never share a lock.

The server's question worker (``serve.jobs.Worker``) still owns the queue, the admission and the job; it hands one
question at a time to the child and relays the child's messages over a pipe:

    parent → child   ("ask", request)  ("cancel", None)  ("stop", None)
    child → parent   ("ready", info)  ("step", Step dict)  ("answer", Answer dict)  ("error", (kind, message, hint))
                     ("cancelled", None)

A child that dies (killed, out of memory) fails the question it was answering with a ``ModelError`` saying so; the
next question starts a new one. After the memory changes (an index run), the child is started again before the
next question, so no question reads a memory older than the server's searches do.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import errors
from ..errors import ModelError, VidgraphError
from .jobs import Cancelled

POLL = 0.2
"""Seconds between looks at the job's cancel flag while the child works."""


class AskProcess:
    """The child process that answers questions (``ask``), started on first use and again after it ended."""

    def __init__(self, folder: Path, index_dir: Path, settings: Any, model: str | None, nice: int = 10,
                 freeze: bool = True) -> None:
        self.args = (str(folder), str(index_dir), settings, model, nice, freeze)
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._conn: Any = None
        self.info: dict[str, Any] = {}
        """What the child said when ready: ``model_error`` ("" once the model loaded) and the memory's
        ``generation`` it read (None without a memory)."""
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.is_alive()

    @property
    def loaded(self) -> bool:
        """The child runs and has loaded the model."""
        return self.alive and bool(self.info) and not self.info.get("model_error")

    def start(self) -> dict[str, Any]:
        """Start the child (if it is not running) and wait until it has loaded the model and the memory."""
        with self._lock:
            if self.alive:
                return self.info
            self.info = {}
            ctx = multiprocessing.get_context("spawn")
            parent, child = ctx.Pipe()
            self._proc = ctx.Process(target=_child, args=(child, *self.args), name="vidgraph-ask", daemon=True)
            self._proc.start()
            child.close()
            self._conn = parent
            try:
                kind, info = parent.recv()
            except (EOFError, OSError):
                self._proc.join(5)
                raise ModelError(f"the question process stopped while starting (exit code {self._proc.exitcode})",
                                 "see the server's log above; run: vidgraph doctor") from None
            self.info = info if kind == "ready" else {"model_error": str(info), "generation": None}
            return self.info

    def stop(self, timeout: float = 10.0) -> None:
        with self._lock:
            if self._proc is None:
                return
            try:
                self._conn.send(("stop", None))
            except (OSError, ValueError):
                pass
            self._proc.join(timeout)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(5)
            self._conn.close()
            self._proc = None

    def ask(self, request: dict[str, Any], on_step: Callable[[dict[str, Any]], None],
            cancelled: Callable[[], bool], generation: int | None) -> dict[str, Any]:
        """The answer (``Answer.to_dict()``) to one question (``Service.ask``'s arguments). ``on_step`` gets each
        step as it comes; it may raise ``Cancelled``, as may ``cancelled()`` turn true: the child then stops at its
        next step."""
        if self.alive and self.info.get("generation") != generation:
            self.stop()  # the memory changed (or came to be) since the child read it
        self.start()
        conn, stop = self._conn, None
        conn.send(("ask", request))
        while True:
            try:
                if not conn.poll(POLL):
                    if stop is None and cancelled():
                        stop = Cancelled("")
                        conn.send(("cancel", None))
                    if not self.alive and not conn.poll(0):
                        raise EOFError
                    continue
                kind, data = conn.recv()
            except (EOFError, OSError):
                code = self._proc.exitcode if self._proc is not None else None
                self.stop(0)
                raise ModelError(f"the question process stopped while answering (exit code {code})",
                                 "see the server's log; the next question starts it again") from None
            if kind == "step":
                if stop is None:
                    try:
                        on_step(data)
                    except Cancelled as e:
                        stop = e
                        conn.send(("cancel", None))
            elif kind == "answer":
                return data
            elif kind == "cancelled":
                raise stop or Cancelled("")
            elif kind == "error":
                raise _rebuild(*data)


def _rebuild(kind: str, message: str, hint: str) -> Exception:
    """The child's error as the same class here (a ``VidgraphError``'s subclass keeps its message and hint)."""
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, VidgraphError):
        e = cls.__new__(cls)
        VidgraphError.__init__(e, message, hint)
        return e
    return ModelError(f"{kind}: {message}", "see the server's log")


def _child(conn: Any, folder: str, index_dir: str, settings: Any, model: str | None, nice: int,
           freeze: bool) -> None:
    """The child's main: a ``Service`` of its own loads the model and the memory (``Service._preload``), says
    ready, and answers each question sent (``Service.ask``) until ``stop`` (or the pipe closes)."""
    import gc
    import queue
    import signal

    from .server import GC_THRESHOLD, SWITCH_INTERVAL

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the server decides when to stop
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.set_threshold(*GC_THRESHOLD)
    if nice > 0 and hasattr(os, "nice"):
        os.nice(nice)
    from ..library import Library
    from .service import Service

    service = Service(Library(folder, index_dir=index_dir, settings=settings), model)
    service.freeze = freeze
    service._preload()
    conn.send(("ready", {"model_error": service._model_error, "generation": service._generation()}))

    asks: queue.Queue[Any] = queue.Queue()
    cancel = threading.Event()
    send_lock = threading.Lock()

    def send(message: tuple[str, Any]) -> None:
        with send_lock:
            conn.send(message)

    def read() -> None:  # the pipe is read here, so a cancel arrives while a question runs
        while True:
            try:
                kind, data = conn.recv()
            except (EOFError, OSError):
                kind, data = "stop", None
            if kind == "cancel":
                cancel.set()
            else:
                asks.put((kind, data))
                if kind == "stop":
                    return

    def step(s: Any) -> None:
        if cancel.is_set():
            raise Cancelled("")
        send(("step", s.to_dict()))

    threading.Thread(target=read, name="vidgraph-ask-pipe", daemon=True).start()
    while True:
        kind, request = asks.get()
        if kind == "stop":
            from ..models import unload_models

            service._model = None
            unload_models()  # freed now, while llama.cpp is loaded (not by a finalizer at interpreter exit)
            return
        cancel.clear()
        try:
            answer = service.ask(on_step=step, **request)
            send(("cancelled", None) if cancel.is_set() else ("answer", answer.to_dict()))
        except Cancelled:
            send(("cancelled", None))
        except VidgraphError as e:
            send(("error", (type(e).__name__, e.message, e.hint)))
        except Exception as e:  # noqa: BLE001 - the child outlives any question; the server reports it
            send(("error", (type(e).__name__, str(e), "")))


__all__ = ["AskProcess"]
