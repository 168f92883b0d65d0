"""Offline evaluation of the recommenders: replay history, hold out each shopper's last basket.

Protocol: a basket is one invoice (invoice-line files) or one shopper's purchases with the same
timestamp (user,sku,type,timestamp files). For every shopper with at least ``offset + 2`` baskets,
the target is the basket ``offset`` places before their last one; each recommender is asked,
as of that basket's time, for k products, seeing only the events before it (the shopper's
own and everybody else's). The events are written in a transaction that is rolled back, so
the shop's data is left as it was.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from shopai.conf import get_product_adapter, shopai_settings
from shopai.models import Event
from shopai.services.event_import import KINDS, EventFileError, _timestamp
from shopai.services.recommend import _purchase_weights, popularity, recommend_for_user, trending

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
                    parsed = (row["user"], row["sku"], row["type"].lower(), _timestamp(row["timestamp"]), "")
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
    return customer, row["StockCode"], Event.Kind.PURCHASE, _timestamp(row["InvoiceDate"]), row["InvoiceNo"]


def held_out(rows: list[EventRow], *, offset: int = 0) -> list[Case]:
    """One case per shopper with enough baskets: the basket ``offset`` before their last one."""
    baskets: dict[str, dict[str, tuple[datetime, set[str]]]] = defaultdict(dict)
    for row in rows:
        if row.kind != Event.Kind.PURCHASE:
            continue
        at, items = baskets[row.user].get(row.basket, (row.at, set()))
        items.add(row.pk)
        baskets[row.user][row.basket] = (min(at, row.at), items)
    cases = []
    for user, by_key in sorted(baskets.items()):
        ordered = sorted(by_key.values(), key=lambda basket: basket[0])
        if len(ordered) >= offset + 2:
            at, items = ordered[-1 - offset]
            cases.append(Case(user=user, cutoff=at, target=items))
    return cases


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


def recommenders(*, k: int, blends: dict[str, dict[str, float]]) -> dict[str, Callable]:
    """name -> f(user, cutoff) -> ranked product pks. Baselines first, then shopai's own."""
    adapter = get_product_adapter()

    def popular(user, cutoff):
        return list(popularity(products=adapter.get_searchable_queryset(), k=k, now=cutoff))

    def past_purchases(user, cutoff):
        weights = _purchase_weights(user=user, now=cutoff)
        return sorted(weights, key=lambda pk: (-weights[pk], pk))[:k]

    def shelf(blend):
        def recommend(user, cutoff):
            return [str(r.product.pk) for r in recommend_for_user(user=user, k=k, now=cutoff, blend=blend)]

        return recommend

    def trending_now(user, cutoff):
        return [str(r.product.pk) for r in trending(products=adapter.get_searchable_queryset(), k=k, now=cutoff)]

    result = {
        "popularity (baseline)": popular,
        "own past purchases (baseline)": past_purchases,
        "trending": trending_now,
        "interests only": shelf({"interests": 1.0}),
        "bought together only": shelf({"bought_together": 1.0}),
    }
    result.update({name: shelf(blend) for name, blend in blends.items()})
    result["default (BLEND setting)"] = shelf(None)
    return result


def evaluate(
    path: Path,
    *,
    k: int = 10,
    offset: int = 0,
    blends: dict[str, dict[str, float]] | None = None,
    progress=None,
    data: EventFile | None = None,
) -> dict:
    """Run every recommender on the held-out baskets of ``path``; the events are rolled back afterwards."""
    data = data or read_events(path)
    if not data.rows:
        raise EventFileError(f"{path.name} has no events for products in the catalogue (import them first).")
    cases = held_out(data.rows, offset=offset)
    if not cases:
        raise EventFileError(f"No shopper in {path.name} has {offset + 2} or more baskets to hold one out.")
    catalogue = len({row.pk for row in data.rows})
    chosen = recommenders(k=k, blends=blends or {})
    totals: dict[str, Counter] = {name: Counter() for name in chosen}
    shown: dict[str, set[str]] = {name: set() for name in chosen}
    with transaction.atomic():
        users = _write_events(data.rows)
        for case in cases:
            user = users[case.user]
            for name, recommend in chosen.items():
                ranked = recommend(user, case.cutoff)
                totals[name].update(metrics(ranked, case.target, k=k))
                shown[name].update(ranked[:k])
            if progress:
                progress(1)
        transaction.set_rollback(True)
    results = {
        name: {
            **{metric: value / len(cases) for metric, value in total.items()},
            "coverage": len(shown[name]) / catalogue,
        }
        for name, total in totals.items()
    }
    return {
        "file": path.name,
        "k": k,
        "offset": offset,
        "cases": len(cases),
        "events": len(data.rows),
        "products": catalogue,
        "unknown_skus": dict(data.unknown_skus.most_common()),
        "skipped": dict(data.skipped),
        "blend_setting": dict(shopai_settings.RECOMMENDATIONS["BLEND"]),
        "repurchase": shopai_settings.RECOMMENDATIONS["REPURCHASE"],
        "repurchase_categories": shopai_settings.RECOMMENDATIONS["REPURCHASE_CATEGORIES"],
        "results": results,
    }


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
