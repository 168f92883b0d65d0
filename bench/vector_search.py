"""Vector search: HNSW vs exact, the ef_search curve and category filters on 20k / 100k products.

Builds synthetic catalogues (bench/_synthetic.py: clustered unit vectors shaped like
multilingual-e5 embeddings) in a database of its own, ``shopai_bench_vec`` on the embedded
server, then queries them through the project's real code path,
``shopai.search.selectors.nearest_products`` over the searchable product queryset (with
``filter_products(category=...)`` for the filtered runs), and compares it with exact search
in SQL (the selector's own fallback query, whose ``+ 0`` hides the ordering from the index).
Ground truth is the exact top 10 by cosine computed in numpy from the same vectors.

    .venv/bin/python bench/vector_search.py            # quick: 20k products, up to 100 queries per set
    .venv/bin/python bench/vector_search.py --full     # 20k and 100k products, up to 200 queries per set
    .venv/bin/python bench/vector_search.py --full --maintenance-work-mem 1GB   # HNSW build with more memory

What it measures, per catalogue size:
- the HNSW build: rows loaded (products with bulk_create, vectors with a binary COPY) without
  the index, then the index exactly as the migrations define it (m=16, ef_construction=64,
  vector_cosine_ops) created and timed, with the server's maintenance_work_mem unless told
  otherwise; its size (pg_relation_size);
- five query sets: unfiltered; a category filter matching 1 % and one matching 10 % of the
  products, each with queries from anywhere and with queries near products of that category;
- per set, "project" configurations: nearest_products with ef_search in EF_SEARCH, the exact
  SQL query, and the search service's call (k=SEARCH_MAX_K=100 with HNSW_EF_SEARCH; the
  top 10 kept); p50/p99 latency, recall@10, fewest results (must be 10), fallbacks to exact,
  and the plan Postgres chose (EXPLAIN: HNSW index or not, and the join);
- per set, "exists" configurations: the same with the allowed products written as
  ``EXISTS (SELECT 1 FROM product WHERE id = object_pk::bigint AND ...)`` instead of the
  selector's ``object_pk IN (SELECT id::varchar ...)``. Not the project's code: a comparison
  that shows what the index gives when the planner can drive it.
Configurations of a group take turns on each query in a random order, so the load of other
work on the machine spreads evenly over them. The "project" group, whose plans can be slow,
stops after a time budget per set (20 s quick, 60 s full; at least 20 queries); the fast
"exists" group runs every query.

Results: bench/results/vector_search[_quick].json when run as a script; ``run()`` returns
the dict ("figures", "series", "summary", ...) to bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import _synthetic  # noqa: E402
from _synthetic import SEED, load_catalogue, setup_django  # noqa: E402

BENCH_DATABASE = _synthetic.DATABASE
RESULTS = REPO / "bench" / "results"
EF_SEARCH = [10, 20, 40, 64, 100, 200]
K = 10
TARGET_RECALL = 0.95
DISTANCE_TOLERANCE = 1e-5  # float32 distances in Postgres vs float64 in numpy: ties within this count as hits
# Filled by main() from --maintenance-work-mem; None: the server's setting (what a migration gets).
MAINTENANCE_WORK_MEM: str | None = None


# --- Django, on a database of its own (set up and loaded by bench/_synthetic.py) ------------


def server_settings() -> dict[str, str]:
    from django.db import connection

    names = [
        "server_version",
        "shared_buffers",
        "maintenance_work_mem",
        "work_mem",
        "max_parallel_maintenance_workers",
        "max_parallel_workers_per_gather",
        "hnsw.max_scan_tuples",
        "hnsw.scan_mem_multiplier",
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        found = {"pgvector": cursor.fetchone()[0]}
        cursor.execute("SELECT '[1]'::vector")  # loads the library, which defines the hnsw.* settings
        for name in names:
            cursor.execute(f"SHOW {name}")
            found[name] = cursor.fetchone()[0]
    return found


# --- Queries -----------------------------------------------------------------------------------
#
# Two shapes of the same query. "in": the project's (shopai.search.selectors.nearest_products), the
# allowed products as ``object_pk IN (SELECT id::varchar FROM product WHERE ...)``. "exists": an
# alternative measured for comparison only, ``EXISTS (SELECT 1 FROM product WHERE id =
# object_pk::bigint AND ...)``, which lets the planner drive the HNSW index and look each
# candidate up by primary key.


def embedding_queryset(*, shape: str, vector, products, model_name: str, k: int, exact: bool):
    """The selector's query (shape "in") or the EXISTS alternative; ``exact``: ordering hidden by "+ 0"."""
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Exists, OuterRef
    from django.db.models.functions import Cast
    from pgvector.django import CosineDistance, VectorField

    from shopai.adapters import product_pks_as_text
    from shopai.models import ProductEmbedding

    content_type = ContentType.objects.get_for_model(products.model, for_concrete_model=False)
    queryset = ProductEmbedding.objects.filter(content_type=content_type, model_name=model_name)
    if shape == "in":
        queryset = queryset.filter(object_pk__in=product_pks_as_text(products))
    else:
        pk = products.model._meta.pk
        queryset = queryset.filter(Exists(products.order_by().filter(pk=Cast(OuterRef("object_pk"), output_field=pk))))
    # As the selector: the column cast to the model's width, the expression its partial index is built on.
    distance = CosineDistance(Cast("embedding", VectorField(dimensions=len(vector))), list(map(float, vector)))
    return (
        queryset.annotate(distance=distance + 0.0 if exact else distance)
        .order_by("distance")
        .values_list("object_pk", "distance")[:k]
    )


