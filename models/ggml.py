"""llama.cpp's CPU backend: linked into a native build, chosen at run time in a portable one.

``install.sh`` builds llama-cpp-python portable (``GGML_BACKEND_DL`` with ``GGML_CPU_ALL_VARIANTS``): the wheel
holds one CPU backend per instruction-set level (``libggml-cpu-haswell.so`` = AVX2, ``…-zen4.so`` = AVX-512, …),
and a wheel built on one machine runs on any other x86-64 machine. llama-cpp-python does not load such backends
itself (abetlen/llama-cpp-python#2069), so this module does, once per process, before the first model loads:
each variant's ``ggml_backend_score()`` says whether this CPU runs it, and the highest score wins — what
``ggml_backend_load_best`` does in llama.cpp — except that an AMX variant runs only where no other does (``best``).
The ``llm_cpu_variant`` setting (``VIDGRAPH_LLM_CPU_VARIANT``) picks one by name instead, e.g. ``haswell`` to run
as on an AVX2-only CPU.
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

from ..errors import ConfigError

_lock = threading.Lock()
_loaded: str | None = None
AMX_VARIANTS = frozenset({"sapphirerapids"})
"""The variants that use AMX tiles (llama.cpp's ``ggml_add_cpu_backend_variant`` list: AMX_TILE, AMX_INT8), chosen
only by name (``best``)."""


def lib_dir() -> Path:
    """llama-cpp-python's folder of shared libraries (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return Path("llama_cpp-is-not-installed")
    return Path(list(spec.submodule_search_locations)[0]) / "lib"


def describe() -> str:
    """One line for ``vidgraph doctor``: which build, and which CPU variant this machine runs."""
    scores = _scores()
    if not scores:
        return ("native build (compiled for the CPU it was built on; copied to another CPU it can stop with an "
                "illegal instruction): install.sh builds it portable")
    chosen = best(scores)
    runs = [n for n, s in scores.items() if s]
    return (f"portable build: CPU variant {chosen!r} chosen for this CPU (it runs {len(runs)} of {len(scores)}: "
            f"{', '.join(runs)}; VIDGRAPH_LLM_CPU_VARIANT picks one)")


def variants() -> dict[str, Path]:
    """The CPU variants of a portable build by name (``{}`` for a native build). The wheel installs them into
    ``site-packages/bin`` (next to its ``lib``), or they sit in ``llama_cpp/lib``."""
    folders = (lib_dir(), lib_dir().parent.parent / "bin")
    return {p.name[len("libggml-cpu-"):-len(".so")]: p for folder in folders
            for p in sorted(folder.glob("libggml-cpu-*.so"))}


def score(path: Path) -> int:
    """The variant's own verdict on this CPU: 0 = it would not run here, higher = a better fit."""
    import _ctypes

    try:
        ctypes.CDLL(str(lib_dir() / "libggml-base.so.0"), mode=ctypes.RTLD_GLOBAL)  # what every variant links to
        lib = ctypes.CDLL(str(path))
    except OSError:
        return 0
    try:
        return int(lib.ggml_backend_score())
    except AttributeError:
        return 0
    finally:
        _ctypes.dlclose(lib._handle)


def _scores() -> dict[str, int]:
    """Every CPU variant of the build with its score on this CPU (``{}`` for a native build)."""
    return {name: score(path) for name, path in variants().items()}


def best(scores: dict[str, int]) -> str:
    """The variant to run: the highest score, an AMX one only when nothing else runs. llama.cpp 0.3.36's AMX
    variant stopped the process with an illegal instruction at its first tile instruction on a Sapphire Rapids
    VM, where the CPU reports AMX and tiles work once Linux allows them (``llm_cpu_variant`` still picks it)."""
    return max(scores, key=lambda n: (scores[n] > 0 and n not in AMX_VARIANTS, scores[n]))


def _quiet() -> None:
    """llama.cpp's info lines ("load_backend: loaded CPU backend from …") go to llama-cpp-python's logger, which
    prints everything until a model is made with ``verbose=False``: errors only, as that would set."""
    import logging

    import llama_cpp._logger  # noqa: F401  (installs llama-cpp-python's log callback)

    logger = logging.getLogger("llama-cpp-python")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.ERROR)


def cpu_backend(variant: str | None = None) -> str:
    """Make sure llama.cpp has its CPU backend; returns which one ("built in", or a portable build's variant)."""
    global _loaded
    with _lock:
        if _loaded is not None:
            if variant and variant != _loaded:
                raise ConfigError(f"llama.cpp already runs its {_loaded!r} CPU variant in this process",
                                  "set llm_cpu_variant before the first model loads")
            return _loaded
        found = variants()
        if not found:
            _loaded = "built in"
            return _loaded
        scores = _scores()
        if variant is not None:
            if variant not in found:
                raise ConfigError(f"llm_cpu_variant {variant!r} is not a CPU variant of this llama.cpp build",
                                  f"choose one of: {', '.join(found)}")
            if not scores[variant]:
                raise ConfigError(f"this CPU cannot run llama.cpp's {variant!r} variant",
                                  f"choose one it runs: {', '.join(n for n, s in scores.items() if s)}")
            name = variant
        else:
            name = best(scores)
            if not scores[name]:
                raise ConfigError("no CPU variant of llama.cpp runs on this CPU",
                                  f"rebuild llama-cpp-python here (see install.sh); variants: {', '.join(found)}")
        _quiet()
        ggml = ctypes.CDLL(str(lib_dir() / "libggml.so.0"))  # the file libllama links to (copies, not symlinks)
        ggml.ggml_backend_load.restype = ctypes.c_void_p
        ggml.ggml_backend_load.argtypes = [ctypes.c_char_p]
        if not ggml.ggml_backend_load(str(found[name]).encode()):
            raise ConfigError(f"llama.cpp could not load {found[name]}", "reinstall llama-cpp-python (install.sh)")
        for gpu in sorted(lib_dir().glob("libggml-*.so")):  # a GPU backend of a portable build (CUDA, Vulkan, …)
            if gpu.name not in ("libggml-base.so",) and not gpu.name.startswith("libggml-cpu"):
                ggml.ggml_backend_load(str(gpu).encode())
        _loaded = name
        return name
