"""Assistant tasks: embed FAQs, suggest phrasings (opt-in)."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

from shopai.assistant import faqs
from shopai.assistant import phrasings as faq_phrasings
from shopai.core.tasks import GenerationTask, SettingsRetryTask
from shopai.models import FAQ


@shared_task(
    base=SettingsRetryTask,
    bind=True,
    name="shopai.tasks.embed_faqs",
)
def embed_faqs_task(self, faq_ids: list[int]) -> dict:
    """Re-embed these FAQs' phrasings that changed (idempotent)."""
    return asdict(faqs.embed_faqs(faq_ids=faq_ids))


@shared_task(
    base=GenerationTask,
    bind=True,
    name="shopai.tasks.suggest_faq_phrasings",
    time_limit=600,
)
def suggest_faq_phrasings_task(self, faq_id: int) -> int:
    """Opt-in: phrasings of one FAQ suggested by the generation backend, for staff to review."""
    faq = FAQ.objects.filter(pk=faq_id).first()
    return len(faq_phrasings.suggest(faq)) if faq is not None else 0
