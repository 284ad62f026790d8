"""Could a frame hold text? A cheap test run before the OCR on each key frame (``ocr``), so frames with nothing
that looks like a glyph (blank, flat, blurred, dark) cost ~2 ms instead of a detector call.

The test, on the frame scaled to ``LONG_SIDE`` pixels in grey: a morphological gradient (3x3) marks strong local
contrast; its pixels above ``EDGE`` are closed horizontally (letters of a word join) and each connected blob that
could be a word or a glyph — at least ``MIN_H`` pixels high, not taller than ``MAX_H_FRACTION`` of the frame,
partly filled (``FILL``) — counts. The frame may hold text when any blob does, or when at least ``DENSE`` of its
pixels are edges (text over a pattern can join everything into one blob: a title over a grid). It is a *recall*
test: every frame with a text-sized, contrasted shape or many edges passes (textured pictures pass too); only
near-flat frames (blank, fades, dark, blurred, plain backgrounds) are skipped. Measured against OCR on every
key frame by ``python -m vidgraph.eval.bench_textprobe`` (the bundled clips and the generated fixture: no line
lost).
"""

from __future__ import annotations

from typing import Any

import numpy as np

VERSION = "edges-2"
LONG_SIDE = 640
EDGE = 48
"""Grey-level difference (0-255) in a 3x3 neighbourhood that counts as an edge."""
MIN_H = 5
MAX_H_FRACTION = 0.35
FILL = (0.08, 0.98)
DENSE = 0.005


def _grey(bgr: np.ndarray) -> np.ndarray:
    import cv2

    h, w = bgr.shape[:2]
    scale = LONG_SIDE / max(h, w)
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
    if scale < 1.0:
        grey = cv2.resize(grey, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return grey


def _edges(bgr: np.ndarray) -> np.ndarray:
    import cv2

    grey = _grey(bgr)
    return (cv2.morphologyEx(grey, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) >= EDGE).astype(np.uint8)


def text_blobs(bgr: np.ndarray, edges: np.ndarray | None = None) -> int:
    """How many text-like blobs the frame has."""
    import cv2

    edges = _edges(bgr) if edges is None else edges
    if not edges.any():
        return 0
    joined = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((1, 7), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    if n <= 1:
        return 0
    stats = stats[1:]
    w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    fill = area / np.maximum(w * h, 1)
    ok = (h >= MIN_H) & (h <= MAX_H_FRACTION * edges.shape[0]) & (w >= 3) & (fill >= FILL[0]) & (fill <= FILL[1])
    return int(ok.sum())


def may_hold_text(bgr: Any) -> bool:
    """False only when no text can be there (see the module docstring)."""
    edges = _edges(bgr)
    return bool(edges.mean() >= DENSE) or text_blobs(bgr, edges) > 0


__all__ = ["VERSION", "may_hold_text", "text_blobs"]
