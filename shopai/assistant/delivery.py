"""Delivery problems about one of the shopper's orders: late, lost, damaged, the wrong address.

Each reply says where the order stands and the next step: wait until a date, or a case for staff
(the flow only marks the handoff; ``answers`` opens the case once the turn is logged)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from shopai.adapters import OrderInfo
from shopai.assistant.replies import Turn, add_link, day
from shopai.conf import shopai_settings


def reply_for(turn: Turn, *, intent: str, info: OrderInfo) -> list[str]:
    say, language = turn.say, turn.language
    today = timezone.localdate(turn.now)
    shipped, delivered = info.shipped_at is not None, info.delivered_at is not None
    lines: list[str] = []
    if intent == "delivery_address":
        if shipped or delivered:
            lines.append(say["address_after_shipping"])
        else:
            lines.append(say["address_before_shipping"])
        turn.hand_over("address_change")
    elif intent == "delivery_damaged":
        lines.append(say["damaged_case"])
        turn.hand_over("delivery_damaged")
    elif not shipped and not delivered:
        lines.append(say["not_shipped_yet"])
        turn.result.rewritable = True
    elif delivered:
        lines += [say["delivered_on"].format(date=day(info.delivered_at, language)), say["delivered_missing"]]
        turn.hand_over("delivery_lost")
    elif intent == "delivery_lost":
        lost_after = int(shopai_settings.section("ASSISTANT", "DELIVERY")["LOST_AFTER_DAYS"])
        if info.expected_by is not None and today <= info.expected_by + timedelta(days=lost_after):
            lines.append(say["lost_wait"].format(date=day(info.expected_by + timedelta(days=lost_after), language)))
        else:
            lines.append(say["lost_case"])
            turn.hand_over("delivery_lost")
    elif info.expected_by is not None and today <= info.expected_by:
        lines.append(say["on_its_way"].format(date=day(info.expected_by, language)))
    else:
        lines.append(say["late_case"].format(date=day(info.expected_by or today, language)))
        turn.hand_over("delivery_late")
    if turn.result.handoff:
        add_link(turn.result, say["link_contact"], "contact")
    return lines
