"""Assistant tasks: embed FAQs, suggest phrasings (opt-in), tell staff of a handoff case."""

from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

from shopai.assistant import faqs, notifications
from shopai.assistant import phrasings as faq_phrasings
from shopai.core.tasks import GenerationTask, SettingsRetryTask, ShopAITask
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


@shared_task(
    base=ShopAITask,
    bind=True,
    name="shopai.tasks.notify_handoff",
    # A mail server or webhook down for a while: 10 retries 2 s to 5 min apart, at most ~18 min in all.
    max_retries=10,
    time_limit=60,  # below notifications.CLAIM_SECONDS: a claim never outlives its sender
)
def notify_handoff_task(self, case_id: int) -> list[str]:
    """E-mail ASSISTANT["HANDOFF"]["EMAILS"] and call its WEBHOOK about a new case; a retry repeats
    only the channels that failed."""
    return notifications.notify_handoff(case_id=case_id)
