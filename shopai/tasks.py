"""Celery tasks: primitive ids in, one service call, retries on transient failures."""

from __future__ import annotations

import logging
from dataclasses import asdict

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from shopai.assistant import faqs
from shopai.backends import BackendError
from shopai.search import embeddings

logger = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError, BackendError, ConnectionError, TimeoutError)


class EmbeddingTask(Task):
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
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def embed_products_task(self, product_pks: list[str], force: bool = False) -> dict:
    """Re-embed these products if their text changed, or always with ``force`` (idempotent)."""
    report = embeddings.embed_products(product_pks=product_pks, force=force)
    return asdict(report)


@shared_task(name="shopai.tasks.sweep_stale_embeddings")
def sweep_stale_embeddings() -> int:
    """Periodic: queue products and FAQs whose embeddings are missing, stale or outdated."""
    return embeddings.sweep_stale_embeddings() + faqs.sweep_faqs()


@shared_task(
    bind=True,
    name="shopai.tasks.embed_faqs",
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def embed_faqs_task(self, faq_ids: list[int]) -> dict:
    """Re-embed these FAQs' phrasings that changed (idempotent)."""
    return asdict(faqs.embed_faqs(faq_ids=faq_ids))


@shared_task(
    bind=True,
    name="shopai.tasks.suggest_faq_phrasings",
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    max_retries=3,
)
def suggest_faq_phrasings_task(self, faq_id: int) -> int:
    """Opt-in: phrasings of one FAQ suggested by the generation backend, for staff to review."""
    from shopai.assistant import phrasings as faq_phrasings
    from shopai.models import FAQ

    faq = FAQ.objects.filter(pk=faq_id).first()
    return len(faq_phrasings.suggest(faq)) if faq is not None else 0


@shared_task(
    bind=True,
    name="shopai.tasks.update_profile",
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    max_retries=5,
)
def update_profile_task(self, user_id: int) -> int:
    """Rebuild one shopper's interest vector (debounced by services.events)."""
    from django.core.cache import cache

    from shopai.recommendations.profiles import rebuild_profile

    cache.delete(f"shopai:profile-pending:{user_id}")
    profile = rebuild_profile(user_id=user_id)
    return profile.events_used if profile else 0


@shared_task(
    bind=True,
    name="shopai.tasks.generate_copy",
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=3,
)
def generate_copy_task(self, job_id: int) -> dict:
    """Drafts for a copy job (generation queue); a retry continues where the last try stopped."""
    from shopai.models import GenerationJob
    from shopai.studio.copy import run_job

    try:
        job = run_job(job_id)
    except TRANSIENT:
        raise
    except Exception as exc:
        GenerationJob.objects.filter(pk=job_id).update(status=GenerationJob.Status.FAILED, error=str(exc)[:500])
        raise
    return {"job": job.pk, "done": job.done, "skipped": job.skipped}


@shared_task(
    bind=True,
    name="shopai.tasks.write_campaign",
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    max_retries=3,
)
def write_campaign_task(self, segment_id: int, tone: str = "friendly", language: str = "en") -> int:
    """Campaign copy for one segment (generation queue); returns the campaign's id."""
    from shopai.models import Segment
    from shopai.studio.segments import write_campaign

    return write_campaign(Segment.objects.get(pk=segment_id), tone=tone, language=language).pk
