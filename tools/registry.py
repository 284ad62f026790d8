"""Every tool by name, and the one chosen for each stage.

Tools are listed by import path, so listing them imports nothing heavy. Stages:

- ``probe``: duration, streams, frame rate (no decoding);
- ``scan``: one decode pass giving shots (PySceneDetect) and sampled / key frames with thumbnails;
- ``asr``: speech with word timestamps;
- ``speakers``: who speaks when (turns and voices; on by default where its extra is installed);
- ``names``: each name said in a self-introduction or a question heard again alone (with ``speakers``);
- ``ocr``: on-screen text lines merged over time;
- ``detect``: object boxes and per-label time spans;
- ``tags``: whole-frame ImageNet classes.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from ..config import Settings, load_settings
from ..errors import ConfigError, ToolError, VidgraphError
from .base import Tool

TOOLS: dict[str, str] = {
    "probe": "vidgraph.tools.probe:ProbeTool",
    "scan": "vidgraph.tools.scan:ScanTool",
    "asr.faster-whisper": "vidgraph.tools.asr:FasterWhisperTool",
    "asr.whisperx": "vidgraph.tools.asr:WhisperXTool",
    "speakers.resemblyzer": "vidgraph.tools.speakers:ResemblyzerSpeakersTool",
    "names.rehear": "vidgraph.tools.rehear:RehearNamesTool",
    "ocr.paddle": "vidgraph.tools.ocr:PaddleOCRTool",
    "ocr.rapidocr": "vidgraph.tools.ocr:RapidOCRTool",
    "detect.ssd-coco": "vidgraph.tools.detect:SSDCocoTool",
    "detect.yolo": "vidgraph.tools.detect:YoloTool",
    "tags.efficientnet": "vidgraph.tools.tags:EfficientNetTagsTool",
}

STAGES = ("probe", "scan", "asr", "speakers", "names", "ocr", "detect", "tags")
INDEX_STAGES = ("scan", "asr", "speakers", "names", "ocr", "detect", "tags")
"""What ``index`` runs by default (``tags`` costs about 15 ms per key frame and names the scene in the memory)."""
OPTIONAL_STAGES = ("speakers", "names")
"""Default stages left out (not failed) where their tool cannot run, e.g. an install without the extra."""


def default_stages(settings: Settings) -> tuple[str, ...]:
    """``INDEX_STAGES`` less the optional ones that cannot run here."""
    out = []
    for cap in INDEX_STAGES:
        if cap in OPTIONAL_STAGES:
            try:
                if not tool_class(tool_name_for(cap, settings)).availability(settings).ok:
                    continue
            except Exception:  # noqa: BLE001 - a broken optional tool is left out, doctor says why
                continue
        out.append(cap)
    return tuple(out)


def tool_name_for(stage: str, settings: Settings) -> str:
    chosen = {
        "asr": f"asr.{settings.asr_backend}",
        "speakers": f"speakers.{settings.speakers_backend}",
        "names": "names.rehear",
        "ocr": f"ocr.{settings.ocr_backend}",
        "detect": f"detect.{settings.detect_backend}",
        "tags": "tags.efficientnet",
    }.get(stage, stage)
    if chosen not in TOOLS:
        raise ConfigError(f"unknown stage {stage!r}", f"choose from {', '.join(STAGES)}")
    return chosen


def tool_class(name: str) -> type[Tool]:
    try:
        module, cls = TOOLS[name].split(":")
    except KeyError:
        raise ConfigError(f"unknown tool {name!r}", f"available: {', '.join(TOOLS)}") from None
    return getattr(importlib.import_module(module), cls)


def tool_for(capability_or_name: str, settings: Settings | None = None) -> Tool:
    """An instance of the tool for a stage (``"asr"``) or of a named tool (``"asr.whisperx"``)."""
    settings = settings or load_settings()
    name = capability_or_name if capability_or_name in TOOLS else tool_name_for(capability_or_name, settings)
    return tool_class(name)(settings)


def resolve_stages(stages: Iterable[str] | str | None, settings: Settings) -> tuple[str, ...]:
    """Validated stages in order (``probe`` first); raises one line if a tool cannot run here."""
    if stages is None:
        wanted = list(default_stages(settings))
    elif isinstance(stages, str):
        wanted = [c.strip() for c in stages.split(",") if c.strip()]
    else:
        wanted = [c.strip() for item in stages for c in item.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in STAGES]
    if unknown:
        raise ConfigError(f"unknown tool {unknown[0]!r}", f"choose from: {', '.join(STAGES)}")
    if not wanted:
        raise ConfigError("no tools to run", f"choose from: {', '.join(STAGES)}")
    out = ["probe"] + [c for i, c in enumerate(wanted) if c != "probe" and c not in wanted[:i]]
    for cap in out[1:]:
        name = tool_name_for(cap, settings)
        try:
            cls = tool_class(name)
        except VidgraphError:
            raise
        except Exception as e:  # a broken tool module
            raise ToolError(f"tool {name!r} cannot be loaded: {type(e).__name__}: {e}",
                            "run: vidgraph doctor") from e
        available = cls.availability(settings)
        if not available.ok:
            raise ToolError(f"tool {name!r} ({cap}) cannot run here: {available.reason}",
                            available.fix or "run: vidgraph doctor")
    return tuple(out)
