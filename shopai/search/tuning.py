"""Re-fitting the hybrid fusion's keyword weight to this shop's own searches and clicks.

Each recorded search with a click is a judgement: the products clicked in it count as relevant.
For every candidate weight the query is ranked again (the keyword and vector candidates once per
query; only the fusion changes) and each of its searches scored by the reciprocal rank of the best
product clicked in it (MRR@10), so a query counts as often as it was searched with a click. The best
weight is recommended only if its gain over the weight in force is clear: the 95 % bootstrap
interval of the difference, over queries, lies above zero.

Clicks favour what the ranking in force showed first, so this measurement leans towards the weight
in force: a weight that beats it anyway is a real signal; one that ties it is no reason to change.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models.functions import Lower
from django.utils import timezone

from shopai.adapters import get_product_adapter
from shopai.conf import shopai_settings
from shopai.core.vector_spaces import serving_backend
from shopai.models import ListClick
from shopai.search.hybrid import candidates, fuse

WEIGHTS = tuple(round(step / 10, 1) for step in range(11))
DEPTH = 10


@dataclass
class Fit:
    queries: int
    searches: int
    current: float
    best: float
    mrr: dict[float, float] = field(default_factory=dict)
    gain: float = 0.0
    gain_ci: tuple[float, float] = (0.0, 0.0)

    @property
    def recommend(self) -> bool:
        return self.best != self.current and self.gain_ci[0] > 0


def clicked_queries(*, days: int) -> dict[str, list[set[str]]]:
    """{query (lower case): [the products clicked in each of its searches]} for the last ``days``."""
    since = timezone.now() - timedelta(days=days)
    searches: dict[str, dict[object, set[str]]] = defaultdict(lambda: defaultdict(set))
    rows = (
        ListClick.objects.filter(kind="search", impression__created_at__gte=since)
        .exclude(impression__query="")
        .annotate(text=Lower("impression__query"))
        .values_list("text", "impression_id", "product_pk")
    )
    for text, impression, product in rows.iterator():
        searches[text][impression].add(product)
    return {text: list(clicked.values()) for text, clicked in searches.items()}


def _reciprocal_rank(ranked: list[str], relevant: set[str]) -> float:
    for position, pk in enumerate(ranked[:DEPTH], start=1):
        if pk in relevant:
            return 1.0 / position
    return 0.0


def fit_keyword_weight(*, days: int = 90, seed: int = 0, progress=None) -> Fit:
    """Score every weight of ``WEIGHTS`` on the clicked searches of the last ``days``."""
    judged = clicked_queries(days=days)
    current = float(shopai_settings.SEARCH["KEYWORD_WEIGHT"])
    weights = sorted(set(WEIGHTS) | {current})
    backend = serving_backend()
    products = get_product_adapter().get_searchable_queryset()
    depth = max(DEPTH, int(shopai_settings.SEARCH_MAX_K))
    per_query: dict[float, list[float]] = {weight: [] for weight in weights}
    counts: list[int] = []
    for index, (query, clicked) in enumerate(sorted(judged.items())):
        keyword, vector = candidates(query=query, products=products, mode="hybrid", depth=depth, backend=backend)
        for weight in weights:
            fused = fuse(keyword, vector, weight=weight)
            ranked = sorted(fused, key=lambda pk, scores=fused: (-scores[pk], pk))
            # Each search counts with the products clicked in it.
            per_query[weight].append(sum(_reciprocal_rank(ranked, relevant) for relevant in clicked) / len(clicked))
        counts.append(len(clicked))
        if progress is not None:
            progress(index + 1, len(judged))
    total = sum(counts)
    fit = Fit(queries=len(counts), searches=total, current=current, best=current)
    if not counts:
        return fit
    fit.mrr = {
        weight: sum(r * n for r, n in zip(scores, counts, strict=True)) / total for weight, scores in per_query.items()
    }
    fit.best = max(weights, key=lambda weight: (round(fit.mrr[weight], 6), weight == current))
    differences = [b - c for b, c in zip(per_query[fit.best], per_query[current], strict=True)]
    fit.gain = fit.mrr[fit.best] - fit.mrr[current]
    rng = random.Random(seed)
    indexes = range(len(counts))
    boot = []
    for _ in range(1000):
        sample = rng.choices(indexes, weights=counts, k=len(counts))
        boot.append(sum(differences[i] for i in sample) / len(sample))
    boot.sort()
    fit.gain_ci = (boot[24], boot[974])
    return fit
