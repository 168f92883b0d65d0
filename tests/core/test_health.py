"""GET /shopai/health/ names the dependency that is down, answers 503 then, and never a 500."""

import time

import pytest
from django.db import OperationalError, connection

from shopai.core import health, vector_spaces
from shopai.search import embeddings
from tests.brokers import broker_stopped

pytestmark = pytest.mark.django_db
URL = "/shopai/health/"


def beat(*queues):
    for queue in queues:
        health.cache.set(health.heartbeat_key(queue), time.time(), timeout=60)


@pytest.fixture(autouse=True)
def no_heartbeats():
    health.cache.delete_many([health.heartbeat_key(q) for q in health.worker_queues()])
    yield
    health.cache.delete_many([health.heartbeat_key(q) for q in health.worker_queues()])


def test_everything_up_and_a_worker_on_every_queue_is_ok(client):
    beat(*health.worker_queues())

    response = client.get(URL)

    body = response.json()
    assert response.status_code == 200 and body["status"] == "ok"
    assert set(body["components"]) == {"database", "pgvector", "vector_index", "cache", "broker"}
    assert all(part["ok"] for part in body["components"].values())


def test_a_queue_without_a_live_worker_is_named_and_fails_only_a_worker_probe(client):
    beat("default", "embeddings")  # nobody consumes the generation queue

    serving = client.get(URL)
    strict = client.get(URL, {"require": "workers"})

    assert serving.status_code == 200 and serving.json()["status"] == "degraded"
    assert serving.json()["workers"]["generation"] == {"ok": False, "heartbeat_age_s": None}
    assert strict.status_code == 503


def test_redis_down_reports_cache_and_broker_and_a_503(client):
    with broker_stopped():
        response = client.get(URL)

    body = response.json()
    assert response.status_code == 503 and body["status"] == "down"
    assert not body["components"]["cache"]["ok"] and not body["components"]["broker"]["ok"]
    assert body["components"]["database"]["ok"]


def test_a_missing_vector_index_is_reported_with_its_reason_to_staff_only(client, admin_client, make_product):
    embeddings.embed_products(product_pks=[make_product(name="Storm shell").pk])  # creates the model's index
    assert client.get(URL).json()["components"]["vector_index"]["ok"]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {vector_spaces.index_name('product', 'fake-hashing')}")  # rolled back with the test

    public = client.get(URL).json()["components"]["vector_index"]
    staff = admin_client.get(URL).json()["components"]

    assert public["ok"] is False and "error" not in public  # no internals for anyone who asks
    assert not staff["vector_index"]["ok"] and "missing" in staff["vector_index"]["error"]
    assert staff["pgvector"]["ok"]


def test_the_database_down_is_reported_not_raised(client, monkeypatch):
    class Unreachable:
        def cursor(self):
            raise OperationalError("could not connect to server")

    monkeypatch.setattr(health, "connection", Unreachable())

    response = client.get(URL)

    body = response.json()
    assert response.status_code == 503
    assert [name for name, part in body["components"].items() if not part["ok"]] == [
        "database",
        "pgvector",
        "vector_index",
    ]
