"""The shopper's own orders in a reply: which order, its status and tracking, then what the question
was about (a delivery problem, a return or a cancellation). Orders are reached only through the
order adapter's ``get_order``/``recent_orders``, which are scoped to the signed-in shopper."""

from __future__ import annotations

from django.utils import translation

from shopai.adapters import OrderInfo, get_order_adapter
from shopai.assistant import after_sales, delivery
from shopai.assistant.replies import REPLY_LANGUAGES, Turn, add_link, day

# Intents answered about one of the shopper's orders.
ORDER_INTENTS = (
    "order_status",
    "delivery_late",
    "delivery_lost",
    "delivery_damaged",
    "delivery_address",
    "cancel_order",
    "return_refund",
)


def order_reply(turn: Turn, *, intent: str, number: str | None, text: str = "", line: str | None = None) -> list[str]:
    """The reply about order ``number`` (or, without one, the shopper's recent orders and "which one?")."""
    result, say = turn.result, turn.say
    result.confidence = result.intent_confidence
    if not turn.signed_in:
        add_link(result, say["link_login"], "login")
        if number is None:  # signed in, their next message may say which order
            turn.ask(slot="order_number", intent=intent, options=[])
        return [say["sign_in"]]
    # The shop's own words for an order (a status's label) in the reply's language, like the phrases.
    with translation.override(REPLY_LANGUAGES.get(turn.language, "en")):
        return _order_lines(turn, intent=intent, number=number, text=text, line=line)


def _order_lines(turn: Turn, *, intent: str, number: str | None, text: str, line: str | None) -> list[str]:
    result, say, adapter = turn.result, turn.say, get_order_adapter()
    order = adapter.get_order(user=turn.user, number=number) if number is not None else None
    if order is None:
        lines = [say["order_unknown"].format(number=number)] if number is not None else []
        recent = adapter.recent_orders(user=turn.user)
        if recent:
            listing = "; ".join(f"{info.number} ({info.status})" for info in recent)
            lines.append(say["recent"].format(orders=listing))
            lines.append(say["ask_number"])
            turn.ask(slot="order_number", intent=intent, options=[info.number for info in recent])
        else:
            lines.append(say["no_orders"])
        add_link(result, say["link_orders"], "orders")
        return lines
    info = adapter.describe(order)
    turn.state["focus_order"] = info.number
    result.answer = say["order"].format(number=info.number, status=info.status)
    lines = [result.answer]
    if info.tracking:
        lines.append(say["tracking"].format(tracking=info.tracking))
    if info.url:
        result.links.append({"label": say["link_order"].format(number=info.number), "url": info.url})
    result.source = order_facts(info, turn.language)
    if intent.startswith("delivery_"):
        return lines + delivery.reply_for(turn, intent=intent, info=info)
    if intent in ("cancel_order", "return_refund"):
        kind = "cancel" if intent == "cancel_order" else "return"
        return lines + after_sales.start(turn, kind=kind, order=order, info=info, adapter=adapter, text=text, line=line)
    result.rewritable = True
    return lines


def order_facts(info: OrderInfo, language: str) -> str:
    """The order's facts as lines, what a reply about it may say (the reply writer's source)."""
    facts = [f"Order number: {info.number}", f"Status: {info.status}"]
    if info.tracking:
        facts.append(f"Tracking number: {info.tracking}")
    for label, value in (("Shipped", info.shipped_at), ("Delivered", info.delivered_at), ("Due", info.expected_by)):
        if value is not None:
            facts.append(f"{label}: {day(value, language)}")
    return "\n".join(facts)
