"""The FAQ knowledge base: embedding every phrasing, and finding the FAQs closest to a question."""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Max
from django.db.models.functions import Cast
from pgvector.django import CosineDistance, VectorField

from shopai.adapters import content_hash
from shopai.backends import get_embedding_backend
from shopai.conf import shopai_settings
from shopai.core import vector_spaces
from shopai.core.chinese_words import keyword_format
from shopai.core.language import keyword_terms
from shopai.core.tasks import QueueUnavailable, queue_task
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


def backends_for(language: str) -> list:
    """The assistant's backend, plus ASSISTANT["EXTRA_EMBEDDINGS"][language] (scores are summed)."""
    extra = shopai_settings.ASSISTANT.get("EXTRA_EMBEDDINGS", {}).get(language, [])
    return [assistant_backend(), *(get_embedding_backend(alias) for alias in extra)]


def embed_faqs(*, faq_ids: Iterable[int], force: bool = False) -> FAQEmbedReport:
    """Bring the vectors of these FAQs in step with their texts; only new texts reach a model."""
    report = FAQEmbedReport()
    ids = list(dict.fromkeys(int(pk) for pk in faq_ids))
    faqs = {faq.pk: faq for faq in FAQ.objects.filter(pk__in=ids)}
    report.removed_faqs = len(set(ids) - set(faqs))
    FAQEmbedding.objects.filter(faq_id__in=set(ids) - set(faqs)).delete()
    changed: set[int] = set()
    by_backend: dict[str, tuple[object, list[FAQ]]] = {}
    for faq in faqs.values():
        for backend in backends_for(faq.language):
            by_backend.setdefault(backend.name, (backend, []))[1].append(faq)
    for backend, members in by_backend.values():
        changed |= _embed_with(backend, members, force=force, report=report)
    report.embedded_faqs = len(changed)
    report.unchanged_faqs = len(faqs) - len(changed)
    return report


def _embed_with(backend, faqs: list[FAQ], *, force: bool, report: FAQEmbedReport) -> set[int]:
    existing: dict[int, dict[tuple[str, str], FAQEmbedding]] = {}
    for row in FAQEmbedding.objects.filter(faq__in=faqs, model_name=backend.name):
        existing.setdefault(row.faq_id, {})[(row.kind, row.content_hash)] = row
    new_rows: list[FAQEmbedding] = []
    stale_faqs: set[int] = set()
    to_embed: list[FAQEmbedding] = []
    for faq in faqs:
        wanted = list(dict.fromkeys((kind, text, content_hash(text)) for kind, text in faq.texts_to_embed()))
        have = existing.get(faq.pk, {})
        if not force and {(kind, digest) for kind, _, digest in wanted} == set(have):
            continue
        stale_faqs.add(faq.pk)
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
        report.texts_embedded += len(to_embed)
    if new_rows:
        vector_spaces.register(backend)  # the model's index, created the first time it stores vectors
    with transaction.atomic():
        # Lock the FAQs so two overlapping runs (command and worker) cannot both insert rows.
        list(FAQ.objects.select_for_update().filter(pk__in=stale_faqs).values_list("pk", flat=True))
        FAQEmbedding.objects.filter(faq_id__in=stale_faqs, model_name=backend.name).delete()
        FAQEmbedding.objects.bulk_create(new_rows)
    return stale_faqs


def faqs_needing_embedding() -> list[int]:
    """FAQs whose stored phrasings differ from their current texts (hash comparison, no model)."""
    stored: dict[tuple[int, str], set[tuple[str, str]]] = {}
    for faq_id, model_name, kind, digest in FAQEmbedding.objects.values_list(
        "faq_id", "model_name", "kind", "content_hash"
    ):
        stored.setdefault((faq_id, model_name), set()).add((kind, digest))
    needing = []
    for faq in FAQ.objects.order_by("pk"):
        wanted = {(kind, content_hash(text)) for kind, text in faq.texts_to_embed()}
        if any(stored.get((faq.pk, backend.name)) != wanted for backend in backends_for(faq.language)):
            needing.append(faq.pk)
    return needing


def schedule_faq_embedding(*, faq_id: int) -> None:
    """Queue an FAQ for embedding after the transaction commits; if the broker is down the sweep finds it."""

    def enqueue() -> None:
        try:
            queue_task("shopai.tasks.embed_faqs", args=[[faq_id]], queue="embeddings", retry=False)
        except QueueUnavailable as exc:  # the sweep compares hashes, so nothing is lost
            logger.warning("Broker unreachable; FAQ %s will be embedded by the sweep: %s", faq_id, exc)

    transaction.on_commit(enqueue)


def sweep_faqs() -> int:
    ids = faqs_needing_embedding()
    if ids:
        queue_task("shopai.tasks.embed_faqs", args=[ids], queue="embeddings")
    return len(ids)


@dataclass(frozen=True)
class FAQHit:
    faq: FAQ
    score: float  # best cosine similarity of the question to any phrasing of the FAQ
    matched: str  # the phrasing that matched best


# Which stored texts of an FAQ each part of its score reads (kinds of FAQEmbedding rows).
TEXT_PARTS = {"question": ("question", "alternative"), "qa": ("qa",), "sentence": ("sentence",)}
# Rows read per model and question: every row of a few hundred FAQs; beyond that the nearest ones.
ROWS_PER_QUERY = 2000


