"""Keyword and hybrid search latency at 20k products: BM25 (this version) against the previous query shape.

Loads a synthetic catalogue as bench/vector_search.py does (bench/_synthetic.py: ``shopai_bench_vec``
database, clustered vectors, HNSW built as the migrations define it), gives each product a real-looking
name and description (sentences of the demo catalogue, store/demo_data/catalog.csv, mixed),
builds the keyword index with the project's code (``rebuild_keywords``) and, beside it, the
previous release's index (the 'simple' dictionary over ``language.keyword_terms``) in a scratch
column. Then each query of eval/search_qrels.csv runs, in random order on every round, as:

- ``hybrid``: ``search_products(mode="hybrid")``, the code path of GET /api/shopai/search;
- ``hybrid_previous``: the previous release's hybrid search (nearest_products + a ``ts_rank_cd``
  keyword query over the scratch column + reciprocal rank fusion), copied here;
- ``keyword`` / ``keyword_previous``: the keyword halves alone.

    .venv/bin/python bench/keyword_search.py [--products 20000] [--rounds 5]

Results: bench/results/keyword_search.json (p50/p90 per shape and the ratios).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import time
from pathlib import Path

import _env  # noqa: F401  (bench/ on sys.path)
import _synthetic

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "keyword_search.json"
SEED = 7


def product_texts(n: int) -> list[tuple[str, str]]:
    """``n`` (name, description) pairs: a demo product's name with a variant word, and sentences of three."""
    with (REPO / "store" / "demo_data" / "catalog.csv").open(encoding="utf-8", newline="") as handle:
        base = [row for row in csv.DictReader(handle)]
    sentences = [[part.strip() + "." for part in row["description"].split(". ") if part.strip()] for row in base]
    variants = "Classic Pro Lite Trail Urban Everyday Travel Summer Winter Kids Womens Mens Compact Deluxe".split()
    rng = random.Random(SEED)
    texts = []
    for i in range(n):
        row = base[i % len(base)]
        picked = [rng.choice(sentences[rng.randrange(len(base))]) for _ in range(2)]
        own = sentences[i % len(base)][:2]
        texts.append((f"{rng.choice(variants)} {row['name']}"[:200], " ".join(own + picked)))
    return texts


