"""Offline evaluation of product search on graded judgements (query,sku,rating): nDCG@k per mode.

Each mode is asked through the search API's own view (``GET /api/shopai/search``: parameters,
validation, filters and serialisation as a shopper gets them; throttling off), beside an in-memory
BM25 over the same product texts (rank-bm25) as the reference keyword search must stand beside.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from rest_framework.test import APIRequestFactory

from shopai.adapters import get_product_adapter
from shopai.backends import get_embedding_backend
from shopai.conf import shopai_settings
from shopai.core.language import chinese_keywords, detect_language
from shopai.search.api import ProductSearchView

REFERENCE = "bm25"
MODES = ("keyword", "vector", "hybrid")  # the search modes, in the order reports show them


class JudgementFileError(ValueError):
    """The judgement file cannot be used as a whole."""


@dataclass
class Judgements:
    by_query: dict[str, dict[str, int]] = field(default_factory=dict)  # query -> {pk: rating}
    unknown_skus: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[int, str]] = field(default_factory=list)
    without_relevant: list[str] = field(default_factory=list)  # judged queries with no product rated 1+


def read_judgements(path: Path, *, split: str | None = None) -> Judgements:
    """Judgements of ``path`` (columns query,sku,rating; optional split), only ``split``'s rows if given."""
    result = Judgements()
    rows: list[tuple[int, str, str, int]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = set(reader.fieldnames or [])
        if {"query", "sku", "rating"} - columns:
            raise JudgementFileError(f"{path.name} needs the columns query,sku,rating (rating 0-3, higher is better).")
        if split and "split" not in columns:
            raise JudgementFileError(f"{path.name} has no split column, so --split {split} cannot be applied.")
        for row in reader:
            if split and (row["split"] or "").strip() != split:
                continue
            query, sku = (row["query"] or "").strip(), (row["sku"] or "").strip()
            try:
                rating = int((row["rating"] or "").strip())
            except ValueError:
                result.rejected.append((reader.line_num, f"rating {row['rating']!r} is not a whole number"))
                continue
            if not query or not sku:
                result.rejected.append((reader.line_num, "query or sku is empty"))
                continue
            rows.append((reader.line_num, query, sku, rating))
    sku_path = shopai_settings.PRODUCT_FIELDS["sku"].replace(".", "__")
    known = {
        str(sku): str(pk)
        for pk, sku in get_product_adapter()
        .model._default_manager.filter(**{f"{sku_path}__in": {sku for _, _, sku, _ in rows}})
        .values_list("pk", sku_path)
    }
    for _, query, sku, rating in rows:
        if sku not in known:
            result.unknown_skus[sku] = result.unknown_skus.get(sku, 0) + 1
            continue
        result.by_query.setdefault(query, {})[known[sku]] = rating
    result.without_relevant = [query for query, ratings in result.by_query.items() if max(ratings.values()) < 1]
    for query in result.without_relevant:
        del result.by_query[query]
    return result


def ndcg(ranked: list[str], ratings: dict[str, int], *, k: int) -> float:
    """Graded nDCG: gain 2^rating - 1, discounted by log2(rank + 1); 1.0 is the ideal order."""
    dcg = sum((2 ** ratings.get(pk, 0) - 1) / math.log2(rank + 2) for rank, pk in enumerate(ranked[:k]))
    ideal = sorted(ratings.values(), reverse=True)[:k]
    best = sum((2**rating - 1) / math.log2(rank + 2) for rank, rating in enumerate(ideal))
    return dcg / best if best else 0.0


_WORD = re.compile(r"[a-z0-9]+")


def reference_tokens(text: str) -> list[str]:
    """The reference BM25's words: lower-case letters and digits, and Chinese cut into words as keyword
    search cuts it (SEARCH["CHINESE_SEGMENTER"])."""
    lowered = text.lower()
    return _WORD.findall(lowered) + chinese_keywords(lowered)


class ReferenceBM25:
    """Okapi BM25 (rank-bm25 defaults, k1 1.5, b 0.75) over the searchable products' texts, in memory."""

    def __init__(self) -> None:
        try:
            from rank_bm25 import BM25Okapi
        except ImportError as exc:  # an evaluation-only dependency
            raise JudgementFileError("The BM25 reference needs rank-bm25: pip install rank-bm25") from exc
        adapter = get_product_adapter()
        products = list(adapter.get_searchable_queryset())
        self.pks = [str(product.pk) for product in products]
        words = [reference_tokens(adapter.get_text(product)) for product in products]
        self.index = BM25Okapi(words or [[""]])
        self.vocabularies = [set(product_words) for product_words in words]

    def search(self, query: str, *, k: int) -> list[str]:
        """The ``k`` best products sharing a word with ``query`` (in a tiny catalogue a word's BM25 weight
        can be 0, so sharing a word, not a positive score, decides what is found)."""
        words = reference_tokens(query)
        scores = self.index.get_scores(words)
        found = [i for i, vocabulary in enumerate(self.vocabularies) if vocabulary.intersection(words)]
        return [self.pks[i] for i in sorted(found, key=lambda i: (-scores[i], self.pks[i]))[:k]]


def api_search(query: str, *, k: int, mode: str) -> list[str]:
    """Product ids that ``GET /api/shopai/search?q=…&k=…&mode=…`` returns, in order."""
    view = ProductSearchView.as_view(throttle_classes=[])
    response = view(APIRequestFactory().get("/api/shopai/search", {"q": query, "k": k, "mode": mode}))
    if response.status_code != 200:
        raise JudgementFileError(f"The search API answered {response.status_code} to {query!r}: {response.data}")
    return [str(result["id"]) for result in response.data["results"]]


def evaluate(judgements: Judgements, *, k: int = 10, progress=None, reference: bool = True) -> dict:
    """nDCG@k and recall@k (of items rated 2 or more) per mode and for the BM25 reference, overall
    and per query language. Queries whose judged products are all rated 0 are left out."""
    if not judgements.by_query:
        raise JudgementFileError("No judged product is in the catalogue (import the catalogue first).")
    systems = [*MODES, REFERENCE] if reference else list(MODES)
    bm25 = ReferenceBM25() if reference else None
    per_query: dict[str, dict[str, float]] = defaultdict(dict)
    recall: dict[str, dict[str, float]] = defaultdict(dict)
    for query, ratings in judgements.by_query.items():
        relevant = {pk for pk, rating in ratings.items() if rating >= 2}
        for system in systems:
            ranked = bm25.search(query, k=k) if system == REFERENCE else api_search(query, k=k, mode=system)
            per_query[system][query] = ndcg(ranked, ratings, k=k)
            if relevant:
                recall[system][query] = len(relevant & set(ranked)) / len(relevant)
        if progress:
            progress(1)
    languages = {query: detect_language(query) for query in judgements.by_query}
    summary = {}
    for system in systems:
        row = {f"nDCG@{k}": _mean(per_query[system].values()), f"R@{k}": _mean(recall[system].values())}
        for language in ("en", "zh"):
            values = [v for q, v in per_query[system].items() if languages[q] == language]
            row[f"nDCG@{k} {language}"] = _mean(values)
        summary[system] = row
    return {
        "k": k,
        "queries": len(judgements.by_query),
        "queries_by_language": {lang: list(languages.values()).count(lang) for lang in ("en", "zh")},
        "queries_without_relevant": len(judgements.without_relevant),
        "model": get_embedding_backend().name,
        "search": dict(shopai_settings.SEARCH),
        "results": summary,
        "per_query": {system: dict(values) for system, values in per_query.items()},
        "unknown_skus": judgements.unknown_skus,
    }


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
