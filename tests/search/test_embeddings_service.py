"""Embedding service with the fake backend: hashes, skipping unchanged text, stale handling."""

import numpy as np
import pytest

from shopai.adapters import content_hash, get_product_adapter
from shopai.backends import get_embedding_backend
from shopai.models import ProductEmbedding
from shopai.search import embeddings

pytestmark = pytest.mark.django_db


def stored(product):
    return ProductEmbedding.objects.get(object_pk=str(product.pk))


def test_embedding_stores_unit_vector_and_hash_of_product_text(make_product, embedder):
    product = make_product(name="Trail runner", description="Grippy lugs for muddy trails.")

    report = embeddings.embed_products(product_pks=[product.pk])

    row = stored(product)
    text = get_product_adapter().get_text(product)
    assert report.embedded == 1
    assert "Trail runner" in text and "Men / Tops" in text and "muddy" in text
    assert row.content_hash == content_hash(text)
    assert row.model_name == embedder.name
    assert np.linalg.norm(row.embedding) == pytest.approx(1.0, abs=1e-5)


def test_unchanged_text_never_reaches_the_model(make_product, embedder):
    products = [make_product(name=f"Mug {i}") for i in range(3)]
    embeddings.embed_products(product_pks=[p.pk for p in products])
    calls = embedder.calls

    products[0].price = 99  # price is not part of the embedded text
    products[0].save()
    report = embeddings.embed_products(product_pks=[p.pk for p in products])

    assert report.embedded == 0 and report.unchanged == 3
    assert embedder.calls == calls


def test_changed_text_is_re_embedded(make_product, embedder):
    product = make_product(name="Desk lamp")
    embeddings.embed_products(product_pks=[product.pk])
    before = stored(product)

    product.description = "Warm LED light with a dimmer and USB-C port."
    product.save()
    report = embeddings.embed_products(product_pks=[product.pk])

    after = stored(product)
    assert report.embedded == 1
    assert after.content_hash != before.content_hash
    assert not np.allclose(after.embedding, before.embedding)


def test_stale_flag_with_unchanged_text_is_cleared_without_model_call(make_product, embedder):
    product = make_product()
    embeddings.embed_products(product_pks=[product.pk])
    embeddings.mark_products_stale(product_pks=[product.pk])
    calls = embedder.calls

    assert embeddings.products_needing_embedding() == [str(product.pk)]
    report = embeddings.embed_products(product_pks=[product.pk])

    assert report.unchanged == 1 and embedder.calls == calls
    assert not stored(product).is_stale
    assert embeddings.products_needing_embedding() == []


def test_force_re_embeds_unchanged_text(make_product, embedder):
    product = make_product()
    embeddings.embed_products(product_pks=[product.pk])

    report = embeddings.embed_products(product_pks=[product.pk], force=True)

    assert report.embedded == 1


def test_deleted_product_loses_its_embedding(make_product):
    product = make_product()
    pk = product.pk
    embeddings.embed_products(product_pks=[pk])

    product.delete()

    assert not ProductEmbedding.objects.filter(object_pk=str(pk)).exists()
    # A task that arrives late for a deleted product is harmless.
    assert embeddings.embed_products(product_pks=[pk]).embedded == 0


def test_reindex_finds_missing_and_edits_that_bypassed_signals(make_product, embedder):
    done, edited = make_product(name="Kettle"), make_product(name="Teapot")
    embeddings.embed_products(product_pks=[done.pk, edited.pk])
    missing = make_product(name="Cafetiere")
    type(edited).objects.filter(pk=edited.pk).update(description="Cast iron, enamel inside.")  # no signal

    report = embeddings.reindex_products()

    assert report.embedded == 2  # the missing one and the silently edited one
    assert stored(missing).content_hash == content_hash(get_product_adapter().get_text(missing))
    assert embeddings.reindex_products().embedded == 0


def test_reindex_all_batches_every_product(make_product, settings, embedder):
    settings.SHOPAI = {**settings.SHOPAI, "EMBEDDING_BATCH_SIZE": 2}
    for i in range(5):
        make_product(name=f"Sock pack {i}")
    seen = []

    report = embeddings.reindex_products(everything=True, progress=seen.append)

    assert report.embedded == 5
    assert seen == [2, 2, 1]


def test_reindex_reports_a_failing_batch_and_stores_the_others(make_product, settings, monkeypatch):
    settings.SHOPAI = {**settings.SHOPAI, "EMBEDDING_BATCH_SIZE": 2}
    embedder = get_embedding_backend()  # the settings change made a new one
    products = [make_product(name=f"Sock pack {i}") for i in range(5)]
    poisoned = make_product(name="Poisoned sock pack")
    real_embed = embedder.embed_documents

    def embed_documents(texts):
        if any("Poisoned" in text for text in texts):
            raise RuntimeError("model crashed")
        return real_embed(texts)

    monkeypatch.setattr(embedder, "embed_documents", embed_documents)
    seen = []

    report = embeddings.reindex_products(everything=True, progress=seen.append)

    assert report.failed == 2 and str(poisoned.pk) in report.failed_pks  # its batch (of 2) failed
    assert report.embedded == 4 and sum(seen) == 6
    stored_pks = set(ProductEmbedding.objects.values_list("object_pk", flat=True))
    assert stored_pks == {str(p.pk) for p in products + [poisoned]} - set(report.failed_pks)


def test_reindex_fills_the_keyword_index_of_older_vectors_without_the_model(make_product, embedder):
    product = make_product(name="Storm shell", description="Taped seams.")
    embeddings.embed_products(product_pks=[product.pk])
    ProductEmbedding.objects.update(keywords=None)  # as written before keywords existed
    calls = embedder.calls

    embeddings.reindex_products()

    assert embedder.calls == calls
    assert ProductEmbedding.objects.filter(keywords__isnull=False).count() == 1
