"""The project's one Celery app; tasks are discovered in installed apps."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("shopai_demo")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
