"""Product search: meaning (pgvector), keywords (BM25 over Postgres full text), or both fused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shopai.adapters import filter_products, get_product_adapter
from shopai.conf import shopai_settings
from shopai.core.language import detect_language, keyword_text
from shopai.core.vector_spaces import serving_backend
from shopai.search.selectors import keyword_products, nearest_products

MODES = ("hybrid", "vector", "keyword")
FUSIONS = ("convex", "rrf")
# Words of a shopper's request that say nothing about the product ("I'm looking for something
# to..."); the text search configuration drops ordinary stop words ("the", "for") itself.
STOPWORDS = frozenset(
    "you your want need needs looking look find buy something anything thing things good best great nice really "
    "very have has get got use using please show".split()
)
_WORD = re.compile(r"\w+")
# One token with a digit, as SKUs are written ("MH01", "24-MB04", "BEA-ESS-ESS-001").
_SKU_LIKE = re.compile(r"^(?=.*\d)[A-Za-z0-9_./-]{2,64}$")


@dataclass(frozen=True)
class SearchHit:
    product: Any
    score: float  # vector: cosine similarity; keyword: BM25; hybrid: fused score (see SEARCH["FUSION"])
    # Which ranking found it within the candidate depth: "keyword", "vector" or "both".
    via: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**get_product_adapter().to_result(self.product), "score": round(self.score, 4)}


def search_products(*, query: str, k: int = 10, mode: str = "hybrid", offset: int = 0, **filters) -> list[SearchHit]:
    """Products for ``query``, best first. Only the query is embedded; filters are applied in SQL.

    A query that is exactly a product's SKU puts that product first (keyword and hybrid modes).
    Hybrid search of a query in a language the embedding model does not read (its CONFIG
    "languages") is keyword search.
    """
    adapter = get_product_adapter()
    backend = serving_backend()
    products = filter_products(adapter.get_searchable_queryset(), **filters)
    # The same candidate depth for every page of a query, so pages never overlap or skip.
    depth = max(k + offset, int(shopai_settings.SEARCH_MAX_K))
    keyword, vector = candidates(query=query, products=products, mode=mode, depth=depth, backend=backend)
    ranked = vector if mode == "vector" else keyword if mode == "keyword" else fuse(keyword, vector)
    order = sorted(ranked.items(), key=lambda item: (-item[1], item[0]))
    if mode != "vector":
        order = _sku_first(query, products, order)
    order = order[offset : offset + k]
    by_pk = {str(product.pk): product for product in products.filter(pk__in=[pk for pk, _ in order])}
    return [
        SearchHit(product=by_pk[pk], score=score, via=_found_by(pk, keyword, vector))
        for pk, score in order
        if pk in by_pk
    ]


def _found_by(pk: str, keyword: dict[str, float], vector: dict[str, float]) -> str:
    if pk in keyword and pk in vector:
        return "both"
    return "vector" if pk in vector else "keyword"  # a SKU match is a keyword match


def candidates(*, query: str, products, mode: str, depth: int, backend) -> tuple[dict[str, float], dict[str, float]]:
    """({pk: BM25}, {pk: cosine similarity}) of the ``depth`` best products by keywords and by meaning
    (either empty when ``mode`` leaves it out, or the model does not read the query's language)."""
    vector: dict[str, float] = {}
    keyword: dict[str, float] = {}
    reads_query = backend.languages is None or detect_language(query) in backend.languages
    if mode == "vector" or (mode == "hybrid" and reads_query):
        rows = nearest_products(
            vector=backend.embed_query(query),
            products=products,
            model_name=backend.name,
            k=depth,
            ef_search=int(shopai_settings.HNSW_EF_SEARCH),
        )
        vector = {pk: 1.0 - distance for pk, distance in rows}
    if mode in ("hybrid", "keyword"):
        rows = keyword_products(text=_keyword_query(query), products=products, model_name=backend.name, k=depth)
        keyword = dict(rows)
    return keyword, vector


def fuse(keyword: dict[str, float], vector: dict[str, float], *, weight: float | None = None) -> dict[str, float]:
    """One ranking from the keyword and vector rankings ({pk: score}, any scale), per SEARCH["FUSION"].

    "convex": each list's scores scaled to 0..1 by its own best and worst, then
    KEYWORD_WEIGHT · keyword + (1 − KEYWORD_WEIGHT) · vector (a product missing from a list gets 0
    there). "rrf": weighted reciprocal rank fusion, KEYWORD_WEIGHT / (RRF_K + rank) + ....
    An empty list leaves the other's order as it is. ``weight`` replaces KEYWORD_WEIGHT (tuning).
    """
    config = shopai_settings.SEARCH
    weight = float(config["KEYWORD_WEIGHT"]) if weight is None else weight
    if config["FUSION"] == "rrf":
        scale = float(config["RRF_K"])
        parts = [
            {pk: share / (scale + rank) for rank, pk in enumerate(_ordered(scores), start=1)}
            for scores, share in ((keyword, weight), (vector, 1.0 - weight))
        ]
    else:
        parts = [_scaled(keyword, weight), _scaled(vector, 1.0 - weight)]
    fused: dict[str, float] = {}
    for part in parts:
        for pk, score in part.items():
            fused[pk] = fused.get(pk, 0.0) + score
    return fused


def _ordered(scores: dict[str, float]) -> list[str]:
    return sorted(scores, key=lambda pk: (-scores[pk], pk))


def _scaled(scores: dict[str, float], share: float) -> dict[str, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    spread = high - low
    # A list of one, or of equal scores, counts fully: there is nothing to tell its items apart.
    return {pk: share * ((score - low) / spread if spread > 0 else 1.0) for pk, score in scores.items()}


def _keyword_query(query: str) -> str:
    """The query's words for the keyword index: request words dropped, Chinese cut as the index cuts it."""
    words = [word for word in _WORD.findall(keyword_text(query)) if word.lower() not in STOPWORDS]
    return " ".join(words)


def _sku_first(query: str, products, order: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """``order`` with the product whose SKU is exactly ``query`` (any case) moved to the top."""
    text = query.strip()
    sku_path = shopai_settings.PRODUCT_FIELDS.get("sku")
    if not sku_path or not _SKU_LIKE.match(text):
        return order
    match = products.filter(**{f"{sku_path.replace('.', '__')}__iexact": text}).values_list("pk", flat=True)[:2]
    if len(match) != 1:
        return order
    pk = str(match[0])
    top = max((score for _, score in order), default=1.0)
    return [(pk, top), *[(other, score) for other, score in order if other != pk]]
