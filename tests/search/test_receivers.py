"""Saving products enqueues embedding tasks on the real Redis broker, after commit only."""

import pytest
from django.db import transaction

from shopai.adapters import get_product_adapter
from shopai.models import ProductEmbedding
from shopai.search import embeddings
from shopai.tasks import sweep_stale_embeddings
from tests.brokers import broker_client, broker_stopped, queued_product_batches
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_queue():
    broker_client().delete("embeddings")
    yield
    broker_client().delete("embeddings")


def test_products_saved_in_one_transaction_are_sent_as_one_batch(make_product):
    with transaction.atomic():
        products = [make_product(name=f"Lamp {i}") for i in range(3)]
        assert queued_product_batches() == []  # nothing before commit

    assert queued_product_batches() == [[str(p.pk) for p in products]]


def test_batches_are_split_at_the_batch_size(make_product, settings):
    settings.SHOPAI = {**settings.SHOPAI, "EMBEDDING_BATCH_SIZE": 2}
    with transaction.atomic():
        for i in range(5):
            make_product(name=f"Cup {i}")

    assert [len(batch) for batch in queued_product_batches()] == [2, 2, 1]


def test_rolled_back_save_enqueues_nothing(make_product):
    with pytest.raises(RuntimeError), transaction.atomic():
        make_product(name="Ghost chair")
        raise RuntimeError("payment failed")

    assert queued_product_batches() == []


def test_save_outside_a_transaction_is_queued_at_once(make_product):
    product = make_product(name="Notebook")
    assert queued_product_batches() == [[str(product.pk)]]


def test_deleting_a_product_deletes_its_embedding(make_product):
    product = make_product()
    embeddings.embed_products(product_pks=[product.pk])
    pk = str(product.pk)

    product.delete()

    assert not ProductEmbedding.objects.filter(object_pk=pk).exists()


def test_save_while_broker_is_down_succeeds_and_marks_product_for_the_sweep(make_product):
    old = make_product(name="Rain jacket")
    embeddings.embed_products(product_pks=[old.pk])
    broker_client().delete("embeddings")

    with broker_stopped():
        old.description = "Now with taped seams."
        old.save()  # must not raise
        new = make_product(name="Rain trousers")

    assert ProductEmbedding.objects.get(object_pk=str(old.pk)).is_stale
    assert set(embeddings.products_needing_embedding()) == {str(old.pk), str(new.pk)}
    assert queued_product_batches() == []

    # Broker back: the sweep queues both, and later saves queue normally again.
    assert sweep_stale_embeddings() == 2
    assert sorted(queued_product_batches()[0]) == sorted([str(old.pk), str(new.pk)])


def test_renaming_a_category_re_embeds_its_products(make_product):
    """The text reads the category's path: a rename in the admin reaches the index without a reindex."""
    lamp = make_product(name="Desk lamp", description="A lamp.", category="Home/Lighting")
    make_product(name="Kettle", description="Steel.", category="Home/Kitchen")
    broker_client().delete("embeddings")

    lighting = lamp.category
    lighting.name = "Lamps"
    lighting.save()

    assert queued_product_batches() == [[str(lamp.pk)]]
    embeddings.embed_products(product_pks=[lamp.pk])
    assert "Home / Lamps" in get_product_adapter().get_text(type(lamp).objects.get(pk=lamp.pk))


def test_saves_that_cannot_change_the_text_queue_nothing(make_product):
    product = make_product(name="Desk lamp", description="A lamp.", category="Home/Lighting")
    broker_client().delete("embeddings")

    product.price, product.stock = product.price + 1, 0
    product.save()  # price and stock are not part of the embedded text
    model = type(product)
    loaded = model.objects.get(pk=product.pk)
    loaded.save()  # a plain re-save, as an admin "Save" without edits
    assert queued_product_batches() == []

    loaded.description = "A brass desk lamp."
    loaded.save()
    loaded.category = CategoryFactory(path="Home/Office")
    loaded.save()
    assert queued_product_batches() == [[str(product.pk)], [str(product.pk)]]
    deferred = model.objects.only("pk", "price").get(pk=product.pk)
    deferred.save()  # the text's fields were not loaded: cannot tell, so queue to be safe
    assert len(queued_product_batches()) == 3


def test_the_sweep_finds_texts_changed_where_no_receiver_sees_them_a_slice_at_a_time(make_product, settings):
    from django.core.cache import cache

    lamp = make_product(name="Desk lamp", description="A lamp.", category="Home/Lighting")
    kettle = make_product(name="Kettle", description="Steel.", category="Home/Kitchen")
    embeddings.embed_products(product_pks=[lamp.pk, kettle.pk])
    broker_client().delete("embeddings")
    cache.delete(embeddings.SWEEP_CURSOR)
    settings.SHOPAI = {**settings.SHOPAI, "SWEEP_LIMIT": 1}
    for product, name in ((lamp, "Home / Lamps"), (kettle, "Home / Cooking")):  # SQL: no signal at all
        type(product.category).objects.filter(pk=product.category_id).update(full_name=name)

    first, second, third = (embeddings.sweep_stale_embeddings() for _ in range(3))

    assert (first, second, third) == (1, 1, 1)  # one product read per sweep; the third starts over
    assert queued_product_batches() == [[str(lamp.pk)], [str(kettle.pk)], [str(lamp.pk)]]
    broker_client().delete("embeddings")
