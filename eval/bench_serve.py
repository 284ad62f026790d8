"""Load benchmark of ``vidgraph serve`` (not a test): concurrent askers and searchers against the server on
loopback, for a bounded time, over a synthetic memory of many video-hours.

    python -m vidgraph.eval.bench_serve --hours 100 --videos 100 --seconds 60 --askers 20 --searchers 50

1. A library without video files (built once, kept in ``--work``): ``--videos`` catalog entries of ``--hours`` in
   all, each with synthetic records — shots of 10-50 s, a speech segment every 6-10 s with word times, an
   on-screen line every 20-40 s, objects — turned into the memory by ``Memory.build`` exactly as indexing does
   (events, entities, graph, vectors, keywords). Some facts are planted (codes, names, numbers) so searches match.
2. ``vidgraph serve`` in its own process with the shipped scripted model (``scripted:PATH``: every model turn
   answers at once, so the queue, the agents' tools and the retrieval are what is measured, not a model).
3. ``--askers`` clients each ask a question, wait for the answer or for ``Retry-After`` after a 503, and again;
   ``--searchers`` clients each search, pause ``--think`` seconds, and again; until ``--seconds`` have passed.
   The load starts once the server has loaded its model; the clients start at random over the first second (not
   all in the same instant), and the first 5 s are reported apart as well.
   Questions accepted before the deadline are still waited for: nothing accepted may be lost.

Prints search p50/p95 (target p95 <= 200 ms), asks answered and shed, the server's own counts (accepted = done,
nothing failed) and its memory (RSS, peak), and writes JSON. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NOUNS = ["pump", "invoice", "container", "gate", "budget", "turbine", "locker", "shipment", "generator", "valve",
         "forklift", "warehouse", "contract", "battery", "compressor", "pallet", "crane", "conveyor", "boiler", "drone"]
ADJS = ["red", "north", "broken", "new", "second", "main", "spare", "blue", "old", "heavy", "quiet", "east"]
VERBS = ["replaced", "inspected", "delivered", "closed", "moved", "checked", "repaired", "ordered", "signed"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
NAMES = ["Okafor", "Lindqvist", "Moreau", "Tanaka", "Ibrahim", "Kowalski", "Alvarez", "Chen", "Novak", "Haddad"]
OBJECTS = ["person", "car", "truck", "chair", "laptop", "bottle", "cell phone", "clock", "bicycle", "tv"]


FUNCTION = ["the", "a", "was", "is", "and", "of", "to", "in", "on", "we", "it", "that", "for", "with", "after"]
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + ["tra", "pre", "ston", "ber", "ment", "ing", "ous"]


@functools.cache
def vocabulary(size: int = 4000) -> tuple[list[str], list[float]]:
    """Content words with Zipf weights (rank r: 1/r^1.1), as in real speech: a few words are everywhere, most
    are rare. Pseudo-words, so no word list is needed."""
    rng = random.Random(7)
    words: dict[str, None] = dict.fromkeys(NOUNS + ADJS + VERBS)
    while len(words) < size:
        words["".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 4))))] = None
    ranked = list(words)
    rng.shuffle(ranked)
    return ranked, [1 / (r + 1) ** 1.1 for r in range(len(ranked))]


def _words(rng: random.Random, n: int) -> list[str]:
    words, weights = vocabulary()
    return rng.choices(words, weights, k=n)


def _sentence(rng: random.Random) -> str:
    n = rng.random()
    if n < 0.1:
        return f"Doctor {rng.choice(NAMES)} {rng.choice(VERBS)} the {rng.choice(ADJS)} {rng.choice(NOUNS)} on " \
               f"{rng.choice(DAYS)}."
    if n < 0.2:
        return f"The code for the {rng.choice(NOUNS)} is {rng.choice('ABCDEFGHJK')}{rng.randint(100, 9999)}."
    words = _words(rng, rng.randint(6, 12))
    for i in range(1, len(words), 3):
        words.insert(i, rng.choice(FUNCTION))
    return " ".join(words).capitalize() + "."


def synthetic_records(video_id: str, duration: float, seed: int) -> dict[str, list[Any]]:
    """Records as the tools would make them (no video): shots, speech with word times, on-screen lines, objects."""
    from ..records import ObjectSpan, Shot, Span, TextLine, TranscriptSegment, Word

    rng = random.Random(seed)
    shots, t = [], 0.0
    while t < duration:
        end = min(duration, t + rng.uniform(10, 50))
        shots.append(Shot(video_id=video_id, index=len(shots), span=Span(round(t, 3), round(end, 3)),
                          source="synthetic"))
        t = end
    speech, t = [], rng.uniform(0, 3)
    while t < duration - 5:
        text = _sentence(rng)
        words, w = [], t
        for token in text.split():
            d = 0.12 + 0.05 * len(token)
            words.append(Word(span=Span(round(w, 3), round(w + d, 3)), text=token))
            w += d + 0.05
        speech.append(TranscriptSegment(video_id=video_id, span=Span(round(t, 3), round(w, 3)), text=text,
                                        words=tuple(words), language="en", source="synthetic"))
        t = w + rng.uniform(1.5, 5.0)
    lines, t = [], rng.uniform(0, 10)
    while t < duration - 4:
        text = rng.choice([f"{' '.join(_words(rng, 2)).upper()} {rng.randint(1, 99)}",
                           f"Invoice No. {rng.randint(1000, 9999)}-{rng.choice('ABCD')}",
                           f"{rng.choice(DAYS)} {rng.randint(8, 18)}:00", rng.choice(NAMES),
                           " ".join(_words(rng, 3)).title()])
        lines.append(TextLine(video_id=video_id, span=Span(round(t, 3), round(t + 4, 3)), text=text, score=0.95,
                              box=(0.1, 0.8, 0.6, 0.9), frames=4, source="synthetic"))
        t += rng.uniform(20, 40)
    objects = []
    for shot in shots:
        if rng.random() < 0.5:
            objects.append(ObjectSpan(video_id=video_id, label=rng.choice(OBJECTS), span=shot.span,
                                      max_count=rng.randint(1, 3), score=0.8, frames=int(shot.span.duration),
                                      source="synthetic"))
    return {"scan": shots, "asr": speech, "ocr": lines, "detect": objects}


def synthetic_catalog(folder: Path, videos: int, duration: float) -> list[str]:
    """Catalog entries of ``videos`` H.264 videos of ``duration`` s under ``folder`` (their files do not exist):
    ``site-NN/camera-NNN.mp4``. Returns their ids."""
    from ..index.catalog import Catalog, FileRow
    from ..index.discovery import INDEX_DIR_NAME
    from ..records import ProbeInfo

    index = folder / INDEX_DIR_NAME
    index.mkdir(parents=True, exist_ok=True)
    ids = []
    with Catalog(index / "catalog.sqlite", create=True) as catalog:
        for n in range(videos):
            vid, name = f"{n:032x}", f"site-{n // 10:02d}/camera-{n:03d}.mp4"
            info = ProbeInfo(video_id=vid, path=str(folder / name), size_bytes=int(duration * 250_000),
                             container="mov,mp4,m4a,3gp,3g2,mj2", duration=duration, has_video=True, has_audio=True,
                             width=1280, height=720, fps=25.0, video_codec="h264", audio_codec="aac",
                             audio_rate=48000, source="synthetic")
            catalog.put_files([FileRow(name, info.size_bytes, 0, vid, None)])
            catalog.put_video(info, name)
            ids.append(vid)
    return ids


def build_library(folder: Path, hours: float, videos: int, seed: int = 0) -> dict[str, Any]:
    """The catalog and the memory of ``videos`` synthetic videos of ``hours`` in all (kept: built once)."""
    from ..config import load_settings
    from ..library import Library

    marker = folder / ".vidgraph" / "bench.json"
    if marker.is_file():
        return json.loads(marker.read_text())
    duration = hours * 3600 / videos
    ids = synthetic_catalog(folder, videos, duration)
    library = Library(folder, settings=load_settings(threads=2))
    started = time.perf_counter()
    docs = 0
    for n, vid in enumerate(ids):
        records = synthetic_records(vid, duration, seed * 100_003 + n)
        stats = library.memory.build(vid, duration, records, fingerprint="synthetic", caption=False)
        docs += sum(len(v) for v in records.values())
        print(f"  memory {n + 1}/{videos}: {stats.events} events, {stats.entities} entities "
              f"({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
    meta = {"hours": hours, "videos": videos, "records": docs, "events": sum(len(library.memory.events(v))
                                                                            for v in library.memory.videos()),
            "build_seconds": round(time.perf_counter() - started, 1)}
    marker.write_text(json.dumps(meta))
    return meta


def model_script() -> dict[str, Any]:
    """The scripted model: every turn of the tool loop answers the most common word of the videos (cited where
    the evidence holds it, rejected where it does not)."""
    return {"by": "prompt", "replies": {"tools": {"answer": vocabulary()[0][0], "option": None, "call": 0}}}


def ask_text(rng: random.Random) -> str:
    """A question: half of them of the kinds the index computes (counts, order, shots), half lookups."""
    if rng.random() < 0.5:
        return rng.choice(QUESTIONS)
    return f"What is said about the {' '.join(_words(rng, rng.randint(1, 2)))}?"
QUESTIONS = ["What is the code for the locker?", "How many times is the pump mentioned?", "Who repaired the boiler?",
             "When was the north gate closed?", "What is the invoice number shown?", "Which comes first, the "
             "turbine or the crane?", "How many shots are there?", "What did Doctor Okafor inspect?"]
PLANTED = ["code for the locker", "Doctor Tanaka", "invoice", "Thursday 14:00", "G4417", "compressor inspected",
           "Lindqvist", "the broken pump", "code of the generator"]


def search_text(rng: random.Random) -> str:
    """A query as people type them: 1-4 words of the videos' vocabulary (common and rare), or a planted fact."""
    if rng.random() < 0.3:
        return rng.choice(PLANTED)
    return " ".join(_words(rng, rng.randint(1, 4)))


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (ms)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(q / 100 * len(s) + 0.5)) - 1))]


