"""shopai inside a django-oscar shop, switched on by the preset alone: what a shopper and staff see."""

import pytest
from django import forms
from django.core import checks
from django.urls import reverse
from oscar.core.loading import get_class, get_model

from shopai.adapters import content_hash, get_product_adapter
from shopai.models import Event, GeneratedCopy, ProductEmbedding
from shopai.recommendations import bought_together
from shopai.studio import copy as copy_service

Category = get_model("catalogue", "Category")
Product = get_model("catalogue", "Product")
CategoryForm = get_class("dashboard.catalogue.forms", "CategoryForm")

SEARCH = "/api/shopai/search"


def names(body):
    return [hit["name"] for hit in body["results"]]


def stored_hash(product):
    return ProductEmbedding.objects.get(object_pk=str(product.pk)).content_hash


def test_the_preset_passes_every_shopai_check(db):
    assert not [m for m in checks.run_checks(databases=["default"]) if m.id.startswith("shopai")]


def test_parents_and_standalone_products_are_embedded_variants_and_their_sizes_are_not(shop):
    embedded = set(ProductEmbedding.objects.values_list("object_pk", flat=True))

    assert str(shop["TEE-MERINO"].pk) in embedded and str(shop["JKT-STORM"].pk) in embedded
    assert not embedded & {str(shop[upc].pk) for upc in ("TEE-MERINO-S", "TEE-MERINO-M", "TEE-MERINO-L")}
    text = get_product_adapter().get_text(Product.objects.get(upc="TEE-MERINO"))
    assert text.splitlines()[:3] == ["Merino trail T-shirt", "Clothing", "Clothing > Tops"]


def test_search_finds_by_meaning_shows_oscar_prices_and_never_a_variant_or_a_hidden_product(client, shop):
    body = client.get(SEARCH, {"q": "waterproof coat for rain", "k": 5}).json()
    first = body["results"][0]
    assert first["name"] == "Storm shell jacket" and first["price"] == "189.00" and first["in_stock"] is True

    every = client.get(SEARCH, {"q": "merino tent t-shirt", "k": 20}).json()
    ids = [hit["id"] for hit in every["results"]]
    assert ids.count(str(shop["TEE-MERINO"].pk)) == 1
    assert not {str(shop[upc].pk) for upc in ("TEE-MERINO-S", "TEE-MERINO-M", "TEE-MERINO-L", "PROTO-TENT")} & set(ids)


def test_price_stock_and_category_filters_work_on_stock_records_and_many_to_many_categories(client, shop):
    cooking = Category.objects.get(name="Cooking")

    in_range = names(client.get(SEARCH, {"q": "camping", "k": 20, "min_price": 30, "max_price": 40}).json())
    in_stock = names(client.get(SEARCH, {"q": "cook pot", "k": 20, "in_stock": "true"}).json())
    in_category = names(client.get(SEARCH, {"q": "gear", "k": 20, "category": cooking.pk}).json())

    assert sorted(in_range) == ["Mini gas stove", "Rechargeable head torch"]
    assert "Titanium cook pot" not in in_stock and "Mini gas stove" in in_stock
    assert sorted(in_category) == ["Mini gas stove", "Titanium cook pot", "户外保温杯"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"category": "cooking"}, "category"),
        ({"min_price": "cheap"}, "min_price"),
        ({"category": "99999999999999999999"}, "category"),
    ],
)
def test_impossible_filter_values_are_a_400_naming_the_field(client, shop, params, field):
    response = client.get(SEARCH, {"q": "stove", **params})

    assert response.status_code == 400 and field in response.json()["fields"]


def test_a_category_renamed_in_the_dashboard_reaches_the_index_of_its_products_and_its_subcategories(
    staff_client, shop, django_capture_on_commit_callbacks
):
    outdoor = Category.objects.get(name="Outdoor", depth=1)
    form = CategoryForm(instance=outdoor)
    data = {  # what the dashboard's form posts back unchanged (no image uploaded)
        name: "" if form[name].value() is None else form[name].value()
        for name, field in form.fields.items()
        if not isinstance(field, forms.FileField)
    }
    data["name"] = "Camping & Outdoor"

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("dashboard:catalogue-category-update", args=[outdoor.pk]), data)

    assert response.status_code == 302, response.content.decode()[:500]
    stove = Product.objects.get(upc="STOVE-MINI")  # in Outdoor > Cooking: its text reads the parent's name
    text = get_product_adapter().get_text(stove)
    assert "Camping & Outdoor > Cooking" in text and stored_hash(stove) == content_hash(text)


def test_a_product_edited_in_the_dashboard_is_re_embedded(staff_client, shop, django_capture_on_commit_callbacks):
    lamp = Product.objects.get(upc="LAMP-HEAD")
    before = stored_hash(lamp)

    with django_capture_on_commit_callbacks(execute=True):
        lamp.description = "A 400-lumen head torch with a red light for reading maps at night."
        lamp.save()

    after = stored_hash(lamp)
    assert after != before and after == content_hash(get_product_adapter().get_text(lamp))


def test_similar_items_and_bought_together_offer_parents_only(client, shop):
    stove, tee = shop["STOVE-MINI"], shop["TEE-MERINO"]

    similar = client.get(f"/api/shopai/products/{stove.pk}/similar", {"k": 3}).json()
    together = [item.product.pk for item in bought_together(product=stove)]

    assert similar["count"] == 3 and str(stove.pk) not in [hit["id"] for hit in similar["results"]]
    assert together == [tee.pk]  # alice bought size L: the shirt counts, not its variant


def test_oscar_orders_are_purchases_of_the_products_shoppers_find(shop):
    bought = set(Event.objects.filter(kind="purchase").values_list("object_pk", flat=True))

    assert bought == {str(shop["TEE-MERINO"].pk), str(shop["STOVE-MINI"].pk)}


def test_the_assistant_answers_from_the_faq_and_the_shoppers_own_order_with_oscars_links(client, shop):
    from django.contrib.auth import get_user_model

    delivery = client.post(
        "/api/shopai/ask", {"question": "When will my parcel arrive?"}, content_type="application/json"
    )
    client.force_login(get_user_model().objects.get(username="alice"))
    order = client.post("/api/shopai/ask", {"question": "Where is my order 100001?"}, content_type="application/json")

    assert delivery.status_code == 200 and "two to four working days" in delivery.json()["reply"]
    body = order.json()
    assert body["intent"] == "order_status" and "Complete" in body["reply"]
    assert {"label": "order 100001", "url": "/accounts/orders/100001/"} in body["links"]


def test_a_copy_job_drafts_and_publishing_writes_the_oscar_product(
    staff_client, shop, django_capture_on_commit_callbacks
):
    stove = shop["STOVE-MINI"]

    with django_capture_on_commit_callbacks(execute=True):
        started = staff_client.post(
            f"/api/shopai/products/{stove.pk}/copy", {"field": "description"}, content_type="application/json"
        )
    assert started.status_code == 202
    draft = GeneratedCopy.objects.get(object_pk=str(stove.pk))
    copy_service.approve(draft, user=None)
    copy_service.publish(draft, user=None)  # locks the product row only, through oscar's nullable joins

    stove.refresh_from_db()
    assert stove.description == draft.text and GeneratedCopy.objects.get(pk=draft.pk).status == "published"


def test_shopai_template_tags_render_inside_oscars_product_page(client, shop):
    page = client.get(shop["STOVE-MINI"].get_absolute_url())

    html = page.content.decode()
    assert page.status_code == 200
    assert "Similar products" in html and "Often bought together" in html and "Merino trail T-shirt" in html
    assert "data-shopai-chat" in html
