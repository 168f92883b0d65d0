"""The recommendation settings in force: SHOPAI["RECOMMENDATIONS"], overridden by a tuned row.

``shopai_tune_recommendations --apply`` stores what it fitted on the shop's own history as the
active ``RecommenderSettings`` row; every recommender reads ``recommendation_settings()``, which
merges that row over the settings file. The row is cached (one cache read per recommendation)
and forgotten whenever a row is saved or deleted, so a change in admin reaches every process.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from shopai.conf import shopai_settings
from shopai.models import RecommenderSettings

logger = logging.getLogger(__name__)

# The keys a tuned row may override: what the tuner fits.
TUNABLE = ("BLEND", "BUY_AGAIN_FIRST", "REPURCHASE_HALF_LIFE_DAYS", "TRENDING_HALF_LIFE_DAYS")
# The parts a recommendation for a shopper is blended from (RECOMMENDATIONS["BLEND"]).
COMPONENTS = ("buy_again", "interests", "bought_together", "trending")
CACHE_KEY = "shopai:recommender-settings:v1"
# A missed invalidation (a row changed by raw SQL) lasts at most this long.
CACHE_SECONDS = 300
_IGNORE_OVERRIDE: ContextVar[bool] = ContextVar("shopai_ignore_recommender_override", default=False)


def recommendation_settings() -> dict[str, Any]:
    """SHOPAI["RECOMMENDATIONS"] with the active tuned row's values on top."""
    return {**shopai_settings.RECOMMENDATIONS, **active_override()}


@contextmanager
def settings_file_only():
    """Within this block the tuned row is ignored (measuring the settings file's own choices)."""
    token = _IGNORE_OVERRIDE.set(True)
    try:
        yield
    finally:
        _IGNORE_OVERRIDE.reset(token)


def active_override() -> dict[str, Any]:
    """The active row's values ({} when none), cached between changes."""
    if _IGNORE_OVERRIDE.get():
        return {}
    try:
        cached = cache.get(CACHE_KEY)
    except Exception:  # a cache outage costs one small query, not the recommendation
        cached = None
    if cached is not None:
        return cached
    row = RecommenderSettings.objects.filter(active=True).only("values").first()
    values = dict(row.values) if row is not None and isinstance(row.values, dict) else {}
    problems = override_errors(values)
    if problems:  # written by hand, wrongly: keep recommending with the settings file
        logger.warning("Recommender settings #%s are ignored: %s", row.pk, " ".join(problems))
        values = {}
    # Inside a transaction the row may never be committed: do not let other processes see it.
    if not connection.in_atomic_block:
        try:
            cache.set(CACHE_KEY, values, CACHE_SECONDS)
        except Exception:
            pass
    return values


def forget_override() -> None:
    """Called when a row changes: now, and again once the change is committed."""

    def forget():
        try:
            cache.delete(CACHE_KEY)
        except Exception:  # the entry expires on its own
            pass

    forget()
    transaction.on_commit(forget)


def put_in_force(row) -> None:
    """Make this RecommenderSettings row the one in force (the previous one steps down)."""
    with transaction.atomic():
        RecommenderSettings.objects.filter(active=True).exclude(pk=row.pk).update(active=False)
        row.active, row.activated_at = True, timezone.now()
        row.save()
    forget_override()


def back_to_settings_file() -> int:
    """No tuned row in force any more; returns how many were switched off."""
    with transaction.atomic():
        changed = RecommenderSettings.objects.filter(active=True).update(active=False)
    forget_override()
    return changed


def override_errors(values: Any) -> list[str]:
    """What is wrong with a row's values, in words (empty when it can be used)."""
    if not isinstance(values, dict):
        return ["The values must be a JSON object of RECOMMENDATIONS keys."]
    errors = []
    unknown = set(values) - set(TUNABLE)
    if unknown:
        errors.append(f"Unknown keys {sorted(unknown)}; a tuned row may set {', '.join(TUNABLE)}.")
    blend = values.get("BLEND")
    if "BLEND" in values:
        if not isinstance(blend, dict) or set(blend) - set(COMPONENTS):
            errors.append(f"BLEND must map parts ({', '.join(COMPONENTS)}) to weights.")
        elif not all(isinstance(w, int | float) and not isinstance(w, bool) and w >= 0 for w in blend.values()):
            errors.append("BLEND weights must be numbers of 0 or more.")
        elif not any(blend.values()) and not values.get("BUY_AGAIN_FIRST"):
            errors.append("BLEND needs at least one weight above 0.")
    if "BUY_AGAIN_FIRST" in values and not isinstance(values["BUY_AGAIN_FIRST"], bool):
        errors.append("BUY_AGAIN_FIRST must be true or false.")
    for key in ("REPURCHASE_HALF_LIFE_DAYS", "TRENDING_HALF_LIFE_DAYS"):
        if key in values:
            value = values[key]
            if value is not None and (not isinstance(value, int | float) or isinstance(value, bool) or value <= 0):
                errors.append(f"{key} must be a number of days above 0, or null for no decay.")
    return errors
