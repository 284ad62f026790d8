"""Perception tools: one interface, a registry by capability, a cache keyed by (video, tool, version, params).

    from vidgraph.tools import analyze
    records = analyze("talk.mp4", ["scan", "asr"], store="/tmp/vg")   # {"scan": [...], "asr": [...]}
"""

from __future__ import annotations

from pathlib import Path

from ..config import Settings, load_settings
from ..records import Record
from .base import ArtifactStore, ProgressFn, Tool, VideoContext
from .registry import CAPABILITIES, INDEX_CAPABILITIES, tool_for


def open_video(path: str | Path, store: str | Path, settings: Settings | None = None,
               video_id: str | None = None, progress: ProgressFn | None = None) -> VideoContext:
    """Probe ``path`` (hashing it unless ``video_id`` is given) and return its context over ``store``."""
    from .decode import probe

    settings = settings or load_settings()
    info = probe(path, video_id=video_id, source="probe@1")
    return VideoContext(info, ArtifactStore(store), settings, progress=progress)


def analyze(path: str | Path, capabilities: list[str] | tuple[str, ...] = INDEX_CAPABILITIES,
            store: str | Path = ".vidgraph/artifacts", settings: Settings | None = None) -> dict[str, list[Record]]:
    """Run the tools for ``capabilities`` on one video (cached) and return their records."""
    ctx = open_video(path, store, settings)
    return {cap: ctx.get(cap) for cap in capabilities}


__all__ = ["ArtifactStore", "CAPABILITIES", "INDEX_CAPABILITIES", "Tool", "VideoContext", "analyze", "open_video",
           "tool_for"]
