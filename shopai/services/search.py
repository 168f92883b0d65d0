"""Semantic product search: embed the query, ask pgvector, return what the shopper sees."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopai.backends import get_embedding_backend
from shopai.conf import get_product_adapter, shopai_settings
from shopai.selectors import nearest_products


@dataclass(frozen=True)
class SearchHit:
    product: Any
    score: float  # cosine similarity in [-1, 1]; higher is closer

    def to_dict(self) -> dict[str, Any]:
        return {**get_product_adapter().to_result(self.product), "score": round(self.score, 4)}


def search_products(*, query: str, k: int = 10) -> list[SearchHit]:
    """Products whose meaning is closest to ``query``, best first. Only the query is embedded."""
    adapter = get_product_adapter()
    backend = get_embedding_backend()
    vector = backend.embed_query(query)
    products = adapter.get_searchable_queryset()
    rows = nearest_products(
        vector=vector,
        products=products,
        model_name=backend.name,
        k=k,
        ef_search=int(shopai_settings.HNSW_EF_SEARCH),
    )
    by_pk = {str(product.pk): product for product in products.filter(pk__in=[pk for pk, _ in rows])}
    return [SearchHit(product=by_pk[pk], score=1.0 - distance) for pk, distance in rows if pk in by_pk]
