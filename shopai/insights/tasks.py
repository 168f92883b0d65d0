"""Periodic: the insights pages' default view computed ahead of time (shopai.insights.pages)."""

from celery import shared_task

from shopai.core.tasks import ShopAITask
from shopai.insights import pages


@shared_task(base=ShopAITask, name="shopai.tasks.refresh_insights", time_limit=600)
def refresh_insights_task() -> int:
    """Compute the last 30 days of every insights page in every admin language into the cache."""
    return pages.refresh_all()
