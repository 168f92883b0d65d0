"""What shoppers do, their interest profiles, and tuned recommender settings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from pgvector.django import VectorField

from shopai.models.vectors import EMBEDDING_DIMENSIONS


class Event(models.Model):
    """Something a shopper did: viewed or bought a product, searched, added to cart."""

    class Kind(models.TextChoices):
        VIEW = "view", "viewed"
        SEARCH = "search", "searched"
        CART = "cart", "added to cart"
        PURCHASE = "purchase", "bought"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Anonymous visitors: their session key, merged into the account when they sign in.
    session_key = models.CharField(max_length=40, blank=True, db_index=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_pk = models.CharField(max_length=64, blank=True, help_text="The product, for all kinds but search.")
    query = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(db_index=True)
    # Where a recorded event came from when it mirrors shop data ("order:42" for an order's lines).
    source = models.CharField(max_length=80, blank=True, db_index=True)

    class Meta:
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

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shopai_profile")
    model_name = models.CharField(max_length=200)
    vector = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    events_used = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"interests of {self.user}"


class RecommenderSettings(models.Model):
    """Recommendation settings fitted to this shop's own history by ``shopai_tune_recommendations``.

    The active row's ``values`` override SHOPAI["RECOMMENDATIONS"] key by key; deactivating it
    (admin action, or ``shopai_tune_recommendations --revert``) goes back to the settings file.
    Rows are kept as a history of what was tried and measured.
    """

    values = models.JSONField(help_text="RECOMMENDATIONS keys this row overrides, e.g. BLEND.")
    active = models.BooleanField(default=False)
    source = models.CharField(max_length=200, blank=True, help_text="What fitted it, on how much history.")
    report = models.JSONField(default=dict, blank=True, help_text="Before/after figures with 95% intervals.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "recommender settings"
        verbose_name_plural = "recommender settings"
        constraints = [
            models.UniqueConstraint(fields=["active"], condition=Q(active=True), name="shopai_one_active_recommender")
        ]

    def __str__(self) -> str:
        blend = ", ".join(f"{name} {weight:g}" for name, weight in (self.values.get("BLEND") or {}).items() if weight)
        when = f"{self.created_at:%Y-%m-%d %H:%M}" if self.created_at else "not saved"
        return f"{'active: ' if self.active else ''}{blend or 'settings'} ({when})"
