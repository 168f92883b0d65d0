"""Recommendations: nearest products to a shopper's interests, filtered, diversified, explained."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
from django.contrib.contenttypes.models import ContentType
from django.db.models import Case, CharField, Count, FloatField, Sum, Value, When
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone

from shopai.backends import get_embedding_backend
from shopai.conf import get_product_adapter, shopai_settings
from shopai.models import Event, ProductEmbedding, UserProfile
from shopai.selectors import filter_products, nearest_products
from shopai.services.profiles import product_vectors

REASONS = {
    Event.Kind.VIEW: "Because you viewed {name}",
    Event.Kind.CART: "Because you added {name} to your cart",
    Event.Kind.PURCHASE: "Because you bought {name}",
}


@dataclass
class Recommendation:
    product: Any
    score: float
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {**get_product_adapter().to_result(self.product), "score": round(self.score, 4), "reason": self.reason}


def trending(*, products, k: int, exclude: set[str] = frozenset()) -> list[Recommendation]:
    """Most interacted-with products of the last TRENDING_DAYS days, weighted by event kind."""
    config = shopai_settings.RECOMMENDATIONS
    since = timezone.now() - timedelta(days=int(config["TRENDING_DAYS"]))
    weights = config["EVENT_WEIGHTS"]
    allowed = products.order_by().annotate(_pk_text=Cast("pk", output_field=CharField())).values("_pk_text")
    rows = (
        Event.objects.filter(created_at__gte=since, object_pk__in=allowed)
        .exclude(object_pk="")
        .exclude(object_pk__in=list(exclude))
        .values("object_pk")
        .annotate(
            weight=Sum(
                Case(
                    *[When(kind=kind, then=Value(float(w))) for kind, w in weights.items()],
                    default=Value(0.0),
                    output_field=FloatField(),
                )
            ),
            events=Count("pk"),
        )
        .order_by("-weight", "object_pk")[:k]
    )
    scores = {row["object_pk"]: float(row["weight"]) for row in rows}
    found = {str(p.pk): p for p in products.filter(pk__in=list(scores))}
    top = max(scores.values(), default=1.0) or 1.0
    return [Recommendation(found[pk], scores[pk] / top, "Trending now") for pk in scores if pk in found]


def _bought(user) -> set[str]:
    return set(Event.objects.filter(user=user, kind=Event.Kind.PURCHASE).values_list("object_pk", flat=True).distinct())


def _repurchasable(products, pks: set[str]) -> set[str]:
    config = shopai_settings.RECOMMENDATIONS
    if config["REPURCHASE"]:
        return pks
    categories = config["REPURCHASE_CATEGORIES"]
    path = shopai_settings.PRODUCT_FIELDS.get("category")
    if not categories or not path or not pks:
        return set()
    lookup = path.replace(".", "__")
    allowed = products.filter(pk__in=list(pks), **{f"{lookup}__in": categories}).values_list("pk", flat=True)
    return {str(pk) for pk in allowed}


def recommend_for_user(*, user, k: int = 10, **filters) -> list[Recommendation]:
    """k products for this shopper: nearest to their interests, or trending without history."""
    adapter = get_product_adapter()
    products = filter_products(adapter.get_searchable_queryset(), **filters)
    profile = UserProfile.objects.filter(user=user).first() if user is not None and user.is_authenticated else None
    backend = get_embedding_backend()
    if profile is None or profile.model_name != backend.name:
        return _fill(trending(products=products, k=k), products=products, k=k)
    bought = _bought(user)
    # Things the shopper already looked at are not discoveries; bought ones come back only
    # where repurchase is allowed (consumables), per REPURCHASE / REPURCHASE_CATEGORIES.
    seen = set(Event.objects.filter(user=user).exclude(object_pk="").values_list("object_pk", flat=True))
    excluded = (seen - bought) | (bought - _repurchasable(products, bought))
    pool = products.exclude(pk__in=[pk for pk in excluded]) if excluded else products
    rows = nearest_products(vector=profile.vector, products=pool, model_name=backend.name, k=k * 4)
    found = {str(p.pk): p for p in pool.filter(pk__in=[pk for pk, _ in rows])}
    chosen = _diversify([(found[pk], 1.0 - d) for pk, d in rows if pk in found], k=k)
    recommendations = _explain(user, chosen, model_name=backend.name)
    if len(recommendations) < k:  # too narrow a filter or too little embedded: top up with trending
        seen = {str(r.product.pk) for r in recommendations} | excluded
        recommendations += trending(products=pool, k=k - len(recommendations), exclude=seen)
    return _fill(recommendations, products=pool, k=k)


def _fill(recommendations: list[Recommendation], *, products, k: int) -> list[Recommendation]:
    """Still short (new shop, no events): newest products, so a page never shows an empty shelf."""
    if len(recommendations) >= k:
        return recommendations[:k]
    seen = [r.product.pk for r in recommendations]
    extra = products.exclude(pk__in=seen).order_by("-pk")[: k - len(recommendations)]
    return recommendations + [Recommendation(product, 0.0, "New in the shop") for product in extra]


def _diversify(scored: list[tuple[Any, float]], *, k: int) -> list[tuple[Any, float]]:
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


def _explain(user, chosen: list[tuple[Any, float]], *, model_name: str) -> list[Recommendation]:
    """A readable reason: the item of the shopper's history most similar to the recommendation."""
    adapter = get_product_adapter()
    history = list(
        Event.objects.filter(user=user).exclude(object_pk="").order_by("-created_at").values("object_pk", "kind")[:50]
    )
    kinds: dict[str, str] = {}
    for row in history:  # strongest kind per product: bought > cart > viewed
        order = [Event.Kind.PURCHASE, Event.Kind.CART, Event.Kind.VIEW]
        current = kinds.get(row["object_pk"])
        if current is None or order.index(row["kind"]) < order.index(current):
            kinds[row["object_pk"]] = row["kind"]
    vectors = product_vectors(list(kinds) + [str(p.pk) for p, _ in chosen], model_name=model_name)
    names = {str(p.pk): adapter.get_field(p, "name") for p in adapter.get_queryset().filter(pk__in=list(kinds))}
    result = []
    for product, score in chosen:
        target = vectors.get(str(product.pk))
        best, best_sim = None, -1.0
        for pk in kinds:
            if pk in vectors and target is not None and pk != str(product.pk):
                similarity = float(np.dot(vectors[pk], target))
                if similarity > best_sim:
                    best, best_sim = pk, similarity
        reason = REASONS[kinds[best]].format(name=names.get(best, "an item")) if best else "Picked for you"
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
    return [Recommendation(found[pk], 1.0 - d, f"Similar to {name}") for pk, d in rows if pk in found]


