"""Read-only queries on shoppers' events: popularity (trending), co-purchases."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Case, Count, FloatField, QuerySet, Sum, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate
from django.utils import timezone

from shopai.adapters import product_pks_as_text
from shopai.conf import shopai_settings
from shopai.models import Event


def events_before(now: datetime | None):
    events = Event.objects.exclude(object_pk="")
    return events.filter(created_at__lt=now) if now is not None else events


def popularity(
    *,
    products: QuerySet,
    k: int,
    now: datetime | None = None,
    half_life_days: float | None = None,
    window_days: float | None = None,
    exclude=(),
) -> dict[str, float]:
    """The ``k`` products with the most weighted events before ``now``, best first: ``{pk: weight}``.

    Each event counts EVENT_WEIGHTS[kind], halved every ``half_life_days`` of age (None: no decay);
    only the last ``window_days`` are read (None: all history).
    """
    config = shopai_settings.RECOMMENDATIONS
    at = now or timezone.now()
    events = events_before(now).filter(object_pk__in=product_pks_as_text(products))
    if window_days:
        events = events.filter(created_at__gte=at - timedelta(days=float(window_days)))
    if exclude:
        events = events.exclude(object_pk__in=list(exclude))
    weight = Case(
        *[When(kind=kind, then=Value(float(w))) for kind, w in config["EVENT_WEIGHTS"].items()],
        default=Value(0.0),
        output_field=FloatField(),
    )
    if half_life_days:
        age_decay = RawSQL(
            "power(0.5, extract(epoch from (%s - created_at)) / %s)",
            (at, float(half_life_days) * 86400.0),
            output_field=FloatField(),
        )
        weight = weight * age_decay
    rows = (
        events.values("object_pk")
        .annotate(weight=Sum(weight, output_field=FloatField()))
        .filter(weight__gt=0)
        .order_by("-weight", "object_pk")[:k]
    )
    return {row["object_pk"]: float(row["weight"]) for row in rows}


def co_purchases(items: dict[str, float], *, now: datetime | None = None) -> dict[str, tuple[float, str]]:
    """Products bought in the same baskets (one shopper, one day) as ``items`` ({pk: weight}).

    score(j) = Σ_i weight(i) · n_ij / √(n_i · n_j), with n counting baskets, so best-sellers that
    go with everything do not win. Returns ``{j: (score, the i that contributed most)}``.
    """
    purchases = events_before(now).filter(kind=Event.Kind.PURCHASE).exclude(user__isnull=True)
    baskets_of: dict[str, set] = defaultdict(set)
    for pk, user_id, day in (
        purchases.filter(object_pk__in=list(items))
        .annotate(day=TruncDate("created_at"))
        .values_list("object_pk", "user_id", "day")
        .distinct()
    ):
        baskets_of[pk].add((user_id, day))
    baskets = set().union(*baskets_of.values()) if baskets_of else set()
    if not baskets:
        return {}
    contents: dict[tuple, set[str]] = defaultdict(set)
    for user_id, day, pk in (
        purchases.filter(user_id__in={user_id for user_id, _ in baskets})
        .annotate(day=TruncDate("created_at"))
        .values_list("user_id", "day", "object_pk")
        .distinct()
    ):
        if (user_id, day) in baskets:
            contents[(user_id, day)].add(pk)
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for item, item_baskets in baskets_of.items():
        for basket in item_baskets:
            for other in contents[basket]:
                if other not in items:
                    pairs[(item, other)] += 1
    if not pairs:
        return {}
    others = {other for _, other in pairs}
    basket_counts = dict(
        purchases.filter(object_pk__in=list(others))
        .values("object_pk")
        .annotate(n=Count("pk"))
        .values_list("object_pk", "n")
    )
    result: dict[str, tuple[float, str]] = {}
    best_part: dict[str, float] = {}
    for (item, other), together in pairs.items():
        part = items[item] * together / math.sqrt(len(baskets_of[item]) * max(basket_counts.get(other, 1), together))
        score, via = result.get(other, (0.0, item))
        if part > best_part.get(other, 0.0):
            best_part[other], via = part, item
        result[other] = (score + part, via)
    return result
