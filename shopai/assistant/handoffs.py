"""Handoffs that reach staff: a case per handed-over conversation, staff replies back to the chat.

Services change cases (``open_case``, ``assign_case``, ``reply_to_case``, ``resolve_case``); selectors
read them (``staff_messages``, ``case_counts``). Logs name the case id, never what anybody wrote.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from shopai.assistant.conversations import owned_conversation
from shopai.conf import shopai_settings
from shopai.models import CaseMessage, Conversation, Exchange, HandoffCase
from shopai.signals import handoff_requested

logger = logging.getLogger(__name__)

# The assistant's handoff reasons (Exchange.handoff_reason) as the inbox's case reasons.
CASE_REASONS = {
    "asked_for_human": HandoffCase.Reason.ASKED,
    "very_negative": HandoffCase.Reason.ANGRY,
    "low_confidence": HandoffCase.Reason.UNSURE,
    "product_text_silent": HandoffCase.Reason.UNSURE,
    "out_of_scope": HandoffCase.Reason.OUT_OF_SCOPE,
    "needs_approval": HandoffCase.Reason.NEEDS_APPROVAL,
    "address_change": HandoffCase.Reason.NEEDS_APPROVAL,
    "delivery_late": HandoffCase.Reason.DELIVERY,
    "delivery_lost": HandoffCase.Reason.DELIVERY,
    "delivery_damaged": HandoffCase.Reason.DELIVERY,
}


def case_reason_for(handoff_reason: str) -> str | None:
    """The case reason for an assistant handoff, or None when the shop opens no case for it."""
    reason = CASE_REASONS.get(handoff_reason)
    wanted = shopai_settings.section("ASSISTANT", "HANDOFF")["CASE_REASONS"]
    return str(reason) if reason is not None and str(reason) in wanted else None


def priority_for(*, reason: str, sentiment_label: str, sentiment_score: float) -> int:
    """Urgent for an upset shopper, high for an unhappy one or a delivery problem, else normal."""
    if reason == HandoffCase.Reason.ANGRY or sentiment_score <= float(shopai_settings.ASSISTANT["HANDOFF_SENTIMENT"]):
        return HandoffCase.Priority.URGENT
    if sentiment_label == "negative" or reason == HandoffCase.Reason.DELIVERY:
        return HandoffCase.Priority.HIGH
    return HandoffCase.Priority.NORMAL


def open_case(
    *,
    conversation: Conversation,
    exchange: Exchange | None,
    reason: str,
    detail: str = "",
    sentiment_label: str = "",
    sentiment_score: float = 0.0,
    language: str = "",
) -> HandoffCase:
    """The conversation's unresolved case, opened now if it has none; its priority only ever rises.

    ``handoff_requested`` is sent once the transaction commits, for a new case only."""
    priority = priority_for(reason=reason, sentiment_label=sentiment_label, sentiment_score=sentiment_score)
    with transaction.atomic():
        case = (
            HandoffCase.objects.select_for_update()
            .filter(conversation=conversation)
            .exclude(status=HandoffCase.Status.RESOLVED)
            .first()
        )
        created = case is None
        if created:
            try:
                with transaction.atomic():
                    case = HandoffCase.objects.create(
                        conversation=conversation,
                        exchange=exchange,
                        reason=reason,
                        detail=detail[:64],
                        priority=priority,
                        language=language,
                    )
            except IntegrityError:  # another turn of the same chat opened it a moment ago
                created = False
                case = HandoffCase.objects.exclude(status=HandoffCase.Status.RESOLVED).get(conversation=conversation)
        if not created and priority < case.priority:
            case.priority = priority
            case.save(update_fields=["priority", "updated_at"])
        Conversation.objects.filter(pk=conversation.pk).update(handoff_status=Conversation.Handoff.WITH_STAFF)
        conversation.handoff_status = Conversation.Handoff.WITH_STAFF
    if created:
        logger.info("Handoff case %s opened (%s, priority %s)", case.pk, reason, case.priority)
        transaction.on_commit(
            lambda: handoff_requested.send(
                sender=HandoffCase, case_id=case.pk, reason=case.reason, priority=case.priority, language=language
            )
        )
    return case


def assign_case(*, case: HandoffCase, staff) -> HandoffCase:
    case.assignee = staff
    if case.status == HandoffCase.Status.OPEN:
        case.status = HandoffCase.Status.ASSIGNED
    case.save(update_fields=["assignee", "status", "updated_at"])
    return case


def reply_to_case(*, case: HandoffCase, staff, body: str) -> CaseMessage:
    """A staff reply: shown in the shopper's chat; the case now waits on the shopper. The time to the
    first staff reply (the SLA figure) is set once."""
    now = timezone.now()
    body = body.strip()
    if not body:
        raise ValueError("A reply needs some text.")
    with transaction.atomic():
        locked = HandoffCase.objects.select_for_update().get(pk=case.pk)
        if locked.status == HandoffCase.Status.RESOLVED:
            raise CaseResolved(f"Case {case.pk} was resolved; the shopper no longer sees replies to it.")
        message = CaseMessage.objects.create(case=case, author=staff, body=body)
        HandoffCase.objects.filter(pk=case.pk, first_staff_reply_at__isnull=True).update(first_staff_reply_at=now)
        case.refresh_from_db(fields=["first_staff_reply_at"])
        case.status = HandoffCase.Status.WAITING
        if case.assignee_id is None:
            case.assignee = staff
        case.save(update_fields=["status", "assignee", "updated_at"])
    logger.info("Staff replied to case %s", case.pk)
    return message


def resolve_case(*, case: HandoffCase, staff=None) -> HandoffCase:
    """Close the case; the conversation is the assistant's again."""
    with transaction.atomic():
        case.status = HandoffCase.Status.RESOLVED
        case.resolved_at = timezone.now()
        if case.assignee_id is None and staff is not None:
            case.assignee = staff
        case.save(update_fields=["status", "resolved_at", "assignee", "updated_at"])
        Conversation.objects.filter(pk=case.conversation_id).update(handoff_status=Conversation.Handoff.NONE)
    return case


