"""Recording what shoppers do, cheaply, and keeping their interest profiles in step."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.utils import timezone

from shopai.conf import shopai_settings
from shopai.models import Event, UserProfile

logger = logging.getLogger(__name__)
VISITOR_KEY = "shopai_visitor"  # session entry holding the key anonymous events were recorded under


def record_event(*, kind: str, user=None, session_key: str = "", product_pk=None, query: str = "", when=None) -> Event:
    """Store one event (no model call) and schedule the shopper's profile update."""
    signed_in = user is not None and user.is_authenticated
    event = Event.objects.create(
        user=user if signed_in else None,
        session_key="" if signed_in else (session_key or ""),
        kind=kind,
        object_pk="" if product_pk is None else str(product_pk),
        query=query[:300],
        created_at=when or timezone.now(),
    )
    if signed_in:
        schedule_profile_update(user_id=user.pk)
    return event


def schedule_profile_update(*, user_id: int) -> None:
    """Debounced: the first event of a burst queues one update a few seconds later."""
    delay = int(shopai_settings.RECOMMENDATIONS["PROFILE_DEBOUNCE_SECONDS"])
    try:
        if not cache.add(f"shopai:profile-pending:{user_id}", 1, timeout=delay + 30):
            return
        from shopai.tasks import update_profile_task

        update_profile_task.apply_async(args=[user_id], countdown=delay, queue=shopai_settings.QUEUES["embeddings"])
    except Exception as exc:  # the profile is rebuilt by shopai_rebuild_profiles or the next event
        logger.warning("Could not queue the profile update of user %s: %s", user_id, exc)


def merge_session_events(*, session_key: str, user) -> int:
    """Give a visitor's anonymous events to the account they just signed in to."""
    if not session_key:
        return 0
    moved = Event.objects.filter(session_key=session_key, user__isnull=True).update(user=user, session_key="")
    if moved:
        schedule_profile_update(user_id=user.pk)
    return moved


def erase_shopper_data(*, user) -> int:
    """ "Erase my data": every event and the interest profile of this shopper."""
    deleted, _ = Event.objects.filter(user=user).delete()
    UserProfile.objects.filter(user=user).delete()
    cache.delete(f"shopai:profile-pending:{user.pk}")
    return deleted
