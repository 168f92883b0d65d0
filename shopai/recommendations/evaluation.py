"""Offline evaluation of the recommenders: replay history, hold baskets out, report intervals.

A basket is one invoice (invoice-line files), one shopper's purchases with the same timestamp
(user,sku,type,timestamp files) or on the same day (the shop's own events). Each case is a
shopper, a moment and the products they bought next; every recommender is asked, as of that
moment, for k products, seeing only earlier events (the shopper's own and everybody else's).

Splits (``SPLITS``): each shopper's last basket; the one before it; the one before that; a
rolling 30-day window (every shopper's purchases in the 30 days after each month's cutoff,
never their last basket); and the last basket of each half of the shoppers. Choices are made on
the ``DEV_SPLITS`` (which never hold a last basket) and confirmed on the others. Each mean
comes with a bootstrap 95 % interval over the cases, since a shop has few held-out baskets.

Events read from a file are written in a transaction that is rolled back; the shop's own
history is read where it is. Either way nothing is saved.
"""

from __future__ import annotations

import csv
import math
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.functions import TruncDate
from rest_framework.test import APIRequestFactory, force_authenticate

from shopai.adapters import get_product_adapter
from shopai.conf import DEFAULTS, shopai_settings
from shopai.models import Event
from shopai.recommendations.api import RecommendationsView
from shopai.recommendations.event_import import KINDS, EventFileError, parse_timestamp
from shopai.recommendations.profiles import recent_events
from shopai.recommendations.recommenders import Signals, as_of, purchase_weights, rank, shopper_signals
from shopai.recommendations.selectors import popularity
from shopai.recommendations.tuned_settings import (
    COMPONENTS,
    TUNABLE,
    active_override,
    recommendation_settings,
    settings_file_only,
)

INVOICE_COLUMNS = {"InvoiceNo", "StockCode", "InvoiceDate", "CustomerID", "Quantity"}
EVENT_COLUMNS = {"user", "sku", "type", "timestamp"}
EVAL_USER_PREFIX = "shopai-eval:"


@dataclass
class EventRow:
    user: str
    pk: str
    kind: str
    at: datetime
    basket: str


@dataclass
class EventFile:
    rows: list[EventRow] = field(default_factory=list)
    unknown_skus: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # reason -> lines


@dataclass
class Case:
    user: str
    cutoff: datetime
    target: set[str]


LAST, SECOND, THIRD, ROLLING, HALF_A, HALF_B = (
    "last basket",
    "second-to-last basket",
    "third-to-last basket",
    "rolling 30 days",
    "shoppers A: last basket",
    "shoppers B: last basket",
)
SPLITS = (LAST, SECOND, THIRD, ROLLING, HALF_A, HALF_B)
# Where choices are made: no shopper's last basket is ever a target here.
DEV_SPLITS = (SECOND, THIRD, ROLLING)
ROLLING_DAYS = 30
# The rolling window starts once this much history exists, so that popularity means something.
ROLLING_WARMUP_DAYS = 60


