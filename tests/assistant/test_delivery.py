"""Delivery problems answered from the order's record: where it stands, and the next step (wait until
a date, or a case for staff). No model needed: the reply is built from the order's facts."""

from datetime import UTC, datetime, timedelta

import pytest

from shopai.adapters import OrderInfo
from shopai.assistant.answers import choose_route
from shopai.assistant.delivery import reply_for
from shopai.assistant.replies import AssistantReply, Turn, phrases
from shopai.backends.sentiment import Sentiment

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def order(*, shipped_days_ago=None, delivered_days_ago=None, due_in_days=None) -> OrderInfo:
    def ago(days):
        return None if days is None else NOW - timedelta(days=days)

    return OrderInfo(
        number="1204",
        status="Shipped",
        tracking="TRK-1",
        created=ago(20),
        url=None,
        shipped_at=ago(shipped_days_ago),
        delivered_at=ago(delivered_days_ago),
        expected_by=None if due_in_days is None else (NOW + timedelta(days=due_in_days)).date(),
    )


def answer(intent: str, info: OrderInfo, language: str = "en") -> tuple[str, AssistantReply]:
    result = AssistantReply(
        reply="", answer=None, confidence=0, intent=intent, intent_confidence=0.9,
        sentiment=Sentiment(label="neutral", score=0.0), handoff=False, language=language, session_id="s",
    )  # fmt: skip
    turn = Turn(result=result, say=phrases(language), user=None, conversation=None, state={}, now=NOW)
    return " ".join(reply_for(turn, intent=intent, info=info)), result


def test_a_late_parcel_not_yet_due_is_waited_for_until_its_date():
    text, result = answer("delivery_late", order(shipped_days_ago=2, due_in_days=3))
    assert "should arrive by Dec. 10, 2026" in text and not result.handoff


def test_a_parcel_past_its_date_opens_a_delivery_case():
    text, result = answer("delivery_late", order(shipped_days_ago=9, due_in_days=-4))
    assert "Dec. 3, 2026" in text and result.handoff and result.handoff_reason == "delivery_late"


def test_an_order_not_shipped_yet_says_so():
    text, result = answer("delivery_late", order())
    assert "hasn't shipped yet" in text and not result.handoff


def test_a_lost_parcel_is_waited_for_a_few_days_past_due_then_investigated():
    waiting, early = answer("delivery_lost", order(shipped_days_ago=7, due_in_days=-2))
    lost, late = answer("delivery_lost", order(shipped_days_ago=15, due_in_days=-10))
    assert "Dec. 10, 2026" in waiting and not early.handoff  # due + LOST_AFTER_DAYS (5)
    assert "investigation" in lost and late.handoff and late.handoff_reason == "delivery_lost"


def test_delivered_on_record_but_missing_opens_a_case_with_the_date():
    text, result = answer("delivery_late", order(shipped_days_ago=5, delivered_days_ago=1))
    assert "delivered on Dec. 6, 2026" in text and result.handoff


def test_damaged_asks_for_photos_and_opens_a_case():
    text, result = answer("delivery_damaged", order(shipped_days_ago=5, delivered_days_ago=1))
    assert "photos" in text and result.handoff_reason == "delivery_damaged"


def test_the_address_is_changed_by_staff_before_shipping_and_only_by_the_carrier_after():
    before, early = answer("delivery_address", order())
    after, late = answer("delivery_address", order(shipped_days_ago=1, due_in_days=4))
    assert "can still be changed" in before and "don't type your full address" in before
    assert "carrier" in after
    assert early.handoff_reason == late.handoff_reason == "address_change"


def test_chinese_replies_read_the_date_in_chinese():
    text, _ = answer("delivery_late", order(shipped_days_ago=2, due_in_days=3), language="zh")
    assert "2026年12月10日" in text


@pytest.mark.parametrize(
    ("intent", "sure", "faq_answers", "named", "focus", "signed_in", "route"),
    [
        # Anonymous: nothing to look up, the FAQ (or a person) answers.
        ("delivery_late", 0.95, True, False, False, False, "faq"),
        ("delivery_damaged", 0.95, False, True, False, False, "faq"),
        # Signed in: about their parcel, so which order? — even when an FAQ would answer.
        ("delivery_late", 0.7, True, False, False, True, "order"),
        ("delivery_late", 0.4, True, False, False, True, "faq"),
        # Returns and cancellations act only on an order named or in focus.
        ("return_refund", 0.95, True, False, False, True, "faq"),
        ("return_refund", 0.7, True, True, False, True, "order"),
        ("cancel_order", 0.95, True, False, True, True, "order"),
        # Unchanged: the FAQ keeps a question it answers unless the intent is sure.
        ("human_agent", 0.8, True, False, False, True, "faq"),
        ("human_agent", 0.95, True, False, False, False, "human"),
        ("order_status", 0.3, True, True, False, False, "order"),
        ("shipping", 0.99, True, True, True, True, "faq"),
    ],
)
def test_who_answers(intent, sure, faq_answers, named, focus, signed_in, route):
    chosen = choose_route(
        intent=intent, sure=sure, faq_answers=faq_answers, names_an_order=named, order_in_focus=focus,
        signed_in=signed_in,
    )  # fmt: skip
    assert chosen == route
