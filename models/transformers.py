"""Local Hugging Face models through transformers (CPU or GPU), never downloading: ``local_files_only`` always.

The model is a model directory or a ``.gguf`` file (transformers de-quantizes it; needs ``gguf``). A directory whose
``config.json`` has a ``vision_config`` (Qwen2.5-VL, SmolVLM, LLaVA...) loads with ``AutoProcessor`` and
``AutoModelForImageTextToText`` and takes images; anything else is a text-only ``AutoModelForCausalLM``. Decoding
is unconstrained, so ``base.chat`` asks for JSON in the prompt and validates it.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ConfigError, MissingExtraError, ModelError
from .base import ChatModel, Message, Usage

EXTRA = "transformers"


class TransformersModel(ChatModel):
    backend = "transformers"
    native_schema = False

    def __init__(self, model: str, settings: Settings) -> None:
        super().__init__(f"{self.backend}:{model}")
        path = Path(model).expanduser()
        if path.is_file() and path.suffix == ".gguf":
            self.dir, self.gguf_file = path.parent, path.name
        elif (path / "config.json").is_file():
            self.dir, self.gguf_file = path, None
        else:
            raise ConfigError(f"{model} is not a model directory with a config.json, nor a .gguf file",
                              "give a local Hugging Face model directory (transformers never downloads here)")
        for module, package in (("torch", "torch"), ("transformers", "transformers")) + (
                (("gguf", "gguf"), ("accelerate", "accelerate")) if self.gguf_file else ()):
            if importlib.util.find_spec(module) is None:
                raise MissingExtraError("the transformers backend", EXTRA, package)
        self.settings = settings
        self.supports_images = self.gguf_file is None and "vision_config" in _config(self.dir)
        self.device = "cpu"
        self.load_seconds: float | None = None
        self._model: Any = None
        self._processor: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        import transformers

        start = time.perf_counter()
        want = self.settings.device
        self.device = "cuda" if want == "cuda" or (want == "auto" and torch.cuda.is_available()) else "cpu"
        if self.device == "cpu":
            torch.set_num_threads(self.settings.threads)
        kw: dict[str, Any] = {"local_files_only": True}
        if self.gguf_file:
            kw["gguf_file"] = self.gguf_file
        dtype = torch.float32 if self.device == "cpu" else "auto"
        try:
            if self.supports_images:
                self._processor = transformers.AutoProcessor.from_pretrained(self.dir, **kw)
                self._tokenizer = self._processor.tokenizer
                model_cls = transformers.AutoModelForImageTextToText
            else:
                self._tokenizer = transformers.AutoTokenizer.from_pretrained(self.dir, **kw)
                model_cls = transformers.AutoModelForCausalLM
            model = model_cls.from_pretrained(self.dir, dtype=dtype, **kw)
        except (OSError, ValueError, KeyError, TypeError) as e:  # an incomplete directory fails in many ways
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(f"transformers cannot load {self.dir / (self.gguf_file or '')} ({first})",
                              "give a complete local model directory (config, tokenizer, weights)") from e
        if not (self._processor or self._tokenizer).chat_template:
            raise ConfigError(f"{self.dir} has no chat template", "use an instruction-tuned (chat) model")
        self._model = model.to(self.device).eval()
        self.load_seconds = time.perf_counter() - start

    def _inputs(self, messages: list[Message]) -> Any:
        if not self.supports_images:
            chat = [{"role": m.role, "content": m.text()} for m in messages]
            return self._tokenizer.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt",
                                                       return_dict=True)
        from PIL import Image

        chat, images = [], []
        for m in messages:
            content: list[dict[str, Any]] = []
            for p in m.content:
                if isinstance(p, str):
                    content.append({"type": "text", "text": p})
                    continue
                content += [{"type": "text", "text": p.label()}, {"type": "image"}]
                try:
                    with Image.open(p.path) as im:
                        images.append(im.convert("RGB"))
                except OSError as e:
                    raise ModelError(f"cannot read the frame {p.path} ({e})", "re-run indexing") from e
            chat.append({"role": m.role, "content": content})
        prompt = self._processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        return self._processor(text=[prompt], images=images or None, return_tensors="pt")

    def _complete(self, messages: list[Message], *, json_schema: dict[str, Any] | None, max_tokens: int,
                  temperature: float, stop: list[str] | None) -> tuple[str, Usage]:
        import torch

        with self.lock:
            self._load()
            start = time.perf_counter()
            inputs = self._inputs(messages).to(self.device)
            tok = self._tokenizer
            gen: dict[str, Any] = {"max_new_tokens": max_tokens, "pad_token_id": tok.pad_token_id
                                   if tok.pad_token_id is not None else tok.eos_token_id}
            if temperature > 0:
                gen.update(do_sample=True, temperature=temperature)
            else:  # greedy; unset the sampling defaults of the model's generation config
                gen.update(do_sample=False, temperature=None, top_p=None, top_k=None)
            if stop:
                gen.update(stop_strings=stop, tokenizer=tok)
            n_prompt = inputs["input_ids"].shape[1]
            with torch.inference_mode():
                out = self._model.generate(**inputs, **gen)
            new = out[0, n_prompt:]
            text = tok.decode(new, skip_special_tokens=True)
            seconds = time.perf_counter() - start
        for s in stop or ():
            text = text.split(s, 1)[0]
        return text, Usage(int(n_prompt), int(new.shape[0]), seconds, 1)


def _config(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"{folder / 'config.json'} is unreadable ({e})", "give a complete model directory") from e