def read_events(path: Path) -> EventFile:
    """Events of a user,sku,type,timestamp file or an invoice-line export (UCI Online Retail)."""
    result = EventFile()
    adapter = get_product_adapter()
    sku_path = shopai_settings.PRODUCT_FIELDS["sku"].replace(".", "__")
    raw: list[tuple[str, str, str, datetime, str]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = {name.strip() for name in reader.fieldnames or []}
        invoices = INVOICE_COLUMNS <= header
        if not invoices and not EVENT_COLUMNS <= header:
            raise EventFileError(
                f"{path.name} needs the columns user,sku,type,timestamp, or an invoice-line export with "
                f"{','.join(sorted(INVOICE_COLUMNS))}."
            )
        for row in reader:
            row = {(key or "").strip(): (value or "").strip() for key, value in row.items() if key}
            try:
                if invoices:
                    parsed = _invoice_line(row)
                else:
                    if row["type"].lower() not in KINDS:
                        raise ValueError(f"type {row['type']!r} is unknown")
                    parsed = (row["user"], row["sku"], row["type"].lower(), parse_timestamp(row["timestamp"]), "")
            except ValueError as exc:
                result.skipped[str(exc)] += 1
                continue
            if parsed is not None:
                raw.append(parsed)
    skus = {sku for _, sku, _, _, _ in raw}
    known = {
        str(sku): str(pk)
        for pk, sku in adapter.model._default_manager.filter(**{f"{sku_path}__in": skus}).values_list("pk", sku_path)
    }
    for user, sku, kind, at, basket in raw:
        if sku not in known:
            result.unknown_skus[sku] += 1
            continue
        result.rows.append(EventRow(user, known[sku], kind, at, basket or f"{user}@{at.isoformat()}"))
    return result


def _invoice_line(row: dict[str, str]) -> tuple[str, str, str, datetime, str] | None:
    if not row["CustomerID"]:
        raise ValueError("no customer id")
    if row["InvoiceNo"].upper().startswith("C"):
        raise ValueError("cancellation")
    try:
        quantity = float(row["Quantity"] or 0)
    except ValueError:
        raise ValueError("quantity is not a number") from None
    if quantity <= 0:
        raise ValueError("quantity not above zero")
    customer = row["CustomerID"].removesuffix(".0")
    return customer, row["StockCode"], Event.Kind.PURCHASE, parse_timestamp(row["InvoiceDate"]), row["InvoiceNo"]


def shop_history() -> EventFile:
    """The shop's own recorded events as rows; a basket is one shopper's purchases of one day."""
    result = EventFile()
    rows = (
        Event.objects.filter(user__isnull=False)
        .exclude(object_pk="")
        .annotate(day=TruncDate("created_at"))
        .values_list("user_id", "object_pk", "kind", "created_at", "day")
        .order_by("created_at", "pk")
    )
    for user_id, pk, kind, at, day in rows.iterator(chunk_size=5000):
        result.rows.append(EventRow(str(user_id), pk, kind, at, f"{user_id}@{day.isoformat()}"))
    return result


def _baskets(rows: list[EventRow]) -> dict[str, list[tuple[datetime, set[str]]]]:
    """Each shopper's baskets, oldest first: (the basket's first moment, its products)."""
    by_key: dict[str, dict[str, tuple[datetime, set[str]]]] = defaultdict(dict)
    for row in rows:
        if row.kind != Event.Kind.PURCHASE:
            continue
        at, items = by_key[row.user].get(row.basket, (row.at, set()))
        items.add(row.pk)
        by_key[row.user][row.basket] = (min(at, row.at), items)
    return {user: sorted(baskets.values(), key=lambda basket: basket[0]) for user, baskets in sorted(by_key.items())}


def held_out(rows: list[EventRow], *, offset: int = 0) -> list[Case]:
    """One case per shopper with enough baskets: the basket ``offset`` before their last one."""
    cases = []
    for user, ordered in _baskets(rows).items():
        if len(ordered) >= offset + 2:
            at, items = ordered[-1 - offset]
            cases.append(Case(user=user, cutoff=at, target=items))
    return cases


def rolling(rows: list[EventRow], *, days: int = ROLLING_DAYS, warmup_days: int = ROLLING_WARMUP_DAYS) -> list[Case]:
    """Cutoffs every ``days`` after a warm-up: per shopper with earlier baskets, what they bought
    in the next ``days`` (their last basket left out, so that it stays unseen)."""
    baskets = _baskets(rows)
    moments = [at for ordered in baskets.values() for at, _ in ordered]
    if not moments:
        return []
    cutoff, end = min(moments) + timedelta(days=warmup_days), max(moments)
    cases = []
    while cutoff < end:
        until = cutoff + timedelta(days=days)
        for user, ordered in baskets.items():
            before = [at for at, _ in ordered if at < cutoff]
            window = [items for at, items in ordered[:-1] if cutoff <= at < until]
            if before and window:
                cases.append(Case(user=user, cutoff=cutoff, target=set().union(*window)))
        cutoff = until
    return cases


def _half(user: str) -> str:
    """A stable half of the shoppers, the same on every run and machine."""
    return "A" if zlib.crc32(user.encode()) % 2 == 0 else "B"


def sample(cases: list[Case], limit: int | None) -> list[Case]:
    """At most ``limit`` cases, the same ones on every run (a large shop need not replay all)."""
    if not limit or len(cases) <= limit:
        return cases
    key = {id(case): zlib.crc32(f"{case.user}@{case.cutoff.isoformat()}".encode()) for case in cases}
    kept = set(sorted(key, key=key.get)[:limit])
    return [case for case in cases if id(case) in kept]


def splits(rows: list[EventRow]) -> dict[str, list[Case]]:
    last = held_out(rows)
    return {
        LAST: last,
        SECOND: held_out(rows, offset=1),
        THIRD: held_out(rows, offset=2),
        ROLLING: rolling(rows),
        HALF_A: [case for case in last if _half(case.user) == "A"],
        HALF_B: [case for case in last if _half(case.user) == "B"],
    }


def metrics(ranked: list[str], target: set[str], *, k: int) -> dict[str, float]:
    top = ranked[:k]
    gains = [1.0 / math.log2(rank + 2) for rank, pk in enumerate(top) if pk in target]
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(k, len(target))))
    hits = len(gains)
    return {
        f"P@{k}": hits / k,
        f"R@{k}": hits / len(target),
        f"NDCG@{k}": sum(gains) / ideal if ideal else 0.0,
        f"HR@{k}": float(hits > 0),
    }


