"""Reading what the index holds for a video: one stage's records, the inputs of its memory; forgetting a video."""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import StoreError
from ..records import Record
from ..tools.store import InvalidArtifact, read_artifact
from .catalog import Catalog, VideoEntry

MEMORY_INPUTS = ("scan", "asr", "speakers", "ocr", "detect", "tags")
"""Stages whose records go into a video's memory (those that are indexed)."""


def stage_records(entry: VideoEntry, name: str, artifacts: Path, folder: Path) -> list[Record]:
    """The records of one indexed stage of a video; a one-line ``StoreError`` saying what to run if not."""
    if name == "probe":
        return [entry.info]
    stage = entry.stage(name)
    if stage is None:
        raise StoreError(f"{entry.name}: {name} is not indexed",
                         f"run: vidgraph index {folder} --stages {name}")
    if stage.status != "done":
        raise StoreError(f"{entry.name}: {name} failed: {stage.error}",
                         f"fix the cause, then run: vidgraph index {folder} --retry-failed")
    path = artifacts / entry.video_id / stage.artifact
    try:
        records = read_artifact(path, artifacts, {"video_id": entry.video_id})
    except InvalidArtifact as e:
        raise StoreError(f"{entry.name}: the {name} artifact {path} is damaged ({e.why})",
                         f"run: vidgraph index {folder} (it is made again from the video)") from None
    if records is None:
        raise StoreError(f"{entry.name}: the {name} artifact is missing ({path})",
                         f"run: vidgraph index {folder} --stages {name}")
    return records


def memory_inputs(entry: VideoEntry, artifacts: Path, folder: Path) -> tuple[dict[str, list[Record]], list[str]]:
    """The records a video's memory is built from (every indexed input stage) and their artifact names."""
    records, names = {}, []
    for cap in MEMORY_INPUTS:
        stage = entry.stage(cap)
        if stage is not None and stage.status == "done":
            records[cap] = stage_records(entry, cap, artifacts, folder)
            names.append(stage.artifact)
    if "scan" not in records:
        raise StoreError(f"{entry.name}: scan is not indexed, so it has no shots to build events from",
                         f"run: vidgraph index {folder}")
    return records, names


def forget(catalog: Catalog, artifacts: Path, video_id: str) -> None:
    """Catalog rows first (one transaction), then the artifacts; its memory goes at the next index or forget."""
    catalog.forget_video(video_id)
    shutil.rmtree(artifacts / video_id, ignore_errors=True)
