"""With the real MiniLM model, the demo shop's search finds what a shopper means."""

import pytest
from django.core.management import call_command

from shopai.search.hybrid import search_products

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def demo_shop(use_minilm):
    call_command("load_demo", stdout=open("/dev/null", "w"))
    call_command("shopai_reindex", no_progress=True, stdout=open("/dev/null", "w"))


def test_waterproof_jacket_for_hiking_finds_waterproof_jackets_first(demo_shop, client):
    hits = search_products(query="waterproof jacket for hiking", k=5)

    top3 = hits[:3]
    for hit in top3:
        text = f"{hit.product.name} {hit.product.description}".lower()
        assert "waterproof" in text and "jacket" in text, hit.product.name
    assert all(hit.product.category.full_name.startswith("Outdoor") for hit in top3)

    page = client.get("/shopai/search/", {"q": "waterproof jacket for hiking"}).content.decode()
    assert page.index(top3[0].product.name) < page.index(hits[4].product.name)


@pytest.mark.parametrize(
    ("query", "any_of"),
    [
        ("something to brew coffee at home", ("coffee", "espresso")),
        ("comfortable office chair for long days", ("chair",)),
        ("shoes for running a marathon", ("running shoe", "running")),
    ],
)
def test_everyday_queries_put_a_matching_product_first(demo_shop, query, any_of):
    first = search_products(query=query, k=1)[0].product
    text = f"{first.name} {first.description}".lower()
    assert any(word in text for word in any_of), first.name


def test_reindex_command_reports_and_skips_unchanged_products(use_minilm, capsys):
    call_command("load_demo")
    call_command("shopai_reindex", no_progress=True)
    first = capsys.readouterr().out
    call_command("shopai_reindex", no_progress=True)
    second = capsys.readouterr().out

    assert "0 failed" in first and "0 unchanged" in first
    assert "Done: 0 embedded" in second and "0 failed" in second