def bootstrap(values, *, reps: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % percentile interval of the mean of ``values``, resampling the cases."""
    data = np.asarray(list(values), dtype=float)
    if len(data) == 0:
        return (0.0, 0.0)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(reps, len(data)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return (float(low), float(high))


@dataclass
class Moment:
    """One case as a recommender sees it."""

    case: Case
    user: object
    signals: Signals


# Reference recommenders that use nothing shopai adds; a default must not lose to the best of them.
POPULARITY = "popularity"
OWN_COUNT = "own purchases by count"
OWN_RECENCY = "own purchases by recency"
BASELINES = (POPULARITY, OWN_COUNT, OWN_RECENCY)
IN_FORCE = "settings in force (API)"
SETTINGS_FILE = "settings file, untuned (API)"


def own_by_count(signals: Signals) -> list[str]:
    counts = purchase_weights(signals.purchase_days, at=signals.at, half_life_days=None)
    last = {pk: max(days) for pk, days in signals.purchase_days.items()}
    return sorted(counts, key=lambda pk: (-counts[pk], -last[pk].toordinal(), pk))


def own_by_recency(signals: Signals) -> list[str]:
    counts = purchase_weights(signals.purchase_days, at=signals.at, half_life_days=None)
    last = {pk: max(days) for pk, days in signals.purchase_days.items()}
    return sorted(counts, key=lambda pk: (-last[pk].toordinal(), -counts[pk], pk))


def api_recommendations(user, *, k: int) -> list[str]:
    """Product ids that ``GET /api/shopai/recommendations?k=…`` returns to this shopper, in order."""
    request = APIRequestFactory().get("/api/shopai/recommendations", {"k": k})
    force_authenticate(request, user=user)
    response = RecommendationsView.as_view(throttle_classes=[])(request)
    if response.status_code != 200:
        raise EventFileError(f"The recommendations API answered {response.status_code}: {response.data}")
    return [str(result["id"]) for result in response.data["results"]]


class Replay:
    """History made available to the recommenders, and each case's signals read from it."""

    def __init__(self, data: EventFile, *, users: dict, k: int):
        self.data, self.users, self.k = data, users, k
        adapter = get_product_adapter()
        self.products = adapter.get_searchable_queryset()
        path = shopai_settings.PRODUCT_FIELDS.get("category")
        self.categories = (
            {str(pk): c for pk, c in adapter.get_queryset().values_list("pk", path.replace(".", "__"))} if path else {}
        )

    def category_of(self, pk: str):
        return self.categories.get(pk)

    def moment(self, case: Case, *, config: dict) -> Moment:
        user = self.users[case.user]
        history = recent_events(user_id=user.pk, before=case.cutoff)
        signals, _ = shopper_signals(
            user=user, history=history, products=self.products, now=case.cutoff, config=config, parts=COMPONENTS
        )
        return Moment(case, user, signals)

    def ranked(self, config: dict, moment: Moment) -> list[str]:
        return [pk for pk, _, _ in rank(moment.signals, config=config, k=self.k, category_of=self.category_of)]


@contextmanager
def replaying(data: EventFile, *, k: int, from_file: bool) -> Iterator[Replay]:
    """File events are written for the block and rolled back; the shop's own are read in place."""
    if not from_file:
        ids = {row.user for row in data.rows}
        users = {str(user.pk): user for user in get_user_model().objects.filter(pk__in=ids)}
        yield Replay(data, users=users, k=k)
        return
    with transaction.atomic():
        users = _write_events(data.rows)
        yield Replay(data, users=users, k=k)
        transaction.set_rollback(True)


def recommenders(replay: Replay, *, blends: dict[str, dict[str, float]]) -> dict[str, Callable]:
    """name -> f(moment) -> ranked product pks: baselines, each part alone, blends, then the API
    with the settings in force (and without the tuned row, when one is active)."""
    k = replay.k
    config = recommendation_settings()

    def popular(moment):
        return list(popularity(products=replay.products, k=k, now=moment.case.cutoff))

    def blend(weights):
        variant = {**config, "BLEND": weights, "BUY_AGAIN_FIRST": False}
        return lambda moment: replay.ranked(variant, moment)

    def api(moment):
        with as_of(moment.case.cutoff):
            return api_recommendations(moment.user, k=k)

    def api_untuned(moment):
        with settings_file_only():
            return api(moment)

    result = {
        POPULARITY: popular,
        OWN_COUNT: lambda moment: own_by_count(moment.signals)[:k],
        OWN_RECENCY: lambda moment: own_by_recency(moment.signals)[:k],
        **{f"{name} alone": blend({name: 1.0}) for name in COMPONENTS},
    }
    result.update({name: blend(weights) for name, weights in blends.items()})
    if active_override():
        result[SETTINGS_FILE] = api_untuned
    result[IN_FORCE] = api
    return result


def summarise(per_case: dict[str, list[dict[str, float]]], *, k: int, coverage: dict[str, float] | None = None) -> dict:
    """Means with bootstrap intervals, and each recommender's paired difference to the best baseline."""
    key = f"NDCG@{k}"
    rows = {}
    for name, values in per_case.items():
        means = {metric: float(np.mean([v[metric] for v in values])) for metric in values[0]}
        low, high = bootstrap(v[key] for v in values)
        rows[name] = {**means, "ci": [low, high]}
        if coverage is not None:
            rows[name]["coverage"] = coverage.get(name, 0.0)
    present = [name for name in BASELINES if name in rows]
    best = max(present, key=lambda name: rows[name][key]) if present else None
    if best:
        for name, values in per_case.items():
            diffs = [a[key] - b[key] for a, b in zip(values, per_case[best], strict=True)]
            rows[name]["vs_best_baseline"] = {
                "baseline": best,
                "diff": float(np.mean(diffs)),
                "ci": list(bootstrap(diffs)),
            }
    return {"best_baseline": best, "results": rows}


def evaluate(
    path: Path | None,
    *,
    k: int = 10,
    blends: dict[str, dict[str, float]] | None = None,
    only: tuple[str, ...] = SPLITS,
    progress=None,
    data: EventFile | None = None,
) -> dict:
    """Every recommender on every split of ``path`` (None: the shop's own history)."""
    data = data or (read_events(path) if path else shop_history())
    source = path.name if path else "the shop's own history"
    if not data.rows:
        raise EventFileError(f"{source} has no events for products in the catalogue (import them first).")
    cases = {name: found for name, found in splits(data.rows).items() if name in only}
    if not any(cases.values()):
        raise EventFileError(f"No shopper in {source} has two or more baskets to hold one out.")
    catalogue = len({row.pk for row in data.rows})
    config = recommendation_settings()
    report = {}
    with replaying(data, k=k, from_file=path is not None) as replay:
        chosen = recommenders(replay, blends=blends or {})
        for split, split_cases in cases.items():
            per_case: dict[str, list] = defaultdict(list)
            shown: dict[str, set] = defaultdict(set)
            for case in split_cases:
                moment = replay.moment(case, config=config)
                for name, recommend in chosen.items():
                    ranked = recommend(moment)
                    per_case[name].append(metrics(ranked, case.target, k=k))
                    shown[name].update(ranked[:k])
                if progress:
                    progress(1)
            if split_cases:
                coverage = {name: len(items) / catalogue for name, items in shown.items()}
                summary = summarise(per_case, k=k, coverage=coverage)
                report[split] = {"cases": len(split_cases), "dev": split in DEV_SPLITS, **summary}
    return {
        "file": source,
        "k": k,
        "events": len(data.rows),
        "products": catalogue,
        "unknown_skus": dict(data.unknown_skus.most_common()),
        "skipped": dict(data.skipped),
        "settings": {key: config[key] for key in TUNABLE},
        "tuned": active_override(),
        "shipped_defaults": all(config[key] == DEFAULTS["RECOMMENDATIONS"][key] for key in TUNABLE)
        and config["REPURCHASE"] == DEFAULTS["RECOMMENDATIONS"]["REPURCHASE"]
        and not config["REPURCHASE_CATEGORIES"],
        "splits": report,
    }


def case_count(data: EventFile, only: tuple[str, ...] = SPLITS) -> int:
    return sum(len(found) for name, found in splits(data.rows).items() if name in only)


def _write_events(rows: list[EventRow]) -> dict:
    """Shoppers (inactive accounts) and their events, inside the caller's transaction."""
    User = get_user_model()
    names = sorted({row.user for row in rows})
    field = User.USERNAME_FIELD
    User.objects.bulk_create(
        [User(**{field: f"{EVAL_USER_PREFIX}{name}"[:150]}, is_active=False) for name in names], ignore_conflicts=True
    )
    users = {
        getattr(user, field).removeprefix(EVAL_USER_PREFIX): user
        for user in User.objects.filter(**{f"{field}__startswith": EVAL_USER_PREFIX})
    }
    Event.objects.bulk_create(
        [Event(user=users[row.user], kind=row.kind, object_pk=row.pk, created_at=row.at) for row in rows],
        batch_size=2000,
    )
    return users


def parse_blend(text: str) -> dict[str, float]:
    """'buy_again=0.5,trending=0.5' -> {'buy_again': 0.5, 'trending': 0.5}."""
    blend = {}
    for part in text.split(","):
        name, _, weight = part.partition("=")
        try:
            blend[name.strip()] = float(weight)
        except ValueError:
            raise ValueError(f"{part!r} is not name=weight (e.g. buy_again=0.5)") from None
    return blend
