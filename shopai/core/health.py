"""Health you can probe: the database, pgvector and its index, the cache, the broker, and a live
worker per queue — each checked on its own, so one that is down is named and the probe never 500s.

``GET /shopai/health/`` answers 200 when the web process can serve (database, pgvector, index,
cache and broker up) and 503 otherwise; workers are reported either way, and ``?require=workers``
makes a missing worker a 503 too (for a worker deployment's own probe). Workers announce
themselves: each writes a heartbeat per queue it consumes into the cache every few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from celery import current_app
from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from shopai.conf import shopai_settings
from shopai.core import vector_spaces
from shopai.models import EmbeddingSpace

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15  # how often a worker says it is alive
HEARTBEAT_STALE = 60  # older than this, the queue has no live worker


def heartbeat_key(queue: str) -> str:
    return f"shopai:heartbeat:{queue}"


def start_heartbeat(queues: list[str]) -> threading.Thread:
    """In a worker's main process: write a heartbeat for each queue it consumes, until it exits."""

    def beat() -> None:
        while True:
            for queue in queues:
                try:
                    cache.set(heartbeat_key(queue), time.time(), timeout=HEARTBEAT_STALE * 2)
                except Exception as exc:  # cache down: the health probe reports the cache anyway
                    logger.debug("Heartbeat of queue %s not written: %s", queue, exc)
            time.sleep(HEARTBEAT_SECONDS)

    thread = threading.Thread(target=beat, name="shopai-heartbeat", daemon=True)
    thread.start()
    return thread


def _timed(check: Callable[[], dict | None]) -> dict:
    started = time.perf_counter()
    try:
        detail = check() or {}
        result = {"ok": True, **detail}
    except Exception as exc:  # any failure of a dependency is its report, never the probe's 500
        logger.warning("Health check %s failed: %s", getattr(check, "__name__", check), exc)
        result = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    result["ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _pgvector() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    if row is None:
        raise LookupError("the vector extension is not installed in this database")
    return {"version": row[0]}


def _vector_index() -> dict:
    """The HNSW index of the model search serves (each model has its own: core.vector_spaces)."""
    backend = vector_spaces.serving_backend()
    name = vector_spaces.index_name("product", backend.name)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT dimensions FROM {EmbeddingSpace._meta.db_table} WHERE model_name = %s", [backend.name])
        space = cursor.fetchone()
        if space is None:
            return {"model": backend.name, "vectors": 0}  # nothing stored yet: the first write creates it
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s", [name]
        )
        row = cursor.fetchone()
    if row is None or not row[0]:
        why = "missing" if row is None else "left invalid by an interrupted build"
        raise LookupError(f"index {name} of {backend.name} is {why}: vector search scans every row")
    return {"model": backend.name, "dimensions": space[0]}


def _cache() -> None:
    cache.set("shopai:health:probe", 1, timeout=10)
    if cache.get("shopai:health:probe") != 1:
        raise LookupError("a value written to the cache could not be read back")


def _broker() -> None:
    with current_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=2)


def worker_queues() -> list[str]:
    return sorted({*shopai_settings.QUEUES.values(), current_app.conf.task_default_queue or "default"})


def _workers() -> dict[str, dict]:
    ages = {}
    stamps = cache.get_many([heartbeat_key(queue) for queue in worker_queues()])
    now = time.time()
    for queue in worker_queues():
        stamp = stamps.get(heartbeat_key(queue))
        age = None if stamp is None else round(now - float(stamp), 1)
        ages[queue] = {"ok": age is not None and age < HEARTBEAT_STALE, "heartbeat_age_s": age}
    return ages


SERVING = {
    "database": _database,
    "pgvector": _pgvector,
    "vector_index": _vector_index,
    "cache": _cache,
    "broker": _broker,
}


def report(*, require_workers: bool = False, details: bool = True) -> tuple[int, dict]:
    """(HTTP status, body): each component's state and how long its check took. Without ``details``
    the errors' texts (host names, addresses) are left out: the probe is public; they are logged."""
    components = {name: _timed(check) for name, check in SERVING.items()}
    try:
        workers = _workers()
    except Exception as exc:  # the cache is down: no heartbeat can be read
        workers = {queue: {"ok": False, "error": type(exc).__name__} for queue in worker_queues()}
    if not details:
        for part in [*components.values(), *workers.values()]:
            part.pop("error", None)
    serving = all(component["ok"] for component in components.values())
    working = all(queue["ok"] for queue in workers.values())
    healthy = serving and (working or not require_workers)
    body = {
        "status": "ok" if serving and working else ("degraded" if serving else "down"),
        "components": components,
        "workers": workers,
    }
    return (200 if healthy else 503), body


@never_cache
def health(request):
    staff = bool(getattr(request, "user", None) and request.user.is_staff)
    status, body = report(require_workers=request.GET.get("require") == "workers", details=staff)
    return JsonResponse(body, status=status)
