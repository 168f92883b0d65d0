"""The standard Celery app module of a Django project."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oscar_shop.settings")

app = Celery("oscar_shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
