"""Export a sentence-transformers model to ONNX for ``OnnxEmbeddingBackend``: once per model and
settings, offline. Needs torch, transformers and onnx; the run time (``onnx_embeddings``) never imports
this module unless its cache is missing.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from django.core.exceptions import ImproperlyConfigured

from shopai.backends.onnx_embeddings import (
    OPSET,
    Tokenizer,
    create_session,
    feeds,
    import_onnxruntime,
    pip_hint,
    pooling_mode,
    run_session,
)

logger = logging.getLogger(__name__)

# The FFN output projection of the first layer sees the widest activations: quantising it costs
# most of the int8 error (cosine to fp32 0.976 for that one layer alone, >0.999 for most others),
# so it stays fp32. Names are those torch gives BERT-like models; other models match nothing.
INT8_KEEP_FP32 = re.compile(r"(^|/)layer\.0/output/dense/MatMul$")
# Texts the export is checked on: short, long (more tokens than the trace example), Chinese.
CHECK_TEXTS = (
    "Waterproof hiking boots",
    "Ideal for cold-weather training or work outdoors, the Chaz Hoodie promises superior warmth with every wear. "
    "Thick material blocks out the wind as ribbed cuffs and bottom band seal in body heat. " * 4,
    "轻便防水的徒步鞋，适合雨天和山路。",
    "USB-C charger, 65 W, two ports",
)


def export_onnx(folder: Path, target: Path, *, quantize: str, threads: int) -> dict[str, Any]:
    """Write ``target`` (an ONNX file producing normalised sentence vectors) from a sentence-transformers folder.

    Returns facts for the cache's meta.json: what was fused, the check against PyTorch, timings.
    """
    started = time.perf_counter()
    try:
        import onnx  # torch.onnx.export needs it too
        import torch
        from transformers import AutoConfig, AutoModel
    except ImportError as exc:
        raise ImproperlyConfigured(
            "OnnxEmbeddingBackend exports the model once, which needs torch, transformers and onnx "
            f"({pip_hint('torch transformers onnx')}); or copy a built cache into cache_dir. {exc}"
        ) from exc
    ort = import_onnxruntime()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
    model = AutoModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager").eval()
    pooling = pooling_mode(folder)
    tokenizer = Tokenizer(folder, max_length=int(getattr(config, "max_position_embeddings", 512)))
    takes_types = "token_type_ids" in inspect.signature(model.forward).parameters
    input_names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types else [])

    class SentenceEncoder(torch.nn.Module):
        """Transformer, pooling and L2 normalisation: the sentence-transformers pipeline as one graph."""

        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            hidden = self.transformer(**kwargs).last_hidden_state
            if pooling == "cls":
                pooled = hidden[:, 0]
            else:
                weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    encoder = SentenceEncoder(model).eval()
    example = feeds(tokenizer, ["a short example", "a slightly longer example sentence"], input_names)
    check = feeds(tokenizer, CHECK_TEXTS, input_names)
    with torch.inference_mode():
        reference = encoder(**{k: torch.from_numpy(v) for k, v in check.items()}).numpy()

    dynamic = {name: {0: "batch", 1: "tokens"} for name in input_names}
    dynamic["embedding"] = {0: "batch"}
    work = Path(tempfile.mkdtemp(prefix="export-", dir=target.parent))
    facts: dict[str, Any] = {"pooling": pooling, "inputs": input_names, "opset": OPSET}
    try:
        raw = work / "raw.onnx"
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                encoder,
                tuple(torch.from_numpy(example[name]) for name in input_names),
                str(raw),
                input_names=input_names,
                output_names=["embedding"],
                dynamic_axes=dynamic,
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        del encoder, model
        facts["export_seconds"] = round(time.perf_counter() - started, 2)

        def agreement(path: Path) -> np.ndarray:
            return _cosines(run_session(create_session(path, threads=threads), check), reference)

        raw_cos = agreement(raw)
        if raw_cos.min() < 0.9999:
            raise ImproperlyConfigured(
                f"The ONNX export of {folder} disagrees with PyTorch (cosine {raw_cos.min():.5f}); not caching it."
            )
        fp32 = raw
        fused = _fuse(raw, work / "fused.onnx", config)
        if fused is not None:
            fused_cos = agreement(fused)
            if fused_cos.min() >= 0.9999:
                fp32, facts["fused"] = fused, True
            else:
                logger.warning("Fused ONNX graph disagrees with PyTorch (%.5f); using the plain one.", fused_cos.min())
        facts.setdefault("fused", False)
        if quantize == "int8":
            from onnx import TensorProto
            from onnxruntime.quantization import QuantType, quantize_dynamic

            graph = onnx.load(str(fp32), load_external_data=False).graph
            keep = [node.name for node in graph.node if INT8_KEEP_FP32.search(node.name)]
            final = work / "int8.onnx"
            with _quiet_onnxruntime_logging():
                quantize_dynamic(
                    str(fp32),
                    str(final),
                    weight_type=QuantType.QInt8,
                    per_channel=True,  # per-tensor scales: mean cosine to fp32 0.95 instead of 0.995
                    nodes_to_exclude=keep,
                    extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT},
                )
            facts["int8_fp32_nodes"] = keep
        else:
            final = fp32
        final_cos = agreement(final)
        facts["check_cosine_min"] = round(float(final_cos.min()), 6)
        facts["check_cosine_mean"] = round(float(final_cos.mean()), 6)
        if final_cos.mean() < 0.97:
            raise ImproperlyConfigured(
                f"The {quantize} ONNX model of {folder} is too far from PyTorch (mean cosine {final_cos.mean():.4f})."
            )
        tmp_target = target.with_name(target.name + ".tmp")
        shutil.copyfile(final, tmp_target)
        os.replace(tmp_target, target)
        facts["onnxruntime"] = ort.__version__
        facts["torch"] = torch.__version__
        facts["build_seconds"] = round(time.perf_counter() - started, 2)
        return facts
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def _quiet_onnxruntime_logging() -> Iterator[None]:
    """Drop records below ERROR logged by ONNX Runtime's Python tools (fusion and quantisation chatter:
    they log through loggers named after bare modules, "fusion_attention" and the like, or the root
    logger itself, so the filter sits on the root logger and on its handlers)."""

    class Quiet(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return record.levelno >= logging.ERROR or "onnxruntime" not in record.pathname

    quiet = Quiet()
    root = logging.getLogger()
    targets = [root, *root.handlers]
    for target in targets:
        target.addFilter(quiet)
    try:
        yield
    finally:
        for target in targets:
            target.removeFilter(quiet)


def _fuse(source: Path, target: Path, config: Any) -> Path | None:
    """ONNX Runtime's transformer fusions (attention, skip-LayerNorm, GELU); None when they do not apply."""
    heads = getattr(config, "num_attention_heads", None)
    hidden = getattr(config, "hidden_size", None)
    if not heads or not hidden:
        return None
    try:
        from onnxruntime.transformers import optimizer

        with _quiet_onnxruntime_logging():
            fused = optimizer.optimize_model(str(source), model_type="bert", num_heads=heads, hidden_size=hidden)
            fused.save_model_to_file(str(target))
        return target
    except Exception as exc:  # an architecture the fuser does not know: the plain graph is fine
        logger.info("ONNX Runtime fusions skipped for this model: %s", exc)
        return None


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)
