"""shopai works with a product model it has never seen: UUID keys, other field names, cents."""

import pytest
from django.db import transaction

from shopai.adapters import content_hash, get_product_adapter
from shopai.checks import check_product_model
from shopai.models import GeneratedCopy, ProductEmbedding
from shopai.search import embeddings
from shopai.studio import copy as copy_service
from tests.brokers import broker_client, queued_product_batches
from tests.testapp.models import Gadget, Label

GADGET_SETTINGS = {
    "PRODUCT_MODEL": "testapp.Gadget",
    "PRODUCT_FIELDS": {"sku": "code", "name": "title", "price": "price_label"},
    "PRODUCT_FILTER_FIELDS": {"price": ""},  # shown through a method (cents): this shop does not filter by price
    "PRODUCT_TEXT_FIELDS": ["title", "maker.label", "blurb", "labels.name"],
    "SEARCHABLE_FILTER": {"available": True},
}


@pytest.fixture
def gadget_shop(settings):
    settings.SHOPAI = {**settings.SHOPAI, **GADGET_SETTINGS}


@pytest.fixture
def gadgets(db, gadget_shop, make_product):
    items = [
        make_product(sku="G-1", name="Noise cancelling headphones", description="Over-ear, 30h battery.",
                     category="Acme Audio", price=199),
        make_product(sku="G-2", name="Espresso grinder", description="Conical burrs.", price=89),
        make_product(sku="G-3", name="Studio headphones", description="Retired model.", category="Acme Audio",
                     price=99, on_sale=False),
    ]  # fmt: skip
    embeddings.embed_products(product_pks=[g.pk for g in items])
    return items


def test_checks_accept_the_gadget_configuration(gadget_shop, db):
    assert check_product_model() == []


def test_text_follows_the_configured_relation(gadgets):
    assert (
        get_product_adapter().get_text(gadgets[0]) == "Noise cancelling headphones\nAcme Audio\nOver-ear, 30h battery."
    )


def test_embeddings_are_keyed_by_uuid(gadgets):
    assert set(ProductEmbedding.objects.values_list("object_pk", flat=True)) == {str(g.pk) for g in gadgets}


def test_search_api_returns_gadgets_with_mapped_fields(client, gadgets):
    body = client.get("/api/shopai/search", {"q": "headphones", "k": 5}).json()

    assert body["count"] == 2  # the unavailable one is filtered out
    first = body["results"][0]
    assert first["id"] == str(gadgets[0].uid)
    assert first["sku"] == "G-1" and first["name"] == "Noise cancelling headphones" and first["price"] == "199.00"
    assert first["url"] is None


@pytest.mark.django_db(transaction=True)
def test_saving_a_gadget_queues_it_and_deleting_it_drops_its_vector(gadget_shop):
    broker_client().delete("embeddings")
    with transaction.atomic():
        gadget = Gadget.objects.create(code="G-9", title="Desk fan", blurb="Quiet.", cost_cents=2500)
    assert queued_product_batches() == [[str(gadget.pk)]]
    embeddings.embed_products(product_pks=[gadget.pk])

    gadget.delete()

    assert not ProductEmbedding.objects.exists()
    broker_client().delete("embeddings")


@pytest.fixture(params=["store.Product", "testapp.Gadget"])
def any_shop(request, settings):
    """The demo shop's product model, then one shopai has never seen: tests taking it run on both."""
    if request.param == "testapp.Gadget":
        settings.SHOPAI = {**settings.SHOPAI, **GADGET_SETTINGS}
    return request.param


