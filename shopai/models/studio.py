"""The marketing studio: copy jobs and drafts, experiments, segments and campaigns."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from pgvector.django import VectorField


class GenerationJob(models.Model):
    """One request for copy (an admin action or an API call) over one or more products."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    parameters = models.JSONField(
        _("parameters"), default=dict, help_text=_("field, tone, length, keywords, language, only_empty")
    )
    product_pks = models.JSONField(_("products"), default=list)
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    skipped = models.PositiveIntegerField(_("skipped"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("generation job")
        verbose_name_plural = _("generation jobs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"copy job {self.pk} ({self.done + self.skipped + self.failed}/{self.total})"

    @property
    def progress(self) -> float:
        return (self.done + self.skipped + self.failed) / self.total if self.total else 1.0


class GeneratedCopy(models.Model):
    """A generated text for one field of one product: a draft until staff publish it."""

    class Field(models.TextChoices):
        DESCRIPTION = "description", _("description")
        TITLE = "title", _("short title")
        META_DESCRIPTION = "meta_description", _("SEO meta description")
        HIGHLIGHTS = "highlights", _("bullet highlights")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        APPROVED = "approved", _("approved")
        PUBLISHED = "published", _("published")
        REJECTED = "rejected", _("rejected")

    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, related_name="+", verbose_name=_("content type")
    )
    object_pk = models.CharField(_("object id"), max_length=64, db_index=True)
    job = models.ForeignKey(
        GenerationJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="drafts", verbose_name=_("job")
    )
    field = models.CharField(_("field"), max_length=32, choices=Field.choices)
    text = models.TextField(_("text"))
    parameters = models.JSONField(_("parameters"), default=dict)
    backend = models.CharField(_("backend"), max_length=200, blank=True)
    model_name = models.CharField(_("model"), max_length=200, blank=True)
    completion_tokens = models.PositiveIntegerField(_("completion tokens"), default=0)
    seconds = models.FloatField(_("seconds"), default=0.0)
    source_hash = models.CharField(
        _("source hash"), max_length=64, blank=True, help_text=_("SHA-256 of the product facts it was made from.")
    )
    flags = models.JSONField(
        _("flags"), default=list, blank=True, help_text=_("Phrases the product's data does not support.")
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    override_reason = models.TextField(
        _("override reason"),
        blank=True,
        help_text=_("Why this draft may be published although the grounding guard flagged it."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("generated copy")
        verbose_name_plural = _("generated copy")
        indexes = [models.Index(fields=["content_type", "object_pk", "field"], name="shopai_copy_product_field")]

    def __str__(self) -> str:
        return f"{self.get_field_display()} for {self.content_type.model} {self.object_pk}"

    @property
    def grounded(self) -> bool:
        return not self.flags

    @property
    def product(self):
        return self.content_type.get_object_for_this_type(pk=self.object_pk)


class Experiment(models.Model):
    """An A/B test of texts: visitors are split deterministically, impressions and conversions counted."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        RUNNING = "running", _("running")
        STOPPED = "stopped", _("stopped")

    key = models.SlugField(_("key"), max_length=80, unique=True, help_text=_("Used by the storefront and the API."))
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Optional: the product field whose text is tested (the winner can be published there).
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("content type")
    )
    object_pk = models.CharField(_("object id"), max_length=64, blank=True)
    field = models.CharField(_("field"), max_length=32, blank=True, choices=GeneratedCopy.Field.choices)
    winner = models.ForeignKey(
        "Variant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("winner")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("experiment")
        verbose_name_plural = _("experiments")

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="variants", verbose_name=_("experiment")
    )
    name = models.CharField(_("name"), max_length=40, help_text=_('"A" (control), "B", …'))
    text = models.TextField(_("text"))
    weight = models.FloatField(_("weight"), default=1.0)
    is_control = models.BooleanField(_("control"), default=False)
    copy = models.ForeignKey(
        GeneratedCopy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("copy")
    )

    class Meta:
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        ordering = ["experiment", "name"]
        constraints = [models.UniqueConstraint(fields=["experiment", "name"], name="shopai_variant_unique")]

    def __str__(self) -> str:
        return f"{self.experiment.key}: {self.name}"


class Exposure(models.Model):
    """One visitor saw one variant (once per visitor); converted when they bought or acted."""

    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="exposures", verbose_name=_("experiment")
    )
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="exposures", verbose_name=_("variant"))
    visitor = models.CharField(_("visitor"), max_length=64, help_text=_("User id or anonymous visitor key."))
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("exposure")
        verbose_name_plural = _("exposures")
        constraints = [models.UniqueConstraint(fields=["experiment", "visitor"], name="shopai_exposure_unique")]

    def __str__(self) -> str:
        return f"{self.visitor} saw {self.variant.name}"


class Segment(models.Model):
    """A group of shoppers: a cluster of interest profiles, or a rule staff define."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, help_text=_("What its shoppers like, in words."))
    rule = models.JSONField(
        _("rule"),
        default=dict,
        blank=True,
        help_text=_('Staff rule, e.g. {"bought_category": "Grocery", "min_orders": 2}.'),
    )
    centroid = VectorField(null=True, blank=True)  # in the space of model_name
    model_name = models.CharField(_("model"), max_length=200, blank=True)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("shoppers"))
    # A clustered segment's name and description are composed from these when shown, in the viewer's
    # language ("Likes Outdoor & Kitchen", "喜欢 Outdoor、Kitchen"); ``name`` and ``description``
    # keep the English. Staff who rename a segment in admin drop the part they replaced.
    likes = models.JSONField(
        _("likes"),
        default=dict,
        blank=True,
        help_text=_('What the name and description are composed from: {"categories": [...], "products": [...]}.'),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the active language."""
        categories = (self.likes or {}).get("categories")
        return self.name if categories is None else self.name_from(categories)

    @property
    def display_description(self) -> str:
        """The description in the active language."""
        products = (self.likes or {}).get("products")
        return self.description if products is None else self.description_from(products)

    @staticmethod
    def name_from(categories: list[str]) -> str:
        """A clustered segment's name from its top categories, in the active language."""
        if not categories:
            return gettext("Likes various things")
        return gettext("Likes %(categories)s") % {"categories": gettext(" & ").join(str(c) for c in categories)}

    @staticmethod
    def description_from(products: list[str]) -> str:
        """A clustered segment's description from the products nearest its centre, in the active language."""
        return gettext("Closest products: %(products)s") % {"products": gettext(", ").join(str(p) for p in products)}


class Campaign(models.Model):
    """Email copy for one segment, featuring products that segment likes; reviewed like product copy."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="campaigns", verbose_name=_("segment"))
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    product_pks = models.JSONField(_("products"), default=list)
    parameters = models.JSONField(_("parameters"), default=dict)
    flags = models.JSONField(_("flags"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=GeneratedCopy.Status.choices, default=GeneratedCopy.Status.DRAFT
    )
    override_reason = models.TextField(
        _("override reason"),
        blank=True,
        help_text=_("Why a campaign the grounding guard flagged may be approved anyway (required then)."),
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    # An A/B test of the subject or the body: its variants, assigned per recipient, live in ``experiment``.
    experiment = models.OneToOneField(
        Experiment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaign",
        verbose_name=_("A/B test"),
    )
    tested_field = models.CharField(
        _("tested field"),
        max_length=16,
        blank=True,
        choices=[("subject", _("subject")), ("body", _("body"))],
    )
    send_started_at = models.DateTimeField(_("sending started at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        permissions = [("send_campaign", _("Can send campaigns to shoppers and export their recipients"))]

    def __str__(self) -> str:
        return self.subject
