"""The project's one Celery app; tasks are discovered in installed apps."""

import os

from celery import Celery

# Like wsgi.py and asgi.py, a worker started with no settings named runs the production settings
# (which refuse to start without their secrets); manage.py and the demo name the local ones.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("shopai_demo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