async def load(url: str, seconds: float, askers: int, searchers: int, think: float, seed: int) -> dict[str, Any]:
    import httpx

    if not url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise SystemExit("the benchmark only talks to loopback")
    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    out: dict[str, Any] = {"search_ms": [], "search_errors": 0, "search_error_samples": [], "ask_ms": [],
                           "answered": 0, "shed": 0,
                           "ask_errors": [], "sent": 0, "answers": [], "search_server_ms": [],
                           "search_at": []}
    limits = httpx.Limits(max_connections=askers + searchers + 4, max_keepalive_connections=askers + searchers + 4)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=httpx.Timeout(600, connect=30)) as client:
        began, cpu0 = time.monotonic(), time.process_time()

        async def searcher(i: int) -> None:
            await asyncio.sleep(rng.uniform(0, think or 0.1))  # clients arrive over the first pause, not at once
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                why = ""
                try:
                    r = await client.get("/api/search", params={"q": search_text(rng), "k": 10})
                    ok = r.status_code == 200 and isinstance(r.json(), list)
                    why = "" if ok else f"{r.status_code}: {r.text[:200]}"
                except httpx.HTTPError as e:
                    ok, why = False, f"{type(e).__name__}: {e}"[:200]
                if ok:
                    out["search_ms"].append(1000 * (time.perf_counter() - t0))
                    out["search_at"].append(time.monotonic() - began)
                    timing = r.headers.get("server-timing", "")
                    if "dur=" in timing:
                        out["search_server_ms"].append(float(timing.rpartition("dur=")[2]))
                else:
                    out["search_errors"] += 1
                    if len(out["search_error_samples"]) < 5:
                        out["search_error_samples"].append(why)
                if think:
                    await asyncio.sleep(min(rng.expovariate(1 / think), max(0.0, deadline - time.monotonic())))

        async def asker(i: int) -> None:
            await asyncio.sleep(rng.uniform(0, 1.0))
            n = 0
            while time.monotonic() < deadline:
                n += 1
                question = f"{ask_text(rng)} (asker {i}, {n})"
                out["sent"] += 1
                t0 = time.perf_counter()
                try:
                    r = await client.post("/api/ask", json={"question": question})
                except httpx.HTTPError as e:
                    out["ask_errors"].append(repr(e))
                    continue
                if r.status_code == 200:
                    out["answered"] += 1
                    out["ask_ms"].append(1000 * (time.perf_counter() - t0))
                    out["answers"].append(r.json()["question"] == question)
                elif r.status_code == 503:
                    out["shed"] += 1
                    wait = float(r.headers.get("retry-after", "1"))
                    await asyncio.sleep(min(wait, max(0.0, deadline - time.monotonic())))
                else:
                    out["ask_errors"].append(f"{r.status_code} {r.text[:200]}")

        await asyncio.gather(*[searcher(i) for i in range(searchers)], *[asker(i) for i in range(askers)])
        out["wall"] = round(time.monotonic() - began, 2)
        out["client_cpu_seconds"] = round(time.process_time() - cpu0, 1)
        out["health"] = (await client.get("/api/health")).json()
    return out


