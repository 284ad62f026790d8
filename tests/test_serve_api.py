"""The REST API over a real indexed library (the agents' fixture: the 60 s fixture video and a 12 s one), questions
answered by the shipped scripted model: the catalog, a video's index, search with reasons, the query tools, the
Answer as JSON and as server-sent events (steps before the answer), jobs with replay, byte ranges, frames, clips,
exports, offline docs, index runs with progress and cancel, a full queue shedding with 503 and nothing lost."""

from __future__ import annotations

import concurrent.futures
import io
import json
import time
import zipfile

import httpx
import pytest
from fastapi.testclient import TestClient
from helpers_serve import INVOICE, h264, mpeg4_avi, scripted, sse

from vidgraph.agents.answer import Answer
from vidgraph.records import Span
from vidgraph.serve.app import create_app
from vidgraph.serve.server import ThreadedServer
from vidgraph.serve.service import Limits

INVOICE_SPAN = Span(12.0, 19.0)


@pytest.fixture(scope="module")
def client(agents_library):
    app = create_app(agents_library, scripted(), mcp=False)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        c.ids = {v["name"]: v["video_id"] for v in c.get("/api/videos").json()["videos"]}
        yield c


def test_videos_and_one_video_index(client):
    listing = client.get("/api/videos").json()
    assert listing["total"] == 2 and [v["name"] for v in listing["videos"]] == ["fixture.mp4", "other.mp4"]
    fixture = listing["videos"][0]
    assert fixture["served"] and fixture["browser_playable"] and fixture["stages"]["asr"] == "done"
    assert client.get("/api/videos", params={"q": "oth"}).json()["total"] == 1
    index = client.get(f"/api/videos/{fixture['video_id']}/index", params={"words": True}).json()
    assert [(s["start"], s["end"]) for s in index["shots"]][:2] == [(0.0, 10.0), (10.0, 20.0)]
    assert any("pump" in s["text"] and s["words"] for s in index["transcript"])
    assert any("4821-B" in t["text"] for t in index["text"]) and len(index["events"]) == 6
    assert all({"video_id", "start", "end"} <= set(m) for section in ("shots", "transcript", "text", "objects",
                                                                      "events") for m in index[section])
    assert client.get(f"/api/videos/{fixture['video_id']}/index?sections=nope").status_code == 422
    assert client.get("/api/videos/" + "0" * 32).status_code == 404


def test_search_returns_moments_with_reasons(client):
    hits = client.get("/api/search", params={"q": "invoice 4821-B", "k": 3}).json()
    top = hits[0]
    assert top["video"] == "fixture.mp4" and Span(top["start"], top["end"]).overlap(INVOICE_SPAN) > 0
    assert any("keyword" in r for r in top["reasons"]) and "4821-B" in top["evidence"]["text"]
    assert top["thumbnail"].startswith(f"/api/videos/{top['video_id']}/thumbnail?t=")
    scoped = client.get("/api/search", params={"q": "gate", "video": "other.mp4"}).json()
    assert scoped and {h["video"] for h in scoped} == {"other.mp4"}
    assert client.get("/api/search", params={"q": "x" * 501}).status_code == 422


def test_query_tools_compute_with_their_evidence(client):
    count = client.post("/api/query", json={"tool": "count", "args": {"query": "pump"}}).json()
    assert count["value"] == 2 and {f["modality"] for f in count["found"]} == {"speech", "text"}
    read = client.post("/api/query", json={"tool": "read", "args": {"video": "fixture.mp4", "start": 12, "end": 19}})
    assert any("4821-B" in f["text"] for f in read.json()["found"])
    assert client.post("/api/query", json={"tool": "count", "args": {"nope": 1}}).status_code == 422
    by_name = client.post("/api/query", json={"tool": "count", "args": {"query": "pump", "video": "fixture.mp4"}})
    assert by_name.json()["value"] == 2  # a video by its name, as everywhere in the API
    voices = client.post("/api/query", json={"tool": "speakers", "args": {"video": "fixture.mp4"}})
    assert voices.status_code == 200 and voices.json()["value"] == 1  # one synthetic voice
    assert voices.json()["found"][0]["speaker"] and "of speech in" in voices.json()["found"][0]["text"]
    who = client.post("/api/query", json={"tool": "who", "args": {"query": "pump"}}).json()
    assert who["tool"] == "who" and all(f["speaker"] for f in who["found"] if f["modality"] == "speech")
    colours = client.post("/api/query", json={"tool": "colours", "args": {"video": "other.mp4", "start": 7, "end": 11}})
    assert colours.json()["value"][0][0] == "blue" and colours.json()["found"][0]["start"] == 7.0  # 0x303060


