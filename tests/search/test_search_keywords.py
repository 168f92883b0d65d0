"""Keyword search (BM25 over Postgres full text) and fusion: what a shopper notices in the ranking."""

import pytest
from django.db import connection

from shopai.search import embeddings
from shopai.search.hybrid import fuse, search_products

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


def test_matching_more_of_the_query_beats_repeating_one_word(make_product):
    spam = make_product(name="Shirt A", description="Tee tee tee tee tee tee tee tee tee tee.", sku="SPAM-1")
    plain = make_product(name="Shirt B", description="A cotton tee.", sku="PLAIN-1")
    embeddings.embed_products(product_pks=[spam.pk, plain.pk])
    # Both words in one field each; ten repeats of one word saturate below two different words.
    assert names(search_products(query="cotton tee", mode="keyword"))[0] == "Shirt B"


def test_a_rare_word_counts_more_than_a_common_one(make_product):
    # Created first, so a tie (no IDF) would put the common-word products ahead.
    common = [make_product(name=name, description="Cotton.", sku=f"COM-{i}") for i, name in enumerate("ABC")]
    rare = make_product(name="Towel", description="Linen.", sku="RARE-1")
    embeddings.embed_products(product_pks=[p.pk for p in [*common, rare]])
    assert names(search_products(query="cotton linen", mode="keyword"))[0] == "Towel"


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


def test_the_best_match_is_found_even_when_more_products_match_than_are_ranked(make_product, settings):
    # Only SEARCH_MAX_K candidates are ranked; they must be the best ones, not any that match
    # (a plan that checks the shop's filters by hash join loses the score order).
    settings.SHOPAI = {**settings.SHOPAI, "SEARCH_MAX_K": 5}
    weak = [make_product(name=f"Shirt {i}", description="Goes with a tee.", sku=f"W-{i:03d}") for i in range(300)]
    best = make_product(name="Organic tee", description="A tee.", sku="BEST-1")
    embeddings.embed_products(product_pks=[p.pk for p in [*weak, best]])
    with connection.cursor() as cursor:  # statistics, as a live shop has: the planner then prefers a hash join
        cursor.execute("ANALYZE shopai_productembedding, store_product")
    assert names(search_products(query="tee", k=1, mode="keyword")) == ["Organic tee"]
