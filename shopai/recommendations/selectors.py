"""Read-only queries on shoppers' events: popularity (trending), co-purchases."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import CharField, Count, Max, QuerySet
from django.db.models.functions import Cast, Coalesce, TruncDate
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
    only the last ``window_days`` are read (None: all history). A shopper (account or visitor
    session) counts once per product, kind and day, at their latest event that day: one client
    repeating a view sixty times moves a product no further than one view.
    """
    config = shopai_settings.RECOMMENDATIONS
    at = now or timezone.now()
    events = events_before(now).filter(object_pk__in=product_pks_as_text(products))
    if window_days:
        events = events.filter(created_at__gte=at - timedelta(days=float(window_days)))
    if exclude:
        events = events.exclude(object_pk__in=list(exclude))
    weights = {kind: float(weight) for kind, weight in config["EVENT_WEIGHTS"].items() if float(weight)}
    if not weights:
        return {}
    events = events.filter(kind__in=list(weights))
    visits = (
        events.order_by()
        .annotate(who=Coalesce(Cast("user_id", CharField()), "session_key"), day=TruncDate("created_at"))
        .values("object_pk", "kind", "who", "day")
        .annotate(last=Max("created_at"))
    )
    inner, inner_params = visits.query.sql_with_params()
    case = "CASE kind " + " ".join("WHEN %s THEN %s" for _ in weights) + " ELSE 0 END"
    case_params = [value for kind, weight in weights.items() for value in (kind, weight)]
    if half_life_days:
        decay, decay_params = "power(0.5, extract(epoch from (%s - last)) / %s)", [at, float(half_life_days) * 86400.0]
    else:
        decay, decay_params = "1", []
    score = f"SUM(({case}) * {decay})"
    sql = (
        f"SELECT object_pk, {score} AS weight FROM ({inner}) AS visits "
        f"GROUP BY object_pk HAVING {score} > 0 ORDER BY weight DESC, object_pk LIMIT %s"
    )
    params = [*case_params, *decay_params, *inner_params, *case_params, *decay_params, int(k)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk: float(weight) for pk, weight in cursor.fetchall()}


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
