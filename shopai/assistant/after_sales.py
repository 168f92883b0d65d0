"""Returns and cancellations through the assistant: the shop's rules (the order adapter's
``can_return``/``can_cancel``) are checked, the shopper confirms, and a request is recorded for staff
to approve in admin (``decide_after_sales``). Only the signed-in shopper's own orders are reachable; a
confirmation repeated (a second "yes", a double click, a retry) records one request."""

from __future__ import annotations

import hashlib
import logging
import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from shopai.adapters import Decision, OrderAdapter, OrderInfo, OrderLine, get_order_adapter
from shopai.assistant.followups import match_line
from shopai.assistant.replies import Turn, add_link, day
from shopai.models import AfterSalesRequest

logger = logging.getLogger(__name__)

REFUSALS = {
    "already_shipped": "cancel_shipped",
    "window_closed": "return_window_closed",
    "not_delivered": "return_not_delivered",
    "already_cancelled": "already_cancelled",
    "already_returned": "already_returned",
}


def _refusal(turn: Turn, decision: Decision, number: str) -> list[str]:
    phrase = REFUSALS.get(decision.reason)
    if phrase is None:  # the shop takes no such request here, or a reason shopai has no words for
        return _to_staff(turn)
    until = day(decision.until, turn.language) if decision.until else ""
    return [turn.say[phrase].format(number=number, date=until)]


def _to_staff(turn: Turn) -> list[str]:
    turn.hand_over("needs_approval")
    add_link(turn.result, turn.say["link_contact"], "contact")
    return [turn.say["contact_us_case"]]


def start(
    turn: Turn,
    *,
    kind: str,
    order,
    info: OrderInfo,
    adapter: OrderAdapter,
    text: str = "",
    line: str | None = None,
) -> list[str]:
    """Check the shop's rule for the shopper's own ``order``; if allowed, ask them to confirm."""
    say, number = turn.say, info.number
    if not adapter.supports_after_sales():
        return _to_staff(turn)
    if kind == "cancel":
        decision = adapter.can_cancel(order=order)
        if not decision.allowed:
            return _refusal(turn, decision, number)
        turn.ask(slot="confirm", intent="cancel_order", order=number, line="", token=uuid.uuid4().hex)
        return [say["confirm_cancel"].format(number=number)]
    lines = adapter.order_lines(order)
    chosen = _choose_line(lines, ref=line, text=text, language=turn.language)
    if chosen is None:
        listing = "; ".join(f"{position}. {item.name}" for position, item in enumerate(lines, start=1))
        turn.ask(slot="line", intent="return_refund", order=number, options=[item.ref for item in lines])
        return [say["which_line"].format(number=number, lines=listing)]
    decision = adapter.can_return(order=order, line=chosen, now=turn.now)
    if not decision.allowed:
        return _refusal(turn, decision, number)
    turn.ask(slot="confirm", intent="return_refund", order=number, line=chosen.ref, token=uuid.uuid4().hex)
    until = day(decision.until, turn.language) if decision.until else ""
    return [say["confirm_return"].format(item=chosen.name, number=number, date=until)]


def _choose_line(lines: list[OrderLine], *, ref: str | None, text: str, language: str) -> OrderLine | None:
    if ref is not None:
        return next((item for item in lines if item.ref == ref), None)
    if len(lines) == 1:
        return lines[0]
    named = match_line(text, [[item.ref, item.name] for item in lines], language) if text else None
    return next((item for item in lines if item.ref == named), None)


def idempotency_key(conversation_pk: int, token: str) -> str:
    return hashlib.sha256(f"{conversation_pk}:{token}".encode()).hexdigest()


