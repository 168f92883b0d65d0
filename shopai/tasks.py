"""Celery tasks, by feature: this hub is the module Celery's autodiscovery imports.

Task names (``name=``) stay as they were when every task lived here, so queued messages, beat
schedules and settings that name them keep working.
"""

from __future__ import annotations

from celery import shared_task

from shopai.assistant import faqs
from shopai.assistant.tasks import embed_faqs_task, notify_handoff_task, suggest_faq_phrasings_task
from shopai.core.tasks import ShopAITask
from shopai.insights.tasks import refresh_insights_task
from shopai.recommendations.tasks import rebuild_profiles_task, update_profile_task
from shopai.search import embeddings
from shopai.search.tasks import EmbeddingTask, embed_products_task
from shopai.studio.tasks import generate_copy_task, refresh_segments_task, send_campaign_task, write_campaign_task

__all__ = [
    "EmbeddingTask",
    "embed_faqs_task",
    "embed_products_task",
    "generate_copy_task",
    "notify_handoff_task",
    "rebuild_profiles_task",
    "send_campaign_task",
    "refresh_insights_task",
    "refresh_segments_task",
    "suggest_faq_phrasings_task",
    "sweep_stale_embeddings",
    "update_profile_task",
    "write_campaign_task",
]


@shared_task(base=ShopAITask, name="shopai.tasks.sweep_stale_embeddings", time_limit=600)
def sweep_stale_embeddings() -> int:
    """Periodic: queue products and FAQs whose embeddings are missing, stale or outdated."""
    return embeddings.sweep_stale_embeddings() + faqs.sweep_faqs()
