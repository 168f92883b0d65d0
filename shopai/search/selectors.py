"""Read-only queries on the product index: nearest neighbours in pgvector with the shop's filters
in SQL, and BM25 keyword ranking."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Avg, Case, Count, Exists, F, OuterRef, QuerySet, Value, When
from django.db.models.functions import Cast
from django.db.models.lookups import Exact
from pgvector.django import CosineDistance, VectorField

from shopai.adapters import product_pks_as_text
from shopai.conf import shopai_settings
from shopai.models import ProductEmbedding

HNSW_EF_SEARCH_MAX = 1000  # pgvector's upper limit of hnsw.ef_search


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
    # pgvector refuses hnsw.ef_search above 1,000; deeper pages are refused by the API before this.
    ef = min(max(int(ef_search or shopai_settings.HNSW_EF_SEARCH), k), HNSW_EF_SEARCH_MAX)
    content_type = ContentType.objects.get_for_model(products.model, for_concrete_model=False)
    embeddings = ProductEmbedding.objects.filter(content_type=content_type, model_name=model_name)
    query_vector = list(map(float, vector))
    # The column holds vectors of every model; cast to this model's width as its index is built
    # (core.vector_spaces), so the planner can use that model's partial HNSW index.
    column = Cast("embedding", VectorField(dimensions=len(query_vector)))
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
                .annotate(distance=CosineDistance(column, query_vector))
                .order_by("distance")
                .values_list("object_pk", "distance")[:k]
            )
        if len(rows) < k:
            # "+ 0" hides the ordering from the HNSW index, so the planner ranks the allowed rows exactly.
            rows = list(
                embeddings.filter(object_pk__in=product_pks_as_text(products))
                .annotate(distance=CosineDistance(column, query_vector) + 0.0)
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
