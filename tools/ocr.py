"""ocr: on-screen text lines, read on the scan's key frames and merged over time.

Which frames: the scan's key frames only (full resolution, kept at the first frame of each shot, when the picture
changed, and at least every ``key_max_gap`` seconds), so a static slide costs one OCR call, not one per second.
A key frame in which the text probe (``tools.textprobe``, ~2 ms) finds nothing shaped like a glyph is not read.
Each frame is scaled so its long side is ``det_long_side`` pixels before detection (small videos are enlarged,
large ones reduced: the PP-OCR detector misses text at scales far from the one it was trained on).

Backends (both offline, both on onnxruntime, both with the PP-OCRv6 *small* det/rec ONNX files that ship inside
the ``rapidocr`` wheel, located with ``find_spec`` and never downloaded):

- ``ocr.paddle`` (default): PaddleOCR 3.x with ``engine="onnxruntime"``, pointed at model folders assembled once
  in ``<cache_dir>/ppocr`` (the ONNX file plus a written ``inference.yml``);
- ``ocr.rapidocr``: RapidOCR 3.x directly, no angle classifier.

Merge rule (one function for both backends, ``merge_reads``). Reads with a score below ``min_score`` and junk
(no letter or digit, or a lone glyph that is not a confident ASCII letter/digit) are dropped. Going through the
key frames in time order, a read continues a line seen in the *previous* key frame when

- their normalised texts (NFKC, case-folded, without spaces) are equal, or have a difflib ratio of at least
  ``merge_ratio`` *and* the same digits (so a running clock or a counter is not merged into one line), and
- their boxes overlap with an IoU of at least ``merge_iou``.

A line's span runs from the first key frame that showed it to the next key frame after the last one that showed
it, cut at the end of that frame's shot (at the end of the video for the last key frame): the text was on screen
at some point in between, and a key frame is taken as soon as the picture changes, so this is the tightest
bound the frames give. Its text is the variant with the highest summed score (seen most often, most
confidently), its ``score`` that variant's best score, its ``box`` that read's box and ``frames`` the number of
key frames that showed it.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import MissingExtraError, ToolError
from ..records import Box, Frame, Record, Shot, Span, TextLine
from . import textprobe
from .base import Availability, Tool, model_lock
from .store import params_hash
from .context import VideoContext
from .scan import ScanTool, frames_of, shots_of
from .stream import KeyImage, KeyStream, PassView
from .weights import package_dir

MODEL_PACKAGE = "rapidocr"
MODEL_FILES = {"det": "PP-OCRv6_det_small.onnx", "rec": "PP-OCRv6_rec_small.onnx"}
PADDLE_NAMES = {"det": "PP-OCRv6_small_det", "rec": "PP-OCRv6_small_rec"}
FIX = "pip install 'vidgraph[ocr]'  (paddleocr==3.7.0, onnxruntime, rapidocr==3.10.0)"

LOOK_LONG_SIDE = 960
LOOK_MIN_SCORE = 0.5
"""Frames read on demand (the agents' looks): scaled to this long side, reads below this score dropped."""

PADDLEX_ENV = {
    # PaddleX contacts no model hoster while every model is given as a local folder; should it ever look one up,
    # this skips its connectivity probes of HuggingFace, AIStudio, ModelScope and BOS (each with retries).
    "PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK": "True",
}


# -- reads and the merge ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """One text box read in one frame; ``box`` is normalised (x0, y0, x1, y1)."""

    text: str
    score: float
    box: Box


def normalise(text: str) -> str:
    """NFKC, case-folded, whitespace removed: the form texts are compared in."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def similar(a: str, b: str, min_ratio: float = 0.8) -> bool:
    """Same normalised text, or close (difflib ratio) with the same digits."""
    na, nb = normalise(a), normalise(b)
    if na == nb:
        return True
    return _digits(na) == _digits(nb) and difflib.SequenceMatcher(None, na, nb).ratio() >= min_ratio


def box_iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def is_junk(read: Read, min_score: float) -> bool:
    """Low score, no letter or digit, or a lone glyph that is not a confident ASCII letter/digit."""
    text = normalise(read.text)
    if read.score < min_score or not any(c.isalnum() for c in text):
        return True
    return len(text) == 1 and not (text.isascii() and text.isalnum() and read.score >= 0.9)


@dataclass
class _Track:
    start: float
    last: int  # index of the last key frame that showed it
    frames: int = 0
    variants: dict[str, list[Any]] = field(default_factory=dict)  # text -> [summed score, best score, box]

    def add(self, read: Read) -> None:
        v = self.variants.setdefault(read.text, [0.0, -1.0, read.box])
        v[0] += read.score
        if read.score > v[1]:
            v[1], v[2] = read.score, read.box

    def best(self) -> tuple[str, float, Box]:
        text, (_, score, box) = max(self.variants.items(), key=lambda kv: (kv[1][0], kv[1][1]))
        return text, score, box


def frame_ends(times: Sequence[float], shot_ends: Sequence[float], duration: float) -> list[float]:
    """Where the evidence of each key frame stops: the next key frame, cut at the end of the frame's shot."""
    ends = []
    for i, t in enumerate(times):
        nxt = times[i + 1] if i + 1 < len(times) else max(duration, t)
        ends.append(max(t, min(nxt, shot_ends[i])))
    return ends


def merge_reads(
    frames: Sequence[tuple[float, float, Sequence[Read]]],
    *,
    video_id: str,
    source: str,
    min_score: float = 0.5,
    merge_ratio: float = 0.8,
    merge_iou: float = 0.3,
) -> list[TextLine]:
    """Merge per-frame reads into TextLines. ``frames`` is ``(t, end, reads)`` per key frame in time order,
    ``end`` from ``frame_ends``. The rule is in the module docstring."""
    done: list[_Track] = []
    open_: list[tuple[_Track, Read]] = []  # tracks seen in the previous key frame, with that frame's read
    for index, (t, _end, reads) in enumerate(frames):
        kept = sorted((r for r in reads if not is_junk(r, min_score)), key=lambda r: -r.score)
        candidates = list(open_)
        open_ = []
        for read in kept:
            match = max(
                ((i, box_iou(prev.box, read.box)) for i, (track, prev) in enumerate(candidates)
                 if similar(prev.text, read.text, merge_ratio)),
                key=lambda x: x[1], default=None,
            )
            if match is not None and match[1] >= merge_iou:
                track = candidates.pop(match[0])[0]
            else:
                track = _Track(start=t, last=index)
            track.add(read)
            track.frames += 1
            track.last = index
            open_.append((track, read))
        done += [track for track, _ in candidates]
    done += [track for track, _ in open_]
    lines = []
    for track in done:
        text, score, box = track.best()
        end = frames[track.last][1]
        lines.append(TextLine(video_id=video_id, span=Span(start=round(track.start, 3), end=round(end, 3)),
                              text=text, score=round(score, 4), box=box, frames=track.frames, source=source))
    return sorted(lines, key=lambda x: (x.span.start, x.box[1], x.box[0]))


def normalised_box(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> Box:
    def clip(v: float) -> float:
        return round(min(1.0, max(0.0, v)), 4)

    return (clip(x0 / width), clip(y0 / height), clip(x1 / width), clip(y1 / height))


# -- frames ---------------------------------------------------------------------------------------------------------


def load_frame(path: str, long_side: int) -> Any:
    """A key frame as a BGR uint8 array whose long side is ``long_side`` pixels."""
    import cv2

    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ToolError(f"{path}: key frame image is missing or unreadable",
                        "the scan artifact is stale: delete the video's scan@*.jsonl in the store and index again")
    return scale_to(img, long_side)


def scale_to(img: Any, long_side: int) -> Any:
    """A BGR image scaled so its long side is ``long_side`` pixels (enlarged or reduced)."""
    import cv2

    h, w = img.shape[:2]
    scale = long_side / max(h, w)
    if abs(scale - 1.0) > 1e-3:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return img


# -- model files ----------------------------------------------------------------------------------------------------


def model_files() -> dict[str, Path]:
    """The PP-OCRv6 small det/rec ONNX files inside the installed rapidocr wheel (not imported)."""
    root = package_dir(MODEL_PACKAGE, "ocr", "on-screen text (PP-OCRv6 ONNX weights)") / "models"
    files = {k: root / f for k, f in MODEL_FILES.items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise MissingExtraError(f"on-screen text weights ({', '.join(missing)} missing)", "ocr", MODEL_PACKAGE)
    return files


def _rapidocr_version() -> str:
    try:
        return importlib.metadata.version(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _det_yaml() -> dict[str, Any]:
    return {
        "Global": {"model_name": PADDLE_NAMES["det"]},
        "PreProcess": {"transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
            {"DetResizeForTest": {"resize_long": 960}},
            {"NormalizeImage": {"mean": [0.5] * 3, "std": [0.5] * 3, "scale": "1./255.", "order": "hwc"}},
            {"ToCHWImage": None},
            {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
        ]},
        "PostProcess": {"name": "DBPostProcess", "thresh": 0.3, "box_thresh": 0.5, "max_candidates": 1000,
                        "unclip_ratio": 1.6},
    }


def _rec_yaml(characters: list[str]) -> dict[str, Any]:
    return {
        "Global": {"model_name": PADDLE_NAMES["rec"]},
        "PreProcess": {"transform_ops": [
            {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
            {"RecResizeImg": {"image_shape": [3, 48, 320]}},
            {"KeepKeys": {"keep_keys": ["image", "label_ctc", "label_gtc", "length", "valid_ratio"]}},
        ]},
        "PostProcess": {"name": "CTCLabelDecode", "character_dict": characters},
    }


def paddle_model_dirs(cache_dir: Path) -> dict[str, Path]:
    """PaddleOCR model folders (``inference.onnx`` + ``inference.yml``) built once from rapidocr's files.

    Built in a temporary folder next to the target and renamed into place, so a crash or a concurrent build
    never leaves a half-written folder that is used."""
    root = Path(cache_dir) / "ppocr" / f"rapidocr-{_rapidocr_version()}"
    dirs = {k: root / PADDLE_NAMES[k] for k in PADDLE_NAMES}
    if all((d / "inference.onnx").is_file() and (d / "inference.yml").is_file() for d in dirs.values()):
        return dirs
    import onnxruntime as ort
    import yaml

    files = model_files()
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        meta = ort.InferenceSession(str(files["rec"]), providers=["CPUExecutionProvider"]).get_modelmeta()
        characters = meta.custom_metadata_map["character"].split("\n")
        for key, doc in (("det", _det_yaml()), ("rec", _rec_yaml(characters))):
            d = tmp / PADDLE_NAMES[key]
            d.mkdir()
            shutil.copyfile(files[key], d / "inference.onnx")
            (d / "inference.yml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        try:
            os.rename(tmp, root)
        except OSError:  # another process finished first: use its folder
            if not root.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dirs


def _alias_opencv_distribution() -> None:
    """Let PaddleX see ``opencv-contrib-python-headless`` as the ``opencv-contrib-python`` it checks for.

    PaddleX decides whether cv2 is usable by looking up the *distribution* ``opencv-contrib-python`` (and skips
    ``import cv2`` in its modules otherwise), while vidgraph installs the headless build of the same OpenCV (both
    provide the same ``cv2``). Only that one name is answered, and only when the real one is absent.
    """
    import importlib.abc
    import sys

    wanted = "opencv_contrib_python"

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "_", name).lower()

    class _Alias(importlib.abc.MetaPathFinder):
        vidgraph_opencv_alias = True

        def find_spec(self, *args: Any, **kwargs: Any) -> None:
            return None

        def find_distributions(self, context: Any = None) -> Any:
            name = getattr(context, "name", None)
            if name and canonical(name) == wanted:
                for dist in ("opencv-contrib-python-headless", "opencv-python-headless", "opencv-python"):
                    try:
                        return iter([importlib.metadata.distribution(dist)])
                    except importlib.metadata.PackageNotFoundError:
                        continue
            return iter(())

    if any(getattr(f, "vidgraph_opencv_alias", False) for f in sys.meta_path):
        return
    try:
        importlib.metadata.distribution("opencv-contrib-python")
    except importlib.metadata.PackageNotFoundError:
        sys.meta_path.append(_Alias())


# -- tools ----------------------------------------------------------------------------------------------------------


class _OCRTool(Tool):
    """Shared run: OCR each key frame with ``read_image``, then ``merge_reads``."""

    reads_frames = True

    stage = "ocr"
    streams = True
    version = "2"
    """2: read in the one pass (on the decoded key frame, not its JPEG); the scan on the video's timeline."""
    extra = "ocr"
    backend = ""

    def params(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "models": f"rapidocr-{_rapidocr_version()}:" + ",".join(MODEL_FILES.values()),
            "frames": "key",
            "scan": params_hash(ScanTool(self.settings).params()),
            "det_long_side": 960,
            "min_score": 0.5,
            "merge_ratio": 0.8,
            "merge_iou": 0.3,
            "text_probe": textprobe.VERSION,
        }

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        base = super().availability(settings)
        if not base.ok:
            return Availability(False, base.reason, FIX, MODEL_PACKAGE)
        try:
            model_files()
        except MissingExtraError as e:
            return Availability(False, e.message, FIX, MODEL_PACKAGE)
        return Availability(True, provider=MODEL_PACKAGE)

    def read_image(self, image: Any) -> list[Read]:
        """Text boxes in one BGR frame."""
        raise NotImplementedError

    def read_frame(self, path: str) -> list[str]:
        _ = self.model
        image = load_frame(path, LOOK_LONG_SIDE)
        with model_lock(self):
            reads = self.read_image(image)
        return [r.text for r in reads if r.score >= LOOK_MIN_SCORE]

    def stream(self, ctx: VideoContext) -> OCRStream:
        return OCRStream(self)

    def run(self, ctx: VideoContext) -> list[Record]:
        from .onepass import run_pass

        return run_pass(ctx, [self.stage])[self.stage]


class OCRStream(KeyStream):
    """Reads per key frame (the items), merged into lines over the whole part read (``merge_reads``)."""

    def __init__(self, tool: _OCRTool) -> None:
        super().__init__("ocr")
        self.tool, self.p = tool, tool.params()

    def add(self, frame: Frame, image: KeyImage) -> Any:
        if self.p.get("text_probe") and not textprobe.may_hold_text(image.bgr):
            return {"t": frame.t, "reads": []}  # nothing shaped like a glyph: the OCR would read nothing
        scaled = scale_to(image.bgr, self.p["det_long_side"])
        with model_lock(self.tool):
            reads = self.tool.read_image(scaled)
        return {"t": frame.t, "reads": [[r.text, round(r.score, 6), list(r.box)] for r in reads]}

    def records(self, items: list[Any], view: PassView) -> list[Record]:
        p = self.p
        keys: list[Frame] = sorted(frames_of(view.scan, "key"), key=lambda f: f.t)
        shots: list[Shot] = shots_of(view.scan)
        duration = max(view.duration, keys[-1].t if keys else 0.0)
        shot_end = {s.index: s.span.end for s in shots}
        ends = frame_ends([f.t for f in keys], [shot_end.get(f.shot_index, duration) for f in keys], duration)
        reads = {round(i["t"], 6): [Read(str(t), float(sc), tuple(b)) for t, sc, b in i["reads"]] for i in items}
        per_frame = [(f.t, end, reads.get(round(f.t, 6), [])) for f, end in zip(keys, ends)]
        return list(merge_reads(per_frame, video_id=view.video_id, source=self.tool.source, min_score=p["min_score"],
                                merge_ratio=p["merge_ratio"], merge_iou=p["merge_iou"]))


class PaddleOCRTool(_OCRTool):
    """PaddleOCR 3.x (PP-OCRv6 small det + rec) on onnxruntime, from model folders built in the cache.

    Runs on the CPU: with ``engine="onnxruntime"`` the device is onnxruntime's CPU provider whatever
    ``settings.device`` says (the small models take 0.08-0.2 s per 960-px key frame on 2 cores)."""

    name = "ocr.paddle"
    backend = "paddleocr-3.x/onnxruntime"
    modules = ("paddleocr", "onnxruntime", "yaml", MODEL_PACKAGE)

    def load_model(self) -> Any:
        import logging

        dirs = paddle_model_dirs(self.settings.cache_dir)
        for key, value in PADDLEX_ENV.items():
            os.environ.setdefault(key, value)
        # PaddleX keeps locks and temporary files under its cache home (~/.paddlex by default): keep them in ours.
        os.environ.setdefault("PADDLE_PDX_CACHE_HOME", str(Path(self.settings.cache_dir) / "paddlex"))
        _alias_opencv_distribution()
        from paddleocr import PaddleOCR

        logging.getLogger("paddlex").setLevel(logging.WARNING)
        long_side = self.params()["det_long_side"]
        return PaddleOCR(
            text_detection_model_name=PADDLE_NAMES["det"], text_detection_model_dir=str(dirs["det"]),
            text_recognition_model_name=PADDLE_NAMES["rec"], text_recognition_model_dir=str(dirs["rec"]),
            use_doc_orientation_classify=False, use_doc_unwarping=False, use_textline_orientation=False,
            text_det_limit_type="max", text_det_limit_side_len=long_side, text_rec_score_thresh=0.0,
            device="cpu", engine="onnxruntime",
            engine_config={"intra_op_num_threads": self.settings.threads, "inter_op_num_threads": 1},
        )

    def read_image(self, image: Any) -> list[Read]:
        h, w = image.shape[:2]
        result = self.model.predict(image)[0]
        return [Read(str(text), float(score), normalised_box(*map(float, box), w, h))
                for text, score, box in zip(result["rec_texts"], result["rec_scores"], result["rec_boxes"])]


class RapidOCRTool(_OCRTool):
    """RapidOCR 3.x (same PP-OCRv6 small det + rec files, no angle classifier) on onnxruntime, CPU."""

    name = "ocr.rapidocr"
    backend = "rapidocr-3.x"
    modules = ("rapidocr", "onnxruntime")

    def load_model(self) -> Any:
        files = model_files()
        from rapidocr import RapidOCR

        threads = self.settings.threads
        return RapidOCR(params={
            "Global.use_cls": False,
            "Global.log_level": "error",
            "Global.text_score": self.params()["min_score"],
            "Det.model_path": str(files["det"]),
            "Rec.model_path": str(files["rec"]),
            "Det.limit_type": "max",
            "Det.limit_side_len": self.params()["det_long_side"],
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })

    def read_image(self, image: Any) -> list[Read]:
        h, w = image.shape[:2]
        out = self.model(image, use_cls=False)
        if out.txts is None or out.boxes is None:
            return []
        reads = []
        for text, score, poly in zip(out.txts, out.scores, out.boxes):
            xs, ys = [float(p[0]) for p in poly], [float(p[1]) for p in poly]
            reads.append(Read(str(text), float(score), normalised_box(min(xs), min(ys), max(xs), max(ys), w, h)))
        return reads