def confirm(turn: Turn, *, pending: dict) -> list[str]:
    """The shopper said yes: re-check the order and the rule (the state may be stale), then record
    the request once and tell the shop's system (the adapter's create hook)."""
    say, number = turn.say, str(pending.get("order", ""))
    if not turn.signed_in:
        add_link(turn.result, say["link_login"], "login")
        return [say["sign_in"]]
    adapter = get_order_adapter()
    order = adapter.get_order(user=turn.user, number=number)
    if order is None:
        return [say["order_unknown"].format(number=number)]
    kind = "cancel" if pending.get("intent") == "cancel_order" else "return"
    key = idempotency_key(turn.conversation.pk, str(pending.get("token", "")))
    if AfterSalesRequest.objects.filter(idempotency_key=key).exists():
        return [say["already_requested"]]
    line = None
    if kind == "cancel":
        decision = adapter.can_cancel(order=order)
    else:
        line = next((item for item in adapter.order_lines(order) if item.ref == pending.get("line")), None)
        if line is None:
            return [say["order_unknown"].format(number=number)]
        decision = adapter.can_return(order=order, line=line, now=turn.now)
    if not decision.allowed:
        return _refusal(turn, decision, number)
    try:
        request, created = request_after_sales(
            user=turn.user,
            conversation=turn.conversation,
            kind=kind,
            order_number=number,
            line=line,
            key=key,
            adapter=adapter,
        )
    except Exception:  # the shop's system refused or failed: nothing recorded, a person takes over
        logger.exception("The order adapter could not record a %s request for an order", kind)
        return _to_staff(turn)
    turn.state["done"] = {"token": pending.get("token"), "request": request.pk}
    turn.result.confidence = 1.0
    if not created:
        return [say["already_requested"]]
    if kind == "cancel":
        return [say["cancel_requested"].format(number=number)]
    return [say["return_requested"].format(item=line.name, number=number)]


def request_after_sales(
    *, user, conversation, kind: str, order_number: str, line: OrderLine | None, key: str, adapter: OrderAdapter
) -> tuple[AfterSalesRequest, bool]:
    """Record the request (one per confirmation, one open per order line) and pass it to the shop."""
    with transaction.atomic():
        existing = AfterSalesRequest.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing, False
        open_request = AfterSalesRequest.objects.filter(
            order_number=order_number,
            line_ref=line.ref if line else "",
            kind=kind,
            status__in=[AfterSalesRequest.Status.REQUESTED, AfterSalesRequest.Status.APPROVED],
        ).first()
        if open_request is not None:
            return open_request, False
        try:
            with transaction.atomic():
                request = AfterSalesRequest.objects.create(
                    kind=kind,
                    user=user,
                    conversation=conversation,
                    order_number=order_number,
                    line_ref=line.ref if line else "",
                    line_description=(line.name if line else "")[:300],
                    quantity=line.quantity if line else 1,
                    idempotency_key=key,
                )
        except IntegrityError:  # the same confirmation or line, recorded a moment ago by another request
            request = (
                AfterSalesRequest.objects.filter(idempotency_key=key).first()
                or AfterSalesRequest.objects.filter(
                    order_number=order_number, line_ref=line.ref if line else "", kind=kind
                )
                .exclude(status=AfterSalesRequest.Status.REJECTED)
                .first()
            )
            return request, False
        create = adapter.create_cancellation_request if kind == "cancel" else adapter.create_return_request
        reference = create(request=request)
        if reference:
            request.host_reference = str(reference)[:100]
            request.save(update_fields=["host_reference", "updated_at"])
    logger.info("After-sales request %s recorded (%s)", request.pk, kind)
    return request, True


def decide_after_sales(*, request: AfterSalesRequest, staff, approve: bool, note: str = "") -> AfterSalesRequest:
    """Staff's decision. On approval the shop's adapter carries it out (``apply_decision``) in the same
    transaction: if it raises, nothing changes and the error reaches the caller."""
    with transaction.atomic():
        locked = AfterSalesRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != AfterSalesRequest.Status.REQUESTED:
            return locked
        locked.status = AfterSalesRequest.Status.APPROVED if approve else AfterSalesRequest.Status.REJECTED
        locked.decided_by, locked.decided_at = staff, timezone.now()
        if note:
            locked.staff_note = note
        locked.save(update_fields=["status", "decided_by", "decided_at", "staff_note", "updated_at"])
        if approve:
            get_order_adapter().apply_decision(request=locked)
    return locked
