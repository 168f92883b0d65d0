"""The example shop under test: its own test database and Redis, tasks run where they are queued."""

import os

os.environ.setdefault("OSCAR_SHOP_REDIS", "redis-oscar-test")

from .settings import *  # noqa: E402, F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES["default"]["TEST"] = {"NAME": "test_oscar_shop"}  # noqa: F405
CACHES["default"]["KEY_PREFIX"] = "oscar-shop-test"  # noqa: F405
# The main suite proves the real worker processes; here a queued task runs in the test process.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULE = {}
SHOPAI = {  # noqa: F405
    **SHOPAI,  # noqa: F405
    # Instant copy drafts; the grounding guard and the publishing path stay real.
    "GENERATION": {"default": {"CLASS": "shopai.backends.generation.FakeGenerationBackend", "CONFIG": {}}},
    "THROTTLE_RATES": {name: "10000/minute" for name in ("search", "ask", "feedback", "events", "recommendations")},
}
