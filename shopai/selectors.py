"""Read-only queries: nearest neighbours in pgvector with the shop's filters in SQL, popularity, co-purchases."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Avg, Case, CharField, Count, Exists, F, FloatField, OuterRef, QuerySet, Sum, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, TruncDate
from django.db.models.lookups import Exact
from django.utils import timezone
from pgvector.django import CosineDistance

from shopai.conf import shopai_settings
from shopai.models import Event, ProductEmbedding


def nearest_products(
    *,
    vector: Sequence[float],
    products: QuerySet,
    model_name: str,
    k: int,
    ef_search: int | None = None,
) -> list[tuple[str, float]]:
    """The ``k`` products of ``products`` closest to ``vector``: ``[(pk, cosine distance)]``.

    Two plans, chosen by how many products the filters allow (a count that stops early):
    - at most EXACT_SEARCH_MAX_ROWS (a narrow category, a price band): exact distances over
      just those products — faster than the index there, and recall 1.0;
    - more: the HNSW index drives the query and each candidate is checked against the filters
      by primary key (EXISTS); the scan is iterative (pgvector ≥ 0.8), so a filter that keeps
      few of the index's candidates still yields ``k`` results. If it still gives fewer than
      ``k``, the exact plan answers.
    bench/vector_search.py measures both (HNSW_EF_SEARCH chosen there for recall@10 ≥ 0.95).
    """
    ef = max(int(ef_search or shopai_settings.HNSW_EF_SEARCH), k)
    content_type = ContentType.objects.get_for_model(products.model, for_concrete_model=False)
    embeddings = ProductEmbedding.objects.filter(content_type=content_type, model_name=model_name)
    query_vector = list(map(float, vector))
    exact_limit = int(shopai_settings.EXACT_SEARCH_MAX_ROWS)
    narrow = products.order_by().values("pk")[: exact_limit + 1].count() <= exact_limit
    with transaction.atomic():
        rows = []
        if not narrow:
            with connection.cursor() as cursor:
                # SET LOCAL: scoped to this transaction, so pooled connections are not affected.
                cursor.execute("SET LOCAL hnsw.ef_search = %s", [ef])
                cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            pk = products.model._meta.pk
            # Only this content type's keys are cast to the product's key type (other product
            # models' keys, e.g. UUIDs, share the table).
            own_type = Exact(OuterRef("content_type_id"), Value(content_type.pk))
            key = Cast(Case(When(own_type, then=OuterRef("object_pk"))), output_field=pk)
            rows = list(
                embeddings.filter(Exists(products.order_by().filter(pk=key)))
                .annotate(distance=CosineDistance("embedding", query_vector))
                .order_by("distance")
                .values_list("object_pk", "distance")[:k]
            )
        if len(rows) < k:
            # "+ 0" hides the ordering from the HNSW index, so the planner ranks the allowed rows exactly.
            rows = list(
                embeddings.filter(object_pk__in=_allowed_pks(products))
                .annotate(distance=CosineDistance("embedding", query_vector) + 0.0)
                .order_by("distance")
                .values_list("object_pk", "distance")[:k]
            )
    # relaxed_order may return neighbours slightly out of order; restore it.
    return sorted(((pk, float(distance)) for pk, distance in rows), key=lambda row: row[1])


def keyword_products(*, text: str, products: QuerySet, model_name: str, k: int) -> list[tuple[str, float]]:
    """Products matching the words of ``text``, ranked by BM25 over the keyword index: [(pk, score)].

    Words are stemmed by SEARCH["TEXT_SEARCH_CONFIG"] (Postgres's own dictionaries). A word's
    weight (IDF) comes from how many indexed products contain it; its count in a product is the
    product's ``ts_rank`` for that word alone under SEARCH["FIELD_WEIGHTS"] (a name match counts
    more than a description match, and repeats add less and less), then saturated by BM25_K1 and
    normalised by the product's keyword count (BM25_B). Products holding the query's words side by
    side get SEARCH["PHRASE_BOOST"].
    """
    search = shopai_settings.SEARCH
    config = search["TEXT_SEARCH_CONFIG"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(array_agg(lexeme ORDER BY lexeme), '{}') FROM unnest(to_tsvector(%s::regconfig, %s))",
            [config, text],
        )
        lexemes = cursor.fetchone()[0]
    if not lexemes:
        return []
    content_type = ContentType.objects.get_for_model(products.model, for_concrete_model=False)
    k1, b, boost = float(search["BM25_K1"]), float(search["BM25_B"]), float(search["PHRASE_BOOST"])
    weights = [float(w) for w in search["FIELD_WEIGHTS"]][:4]
    weights += [weights[-1]] * (4 - len(weights))
    # The shop's filters are checked per scored product by primary key (EXISTS with the key cast
    # to the product's key type), which lets the planner look candidates up instead of reading
    # every product.
    allowed = products.order_by().annotate(shopai_key=F("pk")).values("shopai_key")
    allowed_sql, allowed_params = allowed.query.sql_with_params()
    key_type = products.model._meta.pk.cast_db_type(connection)
    phrase, phrase_params = "1.0", []
    if len(lexemes) > 1 and boost:
        phrase = "CASE WHEN e.keywords @@ phraseto_tsquery(%s::regconfig, %s) THEN %s::float8 ELSE 1.0 END"
        phrase_params = [config, text, 1.0 + boost]
    table = ProductEmbedding._meta.db_table
    # One pass over the products holding any of the words computes each (product, word) count
    # once; the IDF counts all of them, only those the shop's filters allow are ranked. N and the
    # average length come from keyword_totals (cached).
    sql = f"""
        WITH q AS (
            SELECT lexeme, quote_literal(lexeme)::tsquery AS query FROM unnest(%s::text[]) AS lexeme
        ), totals AS (
            SELECT %s::bigint AS n, %s::float8 AS length
        ), matches AS MATERIALIZED (
            SELECT e.object_pk, e.keyword_length, q.lexeme, {phrase} AS phrase,
                   ts_rank(%s::float4[], e.keywords, q.query, 0) * {TS_RANK_ONE} AS tf
            FROM {table} e JOIN q ON e.keywords @@ q.query
            WHERE e.content_type_id = %s AND e.model_name = %s
        ), idf AS (
            SELECT m.lexeme, ln(1.0 + (greatest(t.n, count(*)) - count(*) + 0.5) / (count(*) + 0.5)) AS idf
            FROM matches m CROSS JOIN totals t GROUP BY m.lexeme, t.n
        ), scored AS (
            SELECT m.object_pk,
                   sum(idf.idf * m.tf * (%s::float8 + 1.0)
                       / (m.tf + %s::float8 * (1.0 - %s::float8 + %s::float8 * m.keyword_length / t.length)))
                     * max(m.phrase) AS score
            FROM matches m JOIN idf USING (lexeme) CROSS JOIN totals t
            GROUP BY m.object_pk
        )
        SELECT object_pk, score FROM scored
        WHERE EXISTS (SELECT 1 FROM ({allowed_sql}) AS allowed WHERE allowed.shopai_key = scored.object_pk::{key_type})
        ORDER BY score DESC, object_pk
        LIMIT %s
    """
    n, average_length = keyword_totals(content_type_id=content_type.pk, model_name=model_name)
    params = [
        list(lexemes),
        n,
        average_length,
        *phrase_params,
        weights[::-1],  # ts_rank takes {D, C, B, A}
        content_type.pk,
        model_name,
        k1,
        k1,
        b,
        b,
        *allowed_params,
        k,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(pk, float(score)) for pk, score in cursor.fetchall()]


KEYWORD_TOTALS_SECONDS = 300


def _totals_key(content_type_id: int, model_name: str) -> str:
    return f"shopai:keyword-totals:{connection.settings_dict['NAME']}:{content_type_id}:{model_name}"


def keyword_totals(*, content_type_id: int, model_name: str) -> tuple[int, float]:
    """(indexed products, their average keyword count): BM25's N and average length.

    Cached for KEYWORD_TOTALS_SECONDS and forgotten whenever the index is written
    (``forget_keyword_totals``): counting reads every row where autovacuum has not yet marked
    the pages all-visible (37 ms at 20k products), which a search must not pay each time.
    """
    key = _totals_key(content_type_id, model_name)
    try:
        cached = cache.get(key)
    except Exception:  # a cache outage costs a count, not the search
        cached = None
    if cached is not None:
        return cached
    totals = ProductEmbedding.objects.filter(
        content_type_id=content_type_id, model_name=model_name, keywords__isnull=False
    ).aggregate(n=Count("pk"), length=Avg("keyword_length"))
    result = (int(totals["n"] or 0), float(totals["length"] or 1.0))
    try:
        cache.set(key, result, KEYWORD_TOTALS_SECONDS)
    except Exception:
        pass
    return result


def forget_keyword_totals(*, content_type_id: int, model_name: str) -> None:
    try:
        cache.delete(_totals_key(content_type_id, model_name))
    except Exception:  # the entry expires on its own
        pass


# ts_rank of a word found once, at weight 1.0: its sum over positions tends to pi^2/6 and is
# divided by it, so ts_rank * pi^2/6 reads as a count (1.0 for one occurrence, 1.25 for two...).
TS_RANK_ONE = 1.6449340668


def filter_products(queryset, *, in_stock: bool = False, category=None, min_price=None, max_price=None):
    """The shop's business filters, on the fields named in SHOPAI["PRODUCT_FIELDS"]."""
    fields = {name: path.replace(".", "__") for name, path in shopai_settings.PRODUCT_FIELDS.items() if path}
    if in_stock and "stock" in fields:
        queryset = queryset.filter(**{f"{fields['stock']}__gt": 0})
    if category is not None and "category" in fields:
        queryset = queryset.filter(**{fields["category"]: category})
    if min_price is not None and "price" in fields:
        queryset = queryset.filter(**{f"{fields['price']}__gte": min_price})
    if max_price is not None and "price" in fields:
        queryset = queryset.filter(**{f"{fields['price']}__lte": max_price})
    return queryset


