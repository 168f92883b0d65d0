"""Recommendations: a shopper's own history blended with interests, co-purchases and what is trending.

Every recommender takes ``now``: given a moment, it sees only the events before it, which is
how ``shopai_eval_recs`` replays history without letting the future leak in. Without it,
the current time and the stored interest profile are used.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from django.contrib.contenttypes.models import ContentType
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext

from shopai.adapters import filter_products, get_product_adapter, orm_field
from shopai.conf import shopai_settings
from shopai.core.vector_spaces import serving_backend
from shopai.models import Event, ProductEmbedding, UserProfile
from shopai.recommendations.profiles import interest_vector, product_vectors, recent_events
from shopai.recommendations.selectors import co_purchases, events_before, popularity
from shopai.recommendations.tuned_settings import COMPONENTS, recommendation_settings
from shopai.search import nearest_products

# How many candidates each part contributes before blending (at least 3 × k).
CANDIDATES = 100
# Co-purchases are looked up for at most this many of the shopper's purchases (the strongest).
CO_PURCHASE_ITEMS = 20
# Set by ``as_of`` while history is replayed: recommenders then see only earlier events, also
# when called through the API (shopai_eval_recs asks GET /api/shopai/recommendations this way).
_REPLAY_AT: ContextVar[datetime | None] = ContextVar("shopai_replay_at", default=None)


@contextmanager
def as_of(moment: datetime):
    """Recommend as if it were ``moment``: later events are invisible (offline evaluation)."""
    token = _REPLAY_AT.set(moment)
    try:
        yield
    finally:
        _REPLAY_AT.reset(token)


@dataclass
class Recommendation:
    product: Any
    score: float
    reason: str
    # What put it there: "buy_again", "interests", "bought_together", "trending", "similar", "new".
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            **get_product_adapter().to_result(self.product),
            "score": round(self.score, 4),
            "reason": self.reason,
            "source": self.source,
        }


def trending_scores(
    *, products, k: int, now: datetime | None = None, exclude=(), config: dict | None = None
) -> dict[str, float]:
    """{pk: weight} of the k most trending products: TRENDING_HALF_LIFE_DAYS decay over TRENDING_DAYS."""
    config = config or recommendation_settings()
    return popularity(
        products=products,
        k=k,
        now=now,
        half_life_days=config["TRENDING_HALF_LIFE_DAYS"],
        window_days=config["TRENDING_DAYS"],
        exclude=exclude,
    )


def trending(*, products, k: int, exclude=(), now: datetime | None = None) -> list[Recommendation]:
    """What shoppers interact with most lately (TRENDING_HALF_LIFE_DAYS decay over TRENDING_DAYS)."""
    scores = trending_scores(products=products, k=k, now=now or _REPLAY_AT.get(), exclude=exclude)
    found = {str(p.pk): p for p in products.filter(pk__in=list(scores))}
    top = max(scores.values(), default=1.0) or 1.0
    return [
        Recommendation(found[pk], scores[pk] / top, gettext("Trending now"), "trending") for pk in scores if pk in found
    ]


def purchase_days(*, user, now: datetime | None) -> dict[str, list[date]]:
    """The days on which the shopper bought each product, before ``now``."""
    rows = (
        events_before(now)
        .filter(user=user, kind=Event.Kind.PURCHASE)
        .annotate(day=TruncDate("created_at"))
        .values_list("object_pk", "day")
        .distinct()
    )
    days: dict[str, list[date]] = defaultdict(list)
    for pk, day in rows:
        days[pk].append(day)
    return dict(days)


def purchase_weights(days: dict[str, list[date]], *, at: datetime, half_life_days: float | None) -> dict[str, float]:
    """Per product: Σ over the days it was bought of 0.5^(age / half-life); a plain count without one.

    It is count × recency in one number: bought often scores high, bought long ago fades.
    """
    weights = {}
    for pk, bought in days.items():
        if half_life_days:
            weights[pk] = sum(math.pow(0.5, max((at.date() - day).days, 0) / float(half_life_days)) for day in bought)
        else:
            weights[pk] = float(len(bought))
    return weights


def _repurchasable(pks: set[str], config: dict) -> set[str]:
    """The bought products that may be offered again: REPURCHASE, overridden per category.

    REPURCHASE_CATEGORIES keys are category ids or names; a name also covers its subcategories
    when the category prints as a path ("Grocery" covers "Grocery/Tea & Coffee/Coffee").
    The most specific key wins.
    """
    default = bool(config["REPURCHASE"])
    overrides = config["REPURCHASE_CATEGORIES"] or {}
    if isinstance(overrides, list | tuple | set):  # a plain list names the categories that recur
        overrides = {category: True for category in overrides}
    if not pks or not overrides or not shopai_settings.PRODUCT_FIELDS.get("category"):
        return set(pks) if default else set()
    overrides = {_category_path(key): bool(allowed) for key, allowed in overrides.items()}
    adapter = get_product_adapter()
    allowed = set()
    for product in adapter.get_queryset().filter(pk__in=list(pks)):
        paths = [
            path
            for category in adapter.get_categories(product)
            for path in ((str(getattr(category, "pk", category)),), _category_path(category))
        ]
        matches = [key for key in overrides if any(path[: len(key)] == key for path in paths)]
        if overrides[max(matches, key=len)] if matches else default:
            allowed.add(str(product.pk))
    return allowed


def _first_category(products: dict[str, Any]):
    """pk -> the id of the product's first category, for the category cap; None without categories.

    A foreign key is read from the row (no query); other relations through the adapter.
    """
    path = shopai_settings.PRODUCT_FIELDS.get("category")
    if not path:
        return None
    adapter = get_product_adapter()
    field = orm_field(adapter.model, path.replace(".", "__")) if "." not in path else None
    if field is not None and field.many_to_one:
        return lambda pk: getattr(products[pk], field.attname, None)

    def first(pk):
        categories = adapter.get_categories(products[pk])
        return getattr(categories[0], "pk", categories[0]) if categories else None

    return first


def _category_path(category) -> tuple[str, ...]:
    """ "Home / Kitchen", "Home/Kitchen", "Home > Kitchen" -> ("home", "kitchen")."""
    return tuple(part.strip().casefold() for part in re.split(r"[/>]", str(category)) if part.strip())


@dataclass
class Signals:
    """What is known about one shopper at one moment, before any weighing.

    ``recommend_for_user`` ranks it with the settings in force; ``shopai_tune_recommendations``
    ranks the same signals under many settings without asking the database again.
    """

    at: datetime
    purchase_days: dict[str, list[date]]
    excluded: set[str]  # never offered: seen but not bought, or bought and not repurchasable
    trending: dict[str, float]  # over the products that may be offered
    interests: dict[str, float] = field(default_factory=dict)
    bought_together: dict[str, float] = field(default_factory=dict)
    co_via: dict[str, str] = field(default_factory=dict)


def shopper_signals(
    *, user, history: list[Event], products, now: datetime | None, config: dict, parts=COMPONENTS, backend=None
) -> tuple[Signals, Any]:
    """The shopper's signals and the queryset of products that may be offered to them.

    ``backend``: the embedding model whose space interests live in (default: the one search serves);
    one call uses one, so a model switch completing meanwhile cannot mix two widths in a query.
    """
    backend = backend or serving_backend()
    days = purchase_days(user=user, now=now)
    bought = set(days)
    # Things the shopper looked at but did not buy are not discoveries; bought ones come back
    # only where repurchase is allowed (consumables), per REPURCHASE / REPURCHASE_CATEGORIES.
    seen = {event.object_pk for event in history if event.object_pk}
    excluded = (seen - bought) | (bought - _repurchasable(bought, config))
    pool = products.exclude(pk__in=list(excluded)) if excluded else products
    n = CANDIDATES
    signals = Signals(
        at=now or timezone.now(),
        purchase_days=days,
        excluded=excluded,
        trending=trending_scores(products=pool, k=n, now=now, config=config),
    )
    if "interests" in parts:
        vector = _interests(user=user, history=history, now=now, backend=backend)
        if vector is not None:
            rows = nearest_products(vector=vector, products=pool, model_name=backend.name, k=n)
            signals.interests = {pk: max(0.0, 1.0 - distance) for pk, distance in rows}
    if "bought_together" in parts and days:
        weights = purchase_weights(days, at=signals.at, half_life_days=config["REPURCHASE_HALF_LIFE_DAYS"])
        strongest = dict(sorted(weights.items(), key=lambda item: (-item[1], item[0]))[:CO_PURCHASE_ITEMS])
        together = co_purchases(strongest, now=now)
        signals.bought_together = {pk: score for pk, (score, _) in together.items() if pk not in excluded}
        signals.co_via = {pk: via for pk, (_, via) in together.items()}
    return signals, pool


def blend_weights(config: dict) -> dict[str, float]:
    """The BLEND parts with a weight above 0; unknown parts are refused."""
    weights = {name: float(w) for name, w in config["BLEND"].items() if float(w) > 0}
    unknown = set(weights) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"Unknown recommendation parts {sorted(unknown)}; use {', '.join(COMPONENTS)}.")
    return weights


def rank(signals: Signals, *, config: dict, k: int, category_of=None) -> list[tuple[str, float, str]]:
    """(pk, score, the part that put it there) for up to k products, best first.

    Each part of RECOMMENDATIONS["BLEND"] is scaled so its best candidate scores 1, then weighed.
    With BUY_AGAIN_FIRST, the shopper's own repurchasable items come first, ordered by
    count × recency (REPURCHASE_HALF_LIFE_DAYS), and the blend fills the places left.
    At most CATEGORY_CAP items of one category (``category_of(pk)``) lead; trending tops up.
    """
    weights = blend_weights(config)
    own = purchase_weights(signals.purchase_days, at=signals.at, half_life_days=config["REPURCHASE_HALF_LIFE_DAYS"])
    own = {pk: w for pk, w in own.items() if pk not in signals.excluded}
    parts = {
        "buy_again": own,
        "interests": signals.interests,
        "bought_together": signals.bought_together,
        "trending": signals.trending,
    }
    scores: dict[str, float] = defaultdict(float)
    strongest: dict[str, tuple[float, str]] = {}
    for name, weight in weights.items():
        values = parts[name]
        top = max(values.values(), default=0.0)
        if top <= 0:
            continue
        for pk, value in values.items():
            contribution = weight * value / top
            scores[pk] += contribution
            if contribution > strongest.get(pk, (0.0, ""))[0]:
                strongest[pk] = (contribution, name)
    popular = signals.trending
    depth = 4 * k  # room for the category cap
    ranked = heapq.nsmallest(depth, scores, key=lambda pk: (-scores[pk], -popular.get(pk, 0.0), pk))
    if config.get("BUY_AGAIN_FIRST"):
        first = heapq.nsmallest(depth, own, key=lambda pk: (-own[pk], -scores.get(pk, 0.0), -popular.get(pk, 0.0), pk))
        ranked = first + [pk for pk in ranked if pk not in own]
    if len(ranked) < depth:  # too narrow a filter or too little history: trending tops the list up
        taken = set(ranked)
        ranked += heapq.nsmallest(
            depth - len(ranked), (pk for pk in popular if pk not in taken), key=lambda pk: (-popular[pk], pk)
        )
    because = {pk: name for pk, (_, name) in strongest.items()}
    because.update({pk: "buy_again" for pk in own if pk in because or config.get("BUY_AGAIN_FIRST")})
    top = max(popular.values(), default=0.0) or 1.0
    chosen = diversify(ranked[:depth], k=k, cap=int(config["CATEGORY_CAP"]), category_of=category_of)
    return [
        (pk, scores[pk], because.get(pk, "")) if pk in scores else (pk, popular.get(pk, 0.0) / top, "trending")
        for pk in chosen
    ]


def diversify(ranked: list[str], *, k: int, cap: int, category_of=None) -> list[str]:
    """At most ``cap`` products of one category before any other category gets its turn."""
    if category_of is None:
        return ranked[:k]
    kept, overflow, per_category = [], [], {}
    for pk in ranked:
        key = category_of(pk)
        if key is not None and per_category.get(key, 0) >= cap:
            overflow.append(pk)
            continue
        per_category[key] = per_category.get(key, 0) + 1
        kept.append(pk)
    return (kept + overflow)[:k]


def recommend_for_user(
    *, user, k: int = 10, now: datetime | None = None, blend: dict[str, float] | None = None, **filters
) -> list[Recommendation]:
    """k products for this shopper, each with a reason; trending when they have no history yet.

    The settings in force are SHOPAI["RECOMMENDATIONS"] with the tuned row on top
    (``recommendation_settings``); ``blend`` replaces their BLEND for this call.
    """
    now = now or _REPLAY_AT.get()
    config = recommendation_settings()
    if blend is not None:
        config = {**config, "BLEND": blend}
    wanted = list(blend_weights(config))
    products = filter_products(get_product_adapter().get_searchable_queryset(), **filters)
    signed_in = user is not None and user.is_authenticated
    history = recent_events(user_id=user.pk, before=now) if signed_in else []
    if not history:
        return _fill(trending(products=products, k=k, now=now), products=products, k=k)
    backend = serving_backend()  # once per call: interests and reasons read the same model's vectors
    signals, pool = shopper_signals(
        user=user, history=history, products=products, now=now, config=config, parts=wanted, backend=backend
    )
    candidates = rank(signals, config=config, k=4 * k)  # room for the category cap below
    found = {str(p.pk): p for p in pool.filter(pk__in=[pk for pk, _, _ in candidates])}
    ranked = [pk for pk, _, _ in candidates if pk in found]
    chosen = diversify(ranked, k=k, cap=int(config["CATEGORY_CAP"]), category_of=_first_category(found))
    score = {pk: value for pk, value, _ in candidates}
    because = {pk: part for pk, _, part in candidates}
    recommendations = _explain(
        history, [(found[pk], score[pk]) for pk in chosen], because=because, co_via=signals.co_via, backend=backend
    )
    if len(recommendations) < k:  # filters left too few: top up with trending
        taken = {str(r.product.pk) for r in recommendations} | signals.excluded
        recommendations += trending(products=pool, k=k - len(recommendations), exclude=taken, now=now)
    return _fill(recommendations, products=pool, k=k)


def _interests(*, user, history: list[Event], now: datetime | None, backend) -> np.ndarray | None:
    """The stored interest profile, or one computed from ``history`` (replays, or not built yet)."""
    if now is None:
        profile = UserProfile.objects.filter(user=user, model_name=backend.name).first()
        if profile is not None:
            return np.asarray(profile.vector, dtype=np.float32)
        history = [event for event in history if event.object_pk]  # no model call in a request
    vector, _ = interest_vector(history, now=now or timezone.now(), backend=backend)
    return vector


def _fill(recommendations: list[Recommendation], *, products, k: int) -> list[Recommendation]:
    """Still short (new shop, no events): newest products, so a page never shows an empty shelf."""
    if len(recommendations) >= k:
        return recommendations[:k]
    seen = [r.product.pk for r in recommendations]
    extra = products.exclude(pk__in=seen).order_by("-pk")[: k - len(recommendations)]
    return recommendations + [Recommendation(product, 0.0, gettext("New in the shop"), "new") for product in extra]


def _explain(
    history: list[Event],
    chosen: list[tuple[Any, float]],
    *,
    because: dict[str, str],
    co_via: dict[str, str],
    backend,
) -> list[Recommendation]:
    """A reason a shopper can read, from the part of the blend that put the item there."""
    adapter = get_product_adapter()
    order = [Event.Kind.PURCHASE, Event.Kind.CART, Event.Kind.VIEW]
    kinds: dict[str, str] = {}
    for event in history:  # strongest kind per product: bought > cart > viewed
        if event.object_pk and event.kind in order:
            current = kinds.get(event.object_pk)
            if current is None or order.index(event.kind) < order.index(current):
                kinds[event.object_pk] = event.kind
    need_vectors = [str(p.pk) for p, _ in chosen if because.get(str(p.pk)) == "interests"]
    vectors = product_vectors(list(kinds) + need_vectors, model_name=backend.name) if need_vectors else {}
    names = {
        str(p.pk): adapter.get_field(p, "name")
        for p in adapter.get_queryset().filter(pk__in=list(kinds) + list(set(co_via.values())))
    }
    reasons = {
        Event.Kind.VIEW: gettext("Because you viewed {name}"),
        Event.Kind.CART: gettext("Because you added {name} to your cart"),
        Event.Kind.PURCHASE: gettext("Because you bought {name}"),
    }
    result = []
    for product, score in chosen:
        pk = str(product.pk)
        part = because.get(pk)
        if part == "buy_again":
            reason = gettext("Buy again: you bought this before")
        elif part == "bought_together" and co_via.get(pk) in names:
            reason = gettext("Often bought with {name}").format(name=names[co_via[pk]])
        elif part == "interests" and pk in vectors:
            similarity = {
                other: float(np.dot(vectors[other], vectors[pk])) for other in kinds if other in vectors and other != pk
            }
            best = max(similarity, key=similarity.get, default=None)
            reason = reasons[kinds[best]].format(name=names.get(best, "")) if best else gettext("Picked for you")
        elif part == "trending":
            reason = gettext("Trending now")
        else:
            reason = gettext("Picked for you")
        result.append(Recommendation(product, score, reason, part or "interests"))
    return result


def similar_products(*, product, k: int = 6) -> list[Recommendation]:
    """Products whose text means something close to this one's."""
    adapter = get_product_adapter()
    backend = serving_backend()
    content_type = ContentType.objects.get_for_model(adapter.model, for_concrete_model=False)
    row = ProductEmbedding.objects.filter(
        content_type=content_type, model_name=backend.name, object_pk=str(product.pk)
    ).first()
    if row is None:
        return []
    pool = adapter.get_searchable_queryset().exclude(pk=product.pk)
    rows = nearest_products(vector=row.embedding, products=pool, model_name=backend.name, k=k)
    found = {str(p.pk): p for p in pool.filter(pk__in=[pk for pk, _ in rows])}
    name = adapter.get_field(product, "name")
    reason = gettext("Similar to {name}").format(name=name)
    return [Recommendation(found[pk], 1.0 - d, reason, "similar") for pk, d in rows if pk in found]


def bought_together(*, product, k: int = 4, now: datetime | None = None) -> list[Recommendation]:
    """Products bought in the same baskets as this one, normalised by how common they are."""
    adapter = get_product_adapter()
    together = co_purchases({str(product.pk): 1.0}, now=now)
    if not together:
        return []
    pool = {str(p.pk): p for p in adapter.get_searchable_queryset().filter(pk__in=list(together))}
    name = adapter.get_field(product, "name")
    reason = gettext("Often bought with {name}").format(name=name)
    ranked = sorted((pk for pk in together if pk in pool), key=lambda pk: (-together[pk][0], pk))[:k]
    return [Recommendation(pool[pk], together[pk][0], reason, "bought_together") for pk in ranked]