def retrieve_faqs(
    *, vector: Sequence[float], language: str | None, k: int = 3, question: str | None = None
) -> list[FAQHit]:
    """Published FAQs closest to a question, best first; in ``language`` when given.

    An FAQ's score per model weighs (ASSISTANT["TEXT_WEIGHTS"]) its best question phrasing, its
    question and answer read together, and its best answer sentence; where EXTRA_EMBEDDINGS names
    more models for the language, their scores are averaged, and KEYWORD_WEIGHT adds IDF-weighted
    word overlap. Chosen on the dev splits of plain FAQs nobody here wrote (docs/assistant.md).
    """
    config = shopai_settings.ASSISTANT
    backends = backends_for(language) if (language and question) else [assistant_backend()]
    weights = {part: float(weight) for part, weight in config["TEXT_WEIGHTS"].items() if float(weight)}
    per_model = []
    for index, backend in enumerate(backends):
        query = vector if index == 0 else backend.embed_query(question)
        per_model.append(_scores_per_faq(backend.name, query, language, weights=weights))
    candidates = set().union(*per_model)
    totals = dict.fromkeys(candidates, 0.0)
    for scores in per_model:
        # An FAQ outside one model's rows read gets that model's lowest score seen.
        floor = min((score for score, _ in scores.values()), default=0.0)
        for faq_id in candidates:
            totals[faq_id] += scores.get(faq_id, (floor, ""))[0]
    totals = {faq_id: total / len(backends) for faq_id, total in totals.items()}
    weight = float(config.get("KEYWORD_WEIGHT", 0.0))
    if weight and question and language:
        overlap = keyword_overlap(question, language, candidates)
        totals = {faq_id: total + weight * overlap.get(faq_id, 0.0) for faq_id, total in totals.items()}
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:k]
    faqs = FAQ.objects.in_bulk([faq_id for faq_id, _ in ranked])
    return [
        FAQHit(faq=faqs[faq_id], score=total, matched=per_model[0].get(faq_id, (0.0, ""))[1])
        for faq_id, total in ranked
    ]


def _scores_per_faq(
    model_name: str, vector, language: str | None, *, weights: dict[str, float]
) -> dict[int, tuple[float, str]]:
    """{faq_id: (weighted score of its parts, best-matching text)} under one model.

    Each part is the best similarity among the FAQ's rows of that part's kinds; a part none of
    whose rows was read counts at the lowest similarity read for it.
    """
    kinds = {kind: part for part, members in TEXT_PARTS.items() if part in weights for kind in members}
    rows = FAQEmbedding.objects.filter(model_name=model_name, faq__is_published=True, kind__in=list(kinds))
    if language:
        rows = rows.filter(faq__language=language)
    rows = (
        # Cast to the model's width, as its partial HNSW index is built (core.vector_spaces).
        rows.annotate(
            distance=CosineDistance(Cast("embedding", VectorField(dimensions=len(vector))), [float(x) for x in vector])
        )
        .order_by("distance")
        .values_list("faq_id", "kind", "distance", "text")[:ROWS_PER_QUERY]
    )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            cursor.execute("SET LOCAL hnsw.ef_search = 1000")
        found = list(rows)
    best: dict[int, dict[str, float]] = {}
    text_of: dict[int, str] = {}
    floor: dict[str, float] = {}
    for faq_id, kind, distance, text in found:  # nearest first
        part, similarity = kinds[kind], 1.0 - float(distance)
        parts = best.setdefault(faq_id, {})
        if part not in parts:
            parts[part] = similarity
        text_of.setdefault(faq_id, text)
        floor[part] = similarity  # the last (lowest) similarity read for this part
    scores = {}
    for faq_id, parts in best.items():
        total = sum(weight * parts.get(part, floor.get(part, 0.0)) for part, weight in weights.items())
        scores[faq_id] = (total, text_of[faq_id])
    return scores


def _faq_terms(language: str) -> tuple[dict[int, set[str]], Counter]:
    """Terms of every published FAQ of a language and their document frequencies (cached)."""
    published = FAQ.objects.filter(is_published=True, language=language)
    stamp = published.aggregate(count=Count("pk"), latest=Max("updated_at"))
    latest = stamp["latest"].timestamp() if stamp["latest"] else 0
    key = f"shopai:faq-terms:{keyword_format()}:{language}:{stamp['count']}:{latest:.6f}"
    cached = cache.get(key)
    if cached is None:
        terms = {
            faq.pk: keyword_terms(" ".join([faq.question, *map(str, faq.alternatives), faq.answer]))
            for faq in published
        }
        cached = (terms, Counter(term for found in terms.values() for term in found))
        cache.set(key, cached, timeout=24 * 3600)
    return cached


def keyword_overlap(question: str, language: str, faq_ids: Iterable[int]) -> dict[int, float]:
    """Sum of the IDF of the question's terms found in each FAQ's texts."""
    terms, frequency = _faq_terms(language)
    total = max(len(terms), 1)
    asked = keyword_terms(question)
    return {
        faq_id: sum(math.log(total / frequency[term]) for term in asked & terms.get(faq_id, set()))
        for faq_id in faq_ids
    }
