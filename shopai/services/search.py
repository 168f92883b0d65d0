"""Product search: meaning (pgvector), keywords (Postgres full text), or both fused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shopai.backends import get_embedding_backend
from shopai.conf import get_product_adapter, shopai_settings
from shopai.language import keyword_terms
from shopai.selectors import filter_products, keyword_products, nearest_products

MODES = ("hybrid", "vector", "keyword")
RRF_K = 60  # reciprocal rank fusion constant (the usual 60: ranks matter, raw scores don't)
# Words that say nothing about the product; full-text rank has no IDF to discount them.
STOPWORDS = frozenset(
    "the and for you your with that this are was can any some something anything thing things what which "
    "who how want need looking look find buy good best great nice really very have has get got from into "
    "not but all one about at home use using".split()
)


@dataclass(frozen=True)
class SearchHit:
    product: Any
    score: float  # vector: cosine similarity; keyword: full-text rank; hybrid: fused rank score

    def to_dict(self) -> dict[str, Any]:
        return {**get_product_adapter().to_result(self.product), "score": round(self.score, 4)}


def search_products(*, query: str, k: int = 10, mode: str = "hybrid", offset: int = 0, **filters) -> list[SearchHit]:
    """Products for ``query``, best first. Only the query is embedded; filters are applied in SQL."""
    adapter = get_product_adapter()
    backend = get_embedding_backend()
    products = filter_products(adapter.get_searchable_queryset(), **filters)
    # The same candidate depth for every page of a query, so pages never overlap or skip.
    depth = max(k + offset, int(shopai_settings.SEARCH_MAX_K))
    ranked: dict[str, float] = {}
    if mode in ("hybrid", "vector"):
        rows = nearest_products(
            vector=backend.embed_query(query),
            products=products,
            model_name=backend.name,
            k=depth,
            ef_search=int(shopai_settings.HNSW_EF_SEARCH),
        )
        if mode == "vector":
            ranked = {pk: 1.0 - distance for pk, distance in rows}
        else:
            for rank, (pk, _) in enumerate(rows, start=1):
                ranked[pk] = ranked.get(pk, 0.0) + 1.0 / (RRF_K + rank)
    if mode in ("hybrid", "keyword"):
        rows = keyword_products(
            terms=keyword_terms(query) - STOPWORDS,
            products=products,
            model_name=backend.name,
            k=depth,
        )
        for rank, (pk, score) in enumerate(rows, start=1):
            ranked[pk] = score if mode == "keyword" else ranked.get(pk, 0.0) + 1.0 / (RRF_K + rank)
    order = sorted(ranked.items(), key=lambda item: (-item[1], item[0]))[offset : offset + k]
    by_pk = {str(product.pk): product for product in products.filter(pk__in=[pk for pk, _ in order])}
    return [SearchHit(product=by_pk[pk], score=score) for pk, score in order if pk in by_pk]
