"""Embedding products into pgvector: hash-checked, batched, idempotent."""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.search import SearchVectorField
from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, CharField, Exists, Expression, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from shopai import signals
from shopai.adapters import content_hash, get_product_adapter
from shopai.backends import get_embedding_backend
from shopai.conf import shopai_settings
from shopai.core import counters as stats
from shopai.core import vector_spaces
from shopai.core.chinese_words import keyword_format
from shopai.core.language import keyword_text
from shopai.core.on_commit import CommitBatch
from shopai.core.tasks import QueueUnavailable, queue_task
from shopai.models import EmbeddingSpace, ProductEmbedding
from shopai.search.selectors import forget_keyword_totals

logger = logging.getLogger(__name__)


@dataclass
class EmbedReport:
    """What one embedding run did; ``embedded`` is the number of texts sent to the model."""

    embedded: int = 0
    unchanged: int = 0
    failed: int = 0
    removed: int = 0
    seconds: float = 0.0
    failed_pks: list[str] = field(default_factory=list)

    def merge(self, other: EmbedReport) -> None:
        self.embedded += other.embedded
        self.unchanged += other.unchanged
        self.failed += other.failed
        self.removed += other.removed
        self.failed_pks += other.failed_pks

    @property
    def processed(self) -> int:
        return self.embedded + self.unchanged + self.failed

    @property
    def per_second(self) -> float:
        return self.processed / self.seconds if self.seconds else 0.0


def _product_content_type() -> ContentType:
    adapter = get_product_adapter()
    return ContentType.objects.get_for_model(adapter.model, for_concrete_model=False)


def _texts_for(pks: Sequence[str]) -> dict[str, str]:
    adapter = get_product_adapter()
    products = adapter.get_queryset().filter(pk__in=list(pks))
    return {str(product.pk): adapter.get_text(product) for product in products}


def _fields_for(pks: Sequence[str]) -> dict[str, list[str]]:
    """The text fields of these products (PRODUCT_TEXT_FIELDS, in order), for the keyword index."""
    adapter = get_product_adapter()
    products = adapter.get_queryset().filter(pk__in=list(pks))
    return {str(product.pk): adapter.get_text_fields(product) for product in products}


def embed_products(*, product_pks: Iterable, force: bool = False, batch_size: int | None = None) -> EmbedReport:
    """Bring the stored vectors of these products up to date with their text.

    Only texts whose hash changed (or that were never embedded, or are stale)
    reach the model. Products that no longer exist lose their embeddings. Safe to
    run twice or concurrently: writes are upserts of the text read last.
    """
    return _finish(_begin(product_pks, force=force, batch_size=batch_size, submit=_run_now))


@dataclass
class _Chunk:
    """Products whose texts were read and whose vectors are being computed (``vectors``)."""

    report: EmbedReport
    started: float
    content_type: ContentType | None = None
    model_name: str = ""
    texts: dict[str, str] = field(default_factory=dict)
    todo: list[str] = field(default_factory=list)
    vectors: Future | None = None
    locks: list[int] = field(default_factory=list)


def _lock_keys(content_type_id: int, pks: Sequence[str]) -> list[int]:
    """Advisory lock keys, one per product (a 64-bit slice of a hash: a collision only serialises)."""
    keys = {
        int.from_bytes(hashlib.sha256(f"shopai-embed:{content_type_id}:{pk}".encode()).digest()[:8], "big", signed=True)
        for pk in pks
    }
    return sorted(keys)


def _lock(keys: list[int]) -> None:
    """Wait until no other embedder holds these products (in key order: two never deadlock). Session
    locks on this process's connection: a worker killed mid-batch loses its connection, and with
    it its locks, so nothing stays locked."""
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_advisory_lock(k)) "
                "FROM (SELECT k FROM unnest(%s::bigint[]) AS k ORDER BY k) AS ordered",
                [keys],
            )


def _unlock(keys: list[int]) -> None:
    if keys:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(pg_advisory_unlock(k)) FROM unnest(%s::bigint[]) AS k", [keys])


