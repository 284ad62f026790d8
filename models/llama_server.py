"""llama-cpp-python's OpenAI-compatible server on the portable build: ``python -m vidgraph.models.llama_server``.

The same arguments as ``python -m llama_cpp.server`` (``--model PATH --host 127.0.0.1 --port 8000 …``); the CPU
backend is loaded first (``models.ggml``: llama-cpp-python's own server does not load the backends of a
``GGML_BACKEND_DL`` build, and would stop with "Failed to load model"). ``VIDGRAPH_LLM_CPU_VARIANT`` picks a
variant (read like every setting). Point vidgraph at it with ``VIDGRAPH_LLM=openai:<name>@http://127.0.0.1:8000/v1``.
"""

from __future__ import annotations

import runpy
import sys

from ..config import load_settings
from ..errors import ConfigError
from .ggml import cpu_backend


def main() -> None:
    try:
        cpu_backend(load_settings().llm_cpu_variant)
    except ConfigError as e:
        sys.exit(f"error: {e}")
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
