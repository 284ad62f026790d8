"""names: each name the transcript heard in a self-introduction or a question, heard again on its own.

The transcript decodes speech greedily, window by window, each window prompted with the one before; a name is the
word it most often mishears ("I'm Hugo" written "I'm Udo", Belinda as Melinda), and a mishearing that is a real
name passes every spelling test. This stage looks closer where a name is at stake: the few seconds around each
name a rule of ``tools.speaker_names`` would link are decoded again alone, with a wider search (beam 5, no prompt,
the same Whisper model), and a ``HeardAgain`` record keeps what that second hearing heard. A speaker is named from
speech only when both hearings spell the name alike (``speaker_names.name_speakers``); the screen needs no second
hearing. About a second of decoding per name, next to minutes of transcript.
"""

from __future__ import annotations

from typing import Any

from ..config import Settings, load_settings
from ..records import HeardAgain, Record, TranscriptSegment
from .asr import EXTRA, PACKAGED, _language, _model_label, load_whisper, whisper_key
from .base import Availability, Tool, loaded_model, model_lock
from .context import VideoContext

PAD = 1.0
"""Seconds of audio heard again on each side of the words naming someone."""
BEAM = 5


class RehearNamesTool(Tool):
    """Faster-whisper, beam 5, on the audio around each name the transcript heard (see the module)."""

    name = "names.rehear"
    stage = "names"
    version = "1"
    modules = ("faster_whisper", "ctranslate2")
    extra = EXTRA
    provider = "the transcript's Whisper model (" + PACKAGED["base"] + " by default)"

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        """Runs where the transcript and the speakers run: without voices there is no one to name."""
        from .registry import tool_class, tool_name_for

        base = super().availability(settings)
        if not base.ok:
            return base
        settings = settings or load_settings()
        for stage in ("asr", "speakers"):
            found = tool_class(tool_name_for(stage, settings)).availability(settings)
            if not found.ok:
                return Availability(False, f"the {stage} stage cannot run ({found.reason})", found.fix, cls.provider)
        return Availability(True, provider=cls.provider)

    def params(self) -> dict[str, Any]:
        from .speaker_names import RULES_VERSION

        return {"model": _model_label(self.settings), "beam_size": BEAM, "pad": PAD,
                "language": self.settings.asr_language, "rules": RULES_VERSION}

    def model_key(self) -> tuple:  # the transcript's model: loaded once for both stages (``run``)
        return whisper_key(self.settings)

    def load_model(self) -> Any:
        return load_whisper(self.settings)

    def run(self, ctx: VideoContext) -> list[Record]:
        import numpy as np

        from .audio import SR, blocks
        from .speaker_names import said_names

        segments = [r for r in ctx.get("asr") if isinstance(r, TranscriptSegment)]
        found = said_names(segments)
        language = _language(self.settings) or next((s.language for s in segments if s.language), None)
        out: list[Record] = []
        model = (loaded_model(whisper_key(self.settings)[:2]) or self.model) if found else None
        for n, (span, name) in enumerate(found):
            start, stop = int(max(0.0, span.start - PAD) * SR), int((span.end + PAD) * SR)
            parts = [samples for _, samples in blocks(ctx.path, start, stop)]
            text = ""
            if parts:
                with model_lock(self):
                    heard, _ = model.transcribe(np.concatenate(parts), language=language, beam_size=BEAM,
                                                vad_filter=False, condition_on_previous_text=False)
                    text = " ".join(s.text.strip() for s in heard).strip()
            out.append(HeardAgain(video_id=ctx.video_id, span=span, name=name, text=text, source=self.source))
            ctx.progress(self.stage, n + 1, len(found))
        return out
