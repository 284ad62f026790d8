"""Benchmark the in-process model's speed per llama.cpp build and CPU variant (not a test).

    python -m vidgraph.eval.bench_llm                                   # the variant this CPU gets, vs the others
    python -m vidgraph.eval.bench_llm --variant zen4 --variant haswell --build /path/to/unpacked/other/wheel

Each configuration runs in its own process (a process loads one CPU backend): the packaged default model reads a
prompt of about 1,000 tokens of transcript-like text and writes 48 tokens, greedy, three times; the median prompt
and generation speeds (tokens/s) are reported with their ratio to the first configuration of the same run.
``--build DIR`` adds another llama-cpp-python install (e.g. a native wheel unpacked into DIR) to compare builds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

_WORKER = "--worker"
_LINE = ("At {t} seconds the narrator says that the channel identification tone of the {n}th programme runs "
         "for four seconds before the speech, and the caption reads Spoken Channel Identification. ")


def _measure(variant: str | None, runs: int, threads: int) -> dict:
    """In this process: load the model on ``variant`` and time prompt reading and writing."""
    import llama_cpp

    from ..config import load_settings
    from ..models.ggml import cpu_backend
    from ..models.packaged import packaged

    settings = load_settings(threads=threads)
    loaded = cpu_backend(variant)
    llm = llama_cpp.Llama(model_path=str(packaged("qwen2.5-coder-1.5b").path(settings)), n_ctx=2048,
                          n_threads=threads, n_gpu_layers=0, verbose=False)
    prompt_speed, write_speed = [], []
    for run in range(runs):
        prompt = f"Run {run}. " + "".join(_LINE.format(t=10 * i, n=i + run) for i in range(28)) + "\nSummary:"
        tokens = llm.tokenize(prompt.encode())
        llm.reset()
        start = time.perf_counter()
        llm.create_completion(tokens, max_tokens=1, temperature=0)
        read = time.perf_counter() - start
        llm.reset()
        start = time.perf_counter()
        out = llm.create_completion(tokens, max_tokens=48, temperature=0)
        total = time.perf_counter() - start
        written = out["usage"]["completion_tokens"]
        prompt_speed.append(len(tokens) / read)
        write_speed.append((written - 1) / max(total - read, 1e-6))
    return {"variant": loaded, "prompt_tokens": len(tokens), "prompt_tok_s": statistics.median(prompt_speed),
            "write_tok_s": statistics.median(write_speed)}


def _run(variant: str | None, build: str | None, runs: int, threads: int) -> dict:
    env = dict(os.environ)
    if build:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (build, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "vidgraph.eval.bench_llm", _WORKER, json.dumps([variant, runs, threads])]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        return {"variant": variant, "error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [_WORKER]:
        print(json.dumps(_measure(*json.loads(argv[1]))))
        return 0
    parser = argparse.ArgumentParser(prog="python -m vidgraph.eval.bench_llm", description=__doc__.split("\n")[0])
    parser.add_argument("--variant", action="append", default=[], help="a CPU variant of the portable build "
                        "(repeatable); the default first: the one this CPU gets by itself")
    parser.add_argument("--build", action="append", default=[], help="another llama-cpp-python install dir")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true", help="one JSON line per configuration")
    args = parser.parse_args(argv)
    configs = [(None, None)] + [(v, None) for v in args.variant] + [(None, b) for b in args.build]
    results = []
    for variant, build in configs:
        result = {**_run(variant, build, args.runs, args.threads), "build": build or "installed"}
        results.append(result)
        base = results[0]
        if args.json:
            print(json.dumps(result))
        elif "error" in result:
            print(f"{result['build']:<28} {str(result['variant']):<14} failed: {result['error']}")
        else:
            ratio = ("" if "error" in base else f"  = {result['prompt_tok_s'] / base['prompt_tok_s']:.2f}x / "
                     f"{result['write_tok_s'] / base['write_tok_s']:.2f}x the first")
            print(f"{result['build'][-28:]:<28} {result['variant']:<14} prompt {result['prompt_tok_s']:6.1f} tok/s"
                  f"  write {result['write_tok_s']:5.1f} tok/s{ratio}", flush=True)
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
