"""Bad input gets a clear 4xx, never a 500: pages, ids, bodies and events that cannot be right."""

import json

import pytest
from django.test import Client

from shopai.recommendations.recommenders import trending

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"q": "tent", "page": str(10**30)}, 400, "page"),
        ({"q": "tent", "k": "100", "page": "11"}, 400, "page"),  # past pgvector's deepest candidate list
        ({"q": "tent", "category": str(10**20)}, 400, "category"),
        ({"q": "tent", "min_price": "1e400"}, 400, "min_price"),
    ],
)
def test_search_parameters_out_of_range_are_a_400(client, params, status, field):
    response = client.get("/api/shopai/search", params)

    assert response.status_code == status and field in response.json()["fields"]


@pytest.mark.parametrize(
    "path",
    [
        f"/api/shopai/products/{10**20}/similar",
        f"/api/shopai/jobs/{10**20}",
        f"/api/shopai/ask/{10**20}/feedback",
        "/api/shopai/products/not-a-number/similar",
    ],
)
def test_ids_that_cannot_exist_are_a_404(admin_client, path):
    response = (
        admin_client.get(path)
        if "feedback" not in path
        else admin_client.post(path, {}, content_type="application/json")
    )

    assert response.status_code == 404


def test_a_deeply_nested_body_is_a_400_and_a_huge_one_a_413(client):
    nested = client.post("/api/shopai/ask", "[" * 30_000 + "]" * 30_000, content_type="application/json")
    huge = client.post("/api/shopai/ask", json.dumps({"question": "x" * 70_000}), content_type="application/json")

    assert nested.status_code == 400 and "nested too deeply" in nested.json()["error"]
    assert huge.status_code == 413


def test_purchases_cannot_be_posted_they_come_from_orders(client, django_user_model, make_product):
    tent = make_product(name="Tent", description="A tent.")
    anonymous = client.post(
        "/api/shopai/events", {"type": "purchase", "product_id": str(tent.pk)}, content_type="application/json"
    )
    client.force_login(django_user_model.objects.create_user("buyer"))
    signed_in = client.post(
        "/api/shopai/events", {"type": "purchase", "product_id": str(tent.pk)}, content_type="application/json"
    )

    assert anonymous.status_code == 403 and signed_in.status_code == 403  # this shop records orders
    assert "orders" in signed_in.json()["error"]


def test_events_for_products_that_do_not_exist_are_a_404(client):
    response = client.post(
        "/api/shopai/events", {"type": "view", "product_id": "424242"}, content_type="application/json"
    )

    assert response.status_code == 404


def test_one_client_repeating_a_view_cannot_make_a_product_trend(make_product):
    flooded = make_product(name="Flooded", description="Viewed sixty times by one client.")
    liked = make_product(name="Liked", description="Viewed once each by three shoppers.")
    flood, shoppers = Client(), [Client() for _ in range(3)]

    for _ in range(60):
        flood.post(
            "/api/shopai/events", {"type": "view", "product_id": str(flooded.pk)}, content_type="application/json"
        )
    for shopper in shoppers:
        shopper.post(
            "/api/shopai/events", {"type": "view", "product_id": str(liked.pk)}, content_type="application/json"
        )

    products = type(flooded).objects.all()
    assert [item.product.pk for item in trending(products=products, k=2)] == [liked.pk, flooded.pk]