def previous_keyword(*, query: str, products, model_name: str, k: int) -> list[tuple[str, float]]:
    """The previous release's keyword query: 'simple' dictionary, OR of terms, ts_rank_cd."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection
    from django.db.models import CharField
    from django.db.models.functions import Cast

    from shopai.core.language import keyword_terms

    previous_stopwords = frozenset(
        "the and for you your with that this are was can any some something anything thing things what which "
        "who how want need looking look find buy good best great nice really very have has get got from into "
        "not but all one about at home use using".split()
    )
    terms = keyword_terms(query) - previous_stopwords
    if not terms:
        return []
    content_type = ContentType.objects.get_for_model(products.model, for_concrete_model=False)
    allowed = products.order_by().annotate(pk_text=Cast("pk", output_field=CharField())).values("pk_text")
    allowed_sql, allowed_params = allowed.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT object_pk, ts_rank_cd(keywords_previous, q) AS rank "
            "FROM shopai_productembedding, to_tsquery('simple', %s) AS q "
            "WHERE content_type_id = %s AND model_name = %s AND keywords_previous @@ q "
            f"AND object_pk IN ({allowed_sql}) "
            "ORDER BY rank DESC, object_pk LIMIT %s",
            [" | ".join(sorted(terms)), content_type.pk, model_name, *allowed_params, k],
        )
        return [(pk, float(rank)) for pk, rank in cursor.fetchall()]


def previous_search(query: str, *, k: int = 10, mode: str = "hybrid") -> list:
    """The previous release's search_products (reciprocal rank fusion, k = 60)."""
    from shopai.adapters import filter_products, get_product_adapter
    from shopai.backends import get_embedding_backend
    from shopai.conf import shopai_settings
    from shopai.search import nearest_products

    adapter, backend = get_product_adapter(), get_embedding_backend()
    products = filter_products(adapter.get_searchable_queryset())
    depth = max(k, int(shopai_settings.SEARCH_MAX_K))
    ranked: dict[str, float] = {}
    if mode == "hybrid":
        rows = nearest_products(vector=backend.embed_query(query), products=products, model_name=backend.name, k=depth)
        for rank, (pk, _) in enumerate(rows, start=1):
            ranked[pk] = ranked.get(pk, 0.0) + 1.0 / (60 + rank)
    rows = previous_keyword(query=query, products=products, model_name=backend.name, k=depth)
    for rank, (pk, score) in enumerate(rows, start=1):
        ranked[pk] = score if mode == "keyword" else ranked.get(pk, 0.0) + 1.0 / (60 + rank)
    order = sorted(ranked.items(), key=lambda item: (-item[1], item[0]))[:k]
    by_pk = {str(p.pk): p for p in products.filter(pk__in=[pk for pk, _ in order])}
    return [by_pk[pk] for pk, _ in order if pk in by_pk]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    _synthetic.setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings

    from shopai.backends import get_embedding_backend
    from shopai.conf import DEFAULTS
    from shopai.core.language import keyword_terms
    from shopai.search.embeddings import rebuild_keywords
    from shopai.search.hybrid import search_products

    call_command("migrate", interactive=False, verbosity=0)
    override_settings(
        SHOPAI={**settings.SHOPAI, "EMBEDDINGS": {**settings.SHOPAI["EMBEDDINGS"], **DEFAULTS["EMBEDDINGS"]}},
        # The vector bench's settings point Redis nowhere; keyword search caches BM25's totals, and a
        # shop has a working cache: an in-process one stands in for Redis here.
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    ).enable()
    backend = get_embedding_backend()
    print(f"Loading {args.products} products", flush=True)
    catalogue = _synthetic.make_catalogue(args.products, seed=SEED)
    loaded = _synthetic.load_catalogue(catalogue, backend.name)
    texts = product_texts(args.products)
    pks = [int(pk) for pk in loaded["pks"]]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE store_product AS p SET name = v.name, description = v.description "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS v(id, name, description) WHERE p.id = v.id",
            [pks, [name for name, _ in texts], [description for _, description in texts]],
        )
    started = time.perf_counter()
    rewritten = rebuild_keywords()
    keyword_seconds = time.perf_counter() - started
    print(f"Keyword index of {rewritten} products built in {keyword_seconds:.1f}s", flush=True)
    from shopai.adapters import ProductAdapter

    adapter = ProductAdapter()
    from store.models import Product

    started = time.perf_counter()
    words = {
        str(product.pk): " ".join(sorted(keyword_terms(adapter.get_text(product))))
        for product in Product.objects.select_related("category")
    }
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE shopai_productembedding ADD COLUMN IF NOT EXISTS keywords_previous tsvector")
        cursor.execute(
            "UPDATE shopai_productembedding AS e SET keywords_previous = to_tsvector('simple', v.words) "
            "FROM unnest(%s::text[], %s::text[]) AS v(pk, words) WHERE e.object_pk = v.pk",
            [list(words), list(words.values())],
        )
        previous_seconds = time.perf_counter() - started
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS bench_keywords_previous "
            "ON shopai_productembedding USING gin (keywords_previous)"
        )
        cursor.execute("ANALYZE shopai_productembedding")
    with (REPO / "eval" / "search_qrels.csv").open(encoding="utf-8", newline="") as handle:
        queries = sorted({row["query"] for row in csv.DictReader(handle)})
    shapes = {
        "hybrid": lambda q: search_products(query=q, k=10, mode="hybrid"),
        "hybrid_previous": lambda q: previous_search(q, mode="hybrid"),
        "keyword": lambda q: search_products(query=q, k=10, mode="keyword"),
        "keyword_previous": lambda q: previous_search(q, mode="keyword"),
    }
    for query in queries[:3]:  # warm-up: model, caches, plans
        for run in shapes.values():
            run(query)
    timings: dict[str, list[float]] = {name: [] for name in shapes}
    rng = random.Random(SEED)
    for round_number in range(args.rounds):
        for query in queries:
            order = list(shapes)
            rng.shuffle(order)
            for name in order:
                started = time.perf_counter()
                shapes[name](query)
                timings[name].append((time.perf_counter() - started) * 1000)
        print(f"round {round_number + 1}/{args.rounds}", flush=True)
    summary = {
        name: {
            "p50_ms": round(statistics.median(values), 2),
            "p90_ms": round(statistics.quantiles(values, n=10)[-1], 2),
            "n": len(values),
        }
        for name, values in timings.items()
    }
    ratios = {
        "hybrid_p50": round(summary["hybrid"]["p50_ms"] / summary["hybrid_previous"]["p50_ms"], 3),
        "keyword_p50": round(summary["keyword"]["p50_ms"] / summary["keyword_previous"]["p50_ms"], 3),
    }
    report = {
        "products": args.products,
        "queries": len(queries),
        "rounds": args.rounds,
        "model": backend.name,
        # Building the keyword index of every product (reading products included), without the model:
        # this version (4 weighted to_tsvector) vs the previous ('simple' over Python-made terms).
        "keyword_index_seconds": round(keyword_seconds, 2),
        "previous_keyword_index_seconds": round(previous_seconds, 2),
        "summary": summary,
        "ratio_to_previous": ratios,
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "python": sys.version.split()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"summary": summary, "ratio_to_previous": ratios}, indent=1))


if __name__ == "__main__":
    main()
