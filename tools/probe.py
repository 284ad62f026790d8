"""probe: duration, streams, resolution and frame rate of a video, from its headers."""

from __future__ import annotations

from ..records import Record
from .base import Tool
from .context import VideoContext
from .decode import probe


class ProbeTool(Tool):
    name = "probe"
    stage = "probe"
    version = "1"
    modules = ("av",)

    def run(self, ctx: VideoContext) -> list[Record]:
        return [probe(ctx.path, video_id=ctx.video_id, source=self.source)]
