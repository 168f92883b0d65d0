"""Recommendations: a shopper's own history blended with interests, co-purchases and what is trending.

Every recommender takes ``now``: given a moment, it sees only the events before it, which is
how ``shopai_eval_recs`` replays history without letting the future leak in. Without it,
the current time and the stored interest profile are used.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.contrib.contenttypes.models import ContentType
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext

from shopai.backends import get_embedding_backend
from shopai.conf import get_product_adapter, shopai_settings
from shopai.models import Event, ProductEmbedding, UserProfile
from shopai.selectors import co_purchases, events_before, filter_products, nearest_products, popularity
from shopai.services.profiles import interest_vector, product_vectors, recent_events

# The parts a recommendation for a shopper is blended from (SHOPAI["RECOMMENDATIONS"]["BLEND"]).
COMPONENTS = ("buy_again", "interests", "bought_together", "trending")
# How many candidates each part contributes before blending (at least 3 × k).
CANDIDATES = 100
# Co-purchases are looked up for at most this many of the shopper's purchases (the strongest).
CO_PURCHASE_ITEMS = 20


@dataclass
class Recommendation:
    product: Any
    score: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {**get_product_adapter().to_result(self.product), "score": round(self.score, 4), "reason": self.reason}


def trending_scores(*, products, k: int, now: datetime | None = None, exclude=()) -> dict[str, float]:
    """{pk: weight} of the k most trending products: TRENDING_HALF_LIFE_DAYS decay over TRENDING_DAYS."""
    config = shopai_settings.RECOMMENDATIONS
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
    scores = trending_scores(products=products, k=k, now=now, exclude=exclude)
    found = {str(p.pk): p for p in products.filter(pk__in=list(scores))}
    top = max(scores.values(), default=1.0) or 1.0
    return [Recommendation(found[pk], scores[pk] / top, gettext("Trending now")) for pk in scores if pk in found]


def _purchase_weights(*, user, now: datetime | None) -> dict[str, float]:
    """Each product the shopper bought: Σ over the days it was bought of 0.5^(age / REPURCHASE_HALF_LIFE_DAYS)."""
    half_life = float(shopai_settings.RECOMMENDATIONS["REPURCHASE_HALF_LIFE_DAYS"])
    at = now or timezone.now()
    rows = (
        events_before(now)
        .filter(user=user, kind=Event.Kind.PURCHASE)
        .annotate(day=TruncDate("created_at"))
        .values_list("object_pk", "day")
        .distinct()
    )
    weights: dict[str, float] = defaultdict(float)
    for pk, day in rows:
        age_days = max((at.date() - day).days, 0)
        weights[pk] += math.pow(0.5, age_days / half_life)
    return dict(weights)


def _repurchasable(pks: set[str]) -> set[str]:
    """The bought products that may be offered again: REPURCHASE, overridden per category.

    REPURCHASE_CATEGORIES keys are category ids or names; a name also covers its subcategories
    when the category prints as a path ("Grocery" covers "Grocery/Tea & Coffee/Coffee").
    The most specific key wins.
    """
    config = shopai_settings.RECOMMENDATIONS
    default = bool(config["REPURCHASE"])
    overrides = config["REPURCHASE_CATEGORIES"] or {}
    if isinstance(overrides, list | tuple | set):  # a plain list names the categories that recur
        overrides = {category: True for category in overrides}
    if not pks or not overrides or "category" not in shopai_settings.PRODUCT_FIELDS:
        return set(pks) if default else set()
    overrides = {_category_path(key): bool(allowed) for key, allowed in overrides.items()}
    adapter = get_product_adapter()
    allowed = set()
    for product in adapter.get_queryset().filter(pk__in=list(pks)):
        category = adapter.get_field(product, "category")
        paths = [(str(getattr(category, "pk", category)),), _category_path(category)]
        matches = [key for key in overrides if any(path[: len(key)] == key for path in paths)]
        if overrides[max(matches, key=len)] if matches else default:
            allowed.add(str(product.pk))
    return allowed


def _category_path(category) -> tuple[str, ...]:
    """ "Home / Kitchen", "Home/Kitchen" -> ("home", "kitchen")."""
    return tuple(part.strip().casefold() for part in str(category).split("/") if part.strip())


def recommend_for_user(
    *, user, k: int = 10, now: datetime | None = None, blend: dict[str, float] | None = None, **filters
) -> list[Recommendation]:
    """k products for this shopper, each with a reason; trending when they have no history yet.

    ``blend`` weighs the COMPONENTS (default SHOPAI["RECOMMENDATIONS"]["BLEND"]); each part is
    scaled so its best candidate scores 1 before weighing.
    """
    config = shopai_settings.RECOMMENDATIONS
    weights = {name: float(w) for name, w in (blend or config["BLEND"]).items() if float(w) > 0}
    unknown = set(weights) - set(COMPONENTS)
    if unknown:
        raise ValueError(f"Unknown recommendation parts {sorted(unknown)}; use {', '.join(COMPONENTS)}.")
    products = filter_products(get_product_adapter().get_searchable_queryset(), **filters)
    signed_in = user is not None and user.is_authenticated
    history = recent_events(user_id=user.pk, before=now) if signed_in else []
    if not history:
        return _fill(trending(products=products, k=k, now=now), products=products, k=k)

    purchases = _purchase_weights(user=user, now=now)
    bought = set(purchases)
    # Things the shopper looked at but did not buy are not discoveries; bought ones come back
    # only where repurchase is allowed (consumables), per REPURCHASE / REPURCHASE_CATEGORIES.
    seen = {event.object_pk for event in history if event.object_pk}
    excluded = (seen - bought) | (bought - _repurchasable(bought))
    pool = products.exclude(pk__in=list(excluded)) if excluded else products
    n = max(CANDIDATES, 3 * k)

    parts: dict[str, dict[str, float]] = {}
    co_via: dict[str, str] = {}
    if "buy_again" in weights:
        parts["buy_again"] = {pk: w for pk, w in purchases.items() if pk not in excluded}
    if "interests" in weights:
        vector = _interests(user=user, history=history, now=now)
        if vector is not None:
            rows = nearest_products(vector=vector, products=pool, model_name=get_embedding_backend().name, k=n)
            parts["interests"] = {pk: max(0.0, 1.0 - distance) for pk, distance in rows}
    if "bought_together" in weights and purchases:
        strongest = dict(sorted(purchases.items(), key=lambda item: (-item[1], item[0]))[:CO_PURCHASE_ITEMS])
        together = co_purchases(strongest, now=now)
        parts["bought_together"] = {pk: score for pk, (score, _) in together.items() if pk not in excluded}
        co_via = {pk: via for pk, (_, via) in together.items()}
    popular = trending_scores(products=pool, k=n, now=now)
    if "trending" in weights:
        parts["trending"] = popular

    scores: dict[str, float] = defaultdict(float)
    strongest_part: dict[str, tuple[float, str]] = {}
    for name, values in parts.items():
        top = max(values.values(), default=0.0)
        if top <= 0:
            continue
        for pk, value in values.items():
            contribution = weights[name] * value / top
            scores[pk] += contribution
            if contribution > strongest_part.get(pk, (0.0, ""))[0]:
                strongest_part[pk] = (contribution, name)
    ranked = sorted(scores, key=lambda pk: (-scores[pk], -popular.get(pk, 0.0), pk))[: 4 * k]
    found = {str(p.pk): p for p in pool.filter(pk__in=ranked)}
    chosen = _diversify([(found[pk], scores[pk]) for pk in ranked if pk in found], k=k)
    because = {pk: name for pk, (_, name) in strongest_part.items()}
    because.update({pk: "buy_again" for pk in bought if pk in because})  # "you bought this" says it best
    recommendations = _explain(history, chosen, because=because, co_via=co_via)
    if len(recommendations) < k:  # too narrow a filter or too little history: top up with trending
        taken = {str(r.product.pk) for r in recommendations} | excluded
        recommendations += trending(products=pool, k=k - len(recommendations), exclude=taken, now=now)
    return _fill(recommendations, products=pool, k=k)


def _interests(*, user, history: list[Event], now: datetime | None) -> np.ndarray | None:
    """The stored interest profile, or one computed from ``history`` (replays, or not built yet)."""
    backend = get_embedding_backend()
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
    return recommendations + [Recommendation(product, 0.0, gettext("New in the shop")) for product in extra]


def _diversify(scored: list[tuple[Any, float]], *, k: int) -> list[tuple[Any, float]]:
    """At most CATEGORY_CAP products of one category before any other category gets its turn."""
    cap = int(shopai_settings.RECOMMENDATIONS["CATEGORY_CAP"])
    path = shopai_settings.PRODUCT_FIELDS.get("category")
    kept, overflow, per_category = [], [], {}
    for product, score in scored:
        key = getattr(product, f"{path}_id", None) if path else None
        if key is not None and per_category.get(key, 0) >= cap:
            overflow.append((product, score))
            continue
        per_category[key] = per_category.get(key, 0) + 1
        kept.append((product, score))
    return (kept + overflow)[:k]


def _explain(
    history: list[Event], chosen: list[tuple[Any, float]], *, because: dict[str, str], co_via: dict[str, str]
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
    vectors = (
        product_vectors(list(kinds) + need_vectors, model_name=get_embedding_backend().name) if need_vectors else {}
    )
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
        result.append(Recommendation(product, score, reason))
    return result


def similar_products(*, product, k: int = 6) -> list[Recommendation]:
    """Products whose text means something close to this one's."""
    adapter = get_product_adapter()
    backend = get_embedding_backend()
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
    return [Recommendation(found[pk], 1.0 - d, reason) for pk, d in rows if pk in found]


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
    return [Recommendation(pool[pk], together[pk][0], reason) for pk in ranked]
