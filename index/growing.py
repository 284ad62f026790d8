"""Growing files in an ``index`` run (the rules are in ``index/live.py``): which files are read as they grow, and
what each step leaves in the catalog.

A run with ``Plan.live`` (seconds; ``vidgraph watch`` sets it) takes a file written less than that long ago as
growing: it is not hashed but indexed up to where it can be read, under its provisional id; a file with a ``live``
row that stopped changing — nothing written for that long, and no growth since its last step (writers flush in
bursts) — gets its last step (read to its end, hashed, adopted under its content hash).
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

from .artifacts import forget
from .catalog import Catalog, LiveRow
from .discovery import Found
from .live import MIN_SIZE, LiveOutcome, LiveSpec, adopt, grown, head_of, live_id

WAIT = "wait"
"""``identify``: the file grows but is too short to read yet; leave it for a later run."""


class Growing:
    def __init__(self, catalog: Catalog, artifacts: Path, settle: float) -> None:
        self.catalog, self.artifacts, self.settle = catalog, artifacts, settle
        self.rows = catalog.live_rows()

    def identify(self, f: Found, st: os.stat_result) -> tuple[str, LiveSpec] | str | None:
        """(provisional id, orders) for a growing file or one whose last step is due; ``WAIT``; None: an
        ordinary file (hash it). A file that is not a growth of what was read of it is dropped first."""
        row = self.rows.get(f.rel)
        recent = time.time() - st.st_mtime < self.settle
        if row is not None and not grown(f.path, row):
            forget(self.catalog, self.artifacts, row.video_id)
            self.rows.pop(f.rel, None)
            row = None
        if row is None and not recent:
            return None
        final = not recent and (row is None or st.st_size == row.size)  # it did not grow since the last step either
        if st.st_size < MIN_SIZE:
            return WAIT
        head = row.head if row is not None else head_of(f.path)
        vid = row.video_id if row is not None else live_id(f.rel, head)
        return vid, LiveSpec(f.rel, final=final, head=head, size=st.st_size)

    def finished(self, spec: LiveSpec, vid: str, outcome: LiveOutcome, ok: bool) -> str:
        """Record a step; the id the file is indexed under now (its content hash after the last step)."""
        if not spec.final or outcome.final_id is None or not ok:
            self.catalog.put_live(LiveRow(spec.path, vid, outcome.size, outcome.mtime_ns, spec.head, outcome.tail,
                                          outcome.until))
            return vid
        new = outcome.final_id
        entry = next(iter(self.catalog.entries(Path("/"), [vid])), None)
        known = self.catalog.entries(Path("/"), [new])
        if entry is not None and not known:
            adopt(self.artifacts, vid, new)
            self.catalog.put_video(replace(entry.info, video_id=new, duration=entry.info.duration), spec.path)
            for stage in entry.stages:
                self.catalog.put_stage(new, stage)
        from .catalog import FileRow

        self.catalog.put_files([FileRow(spec.path, outcome.size, outcome.mtime_ns, new, None)])
        self.catalog.forget_video(vid)
        shutil.rmtree(self.artifacts / vid, ignore_errors=True)
        self.catalog.drop_live(spec.path)
        return new


__all__ = ["WAIT", "Growing"]
