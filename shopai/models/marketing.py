"""Campaigns sent to shoppers: marketing consent, one row per recipient, and their clicks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MarketingConsent(models.Model):
    """Whether a shopper agreed to marketing e-mail (no row: they did not). Unsubscribe links clear it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="shopai_marketing_consent",
        verbose_name=_("user"),
    )
    consented = models.BooleanField(_("consented"), default=False)
    source = models.CharField(
        _("source"),
        max_length=40,
        blank=True,
        help_text=_('Where it was given or withdrawn: "signup", "unsubscribe link", …'),
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        verbose_name = _("marketing consent")
        verbose_name_plural = _("marketing consents")

    def __str__(self) -> str:
        return f"{self.user}: {'yes' if self.consented else 'no'}"


class CampaignRecipient(models.Model):
    """One shopper a campaign is sent to, at most once: the row is claimed before the mail goes out."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped (no consent)")
        UNKNOWN = "unknown", _("unknown (worker stopped while sending)")
        EXPORTED = "exported", _("exported (sent by the shop's own service)")

    campaign = models.ForeignKey(
        "shopai.Campaign", on_delete=models.CASCADE, related_name="recipients", verbose_name=_("campaign")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    email = models.EmailField(_("e-mail"))
    variant = models.ForeignKey(
        "shopai.Variant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("variant")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField(_("error"), blank=True)
    queued_at = models.DateTimeField(_("queued at"), auto_now_add=True)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("campaign recipient")
        verbose_name_plural = _("campaign recipients")
        constraints = [models.UniqueConstraint(fields=["campaign", "user"], name="shopai_campaign_once_per_shopper")]

    def __str__(self) -> str:
        return f"{self.campaign_id} → {self.email} ({self.status})"


class CampaignClick(models.Model):
    """A product link of a campaign mail followed by its recipient (once per product)."""

    recipient = models.ForeignKey(
        CampaignRecipient, on_delete=models.CASCADE, related_name="clicks", verbose_name=_("recipient")
    )
    product_pk = models.CharField(_("product id"), max_length=64)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("campaign click")
        verbose_name_plural = _("campaign clicks")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "product_pk"], name="shopai_campaign_click_once"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} clicked {self.product_pk}"
