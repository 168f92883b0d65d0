"""Storefront, search page and admin pages as a shopper or shop owner sees them."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from shopai.core import counters as stats
from shopai.search import embeddings
from store.models import Category, ProductView
from tests.brokers import broker_client, queued_product_batches

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def row_of(page: str, sku: str) -> str:
    """The changelist table row of the product with this sku."""
    rows = [row for row in re.findall(r"<tr[^>]*>.*?</tr>", page, flags=re.S) if f">{sku}</a>" in row]
    assert len(rows) == 1, f"no single row for {sku}"
    return rows[0]


# --- storefront -----------------------------------------------------------------


def test_home_lists_products_and_the_category_menu(client, make_product):
    make_product(name="Ridgeline hiking jacket", category="Outdoor/Jackets")
    make_product(name="Enamel camp mug", category="Kitchen/Mugs")
    make_product(name="Retired lantern", category="Outdoor/Lights", is_active=False)

    response = client.get("/")

    assert response.status_code == 200
    page = html(response)
    assert "Ridgeline hiking jacket" in page
    assert "Enamel camp mug" in page
    assert "Retired lantern" not in page
    menu = page.split('aria-label="Categories"', 1)[1].split("</nav>", 1)[0]
    for top in ("Outdoor", "Kitchen"):
        url = Category.objects.get(name=top, parent=None).get_absolute_url()
        assert f'<a href="{url}">{top}</a>' in menu
    assert "Jackets" not in menu  # only top-level categories in the menu


def test_category_page_shows_products_of_its_subcategories(client, make_product):
    make_product(name="Zip hoodie", category="Men/Tops/Hoodies")
    make_product(name="Chino trousers", category="Men/Bottoms")
    make_product(name="Summer dress", category="Women/Dresses")
    men = Category.objects.get(name="Men", parent=None)

    response = client.get(men.get_absolute_url())

    assert response.status_code == 200
    page = html(response)
    assert "Zip hoodie" in page
    assert "Chino trousers" in page
    assert "Summer dress" not in page


def test_product_page_shows_description_and_price(client, make_product):
    product = make_product(
        name="Trail hoodie", description="Brushed fleece inside, zip chest pocket.", price="49.50", stock=3
    )

    response = client.get(product.get_absolute_url())

    assert response.status_code == 200
    page = html(response)
    assert "Trail hoodie" in page
    assert "Brushed fleece inside, zip chest pocket." in page
    assert "$49.50" in page
    assert "3 in stock" in page


def test_product_page_records_a_view_only_for_a_signed_in_shopper(client, make_product, django_user_model):
    product = make_product(name="Trail hoodie")

    client.get(product.get_absolute_url())
    assert not ProductView.objects.exists()

    shopper = django_user_model.objects.create_user("dana", password="pw")
    client.force_login(shopper)
    client.get(product.get_absolute_url())

    assert list(ProductView.objects.values_list("user__username", "product_id")) == [("dana", product.pk)]


def test_inactive_product_is_not_found(client, make_product):
    product = make_product(name="Retired lantern", is_active=False)

    assert client.get(product.get_absolute_url()).status_code == 404


# --- search page ----------------------------------------------------------------


def test_search_page_shows_the_best_match_first(client, make_product):
    products = [
        make_product(name="Leather hiking boots", description="Ankle support for rocky trails."),
        make_product(name="Frying pan", description="Non-stick pan for the kitchen.", category="Home/Kitchen"),
        make_product(name="Waterproof hiking jacket", description="Taped seams, hood, breathable."),
    ]
    embeddings.embed_products(product_pks=[p.pk for p in products])

    response = client.get("/shopai/search/", {"q": "waterproof jacket"})

    assert response.status_code == 200
    page = html(response)
    assert "3 results for" in page
    positions = {p.name: page.find(f">{p.name}</a>") for p in products}
    assert all(position > 0 for position in positions.values()), positions
    assert min(positions, key=positions.get) == "Waterproof hiking jacket"


def test_search_page_without_words_asks_for_some(client):
    response = client.get("/shopai/search/", {"q": ""})

    assert response.status_code == 200
    assert "The search text is empty" in html(response)
    assert "results for" not in html(response)


def test_search_page_with_an_overlong_query_says_how_long_it_may_be(client):
    response = client.get("/shopai/search/", {"q": "jacket " * 57 + "x"})  # 400 characters

    assert response.status_code == 200
    assert "The search text is 400 characters long; shorten it to at most 300." in html(response)


# --- admin ----------------------------------------------------------------------


def test_product_changelist_shows_which_products_are_in_the_search_index(admin_client, make_product):
    indexed = make_product(name="Indexed lamp", sku="LAMP-IDX")
    make_product(name="Pending lamp", sku="LAMP-NEW")
    embeddings.embed_products(product_pks=[indexed.pk])

    response = admin_client.get("/admin/store/product/")

    assert response.status_code == 200
    page = html(response)
    assert "search index" in page.lower()
    assert ">indexed<" in row_of(page, "LAMP-IDX")
    assert ">pending<" in row_of(page, "LAMP-NEW")


@pytest.mark.django_db(transaction=True)
def test_re_embed_action_queues_the_selected_products_and_says_so(admin_client, make_product, empty_embedding_queue):
    chosen = [make_product(name="Lamp A"), make_product(name="Lamp B")]
    make_product(name="Lamp C")
    broker_client().delete("embeddings")  # saving queued them already; start from an empty queue

    response = admin_client.post(
        "/admin/store/product/",
        {"action": "shopai_re_embed", "_selected_action": [p.pk for p in chosen]},
        follow=True,
    )

    assert response.status_code == 200
    assert "2 products queued for embedding." in html(response)
    assert [sorted(batch) for batch in queued_product_batches()] == [sorted(str(p.pk) for p in chosen)]


def test_embedding_changelist_shows_the_counters(admin_client, make_product):
    cache.delete_many([f"shopai:stats:{name}" for name in stats.COUNTERS])
    products = [make_product(name="Lamp A"), make_product(name="Lamp B")]
    embeddings.embed_products(product_pks=[p.pk for p in products])

    response = admin_client.get("/admin/shopai/productembedding/")

    assert response.status_code == 200
    page = html(response)
    assert "Since the counters were last reset: 2 texts embedded by the model" in page
    for product in products:
        assert f">{product.pk}</a>" in page
