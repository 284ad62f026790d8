"""The server's workers and jobs without HTTP: a bounded queue that refuses with a retry time, runs what it accepted
in order (also while closing), cancels at the next step; events kept for late readers and reconnects."""

from __future__ import annotations

import threading
import time

import pytest
from helpers_serve import arun

from vidgraph.serve.jobs import Cancelled, Job, QueueFull, Worker


def test_accepted_jobs_all_run_in_order_even_when_closing():
    gate = threading.Event()
    done: list[int] = []

    def run(job: Job) -> int:
        gate.wait(5)
        done.append(job.payload["n"])
        return job.payload["n"]

    worker = Worker(run, maxsize=3, name="test", estimate=2.0)
    jobs = [worker.submit(Job("ask", {"n": 0}))]
    while not jobs[0].future.running():
        time.sleep(0.01)
    jobs += [worker.submit(Job("ask", {"n": n})) for n in range(1, 4)]  # one running, three waiting
    with pytest.raises(QueueFull) as full:
        worker.submit(Job("ask", {"n": 9}))
    assert full.value.retry_after >= 2 and worker.position(jobs[1]) == 1 and worker.position(jobs[3]) == 3
    closer = threading.Thread(target=worker.close, args=(10,))
    closer.start()
    time.sleep(0.05)
    with pytest.raises(QueueFull):  # closing: nothing new
        worker.submit(Job("ask", {"n": 10}))
    gate.set()
    closer.join(10)
    assert done == [0, 1, 2, 3] and [j.future.result() for j in jobs] == [0, 1, 2, 3]
    assert worker.stats == {"accepted": 4, "rejected": 1, "done": 4, "failed": 0, "cancelled": 0}


def test_a_cancelled_job_stops_at_its_next_step_and_a_queued_one_never_runs():
    started = threading.Event()

    def run(job: Job) -> str:
        started.set()
        for i in range(100):
            job.publish("step", {"i": i})
            time.sleep(0.01)
        return "finished"

    worker = Worker(run, maxsize=2, name="test")
    running, queued = worker.submit(Job("ask", {})), worker.submit(Job("ask", {}))
    started.wait(5)
    queued.cancel.set()
    running.cancel.set()
    with pytest.raises(Cancelled):
        running.future.result(5)
    with pytest.raises(Cancelled):
        queued.future.result(5)
    assert running.events[-1][0] == "cancelled" and len(running.events) < 20
    assert queued.events == [("cancelled", {"job": queued.id})] and running.state() == "cancelled"
    worker.close(5)


def test_readers_get_the_backlog_then_live_events_and_resume_after_an_id():
    job = Job("index", {})
    job.publish("progress", {"n": 0})

    async def read(last: int = -1) -> list:
        return [(i, e) async for i, e, _ in job.follow(last)]

    def finish() -> None:
        time.sleep(0.1)
        job.publish("progress", {"n": 1})
        job.future.set_result({"ok": True})

    threading.Thread(target=finish).start()
    assert arun(read) == [(0, "progress"), (1, "progress"), (2, "result")]
    assert arun(read, 0) == [(1, "progress"), (2, "result")]  # Last-Event-ID: 0
    assert job.done and job.state() == "result"


def test_a_failed_job_ends_with_its_one_line_error():
    worker = Worker(lambda job: 1 / 0, maxsize=1, name="test")
    job = worker.submit(Job("ask", {}))
    with pytest.raises(ZeroDivisionError):
        job.future.result(5)
    assert job.events[-1][0] == "error" and job.events[-1][1]["kind"] == "ZeroDivisionError"
    worker.close(5)
    assert worker.stats["failed"] == 1


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="a nice value per thread is Linux's")
def test_batch_work_runs_at_a_lower_cpu_priority_than_the_server():
    import os

    mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[int] = []

    def run(job: Job) -> int:
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return 1

    worker = Worker(run, 2, "batch", nice=10)
    assert worker.submit(Job("ask", {})).future.result(10) == 1
    worker.close(10)
    assert seen == [min(19, mine + 10)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == mine  # the server's thread is untouched
