"""A shopper's interest vector: time-decayed, kind-weighted mean of what they viewed, bought, searched."""

from __future__ import annotations

import logging
import math

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from shopai.adapters import get_product_adapter
from shopai.conf import shopai_settings
from shopai.core.tasks import QueueUnavailable, queue_task
from shopai.core.vector_spaces import serving_backend
from shopai.models import Event, ProductEmbedding, UserProfile

logger = logging.getLogger(__name__)


def event_weight(event: Event, *, now) -> float:
    config = shopai_settings.RECOMMENDATIONS
    base = float(config["EVENT_WEIGHTS"].get(event.kind, 0.0))
    age_days = max((now - event.created_at).total_seconds() / 86400, 0.0)
    return base * math.pow(0.5, age_days / float(config["HALF_LIFE_DAYS"]))


def product_vectors(pks: list[str], *, model_name: str) -> dict[str, np.ndarray]:
    content_type = ContentType.objects.get_for_model(get_product_adapter().model, for_concrete_model=False)
    rows = ProductEmbedding.objects.filter(content_type=content_type, model_name=model_name, object_pk__in=pks)
    return {pk: np.asarray(vector, dtype=np.float32) for pk, vector in rows.values_list("object_pk", "embedding")}


def interest_vector(events, *, now, backend) -> tuple[np.ndarray | None, int]:
    """The unit vector of ``events`` (weighted by kind and age at ``now``) and how many were usable."""
    vectors = product_vectors([e.object_pk for e in events if e.object_pk], model_name=backend.name)
    queries = list(dict.fromkeys(e.query for e in events if e.kind == Event.Kind.SEARCH and e.query))
    query_vectors = dict(zip(queries, backend.embed_queries(queries), strict=True)) if queries else {}
    total = np.zeros(backend.dimensions, dtype=np.float32)
    used = 0
    for event in events:
        vector = vectors.get(event.object_pk) if event.object_pk else query_vectors.get(event.query)
        if vector is None:
            continue
        total += event_weight(event, now=now) * vector
        used += 1
    norm = float(np.linalg.norm(total))
    if not used or norm == 0:
        return None, 0
    return total / norm, used


def recent_events(*, user_id: int, before=None) -> list[Event]:
    """The shopper's latest HISTORY_LIMIT events (strictly before ``before`` when given)."""
    events = Event.objects.filter(user_id=user_id)
    if before is not None:
        events = events.filter(created_at__lt=before)
    return list(events.order_by("-created_at")[: int(shopai_settings.RECOMMENDATIONS["HISTORY_LIMIT"])])


def rebuild_profile(*, user_id: int) -> UserProfile | None:
    """Recompute one shopper's vector from their recent events; None (and no profile) without history."""
    # In the space search serves (during a model switch, the previous model's until the new one is complete).
    backend = serving_backend()
    vector, used = interest_vector(recent_events(user_id=user_id), now=timezone.now(), backend=backend)
    if vector is None:
        UserProfile.objects.filter(user_id=user_id).delete()
        return None
    if not get_user_model().objects.filter(pk=user_id).exists():
        return None
    profile, _ = UserProfile.objects.update_or_create(
        user_id=user_id, defaults={"vector": vector, "model_name": backend.name, "events_used": used}
    )
    return profile


def rebuild_all_profiles() -> int:
    """Every shopper's profile again, in the space search serves (after a model switch); returns how many exist."""
    built = 0
    for user_id in Event.objects.exclude(user__isnull=True).values_list("user_id", flat=True).distinct():
        built += rebuild_profile(user_id=user_id) is not None
    return built


def queue_rebuild_all() -> None:
    """Queue ``rebuild_all_profiles`` on the worker; without a broker, the command does it later."""
    try:
        queue_task("shopai.tasks.rebuild_profiles", queue="embeddings")
    except QueueUnavailable as exc:
        logger.warning("Broker unreachable; run `manage.py shopai_rebuild_profiles` after the model switch: %s", exc)