def test_similar_items_come_from_the_same_shop_and_skip_what_cannot_be_sold(client, any_shop, make_product):
    kettle = make_product(name="Electric kettle", description="Boils water fast, 1.7 litres, steel.")
    teapot = make_product(name="Glass kettle", description="Boils water, 1.5 litres, glass.")
    withdrawn = make_product(name="Travel kettle", description="Boils water, 0.5 litres, steel.", on_sale=False)
    make_product(name="Wool socks", description="Warm socks for winter.")
    embeddings.reindex_products()

    body = client.get(f"/api/shopai/products/{kettle.pk}/similar", {"k": 2}).json()

    ids = [item["id"] for item in body["results"]]
    assert ids[0] == str(teapot.pk) and str(withdrawn.pk) not in ids and str(kettle.pk) not in ids


def test_a_price_shown_by_a_method_warns_that_its_filter_is_refused_and_the_api_says_so(client, gadgets, settings):
    settings.SHOPAI = {**settings.SHOPAI, "PRODUCT_FILTER_FIELDS": {}}
    assert [(e.id, "min_price and max_price" in e.msg) for e in check_product_model()] == [("shopai.W002", True)]

    response = client.get("/api/shopai/search", {"q": "headphones", "min_price": "10"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"min_price": ["This shop's products cannot be filtered by price."]}


def test_a_text_path_ending_on_a_many_valued_relation_is_an_error_with_a_hint(gadget_shop, settings, db):
    settings.SHOPAI = {**settings.SHOPAI, "PRODUCT_TEXT_FIELDS": ["title", "labels"]}

    (error,) = check_product_model()

    assert error.id == "shopai.E006" and '"labels.name"' in error.msg


def test_many_to_many_text_is_embedded_and_follows_renames_and_links(gadget_shop, make_product):
    waterproof = Label.objects.create(name="waterproof")
    radio = make_product(name="Field radio", description="Hand-crank radio.")
    radio.labels.add(waterproof)
    assert get_product_adapter().get_text(radio).endswith("Hand-crank radio.\nwaterproof")


@pytest.mark.django_db(transaction=True)
def test_a_label_renamed_or_linked_re_embeds_the_gadgets_that_read_it(gadget_shop):
    label = Label.objects.create(name="waterproof")
    radio = Gadget.objects.create(code="G-7", title="Field radio", blurb="Hand-crank.", cost_cents=4000)
    lamp = Gadget.objects.create(code="G-8", title="Camp lamp", blurb="USB.", cost_cents=2000)
    radio.labels.add(label)
    broker_client().delete("embeddings")

    with transaction.atomic():
        label.name = "splash-proof"
        label.save()  # as in any admin or dashboard: no save of the gadget itself
    with transaction.atomic():
        label.gadgets.add(lamp)  # linked from the label's side

    assert queued_product_batches() == [[str(radio.pk)], [str(lamp.pk)]]
    embeddings.embed_products(product_pks=[radio.pk])
    stored = ProductEmbedding.objects.get(object_pk=str(radio.pk)).content_hash
    assert stored == content_hash("Field radio\nHand-crank.\nsplash-proof")

    with transaction.atomic():
        label.delete()  # its links go without a signal of their own: both gadgets lose the word
    assert sorted(queued_product_batches()[-1]) == sorted([str(radio.pk), str(lamp.pk)])
    broker_client().delete("embeddings")
    Gadget.objects.all().delete()


def test_publishing_a_draft_works_when_the_text_reads_a_nullable_relation(
    gadget_shop, settings, make_product, admin_user
):
    """The product query joins the optional maker (an outer join): the row lock must not include it."""
    settings.SHOPAI = {
        **settings.SHOPAI,
        "COPY": {**settings.SHOPAI.get("COPY", {}), "FIELDS": {"description": "blurb"}},
    }
    fan = make_product(name="Desk fan", description="Quiet, three speeds.")  # no maker: the outer join's null side
    draft = copy_service.generate_draft(fan, copy_service.CopyRequest.from_dict({"field": "description"}))
    copy_service.approve(draft, user=admin_user)

    copy_service.publish(draft, user=admin_user)

    fan.refresh_from_db()
    assert fan.blurb == draft.text and GeneratedCopy.objects.get(pk=draft.pk).status == "published"