def test_ask_returns_the_answer_json_with_cited_moments(client):
    r = client.post("/api/ask", json={"question": INVOICE, "videos": ["fixture.mp4"]})
    assert r.status_code == 200
    answer = Answer.from_dict(r.json())
    assert answer.found and answer.text == "4821-B" and answer.cost.model_calls == 1
    cited = answer.citations[0]
    assert cited.video == "fixture.mp4" and cited.span.overlap(INVOICE_SPAN) > 0
    assert cited.frame.startswith("/api/videos/")  # a URL, never a path on the server
    thumb = client.get(cited.frame)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert abs(float(thumb.headers["x-frame-time"]) - cited.span.middle) <= 1.0
    assert client.post("/api/ask", json={"question": "x" * 2001}).status_code == 422
    assert client.post("/api/ask", json={"question": "?", "strategy": "nope"}).status_code == 422
    assert client.post("/api/ask", json={"question": "?", "videos": ["nope.mp4"]}).status_code == 404
    big = client.post("/api/ask", content=b'{"question": "' + b"x" * 70_000 + b'"}',
                      headers={"Content-Type": "application/json"})
    assert big.status_code == 413


def test_ask_stream_sends_each_step_then_the_answer(client):
    with client.stream("POST", "/api/ask/stream", json={"question": "How many times is the pump mentioned?"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = list(sse(r.iter_lines()))
    names = [e for e, _, _ in events]
    assert names[0] == "queued" and names[-1] == "result" and names.count("step") >= 3
    steps = [d for e, d, _ in events if e == "step"]
    assert steps[0]["kind"] == "routed" and any(s["kind"] == "answered" for s in steps)
    answer = events[-1][1]
    assert answer["text"] == "2 times" and [s["kind"] for s in answer["trace"]] == [s["kind"] for s in steps]


def test_an_ask_job_replays_its_events_and_ends(client):
    job = client.post("/api/asks", json={"question": INVOICE, "videos": ["fixture.mp4"]})
    assert job.status_code == 202
    url = job.json()["url"]
    with client.stream("GET", url) as r:
        first = list(sse(r.iter_lines()))
    assert first[-1][0] == "result" and first[-1][1]["text"] == "4821-B"
    with client.stream("GET", url, headers={"Last-Event-ID": "1"}) as r:  # a reconnect gets only what it missed
        again = list(sse(r.iter_lines()))
    assert [i for _, _, i in again] == [i for _, _, i in first][2:]
    assert client.get(url, headers={"Last-Event-ID": first[-1][2]}).status_code == 204  # EventSource stops
    status = client.get(f"/api/jobs/{job.json()['job']}").json()
    assert status["state"] == "result" and status["result"]["text"] == "4821-B"


def test_media_answers_byte_ranges(client, agents_library):
    vid = client.ids["fixture.mp4"]
    data = agents_library.file(vid).read_bytes()
    r = client.get(f"/api/media/{vid}", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]
    assert r.headers["content-range"] == f"bytes 100-199/{len(data)}" and r.headers["content-type"] == "video/mp4"
    tail = client.get(f"/api/media/{vid}", headers={"Range": "bytes=-64"})
    assert tail.status_code == 206 and tail.content == data[-64:]
    assert client.get(f"/api/media/{vid}", headers={"Range": f"bytes={len(data)}-"}).status_code == 416
    head = client.head(f"/api/media/{vid}")
    assert head.status_code == 200 and head.headers["accept-ranges"] == "bytes" and head.content == b""
    assert client.get(f"/api/media/{vid}").content == data


def test_frames_and_clips(client, tmp_path):
    from vidgraph.tools.decode import probe

    vid = client.ids["fixture.mp4"]
    f = client.get(f"/api/videos/{vid}/frame", params={"t": 33.3, "width": 320})
    assert f.status_code == 200 and f.content[:3] == b"\xff\xd8\xff"
    assert abs(float(f.headers["x-frame-time"]) - 33.3) < 0.1
    frames = client.get(f"/api/videos/{vid}/frames", params={"start": 30, "end": 34, "n": 4}).json()
    assert len(frames) == 4 and all(30 <= x["t"] <= 34 for x in frames)
    assert client.get(frames[0]["url"]).status_code == 200
    clip = client.get(f"/api/videos/{vid}/clip", params={"start": 12.5, "end": 15.5, "download": True})
    assert clip.status_code == 200 and clip.headers["content-type"] == "video/mp4"
    assert clip.headers["content-disposition"].startswith("attachment")
    out = tmp_path / "clip.mp4"
    out.write_bytes(clip.content)
    info = probe(out)
    assert info.video_codec == "h264" and info.audio_codec == "aac" and abs(info.duration - 3.0) < 0.15
    assert client.get(f"/api/videos/{vid}/clip", params={"start": 5, "end": 4}).status_code == 422
    assert client.get(f"/api/videos/{vid}/clip", params={"start": 0, "end": 60, "fmt": "avi"}).status_code == 422


def test_an_answer_exports_its_moments_as_clips_and_a_report(client, agents_library, tmp_path):
    job = client.post("/api/asks", json={"question": INVOICE, "videos": ["fixture.mp4"]}).json()
    with client.stream("GET", job["url"]) as r:
        assert list(sse(r.iter_lines()))[-1][0] == "result"
    z = client.get(f"/api/jobs/{job['job']}/export")
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(z.content)).namelist()
    assert {"report.html", "answer.json"} <= set(names) and any(n.endswith(".mp4") for n in names)
    answer = client.app.state.service.job(job["job"]).value
    done = agents_library.export(answer, tmp_path / "out")  # the same from Python
    clip, = done.clips
    data = json.loads(done.json.read_text())
    assert clip.is_file() and data["citations"][0]["clip"] == f"clips/{clip.name}" and not done.problems
    assert "4821-B" in done.report.read_text() and f'src="clips/{clip.name}"' in done.report.read_text()


def test_docs_work_offline(client):
    docs = client.get("/docs").text
    assert "/_docs/swagger-ui-bundle.js" in docs and "cdn.jsdelivr" not in docs
    assert client.get("/_docs/swagger-ui-bundle.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/ask/stream", "/api/search", "/api/media/{video_id}", "/api/index"} <= set(paths)
    assert "text/event-stream" in paths["/api/ask/stream"]["post"]["responses"]["200"]["content"]


def test_index_runs_as_a_job_with_progress_then_serves_what_it_indexed(tmp_path):
    """A folder of a browser-playable clip and an MPEG-4 AVI: a queued run cancelled never runs; a running one
    cancelled stops at its next progress event; the next run finishes; the AVI is served as H.264."""
    from vidgraph.tools.decode import probe

    folder = tmp_path / "videos"
    h264(folder / "tone.mp4")
    mpeg4_avi(folder / "old.avi")
    app = create_app(folder, scripted(), mcp=False)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        first = c.post("/api/index", json={"stages": ["scan"]}).json()
        queued = c.post("/api/index", json={"stages": ["scan"]}).json()
        assert c.delete(f"/api/jobs/{queued['job']}").json()["state"] in ("cancelling", "queued")
        with c.stream("GET", first["url"]) as r:
            events = []
            for event in sse(r.iter_lines()):
                events.append(event)
                if len(events) == 1:
                    c.delete(f"/api/jobs/{first['job']}")
        assert events[0][0] == "progress" and events[-1][0] == "cancelled"
        assert c.get(f"/api/jobs/{queued['job']}").json()["state"] == "cancelled"
        assert c.post("/api/index", json={"stages": ["nope"]}).status_code == 422
        again = c.post("/api/index", json={"stages": ["scan"]}).json()
        with c.stream("GET", again["url"]) as r:
            events = list(sse(r.iter_lines()))
        kinds = {d["type"] for e, d, _ in events if e == "progress"}
        assert {"Planned", "VideoFinished"} <= kinds and events[-1][0] == "result" and events[-1][1]["videos"] == 2
        videos = {v["name"]: v for v in c.get("/api/videos").json()["videos"]}
        assert not videos["old.avi"]["browser_playable"] and videos["tone.mp4"]["browser_playable"]
        r = c.get(f"/api/media/{videos['old.avi']['video_id']}", headers={"Range": "bytes=0-99"})
        assert r.status_code == 206 and r.headers["content-type"] == "video/mp4" and len(r.content) == 100
        copy = next((c.app.state.service.cache / "play").glob("*.mp4"))
        assert probe(copy).video_codec == "h264" and abs(probe(copy).duration - 4.0) < 0.2


def test_a_full_queue_sheds_with_503_and_loses_nothing(agents_library):
    """Queue of 2 behind a 0.6 s model: of 10 concurrent questions 3 are answered (one running, two waiting),
    7 get 503 with Retry-After, a stream is refused before it starts; each answer is its own."""
    app = create_app(agents_library, scripted(delay=0.6), limits=Limits(ask_queue=2), mcp=False, preload=False)
    with ThreadedServer(app) as server:
        def ask(n: int) -> httpx.Response:
            marks = "?" * (n + 1)  # ten texts, each word in the video: the model answers ("invoice 3" is none)
            return httpx.post(f"{server.url}/api/ask", json={"question": f"What is the invoice number{marks}",
                                                             "videos": ["fixture.mp4"]}, timeout=60)

        with concurrent.futures.ThreadPoolExecutor(10) as pool:
            futures = [pool.submit(ask, n) for n in range(10)]
            time.sleep(0.3)
            refused = httpx.post(f"{server.url}/api/ask/stream", json={"question": INVOICE}, timeout=10)
            replies = [f.result() for f in futures]
        ok = [r for r in replies if r.status_code == 200]
        shed = [r for r in replies if r.status_code == 503]
        assert len(ok) == 3 and len(shed) == 7 and refused.status_code == 503
        assert all(int(r.headers["retry-after"]) >= 1 for r in shed)
        assert len({r.json()["question"] for r in ok}) == 3 and all(r.json()["text"] == "4821-B" for r in ok)
        stats = app.state.service.asks.stats
        assert stats["accepted"] == stats["done"] == 3 and stats["rejected"] == 8


@pytest.mark.slow
def test_ask_with_the_default_model(agents_library):
    """The real default model (llamacpp:qwen2.5-coder-1.5b) behind the API: loaded once, it reads what the index
    found and answers the invoice number, cited at the burned-in text."""
    app = create_app(agents_library, "llamacpp:qwen2.5-coder-1.5b", mcp=False)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        r = c.post("/api/ask", json={"question": INVOICE, "videos": ["fixture.mp4"]})
        assert r.status_code == 200, r.text
        answer = Answer.from_dict(r.json())
        assert answer.found and "4821" in answer.text, answer.text
        assert answer.model.startswith("llamacpp:") and answer.cost.model_calls >= 1
        assert any(c.span.overlap(INVOICE_SPAN) > 0 for c in answer.citations)
        assert c.get("/api/health").json()["model_loaded"]


def test_the_media_cache_keeps_under_its_size_dropping_what_was_used_longest_ago(tmp_path):
    import os

    from vidgraph.serve.media import Media, _used

    media = Media(None, None, tmp_path, lambda entry: None, cache_mb=1.0)  # type: ignore[arg-type]
    sizes = {"play/a.mp4": 400_000, "clips/v/1.00-2.00.mp4": 300_000, "thumbs/v/0000001.0.jpg": 200_000,
             "tmpx1/answer/clip.mp4": 900_000, "exports/j.zip.tmp.zip": 900_000}
    for n, (name, size) in enumerate(sizes.items()):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * size)
        os.utime(path, (1000 + n, 1000 + n))
    assert media.trim() == 3  # files being made (temporary) pass the limit alone: every other file goes, not they
    assert sorted(p.name for p in tmp_path.rglob("*.*")) == ["clip.mp4", "j.zip.tmp.zip"]
    for name in sizes:
        (tmp_path / name).unlink(missing_ok=True)
    for n, name in enumerate(("play/a.mp4", "clips/v/1.00-2.00.mp4", "thumbs/v/0000001.0.jpg")):
        (tmp_path / name).write_bytes(b"\0" * 400_000)
        os.utime(tmp_path / name, (1000 + n, 1000 + n))
    _used(tmp_path / "play/a.mp4")  # served again: now the most recent
    new = tmp_path / "clips/v/5.00-9.00.mp4"
    new.write_bytes(b"\0" * 400_000)
    assert media.trim(keep=new) == 2  # 1.6 MB -> 0.8 MB: the clip and the still used longest ago go
    assert sorted(p.name for p in tmp_path.rglob("*.*")) == ["5.00-9.00.mp4", "a.mp4"]


def test_the_server_process_keeps_the_garbage_collector_off_the_requests(agents_library, monkeypatch):
    """``vidgraph serve`` (``serve.server.run``) raises the collector's thresholds, and what the service loads at
    start (the model, the memory's stores) is frozen out of its sweeps: a full sweep stalled every request."""
    import gc
    import sys

    from vidgraph.serve import server

    app = create_app(agents_library, scripted(), mcp=False, preload=False)
    service = app.state.service
    before, switch = gc.get_threshold(), sys.getswitchinterval()
    monkeypatch.setattr(server._Server, "run", lambda self, *a, **kw: None)
    try:
        server.run(app, port=server.free_port())
        assert gc.get_threshold() == server.GC_THRESHOLD and service.freeze and service.ask_process
        frozen = gc.get_freeze_count()
        service._preload()
        assert gc.get_freeze_count() > frozen
        assert service.library.memory.search("warm up", k=1) is not None  # loaded, and still searches
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        sys.setswitchinterval(switch)
        service.close()
