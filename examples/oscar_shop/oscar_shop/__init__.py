"""A django-oscar shop with shopai switched on: what a host writes, and nothing more."""

from .celery import app as celery_app

__all__ = ["celery_app"]