def bought_together(*, product, k: int = 4) -> list[Recommendation]:
    """Products bought in the same baskets (same shopper, same day), normalised by how common they are."""
    adapter = get_product_adapter()
    purchases = Event.objects.filter(kind=Event.Kind.PURCHASE).exclude(user__isnull=True)
    target = str(product.pk)
    baskets = set(
        purchases.filter(object_pk=target).annotate(day=TruncDate("created_at")).values_list("user_id", "day")
    )
    if not baskets:
        return []
    users = {user for user, _ in baskets}
    together: dict[str, int] = {}
    for user, day, pk in (
        purchases.filter(user_id__in=users)
        .exclude(object_pk=target)
        .annotate(day=TruncDate("created_at"))
        .values_list("user_id", "day", "object_pk")
        .distinct()
    ):
        if (user, day) in baskets:
            together[pk] = together.get(pk, 0) + 1
    if not together:
        return []
    popularity = dict(
        purchases.filter(object_pk__in=list(together))
        .values("object_pk")
        .annotate(n=Count("pk"))
        .values_list("object_pk", "n")
    )
    scores = {pk: count / math.sqrt(len(baskets) * max(popularity.get(pk, 1), 1)) for pk, count in together.items()}
    pool = {str(p.pk): p for p in adapter.get_searchable_queryset().filter(pk__in=list(scores))}
    name = adapter.get_field(product, "name")
    ranked = sorted((pk for pk in scores if pk in pool), key=lambda pk: (-scores[pk], pk))[:k]
    return [Recommendation(pool[pk], scores[pk], f"Often bought with {name}") for pk in ranked]
