"""Embedding survives concurrency and dead workers: two embedders at once, and a worker killed mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, connections, transaction

from config.embedded import redis_socket_path
from shopai import backends
from shopai.adapters import content_hash, get_product_adapter
from shopai.models import ProductEmbedding
from shopai.search import embeddings
from tests.brokers import TEST_REDIS, broker_client
from tests.search.test_worker_integration import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def slow_model(settings):
    """The fake model, taking half a second per call: time for a second embedder to arrive."""
    settings.SHOPAI = {
        **settings.SHOPAI,
        "EMBEDDINGS": {
            **settings.SHOPAI["EMBEDDINGS"],
            "default": {"CLASS": "shopai.backends.embeddings.FakeEmbeddingBackend", "CONFIG": {"delay": 0.5}},
        },
    }
    backend = backends.get_embedding_backend()
    yield backend
    broker_client().delete("embeddings")


def in_thread(fn) -> threading.Thread:
    def run():
        try:
            fn()
        finally:
            connections.close_all()  # this thread's connection

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def stored_hash(product) -> str | None:
    row = ProductEmbedding.objects.filter(object_pk=str(product.pk)).first()
    return row.content_hash if row else None


def test_two_embedders_of_one_text_make_one_model_call(slow_model, make_product):
    product = make_product(name="Camp kettle", description="Boils a litre fast.")

    first = in_thread(lambda: embeddings.embed_products(product_pks=[product.pk]))
    time.sleep(0.1)
    second = in_thread(lambda: embeddings.embed_products(product_pks=[product.pk]))
    first.join(), second.join()

    assert slow_model.calls == 1  # the second waited, then found the text already embedded
    assert stored_hash(product) == content_hash(get_product_adapter().get_text(product))


def test_edit_a_then_b_while_two_embedders_run_ends_with_b(slow_model, make_product):
    product = make_product(name="Camp kettle", description="Version A of the text.")

    first = in_thread(lambda: embeddings.embed_products(product_pks=[product.pk]))  # embeds A, slowly
    wait_for(lambda: slow_model.texts, timeout=10, what="the first model call")
    with transaction.atomic():
        product.description = "Version B of the text."
        product.save()
    second = in_thread(lambda: embeddings.embed_products(product_pks=[product.pk]))
    first.join(), second.join()

    text_b = get_product_adapter().get_text(type(product).objects.get(pk=product.pk))
    assert "Version B" in text_b and stored_hash(product) == content_hash(text_b)
    assert [text.count("Version") for text in slow_model.texts] == [1, 1]  # A once, B once


def worker_pids(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


@pytest.mark.integration
def test_a_pool_process_killed_mid_batch_leaves_every_product_embedded_with_its_current_text(make_product, tmp_path):
    """SIGKILL of the worker's pool process while it embeds 40 edited products: the task goes back
    to the queue (acks late, reject on worker lost), the next pool process redoes it."""
    broker_client().delete("embeddings", "default")
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "SHOPAI_TEST_WORKER": connection.settings_dict["NAME"],
        "SHOPAI_TEST_EMBED_DELAY": "3",  # each model call takes 3 s: time to kill it
        "REDIS_URL": f"unix://{redis_socket_path(TEST_REDIS)}",
    }
    with open(log_path, "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1",
             "--queues", "embeddings", "--loglevel", "INFO", "--without-mingle", "--without-gossip"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for(lambda: "ready." in log_path.read_text() or worker.poll() is not None, what="worker start")
        with transaction.atomic():  # 40 edits in one transaction: one task of 40 products
            products = [make_product(name=f"Tent peg {n}", description=f"Peg number {n}.") for n in range(40)]

        wait_for(lambda: "received" in log_path.read_text(), what="the task to reach the worker")
        time.sleep(1.0)  # inside the slow model call now
        (pool,) = wait_for(lambda: worker_pids(worker.pid), what="the pool process")
        os.kill(pool, signal.SIGKILL)

        def all_current():
            rows = dict(
                ProductEmbedding.objects.filter(object_pk__in=[str(p.pk) for p in products]).values_list(
                    "object_pk", "content_hash"
                )
            )
            adapter = get_product_adapter()
            return all(rows.get(str(p.pk)) == content_hash(adapter.get_text(p)) for p in products)

        wait_for(all_current, timeout=90, what="every product embedded after the kill")
        log = log_path.read_text()
        assert "WorkerLostError" in log or "exited with 'signal 9" in log, log[-2000:]
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        broker_client().delete("embeddings", "default")