def _allowed_pks(products: QuerySet):
    return products.order_by().annotate(_pk_text=Cast("pk", output_field=CharField())).values("_pk_text")


def events_before(now: datetime | None):
    events = Event.objects.exclude(object_pk="")
    return events.filter(created_at__lt=now) if now is not None else events


def popularity(
    *,
    products: QuerySet,
    k: int,
    now: datetime | None = None,
    half_life_days: float | None = None,
    window_days: float | None = None,
    exclude=(),
) -> dict[str, float]:
    """The ``k`` products with the most weighted events before ``now``, best first: ``{pk: weight}``.

    Each event counts EVENT_WEIGHTS[kind], halved every ``half_life_days`` of age (None: no decay);
    only the last ``window_days`` are read (None: all history).
    """
    config = shopai_settings.RECOMMENDATIONS
    at = now or timezone.now()
    events = events_before(now).filter(object_pk__in=_allowed_pks(products))
    if window_days:
        events = events.filter(created_at__gte=at - timedelta(days=float(window_days)))
    if exclude:
        events = events.exclude(object_pk__in=list(exclude))
    weight = Case(
        *[When(kind=kind, then=Value(float(w))) for kind, w in config["EVENT_WEIGHTS"].items()],
        default=Value(0.0),
        output_field=FloatField(),
    )
    if half_life_days:
        age_decay = RawSQL(
            "power(0.5, extract(epoch from (%s - created_at)) / %s)",
            (at, float(half_life_days) * 86400.0),
            output_field=FloatField(),
        )
        weight = weight * age_decay
    rows = (
        events.values("object_pk")
        .annotate(weight=Sum(weight, output_field=FloatField()))
        .filter(weight__gt=0)
        .order_by("-weight", "object_pk")[:k]
    )
    return {row["object_pk"]: float(row["weight"]) for row in rows}