def _status_mb(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024)
    return out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """The server's child processes (the question process)."""
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):  # a child belongs to the thread that started it
        try:
            kids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return kids


def _family_mb(pid: int) -> dict[str, float]:
    """RSS and peak of the server and of its children, in MB."""
    own = _status_mb(pid)
    kids = [_status_mb(c) for c in _children(pid)]
    return {"VmRSS": own.get("VmRSS", 0) + sum(k.get("VmRSS", 0) for k in kids),
            "VmHWM": own.get("VmHWM", 0) + sum(k.get("VmHWM", 0) for k in kids),
            "server": own.get("VmRSS", 0), "children": sum(k.get("VmRSS", 0) for k in kids)}


def serve(folder: Path, script: Path, port: int, queue: int, questions: str = "process") -> subprocess.Popen:
    cmd = [sys.executable, "-m", "vidgraph.cli", "serve", str(folder), "--port", str(port), "--model",
           f"scripted:{script}", "--queue", str(queue), "--log-level", "warning", "--no-mcp",
           "--questions", questions]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={k: v for k, v in os.environ.items() if k != "VIDGRAPH_TOKEN"})
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped: {proc.stderr.read()[-2000:]}")
        try:
            health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2)
            health.raise_for_status()
            if not health.json().get("model_loaded"):  # the question worker is still loading: not yet serving
                raise httpx.HTTPError("loading")
            httpx.get(f"http://127.0.0.1:{port}/api/search", params={"q": "warm up"}, timeout=120)  # loads the embedder
            return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start in 120 s")


