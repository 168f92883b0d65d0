"""Read-only queries: nearest neighbours in pgvector, with the shop's filters applied in SQL."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection, transaction
from django.db.models import CharField, F, QuerySet
from django.db.models.functions import Cast
from pgvector.django import CosineDistance

from shopai.conf import shopai_settings
from shopai.models import ProductEmbedding


def nearest_products(
    *,
    vector: Sequence[float],
    products: QuerySet,
    model_name: str,
    k: int,
    ef_search: int = 64,
) -> list[tuple[str, float]]:
    """The ``k`` products of ``products`` closest to ``vector``: ``[(pk, cosine distance)]``.

    The HNSW index is scanned iteratively (pgvector ≥ 0.8), so a filter that keeps
    only a few products still yields ``k`` results instead of fewer.
    """
    content_type = ContentType.objects.get_for_model(products.model, for_concrete_model=False)
    allowed = products.order_by().annotate(_pk_text=Cast("pk", output_field=CharField())).values("_pk_text")
    queryset = (
        ProductEmbedding.objects.filter(content_type=content_type, model_name=model_name, object_pk__in=allowed)
        .annotate(distance=CosineDistance("embedding", list(map(float, vector))))
        .order_by("distance")
        .values_list("object_pk", "distance")[:k]
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            # SET LOCAL: scoped to this transaction, so pooled connections are not affected.
            cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(int(ef_search), k)])
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        rows = list(queryset)
        if len(rows) < k:
            # The index scan gave up early (a very selective filter): rank the allowed rows
            # exactly. "+ 0" hides the ordering from the HNSW index, so the planner scans them.
            rows = list(
                ProductEmbedding.objects.filter(content_type=content_type, model_name=model_name, object_pk__in=allowed)
                .annotate(distance=CosineDistance("embedding", list(map(float, vector))) + 0.0)
                .order_by("distance")
                .values_list("object_pk", "distance")[:k]
            )
    # relaxed_order may return neighbours slightly out of order; restore it.
    return sorted(((pk, float(distance)) for pk, distance in rows), key=lambda row: row[1])


def keyword_products(*, terms: set[str], products: QuerySet, model_name: str, k: int) -> list[tuple[str, float]]:
    """Products whose text contains any of ``terms``, ranked by Postgres full-text rank: [(pk, rank)]."""
    if not terms:
        return []
    content_type = ContentType.objects.get_for_model(products.model, for_concrete_model=False)
    allowed = products.order_by().annotate(_pk_text=Cast("pk", output_field=CharField())).values("_pk_text")
    # Terms are letters, digits or CJK pairs (language.keyword_terms), so the raw query is safe.
    query = SearchQuery(" | ".join(sorted(terms)), search_type="raw", config="simple")
    rows = (
        ProductEmbedding.objects.filter(
            content_type=content_type, model_name=model_name, object_pk__in=allowed, keywords=query
        )
        .annotate(rank=SearchRank(F("keywords"), query, cover_density=True))
        .order_by("-rank", "object_pk")
        .values_list("object_pk", "rank")[:k]
    )
    return [(pk, float(rank)) for pk, rank in rows]


def filter_products(queryset, *, in_stock: bool = False, category=None, min_price=None, max_price=None):
    """The shop's business filters, on the fields named in SHOPAI["PRODUCT_FIELDS"]."""
    fields = {name: path.replace(".", "__") for name, path in shopai_settings.PRODUCT_FIELDS.items() if path}
    if in_stock and "stock" in fields:
        queryset = queryset.filter(**{f"{fields['stock']}__gt": 0})
    if category is not None and "category" in fields:
        queryset = queryset.filter(**{fields["category"]: category})
    if min_price is not None and "price" in fields:
        queryset = queryset.filter(**{f"{fields['price']}__gte": min_price})
    if max_price is not None and "price" in fields:
        queryset = queryset.filter(**{f"{fields['price']}__lte": max_price})
    return queryset
