"""Studio tasks: copy jobs and campaign drafts (generation queue), campaign mails (marketing queue)."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import DatabaseError

from shopai.core.tasks import TRANSIENT, GenerationTask, SettingsRetryTask, queue_task
from shopai.models import GenerationJob, Segment
from shopai.studio import campaigns
from shopai.studio.copy import run_job
from shopai.studio.segments import refresh_rule_segments, write_campaign

logger = logging.getLogger(__name__)


@shared_task(
    base=GenerationTask,
    bind=True,
    name="shopai.tasks.generate_copy",
    # A whole job (up to COPY["MAX_PRODUCTS_PER_JOB"] products) in one task, below the broker's
    # default visibility timeout (3600 s); a job cut off here carries on in the next run.
    time_limit=3000,
)
def generate_copy_task(self, job_id: int) -> dict:
    """Drafts for a copy job (generation queue); a retry continues where the last try stopped.

    A product that fails is reported on the job by ``run_job``; what reaches here stops the whole
    job: transient failures are retried, and the job is marked failed once the retries are spent.
    """
    try:
        job = run_job(job_id)
    except TRANSIENT as exc:
        if self.request.retries >= self.max_retries:  # the last try: autoretry re-raises, no more runs
            _fail(job_id, f"Gave up after {self.request.retries + 1} tries: {exc}"[:500])
        raise
    except Exception as exc:
        _fail(job_id, str(exc)[:500])
        raise
    return {"job": job.pk, "status": job.status, "done": job.done, "skipped": job.skipped, "failed": job.failed}


def _fail(job_id: int, reason: str) -> None:
    """Mark the job failed, keeping the reasons ``run_job`` recorded (which products failed, where it stopped)."""
    try:
        job = GenerationJob.objects.filter(pk=job_id).first()
        if job is None:
            return
        error = job.error if reason in job.error else "\n".join(filter(None, [job.error, reason]))
        GenerationJob.objects.filter(pk=job_id).update(status=GenerationJob.Status.FAILED, error=error)
    except DatabaseError as exc:  # the database is what failed: the task's own error says enough
        logger.warning("Could not mark copy job %s failed: %s", job_id, exc)


@shared_task(
    base=GenerationTask,
    bind=True,
    name="shopai.tasks.write_campaign",
    time_limit=600,
)
def write_campaign_task(self, segment_id: int, tone: str = "friendly", language: str = "en") -> int:
    """Campaign copy for one segment (generation queue); returns the campaign's id."""
    return write_campaign(Segment.objects.get(pk=segment_id), tone=tone, language=language).pk


@shared_task(base=SettingsRetryTask, name="shopai.tasks.send_campaign", time_limit=900)
def send_campaign_task(campaign_id: int) -> dict:
    """One batch of a campaign's mails; queues the next batch after the rate limit's pause.

    Retried on transient failures: a retry sends only recipients still queued (each is claimed
    before its mail goes out), so nobody gets a mail twice.
    """
    counts = campaigns.send_batch(campaign_id)
    if counts["remaining"]:
        queue_task(
            "shopai.tasks.send_campaign",
            args=[campaign_id],
            queue="marketing",
            countdown=campaigns.seconds_between_batches(),
        )
    return counts


@shared_task(base=SettingsRetryTask, name="shopai.tasks.refresh_segments", time_limit=900)
def refresh_segments_task() -> int:
    """Periodic: rule segments follow the shop's history (the members a rule matches today)."""
    return refresh_rule_segments()
