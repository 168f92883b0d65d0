"""WSGI entry point for gunicorn: production settings unless DJANGO_SETTINGS_MODULE says otherwise."""

import os

from django.core.wsgi import get_wsgi_application

# A server must never fall back to the development settings (DEBUG on, a public secret key);
# production settings refuse to start without DJANGO_SECRET_KEY, DATABASE_URL and REDIS_URL.
# manage.py keeps the local settings, so that commands work with no variables set.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()
