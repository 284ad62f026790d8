"""Shared fixtures: generated media with known truth (cached across runs), real media, an isolated store."""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path

import pytest

MEDIA = Path(__file__).parent / "media"
CACHE = Path(os.environ.get("VIDGRAPH_TEST_CACHE", Path.home() / ".cache" / "vidgraph" / "test-media"))


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch):
    """Every test runs as on an air-gapped box: no hub downloads, no telemetry."""
    for key, value in {
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "False",
        "PYANNOTE_METRICS_ENABLED": "false", "ANONYMIZED_TELEMETRY": "False",
    }.items():
        monkeypatch.setenv(key, value)


def _generated(name: str, build) -> Path:
    """Build a generated video once per generator version (the cache key hashes the generator's source)."""
    from vidgraph.eval import synth

    key = hashlib.sha256((inspect.getsource(synth) + inspect.getsource(build)).encode()).hexdigest()[:10]
    out = CACHE / f"{name}-{key}.mp4"
    if not out.is_file() or not out.with_suffix(".truth.json").is_file():
        tmp = out.with_name(f".{out.stem}.{os.getpid()}.mp4")
        truth = build(tmp)
        tmp.replace(out)
        out.with_suffix(".truth.json").write_text(truth.to_json())
    return out


def _build_fixture(out: Path):
    from vidgraph.eval import synth

    return synth.make_video(synth.fixture_scenes(), out)


@pytest.fixture(scope="session")
def fixture_video() -> Path:
    """60 s, 1280x720: six scenes, cuts at 10..50 s, a sentence and a text line per scene, bus.jpg at 30-40 s."""
    return _generated("fixture", _build_fixture)


@pytest.fixture(scope="session")
def fixture_truth(fixture_video):
    from vidgraph.eval.synth import Truth

    return Truth.from_json(fixture_video.with_suffix(".truth.json").read_text())


@pytest.fixture(scope="session")
def settings():
    from vidgraph.config import load_settings

    return load_settings(threads=2)


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "artifacts"


def real(name: str) -> Path:
    path = MEDIA / name
    if not path.is_file():
        pytest.fail(f"{path} is missing (see tests/media/LICENSES.md)")
    return path
