"""Operational counters kept in the cache (Redis), shared by web and worker processes."""

from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)

_PREFIX = "shopai:stats:"
COUNTERS = ("texts_embedded", "unchanged", "failed", "enqueue_failed")


def incr(name: str, amount: int = 1) -> None:
    if amount <= 0:
        return
    key = _PREFIX + name
    try:
        try:
            cache.incr(key, amount)
        except ValueError:  # key missing
            if not cache.add(key, amount, timeout=None):
                cache.incr(key, amount)
    except Exception:  # counters must never break the work they count
        logger.warning("Could not update shopai counter %s", name, exc_info=True)


def read() -> dict[str, int]:
    values = cache.get_many([_PREFIX + name for name in COUNTERS])
    return {name: int(values.get(_PREFIX + name, 0)) for name in COUNTERS}
