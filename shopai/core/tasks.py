"""What every feature's Celery tasks share: what they retry on, and how services queue them.

Services queue a task by its registered name instead of importing its module: each feature's
``tasks`` module imports that feature's services, so an import back would be a circle. The names
are a public contract anyway (queued messages and beat schedules carry them); the app's
``ready()`` imports the task hub, so every name is registered before anything is queued.
"""

from __future__ import annotations

from typing import Any

from celery import Task, current_app
from django.db import InterfaceError, OperationalError

from shopai.backends import BackendError
from shopai.conf import shopai_settings

# Failures worth another try: the database or broker hiccuped, a model server timed out.
TRANSIENT = (OperationalError, InterfaceError, BackendError, ConnectionError, TimeoutError)


class ShopAITask(Task):
    """Every shopai task: acknowledged after it ran, and given back to the queue when its worker
    process dies under it (SIGKILL, out of memory), whatever the host's Celery settings say — so a
    killed worker's work is redone by the next one. Tasks are idempotent, so a redelivery is safe.

    Each task has a ``time_limit`` below the broker's visibility timeout (system check
    shopai.W003), or a long task would be delivered to a second worker while it still runs.
    Transient failures (TRANSIENT) are retried with exponential backoff and jitter.
    """

    acks_late = True
    reject_on_worker_lost = True
    time_limit = 900
    autoretry_for = TRANSIENT
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True


class SettingsRetryTask(ShopAITask):
    """A task retried on transient failures up to SHOPAI["TASK_MAX_RETRIES"] times, read when it retries.

    A task that names ``max_retries`` itself keeps that number.
    """

    _max_retries: int | None = None

    @property
    def max_retries(self) -> int:
        return self._max_retries if self._max_retries is not None else int(shopai_settings.TASK_MAX_RETRIES)

    @max_retries.setter
    def max_retries(self, value: int | None) -> None:
        self._max_retries = value


class GenerationTask(ShopAITask):
    """A task that calls a language model: longer waits between tries (a busy model server), three tries."""

    retry_backoff = 5
    max_retries = 3


class QueueUnavailable(Exception):
    """The broker did not take the task (down, unreachable, refusing); the caller decides what is kept."""


def queue_task(name: str, *, args: list | tuple = (), kwargs: dict | None = None, queue: str, **options: Any):
    """Send the registered task ``name`` to SHOPAI["QUEUES"][queue].

    Raises ``QueueUnavailable`` when the broker fails (kombu and redis raise several types; all mean
    "not queued"). An unknown name raises ``celery.exceptions.NotRegistered`` instead: a programming
    error that no caller should mistake for a broker outage.
    """
    task = current_app.tasks[name]
    try:
        return task.apply_async(args=list(args), kwargs=kwargs or {}, queue=shopai_settings.QUEUES[queue], **options)
    except Exception as exc:
        raise QueueUnavailable(str(exc)) from exc