def _run_now(fn: Callable, *args) -> Future:
    future: Future = Future()
    try:
        future.set_result(fn(*args))
    except Exception as exc:
        future.set_exception(exc)
    return future


def _begin(product_pks: Iterable, *, force: bool, batch_size: int | None, submit: Callable) -> _Chunk:
    """Read the products, drop vectors of deleted ones, pick the texts that need the model and hand
    them to ``submit(fn, *args) -> Future``. Database work happens here, in the calling thread."""
    chunk = _Chunk(report=EmbedReport(), started=time.perf_counter())
    pks = [str(pk) for pk in dict.fromkeys(product_pks)]
    if not pks:
        return chunk
    backend = get_embedding_backend()
    vector_spaces.register(backend)  # its width and HNSW index, the first time this model writes
    content_type = _product_content_type()
    chunk.content_type, chunk.model_name = content_type, backend.name
    # One embedder per product at a time: a second one waits, then reads the text the first left
    # behind — so edit A then B always ends with B's vector, and a text is sent to the model once.
    chunk.locks = _lock_keys(content_type.pk, pks)
    _lock(chunk.locks)
    try:
        _read_and_submit(chunk, pks, backend=backend, force=force, batch_size=batch_size, submit=submit)
    except BaseException:
        _unlock(chunk.locks)
        raise
    return chunk


def _read_and_submit(chunk: _Chunk, pks: list[str], *, backend, force: bool, batch_size: int | None, submit) -> None:
    report, content_type = chunk.report, chunk.content_type
    chunk.texts = texts = _texts_for(pks)

    gone = [pk for pk in pks if pk not in texts]
    if gone:
        report.removed, _ = ProductEmbedding.objects.filter(content_type=content_type, object_pk__in=gone).delete()
        forget_keyword_totals(content_type_id=content_type.pk, model_name=backend.name)

    existing = {
        row["object_pk"]: row
        for row in ProductEmbedding.objects.filter(
            content_type=content_type, model_name=backend.name, object_pk__in=list(texts)
        ).values("object_pk", "content_hash", "is_stale")
    }
    fresh_again = []
    for pk, text in texts.items():
        row = existing.get(pk)
        if not force and row and row["content_hash"] == content_hash(text):
            report.unchanged += 1
            if row["is_stale"]:  # flagged while the broker was down, but the text is as embedded
                fresh_again.append(pk)
        else:
            chunk.todo.append(pk)
    if fresh_again:
        ProductEmbedding.objects.filter(
            content_type=content_type, model_name=backend.name, object_pk__in=fresh_again
        ).update(is_stale=False)
    if chunk.todo:
        chunk.todo.sort(key=lambda pk: len(texts[pk]))  # similar lengths in one batch waste less padding
        size = batch_size or int(shopai_settings.EMBEDDING_BATCH_SIZE)
        batches = [[texts[pk] for pk in chunk.todo[i : i + size]] for i in range(0, len(chunk.todo), size)]
        chunk.vectors = submit(_embed_batches, backend, batches)


def _embed_batches(backend, batches: list[list[str]]) -> np.ndarray:
    return np.concatenate([backend.embed_documents(batch) for batch in batches])


def _finish(chunk: _Chunk) -> EmbedReport:
    """Wait for the chunk's vectors and store them (in the calling thread)."""
    report = chunk.report
    try:
        if chunk.vectors is not None:
            vectors = chunk.vectors.result()  # the model's exception, if any, is raised here
            report.embedded += len(chunk.todo)
            rows = {pk: (chunk.texts[pk], vector) for pk, vector in zip(chunk.todo, vectors, strict=True)}
            _write(chunk.content_type, chunk.model_name, rows)
    finally:
        _unlock(chunk.locks)
    stats.incr("texts_embedded", report.embedded)
    stats.incr("unchanged", report.unchanged)
    report.seconds = time.perf_counter() - chunk.started
    return report


