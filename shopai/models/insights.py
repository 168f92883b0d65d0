"""What shoppers were shown and what they clicked: search results and recommendation lists.

One row per list shown (not per product), written in one batch per request; one row per product
clicked in it. The insights pages aggregate them with SQL; nothing here holds a shopper's words
except a search query, which is redacted before it is stored.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _


class ListImpression(models.Model):
    """A list of products a shopper was shown: search results or recommendations."""

    class Kind(models.TextChoices):
        SEARCH = "search", _("search results")
        RECOMMENDATION = "recommendation", _("recommendations")

    # Random and unguessable: the tracking token that click links and the API carry.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    placement = models.CharField(
        _("placement"), max_length=40, help_text=_('Where it was shown: "search_page", "api", "similar", …')
    )
    query = models.CharField(_("query"), max_length=300, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    visitor = models.CharField(_("visitor"), max_length=64, blank=True, db_index=True)
    product_pks = ArrayField(models.CharField(max_length=64), default=list, verbose_name=_("products"))
    # Per position: why the product is there ("keyword", "vector", "both"; "buy_again", "trending", …).
    sources = ArrayField(models.CharField(max_length=24), default=list, verbose_name=_("sources"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("list shown")
        verbose_name_plural = _("lists shown")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["kind", "created_at"], name="shopai_impression_kind_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.query or self.placement} ({len(self.product_pks)})"


class ListClick(models.Model):
    """A product clicked in a list shown; one per product and list (a second click counts once)."""

    impression = models.ForeignKey(
        ListImpression, on_delete=models.CASCADE, related_name="clicks", verbose_name=_("list shown")
    )
    product_pk = models.CharField(_("product id"), max_length=64)
    position = models.PositiveSmallIntegerField(_("position"), help_text=_("1 is the first product of the list."))
    source = models.CharField(_("source"), max_length=24, blank=True)
    # Copied from the impression, so the figures and attribution read clicks without joining it.
    kind = models.CharField(_("kind"), max_length=16, choices=ListImpression.Kind.choices)
    language = models.CharField(_("language"), max_length=8, blank=True)
    placement = models.CharField(_("placement"), max_length=40, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("user"),
    )
    visitor = models.CharField(_("visitor"), max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("click")
        verbose_name_plural = _("clicks")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["impression", "product_pk"], name="shopai_click_once_per_list"),
        ]
        indexes = [
            models.Index(fields=["kind", "created_at"], name="shopai_click_kind_time"),
            models.Index(fields=["user", "product_pk", "created_at"], name="shopai_click_user_product"),
        ]

    def __str__(self) -> str:
        return f"{self.product_pk} at {self.position}"


class Insight(models.Model):
    """No table: the "AI insights" pages in admin, and the permission to see them."""

    class Meta:
        managed = False
        default_permissions = ("view",)
        verbose_name = _("AI insights")
        verbose_name_plural = _("AI insights")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)
