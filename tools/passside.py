"""What both sides of the one pass (``tools.onepass``) share: their streams and items, the journal and the
checkpoint state, a stage's failure."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import ToolError, VidgraphError, os_failure
from ..records import Record
from .store import atomic_write_text, params_hash
from .stream import PassView, Stream

PASS_VERSION = "1"


class DependencyError(VidgraphError):
    """A stage that could not run because the stage it reads failed (``cause``)."""

    def __init__(self, cause: str, error: VidgraphError) -> None:
        self.cause = cause
        super().__init__(str(error))


class _Side:
    """What both sides share: the streams, their items, the journal and the state of a checkpoint."""

    name = ""

    def __init__(self, owner: Any, streams: dict[str, Stream]) -> None:
        self.owner, self.ctx, self.streams = owner, owner.ctx, streams
        self.items: dict[str, list[Any]] = {s: [] for s in streams}
        self.folder: Path | None = None
        self._journal: Any = None
        self._pending: list[str] = []
        self._lock = threading.Lock()
        if owner.checkpoints is not None and streams:
            key = params_hash({s: [self.ctx.tool(s).name, self.ctx.tool(s).version, self.ctx.tool(s).params()]
                               for s in sorted(streams)})
            self.folder = owner.checkpoints / f"pass{PASS_VERSION}-{self.name}-{key}"

    def fail(self, stage: str, error: Exception, cause: str = "") -> None:
        if not isinstance(error, VidgraphError):
            error = ToolError(f"{self.ctx.path}: {self.ctx.tool(stage).name} failed: {type(error).__name__}: "
                              f"{error}", "run with --debug for the traceback; report it if the file plays elsewhere")
        self.streams.pop(stage, None)
        self.owner.events.put(("error", stage, DependencyError(cause, error) if cause else error))

    def spent(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        seconds = self.owner.result.seconds
        seconds[stage] = seconds.get(stage, 0.0) + now - since
        return now

    def add(self, stage: str, items: list[Any]) -> None:
        lines = [json.dumps({"s": stage, "i": item}, ensure_ascii=False) for item in items] \
            if self.folder is not None else []
        with self._lock:
            self.items[stage].extend(items)
            self._pending += lines

    # -- checkpoints --------------------------------------------------------------------------------------------
    def resume(self) -> dict[str, Any] | None:
        """The state of the last checkpoint (items loaded, streams restored), or None to start at the beginning."""
        if self.folder is None:
            return None
        state_file, journal = self.folder / "state.json", self.folder / "journal.jsonl"
        state = None
        try:
            state = json.loads(state_file.read_text()) if state_file.is_file() else None
        except (OSError, ValueError):
            state = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if state is None:
                journal.unlink(missing_ok=True)
            else:
                with open(journal, "r+b") as f:  # what was written after the checkpoint is not trusted
                    f.truncate(state["journal"])
                with open(journal, encoding="utf-8") as f:
                    for line in f:
                        entry = json.loads(line)
                        if entry["s"] in self.items:
                            self.items[entry["s"]].append(entry["i"])
                for stage, stream in self.streams.items():
                    stream.restore(state["streams"].get(stage, {}))
            self._journal = open(journal, "a", encoding="utf-8")
        except OSError as e:
            raise os_failure(e, self.folder) from e
        return state

    def checkpoint(self, position: dict[str, Any]) -> None:
        if self.folder is None or self._journal is None:
            return
        try:
            with self._lock:
                pending, self._pending = self._pending, []
            if pending:
                self._journal.write("\n".join(pending) + "\n")
            self._journal.flush()
            os.fsync(self._journal.fileno())
            state = {"journal": self._journal.tell(), "streams": {s: st.state() for s, st in self.streams.items()},
                     **position}
            atomic_write_text(self.folder / "state.json", json.dumps(state))
        except OSError as e:
            raise os_failure(e, self.folder) from e

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    def finish(self, records: dict[str, list[Record]]) -> None:
        for stage, recs in records.items():
            self.owner.events.put(("stage", stage, recs))

    def derive(self, stage: str, view: PassView) -> list[Record] | None:
        stream = self.streams.get(stage)
        if stream is None:
            return None
        since = time.perf_counter()
        try:
            return stream.records(self.items[stage], view)
        except Exception as e:  # noqa: BLE001 - one stage's failure
            self.fail(stage, e)
            return None
        finally:
            self.spent(stage, since)
