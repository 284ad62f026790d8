"""Perception tools: one interface, a registry by stage, a cache keyed by (video, tool, version, params).

    from vidgraph.tools import open_video
    ctx = open_video("talk.mp4", store="/tmp/vg")          # probe + content hash
    shots, speech = ctx.get("scan"), ctx.get("asr")          # each tool runs once, then comes from the cache
"""

from __future__ import annotations

from pathlib import Path

from ..config import Settings, load_settings
from .base import ProgressFn, Tool
from .context import VideoContext
from .store import ArtifactStore
from .registry import STAGES, INDEX_STAGES, tool_for


def open_video(path: str | Path, store: str | Path, settings: Settings | None = None,
               video_id: str | None = None, progress: ProgressFn | None = None) -> VideoContext:
    """Probe ``path`` (hashing it unless ``video_id`` is given) and return its context over ``store``."""
    from .decode import probe

    settings = settings or load_settings()
    info = probe(path, video_id=video_id, source="probe@1")
    return VideoContext(info, ArtifactStore(store), settings, progress=progress)


__all__ = ["ArtifactStore", "STAGES", "INDEX_STAGES", "Tool", "VideoContext", "open_video",
           "tool_for"]