def _write(content_type: ContentType, model_name: str, rows: dict[str, tuple[str, object]]) -> None:
    # The product may have changed while the model ran; keep only vectors of the
    # current text; a newer task owns the rest.
    current = _fields_for(list(rows))
    # Vector and keywords go in one statement: a second UPDATE for the keywords would write each
    # row twice, and every row version is one more insert into the HNSW graph.
    objs = [
        ProductEmbedding(
            content_type=content_type,
            object_pk=pk,
            model_name=model_name,
            embedding=vector,
            content_hash=content_hash(text),
            keywords=_KeywordVector(current[pk]),
            is_stale=False,
        )
        for pk, (text, vector) in rows.items()
        if pk in current and _joined(current[pk]) == text
    ]
    ProductEmbedding.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["content_type", "object_pk", "model_name"],
        update_fields=["embedding", "content_hash", "keywords", "is_stale", "updated_at"],
    )
    forget_keyword_totals(content_type_id=content_type.pk, model_name=model_name)


def _joined(fields: list[str]) -> str:
    """The embedded text of these fields (as ProductAdapter.get_text joins them)."""
    return "\n".join(field for field in fields if field)


# Fields in PRODUCT_TEXT_FIELDS order fill Postgres's four weight classes A-D (the 4th and later
# fields share D); SEARCH["FIELD_WEIGHTS"] gives each class its weight at query time.
_WEIGHT_CLASSES = "ABCD"


def _weight_classes(fields: list[str]) -> list[str]:
    classes = [*fields[:3], " ".join(fields[3:])]
    return [keyword_text(text) for text in classes + [""] * (len(_WEIGHT_CLASSES) - len(classes))]


def keyword_marker() -> str:
    """The lexeme every keyword index carries to say how its Chinese was cut ("shopai keywords
    jieba-0.42.1"): indexes without the current one are rewritten (``backfill_keywords``). No query
    can match it: the parser never makes a word with a space in it."""
    return f"shopai keywords {keyword_format()}"


def _keyword_sql(config_param: str, text_params: list[str], marker_param: str) -> str:
    """setweight(to_tsvector(config, text), 'A') || ... for one text per weight class, then the marker."""
    return " || ".join(
        [
            *(
                f"setweight(to_tsvector({config_param}::regconfig, {text}), '{weight}')"
                for weight, text in zip(_WEIGHT_CLASSES, text_params, strict=True)
            ),
            f"array_to_tsvector(ARRAY[{marker_param}::text])",
        ]
    )


class _KeywordVector(Expression):
    """The keyword index of one product, as a value of bulk_create: each text field stemmed by
    SEARCH["TEXT_SEARCH_CONFIG"] in its weight class, Chinese cut into words (language.keyword_text)."""

    output_field = SearchVectorField()

    def __init__(self, fields: list[str]) -> None:
        super().__init__()
        self.fields = fields

    def as_sql(self, compiler, connection):
        config = shopai_settings.SEARCH["TEXT_SEARCH_CONFIG"]
        params = [param for text in _weight_classes(self.fields) for param in (config, text)]
        # config placeholder before each text
        return _keyword_sql("%s", ["%s"] * len(_WEIGHT_CLASSES), "%s"), [*params, keyword_marker()]


def _write_keywords(content_type: ContentType, model_name: str, fields: dict[str, list[str]]) -> None:
    """One UPDATE for the batch: the keyword index of each product's text fields."""
    if not fields:
        return
    pks = list(fields)
    classes = list(zip(*(_weight_classes(fields[pk]) for pk in pks), strict=True))
    names = [f"c{i}" for i in range(len(_WEIGHT_CLASSES))]
    columns = [f"v.{name}" for name in names]
    arrays = ", ".join(["%s::text[]"] * len(names))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {ProductEmbedding._meta.db_table} AS e SET keywords = {_keyword_sql('%s', columns, '%s')} "
            f"FROM unnest(%s::text[], {arrays}) AS v(pk, {', '.join(names)}) "
            "WHERE e.content_type_id = %s AND e.model_name = %s AND e.object_pk = v.pk",
            [
                *[shopai_settings.SEARCH["TEXT_SEARCH_CONFIG"]] * len(columns),
                keyword_marker(),
                pks,
                *map(list, classes),
                content_type.pk,
                model_name,
            ],
        )
    forget_keyword_totals(content_type_id=content_type.pk, model_name=model_name)


