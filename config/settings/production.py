"""Production settings: secrets and hosts must come from the environment, HTTPS is on by default."""

import os

from django.core.exceptions import ImproperlyConfigured

for _name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
    if not os.environ.get(_name):
        # Embedded servers would live inside the container and vanish with it.
        raise ImproperlyConfigured(f"Set {_name} in the environment for production settings.")

from .base import *  # noqa: E402, F403

DEBUG = False
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT", "/app/staticfiles")

# --- HTTPS ---------------------------------------------------------------------------
# DJANGO_HTTPS=false is only for trying the stack over plain http: it turns off the redirect,
# HSTS and secure cookies, nothing else. DJANGO_SECURE_COOKIES is its former name.
HTTPS = env_bool("DJANGO_HTTPS", env_bool("DJANGO_SECURE_COOKIES", True))  # noqa: F405
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
# A reverse proxy terminates TLS, so Django sees http unless it trusts the proxy's
# X-Forwarded-Proto. Trust it only when the proxy sets (overwrites) that header: a client
# reaching gunicorn directly could otherwise claim https.
if env_bool("DJANGO_TRUST_X_FORWARDED_PROTO", False):  # noqa: F405
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS starts at one hour, so that a broken certificate locks browsers out for an hour, not a
# year; raise DJANGO_HSTS_SECONDS to 31536000 once every page works over HTTPS. The preload
# directive commits nothing by itself: browsers' preload list needs a year's max-age and a
# submission at hstspreload.org, which is hard to undo (docs/operations.md).
try:
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS") or 3600) if HTTPS else 0
except ValueError:
    raise ImproperlyConfigured("DJANGO_HSTS_SECONDS must be a whole number of seconds.") from None
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)  # noqa: F405
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)  # noqa: F405

# --- Static files: served by the app server itself (WhiteNoise), compressed, with hashed names
# that browsers may cache for a year; the Dockerfile runs collectstatic into STATIC_ROOT.
MIDDLEWARE = [MIDDLEWARE[0], "whitenoise.middleware.WhiteNoiseMiddleware", *MIDDLEWARE[1:]]  # noqa: F405
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Probes: the container's own health check calls http://127.0.0.1:8000/shopai/health/ from
# inside, so that address may name the site and the probe is not redirected to https.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, *[host for host in ("127.0.0.1", "localhost") if host not in ALLOWED_HOSTS]]  # noqa: F405
SECURE_REDIRECT_EXEMPT = [r"^shopai/health/$"]

# Mail (campaigns, handoff notices) through the shop's SMTP server.
EMAIL_BACKEND = os.environ.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("DJANGO_EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", True)  # noqa: F405
