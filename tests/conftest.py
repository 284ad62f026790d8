"""Shared fixtures: generated media with known truth (cached across runs), real media, an isolated store."""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
from pathlib import Path

import pytest

MEDIA = Path(__file__).parent / "media"
CACHE = Path(os.environ.get("VIDGRAPH_TEST_CACHE", Path.home() / ".cache" / "vidgraph" / "test-media"))
# CPU threads per model in the tests: 2 (the CI machine's cores) unless VIDGRAPH_TEST_THREADS says otherwise, as in
# the rerun of the real-model tests as on another CPU (tests/test_numerics.py).
THREADS = int(os.environ.get("VIDGRAPH_TEST_THREADS", "2"))


def make_settings(**changes):
    """The tests' settings: THREADS threads per model, then ``changes``."""
    from vidgraph.config import load_settings

    return load_settings(**{"threads": THREADS, **changes})


# Fixtures made by real models (an index built with the real tools, a model loaded): a test that uses one asserts on
# what those models output, so it is marked ``numerics`` and rerun as on another CPU (tests/test_numerics.py).
REAL_MODEL_FIXTURES = {"agents_library", "memory_library", "base_run", "paddle_fixture_lines", "real_model",
                       "libraries", "llama_server"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.numerics)


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch):
    """Every test runs as on an air-gapped box: no hub downloads, no telemetry."""
    for key, value in {
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "YOLO_OFFLINE": "1", "YOLO_AUTOINSTALL": "False",
        "PYANNOTE_METRICS_ENABLED": "false", "ANONYMIZED_TELEMETRY": "False",
    }.items():
        monkeypatch.setenv(key, value)
    if "VIDGRAPH_TEST_THREADS" in os.environ:  # and the command lines the tests run
        monkeypatch.setenv("VIDGRAPH_THREADS", str(THREADS))


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
    return make_settings()


@pytest.fixture
def store(tmp_path) -> Path:
    return tmp_path / "artifacts"


def real(name: str) -> Path:
    path = MEDIA / name
    if not path.is_file():
        pytest.fail(f"{path} is missing (see tests/media/LICENSES.md)")
    return path


# -- an indexed library for the agents' tests (one per session) ---------------------------------------------------
def _other_scenes():
    from vidgraph.eval.synth import Scene, Speech, Text

    return [Scene(6, "testsrc", (Text("PAID: 4821-B", 0.5, 5.5),), (Speech("Invoice 4821-B was paid on Monday.", 0.5),)),
            Scene(6, "color=c=0x303060", (Text("Gate 12 closed", 0.5, 5.5),),
                  (Speech("The north gate is closed for repairs.", 0.5),))]


@pytest.fixture(scope="session")
def agents_library(tmp_path_factory, fixture_video):
    """The fixture and a 12 s video sharing its invoice code, indexed with the real tools (no captions)."""
    from vidgraph.eval import synth
    from vidgraph.library import Library

    folder = tmp_path_factory.mktemp("agents")
    shutil.copy(fixture_video, folder / "fixture.mp4")
    synth.make_video(_other_scenes(), folder / "other.mp4", size="640x360")
    (folder / "other.truth.json").unlink()
    library = Library(folder, settings=make_settings())
    report = library.index(progress=False)
    assert report.ok, [r.error for r in report.failures]
    assert len(library.memory.events(library.get("fixture.mp4").video_id)) == 6
    return library


# -- a fake OpenAI-compatible server on loopback (tests/helpers_server.py), for the model and tool-call tests --------
@pytest.fixture
def fake():
    from helpers_server import FakeServer

    server = FakeServer()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture
def fast_retries(monkeypatch):
    from vidgraph.models import openai

    monkeypatch.setattr(openai, "BACKOFF", (0.01, 0.02, 0.04))
