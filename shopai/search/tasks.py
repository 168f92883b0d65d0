"""Search tasks: embed products (embeddings queue); failures are flagged for the periodic sweep."""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import shared_task

from shopai.core.tasks import SettingsRetryTask
from shopai.search import embeddings

logger = logging.getLogger(__name__)


class EmbeddingTask(SettingsRetryTask):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        # Out of retries: flag the products so the periodic sweep tries again later.
        product_pks = args[0] if args else kwargs.get("product_pks", [])
        logger.error("Embedding %d products failed for good: %s", len(product_pks), exc)
        try:
            embeddings.mark_products_stale(product_pks=product_pks)
        except Exception:
            logger.exception("Could not mark products stale")


@shared_task(
    base=EmbeddingTask,
    bind=True,
    name="shopai.tasks.embed_products",
)
def embed_products_task(self, product_pks: list[str], force: bool = False) -> dict:
    """Re-embed these products if their text changed, or always with ``force`` (idempotent)."""
    report = embeddings.embed_products(product_pks=product_pks, force=force)
    return asdict(report)
