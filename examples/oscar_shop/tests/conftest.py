"""The example oscar shop's catalogue, loaded and embedded for each test (real ONNX MiniLM model)."""

import pytest
from django.core.management import call_command
from oscar.core.loading import get_model

from shopai import backends
from shopai.search import embeddings

Product = get_model("catalogue", "Product")


@pytest.fixture(autouse=True)
def _fresh_backends():
    backends.reset()
    yield
    backends.reset()


@pytest.fixture
def shop(db, django_capture_on_commit_callbacks):
    """The seed catalogue (as its command loads it: the order is recorded as purchases on commit)."""
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_oscar_demo", stdout=None)
    embeddings.reindex_products()
    return {product.upc: product for product in Product.objects.all()}


@pytest.fixture
def staff_client(client, shop):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="staff"))
    return client
