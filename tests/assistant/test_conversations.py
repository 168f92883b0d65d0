"""Conversations: follow-ups answered against the assistant's last question, one shopper's chat never
another's, and a chat left alone long enough starts afresh. Real models, through the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from shopai.models import Conversation, Exchange
from tests.assistant.conftest import ask
from tests.factories import OrderFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def shoppers(django_user_model, make_product):
    ann = django_user_model.objects.create_user("ann-cv", password="pw")
    bob = django_user_model.objects.create_user("bob-cv", password="pw")
    lamp = make_product(sku="L-1", name="Desk lamp", price=30, category="Home")
    now = timezone.now()
    late = OrderFactory(
        user=ann, status="shipped", shipped_at=now - timedelta(days=9), tracking_number="TRK-LATE-9", products=[lamp]
    )
    fresh = OrderFactory(
        user=ann, status="shipped", shipped_at=now - timedelta(days=1), tracking_number="TRK-NEW-1", products=[lamp]
    )
    return {"ann": ann, "bob": bob, "late": late, "fresh": fresh}


def test_a_number_answers_which_order(client, assistant, shoppers):
    client.force_login(shoppers["ann"])

    first = ask(client, "My parcel hasn't arrived yet")
    assert "Which order" in first["reply"] and str(shoppers["late"].pk) in first["reply"], first
    second = ask(client, str(shoppers["late"].pk), session_id=first["session_id"])

    assert second["session_id"] == first["session_id"]
    assert "TRK-LATE-9" in second["reply"] and second["intent"] == "delivery_late", second
    # Nine days after shipping, four past the due date: a case for staff, high priority.
    assert second["handoff"] and second["case"] == {"status": "open"}, second


def test_the_second_one_picks_from_the_orders_offered(client, assistant, shoppers):
    client.force_login(shoppers["ann"])

    first = ask(client, "where is my order?")
    numbers = [str(shoppers["fresh"].pk), str(shoppers["late"].pk)]
    assert all(f"{n} (" in first["reply"] for n in numbers), first["reply"]
    offered_second = sorted(numbers, key=lambda n: first["reply"].index(f"{n} ("))[1]

    second = ask(client, "the second one", session_id=first["session_id"])
    assert f"Order {offered_second} is" in second["reply"], second["reply"]


def test_still_not_here_in_chinese_uses_the_order_in_focus(client, assistant, shoppers):
    client.force_login(shoppers["ann"])

    first = ask(client, f"订单 {shoppers['fresh'].pk} 到哪里了？")
    assert "TRK-NEW-1" in first["reply"], first["reply"]
    second = ask(client, "还是没到", session_id=first["session_id"])

    assert second["intent"] == "delivery_late" and "TRK-NEW-1" in second["reply"], second
    assert second["language"] == "zh" and not second["handoff"]  # shipped yesterday: not due yet


def test_a_new_question_clears_the_pending_slot(client, assistant, shoppers):
    client.force_login(shoppers["ann"])

    first = ask(client, "where is my order?")
    assert Conversation.objects.get(session_id=first["session_id"]).state["pending"]["slot"] == "order_number"
    second = ask(client, "How long does delivery take?", session_id=first["session_id"])

    assert "Standard delivery" in second["reply"], second["reply"]
    assert Conversation.objects.get(session_id=first["session_id"]).state.get("pending") is None


def test_two_accounts_never_share_a_conversation(client, assistant, shoppers):
    client.force_login(shoppers["ann"])
    anns = ask(client, "where is my order?")

    client.force_login(shoppers["bob"])
    bobs = ask(client, str(shoppers["late"].pk), session_id=anns["session_id"])

    assert bobs["session_id"] != anns["session_id"]
    assert "TRK-LATE-9" not in bobs["reply"]
    assert Exchange.objects.filter(session_id=anns["session_id"]).count() == 1  # bob's turn is not in ann's chat
    assert Conversation.objects.get(session_id=bobs["session_id"]).user == shoppers["bob"]


def test_an_anonymous_chat_is_adopted_on_sign_in(client, assistant, shoppers):
    first = ask(client, "where is my order?")
    assert "sign in" in first["reply"].lower()

    client.force_login(shoppers["ann"])
    second = ask(client, f"order {shoppers['late'].pk}", session_id=first["session_id"])

    assert second["session_id"] == first["session_id"] and "TRK-LATE-9" in second["reply"]
    assert Conversation.objects.get(session_id=first["session_id"]).user == shoppers["ann"]


def test_a_leaked_anonymous_chat_id_is_not_adopted_by_another_browser(assistant, shoppers):
    from django.test import Client

    visitor, stranger = Client(), Client()
    first = ask(visitor, "where is my order?")

    stranger.force_login(shoppers["bob"])
    taken = ask(stranger, "hello", session_id=first["session_id"])

    assert taken["session_id"] != first["session_id"]
    assert Conversation.objects.get(session_id=first["session_id"]).user is None


def test_an_expired_conversation_starts_fresh(client, assistant, shoppers):
    client.force_login(shoppers["ann"])
    first = ask(client, "where is my order?")
    Conversation.objects.filter(session_id=first["session_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    second = ask(client, "the second one", session_id=first["session_id"])

    assert second["session_id"] != first["session_id"]
    # Classified afresh (a follow-up is read by rule, at confidence 1), not as the answer to "which order?".
    assert Exchange.objects.get(session_id=second["session_id"]).intent_confidence < 1.0
    assert Exchange.objects.filter(session_id=first["session_id"]).count() == 1


def test_thanks_with_nothing_pending_is_not_a_handoff(client, assistant, shoppers):
    first = ask(client, "How long does delivery take?")
    second = ask(client, "thanks!", session_id=first["session_id"])

    assert not second["handoff"] and "Anything else" in second["reply"], second


def _writer_on(settings, reply: str) -> None:
    model = {"replies": {"How long does delivery take": reply}, "max_retries": 0}
    settings.SHOPAI = {
        **settings.SHOPAI,
        "GENERATION": {
            **settings.SHOPAI["GENERATION"],
            "writer": {"CLASS": "shopai.backends.generation.FakeGenerationBackend", "CONFIG": model},
        },
        "ASSISTANT": {**settings.SHOPAI["ASSISTANT"], "REPLY_WRITER": {"BACKEND": "writer", "TIMEOUT": 5}},
    }


def test_the_reply_writer_is_sent_only_when_it_keeps_to_the_faq(client, assistant, settings):
    from shopai.assistant import reply_writer

    faithful = (
        "Happy to help! Standard delivery within the contiguous United States takes 3–5 business days, "
        "express 1–2 business days, and Alaska, Hawaii and Puerto Rico 5–8 business days. Order before "
        "2 p.m. Eastern Time on a business day and it leaves our warehouse the same day."
    )
    _writer_on(settings, faithful)
    kept = ask(client, "How long does delivery take?")
    _writer_on(settings, faithful + " Shipping is always free over $20.")
    flagged = ask(client, "How long does delivery take?")
    assert reply_writer.wait_until_idle(5.0)

    assert kept["reply"] == faithful
    assert flagged["reply"].startswith("Standard delivery within the contiguous United States")
    assert "$20" not in flagged["reply"]
    outcomes = dict(Exchange.objects.filter(pk__in=[kept["id"], flagged["id"]]).values_list("pk", "writer"))
    assert outcomes == {kept["id"]: "kept", flagged["id"]: "flagged"}