def shopper_wrote(*, conversation: Conversation) -> HandoffCase | None:
    """The shopper answered while staff hold the chat: a case waiting on them is open again."""
    case = conversation.cases.exclude(status=HandoffCase.Status.RESOLVED).first()
    if case is not None and case.status == HandoffCase.Status.WAITING:
        case.status = HandoffCase.Status.ASSIGNED if case.assignee_id else HandoffCase.Status.OPEN
        case.save(update_fields=["status", "updated_at"])
    return case


class CaseResolved(Exception):
    """A reply to a case someone resolved in the meantime."""


@dataclass(frozen=True)
class StaffMessages:
    case: HandoffCase | None
    messages: list[CaseMessage]


def staff_messages(*, session_id: str, user, after: int = 0) -> StaffMessages | None:
    """Staff replies in the caller's conversation newer than message ``after``; None when the
    conversation is not the caller's (or gone). Marks them seen."""
    conversation = owned_conversation(session_id=session_id, user=user, live=False)
    if conversation is None:
        return None
    case = conversation.cases.order_by("-opened_at").first()
    messages = list(
        CaseMessage.objects.filter(case__conversation=conversation, id__gt=after)
        .select_related("author")
        .order_by("id")
    )
    unseen = [message.pk for message in messages if message.seen_at is None]
    if unseen:
        CaseMessage.objects.filter(pk__in=unseen).update(seen_at=timezone.now())
    return StaffMessages(case=case, messages=messages)


def author_name(message: CaseMessage) -> str:
    """What the shopper reads as the sender: the staff member's first name, if the shop allows."""
    show = shopai_settings.section("ASSISTANT", "HANDOFF")["SHOW_STAFF_NAMES"]
    return (message.author.first_name if show and message.author is not None else "") or ""


def case_counts(*, now=None, days: int = 30) -> dict:
    """The inbox's figures: cases per status, unresolved ones past the SLA without a staff reply, and
    the median minutes to the first staff reply over the last ``days``."""
    now = now or timezone.now()
    counts = {status: 0 for status in HandoffCase.Status.values}
    for row in HandoffCase.objects.values("status").order_by().annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    sla = float(shopai_settings.section("ASSISTANT", "HANDOFF")["SLA_MINUTES"])
    overdue = (
        HandoffCase.objects.exclude(status=HandoffCase.Status.RESOLVED)
        .filter(first_staff_reply_at__isnull=True, opened_at__lt=now - timedelta(minutes=sla))
        .count()
    )
    waits = [
        (replied - opened).total_seconds() / 60
        for opened, replied in HandoffCase.objects.filter(
            opened_at__gte=now - timedelta(days=days), first_staff_reply_at__isnull=False
        ).values_list("opened_at", "first_staff_reply_at")
    ]
    return {
        "by_status": counts,
        "overdue": overdue,
        "median_first_reply_minutes": round(median(waits), 1) if waits else None,
        "replied": len(waits),
    }
