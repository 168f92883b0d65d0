"""Keyword search (BM25 over Postgres full text) and fusion: what a shopper notices in the ranking."""

import pytest

from shopai.services import embeddings
from shopai.services.search import fuse, search_products

pytestmark = pytest.mark.django_db


def names(hits):
    return [hit.product.name for hit in hits]


@pytest.fixture
def shop(make_product):
    products = [
        make_product(name="Trail running shoes", description="Grippy soles for muddy trails.", sku="RUN-01"),
        make_product(name="Leather boots", description="Good for a walk; not for running.", sku="BOO-01"),
        make_product(name="Running socks", description="Cushioned socks.", category="Men/Socks", sku="SOC-01"),
        make_product(name="Cotton tee", description="Soft tee. " + "Cotton cotton cotton. " * 20, sku="TEE-01"),
    ]
    embeddings.embed_products(product_pks=[p.pk for p in products])
    return products


def test_stemming_finds_other_forms_of_a_word(shop):
    # "runs" is in no text; "running" is, and both stem to "run".
    found = names(search_products(query="runs", mode="keyword"))
    assert set(found) == {"Running socks", "Trail running shoes", "Leather boots"}


def test_a_word_in_the_name_outranks_the_same_word_in_a_description(shop):
    ranked = names(search_products(query="running", mode="keyword"))
    assert ranked.index("Trail running shoes") < ranked.index("Leather boots")
    assert ranked.index("Running socks") < ranked.index("Leather boots")


def test_repeating_a_word_does_not_buy_the_top_spot(shop, make_product):
    spam = make_product(name="Plain shirt", description="Tee tee tee tee tee tee tee tee tee tee.", sku="SPAM-1")
    embeddings.embed_products(product_pks=[spam.pk])
    assert names(search_products(query="tee", mode="keyword"))[0] == "Cotton tee"


def test_a_rare_word_counts_more_than_a_common_one(shop):
    # "trail" is in one product, "running" in three: the product with the rare word wins.
    assert names(search_products(query="running trail", mode="keyword"))[0] == "Trail running shoes"


def test_an_exact_sku_comes_first_in_any_case(shop):
    assert names(search_products(query="soc-01", mode="hybrid"))[0] == "Running socks"
    assert names(search_products(query="SOC-01", mode="keyword"))[0] == "Running socks"


def test_stop_words_alone_find_nothing_by_keywords(shop):
    assert search_products(query="the and of", mode="keyword") == []


def test_convex_fusion_scales_each_list_and_weighs_them(settings):
    settings.SHOPAI = {**settings.SHOPAI, "SEARCH": {"FUSION": "convex", "KEYWORD_WEIGHT": 0.4}}
    fused = fuse({"a": 10.0, "b": 5.0, "c": 0.0}, {"c": 0.9, "d": 0.5})
    assert fused == pytest.approx({"a": 0.4, "b": 0.2, "c": 0.6, "d": 0.0})
    assert fuse({}, {"x": 0.3}) == {"x": pytest.approx(0.6)}  # one list: its order stands


def test_rrf_fusion_weighs_ranks(settings):
    settings.SHOPAI = {**settings.SHOPAI, "SEARCH": {"FUSION": "rrf", "KEYWORD_WEIGHT": 0.5, "RRF_K": 60}}
    fused = fuse({"a": 3.0, "b": 1.0}, {"b": 0.9})
    assert fused["b"] > fused["a"]  # second by keywords and first by meaning beats first by keywords only


def test_hybrid_answers_a_query_the_model_cannot_read_by_keywords(make_product, settings):
    embedding = settings.SHOPAI["EMBEDDINGS"]["default"]
    settings.SHOPAI = {
        **settings.SHOPAI,
        "EMBEDDINGS": {
            **settings.SHOPAI["EMBEDDINGS"],
            "default": {**embedding, "CONFIG": {**embedding.get("CONFIG", {}), "languages": ["en"]}},
        },
    }
    products = [
        make_product(name="纯棉床单", description="全棉面料", sku="ZH-1"),
        make_product(name="Cotton sheet", description="All cotton.", sku="EN-1"),
    ]
    embeddings.embed_products(product_pks=[p.pk for p in products])
    assert names(search_products(query="床单", mode="hybrid")) == ["纯棉床单"]  # no vector noise added
    assert len(search_products(query="床单", mode="vector")) == 2  # asked for vectors: vectors
