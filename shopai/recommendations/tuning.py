"""Fit the recommendation settings to a shop's own history by a time-split evaluation.

Every shopper's signals (own purchases, trending, interests, co-purchases) are read from the
database once per held-out case; each candidate setting then only re-weighs them in Python
(``recommend.rank``, the same function the API ranks with). Settings are chosen on the
development splits, where no shopper's last basket is a target, by coordinate search from the
settings in force; the winner is shown on every split beside them, with bootstrap intervals.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from shopai.recommendations.evaluation import (
    DEV_SPLITS,
    OWN_COUNT,
    OWN_RECENCY,
    POPULARITY,
    Case,
    Moment,
    Replay,
    metrics,
    own_by_count,
    own_by_recency,
    summarise,
)
from shopai.recommendations.recommenders import CANDIDATES, trending_scores
from shopai.recommendations.selectors import popularity
from shopai.recommendations.tuned_settings import COMPONENTS

WEIGHT_STEPS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
REPURCHASE_HALF_LIVES = (None, 30, 90, 180, 365)
TRENDING_HALF_LIVES = (7, 30, 90)


def blends(components=COMPONENTS) -> list[dict[str, float]]:
    """Blend weights summing to 1 in steps of 0.2 over ``components``."""
    return [
        dict(zip(components, weights, strict=True))
        for weights in itertools.product(WEIGHT_STEPS, repeat=len(components))
        if abs(sum(weights) - 1.0) < 1e-9
    ]


def switches() -> list[dict[str, Any]]:
    """Own purchases first or not, and the half-lives of own purchases and of trending."""
    return [
        {"BUY_AGAIN_FIRST": first, "REPURCHASE_HALF_LIFE_DAYS": own, "TRENDING_HALF_LIFE_DAYS": trending}
        for first in (False, True)
        for own in REPURCHASE_HALF_LIVES
        for trending in TRENDING_HALF_LIVES
    ]


@dataclasses.dataclass
class Prepared:
    """A case's signals, with trending read once per half-life tried."""

    moment: Moment
    trending: dict[Any, dict[str, float]]
    popular: list[str]


def prepare(
    replay: Replay, cases: dict[str, list[Case]], *, config: dict, progress: Callable | None = None
) -> dict[str, list[Prepared]]:
    prepared: dict[str, list[Prepared]] = {}
    for split, split_cases in cases.items():
        prepared[split] = []
        for case in split_cases:
            moment = replay.moment(case, config=config)
            excluded = moment.signals.excluded
            pool = replay.products.exclude(pk__in=list(excluded)) if excluded else replay.products
            half_lives = {*TRENDING_HALF_LIVES, config["TRENDING_HALF_LIFE_DAYS"]}
            trending = {
                half_life: trending_scores(
                    products=pool,
                    k=CANDIDATES,
                    now=case.cutoff,
                    config={**config, "TRENDING_HALF_LIFE_DAYS": half_life},
                )
                for half_life in half_lives
            }
            popular = list(popularity(products=replay.products, k=replay.k, now=case.cutoff))
            prepared[split].append(Prepared(moment, trending, popular))
            if progress:
                progress(1)
    return prepared


def score(replay: Replay, prepared: list[Prepared], config: dict) -> list[float]:
    """NDCG@k per case of one setting."""
    k = replay.k
    result = []
    for item in prepared:
        trending = item.trending.get(config["TRENDING_HALF_LIFE_DAYS"])
        signals = item.moment.signals
        if trending is not None:
            signals = dataclasses.replace(signals, trending=trending)
        ranked = replay.ranked(config, dataclasses.replace(item.moment, signals=signals))
        result.append(metrics(ranked, item.moment.case.target, k=k)[f"NDCG@{k}"])
    return result


def baseline_scores(replay: Replay, prepared: list[Prepared]) -> dict[str, list[float]]:
    k = replay.k
    key = f"NDCG@{k}"
    ranked = {
        POPULARITY: lambda item: item.popular,
        OWN_COUNT: lambda item: own_by_count(item.moment.signals)[:k],
        OWN_RECENCY: lambda item: own_by_recency(item.moment.signals)[:k],
    }
    return {
        name: [metrics(pick(item), item.moment.case.target, k=k)[key] for item in prepared]
        for name, pick in ranked.items()
    }


def objective(per_split: dict[str, list[float]], floor: dict[str, float]) -> tuple[bool, float]:
    """(at or above the best baseline on every development split, mean of the splits' means).

    Each split counts once, however many cases it has; a setting that loses to a baseline on
    any split ranks after every one that does not.
    """
    means = {split: float(np.mean(values)) for split, values in per_split.items() if values}
    holds = all(mean >= floor.get(split, 0.0) - 1e-12 for split, mean in means.items())
    return holds, float(np.mean(list(means.values()))) if means else 0.0


def tune(
    replay: Replay,
    prepared: dict[str, list[Prepared]],
    *,
    base: dict,
    progress: Callable | None = None,
    components=COMPONENTS,
    rounds: int = 3,
) -> tuple[dict, list[tuple[tuple[bool, float], dict]]]:
    """Coordinate search on the development splits, from the settings in force: the best
    switches (first / half-lives) for the current blend, then the best blend for those
    switches, until neither moves. Returns the winner and every setting tried, best first."""
    dev = {split: items for split, items in prepared.items() if split in DEV_SPLITS and items}
    floor = {
        split: max(float(np.mean(v)) for v in baseline_scores(replay, items).values()) for split, items in dev.items()
    }
    seen: dict[str, tuple[tuple[bool, float], dict]] = {}

    def measure(candidate: dict) -> tuple[bool, float]:
        key = repr(sorted((name, repr(value)) for name, value in candidate.items()))
        if key not in seen:
            config = {**base, **candidate}
            per_split = {split: score(replay, items, config) for split, items in dev.items()}
            seen[key] = (objective(per_split, floor), candidate)
            if progress:
                progress(1)
        return seen[key][0]

    current = {
        key: base[key] for key in ("BLEND", "BUY_AGAIN_FIRST", "REPURCHASE_HALF_LIFE_DAYS", "TRENDING_HALF_LIFE_DAYS")
    }
    current["BLEND"] = {name: float(current["BLEND"].get(name, 0.0)) for name in components}
    best = measure(current)
    for _ in range(rounds):
        moved = False
        for options in (switches(), [{"BLEND": blend} for blend in blends(components)]):
            for option in options:
                candidate = {**current, **option}
                result = measure(candidate)
                if result > best:
                    best, current, moved = result, candidate, True
        if not moved:
            break
    tried = sorted(seen.values(), key=lambda item: (not item[0][0], -item[0][1]))
    return current, tried


def search_size(components=COMPONENTS, rounds: int = 3) -> int:
    """At most this many settings are measured (for a progress bar)."""
    return 1 + rounds * (len(switches()) + len(blends(components)))


def compare(replay: Replay, prepared: dict[str, list[Prepared]], settings: dict[str, dict]) -> dict:
    """Per split: baselines and each named setting, NDCG@k with its interval, and each setting's
    paired difference to the best baseline of that split (``evaluation.summarise``)."""
    key = f"NDCG@{replay.k}"
    report = {}
    for split, items in prepared.items():
        if not items:
            continue
        per_case = baseline_scores(replay, items)
        for name, config in settings.items():
            per_case[name] = score(replay, items, config)
        cases = {name: [{key: value} for value in values] for name, values in per_case.items()}
        report[split] = {"cases": len(items), "dev": split in DEV_SPLITS, **summarise(cases, k=replay.k)}
    return report
