"""Production settings: secrets and hosts must come from the environment."""

import os

from django.core.exceptions import ImproperlyConfigured

for _name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
    if not os.environ.get(_name):
        # Embedded servers would live inside the container and vanish with it.
        raise ImproperlyConfigured(f"Set {_name} in the environment for production settings.")

from .base import *  # noqa: E402, F403

DEBUG = False
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)  # noqa: F405
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT", "/app/staticfiles")
