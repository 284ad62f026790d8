"""Benchmark the memory on a generated haystack with planted facts (not a test).

    python -m vidgraph.eval.bench_memory --minutes 10 [--caption] [--videos 2] [--out DIR] [--work DIR]

Generates a haystack (``vidgraph.eval.haystack``), runs the perception tools on it, then builds the memory in a
fresh process per mode (captioning off; with ``--caption`` also on) and measures build time and that process's
peak memory. Then asks the retrieval queries, one per needle and reworded ones (``Memory.search`` over all videos,
k=5): a hit is a returned event of the right video whose span overlaps a truth span. Reports top-1/top-5 recall
per kind, how many of a multi-span needle's spans the top 5 cover, whether a name said in one scene and shown in
another became one entity, what the tools themselves read of each needle, and the top-1 scores of unanswerable
queries beside answerable ones. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from .haystack import NEEDLE_KINDS, RETRIEVAL_KINDS, Haystack, Needle, Query, make_haystack, normalize

Span2 = tuple[float, float]


def _overlap(a: Span2, b: Span2) -> bool:
    return min(a[1], b[1]) > max(a[0], b[0])


def _span(x) -> Span2:
    return (float(x.span.start), float(x.span.end))


def _status_mb(field: str) -> float:
    """``VmRSS`` / ``VmHWM`` (peak) of this process in MB; ``ru_maxrss`` where there is no /proc. (``ru_maxrss``
    survives exec, so a spawned child would report its parent's peak; ``VmHWM`` belongs to the process image.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        pass


def tool_recovery(hay: Haystack, library) -> dict[str, dict[str, int]]:
    """Per needle kind: occurrences planted, and read by the tools at their place (``Haystack.expected`` in the
    overlapping ASR segments / OCR lines; the label among the detected objects)."""
    from ..records import ObjectSpan, TextLine, TranscriptSegment

    out: dict[str, dict[str, int]] = {k: {"planted": 0, "found": 0} for k in NEEDLE_KINDS}
    for path in hay.videos:
        entry = library.get(path)
        speech = [r for r in library.records(entry, "asr") if isinstance(r, TranscriptSegment)]
        lines = [r for r in library.records(entry, "ocr") if isinstance(r, TextLine)]
        objects = [r for r in library.records(entry, "detect") if isinstance(r, ObjectSpan)]
        for n in (n for n in hay.needles if n.video == Path(path).name):
            for i, (span, modality) in enumerate(zip(n.spans, n.modalities)):
                want = hay.expected(n, i)
                if modality == "picture":
                    ok = any(o.label == want and _overlap(_span(o), span) for o in objects)
                else:
                    seen = speech if modality == "speech" else lines
                    ok = want in normalize(" ".join(r.text for r in seen if _overlap(_span(r), span)))
                out[n.kind]["planted"] += 1
                out[n.kind]["found"] += int(ok)
    return out


def _measure(folder: str, index_dir: str, caption: bool, model: str | None, k: int) -> dict[str, Any]:
    """In a fresh process: build every video's memory, then run the queries."""
    from ..config import load_settings
    from ..library import Library

    hay = Haystack.load(folder)
    library = Library(folder, index_dir=index_dir, settings=load_settings(threads=2, caption=caption))
    _reset_peak()
    base_mb = _status_mb("VmRSS")
    ids = {Path(v).name: library.get(v).video_id for v in hay.videos}
    library.memory.keep_only(set(ids.values()))  # an earlier haystack in the same index is gone
    builds = []
    start = time.perf_counter()
    for name, vid in ids.items():
        stats = library.build_memory(vid, caption=caption, model=model)
        builds.append({"video": name, "events": stats.events, "entities": stats.entities,
                       "captions": stats.captions, "seconds": stats.seconds,
                       "model_calls": getattr(stats, "model_calls", 0), "tokens": getattr(stats, "tokens", 0)})
    build_seconds = time.perf_counter() - start
    peak_mb = _status_mb("VmHWM")
    memory = library.memory
    memory.search("warm-up", k=1)  # load the embedder before timing queries
    start = time.perf_counter()
    queries = [_ask(memory, q, ids, k) for q in hay.queries if q.kind in RETRIEVAL_KINDS or not q.answerable]
    search_ms = 1000 * (time.perf_counter() - start) / max(1, len(queries))
    merges = [_merged(memory, n, ids[n.video]) for n in hay.needles if n.kind == "name_cross"]
    return {"caption": caption, "build_seconds": round(build_seconds, 2), "base_mb": round(base_mb),
            "peak_mb": round(peak_mb), "builds": builds, "queries": queries, "merges": merges,
            "search_ms": round(search_ms, 1)}


def _ask(memory, q: Query, ids: dict[str, str], k: int) -> dict[str, Any]:
    """One query: rank of the first hit (an event of the right video overlapping a truth span), spans covered."""
    hits = memory.search(q.text, k=k)
    want = ids.get(q.video) if q.video else None

    def hit(h, span: Span2) -> bool:
        return h.event.video_id == want and _overlap(_span(h.event), span)

    good = [any(hit(h, s) for s in q.spans) for h in hits]
    return {"id": q.id, "kind": q.kind, "text": q.text, "rank": good.index(True) + 1 if any(good) else None,
            "covered": sum(any(hit(h, s) for h in hits) for s in q.spans), "spans": len(q.spans),
            "top_score": hits[0].score if hits else None,
            "top": [{"video": h.event.video_id, "span": _span(h.event), "score": round(h.score, 4),
                     "reasons": list(h.reasons)} for h in hits[:3]]}


def _merged(memory, n: Needle, video_id: str) -> dict[str, Any]:
    """Did the name said in one scene and shown in another become one entity?"""
    entities = memory.entities(video_id)
    said, shown = n.spans[n.modalities.index("speech")], n.spans[n.modalities.index("text")]

    def at(e, span: Span2, modality: str) -> bool:
        return any(m.modality == modality and _overlap(_span(m), span) for m in e.mentions)

    merged = [e.name for e in entities if at(e, said, "speech") and at(e, shown, "text")]
    return {"needle": n.id, "name": n.value, "merged": bool(merged), "entity": merged,
            "said_entities": sorted({e.name for e in entities if at(e, said, "speech")}),
            "shown_entities": sorted({e.name for e in entities if at(e, shown, "text")})}


def _in_child(folder: str, index_dir: str, caption: bool, model: str | None, k: int) -> dict[str, Any]:
    """``_measure`` in a fresh process (its own peak memory); a failure becomes the run's ``error``."""
    from ..errors import VidgraphError

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1, maxtasksperchild=1) as pool:
        try:
            return pool.apply(_measure, (folder, index_dir, caption, model, k))
        except VidgraphError as e:
            return {"caption": caption, "error": f"{type(e).__name__}: {e}"}


