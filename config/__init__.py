"""Host project of the demo shop: settings, URLs and the Celery app."""

from .celery_app import app as celery_app

__all__ = ("celery_app",)
