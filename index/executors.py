"""Where the videos of a run are indexed: in this process, in a pool of worker processes, or as Ray tasks.

Each executor runs ``worker.index_video`` per task, forwards the workers' messages to ``on_message`` as they arrive
and every finished video's ``Outcome`` to ``finish`` (the catalog is written by the caller, in this process).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..config import Settings
from ..errors import ConfigError, MissingExtraError
from .worker import Outcome, Started, Task, WorkerMessage, index_video, pool_task, ray_task, worker_init

OnMessage = Callable[[WorkerMessage], None]
Finish = Callable[[Outcome], None]
Crashed = Callable[[Task, str], Outcome]


def run_serial(tasks: list[Task], on_message: OnMessage, finish: Finish) -> None:
    for task in tasks:
        finish(index_video(task, on_message))


def run_pool(tasks: list[Task], jobs: int, threads: int, on_message: OnMessage, finish: Finish,
             crashed: Crashed) -> None:
    """``jobs`` spawned worker processes; a worker that dies fails its video (the next run resumes it), and
    videos that never started are tried again in a new pool."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    remaining = list(tasks)
    with context.Manager() as manager:
        queue = manager.Queue()
        while remaining:
            started: set[int] = set()

            def forward(message: WorkerMessage) -> None:
                if isinstance(message, Started):
                    started.add(message.key)
                on_message(message)

            retry: list[Task] = []
            pool = ProcessPoolExecutor(min(jobs, len(remaining)), mp_context=context, initializer=worker_init,
                                       initargs=(threads, queue))
            try:
                futures = {pool.submit(pool_task, t): t for t in remaining}
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                    drain(queue, forward)
                    for future in done:
                        task = futures[future]
                        try:
                            finish(future.result())
                        except BrokenProcessPool:
                            if task.key in started:
                                finish(crashed(task, "the worker process died (out of memory?)"))
                            else:
                                retry.append(task)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
            if retry and len(retry) == len(remaining):
                for task in retry:
                    finish(crashed(task, "worker processes cannot start"))
                retry = []
            remaining = retry


def run_ray(tasks: list[Task], address: str, settings: Settings, on_message: OnMessage, finish: Finish,
            crashed: Crashed) -> None:
    """Every video as a Ray task on the cluster at ``address`` (``auto``, ``host:port``, or ``local``)."""
    try:
        import ray
    except ImportError as e:
        raise MissingExtraError("--ray", "ray", "ray") from e
    from ray.util.queue import Queue

    started = False
    if not ray.is_initialized():
        import logging

        options = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
        try:
            if address == "local":
                ray.init(num_cpus=os.cpu_count() or 1, **options)
            else:
                check_reachable(address)
                ray.init(address=address, **options)
        except (ConnectionError, ValueError, RuntimeError) as e:
            raise ConfigError(f"cannot connect to the Ray cluster at {address!r}: {' '.join(str(e).split())}",
                              "start one with 'ray start --head', or pass --ray local") from e
        started = True
    try:
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        threads = max(1, min(settings.threads, cpus))
        settings = settings if threads == settings.threads else settings.with_(threads=threads)
        queue = Queue(actor_options={"num_cpus": 0})
        remote = ray.remote(ray_task).options(num_cpus=threads, max_retries=0)
        refs = {remote.remote(replace(t, settings=settings), queue): t for t in tasks}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.2)
            drain(queue, on_message)
            for ref in ready:
                task = refs.pop(ref)
                try:
                    outcome = ray.get(ref)
                except Exception as e:  # noqa: BLE001 - a dead worker or node
                    outcome = crashed(task, f"the Ray task failed: {type(e).__name__}")
                drain(queue, on_message)
                finish(outcome)
    finally:
        if started:
            ray.shutdown()


def drain(queue: Any, on_message: OnMessage) -> None:
    """Forward every message waiting in ``queue`` (a multiprocessing or Ray queue)."""
    import queue as queue_module

    while True:
        try:
            message = queue.get_nowait()
        except (queue_module.Empty, EOFError, OSError):
            return
        except Exception as e:  # ray.util.queue.Empty is its own class
            if type(e).__name__ == "Empty":
                return
            raise
        on_message(message)


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds, with one line, when a Ray head's host:port does not answer (ray.init would retry long)."""
    host_port = address.split("://", 1)[-1]
    if address == "auto" or ":" not in host_port:
        return
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot connect to the Ray cluster at {address!r}: {e}",
                          "start one with 'ray start --head', check the address, or pass --ray local") from None
