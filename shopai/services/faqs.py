"""The FAQ knowledge base: embedding every phrasing, and finding the FAQs closest to a question."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from pgvector.django import CosineDistance

from shopai.adapters import content_hash
from shopai.backends import get_embedding_backend
from shopai.conf import shopai_settings
from shopai.models import FAQ, FAQEmbedding

logger = logging.getLogger(__name__)


def assistant_backend():
    """The embedding backend of the assistant (multilingual by default)."""
    return get_embedding_backend(shopai_settings.ASSISTANT["EMBEDDINGS"])


@dataclass
class FAQEmbedReport:
    embedded_faqs: int = 0
    unchanged_faqs: int = 0
    texts_embedded: int = 0
    removed_faqs: int = 0


def embed_faqs(*, faq_ids: Iterable[int], force: bool = False) -> FAQEmbedReport:
    """Bring the vectors of these FAQs in step with their texts; only new texts reach the model."""
    report = FAQEmbedReport()
    ids = list(dict.fromkeys(int(pk) for pk in faq_ids))
    backend = assistant_backend()
    faqs = {faq.pk: faq for faq in FAQ.objects.filter(pk__in=ids)}
    report.removed_faqs = len(set(ids) - set(faqs))
    FAQEmbedding.objects.filter(faq_id__in=set(ids) - set(faqs)).delete()
    existing: dict[int, dict[tuple[str, str], FAQEmbedding]] = {}
    for row in FAQEmbedding.objects.filter(faq_id__in=list(faqs), model_name=backend.name):
        existing.setdefault(row.faq_id, {})[(row.kind, row.content_hash)] = row

    new_rows: list[FAQEmbedding] = []
    stale_faqs: list[int] = []
    to_embed: list[FAQEmbedding] = []
    for faq in faqs.values():
        wanted = [(kind, text, content_hash(text)) for kind, text in faq.texts_to_embed()]
        have = existing.get(faq.pk, {})
        if not force and {(kind, digest) for kind, _, digest in wanted} == set(have):
            report.unchanged_faqs += 1
            continue
        report.embedded_faqs += 1
        stale_faqs.append(faq.pk)
        for kind, text, digest in wanted:
            reuse = None if force else have.get((kind, digest))
            row = FAQEmbedding(faq=faq, model_name=backend.name, kind=kind, text=text, content_hash=digest)
            if reuse is not None:
                row.embedding = reuse.embedding
            else:
                to_embed.append(row)
            new_rows.append(row)
    if to_embed:
        vectors = backend.embed_documents([row.text for row in to_embed])
        for row, vector in zip(to_embed, vectors, strict=True):
            row.embedding = vector
        report.texts_embedded = len(to_embed)
    with transaction.atomic():
        FAQEmbedding.objects.filter(faq_id__in=stale_faqs, model_name=backend.name).delete()
        FAQEmbedding.objects.bulk_create(new_rows)
    return report


def faqs_needing_embedding() -> list[int]:
    """FAQs whose stored phrasings differ from their current texts (hash comparison, no model)."""
    backend = assistant_backend()
    stored: dict[int, set[tuple[str, str]]] = {}
    for faq_id, kind, digest in FAQEmbedding.objects.filter(model_name=backend.name).values_list(
        "faq_id", "kind", "content_hash"
    ):
        stored.setdefault(faq_id, set()).add((kind, digest))
    return [
        faq.pk
        for faq in FAQ.objects.order_by("pk")
        if stored.get(faq.pk) != {(kind, content_hash(text)) for kind, text in faq.texts_to_embed()}
    ]


def schedule_faq_embedding(*, faq_id: int) -> None:
    """Queue an FAQ for embedding after the transaction commits; if the broker is down the sweep finds it."""

    def enqueue() -> None:
        from shopai.tasks import embed_faqs_task

        try:
            embed_faqs_task.apply_async(args=[[faq_id]], queue=shopai_settings.QUEUES["embeddings"], retry=False)
        except Exception as exc:  # the sweep compares hashes, so nothing is lost
            logger.warning("Broker unreachable; FAQ %s will be embedded by the sweep: %s", faq_id, exc)

    transaction.on_commit(enqueue)


def sweep_faqs() -> int:
    ids = faqs_needing_embedding()
    if ids:
        from shopai.tasks import embed_faqs_task

        embed_faqs_task.apply_async(args=[ids], queue=shopai_settings.QUEUES["embeddings"])
    return len(ids)


@dataclass(frozen=True)
class FAQHit:
    faq: FAQ
    score: float  # best cosine similarity of the question to any phrasing of the FAQ
    matched: str  # the phrasing that matched best


def retrieve_faqs(*, vector: Sequence[float], language: str | None, k: int = 3) -> list[FAQHit]:
    """Published FAQs closest to a question vector, best first; in ``language`` when given."""
    backend = assistant_backend()
    rows = FAQEmbedding.objects.filter(model_name=backend.name, faq__is_published=True)
    if language:
        rows = rows.filter(faq__language=language)
    rows = (
        rows.annotate(distance=CosineDistance("embedding", [float(x) for x in vector]))
        .order_by("distance")
        .values_list("faq_id", "distance", "text")[: max(k * 8, 24)]
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            cursor.execute("SET LOCAL hnsw.ef_search = 100")
        found = list(rows)
    best: dict[int, tuple[float, str]] = {}
    for faq_id, distance, text in found:
        score = 1.0 - float(distance)
        if faq_id not in best or score > best[faq_id][0]:
            best[faq_id] = (score, text)
    ranked = sorted(best.items(), key=lambda item: item[1][0], reverse=True)[:k]
    faqs = FAQ.objects.in_bulk([faq_id for faq_id, _ in ranked])
    return [FAQHit(faq=faqs[faq_id], score=score, matched=text) for faq_id, (score, text) in ranked]
