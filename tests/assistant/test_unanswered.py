"""Unanswered questions grouped by meaning, and the admin pages that turn a group into a draft FAQ."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.urls import reverse
from django.utils import timezone

from shopai.assistant.faqs import assistant_backend
from shopai.assistant.unanswered import group_unanswered_questions
from shopai.models import FAQ, Exchange

pytestmark = pytest.mark.django_db

GIFT_WRAPPING = ["gift wrapping do you sell it", "do you sell gift wrapping paper", "do you sell gift wrapping"]
SIMILARITY = 0.75


def log_exchange(question: str, *, minutes_ago: int, **fields) -> Exchange:
    fields.setdefault("language", "en")
    fields.setdefault("intent", "faq")
    fields.setdefault("reply", "Sorry, I am not sure. A colleague will get back to you.")
    fields.setdefault("confidence", 0.2)
    exchange = Exchange.objects.create(
        session_id="s-1",
        question=question,
        question_embedding=assistant_backend().embed_query(question),
        **fields,
    )
    # created_at is set on insert; move it so the order of the questions is known.
    Exchange.objects.filter(pk=exchange.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    exchange.refresh_from_db()
    return exchange


@pytest.fixture(autouse=True)
def group_similarity(settings):
    """The admin groups with the configured similarity; use the one measured below."""
    settings.SHOPAI = {
        **settings.SHOPAI,
        "ASSISTANT": {**settings.SHOPAI.get("ASSISTANT", {}), "GROUP_SIMILARITY": SIMILARITY},
    }


@pytest.fixture
def gift_wrapping():
    """Three shoppers asking about a topic missing from the FAQs, oldest first."""
    vectors = [assistant_backend().embed_query(q) for q in GIFT_WRAPPING]
    for i, first in enumerate(vectors):  # the fake backend puts every pair close
        assert all(float(np.dot(first, other)) > SIMILARITY for other in vectors[i + 1 :])
    oldest, middle, newest = GIFT_WRAPPING
    return [
        log_exchange(oldest, minutes_ago=30),
        # Handed over for low confidence: still a gap, unlike a shopper asking for a person.
        log_exchange(middle, minutes_ago=20, handoff=True, handoff_reason="low_confidence"),
        log_exchange(newest, minutes_ago=10),
    ]


@pytest.fixture
def noise(gift_wrapping):
    """Exchanges that are not gaps in the knowledge base, and one unrelated gap."""
    backend = assistant_backend()
    unrelated = log_exchange("can I change the colour of my order", minutes_ago=15, confidence=0.3)
    # Worded like the gift wrapping questions, so only the rules keep them out of that group.
    excluded = [
        log_exchange(
            "do you sell gift wrapping human please",
            minutes_ago=12,
            handoff=True,
            handoff_reason="asked_for_human",
        ),
        log_exchange(
            "do you sell gift wrapping",
            minutes_ago=8,
            confidence=0.95,
            reply="Yes, for two euros.",
            faq=FAQ.objects.create(question="Do you sell gift wrapping?", answer="Yes, for two euros."),
        ),
        log_exchange("do you sell gift wrapping", minutes_ago=60 * 24 * 40),
    ]
    close = float(np.dot(backend.embed_query(excluded[0].question), backend.embed_query(GIFT_WRAPPING[-1])))
    assert close > SIMILARITY
    return unrelated, excluded


def test_paraphrases_of_one_missing_topic_form_the_biggest_group(gift_wrapping, noise):
    unrelated, excluded = noise

    groups = group_unanswered_questions(similarity=SIMILARITY)

    assert [group.size for group in groups] == [3, 1]
    assert {e.pk for e in groups[0].exchanges} == {e.pk for e in gift_wrapping}
    assert groups[0].language == "en"
    assert [e.pk for e in groups[1].exchanges] == [unrelated.pk]
    shown = {e.pk for group in groups for e in group.exchanges}
    assert not shown & {e.pk for e in excluded}


def test_questions_in_another_language_are_grouped_apart(gift_wrapping):
    log_exchange("do you sell gift wrapping", minutes_ago=1, language="zh")

    groups = group_unanswered_questions(similarity=SIMILARITY)

    assert sorted((group.language, group.size) for group in groups) == [("en", 3), ("zh", 1)]


def test_admin_lists_the_groups_with_their_size(admin_client, gift_wrapping, noise):
    group = group_unanswered_questions()[0]

    response = admin_client.get(reverse("admin:shopai_exchange_unanswered"))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"{group.question} <small>(3 questions, en)</small>" in page
    assert f'value="{group.exchange_ids}"' in page
    assert "can I change the colour of my order <small>(1 question, en)</small>" in page
    assert "human please" not in page


def test_admin_with_nothing_unanswered_says_so(admin_client):
    response = admin_client.get(reverse("admin:shopai_exchange_unanswered"))

    assert response.status_code == 200
    assert "No unanswered questions" in response.content.decode()


def test_a_group_becomes_an_unpublished_draft_faq(admin_client, gift_wrapping, noise):
    group = group_unanswered_questions()[0]
    count = FAQ.objects.count()

    response = admin_client.post(reverse("admin:shopai_exchange_unanswered"), {"exchange_ids": group.exchange_ids})

    assert FAQ.objects.count() == count + 1
    faq = FAQ.objects.latest("pk")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:shopai_faq_change", args=[faq.pk])
    assert not faq.is_published
    assert faq.language == "en"
    # The question the admin showed as the group's heading, the others as alternatives.
    assert faq.question == group.question
    assert sorted(faq.alternatives) == sorted(e.question for e in group.exchanges[1:])

    page = admin_client.get(response["Location"]).content.decode()
    assert "Draft FAQ created (unpublished)" in page


def test_posting_no_questions_creates_nothing_and_says_why(admin_client, gift_wrapping):
    count = FAQ.objects.count()

    response = admin_client.post(reverse("admin:shopai_exchange_unanswered"), {"exchange_ids": ""})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:shopai_exchange_unanswered")
    assert FAQ.objects.count() == count
    page = admin_client.get(response["Location"]).content.decode()
    assert "No such questions." in page
    assert 'class="error"' in page


def test_exchange_changelist_links_to_the_unanswered_questions(admin_client, gift_wrapping, noise):
    response = admin_client.get(reverse("admin:shopai_exchange_changelist"))

    assert response.status_code == 200
    page = response.content.decode()
    assert f'href="{reverse("admin:shopai_exchange_unanswered")}"' in page
    assert "gift wrapping do you sell it" in page


@pytest.mark.parametrize(
    ("action", "published_before", "published_after", "message"),
    [
        ("publish", False, True, "2 FAQs published."),
        ("unpublish", True, False, "2 FAQs unpublished."),
    ],
)
def test_faq_publish_actions_change_the_selected_faqs_and_say_how_many(
    admin_client, action, published_before, published_after, message
):
    chosen = [
        FAQ.objects.create(question=f"Question {i}?", answer="Answer.", is_published=published_before) for i in range(2)
    ]
    other = FAQ.objects.create(question="Left alone?", answer="Yes.", is_published=published_before)

    response = admin_client.post(
        reverse("admin:shopai_faq_changelist"),
        {"action": action, "_selected_action": [faq.pk for faq in chosen]},
        follow=True,
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert [FAQ.objects.get(pk=faq.pk).is_published for faq in chosen] == [published_after] * 2
    assert FAQ.objects.get(pk=other.pk).is_published is published_before


def test_faq_publish_action_on_one_faq_says_faq_in_the_singular(admin_client):
    faq = FAQ.objects.create(question="Do you sell gift wrapping?", answer="Yes.", is_published=False)

    response = admin_client.post(
        reverse("admin:shopai_faq_changelist"), {"action": "publish", "_selected_action": [faq.pk]}, follow=True
    )

    assert "1 FAQ published." in response.content.decode()
    faq.refresh_from_db()
    assert faq.is_published
