"""Personal data is replaced before a conversation is stored; order numbers, prices and SKUs survive."""

import pytest

from shopai.core.redaction import REDACTION_TOKENS, redact

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
    ],
)
def test_phone_numbers_are_redacted_inside_sentences(phone):
    assert redact(f"Please call me on {phone} after six.") == "Please call me on [phone] after six."
    assert redact(f"我的手机号是{phone}，谢谢") == "我的手机号是[phone]，谢谢"


@pytest.mark.parametrize("card", [VISA, MASTERCARD, AMEX, UNIONPAY, "4111111111111111", "3782 822463 10005"])
def test_card_numbers_are_redacted_as_cards_not_phones(card):
    assert redact(f"I paid with {card} yesterday") == "I paid with [card] yesterday"
    assert redact(f"我用的卡号是{card}，请帮我查一下") == "我用的卡号是[card]，请帮我查一下"


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
        "A 10-digit reference without separators: 5551234567",
    ],
)
def test_order_numbers_prices_dates_sizes_and_skus_survive(text):
    assert redact(text) == text


def test_empty_text():
    assert redact("") == ""
