"""The wheel ships the package (not the tests) and imports from a plain install."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]


def test_wheel_contents_and_plain_install(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            str(ROOT), "-w", str(tmp_path)], check=True, capture_output=True, text=True)
    assert "absent from the `packages` configuration" not in built.stderr, built.stderr[-3000:]  # no setuptools nag
    wheel, = tmp_path.glob("vidgraph-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "vidgraph/__init__.py" in names and "vidgraph/tools/scan.py" in names
    assert {f"vidgraph/serve/static/{f}" for f in ("index.html", "app.js", "style.css")} <= set(names)  # the page
    assert {"vidgraph/eval/data/own.jsonl", "vidgraph/eval/data/real_media.jsonl"} <= set(names)  # the question sets
    assert not [n for n in names if n.startswith("vidgraph/tests/") or "install.sh" in n or "/media/" in n]
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    out = subprocess.run([sys.executable, "-c", "import vidgraph, vidgraph.tools.registry; print(vidgraph.__file__)"],
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == str(site / "vidgraph" / "__init__.py")
