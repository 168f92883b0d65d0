"""Embedding models side by side: vectors of any width, one HNSW index per model, and which model serves.

Vector columns are plain ``vector`` (no fixed width), so a 384-d and a 512-d model can share the
product and FAQ tables. pgvector indexes only vectors of one width, so every model gets a partial
HNSW index per table on ``(embedding::vector(<width>))`` restricted to ``model_name = '<name>'``;
queries cast the column the same way and filter by the model, which is what lets the planner pick
that index (``search.selectors``). The index is created by shopai itself the first time a model
writes vectors (``register``), by ``shopai_reindex`` and by the migration that introduced this —
idempotent, ``CONCURRENTLY`` outside a transaction, an invalid leftover of an interrupted build is
dropped and built again.

Switching the product model: configure the new one as ``SHOPAI["EMBEDDINGS"]["default"]`` and keep
the old one under an alias listed in ``SEARCH["FALLBACK_EMBEDDINGS"]`` (default ``["previous"]``),
then run ``shopai_reindex``. Until every searchable product has a vector of the new model
(``EmbeddingSpace.completed_at``), queries are embedded by, and searched among the vectors of, the
old one; ``shopai_reindex --prune`` then drops the vectors and indexes of models no longer configured.
"""

from __future__ import annotations

import hashlib
import logging

from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.utils import timezone
from psycopg import sql

from shopai.backends import get_embedding_backend
from shopai.conf import shopai_settings
from shopai.models import EmbeddingSpace, FAQEmbedding, ProductEmbedding
from shopai.models.vectors import HNSW_EF_CONSTRUCTION, HNSW_M

logger = logging.getLogger(__name__)

# Tables holding vectors searched by nearness, and the short name their indexes carry.
INDEXED = ((ProductEmbedding, "product"), (FAQEmbedding, "faq"))


def index_name(short: str, model_name: str) -> str:
    """A stable name per table and model, within Postgres's 63 characters."""
    return f"shopai_{short}_hnsw_{hashlib.sha256(model_name.encode()).hexdigest()[:16]}"


def index_state(name: str) -> bool | None:
    """True: a valid index of that name exists; False: an invalid one (an interrupted build); None: none."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = %s AND pg_catalog.pg_table_is_visible(c.oid)",
            [name],
        )
        row = cursor.fetchone()
    return None if row is None else bool(row[0])


def ensure_indexes(model_name: str, dimensions: int) -> list[str]:
    """Create the model's HNSW indexes where missing (idempotent); returns the names created."""
    dimensions = int(dimensions)
    if not 0 < dimensions <= 2000:  # pgvector indexes vectors of up to 2,000 dimensions
        raise ImproperlyConfigured(f"{model_name!r}: {dimensions}-d vectors cannot have an HNSW index (1 to 2000).")
    concurrently = not connection.in_atomic_block
    created = []
    if not concurrently and any(index_state(index_name(short, model_name)) is not True for _, short in INDEXED):
        # Inside a transaction Postgres refuses CREATE INDEX while deferred foreign-key checks are
        # pending (rows written earlier in it): run those checks now (they would run at commit).
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for model, short in INDEXED:
        name = index_name(short, model_name)
        state = index_state(name)
        if state:
            continue
        with connection.cursor() as cursor:
            if state is False:
                logger.warning("Index %s was left invalid by an interrupted build; building it again.", name)
                cursor.execute(
                    sql.SQL("DROP INDEX {} IF EXISTS {}").format(
                        sql.SQL("CONCURRENTLY") if concurrently else sql.SQL(""), sql.Identifier(name)
                    )
                )
            cursor.execute(
                sql.SQL(
                    "CREATE INDEX {concurrently} IF NOT EXISTS {name} ON {table} USING hnsw "
                    "((embedding::vector({dims})) vector_cosine_ops) WITH (m = {m}, ef_construction = {ef}) "
                    "WHERE model_name = {model}"
                ).format(
                    concurrently=sql.SQL("CONCURRENTLY") if concurrently else sql.SQL(""),
                    name=sql.Identifier(name),
                    table=sql.Identifier(model._meta.db_table),
                    dims=sql.Literal(dimensions),
                    m=sql.Literal(HNSW_M),
                    ef=sql.Literal(HNSW_EF_CONSTRUCTION),
                    model=sql.Literal(model_name),
                )
            )
        logger.info("Created HNSW index %s for %s (%d-d).", name, model_name, dimensions)
        created.append(name)
    return created


def drop_indexes(model_name: str) -> None:
    concurrently = sql.SQL("CONCURRENTLY") if not connection.in_atomic_block else sql.SQL("")
    with connection.cursor() as cursor:
        for _model, short in INDEXED:
            cursor.execute(
                sql.SQL("DROP INDEX {} IF EXISTS {}").format(
                    concurrently, sql.Identifier(index_name(short, model_name))
                )
            )


# Models whose space and indexes this process has seen in place (a process writes with one or two).
_registered: dict[str, int] = {}


def register(backend, *, force: bool = False) -> EmbeddingSpace | None:
    """The backend's space, and its indexes wherever they are missing (first write, or a build that
    was interrupted or dropped); checked once per process and model unless ``force``. None when
    this process had already checked.

    A model keeps the width it was first stored at: a backend of the same name giving another
    width is a configuration error (rename the model, or prune the old vectors), not a silent mix.
    """
    name, dimensions = backend.name, int(backend.dimensions)
    if not force and _registered.get(name) == dimensions and not connection.in_atomic_block:
        return None
    if not 0 < dimensions <= 2000:  # before anything is stored: pgvector indexes up to 2,000 dimensions
        raise ImproperlyConfigured(f"{name!r}: {dimensions}-d vectors cannot have an HNSW index (1 to 2000).")
    space, _ = EmbeddingSpace.objects.get_or_create(model_name=name, defaults={"dimensions": dimensions})
    if space.dimensions != dimensions:
        raise ImproperlyConfigured(
            f"Embedding model {name!r} is stored at {space.dimensions}-d but its backend gives "
            f"{dimensions}-d. Give the backend a new CONFIG name (its vectors are then stored "
            f"beside the old ones) or run `manage.py shopai_reindex --prune` after removing the old ones."
        )
    ensure_indexes(name, dimensions)  # idempotent: one catalogue lookup per table when they exist
    if not connection.in_atomic_block:  # inside a transaction the row and indexes may yet be rolled back
        _registered[name] = dimensions
    return space


def mark_complete(model_name: str) -> bool:
    """Record that every searchable product has a vector of this model (first time only)."""
    updated = EmbeddingSpace.objects.filter(model_name=model_name, completed_at__isnull=True).update(
        completed_at=timezone.now()
    )
    return bool(updated)


def fallback_aliases() -> list[str]:
    """Aliases of SEARCH["FALLBACK_EMBEDDINGS"] that are configured (in order)."""
    configured = shopai_settings.EMBEDDINGS
    return [alias for alias in shopai_settings.SEARCH.get("FALLBACK_EMBEDDINGS") or [] if alias in configured]


def serving_backend():
    """The embedding backend whose product vectors search, similar items, interests and segments use.

    The default backend, unless its vectors are still incomplete and a fallback's are complete
    (a model switch in progress). Without a configured fallback, no query is made.
    """
    default = get_embedding_backend()
    fallbacks = fallback_aliases()
    if not fallbacks:
        return default
    complete = set(EmbeddingSpace.objects.filter(completed_at__isnull=False).values_list("model_name", flat=True))
    if default.name in complete:
        return default
    for alias in fallbacks:
        backend = get_embedding_backend(alias)
        if backend.name in complete:
            return backend
    return default