def measure(folder: Path, script: Path, args: argparse.Namespace, questions: str) -> dict[str, Any]:
    """One load run against a fresh server answering its questions in a ``process`` or a ``thread``."""
    from ..serve.server import free_port

    port = args.port or free_port()
    proc = serve(folder, script, port, args.queue, questions)
    cpu = lambda: _cpu_seconds(proc.pid) + sum(_cpu_seconds(c) for c in _children(proc.pid))  # noqa: E731
    try:
        before, cpu0, load0 = _family_mb(proc.pid), cpu(), os.getloadavg()[0]
        result = asyncio.run(load(f"http://127.0.0.1:{port}", args.seconds, args.askers, args.searchers, args.think,
                                  args.seed))
        after, cpu1, load1 = _family_mb(proc.pid), cpu(), os.getloadavg()[0]
    finally:
        proc.send_signal(signal.SIGINT)  # a clean stop: accepted questions are answered first
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = -9
    stats = result["health"]["asks"]
    s, a = result["search_ms"], result["ask_ms"]
    return {
        "questions": questions, "seconds": args.seconds, "askers": args.askers, "searchers": args.searchers,
        "think": args.think, "queue": args.queue, "wall": result["wall"],
        "search": {"n": len(s), "rps": round(len(s) / result["wall"], 1), "p50_ms": round(_pct(s, 50), 1),
                   "p95_ms": round(_pct(s, 95), 1), "max_ms": round(max(s, default=0), 1),
                   "errors": result["search_errors"],
                   "server_p50_ms": round(_pct(result["search_server_ms"], 50), 1),
                   "server_p95_ms": round(_pct(result["search_server_ms"], 95), 1),
                   "first_5s_p95_ms": round(_pct([m for m, t in zip(s, result["search_at"]) if t < 5], 95), 1),
                   "after_5s_p95_ms": round(_pct([m for m, t in zip(s, result["search_at"]) if t >= 5], 95), 1)},
        "ask": {"sent": result["sent"], "answered": result["answered"], "shed_503": result["shed"],
                "errors": len(result["ask_errors"]), "p50_ms": round(_pct(a, 50), 1), "p95_ms": round(_pct(a, 95), 1),
                "n": len(a), "own_answers": all(result["answers"]), "server": stats},
        "lost": stats.get("accepted", 0) - stats.get("done", 0) - stats.get("failed", 0) - stats.get("cancelled", 0),
        "answered_is_done": result["answered"] == stats.get("done", 0),
        "server_mb": {"rss_before": before.get("VmRSS"), "rss_after": after.get("VmRSS"), "peak": after.get("VmHWM"),
                      "question_process": after.get("children")},
        "server_cpu_seconds": round(cpu1 - cpu0, 1), "load_average": [round(load0, 2), round(load1, 2)],
        "client_cpu_seconds": result["client_cpu_seconds"], "cores": os.cpu_count(), "server_exit": code,
        "ask_error_samples": result["ask_errors"][:5],
        "search_error_samples": result["search_error_samples"],
    }


