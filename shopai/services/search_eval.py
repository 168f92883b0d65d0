"""Offline evaluation of product search: graded judgements (query,sku,rating) -> nDCG@k per mode."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from shopai.backends import get_embedding_backend
from shopai.conf import get_product_adapter, shopai_settings
from shopai.language import detect_language
from shopai.services.search import search_products

MODES = ("keyword", "vector", "hybrid")


class JudgementFileError(ValueError):
    """The judgement file cannot be used as a whole."""


@dataclass
class Judgements:
    by_query: dict[str, dict[str, int]] = field(default_factory=dict)  # query -> {pk: rating}
    unknown_skus: dict[str, int] = field(default_factory=dict)
    rejected: list[tuple[int, str]] = field(default_factory=list)


def read_judgements(path: Path) -> Judgements:
    result = Judgements()
    rows: list[tuple[int, str, str, int]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if {"query", "sku", "rating"} - set(reader.fieldnames or []):
            raise JudgementFileError(f"{path.name} needs the columns query,sku,rating (rating 0-3, higher is better).")
        for row in reader:
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
    return result


def ndcg(ranked: list[str], ratings: dict[str, int], *, k: int) -> float:
    """Graded nDCG: gain 2^rating - 1, discounted by log2(rank + 1); 1.0 is the ideal order."""
    dcg = sum((2 ** ratings.get(pk, 0) - 1) / math.log2(rank + 2) for rank, pk in enumerate(ranked[:k]))
    ideal = sorted(ratings.values(), reverse=True)[:k]
    best = sum((2**rating - 1) / math.log2(rank + 2) for rank, rating in enumerate(ideal))
    return dcg / best if best else 0.0


def evaluate(judgements: Judgements, *, k: int = 10, progress=None) -> dict:
    """nDCG@k and recall@k (of items rated 2 or more) per mode, overall and per query language."""
    if not judgements.by_query:
        raise JudgementFileError("No judged product is in the catalogue (import the catalogue first).")
    per_query: dict[str, dict[str, float]] = defaultdict(dict)
    recall: dict[str, dict[str, float]] = defaultdict(dict)
    for query, ratings in judgements.by_query.items():
        relevant = {pk for pk, rating in ratings.items() if rating >= 2}
        for mode in MODES:
            ranked = [str(hit.product.pk) for hit in search_products(query=query, k=k, mode=mode)]
            per_query[mode][query] = ndcg(ranked, ratings, k=k)
            if relevant:
                recall[mode][query] = len(relevant & set(ranked)) / len(relevant)
        if progress:
            progress(1)
    languages = {query: detect_language(query) for query in judgements.by_query}
    summary = {}
    for mode in MODES:
        row = {f"nDCG@{k}": _mean(per_query[mode].values()), f"R@{k}": _mean(recall[mode].values())}
        for language in ("en", "zh"):
            values = [v for q, v in per_query[mode].items() if languages[q] == language]
            row[f"nDCG@{k} {language}"] = _mean(values)
        summary[mode] = row
    return {
        "k": k,
        "queries": len(judgements.by_query),
        "queries_by_language": {lang: list(languages.values()).count(lang) for lang in ("en", "zh")},
        "model": get_embedding_backend().name,
        "results": summary,
        "per_query": {mode: dict(values) for mode, values in per_query.items()},
        "unknown_skus": judgements.unknown_skus,
    }


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
