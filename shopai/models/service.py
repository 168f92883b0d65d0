"""Customer service beyond one answer: conversations, cases handed to staff, their replies, and the
returns and cancellations the assistant takes down for staff to approve."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Conversation(models.Model):
    """One chat of a signed-in shopper or an anonymous visitor: its turns (``exchanges``) and a small
    state (the question the assistant is waiting on, the order in focus).

    ``state`` holds only order numbers, line references and tokens, never the shopper's words:
    ``{"v": 1, "pending": {"slot": "order_number" | "line" | "confirm", "intent": ..., "options": [...],
    "order": ..., "line": ..., "token": ...}, "focus_order": ..., "last_intent": ..., "done": {...}}``.
    """

    class Handoff(models.TextChoices):
        NONE = "none", _("with the assistant")
        WITH_STAFF = "with_staff", _("with staff")

    # What the chat widget keeps and /ask returns: always made by the server, 128 random bits.
    session_id = models.CharField(_("session id"), max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    # An anonymous visitor's key (shopai's visitor key in the Django session), so erasure finds the chat.
    session_key = models.CharField(_("session key"), max_length=64, blank=True, db_index=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    state = models.JSONField(_("state"), default=dict, blank=True)
    handoff_status = models.CharField(
        _("handoff"), max_length=16, choices=Handoff.choices, default=Handoff.NONE, db_index=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_activity_at = models.DateTimeField(_("last activity"))
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        ordering = ["-last_activity_at"]
        indexes = [models.Index(fields=["user", "-last_activity_at"], name="shopai_conv_user_recent")]

    def __str__(self) -> str:
        return self.session_id[:12]


class HandoffCase(models.Model):
    """A conversation handed to staff: the inbox in admin. One unresolved case per conversation."""

    class Reason(models.TextChoices):
        ASKED = "asked", _("asked for a person")
        ANGRY = "angry", _("upset shopper")
        UNSURE = "unsure", _("assistant unsure")
        OUT_OF_SCOPE = "out_of_scope", _("out of scope")
        NEEDS_APPROVAL = "needs_approval", _("action needs staff")
        DELIVERY = "delivery", _("delivery problem")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ASSIGNED = "assigned", _("assigned")
        WAITING = "waiting_on_shopper", _("waiting on shopper")
        RESOLVED = "resolved", _("resolved")

    class Priority(models.IntegerChoices):
        URGENT = 1, _("urgent")
        HIGH = 2, _("high")
        NORMAL = 3, _("normal")

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="cases", verbose_name=_("conversation")
    )
    exchange = models.ForeignKey(
        "shopai.Exchange",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("handed over at"),
    )
    reason = models.CharField(_("reason"), max_length=24, choices=Reason.choices)
    detail = models.CharField(_("detail"), max_length=64, blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL, db_index=True
    )
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.OPEN, db_index=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("assignee"),
    )
    language = models.CharField(_("language"), max_length=8, blank=True)
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True, db_index=True)
    first_staff_reply_at = models.DateTimeField(_("first staff reply at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation"],
                condition=~Q(status="resolved"),
                name="shopai_case_one_open_per_conversation",
            )
        ]
        indexes = [models.Index(fields=["status", "opened_at"], name="shopai_case_queue")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_reason_display()}"


class CaseMessage(models.Model):
    """A staff member's reply to a case, shown in the shopper's chat."""

    case = models.ForeignKey(HandoffCase, on_delete=models.CASCADE, related_name="messages", verbose_name=_("case"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    body = models.TextField(_("message"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    seen_at = models.DateTimeField(_("seen at"), null=True, blank=True)

    class Meta:
        verbose_name = _("staff reply")
        verbose_name_plural = _("staff replies")
        ordering = ["id"]
        indexes = [models.Index(fields=["case", "id"], name="shopai_casemsg_case_id")]

    def __str__(self) -> str:
        return self.body[:80]


class AfterSalesRequest(models.Model):
    """A return or a cancellation a shopper asked the assistant for; staff approve or reject it."""

    class Kind(models.TextChoices):
        RETURN = "return", _("return")
        CANCEL = "cancel", _("cancellation")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("requested")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.REQUESTED, db_index=True
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("shopper"),
    )
    conversation = models.ForeignKey(
        Conversation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="after_sales_requests",
        verbose_name=_("conversation"),
    )
    order_number = models.CharField(_("order number"), max_length=64, db_index=True)
    line_ref = models.CharField(_("order line"), max_length=64, blank=True, help_text=_("Empty: the whole order."))
    line_description = models.CharField(_("item"), max_length=300, blank=True)
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    # sha256 of the conversation and the confirmation's token: the same "yes" twice makes one request.
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    host_reference = models.CharField(
        _("shop's reference"), max_length=100, blank=True, help_text=_("What the shop's order system returned.")
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    staff_note = models.TextField(_("staff note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("after-sales request")
        verbose_name_plural = _("after-sales requests")
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order_number", "line_ref", "kind"],
                condition=Q(status__in=["requested", "approved"]),
                name="shopai_aftersales_one_open_per_line",
            ),
            models.CheckConstraint(
                condition=~Q(kind="cancel") | Q(line_ref=""), name="shopai_aftersales_cancel_whole_order"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="shopai_aftersales_queue")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.order_number}"