def show(meta: dict[str, Any], args: argparse.Namespace, questions: str, r: dict[str, Any]) -> None:
    stats, search, ask, mb = r["ask"]["server"], r["search"], r["ask"], r["server_mb"]
    wall = r["wall"]
    print(f"\nlibrary: {meta['videos']} videos, {meta['hours']:g} video-hours, {meta['events']} events "
          f"({meta['records']} records; built in {meta['build_seconds']:.0f} s)")
    print(f"load: {args.askers} askers + {args.searchers} searchers (think {args.think:g} s) for {args.seconds:g} s "
          f"(wall {wall:.1f} s, queue {args.queue}); questions answered in a {questions}")
    print(f"{'':<10}{'n':>7}{'rps':>7}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    print(f"{'search':<10}{search['n']:>7}{search['rps']:>7}{search['p50_ms']:>9}{search['p95_ms']:>9}"
          f"{search['max_ms']:>9}   target p95 <= 200 ms: {'met' if search['p95_ms'] <= 200 else 'NOT met'}")
    print(f"{'  server':<10}{'':>7}{'':>7}{search['server_p50_ms']:>9}{search['server_p95_ms']:>9}   (Server-Timing: "
          f"from the request's arrival to its response; the rest is the loopback and the load's own client)")
    print(f"search p95 in the first 5 s {search['first_5s_p95_ms']} ms, after {search['after_5s_p95_ms']} ms")
    if search["errors"]:
        print(f"search errors: {search['errors']} (first: {'; '.join(r['search_error_samples'][:2])})")
    print(f"{'ask':<10}{ask['n']:>7}{round(ask['n'] / wall, 1):>7}{ask['p50_ms']:>9}{ask['p95_ms']:>9}")
    print(f"asks: {ask['sent']} sent, {ask['answered']} answered, {ask['shed_503']} shed (503), {ask['errors']} "
          f"errors; server: accepted {stats.get('accepted')}, done {stats.get('done')}, failed {stats.get('failed')}, "
          f"rejected {stats.get('rejected')}; lost {r['lost']}; answered = done: {r['answered_is_done']}; each answer "
          f"its own question: {ask['own_answers']}")
    cpu, (load0, load1) = r["server_cpu_seconds"], r["load_average"]
    print(f"server CPU {cpu:.1f} s in {wall:.1f} s of wall ({cpu / wall:.2f} of {r['cores']} cores); machine load "
          f"average {load0:.1f} -> {load1:.1f} (other work shares the cores); the load's clients: "
          f"{r['client_cpu_seconds']:.1f} CPU-s on the same cores")
    print(f"server RSS {mb['rss_before']} MB before, {mb['rss_after']} MB after (question process "
          f"{mb['question_process']} MB), peak {mb['peak']} MB; exit code {r['server_exit']} after SIGINT")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=100.0, help="video-hours in the memory (default 100)")
    parser.add_argument("--videos", type=int, default=100, help="videos they are spread over (default 100)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the load (default 60)")
    parser.add_argument("--askers", type=int, default=20)
    parser.add_argument("--searchers", type=int, default=50)
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean pause of a searcher between searches, s (default 1; 0: back to back)")
    parser.add_argument("--queue", type=int, default=8, help="questions that may wait (default 8)")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--questions", default="thread,process",
                        help="where the server answers questions, one run each: thread, process (default both, "
                             "the thread first: the baseline)")
    parser.add_argument("--work", type=Path, help="keeps the synthetic library (reused across runs)")
    parser.add_argument("--out", type=Path, help="JSON report (default: WORK/bench_serve-....json)")
    args = parser.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="vidgraph-bench-serve-"))
    folder = work / f"library-{args.hours:g}h-{args.videos}v-s{args.seed}-zipf"
    print(f"building the synthetic library in {folder} (once)", file=sys.stderr)
    meta = build_library(folder, args.hours, args.videos, args.seed)
    script = work / "scripted.json"
    script.write_text(json.dumps(model_script()))
    reports = {}
    for questions in args.questions.split(","):
        reports[questions] = measure(folder, script, args, questions)
        show(meta, args, questions, reports[questions])
    report = reports[args.questions.split(",")[-1]]
    if len(reports) > 1:
        print("\n" + "  ".join(f"{q}: search p95 {r['search']['p95_ms']} ms, asks answered {r['ask']['answered']}"
                               for q, r in reports.items()))
        report = {**report, "by_questions": reports}
    report = {"library": meta, **report}
    out = args.out or work / f"bench_serve-{args.hours:g}h-{args.askers}a-{args.searchers}s-t{args.think:g}.json"
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")
    return report


if __name__ == "__main__":
    main()
