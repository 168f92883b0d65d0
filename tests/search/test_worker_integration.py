"""A real Celery worker process with the real MiniLM model keeps the search index in step.

The worker runs ``config.settings.test`` against the test database and the tests'
own Redis server, exactly as a production worker would against the shop's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from django.db import connection, transaction

from config.embedded import redis_socket_path
from shopai.adapters import content_hash, get_product_adapter
from shopai.core import counters as stats
from shopai.models import ProductEmbedding
from shopai.search import embeddings
from shopai.tasks import sweep_stale_embeddings
from tests.brokers import TEST_REDIS, broker_client, broker_stopped

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
MODEL_NAME = "all-MiniLM-L6-v2-onnx-int8"  # shopai's default embedding path


def wait_for(condition: Callable[[], object], *, timeout: float = 90, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """Start ``celery worker`` as a separate process on the embeddings queue."""
    broker_client().delete("embeddings", "default")
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "SHOPAI_TEST_WORKER": connection.settings_dict["NAME"],  # the test database
        "SHOPAI_TEST_EMBEDDINGS": "minilm",
        "REDIS_URL": f"unix://{redis_socket_path(TEST_REDIS)}",
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo",
             "--queues", "embeddings,default", "--loglevel", "INFO",
             "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: "ready." in log_path.read_text() or process.poll() is not None, what="worker start")
        assert process.poll() is None, log_path.read_text()[-3000:]
        yield log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def minilm_settings(settings):
    from config.settings.test import MINILM_EMBEDDINGS

    settings.SHOPAI = {**settings.SHOPAI, "EMBEDDINGS": MINILM_EMBEDDINGS}


def embedding_of(product) -> ProductEmbedding | None:
    return ProductEmbedding.objects.filter(object_pk=str(product.pk), model_name=MODEL_NAME).first()


def current_hash(product) -> str:
    product.refresh_from_db()
    return content_hash(get_product_adapter().get_text(product))


def embedded_with_current_text(product):
    row = embedding_of(product)
    return row if row and row.content_hash == current_hash(product) and not row.is_stale else None


def test_saved_product_is_embedded_by_the_worker_with_the_real_model(worker, minilm_settings, make_product):
    product = make_product(
        name="Ridgeline waterproof shell",
        description="Three-layer waterproof jacket with taped seams for hiking in the rain.",
        category="Outdoor/Jackets",
    )

    row = wait_for(lambda: embedded_with_current_text(product), what="the embedding")

    vector = np.asarray(row.embedding)
    assert vector.shape == (384,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)
    # The real model: the jacket is closer to a hiking-rain query than to a kitchen one.
    from shopai.backends import get_embedding_backend

    backend = get_embedding_backend()
    rain = backend.embed_query("rain jacket for the mountains")
    kitchen = backend.embed_query("non-stick frying pan")
    assert vector @ rain > vector @ kitchen + 0.2


def test_unchanged_re_save_makes_no_model_call(worker, minilm_settings, make_product):
    product = make_product(name="Trail socks", description="Merino blend hiking socks.")
    first = wait_for(lambda: embedded_with_current_text(product), what="the first embedding")
    before = stats.read()

    product.stock = 42  # not part of the embedded text: the save queues nothing
    product.save()
    # A task for it anyway (as the sweep or an edit that only looks like one would send): the
    # worker compares the text's hash and calls no model.
    embeddings.enqueue_product_embedding(product_pks=[str(product.pk)])
    marker = make_product(name="Tent pegs", description="Aluminium pegs, set of ten.")

    # The worker handles its queue in order: once the marker is embedded, the re-save was handled.
    wait_for(lambda: embedded_with_current_text(marker), what="the marker product")
    after = stats.read()
    assert after["texts_embedded"] - before["texts_embedded"] == 1  # the marker only
    assert after["unchanged"] - before["unchanged"] == 1  # the extra task: compared by hash, no model call
    assert embedding_of(product).updated_at == first.updated_at


def test_rolled_back_save_sends_the_worker_nothing(worker, minilm_settings, make_product):
    kept = make_product(name="Camp stove", description="Gas stove for two.")
    wait_for(lambda: embedded_with_current_text(kept), what="the first embedding")
    before = stats.read()

    with pytest.raises(RuntimeError), transaction.atomic():
        kept.description = "A rewritten description that never commits."
        kept.save()
        raise RuntimeError("rolled back")
    marker = make_product(name="Tent pegs", description="Aluminium pegs, set of ten.")

    # The worker works through its queue in order: once the marker is done, a task
    # from the rolled-back save would have been handled too.
    wait_for(lambda: embedded_with_current_text(marker), what="the marker product")
    after = stats.read()
    assert after["texts_embedded"] - before["texts_embedded"] == 1  # the marker only
    assert after["unchanged"] == before["unchanged"]


def test_save_while_broker_is_down_is_embedded_after_the_sweep(worker, minilm_settings, make_product):
    existing = make_product(name="Down jacket", description="Warm city jacket, not waterproof.")
    wait_for(lambda: embedded_with_current_text(existing), what="the first embedding")

    with broker_stopped():
        existing.description = "Warm city jacket with a water-repellent finish."
        existing.save()
        new = make_product(name="Rain poncho", description="Packable waterproof poncho.")
        assert embedding_of(existing).is_stale
        assert embedding_of(new) is None

    sweep_stale_embeddings.delay()  # what celery beat does every few minutes

    wait_for(lambda: embedded_with_current_text(existing), what="the stale product")
    wait_for(lambda: embedded_with_current_text(new), what="the new product")


def test_a_running_worker_shows_in_the_health_probe_for_its_queues(worker, client):
    from shopai.core import health

    def workers():
        return client.get("/shopai/health/").json()["workers"]

    alive = wait_for(lambda: workers()["embeddings"]["ok"] and workers(), what="the worker's heartbeat")
    assert alive["default"]["ok"] and not alive["generation"]["ok"]  # it consumes embeddings and default only
    assert alive["embeddings"]["heartbeat_age_s"] < health.HEARTBEAT_STALE
