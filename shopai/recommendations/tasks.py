"""Recommendation tasks: rebuild a shopper's interest profile."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache

from shopai.core.tasks import SettingsRetryTask
from shopai.recommendations.profiles import rebuild_all_profiles, rebuild_profile


@shared_task(
    base=SettingsRetryTask,
    bind=True,
    name="shopai.tasks.update_profile",
    time_limit=300,
)
def update_profile_task(self, user_id: int) -> int:
    """Rebuild one shopper's interest vector (debounced by recommendations.events)."""

    cache.delete(f"shopai:profile-pending:{user_id}")
    profile = rebuild_profile(user_id=user_id)
    return profile.events_used if profile else 0


@shared_task(
    base=SettingsRetryTask,
    bind=True,
    name="shopai.tasks.rebuild_profiles",
    time_limit=1800,
)
def rebuild_profiles_task(self) -> int:
    """Every shopper's interest vector, in the space search serves (queued when a new model completes)."""
    return rebuild_all_profiles()
