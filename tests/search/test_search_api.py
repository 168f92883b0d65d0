"""GET /api/shopai/search: results a shopper can use, and 400s a person can act on."""

import pytest
from django.urls import reverse

from shopai.search import embeddings

pytestmark = pytest.mark.django_db

URL = "/api/shopai/search"


@pytest.fixture
def catalogue(make_product):
    products = {
        "jacket": make_product(name="Waterproof hiking jacket", description="Taped seams, hood, breathable."),
        "boots": make_product(name="Leather hiking boots", description="Ankle support for rocky trails."),
        "pan": make_product(name="Frying pan", description="Non-stick pan for the kitchen.", category="Home/Kitchen"),
        "hidden": make_product(name="Waterproof hiking jacket (old)", description="Discontinued.", is_active=False),
    }
    embeddings.embed_products(product_pks=[p.pk for p in products.values()])
    return products


def test_results_are_ranked_by_meaning_with_the_fields_a_shop_shows(client, catalogue):
    response = client.get(URL, {"q": "waterproof jacket", "k": 3})

    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "waterproof jacket"
    assert body["count"] == len(body["results"]) == 3
    first = body["results"][0]
    jacket = catalogue["jacket"]
    assert first == {
        "id": str(jacket.pk),
        "sku": jacket.sku,
        "name": "Waterproof hiking jacket",
        "price": "10.00",
        "url": jacket.get_absolute_url(),
        "score": first["score"],
        "found_by": "both",  # its words and its meaning
        "click_url": f"/shopai/go/{body['tracking']}/{jacket.pk}/",
    }
    scores = [hit["score"] for hit in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_inactive_products_never_appear(client, catalogue):
    body = client.get(URL, {"q": "waterproof hiking jacket old discontinued", "k": 10}).json()

    assert str(catalogue["hidden"].pk) not in {hit["id"] for hit in body["results"]}
    assert body["count"] == 3


def test_default_k_is_ten(client, make_product):
    products = [make_product(name=f"Candle {i}") for i in range(12)]
    embeddings.embed_products(product_pks=[p.pk for p in products])

    assert client.get(URL, {"q": "candle"}).json()["count"] == 10


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Add a search text"),
        ({"q": ""}, "search text is empty"),
        ({"q": "   "}, "search text is empty"),
        ({"q": "x" * 301}, "shorten it to at most 300"),
        ({"q": "jacket", "k": "ten"}, "k must be a whole number"),
        ({"q": "jacket", "k": "0"}, "k must be at least 1"),
        ({"q": "jacket", "k": "101"}, "k can be at most 100"),
        ({"q": "jacket", "category": "abc"}, "'abc' is not a category id of this shop"),
        ({"q": "jacket", "min_price": "cheap"}, "min_price: A valid number is required"),
    ],
)
def test_bad_input_gets_a_400_with_a_message(client, params, message):
    response = client.get(URL, params)

    assert response.status_code == 400
    assert message in response.json()["error"]


def test_too_many_requests_get_a_429_with_a_wait_hint(client, catalogue, settings):
    settings.SHOPAI = {**settings.SHOPAI, "THROTTLE_RATES": {"search": "2/minute"}}
    from django.core.cache import cache

    cache.clear()
    statuses = [client.get(URL, {"q": "boots"}).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert "try again in" in client.get(URL, {"q": "boots"}).json()["error"]


def test_openapi_schema_documents_the_search_endpoint(client):
    response = client.get(reverse("schema"), HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/shopai/search"]["get"]
    assert {param["name"] for param in operation["parameters"]} >= {"q", "k"}


def test_keyword_mode_finds_exact_words_and_chinese_character_pairs(client, make_product):
    items = [
        make_product(name="Ridgeline shell", description="GORE-TEX membrane, taped seams."),
        make_product(
            name="三合一防水冲锋衣", description="防水透气，适合徒步。", category="户外/冲锋衣", language="zh"
        ),
        make_product(name="Frying pan", description="Cast iron.", category="Home/Kitchen"),
    ]
    embeddings.embed_products(product_pks=[p.pk for p in items])

    english = client.get(URL, {"q": "gore-tex", "mode": "keyword"}).json()
    chinese = client.get(URL, {"q": "防水冲锋衣", "mode": "keyword"}).json()

    assert [hit["id"] for hit in english["results"]] == [str(items[0].pk)]
    assert [hit["id"] for hit in chinese["results"]] == [str(items[1].pk)]
    assert english["mode"] == "keyword"


def test_hybrid_is_the_default_and_pages_do_not_overlap(client, make_product):
    products = [make_product(name=f"Wool sock {i}", description="Warm wool socks for hiking.") for i in range(25)]
    embeddings.embed_products(product_pks=[p.pk for p in products])

    first = client.get(URL, {"q": "wool socks", "k": 10}).json()
    second = client.get(URL, {"q": "wool socks", "k": 10, "page": 2}).json()

    assert first["mode"] == "hybrid" and first["count"] == second["count"] == 10
    assert not {hit["id"] for hit in first["results"]} & {hit["id"] for hit in second["results"]}


@pytest.mark.parametrize("exact_max_rows", [2000, 0], ids=["exact-plan", "index-plan"])
def test_a_filter_matching_one_percent_still_returns_k_results(client, make_product, settings, exact_max_rows):
    # 10 allowed products: ranked exactly by default; with the exact plan switched off, the
    # HNSW index scan must keep going (iterative scan) until it has found all 10.
    settings.SHOPAI = {**settings.SHOPAI, "EXACT_SEARCH_MAX_ROWS": exact_max_rows}
    products = [
        make_product(
            name=f"Camp item {i}", description="Camping gear", category="Rare/Stoves" if i % 100 == 0 else "Camp/Misc"
        )
        for i in range(1000)
    ]
    embeddings.reindex_products()
    rare = products[0].category

    for mode in ("hybrid", "vector", "keyword"):
        body = client.get(URL, {"q": "camping gear", "k": 10, "category": rare.pk, "mode": mode}).json()
        assert body["count"] == 10, mode
        assert {hit["id"] for hit in body["results"]} == {str(p.pk) for p in products if p.category == rare}


@pytest.mark.parametrize(
    ("params", "message"),
    [({"q": "x", "mode": "fuzzy"}, "not a search mode"), ({"q": "x", "page": "0"}, "greater than or equal to 1")],
)
def test_bad_mode_or_page_gets_a_400(client, params, message):
    response = client.get(URL, params)
    assert response.status_code == 400 and message in response.json()["error"]


def test_openapi_schema_is_valid_and_documents_every_shopai_endpoint(client):
    from io import StringIO

    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO())  # raises on a warning
    paths = client.get(reverse("schema"), HTTP_ACCEPT="application/json").json()["paths"]
    for path in ("/api/shopai/events", "/api/shopai/recommendations", "/api/shopai/products/{product_id}/similar"):
        assert path in paths


def test_code_may_filter_by_a_category_object_as_the_api_filters_by_its_id(make_product):
    from shopai.adapters import filter_products, get_product_adapter

    tent = make_product(name="Tent", description="A tent.", category="Outdoor/Tents")
    make_product(name="Pan", description="A pan.", category="Home/Kitchen")
    products = get_product_adapter().get_searchable_queryset()

    by_object = filter_products(products, category=tent.category)
    by_id = filter_products(products, category=str(tent.category.pk))

    assert list(by_object) == list(by_id) == [tent]
