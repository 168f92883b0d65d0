"""Studio tasks (generation queue): copy jobs and campaign drafts."""

from __future__ import annotations

from celery import shared_task

from shopai.core.tasks import TRANSIENT
from shopai.models import GenerationJob, Segment
from shopai.studio.copy import run_job
from shopai.studio.segments import write_campaign


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
    return write_campaign(Segment.objects.get(pk=segment_id), tone=tone, language=language).pk
