"""FAQ vectors: only changed phrasings reach the model, search keeps to published FAQs in one language."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from django.db import transaction

from shopai.assistant.faqs import assistant_backend, embed_faqs, faqs_needing_embedding, retrieve_faqs
from shopai.models import FAQ, FAQEmbedding
from tests.brokers import broker_client


def make_faq(question="How long does shipping take?", answer="Three to five working days.", **fields):
    fields.setdefault("alternatives", ["When will my parcel arrive?"])
    return FAQ.objects.create(question=question, answer=answer, **fields)


def stored_vector(faq: FAQ, kind: str) -> np.ndarray:
    return np.asarray(FAQEmbedding.objects.get(faq=faq, kind=kind).embedding)


def queued_faq_tasks(queue: str = "embeddings") -> list[tuple[str, list[int]]]:
    """(task name, FAQ ids) of the messages waiting in ``queue``, oldest first."""
    tasks = []
    for raw in reversed(broker_client().lrange(queue, 0, -1)):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        tasks.append((message["headers"]["task"], args[0]))
    return tasks


@pytest.mark.django_db
def test_only_new_or_changed_phrasings_reach_the_model():
    faq = make_faq()
    backend = assistant_backend()

    first = embed_faqs(faq_ids=[faq.pk])
    assert (first.embedded_faqs, first.texts_embedded) == (1, 4)
    assert sorted(faq.embeddings.values_list("kind", flat=True)) == ["alternative", "qa", "question", "sentence"]
    assert set(faq.embeddings.values_list("model_name", flat=True)) == {backend.name}

    again = embed_faqs(faq_ids=[faq.pk])
    assert (again.embedded_faqs, again.unchanged_faqs, again.texts_embedded) == (0, 1, 0)

    question_before = stored_vector(faq, "question")
    faq.answer = "Two to four working days since March."
    faq.save()
    calls = backend.calls
    edited = embed_faqs(faq_ids=[faq.pk])
    assert (edited.embedded_faqs, edited.texts_embedded) == (1, 2)  # question+answer, and the sentence
    assert backend.calls == calls + 2
    assert faq.embeddings.count() == 4
    assert FAQEmbedding.objects.get(faq=faq, kind="sentence").text == "Two to four working days since March."
    np.testing.assert_array_equal(stored_vector(faq, "question"), question_before)

    faq.alternatives = [*faq.alternatives, "How fast do you ship?"]
    faq.save()
    added = embed_faqs(faq_ids=[faq.pk])
    assert added.texts_embedded == 1
    assert sorted(faq.embeddings.filter(kind="alternative").values_list("text", flat=True)) == [
        "How fast do you ship?",
        "When will my parcel arrive?",
    ]

    forced = embed_faqs(faq_ids=[faq.pk], force=True)
    assert (forced.embedded_faqs, forced.texts_embedded) == (1, 5)
    assert faq.embeddings.count() == 5


@pytest.mark.django_db
def test_removing_an_alternative_removes_its_vector_without_the_model():
    faq = make_faq(alternatives=["When will my parcel arrive?", "How fast do you ship?"])
    embed_faqs(faq_ids=[faq.pk])

    faq.alternatives = ["How fast do you ship?"]
    faq.save()
    report = embed_faqs(faq_ids=[faq.pk])

    assert report.texts_embedded == 0
    assert list(faq.embeddings.filter(kind="alternative").values_list("text", flat=True)) == ["How fast do you ship?"]


@pytest.mark.django_db
def test_deleting_an_faq_removes_its_vectors():
    faq, other = make_faq(), make_faq(question="Can I pay by card?", answer="Yes, every major card.")
    embed_faqs(faq_ids=[faq.pk, other.pk])
    pk = faq.pk

    faq.delete()

    assert not FAQEmbedding.objects.filter(faq_id=pk).exists()
    assert other.embeddings.count() == 4  # question, alternative, question+answer, one sentence
    report = embed_faqs(faq_ids=[pk])  # a late task for the deleted FAQ is harmless
    assert (report.removed_faqs, report.texts_embedded) == (1, 0)


@pytest.mark.django_db
def test_faqs_needing_embedding_finds_edits_that_bypassed_signals_and_faqs_never_embedded():
    up_to_date = make_faq()
    edited = make_faq(question="Can I pay by card?", answer="Yes, every major card.")
    embed_faqs(faq_ids=[up_to_date.pk, edited.pk])
    never = make_faq(question="Do you gift wrap?", answer="Yes, for two euros.")
    assert faqs_needing_embedding() == [never.pk]

    FAQ.objects.filter(pk=edited.pk).update(answer="Cards and bank transfer.")

    assert faqs_needing_embedding() == [edited.pk, never.pk]
    embed_faqs(faq_ids=faqs_needing_embedding())
    assert faqs_needing_embedding() == []


@pytest.mark.django_db
def test_retrieval_returns_published_faqs_of_the_language_best_first():
    backend = assistant_backend()
    question = "how long does shipping take to germany"
    best_hidden = make_faq(
        question="How long does shipping take to Germany?",
        answer="Two days.",
        alternatives=[],
        is_published=False,
    )
    shipping = make_faq(question="How long does shipping take?", answer="Three to five days.", alternatives=[])
    germany = make_faq(question="Do you ship to Germany?", answer="Yes, we do.", alternatives=[])
    returns = make_faq(question="What is your return policy?", answer="Thirty days.", alternatives=[])
    chinese = make_faq(
        question="how long does shipping take to germany 运到德国要多久",
        answer="两天。",
        language="zh",
        alternatives=[],
    )
    embed_faqs(faq_ids=[best_hidden.pk, shipping.pk, germany.pk, returns.pk, chinese.pk])
    vector = backend.embed_query(question)

    hits = retrieve_faqs(vector=vector, language="en", k=3)

    assert [hit.faq for hit in hits] == [shipping, germany, returns]
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert hits[0].matched == "How long does shipping take?"
    # Unfiltered by publication, the hidden FAQ would have been the best match.
    assert float(stored_vector(best_hidden, "question") @ vector) > hits[0].score
    # The Chinese FAQ is found in Chinese, never in English.
    assert [hit.faq for hit in retrieve_faqs(vector=vector, language="zh", k=3)] == [chinese]


@pytest.mark.django_db(transaction=True)
class TestEnqueueing:
    @pytest.fixture(autouse=True)
    def empty_queue(self):
        broker_client().delete("embeddings")
        yield
        broker_client().delete("embeddings")

    def test_saved_faq_is_queued_once_after_commit(self):
        with transaction.atomic():
            faq = make_faq()
            assert queued_faq_tasks() == []

        assert queued_faq_tasks() == [("shopai.tasks.embed_faqs", [faq.pk])]

    def test_rolled_back_save_queues_nothing(self):
        with pytest.raises(RuntimeError), transaction.atomic():
            make_faq()
            raise RuntimeError("changed my mind")

        assert queued_faq_tasks() == []
        assert not FAQ.objects.exists()
