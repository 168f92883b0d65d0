"""Read-only queries: nearest neighbours in pgvector, with the shop's filters applied in SQL."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import CharField, QuerySet
from django.db.models.functions import Cast
from pgvector.django import CosineDistance

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
    # relaxed_order may return neighbours slightly out of order; restore it.
    return sorted(((pk, float(distance)) for pk, distance in rows), key=lambda row: row[1])
