"""What shoppers do, their interest profiles, and tuned recommender settings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from pgvector.django import VectorField


class Event(models.Model):
    """Something a shopper did: viewed or bought a product, searched, added to cart."""

    class Kind(models.TextChoices):
        VIEW = "view", _("viewed")
        SEARCH = "search", _("searched")
        CART = "cart", _("added to cart")
        PURCHASE = "purchase", _("bought")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    # Anonymous visitors: their session key, merged into the account when they sign in.
    session_key = models.CharField(_("session key"), max_length=40, blank=True, db_index=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    object_pk = models.CharField(
        _("object id"), max_length=64, blank=True, help_text=_("The product, for all kinds but search.")
    )
    query = models.CharField(_("query"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), db_index=True)
    # Where a recorded event came from when it mirrors shop data ("order:42" for an order's lines).
    source = models.CharField(_("source"), max_length=80, blank=True, db_index=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="shopai_event_user_time"),
            models.Index(fields=["kind", "-created_at"], name="shopai_event_kind_time"),
            models.Index(fields=["object_pk", "kind"], name="shopai_event_product_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.object_pk or self.query}"


class UserProfile(models.Model):
    """A shopper's interests as one vector in the product embedding space."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shopai_profile", verbose_name=_("user")
    )
    model_name = models.CharField(_("model"), max_length=200)
    vector = VectorField()  # in the space of model_name's product vectors
    events_used = models.PositiveIntegerField(_("events used"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("user profile")
        verbose_name_plural = _("user profiles")

    def __str__(self) -> str:
        return f"interests of {self.user}"


class RecommenderSettings(models.Model):
    """Recommendation settings fitted to this shop's own history by ``shopai_tune_recommendations``.

    The active row's ``values`` override SHOPAI["RECOMMENDATIONS"] key by key; deactivating it
    (admin action, or ``shopai_tune_recommendations --revert``) goes back to the settings file.
    Rows are kept as a history of what was tried and measured.
    """

    values = models.JSONField(_("values"), help_text=_("RECOMMENDATIONS keys this row overrides, e.g. BLEND."))
    active = models.BooleanField(_("active"), default=False)
    source = models.CharField(
        _("source"), max_length=200, blank=True, help_text=_("What fitted it, on how much history.")
    )
    report = models.JSONField(
        _("report"),
        default=dict,
        blank=True,
        # xgettext:no-python-format
        help_text=_("Before/after figures with 95% intervals."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.CharField(_("created by"), max_length=150, blank=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("recommender settings")
        verbose_name_plural = _("recommender settings")
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=Q(active=True), name="shopai_one_active_recommender")
        ]

    def __str__(self) -> str:
        blend = ", ".join(f"{name} {weight:g}" for name, weight in (self.values.get("BLEND") or {}).items() if weight)
        when = f"{self.created_at:%Y-%m-%d %H:%M}" if self.created_at else "not saved"
        return f"{'active: ' if self.active else ''}{blend or 'settings'} ({when})"
