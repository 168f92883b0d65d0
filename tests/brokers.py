"""Helpers to look into, and take down, the real Redis broker used by the tests."""

from __future__ import annotations

import base64
import contextlib
import json
from urllib.parse import parse_qs, urlsplit

import redis
from django.conf import settings

from config.embedded import start_redis, stop_redis

TEST_REDIS = "redis-test"  # the server config.settings.test starts for the test session


def broker_client() -> redis.Redis:
    """A client on the broker's Redis database, from CELERY_BROKER_URL (redis+socket or redis)."""
    from config.celery_app import app

    url = urlsplit(app.conf.broker_url or settings.CELERY_BROKER_URL)
    if url.scheme in ("redis+socket", "socket"):
        db = int(parse_qs(url.query).get("virtual_host", ["0"])[0] or 0)
        return redis.Redis(unix_socket_path=url.path, db=db)
    return redis.Redis.from_url(app.conf.broker_url)


@contextlib.contextmanager
def broker_stopped():
    """Really stop the tests' Redis server (broker and cache), then start it again."""
    stop_redis(TEST_REDIS, save=False)
    try:
        yield
    finally:
        start_redis(TEST_REDIS)


def queued_product_batches(queue: str = "embeddings") -> list[list[str]]:
    """The product pk lists of the embedding tasks waiting in ``queue``."""
    batches = []
    # kombu pushes on the left and consumers pop on the right: oldest is last.
    for raw in reversed(broker_client().lrange(queue, 0, -1)):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        batches.append(args[0])
    return batches
