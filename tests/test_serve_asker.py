"""Questions answered in a process of their own (``serve.asker``), as ``vidgraph serve`` runs them: the same
answers and streamed steps as on a thread, at a lower CPU priority, a cancel that reaches the child, a child that
dies failing only its question with a one-line error, and a new child once the memory changed."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from fastapi.testclient import TestClient
from helpers_serve import INVOICE, sse

from vidgraph.agents.answer import Answer
from vidgraph.serve.app import create_app
from vidgraph.serve.service import BATCH_NICE

SCRIPT = {"by": "prompt", "replies": {"tools": {"answer": "4821-B", "option": None, "call": 0}}}


@pytest.fixture
def served(agents_library, tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    app = create_app(agents_library, f"scripted:{script}", mcp=False)
    app.state.service.ask_process = True  # as ``serve.server.run`` sets it
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client, app.state.service


def _child_pid(service) -> int:
    return service._asker._proc.pid


def _ready(client) -> None:
    """Until the question worker has started the child and it has loaded the model (it does so at start-up)."""
    deadline = time.monotonic() + 120
    while not client.get("/api/health").json()["model_loaded"]:
        assert time.monotonic() < deadline, "the question process did not load the model"
        time.sleep(0.1)


def test_a_question_is_answered_in_a_child_process_at_a_lower_priority(served):
    client, service = served
    r = client.post("/api/ask", json={"question": INVOICE, "videos": ["fixture.mp4"]})
    health = client.get("/api/health").json()
    assert health["questions"] == "process" and health["model_loaded"], health
    pid = _child_pid(service)
    assert pid != os.getpid() and os.getpriority(os.PRIO_PROCESS, pid) >= os.getpriority(os.PRIO_PROCESS, 0) + \
        min(BATCH_NICE, 19 - os.getpriority(os.PRIO_PROCESS, 0))
    assert r.status_code == 200, r.text
    answer = Answer.from_dict(r.json())
    assert answer.found and answer.text == "4821-B" and answer.citations
    assert r.json()["citations"][0]["frame"].startswith("/api/videos/")  # the server's thumbnail URL
    with client.stream("POST", "/api/ask/stream", json={"question": INVOICE, "videos": ["fixture.mp4"]}) as s:
        events = [e for e, _, _ in sse(s.iter_lines())]
    assert events[0] == "queued" and "step" in events and events[-1] == "result"
    assert events.index("step") < events.index("result")
    assert _child_pid(service) == pid  # one child answers question after question


def test_a_model_the_child_cannot_load_is_a_one_line_error_of_each_question(agents_library, tmp_path):
    app = create_app(agents_library, f"scripted:{tmp_path / 'missing.json'}", mcp=False)
    app.state.service.ask_process = True
    with TestClient(app, base_url="http://127.0.0.1") as client:
        r = client.post("/api/ask", json={"question": INVOICE, "videos": ["fixture.mp4"]})
        health = client.get("/api/health").json()
        assert not health["model_loaded"] and "missing.json" in health["model_error"], health
        assert r.status_code == 422 and "could not be loaded" in r.json()["detail"], r.text
        assert "\n" not in r.json()["detail"] and "--model" in r.json()["hint"]


def test_a_child_that_dies_fails_its_question_only_and_the_next_one_is_answered(served):
    client, service = served
    _ready(client)
    pid = _child_pid(service)
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    r = client.post("/api/ask", json={"question": INVOICE, "videos": ["fixture.mp4"]})
    if r.status_code != 200:  # the death was seen while answering: one line saying so
        assert "question process stopped" in r.json()["detail"] and "\n" not in r.json()["detail"]
        r = client.post("/api/ask", json={"question": INVOICE, "videos": ["fixture.mp4"]})
    assert r.status_code == 200 and r.json()["text"] == "4821-B"
    assert _child_pid(service) != pid
    assert service.asks.stats["accepted"] == service.asks.stats["done"] + service.asks.stats["failed"]


def test_a_changed_memory_starts_a_new_child_before_the_next_question(served, monkeypatch):
    client, service = served
    assert client.post("/api/ask", json={"question": INVOICE, "videos": ["fixture.mp4"]}).status_code == 200
    pid = _child_pid(service)
    generation = service._generation()
    monkeypatch.setattr(service, "_generation", lambda: generation + 1)  # as after an index run's write
    assert client.post("/api/ask", json={"question": INVOICE, "videos": ["fixture.mp4"]}).status_code == 200
    assert _child_pid(service) != pid


def test_a_cancelled_question_stops_in_the_child(served):
    client, service = served
    job = client.post("/api/asks", json={"question": INVOICE, "videos": ["fixture.mp4"]}).json()
    client.delete(f"/api/jobs/{job['job']}")
    deadline = time.monotonic() + 60
    while client.get(f"/api/jobs/{job['job']}").json()["state"] not in ("done", "cancelled", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    state = client.get(f"/api/jobs/{job['job']}").json()["state"]
    assert state in ("cancelled", "done")  # a question that ended before the cancel arrived is answered
    r = client.post("/api/ask", json={"question": INVOICE, "videos": ["fixture.mp4"]})
    assert r.status_code == 200 and r.json()["text"] == "4821-B"  # the child took the next question


@pytest.mark.slow
def test_the_default_model_answers_in_the_child_process(agents_library):
    """What ``vidgraph serve`` does by default: the real default model loaded in the question process."""
    app = create_app(agents_library, "llamacpp:qwen2.5-coder-1.5b", mcp=False)
    app.state.service.ask_process = True
    with TestClient(app, base_url="http://127.0.0.1") as client:
        r = client.post("/api/ask", json={"question": INVOICE, "videos": ["fixture.mp4"]})
        assert r.status_code == 200, r.text
        answer = Answer.from_dict(r.json())
        assert answer.found and "4821" in answer.text and answer.model.startswith("llamacpp:"), answer.text
        assert client.get("/api/health").json()["model_loaded"] and app.state.service._model is None