def summarise(run: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per retrieval kind (and all needle kinds together): queries, top-1 and top-k recall, mean share of truth
    spans covered by the top k."""
    def row(rows: list[dict[str, Any]]) -> dict[str, float]:
        n = max(1, len(rows))
        return {"n": len(rows), "top1": sum(q["rank"] == 1 for q in rows) / n,
                "topk": sum(q["rank"] is not None for q in rows) / n,
                "coverage": sum(q["covered"] / q["spans"] for q in rows) / n}

    out = {kind: row([q for q in run["queries"] if q["kind"] == kind]) for kind in RETRIEVAL_KINDS
           if any(q["kind"] == kind for q in run["queries"])}
    out["all needles"] = row([q for q in run["queries"] if q["kind"] in NEEDLE_KINDS])
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of each video (default 10)")
    parser.add_argument("--videos", type=int, default=1, help="videos in the haystack (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--caption", action="store_true", help="also build the memory with captioning on")
    parser.add_argument("--model", help="captioning model spec (default: settings vlm or llm)")
    parser.add_argument("-k", type=int, default=5, help="hits per query (default 5)")
    parser.add_argument("--work", type=Path, help="keep the haystack and its index here (reused across runs)")
    parser.add_argument("--out", type=Path, help="folder for the JSON report (default: the work folder)")
    args = parser.parse_args(argv)

    from ..config import load_settings
    from ..library import Library

    work = args.work or Path(tempfile.mkdtemp(prefix="vidgraph-bench-memory-"))
    folder = work / f"haystack-{args.minutes:g}min-s{args.seed}-v{args.videos}"
    t0 = time.perf_counter()
    hay = make_haystack(folder, args.minutes, args.seed, args.videos)
    generate_seconds = time.perf_counter() - t0
    index_dir = work / f"index-{folder.name}"
    library = Library(folder, index_dir=index_dir, settings=load_settings(threads=2, caption=False))
    t0 = time.perf_counter()
    report = library.index(progress=False, memory=False)
    index_seconds = time.perf_counter() - t0
    if report.failures:
        raise SystemExit("indexing failed: " + "; ".join(r.error for r in report.failures))
    recovery = tool_recovery(hay, library)

    runs = [_in_child(str(folder), str(index_dir), caption, args.model, args.k)
            for caption in ([False, True] if args.caption else [False])]
    result = {"minutes": args.minutes, "videos": args.videos, "seed": args.seed, "k": args.k,
              "generator": hay.params, "generate_seconds": round(generate_seconds, 1),
              "index_seconds": round(index_seconds, 1), "tool_recovery": recovery,
              "runs": [{**run, "summary": summarise(run)} if "error" not in run else run for run in runs]}

    minutes = sum(hay.durations) / 60
    print(f"\nhaystack: {len(hay.videos)} video(s), {minutes:.1f} min, {len(hay.needles)} needles; generated in "
          f"{generate_seconds:.0f} s, tools indexed in {index_seconds:.0f} s")
    print("tools found: " + ", ".join(f"{k} {v['found']}/{v['planted']}" for k, v in recovery.items()))
    for run in result["runs"]:
        if "error" in run:
            print(f"\nmemory, captioning {'on' if run['caption'] else 'off'}: FAILED: {run['error']}")
            continue
        events = sum(b["events"] for b in run["builds"])
        entities = sum(b["entities"] for b in run["builds"])
        print(f"\nmemory, captioning {'on' if run['caption'] else 'off'}: built in {run['build_seconds']:.1f} s "
              f"({events} events, {entities} entities, {sum(b['captions'] for b in run['builds'])} captions), "
              f"peak RSS {run['peak_mb']} MB (before: {run['base_mb']} MB), search {run['search_ms']} ms/query")
        print(f"{'kind':<15} {'n':>3} {'top-1':>6} {'top-' + str(args.k):>6} {'spans covered':>14}")
        for kind, row in run["summary"].items():
            print(f"{kind:<15} {row['n']:>3} {row['top1']:6.2f} {row['topk']:6.2f} {row['coverage']:14.2f}")
        for m in run["merges"]:
            print(f"name_cross {m['name']!r}: {'merged into ' + repr(m['entity']) if m['merged'] else 'NOT merged'}"
                  f" (said: {m['said_entities']}, shown: {m['shown_entities']})")
        answerable = [q["top_score"] for q in run["queries"] if q["kind"] in NEEDLE_KINDS and q["top_score"]]
        unanswerable = [q["top_score"] for q in run["queries"] if q["kind"] == "unanswerable" and q["top_score"]]
        if answerable and unanswerable:
            print(f"top-1 score: answerable min {min(answerable):.3f} / mean {sum(answerable) / len(answerable):.3f};"
                  f" unanswerable max {max(unanswerable):.3f}")
        for q in run["queries"]:
            if q["kind"] in RETRIEVAL_KINDS and q["rank"] != 1:
                print(f"  miss@1 {q['kind']}: {q['text']!r} rank {q['rank']}; top: "
                      + "; ".join(f"{t['span'][0]:.0f}-{t['span'][1]:.0f}s {t['score']:.3f} {','.join(t['reasons'])}"
                                  for t in q["top"]))
    out = (args.out or work) / f"bench_memory-{args.minutes:g}min-s{args.seed}-v{args.videos}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"\nwrote {out}")
    return result


if __name__ == "__main__":
    main()
