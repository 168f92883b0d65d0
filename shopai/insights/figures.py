"""The numbers behind the insights pages: SQL aggregates over shopai's own tables, per period and language.

Every function takes a ``Period`` and returns plain figures plus ``Chart`` objects; nothing here
returns a shopper's identity. Search queries are listed only once INSIGHTS["MIN_DISTINCT_VISITORS"]
different visitors searched them (and they were redacted when recorded).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import Avg, Count, F, Q
from django.db.models.functions import Floor, Lower, TruncDate, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext

from shopai.assistant import group_unanswered_questions
from shopai.conf import shopai_settings
from shopai.insights.charts import Chart
from shopai.models import FAQ, Event, Exchange, Experiment, HandoffCase, ListClick, ListImpression
from shopai.studio import experiment_results, sample_size_per_arm, wilson_interval

PERIODS = (7, 30, 90)
LANGUAGES = tuple(FAQ.Language.values)  # the assistant's languages, which exchanges and lists are tagged with


@dataclass(frozen=True)
class Period:
    days: int = 30
    language: str = ""  # "" = all
    now: datetime | None = None

    @property
    def end(self) -> datetime:
        return self.now or timezone.now()

    @property
    def first_day(self) -> date:
        return timezone.localdate(self.end) - timedelta(days=self.days - 1)

    @property
    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first_day, datetime.min.time()))

    def days_list(self) -> list[date]:
        return [self.first_day + timedelta(days=offset) for offset in range(self.days)]

    @classmethod
    def from_request(cls, request) -> Period:
        try:
            days = int(request.GET.get("days", 30))
        except ValueError:
            days = 30
        language = request.GET.get("language", "")
        return cls(days=days if days in PERIODS else 30, language=language if language in LANGUAGES else "")


def _daily(period: Period, rows, *names: str) -> tuple[list[str], dict[str, list[float]]]:
    """{"day": date, name: n, ...} rows as one value per day of the period (0 where none)."""
    by_day = {row["day"]: row for row in rows}
    days = period.days_list()
    return [day.isoformat() for day in days], {
        name: [float(by_day.get(day, {}).get(name, 0) or 0) for day in days] for name in names
    }


def _rate(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _visitors() -> dict:
    """Annotations counting distinct visitors: signed-in users by id, anonymous ones by visitor id ('' is
    none). Two plain distinct counts (a signed-in list has no visitor id), cheaper than one over a
    computed key."""
    return {
        "_users": Count("user", distinct=True),
        "_anonymous": Count("visitor", distinct=True, filter=Q(user__isnull=True) & ~Q(visitor="")),
    }


# --- assistant ---------------------------------------------------------------------------------


def assistant(period: Period) -> dict:
    exchanges = Exchange.objects.filter(created_at__gte=period.start, created_at__lte=period.end)
    if period.language:
        exchanges = exchanges.filter(language=period.language)
    totals = exchanges.aggregate(
        exchanges=Count("pk"),
        conversations=Count("session_id", distinct=True),
        handed_over=Count("pk", filter=Q(handoff=True)),
        rated=Count("pk", filter=Q(handoff=False, helpful__isnull=False)),
        helpful=Count("pk", filter=Q(handoff=False, helpful=True)),
    )
    totals["answered"] = totals["exchanges"] - totals["handed_over"]
    totals["answered_rate"] = _rate(totals["answered"], totals["exchanges"])
    totals["helpful_rate"] = _rate(totals["helpful"], totals["rated"])

    per_day = (
        exchanges.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(answered=Count("pk", filter=Q(handoff=False)), handed_over=Count("pk", filter=Q(handoff=True)))
    )
    labels, series = _daily(period, per_day, "answered", "handed_over")
    answered_chart = Chart(
        name="answered",
        title=gettext("Questions answered and handed over, per day"),
        kind="line",
        labels=labels,
        series={gettext("answered"): series["answered"], gettext("handed over"): series["handed_over"]},
        columns=[gettext("day"), gettext("answered"), gettext("handed over")],
    )

    reasons = list(
        exchanges.filter(handoff=True).values("handoff_reason").annotate(n=Count("pk")).order_by("-n", "handoff_reason")
    )
    reason_chart = Chart(
        name="handoff_reasons",
        title=gettext("Handed over, by reason"),
        kind="barh",
        labels=[(row["handoff_reason"] or "-").replace("_", " ") for row in reasons],
        series={gettext("questions"): [row["n"] for row in reasons]},
        columns=[gettext("reason"), gettext("questions")],
    )

    bins = {
        row["bin"]: row["n"]
        for row in exchanges.annotate(bin=Floor(F("confidence") * 10)).values("bin").annotate(n=Count("pk"))
    }
    bin_labels = [f"{i / 10:.1f}–{(i + 1) / 10:.1f}" for i in range(10)]
    confidence_chart = Chart(
        name="confidence",
        title=gettext("Confidence of the assistant's replies"),
        kind="bar",
        labels=bin_labels,
        series={gettext("replies"): [bins.get(i, 0) + (bins.get(10, 0) if i == 9 else 0) for i in range(10)]},
        columns=[gettext("confidence"), gettext("replies")],
    )

    top_intents = [
        row["intent"]
        for row in exchanges.values("intent").annotate(n=Count("pk")).order_by("-n", "intent")[:5]
        if row["intent"]
    ]
    # Per day over a week, per week over longer periods (daily counts of one intent are mostly noise).
    weekly = period.days > 7
    bucket = TruncWeek("created_at") if weekly else TruncDate("created_at")
    intent_rows = (
        exchanges.filter(intent__in=top_intents).annotate(day=bucket).values("day", "intent").annotate(n=Count("pk"))
    )
    by_intent: dict[str, dict[date, int]] = {intent: {} for intent in top_intents}
    for row in intent_rows:
        day = row["day"].date() if isinstance(row["day"], datetime) else row["day"]
        by_intent[row["intent"]][day] = row["n"]
    days = period.days_list()
    if weekly:
        days = sorted({day - timedelta(days=day.weekday()) for day in days})
    intents_chart = Chart(
        name="intents",
        title=gettext("The five most frequent intents, per week")
        if weekly
        else gettext("The five most frequent intents, per day"),
        kind="line",
        labels=[day.isoformat() for day in days],
        series={intent: [float(by_intent[intent].get(day, 0)) for day in days] for intent in top_intents},
        columns=[gettext("week") if weekly else gettext("day"), *top_intents],
    )

    cases = HandoffCase.objects.all()
    if period.language:
        cases = cases.filter(language=period.language)
    open_cases = cases.exclude(status=HandoffCase.Status.RESOLVED).count()
    waits = [
        (replied - opened).total_seconds() / 60
        for opened, replied in cases.filter(
            opened_at__gte=period.start, opened_at__lte=period.end, first_staff_reply_at__isnull=False
        ).values_list("opened_at", "first_staff_reply_at")
    ]
    totals["open_cases"] = open_cases
    totals["cases_opened"] = cases.filter(opened_at__gte=period.start, opened_at__lte=period.end).count()
    totals["first_reply_minutes_median"] = statistics.median(waits) if waits else None
    totals["first_reply_minutes_p90"] = _quantile(waits, 0.9)

    groups = [  # plain values: the page data is cached (no vectors in it)
        {"question": group.question, "size": group.size, "language": group.language, "exchange_ids": group.exchange_ids}
        for group in group_unanswered_questions(days=period.days)
        if not period.language or group.language == period.language
    ][:10]
    return {
        "totals": totals,
        "charts": [answered_chart, reason_chart, confidence_chart, intents_chart],
        "unanswered": groups,
    }


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- search ------------------------------------------------------------------------------------


def _lists(period: Period, kind: str):
    lists = ListImpression.objects.filter(kind=kind, created_at__gte=period.start, created_at__lte=period.end)
    return lists.filter(language=period.language) if period.language else lists


def _clicks(period: Period, kind: str):
    """Clicks made in the period (each within moments of its list), read without joining the lists."""
    clicks = ListClick.objects.filter(kind=kind, created_at__gte=period.start, created_at__lte=period.end)
    return clicks.filter(language=period.language) if period.language else clicks


def search(period: Period) -> dict:
    searches = _lists(period, ListImpression.Kind.SEARCH)
    clicks = _clicks(period, ListImpression.Kind.SEARCH)
    totals = searches.aggregate(searches=Count("pk"), no_results=Count("pk", filter=Q(product_pks=[])), **_visitors())
    totals["visitors"] = totals.pop("_users") + totals.pop("_anonymous")
    click_totals = clicks.aggregate(
        clicks=Count("pk"), searches_clicked=Count("impression", distinct=True), mean_position=Avg("position")
    )
    totals.update(click_totals)
    with_results = totals["searches"] - totals["no_results"]
    totals["click_through"] = _rate(totals["searches_clicked"], with_results)

    per_day = searches.annotate(day=TruncDate("created_at")).values("day").annotate(searches=Count("pk"))
    clicked_per_day = (
        clicks.annotate(day=TruncDate("created_at")).values("day").annotate(clicked=Count("impression", distinct=True))
    )
    labels, series = _daily(period, per_day, "searches")
    _days, clicked = _daily(period, clicked_per_day, "clicked")
    day_chart = Chart(
        name="searches",
        title=gettext("Searches per day, and searches with a click"),
        kind="line",
        labels=labels,
        series={gettext("searches"): series["searches"], gettext("with a click"): clicked["clicked"]},
        columns=[gettext("day"), gettext("searches"), gettext("with a click")],
    )

    # Every query enough visitors asked, once; the lists below are cut from it.
    minimum = int(shopai_settings.INSIGHTS["MIN_DISTINCT_VISITORS"])
    asked = list(
        searches.exclude(query="")
        .annotate(text=Lower("query"))
        .values("text")
        .annotate(n=Count("pk"), empty=Count("pk", filter=Q(product_pks=[])), **_visitors())
        .annotate(visitors=F("_users") + F("_anonymous"))
        .filter(visitors__gte=minimum)
    )
    clicked_by_query = {
        row["text"]: row["n"]
        for row in clicks.annotate(text=Lower("impression__query"))
        .values("text")
        .annotate(n=Count("impression", distinct=True))
    }
    for row in asked:
        row["clicked"] = clicked_by_query.get(row["text"], 0)
        row["click_through"] = _rate(row["clicked"], row["n"] - row["empty"])
    top = sorted(asked, key=lambda row: (-row["n"], row["text"]))[:15]
    top_chart = Chart(
        name="top_queries",
        title=gettext("Top searches"),
        kind="barh",
        labels=[row["text"] for row in top],
        series={
            gettext("searches"): [row["n"] for row in top],
            gettext("with a click"): [row["clicked"] for row in top],
        },
        columns=[gettext("query"), gettext("searches"), gettext("with a click"), gettext("no results")],
        rows=[[row["text"], row["n"], row["clicked"], row["empty"]] for row in top],
    )

    no_results = sorted((row for row in asked if row["empty"]), key=lambda row: (-row["empty"], row["text"]))[:15]
    poor = sorted(
        (row for row in asked if not row["empty"] and not row["clicked"]), key=lambda row: (-row["n"], row["text"])
    )[:15]
    failing_chart = Chart(
        name="failing_queries",
        title=gettext("Searches that found nothing, or nothing anyone clicked"),
        kind="barh",
        labels=[row["text"] for row in no_results] + [row["text"] for row in poor],
        series={
            gettext("no results"): [row["empty"] for row in no_results] + [0] * len(poor),
            gettext("results, no click"): [0] * len(no_results) + [row["n"] for row in poor],
        },
        columns=[gettext("query"), gettext("no results"), gettext("results, no click")],
    )

    sources = {row["source"]: row["n"] for row in clicks.values("source").annotate(n=Count("pk"))}
    order = [("keyword", gettext("keywords only")), ("vector", gettext("meaning only")), ("both", gettext("both"))]
    share_total = sum(sources.get(key, 0) for key, _label in order)
    source_chart = Chart(
        name="clicked_sources",
        title=gettext("Clicked results found by keywords, by meaning, or by both"),
        kind="bar",
        labels=[label for _key, label in order],
        series={gettext("share of clicks"): [_rate(sources.get(key, 0), share_total) or 0.0 for key, _label in order]},
        columns=[gettext("found by"), gettext("share of clicks")],
        percent=True,
    )
    positions = {row["position"]: row["n"] for row in clicks.values("position").annotate(n=Count("pk"))}
    top_position = min(10, max(positions, default=0))
    position_chart = Chart(
        name="clicked_positions",
        title=gettext("Position of the clicked result"),
        kind="bar",
        labels=[str(position) for position in range(1, top_position + 1)],
        series={gettext("clicks"): [positions.get(position, 0) for position in range(1, top_position + 1)]},
        columns=[gettext("position"), gettext("clicks")],
    )
    return {
        "totals": totals,
        "charts": [day_chart, top_chart, failing_chart, source_chart, position_chart],
        "top": top,
        "minimum_visitors": minimum,
    }


# --- recommendations ---------------------------------------------------------------------------

SOURCE_LABELS = {
    "buy_again": "buy again",
    "interests": "interests",
    "trending": "trending",
    "bought_together": "bought together",
    "similar": "similar",
    "new": "new in the shop",
}


def recommendations(period: Period) -> dict:
    lists = _lists(period, ListImpression.Kind.RECOMMENDATION)
    clicks = _clicks(period, ListImpression.Kind.RECOMMENDATION)
    where, params = _impression_where(period, ListImpression.Kind.RECOMMENDATION)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT source, count(*) FROM {ListImpression._meta.db_table}, unnest(sources) AS source "
            f"WHERE {where} GROUP BY source",
            params,
        )
        shown_by_source = dict(cursor.fetchall())
    clicked_by_source = {row["source"]: row["n"] for row in clicks.values("source").annotate(n=Count("pk"))}
    attributed = attributed_orders(period)
    keys = sorted(set(shown_by_source) | set(clicked_by_source), key=lambda key: -shown_by_source.get(key, 0))
    by_source = [
        {
            "source": key,
            "label": gettext(SOURCE_LABELS.get(key, key or "-")),
            "shown": shown_by_source.get(key, 0),
            "clicks": clicked_by_source.get(key, 0),
            "click_through": _rate(clicked_by_source.get(key, 0), shown_by_source.get(key, 0)),
            "orders": attributed["by_source"].get(key, {}).get("orders", 0),
            "lines": attributed["by_source"].get(key, {}).get("lines", 0),
        }
        for key in keys
    ]
    source_chart = Chart(
        name="by_source",
        title=gettext("Click-through of recommended products, by source"),
        kind="bar",
        labels=[row["label"] for row in by_source],
        series={gettext("click-through"): [row["click_through"] or 0.0 for row in by_source]},
        columns=[
            gettext("source"),
            gettext("products shown"),
            gettext("clicks"),
            gettext("click-through"),
            gettext("orders attributed"),
        ],
        rows=[[r["label"], r["shown"], r["clicks"], r["click_through"], r["orders"]] for r in by_source],
        percent=True,
    )
    placements = list(lists.values("placement").annotate(lists=Count("pk")).order_by("-lists", "placement"))
    clicked_lists = {
        row["placement"]: row["n"] for row in clicks.values("placement").annotate(n=Count("impression", distinct=True))
    }
    for row in placements:
        row["clicked"] = clicked_lists.get(row["placement"], 0)
        row["click_through"] = _rate(row["clicked"], row["lists"])
    placement_chart = Chart(
        name="by_placement",
        title=gettext("Lists with a click, by placement"),
        kind="bar",
        labels=[row["placement"] for row in placements],
        series={gettext("click-through"): [row["click_through"] or 0.0 for row in placements]},
        columns=[gettext("placement"), gettext("lists shown"), gettext("lists clicked"), gettext("click-through")],
        rows=[[r["placement"], r["lists"], r["clicked"], r["click_through"]] for r in placements],
        percent=True,
    )
    per_day = lists.annotate(day=TruncDate("created_at")).values("day").annotate(lists=Count("pk"))
    clicks_per_day = clicks.annotate(day=TruncDate("created_at")).values("day").annotate(clicks=Count("pk"))
    labels, shown = _daily(period, per_day, "lists")
    _labels, clicked = _daily(period, clicks_per_day, "clicks")
    day_chart = Chart(
        name="per_day",
        title=gettext("Recommendation lists shown and products clicked, per day"),
        kind="line",
        labels=labels,
        series={gettext("lists shown"): shown["lists"], gettext("clicks"): clicked["clicks"]},
        columns=[gettext("day"), gettext("lists shown"), gettext("clicks")],
    )
    totals = {
        "lists": lists.count(),
        "shown": sum(shown_by_source.values()),
        "clicks": sum(clicked_by_source.values()),
        "orders": attributed["orders"],
        "attribution_days": attributed["days"],
    }
    totals["click_through"] = _rate(totals["clicks"], totals["shown"])
    return {"totals": totals, "charts": [day_chart, source_chart, placement_chart], "by_source": by_source}


def _impression_where(period: Period, kind: str) -> tuple[str, list]:
    where = "kind = %s AND created_at >= %s AND created_at <= %s"
    params: list = [kind, period.start, period.end]
    if period.language:
        where += " AND language = %s"
        params.append(period.language)
    return where, params


def attributed_orders(period: Period, *, kind: str = ListImpression.Kind.RECOMMENDATION) -> dict:
    """Purchases in the period that followed a click on the same product by the same shopper within
    INSIGHTS["ATTRIBUTION_DAYS"], credited to the latest such click's source (last click wins).

    Purchases are shopai's purchase events (one per order line, from the shop's orders): "lines"
    counts them, "orders" the distinct orders among them.
    """
    days = int(shopai_settings.INSIGHTS["ATTRIBUTION_DAYS"])
    language = "AND c.language = %s" if period.language else ""
    sql = f"""
        SELECT c.source, count(*), count(DISTINCT coalesce(nullif(p.source, ''), p.id::text))
        FROM {Event._meta.db_table} p
        JOIN LATERAL (
            SELECT c.source FROM {ListClick._meta.db_table} c
            WHERE c.user_id = p.user_id AND c.product_pk = p.object_pk AND c.kind = %s
              AND c.created_at <= p.created_at AND c.created_at >= p.created_at - %s {language}
            ORDER BY c.created_at DESC LIMIT 1
        ) c ON true
        WHERE p.kind = %s AND p.user_id IS NOT NULL AND p.created_at >= %s AND p.created_at <= %s
        GROUP BY c.source
    """
    params: list = [kind, timedelta(days=days)]
    if period.language:
        params.append(period.language)
    params += [Event.Kind.PURCHASE, period.start, period.end]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    by_source = {source: {"lines": lines, "orders": orders} for source, lines, orders in rows}
    return {
        "by_source": by_source,
        "lines": sum(row["lines"] for row in by_source.values()),
        "orders": sum(row["orders"] for row in by_source.values()),
        "days": days,
    }


# --- experiments -------------------------------------------------------------------------------


def experiments(period: Period) -> dict:
    confidence = float(shopai_settings.INSIGHTS["CONFIDENCE"])
    uplift = float(shopai_settings.INSIGHTS["MIN_DETECTABLE_UPLIFT"])
    power = float(shopai_settings.INSIGHTS["POWER"])
    shown = []
    for experiment in (
        Experiment.objects.filter(Q(status=Experiment.Status.RUNNING) | Q(exposures__created_at__gte=period.start))
        .distinct()
        .order_by("-created_at")[:20]
    ):
        result = experiment_results(experiment, confidence=confidence)
        arms = result["arms"]
        if not arms:
            continue
        control = result["control"]
        control_arm = next((arm for arm in arms if arm.variant == control), arms[0])
        needed = sample_size_per_arm(control_arm.rate, uplift, confidence=confidence, power=power)
        rows = []
        for arm in arms:
            low, high = wilson_interval(arm.conversions, arm.impressions, confidence)
            comparison = result["comparisons"].get(arm.variant.name)
            rows.append(
                {
                    "name": arm.variant.name,
                    "control": arm.variant == control,
                    "impressions": arm.impressions,
                    "conversions": arm.conversions,
                    "rate": arm.rate,
                    "low": low,
                    "high": high,
                    "verdict": gettext(comparison.verdict) if comparison else "",
                    "reason": comparison.reason if comparison else "",
                    "still_needed": None if needed is None else max(0, needed - arm.impressions),
                }
            )
        chart = Chart(
            name=f"experiment_{experiment.pk}",
            title=gettext("%(name)s: conversion per variant, %(confidence)s%% interval")
            % {"name": experiment.name, "confidence": f"{confidence * 100:g}"},
            kind="interval",
            labels=[row["name"] for row in rows],
            series={
                "value": [row["rate"] for row in rows],
                "low": [row["low"] for row in rows],
                "high": [row["high"] for row in rows],
            },
            columns=[
                gettext("variant"),
                gettext("shown"),
                gettext("converted"),
                gettext("rate"),
                gettext("low"),
                gettext("high"),
                gettext("still needed"),
            ],
            rows=[
                [r["name"], r["impressions"], r["conversions"], r["rate"], r["low"], r["high"], r["still_needed"]]
                for r in rows
            ],
            percent=True,
        )
        shown.append(
            {
                "experiment": experiment,
                "arms": rows,
                "chart": chart,
                "winner": result["winner"],
                "needed_per_arm": needed,
                "uplift": uplift,
            }
        )
    return {"experiments": shown, "charts": [item["chart"] for item in shown], "confidence": confidence}
