"""Personal data is replaced before a conversation is stored or embedded; order numbers, prices and SKUs survive."""

import numpy as np
import pytest

from shopai.assistant import answer_question
from shopai.assistant.faqs import assistant_backend
from shopai.core.redaction import REDACTION_TOKENS, redact
from shopai.models import Event, Exchange
from shopai.recommendations import record_event
from tests.factories import OrderFactory

VISA = "4111 1111 1111 1111"
MASTERCARD = "5500-0000-0000-0004"
AMEX = "378282246310005"
UNIONPAY = "6200000000000005"


def test_tokens_are_exported():
    assert REDACTION_TOKENS == ("[email]", "[phone]", "[card]")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Send it to jane.doe+shop@example.co.uk please", "Send it to [email] please"),
        ("My email is J_Smith@mail.example.com.", "My email is [email]."),
        ("我的邮箱是zhang.san@example.com谢谢", "我的邮箱是[email]谢谢"),
        ("邮箱：wang_wei88@qq.com，收到请回复", "邮箱：[email]，收到请回复"),
    ],
)
def test_email_addresses_are_redacted(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "phone",
    [
        "+1 555 010 0199",
        "+44 20 7946 0958",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "+1 (555) 123-4567",
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "020 7946 0958",
        "010-12345678",
        "0044 20 7946 0958",
        "00 44 20 7946 0958",
        "0086 138 1234 5678",
        "5551234567",
        "15551234567",
        "02079460958",
    ],
)
def test_phone_numbers_are_redacted_inside_sentences(phone):
    assert redact(f"Please call me on {phone} after six.") == "Please call me on [phone] after six."
    assert redact(f"我的手机号是{phone}，谢谢") == "我的手机号是[phone]，谢谢"


@pytest.mark.parametrize("card", [VISA, MASTERCARD, AMEX, UNIONPAY, "4111111111111111", "3782 822463 10005"])
def test_card_numbers_are_redacted_as_cards_not_phones(card):
    assert redact(f"I paid with {card} yesterday") == "I paid with [card] yesterday"
    assert redact(f"我用的卡号是{card}，请帮我查一下") == "我用的卡号是[card]，请帮我查一下"


@pytest.mark.parametrize("card", [VISA, "4111111111111111", AMEX, UNIONPAY])
def test_card_numbers_are_redacted_even_where_an_order_number_would_stand(card):
    assert redact(f"I paid order {card} twice") == "I paid order [card] twice"
    assert redact(f"order #{card}") == "order #[card]"
    assert redact(f"订单号：{card}") == "订单号：[card]"


def test_run_together_phone_numbers_are_redacted():
    assert redact("call 5551234567 after six") == "call [phone] after six"
    assert redact("手机13812345678") == "手机[phone]"


def test_a_sixteen_digit_number_failing_luhn_is_not_a_card():
    assert redact("Tracking 4111 1111 1111 1112 please") == "Tracking 4111 1111 1111 1112 please"
    assert redact("ref 1234567890123456") == "ref 1234567890123456"


def test_everything_in_one_message():
    text = f"Hi, I'm Ann (ann@example.org, +44 20 7946 0958). Card {VISA} was charged twice for order #20231."
    assert redact(text) == "Hi, I'm Ann ([email], [phone]). Card [card] was charged twice for order #20231."


@pytest.mark.parametrize(
    "text",
    [
        "Where is order 1234?",
        "order #20231 has not arrived",
        "Order no. 100045, order number: 555123",
        "订单 100045 什么时候发货？",
        "订单号：13812345678 还没到",
        "It costs $1,299.00 or €89.95, ¥499",
        "Delivered on 2026-11-28, or 28.11.2026, between 10:00-18:00",
        "Size 42, waist 32x34, EU 38-40",
        "Is OUT-JKT-001 in stock? And SKU TENT-2P-0042?",
        "I want 3 of them, 2 in blue",
        "订单 100001 到哪了",
        "Where is my order 5551234567?",
        "Bought in 2019, 12 months warranty, 0.5 kg, 1,299.00 or 0.0044123456789",
        "Postcode 10115, room 4521, 8 digits 12345678",
    ],
)
def test_order_numbers_prices_dates_sizes_and_skus_survive(text):
    assert redact(text) == text


def test_empty_text():
    assert redact("") == ""


@pytest.fixture
def alice(django_user_model, make_product):
    alice = django_user_model.objects.create_user("alice-r", password="pw")
    order = OrderFactory(user=alice, status="shipped", tracking_number="TRK-R-1", products=[make_product(name="Tent")])
    return alice, order


@pytest.mark.django_db
def test_the_assistant_finds_the_order_but_embeds_and_stores_only_the_redacted_question(alice):
    user, order = alice
    question = f"Where is my order {order.pk}? Call me on 5551234567 or mail ann@example.com"

    reply = answer_question(question=question, user=user)

    assert "TRK-R-1" in reply.reply  # the order number was read before the message was redacted
    stored = Exchange.objects.get(pk=reply.id)
    redacted = f"Where is my order {order.pk}? Call me on [phone] or mail [email]"
    assert stored.question == redacted
    backend = assistant_backend()
    assert np.allclose(stored.question_embedding, backend.embed_query(redacted))
    assert not np.allclose(stored.question_embedding, backend.embed_query(question))


@pytest.mark.django_db
def test_a_card_after_the_word_order_is_not_taken_for_an_order_number(alice):
    user, _ = alice

    reply = answer_question(question=f"Where is my order {VISA}?", user=user)

    assert "4111" not in reply.reply
    assert Exchange.objects.get(pk=reply.id).question == "Where is my order [card]?"


@pytest.mark.django_db
def test_search_queries_are_stored_redacted(django_user_model):
    user = django_user_model.objects.create_user("searcher")

    record_event(kind="search", user=user, query="red dress for ann@example.com, call 5551234567")
    record_event(kind="search", session_key="anon-1", query=f"card {VISA} refund")

    assert sorted(Event.objects.values_list("query", flat=True)) == [
        "card [card] refund",
        "red dress for [email], call [phone]",
    ]