def delete_product_embeddings(*, product_pks: Iterable) -> int:
    content_type = _product_content_type()
    deleted, _ = ProductEmbedding.objects.filter(
        content_type=content_type, object_pk__in=[str(pk) for pk in product_pks]
    ).delete()
    forget_keyword_totals(content_type_id=content_type.pk, model_name=get_embedding_backend().name)
    return deleted


def mark_products_stale(*, product_pks: Iterable) -> int:
    """Flag existing vectors as outdated; products with none are found by the sweep anyway."""
    return ProductEmbedding.objects.filter(
        content_type=_product_content_type(), object_pk__in=[str(pk) for pk in product_pks]
    ).update(is_stale=True)


def products_needing_embedding(*, limit: int | None = None) -> list[str]:
    """Primary keys of products with no current vector or a stale one (no model call)."""
    adapter = get_product_adapter()
    backend = get_embedding_backend()
    embeddings = ProductEmbedding.objects.filter(
        content_type=_product_content_type(),
        model_name=backend.name,
        object_pk=Cast(OuterRef("pk"), output_field=CharField()),
    )
    queryset = (
        adapter.get_queryset()
        .annotate(_has=Exists(embeddings), _stale=Exists(embeddings.filter(is_stale=True)))
        .filter(Q(_has=False) | Q(_stale=True))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if limit:
        queryset = queryset[:limit]
    return [str(pk) for pk in queryset]


def products_with_changed_text(*, batch_size: int = 2000) -> list[str]:
    """Products whose current text no longer matches the stored hash.

    Catches edits that bypassed signals (``QuerySet.update``, raw SQL). Reads every
    product, hashes its text in Python; no model call.
    """
    adapter = get_product_adapter()
    backend = get_embedding_backend()
    stored = dict(
        ProductEmbedding.objects.filter(content_type=_product_content_type(), model_name=backend.name).values_list(
            "object_pk", "content_hash"
        )
    )
    changed = []
    for product in adapter.get_queryset().order_by("pk").iterator(chunk_size=batch_size):
        pk = str(product.pk)
        if pk in stored and stored[pk] != content_hash(adapter.get_text(product)):
            changed.append(pk)
    return changed


def outdated_keywords(*, content_type: ContentType, model_name: str):
    """Vectors whose keyword index is missing (written before it existed, or cleared by
    ``rebuild_keywords``) or written in another format (Chinese cut by another segmenter)."""
    marked = RawSQL("keywords @@ quote_literal(%s)::tsquery", [keyword_marker()], output_field=BooleanField())
    return ProductEmbedding.objects.filter(content_type=content_type, model_name=model_name).filter(
        Q(keywords__isnull=True) | ~Q(marked)  # NOT (NULL @@ q) is NULL: the first term finds those
    )


def backfill_keywords(*, batch_size: int = 500, limit: int | None = None) -> int:
    """Write the keyword index of vectors that have none or one of another format (``outdated_keywords``:
    after an upgrade or a change of SEARCH["CHINESE_SEGMENTER"]); no model call. Each sweep reads the
    markers of all the model's indexes (a sequential scan, no product table) and rewrites ``limit``."""
    backend = get_embedding_backend()
    content_type = _product_content_type()
    missing = outdated_keywords(content_type=content_type, model_name=backend.name).values_list("object_pk", flat=True)
    missing = list(missing[:limit] if limit else missing)
    for start in range(0, len(missing), batch_size):
        _write_keywords(content_type, backend.name, _fields_for(missing[start : start + batch_size]))
    return len(missing)


def rebuild_keywords(*, batch_size: int = 500) -> int:
    """Rewrite every product's keyword index (after SEARCH["TEXT_SEARCH_CONFIG"] or
    PRODUCT_TEXT_FIELDS changed); no model call. Returns how many were rewritten. In place, batch by
    batch: search keeps finding products by their old keywords until each batch is written."""
    backend = get_embedding_backend()
    content_type = _product_content_type()
    pks = list(
        ProductEmbedding.objects.filter(content_type=content_type, model_name=backend.name)
        .order_by("object_pk")
        .values_list("object_pk", flat=True)
    )
    for start in range(0, len(pks), batch_size):
        _write_keywords(content_type, backend.name, _fields_for(pks[start : start + batch_size]))
    return len(pks)


def reindex_products(
    *,
    everything: bool = False,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> EmbedReport:
    """Embed in this process: stale, missing and changed products, or all of them with ``everything``."""
    started = time.perf_counter()
    adapter = get_product_adapter()
    backfill_keywords()
    if everything:
        pks = [str(pk) for pk in adapter.get_queryset().order_by("pk").values_list("pk", flat=True)]
    else:
        pks = list(dict.fromkeys(products_needing_embedding() + products_with_changed_text()))
    size = batch_size or int(shopai_settings.EMBEDDING_BATCH_SIZE)
    report = EmbedReport()

    def failed(pks: list[str]) -> None:
        logger.exception("Embedding %d products failed", len(pks))
        report.failed += len(pks)
        report.failed_pks += pks
        stats.incr("failed", len(pks))

    def finish(chunk: _Chunk, pks: list[str]) -> None:
        try:
            report.merge(_finish(chunk))
        except Exception:
            failed(pks)
        if progress:
            progress(len(pks))

    # Pipelined: the model embeds one chunk in a worker thread (ONNX Runtime and PyTorch release the
    # GIL) while this thread, which alone touches the database, stores the previous chunk and reads
    # the next one.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shopai-embed") as model_thread:
        previous: tuple[_Chunk, list[str]] | None = None
        for start in range(0, len(pks), size):
            pks_now = pks[start : start + size]
            try:
                current = _begin(pks_now, force=everything, batch_size=size, submit=model_thread.submit)
            except Exception:
                failed(pks_now)
                if progress:
                    progress(len(pks_now))
                continue
            if previous:
                finish(*previous)
            previous = (current, pks_now)
        if previous:
            finish(*previous)
    if not report.failed:
        note_if_complete()
    report.seconds = time.perf_counter() - started
    return report


def note_if_complete() -> bool:
    """Record that the default model's vectors cover every product (no model call): from then on search
    serves them, rather than a fallback model's (core.vector_spaces). Tells the other features once
    (``signals.embedding_model_completed``: interest profiles are rebuilt in the new model's space)."""
    backend = get_embedding_backend()
    if EmbeddingSpace.objects.filter(model_name=backend.name, completed_at__isnull=False).exists():
        return False
    if products_needing_embedding(limit=1):
        return False
    vector_spaces.register(backend)
    if not vector_spaces.mark_complete(backend.name):
        return False
    logger.info("Every product has a vector of %s: search serves it from now on.", backend.name)
    signals.embedding_model_completed.send(sender=ProductEmbedding, model_name=backend.name)
    return True


# --- Queueing -------------------------------------------------------------------


def text_state(product) -> tuple | None:
    """The stored values the product's text depends on, read without a query; None if unknown.

    The adapter names the stored fields the text is built from (``text_attnames``: a local field's
    value, or a foreign key's id, "category.full_name" -> category_id). A deferred field, or a
    path through something other than a field (a property), makes the state unknown. Runs for
    every product instance created (post_init), so the attribute names are worked out once.
    """
    attnames = text_attnames(type(product))
    if attnames is None:
        return None
    values = product.__dict__
    try:
        return tuple([values[name] for name in attnames])
    except KeyError:  # deferred
        return None


@functools.cache
def text_attnames(model) -> tuple[str, ...] | None:
    """The adapter's ``text_attnames`` for the product model, worked out once (post_init runs for
    every instance). Cleared when SHOPAI changes (shopai.receivers.settings_changed)."""
    adapter = get_product_adapter()
    return adapter.text_attnames() if adapter.model is model else None


class _EmbeddingBatch(CommitBatch):
    """Product pks saved in one transaction, enqueued together when it commits."""

    def run(self, keys: list) -> None:
        enqueue_product_embedding(product_pks=keys)


def schedule_product_embedding(*, product_pk, using: str = "default") -> None:
    """Queue a product for embedding once the current transaction commits.

    Saves inside one transaction share a single batch, so a bulk import becomes
    a handful of tasks instead of one per product. A rolled-back transaction
    drops its batch with it, so it enqueues nothing.
    """
    _EmbeddingBatch.schedule(str(product_pk), using=using)


def enqueue_product_embedding(*, product_pks: Sequence[str], force: bool = False) -> int:
    """Send embedding tasks to the broker; if it is unreachable, mark the products stale.

    Returns the number of products that could not be queued.
    """
    size = int(shopai_settings.EMBEDDING_BATCH_SIZE)
    not_queued = 0
    for start in range(0, len(product_pks), size):
        chunk = list(product_pks[start : start + size])
        try:
            queue_task(
                "shopai.tasks.embed_products",
                args=[chunk],
                kwargs={"force": force} if force else {},
                queue="embeddings",
                retry=False,
            )
        except QueueUnavailable as exc:
            logger.warning("Broker unreachable, %d products marked stale for the sweep: %s", len(chunk), exc)
            mark_products_stale(product_pks=chunk)
            stats.incr("enqueue_failed", len(chunk))
            not_queued += len(chunk)
    return not_queued


SWEEP_CURSOR = "shopai:sweep:text-cursor"


def products_with_changed_text_after(cursor: str | None, *, limit: int) -> tuple[list[str], str | None]:
    """One bounded slice of the text check: up to ``limit`` products after ``cursor`` (in pk order)
    whose current text no longer matches their stored hash; returns them and the next cursor (None
    once the catalogue is done, so the next sweep starts again from the top). No model call."""
    adapter = get_product_adapter()
    backend = get_embedding_backend()
    products = list(_after(adapter.get_queryset(), cursor).order_by("pk")[:limit])
    if not products:
        return products_with_changed_text_after(None, limit=limit) if cursor is not None else ([], None)
    stored = dict(
        ProductEmbedding.objects.filter(
            content_type=_product_content_type(), model_name=backend.name, object_pk__in=[str(p.pk) for p in products]
        ).values_list("object_pk", "content_hash")
    )
    changed = [
        str(p.pk) for p in products if str(p.pk) in stored and stored[str(p.pk)] != content_hash(adapter.get_text(p))
    ]
    return changed, (str(products[-1].pk) if len(products) == limit else None)


def _after(queryset, cursor: str | None):
    if cursor is None:
        return queryset
    pk_field = queryset.model._meta.pk
    return queryset.filter(pk__gt=pk_field.to_python(cursor))


def sweep_stale_embeddings() -> int:
    """Queue every product whose vector is missing or stale, then the next slice of SWEEP_LIMIT
    products whose text changed behind the receivers' back (a ``QuerySet.update``, SQL, a related
    row edited where no receiver sees it); fills missing keyword indexes. Each sweep reads a bounded
    slice, and the slices go round the catalogue. No model call; returns how many were queued."""
    limit = int(shopai_settings.SWEEP_LIMIT)
    backfill_keywords(limit=limit)
    pks = products_needing_embedding(limit=limit)
    try:
        cursor = cache.get(SWEEP_CURSOR)
    except Exception:  # cache down: start from the top
        cursor = None
    changed, cursor = products_with_changed_text_after(cursor, limit=limit)
    try:
        cache.set(SWEEP_CURSOR, cursor, timeout=None)
    except Exception:
        logger.warning("Cache unreachable; the next sweep checks texts from the start again.")
    pks = list(dict.fromkeys(pks + changed))
    if pks:
        enqueue_product_embedding(product_pks=pks)
    else:
        note_if_complete()
    return len(pks)