def co_purchases(items: dict[str, float], *, now: datetime | None = None) -> dict[str, tuple[float, str]]:
    """Products bought in the same baskets (one shopper, one day) as ``items`` ({pk: weight}).

    score(j) = Σ_i weight(i) · n_ij / √(n_i · n_j), with n counting baskets, so best-sellers that
    go with everything do not win. Returns ``{j: (score, the i that contributed most)}``.
    """
    purchases = events_before(now).filter(kind=Event.Kind.PURCHASE).exclude(user__isnull=True)
    baskets_of: dict[str, set] = defaultdict(set)
    for pk, user_id, day in (
        purchases.filter(object_pk__in=list(items))
        .annotate(day=TruncDate("created_at"))
        .values_list("object_pk", "user_id", "day")
        .distinct()
    ):
        baskets_of[pk].add((user_id, day))
    baskets = set().union(*baskets_of.values()) if baskets_of else set()
    if not baskets:
        return {}
    contents: dict[tuple, set[str]] = defaultdict(set)
    for user_id, day, pk in (
        purchases.filter(user_id__in={user_id for user_id, _ in baskets})
        .annotate(day=TruncDate("created_at"))
        .values_list("user_id", "day", "object_pk")
        .distinct()
    ):
        if (user_id, day) in baskets:
            contents[(user_id, day)].add(pk)
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for item, item_baskets in baskets_of.items():
        for basket in item_baskets:
            for other in contents[basket]:
                if other not in items:
                    pairs[(item, other)] += 1
    if not pairs:
        return {}
    others = {other for _, other in pairs}
    basket_counts = dict(
        purchases.filter(object_pk__in=list(others))
        .values("object_pk")
        .annotate(n=Count("pk"))
        .values_list("object_pk", "n")
    )
    result: dict[str, tuple[float, str]] = {}
    best_part: dict[str, float] = {}
    for (item, other), together in pairs.items():
        part = items[item] * together / math.sqrt(len(baskets_of[item]) * max(basket_counts.get(other, 1), together))
        score, via = result.get(other, (0.0, item))
        if part > best_part.get(other, 0.0):
            best_part[other], via = part, item
        result[other] = (score + part, via)
    return result