def exact_products(*, vector, products, model_name: str, k: int) -> list[tuple[str, float]]:
    """Exact search in SQL: the selector's fallback query ("+ 0" keeps the planner off the index)."""
    from django.db import transaction

    with transaction.atomic():
        rows = list(
            embedding_queryset(shape="in", vector=vector, products=products, model_name=model_name, k=k, exact=True)
        )
    return [(pk, float(distance)) for pk, distance in rows]


def exists_products(*, vector, products, model_name: str, k: int, ef_search: int) -> list[tuple[str, float]]:
    """nearest_products with the EXISTS shape: same settings, same exact fallback when fewer than k rows."""
    from django.db import connection, transaction

    def query(exact: bool):
        return embedding_queryset(
            shape="exists", vector=vector, products=products, model_name=model_name, k=k, exact=exact
        )

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(int(ef_search), k)])
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        rows = list(query(False))
        if len(rows) < k:
            rows = list(query(True))
    return sorted(((pk, float(distance)) for pk, distance in rows), key=lambda row: row[1])


@contextmanager
def counting_selects(counter: list[int]):
    """Count the SELECTs on the embedding table: two per call means the selector fell back to exact."""
    from django.db import connection

    def wrapper(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("SELECT") and "shopai_productembedding" in sql:
            counter[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def explain(*, shape: str, vector, products, model_name: str, k: int, ef_search: int | None, analyze: bool) -> str:
    """EXPLAIN of one configuration's first query (ef_search None: the exact query)."""
    from django.db import connection, transaction

    queryset = embedding_queryset(
        shape=shape, vector=vector, products=products, model_name=model_name, k=k, exact=ef_search is None
    )
    with transaction.atomic():
        if ef_search is not None:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL hnsw.ef_search = %s", [max(int(ef_search), k)])
                cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        return queryset.explain(analyze=analyze, buffers=analyze)


def plan_kind(text: str) -> str:
    """A short name for a plan: does it scan the HNSW index, and how does it join the products?"""
    scan = "hnsw" if "_hnsw_" in text else "seq scan" if "Seq Scan on shopai_productembedding" in text else "btree"
    joins = [name for name in ("Hash Join", "Hash Semi Join", "Nested Loop Semi Join", "Nested Loop") if name in text]
    return f"{scan} + {joins[0].lower()}" if joins else scan


def plan_summary(text: str) -> list[str]:
    """The plan's node lines without costs or the query vector: scans, joins, rows removed, time."""
    keep = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("Sort Key", "Order By")):
            continue
        if any(word in stripped for word in ("Scan", "Join", "Sort", "Limit", "Rows Removed", "Gather", "Loop")):
            keep.append(line.split("  (cost")[0].rstrip())
        elif stripped.startswith(("Execution Time", "Index Cond", "Filter")):
            keep.append(line.rstrip()[:160])
    return keep


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def recall(returned: list[str], truth_index: np.ndarray, truth_distance: np.ndarray, index_of: dict, vectors, query):
    """recall@k of ``returned`` pks against the exact top k (ties within DISTANCE_TOLERANCE count as hits)."""
    k = len(truth_index)
    truth = set(truth_index.tolist())
    hits = 0
    for pk in returned[:k]:
        row = index_of[pk]
        if row in truth or 1.0 - float(np.dot(vectors[row], query)) <= truth_distance[-1] + DISTANCE_TOLERANCE:
            hits += 1
    return min(hits, k) / k


def configurations(*, products, model_name: str, default_ef: int, search_k: int) -> dict[str, dict]:
    """name -> {group, shape, k, ef (None: exact), call}. Group "project": the code path as it is."""
    from shopai.search import nearest_products

    def project(k: int, ef: int):
        return lambda vector: nearest_products(
            vector=vector, products=products, model_name=model_name, k=k, ef_search=ef
        )

    def alternative(k: int, ef: int):
        return lambda vector: exists_products(
            vector=vector, products=products, model_name=model_name, k=k, ef_search=ef
        )

    from shopai.conf import shopai_settings

    # The project's plan: exact over the allowed rows when the filter is narrow, else the index
    # with an EXISTS check per candidate (shopai.search.selectors.nearest_products).
    limit = int(shopai_settings.EXACT_SEARCH_MAX_ROWS)
    narrow = products.order_by().values("pk")[: limit + 1].count() <= limit
    shape = "in" if narrow else "exists"
    configs = {}
    for ef in EF_SEARCH:
        configs[f"ef={ef}"] = {
            "group": "project",
            "shape": shape,
            "k": K,
            "ef": ef,
            "explain_ef": None if narrow else ef,
            "call": project(K, ef),
        }
    configs["exact"] = {
        "group": "project",
        "shape": "in",
        "k": K,
        "ef": None,
        "call": lambda vector: exact_products(vector=vector, products=products, model_name=model_name, k=K),
    }
    # What search_products asks for: the candidate depth SEARCH_MAX_K with HNSW_EF_SEARCH; the top 10 are kept.
    configs["search"] = {
        "group": "project",
        "shape": shape,
        "k": search_k,
        "ef": default_ef,
        "explain_ef": None if narrow else default_ef,
        "call": project(search_k, default_ef),
    }
    for ef in EF_SEARCH:
        configs[f"exists ef={ef}"] = {
            "group": "exists",
            "shape": "exists",
            "k": K,
            "ef": ef,
            "call": alternative(K, ef),
        }
    configs["exists search"] = {
        "group": "exists",
        "shape": "exists",
        "k": search_k,
        "ef": default_ef,
        "call": alternative(search_k, default_ef),
    }
    return configs


def measure_set(
    *,
    label: str,
    queries: np.ndarray,
    allowed: np.ndarray,
    products,
    catalogue: _synthetic.Catalogue,
    index_of: dict,
    model_name: str,
    default_ef: int,
    search_k: int,
    budget_seconds: float,
    min_queries: int,
    rng: np.random.Generator,
) -> dict:
    """Every configuration on one query set. Within a group the configurations take turns on each query
    (in a random order); the slow "project" group stops after ``budget_seconds`` (at least
    ``min_queries`` queries), the fast "exists" group runs every query."""
    truth_index, truth_distance = _synthetic.exact_neighbours(catalogue.vectors, queries, K, allowed)
    deep_index, deep_distance = _synthetic.exact_neighbours(catalogue.vectors, queries, search_k, allowed)
    configs = configurations(products=products, model_name=model_name, default_ef=default_ef, search_k=search_k)
    first = queries[0].tolist()
    plans = {}
    for name, config in configs.items():
        text = explain(
            shape=config["shape"],
            vector=first,
            products=products,
            model_name=model_name,
            k=config["k"],
            ef_search=config.get("explain_ef", config["ef"]),
            analyze=False,
        )
        plans[name] = plan_kind(text)
    latency = {name: [] for name in configs}
    recalls = {name: [] for name in configs}
    deep_recalls = {name: [] for name in configs}
    counts = {name: [] for name in configs}
    fallbacks = dict.fromkeys(configs, 0)
    selects = [0]
    used = {}
    for group in ("project", "exists"):
        names = [name for name, config in configs.items() if config["group"] == group]
        for query in queries[: 1 if group == "project" else 3]:  # warm-up: pages into the caches, plans
            for name in names:
                configs[name]["call"](query.tolist())
        began = time.perf_counter()
        done = 0
        with counting_selects(selects):
            for i, query in enumerate(queries):
                if group == "project" and done >= min_queries and time.perf_counter() - began > budget_seconds:
                    break
                vector = query.tolist()
                for name in rng.permutation(names):
                    config = configs[name]
                    before = selects[0]
                    started = time.perf_counter()
                    rows = config["call"](vector)
                    latency[name].append((time.perf_counter() - started) * 1000)
                    if config["ef"] is not None and selects[0] - before > 1:
                        fallbacks[name] += 1
                    returned = [pk for pk, _ in rows]
                    counts[name].append(min(len(returned), K))
                    recalls[name].append(
                        recall(returned[:K], truth_index[i], truth_distance[i], index_of, catalogue.vectors, query)
                    )
                    if config["k"] == search_k:
                        deep_recalls[name].append(
                            recall(returned, deep_index[i], deep_distance[i], index_of, catalogue.vectors, query)
                        )
                done += 1
        used[group] = done
    out = {}
    for name, config in configs.items():
        out[name] = {
            "plan": plans[name],
            "k": config["k"],
            "ef_search": config["ef"],
            "queries": len(latency[name]),
            "p50_ms": round(percentile(latency[name], 50), 2),
            "p99_ms": round(percentile(latency[name], 99), 2),
            "mean_ms": round(float(np.mean(latency[name])), 2),
            "recall_at_10": round(float(np.mean(recalls[name])), 4),
            "min_recall_at_10": round(float(np.min(recalls[name])), 2),
            "queries_below_0.8": int(np.sum(np.asarray(recalls[name]) < 0.8)),
            "results_min": int(np.min(counts[name])),
            "queries_with_10_results": int(np.sum(np.asarray(counts[name]) >= K)),
            "fallbacks_to_exact": fallbacks[name],
        }
        if deep_recalls[name]:
            out[name][f"recall_at_{search_k}"] = round(float(np.mean(deep_recalls[name])), 4)
    return {"label": label, "queries": used, "allowed_products": int(allowed.sum()), "configs": out}


def run_size(n: int, *, quick: bool, model_name: str, default_ef: int, search_k: int) -> dict:
    from shopai.adapters import filter_products, get_product_adapter

    queries_per_set = 100 if quick else 200
    print(f"\n[{n:,}] generating the catalogue", flush=True)
    started = time.perf_counter()
    catalogue = _synthetic.make_catalogue(n, seed=SEED + n)
    generate_seconds = time.perf_counter() - started
    print(f"[{n:,}] loading it into {BENCH_DATABASE!r} and building the HNSW index", flush=True)
    load_before = os.getloadavg()
    loaded = load_catalogue(catalogue, model_name, maintenance_work_mem=MAINTENANCE_WORK_MEM)
    timings = loaded["timings"]
    print(
        f"[{n:,}] products {timings['products_seconds']:.1f}s, vectors (COPY) "
        f"{timings['embeddings_copy_seconds']:.1f}s, HNSW build {timings['index_build_seconds']:.1f}s "
        f"({loaded['index_bytes'] / 2**20:.1f} MiB, maintenance_work_mem {loaded['build_maintenance_work_mem']})",
        flush=True,
    )
    for notice in loaded["build_notices"]:
        print(f"[{n:,}] notice: {notice}", flush=True)
    index_of = {str(pk): i for i, pk in enumerate(loaded["pks"].tolist())}

    searchable = get_product_adapter().get_searchable_queryset()
    general = _synthetic.make_queries(catalogue, queries_per_set, seed=SEED + n + 1)
    stats = _synthetic.stats(catalogue.vectors, general, seed=SEED)
    sets = [("unfiltered", general, catalogue.active, searchable)]
    for share, category in (("1%", catalogue.niche), ("10%", catalogue.large)):
        in_category = catalogue.active & (catalogue.categories == category)
        products = filter_products(searchable, category=loaded["categories"][category])
        near = _synthetic.make_queries(
            catalogue, queries_per_set, seed=SEED + n + 2 + category, among=np.flatnonzero(in_category)
        )
        sets.append((f"{share} filter, any query", general, in_category, products))
        sets.append((f"{share} filter, query in category", near, in_category, products))

    rng = np.random.default_rng(SEED)
    results = []
    for label, queries, allowed, products in sets:
        began = time.perf_counter()
        result = measure_set(
            label=label,
            queries=queries,
            allowed=allowed,
            products=products,
            catalogue=catalogue,
            index_of=index_of,
            model_name=model_name,
            default_ef=default_ef,
            search_k=search_k,
            budget_seconds=20 if quick else 60,
            min_queries=20,
            rng=rng,
        )
        result["seconds"] = round(time.perf_counter() - began, 1)
        result["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
        results.append(result)
        print(f"[{n:,}] {label}: {result['allowed_products']:,} allowed, queries {result['queries']}", flush=True)
        for name, c in result["configs"].items():
            print(
                f"    {name:<16} {c['plan']:<28} recall@10 {c['recall_at_10']:.3f}  p50 {c['p50_ms']:7.1f} ms  "
                f"p99 {c['p99_ms']:7.1f} ms  min results {c['results_min']}  fallbacks {c['fallbacks_to_exact']}",
                flush=True,
            )
    plans = {}
    query = general[0].tolist()
    for label, _, _, products in sets[:1] + sets[1::2]:  # unfiltered and "any query" per filter
        plans[label] = {
            f"{shape} {'exact' if ef is None else f'ef={ef}'}": plan_summary(
                explain(
                    shape=shape, vector=query, products=products, model_name=model_name, k=K, ef_search=ef, analyze=True
                )
            )
            for shape, ef in (("in", default_ef), ("in", None), ("exists", default_ef))
        }
    return {
        "products": n,
        "searchable_products": int(catalogue.active.sum()),
        "generate_seconds": round(generate_seconds, 2),
        "load_average_before": [round(v, 2) for v in load_before],
        "load": {key: value for key, value in loaded.items() if key not in ("pks", "categories")},
        "synthetic_stats": {key: round(value, 4) for key, value in stats.items()},
        "sets": results,
        "plans": plans,
    }


# --- Report -------------------------------------------------------------------------------------


def smallest_ef(configs: dict, prefix: str = "") -> int | None:
    for ef in EF_SEARCH:
        if configs[f"{prefix}ef={ef}"]["recall_at_10"] >= TARGET_RECALL:
            return ef
    return None


def short(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def report(sizes: list[dict], *, default_ef: int) -> tuple[list[dict], dict, str, dict]:
    figures: list[dict] = []
    series: dict = {}
    lines: list[str] = []

    def figure(name: str, value, unit: str) -> None:
        figures.append({"name": name, "value": value, "unit": unit})

    for size in sizes:
        n = short(size["products"])
        load = size["load"]
        figure(f"{n}: HNSW build (m=16, ef_construction=64)", load["timings"]["index_build_seconds"], "s")
        figure(f"{n}: HNSW index size", round(load["index_bytes"] / 2**20, 1), "MiB")
        sets = {result["label"]: result for result in size["sets"]}
        unfiltered = sets["unfiltered"]["configs"]
        figure(f"{n}: exact SQL p50", unfiltered["exact"]["p50_ms"], "ms")
        figure(f"{n}: exact SQL p99", unfiltered["exact"]["p99_ms"], "ms")
        for prefix, what in (("", "nearest_products"), ("exists ", "EXISTS shape")):
            for ef in EF_SEARCH:
                config = unfiltered[f"{prefix}ef={ef}"]
                figure(f"{n}: {what} ef_search={ef} p50", config["p50_ms"], "ms")
                figure(f"{n}: {what} ef_search={ef} recall@10", config["recall_at_10"], "")
            figure(
                f"{n}: exact p50 / {what} ef_search={default_ef} p50",
                round(unfiltered["exact"]["p50_ms"] / unfiltered[f"{prefix}ef={default_ef}"]["p50_ms"], 1),
                "x",
            )
        for label, result in sets.items():
            if label == "unfiltered":
                continue
            for prefix, what in (("", "nearest_products"), ("exists ", "EXISTS shape")):
                config = result["configs"][f"{prefix}ef={default_ef}"]
                figure(f"{n}: {label}, {what} ef_search={default_ef} recall@10", config["recall_at_10"], "")
                figure(f"{n}: {label}, {what} ef_search={default_ef} p50", config["p50_ms"], "ms")
                figure(f"{n}: {label}, {what} ef_search={default_ef} fewest results", config["results_min"], "")
            figure(f"{n}: {label}, exact p50", result["configs"]["exact"]["p50_ms"], "ms")
        for prefix in ("", "exists "):
            name = f"{prefix}search"
            what = "search service call" if not prefix else "search call, EXISTS shape"
            figure(f"{n}: {what} (k={unfiltered[name]['k']}) p50", unfiltered[name]["p50_ms"], "ms")
            figure(f"{n}: {what} (k={unfiltered[name]['k']}) recall@10", unfiltered[name]["recall_at_10"], "")

        for prefix, key in (("", "project"), ("exists ", "exists")):
            series[f"recall_vs_latency_{n}_{key}"] = {
                "x": [],
                "xs": {
                    lbl: [r["configs"][f"{prefix}ef={ef}"]["p50_ms"] for ef in EF_SEARCH] for lbl, r in sets.items()
                },
                "ys": {
                    lbl: [r["configs"][f"{prefix}ef={ef}"]["recall_at_10"] for ef in EF_SEARCH]
                    for lbl, r in sets.items()
                },
                "ef_search": EF_SEARCH,
                "xlabel": "p50 latency (ms)",
                "ylabel": "recall@10",
                "title": f"{n} products, {'nearest_products' if not prefix else 'EXISTS shape'}: "
                f"ef_search {EF_SEARCH[0]}..{EF_SEARCH[-1]}",
            }

        lines += [
            f"**{n} products** ({size['searchable_products']:,} searchable). HNSW build "
            f"{load['timings']['index_build_seconds']:.1f} s "
            f"(maintenance_work_mem {load['build_maintenance_work_mem']}), "
            f"index {load['index_bytes'] / 2**20:.1f} MiB; load average before {size['load_average_before']}.",
            "",
            "| query set | config | plan | queries | p50 ms | p99 ms | recall@10 | min results | fallbacks |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for label, result in sets.items():
            for name, config in result["configs"].items():
                shown = name if "search" not in name else f"{name} (k={config['k']}, ef={config['ef_search']})"
                lines.append(
                    f"| {label} | {shown} | {config['plan']} | {config['queries']} | {config['p50_ms']:.1f} | "
                    f"{config['p99_ms']:.1f} | {config['recall_at_10']:.3f} | {config['results_min']} | "
                    f"{config['fallbacks_to_exact']} |"
                )
        lines.append("")

    largest = short(sizes[-1]["products"])
    last = {result["label"]: result["configs"] for result in sizes[-1]["sets"]}
    advice: dict = {"at": largest, "target_recall_at_10": TARGET_RECALL, "current_default": default_ef}
    head = []
    for prefix, key, what in (("", "project", "nearest_products as it is"), ("exists ", "exists", "EXISTS shape")):
        needed = {label: smallest_ef(configs, prefix) for label, configs in last.items()}
        reachable = [value for value in needed.values() if value is not None]
        unreachable = [label for label, value in needed.items() if value is None]
        overall = max(reachable) if reachable else None
        below = [
            label
            for label, configs in last.items()
            if configs[f"{prefix}ef={default_ef}"]["recall_at_10"] < TARGET_RECALL
        ]
        plans = {label: configs[f"{prefix}ef={default_ef}"]["plan"] for label, configs in last.items()}
        on_index = [label for label, plan in plans.items() if plan.startswith("hnsw")]
        advice[key] = {
            "smallest_ef_search_per_set": needed,
            "recommended_ef_search": overall,
            "sets_no_ef_search_reaches": unreachable,
            "current_default_meets_target": not below,
            "sets_below_target_at_default": below,
            f"plan_at_ef_search_{default_ef}": plans,
        }
        figure(f"{largest}: {what}: smallest ef_search with recall@10 >= {TARGET_RECALL}", overall, "")
        head.append(
            f"- {what}, {largest} products: the HNSW index is used at ef_search={default_ef} on "
            + ("; ".join(on_index) if on_index else "no query set")
            + (" (the others run exact)" if len(on_index) < len(plans) else "")
            + f". Smallest ef_search with recall@10 ≥ {TARGET_RECALL}: "
            + "; ".join(f"{label}: {value if value is not None else 'none'}" for label, value in needed.items())
            + f" → {overall}"
            + (f" (no ef_search up to {EF_SEARCH[-1]} reaches it on: {'; '.join(unreachable)})" if unreachable else "")
            + f". HNSW_EF_SEARCH={default_ef} "
            + ("meets it on every set." if not below else f"falls short on: {'; '.join(below)}.")
        )
    lines[:0] = [*head, ""]
    return figures, series, "\n".join(lines), advice


def run(*, quick: bool, data_dir: Path, sizes: list[int] | None = None) -> dict:
    """The benchmark (``data_dir`` is unused: the catalogues are generated)."""
    began = time.perf_counter()
    setup_django()
    from django.core.management import call_command

    from shopai.backends import get_embedding_backend
    from shopai.conf import shopai_settings

    load_at_start = [round(v, 2) for v in os.getloadavg()]
    print(f"Migrating {BENCH_DATABASE!r} on the embedded server (load average {load_at_start})", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    backend = get_embedding_backend()
    model_name = backend.name  # a property of the configuration: the model is not loaded
    default_ef = int(shopai_settings.HNSW_EF_SEARCH)
    search_k = int(shopai_settings.SEARCH_MAX_K)
    sizes = sizes or ([20_000] if quick else [20_000, 100_000])
    server = server_settings()
    measured = [
        run_size(n, quick=quick, model_name=model_name, default_ef=default_ef, search_k=search_k) for n in sizes
    ]
    figures, series, summary, advice = report(measured, default_ef=default_ef)
    load_at_end = [round(v, 2) for v in os.getloadavg()]
    figures.append(
        {"name": "load average (1 min) at start / end", "value": f"{load_at_start[0]} / {load_at_end[0]}", "unit": ""}
    )
    summary += (
        f"\nLoad average at start {load_at_start}, at end {load_at_end} on {os.cpu_count()} CPUs "
        "(other work shares the machine). p99 of 20-200 queries is close to the maximum. "
        '"exists" rows: the index-driven query shape alone (no exact plan for narrow filters); since this '
        "benchmark showed the former IN-subquery shape scanning the whole table, nearest_products uses it for "
        "wide filters and an exact plan for filters allowing at most EXACT_SEARCH_MAX_ROWS products."
    )
    return {
        "benchmark": "vector search: HNSW vs exact, ef_search, category filters (synthetic e5-like catalogues)",
        "mode": "quick" if quick else "full",
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "database": BENCH_DATABASE,
        "server": server,
        "embedding_model_name": model_name,
        "hnsw_ef_search_setting": default_ef,
        "search_max_k": search_k,
        "recommendation": advice,
        "figures": figures,
        "series": series,
        "summary": summary,
        "sizes": measured,
        "load_average": {"start": load_at_start, "end": load_at_end},
        "seconds": round(time.perf_counter() - began, 1),
    }


def main(argv: list[str] | None = None) -> int:
    global MAINTENANCE_WORK_MEM
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="20k products, 100 queries per set (the default).")
    mode.add_argument("--full", action="store_true", help="20k and 100k products, 200 queries per set.")
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data", help="Unused.")
    parser.add_argument(
        "--maintenance-work-mem",
        help="maintenance_work_mem for the HNSW build, e.g. 512MB (default: the server's, as a migration gets).",
    )
    parser.add_argument("--out", type=Path, help="Result JSON (default bench/results/vector_search[_quick].json).")
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        help="Catalogue sizes instead of the mode's, e.g. --sizes 1000000 (docs/operations.md).",
    )
    args = parser.parse_args(argv)
    MAINTENANCE_WORK_MEM = args.maintenance_work_mem
    result = run(quick=not args.full, data_dir=args.data_dir, sizes=args.sizes)
    out = args.out or RESULTS / f"vector_search{'' if args.full else '_quick'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print("\n" + result["summary"])
    print(f"\nWrote {out} ({result['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
