"""What colours are on screen, computed from the pixels of the frames the index kept (no model): the named colours
of whole frames in a span (the background, the main colour) or of the boxes of a detected object there ("what
colour is the bus"). A mixin of ``query.Query``.

Names are the eleven basic colour terms plus cyan, read in HSV: dark pixels are black, unsaturated ones white or
gray, the rest by hue (a dark orange is brown). A share is the part of the pixels of that name, over the frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..records import Detection, Frame, Span, fmt_span
from .found import Found, Result

NAMES = ("black", "white", "gray", "red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "brown")
_HUES = ((15, "red"), (40, "orange"), (70, "yellow"), (165, "green"), (195, "cyan"), (255, "blue"), (290, "purple"),
         (340, "pink"), (361, "red"))
_SAME = {"grey": "gray", "violet": "purple", "magenta": "pink", "turquoise": "cyan", "navy": "blue", "maroon": "red",
         "beige": "white", "silver": "gray", "gold": "yellow", "golden": "yellow", "lime": "green", "teal": "cyan"}


def colour_word(word: str) -> str:
    """A word's basic colour name ("grey" -> "gray", "Navy" -> "blue"), or "" when it names no colour."""
    w = word.strip().casefold()
    w = _SAME.get(w, w)
    return w if w in NAMES else ""


def shares(rgb) -> dict[str, float]:
    """The share of each named colour in an RGB image array (H x W x 3, uint8)."""
    import numpy as np

    x = np.asarray(rgb, dtype=np.float32).reshape(-1, 3) / 255.0
    if not len(x):
        return {}
    hi, lo = x.max(axis=1), x.min(axis=1)
    chroma = hi - lo
    sat = np.where(hi > 0, chroma / np.maximum(hi, 1e-6), 0.0)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    safe = np.maximum(chroma, 1e-6)
    hue = np.where(hi == r, ((g - b) / safe) % 6, np.where(hi == g, (b - r) / safe + 2, (r - g) / safe + 4)) * 60
    names = np.full(len(x), "", dtype=object)
    for top, name in reversed(_HUES):
        names[hue < top] = name
    brown = (names == "orange") & (hi < 0.6) | (names == "red") & (hi < 0.45) & (sat < 0.75)
    names[brown] = "brown"
    grayish = sat < 0.2
    names[grayish] = np.where(hi[grayish] > 0.8, "white", "gray")
    names[hi < 0.18] = "black"
    values, counts = np.unique(names.astype(str), return_counts=True)
    return {str(v): float(c) / len(x) for v, c in zip(values, counts)}


def _mean(parts: Sequence[dict[str, float]]) -> list[tuple[str, float]]:
    total: dict[str, float] = {}
    for p in parts:
        for k, v in p.items():
            total[k] = total.get(k, 0.0) + v / len(parts)
    return sorted(total.items(), key=lambda kv: -kv[1])


def _pixels(path: str, box: Sequence[float] | None = None):
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        if box is not None:  # boxes are fractions of the frame
            w, h = im.size
            im = im.crop((int(box[0] * w), int(box[1] * h), max(int(box[0] * w) + 1, int(box[2] * w)),
                          max(int(box[1] * h) + 1, int(box[3] * h))))
        im.thumbnail((160, 160))
        import numpy as np

        return np.asarray(im)


class Colours:
    """``colours``; mixed into ``query.Query``, whose records it reads (``records``, ``_scope``, ``_label``)."""

    def colours(self, video: str | None = None, span: Span | None = None, thing: str = "") -> Result:
        """The named colours on screen in ``span`` (whole frames: the background, the main colour), or of the
        boxes the detector drew around ``thing`` there, largest share first."""
        args = {"video": video, "span": span, "thing": thing}
        label = self._label(thing) if thing else ""
        for v in self._scope(video)[:1]:
            s = span or Span(0.0, self.source.durations.get(v, 1e9))
            frames = [r for r in self.records(v, "scan") if isinstance(r, Frame) and Path(r.path).is_file()]
            if label:
                boxes = [d for d in self.records(v, "detect") if isinstance(d, Detection) and d.label == label
                         and s.start - 1.0 <= d.t <= s.end + 1.0]
                parts = [shares(_pixels(_nearest(frames, d.t).path, d.box)) for d in boxes if frames]
                what = f"the {label}"
            else:
                inside = [f for f in frames if f.kind == "sample" and s.start - 0.5 <= f.t <= s.end + 0.5] or \
                    ([min(frames, key=lambda f: abs(f.t - s.middle))] if frames else [])
                parts = [shares(_pixels(f.path)) for f in inside]
                what = "the frames"
            if not parts:
                why = f"no {label} is detected there" if label else "no frames are kept there"
                return Result("colours", args, None, why, ())
            top = [(name, share) for name, share in _mean(parts) if share >= 0.02][:5]
            text = ", ".join(f"{name} {share:.0%}" for name, share in top)
            summary = f"colours of {what} in {self.name(v)} {fmt_span(s)} ({len(parts)} frames): {text}"
            return Result("colours", args, top, summary, (Found(v, s, "colours", f"{what}: {text}"),))
        return Result("colours", args, None, "no video", ())


def _nearest(frames: Sequence[Frame], t: float) -> Frame:
    """The kept frame nearest ``t``, full-resolution key frames first when as near."""
    return min(frames, key=lambda f: (abs(f.t - t), f.kind != "key"))
