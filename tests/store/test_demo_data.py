"""`manage.py load_demo`: a believable shop (catalogue in two languages, customers, orders) in one command."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from store.management.commands.load_demo import ADMIN_PASSWORD, ADMIN_USERNAME
from store.models import Category, Order, OrderItem, Product, ProductView

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
CUSTOMERS = ["alice", "bob", "carmen", "chenwei"]


def load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "users": get_user_model().objects.count(),
        "categories": Category.objects.count(),
        "products": Product.objects.count(),
        "orders": Order.objects.count(),
        "items": OrderItem.objects.count(),
        "views": ProductView.objects.count(),
    }


@pytest.fixture
def demo():
    load_demo()


def test_catalogue_is_large_and_varied(demo):
    products = list(Product.objects.select_related("category"))

    assert len(products) >= 150
    assert Category.objects.filter(parent__isnull=True).count() >= 8
    skus = [product.sku for product in products]
    assert len(skus) == len(set(skus))
    chinese = [product for product in products if product.language == "zh"]
    assert len(chinese) >= 30
    assert all(CJK.search(product.name) for product in chinese), [p.name for p in chinese if not CJK.search(p.name)]


def test_every_product_has_a_real_description(demo):
    too_short = []
    for product in Product.objects.all():
        text = product.description.strip()
        if product.language == "zh":
            long_enough = len(text) >= 40
        else:
            long_enough = len(text.split()) >= 15
        if not long_enough:
            too_short.append((product.sku, text))

    assert too_short == []


@pytest.mark.parametrize("username", CUSTOMERS)
def test_each_demo_customer_has_orders_and_browsing_history(demo, username):
    user = get_user_model().objects.get(username=username)

    orders = Order.objects.filter(user=user)
    assert orders.exists()
    assert all(order.items.exists() for order in orders)
    assert ProductView.objects.filter(user=user).exists()


def test_chenwei_browses_the_chinese_catalogue(demo):
    viewed = ProductView.objects.filter(user__username="chenwei").select_related("product")

    assert all(view.product.language == "zh" for view in viewed)


def test_the_admin_can_sign_in_with_the_documented_password(demo, client):
    admin = get_user_model().objects.get(username=ADMIN_USERNAME)

    assert admin.is_superuser and admin.is_staff
    assert client.login(username=ADMIN_USERNAME, password=ADMIN_PASSWORD)
    assert client.get("/admin/").status_code == 200


def test_loading_twice_duplicates_nothing(demo):
    before = counts()

    output = load_demo()

    assert counts() == before
    assert "not loaded" in output
