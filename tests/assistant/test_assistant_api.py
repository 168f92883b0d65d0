"""POST /api/shopai/ask and its feedback endpoint: validation, logging, redaction, ownership."""

import json

import pytest

from shopai.assistant.faqs import embed_faqs
from shopai.models import FAQ, Exchange

pytestmark = pytest.mark.django_db

ASK = "/api/shopai/ask"


def ask(client, payload, **extra):
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(ASK, body, content_type="application/json", **extra)


@pytest.fixture
def faqs():
    items = [
        FAQ.objects.create(
            question="How long does standard delivery take?",
            answer="Standard delivery takes 3 to 5 business days. Express delivery arrives the next business day.",
            alternatives=["When will my parcel arrive?"],
        ),
        FAQ.objects.create(
            question="What is your returns policy?",
            answer="You can return unworn items within 30 days. Refunds reach your card within 5 to 7 business days.",
        ),
    ]
    embed_faqs(faq_ids=[faq.pk for faq in items])
    return items


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, 'Send your question as JSON, e.g. {"question"'),
        ({"question": ""}, "The question is empty"),
        ({"question": "   "}, "The question is empty"),
        ({"question": 123}, "must be text"),
        ({"question": ["where", "is", "it"]}, "must be text"),
        ({"question": {"text": "hi"}}, "must be text"),
        ({"question": "x" * 1001}, "please keep it under 1000"),
        ({"question": "hello", "session_id": "s" * 65}, "session_id can be at most 64"),
        ({"question": "hello", "session_id": 7}, "session_id must be text"),
        (["question"], "Send a JSON object"),
        ("{not json", "JSON parse error"),
    ],
)
def test_bad_questions_get_a_400_with_a_message_and_nothing_is_logged(client, payload, message):
    response = ask(client, payload)

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Exchange.objects.exists()


def test_reply_has_every_documented_field_and_is_logged(client, faqs):
    response = ask(client, {"question": "How long does standard delivery take?"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {
        "id", "session_id", "reply", "answer", "confidence", "intent", "sentiment", "handoff", "sources", "language",
    }  # fmt: skip
    assert set(body["sentiment"]) == {"label", "score"}
    assert 0.0 <= body["confidence"] <= 1.0
    assert body["language"] == "en"
    exchange = Exchange.objects.get(pk=body["id"])
    assert exchange.session_id == body["session_id"]
    assert exchange.question == "How long does standard delivery take?"


def test_personal_data_is_redacted_before_the_exchange_is_stored(client, faqs):
    question = (
        "My email is jane.doe@example.com, call me on +1 555 010 0199, card 4111 1111 1111 1111 — "
        "when will my parcel arrive?"
    )
    body = ask(client, {"question": question}).json()

    stored = Exchange.objects.get(pk=body["id"])
    for secret in ("jane.doe@example.com", "555 010 0199", "4111 1111 1111 1111"):
        assert secret not in stored.question and secret not in stored.reply
    assert "[email]" in stored.question and "[phone]" in stored.question and "[card]" in stored.question


def test_the_same_session_continues_when_the_client_sends_it_back(client, faqs):
    first = ask(client, {"question": "What is your returns policy?"}).json()
    second = ask(client, {"question": "And delivery?", "session_id": first["session_id"]}).json()

    assert second["session_id"] == first["session_id"]
    assert Exchange.objects.filter(session_id=first["session_id"]).count() == 2


def test_feedback_is_stored_for_the_own_session_only(client, faqs):
    body = ask(client, {"question": "What is your returns policy?"}).json()
    url = f"{ASK}/{body['id']}/feedback"

    stranger = client.post(url, {"helpful": False, "session_id": "someone-else"}, content_type="application/json")
    mine = client.post(url, {"helpful": True, "session_id": body["session_id"]}, content_type="application/json")

    assert stranger.status_code == 404
    assert mine.status_code == 204
    assert Exchange.objects.get(pk=body["id"]).helpful is True


@pytest.mark.parametrize(
    ("payload", "message"),
    [({}, "Say whether the answer helped"), ({"helpful": "maybe"}, "helpful must be true or false")],
)
def test_bad_feedback_gets_a_400(client, faqs, payload, message):
    body = ask(client, {"question": "What is your returns policy?"}).json()

    response = client.post(f"{ASK}/{body['id']}/feedback", payload, content_type="application/json")

    assert response.status_code == 400
    assert message in response.json()["error"]


def test_feedback_for_an_unknown_answer_is_a_404(client):
    response = client.post(f"{ASK}/999999/feedback", {"helpful": True}, content_type="application/json")
    assert response.status_code == 404
    assert "No answer with this id" in response.json()["error"]


def test_asking_too_often_gets_a_429(client, faqs, settings):
    from django.core.cache import cache

    settings.SHOPAI = {**settings.SHOPAI, "THROTTLE_RATES": {"ask": "1/minute"}}
    cache.clear()

    assert ask(client, {"question": "What is your returns policy?"}).status_code == 200
    assert ask(client, {"question": "What is your returns policy?"}).status_code == 429


def test_schema_documents_ask_and_feedback(client):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "/api/shopai/ask" in paths and "/api/shopai/ask/{exchange_id}/feedback" in paths
