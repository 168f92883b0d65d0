"""The marketing studio: copy jobs and drafts, experiments, segments and campaigns."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from pgvector.django import VectorField

from shopai.models.vectors import EMBEDDING_DIMENSIONS


class GenerationJob(models.Model):
    """One request for copy (an admin action or an API call) over one or more products."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    parameters = models.JSONField(default=dict, help_text="field, tone, length, keywords, language, only_empty")
    product_pks = models.JSONField(default=list)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"copy job {self.pk} ({self.done + self.skipped + self.failed}/{self.total})"

    @property
    def progress(self) -> float:
        return (self.done + self.skipped + self.failed) / self.total if self.total else 1.0


class GeneratedCopy(models.Model):
    """A generated text for one field of one product: a draft until staff publish it."""

    class Field(models.TextChoices):
        DESCRIPTION = "description", "description"
        TITLE = "title", "short title"
        META_DESCRIPTION = "meta_description", "SEO meta description"
        HIGHLIGHTS = "highlights", "bullet highlights"

    class Status(models.TextChoices):
        DRAFT = "draft", "draft"
        APPROVED = "approved", "approved"
        PUBLISHED = "published", "published"
        REJECTED = "rejected", "rejected"

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_pk = models.CharField(max_length=64, db_index=True)
    job = models.ForeignKey(GenerationJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="drafts")
    field = models.CharField(max_length=32, choices=Field.choices)
    text = models.TextField()
    parameters = models.JSONField(default=dict)
    backend = models.CharField(max_length=200, blank=True)
    model_name = models.CharField(max_length=200, blank=True)
    completion_tokens = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0.0)
    source_hash = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the product facts it was made from."
    )
    flags = models.JSONField(default=list, blank=True, help_text="Phrases the product's data does not support.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True)
    override_reason = models.TextField(
        blank=True, help_text="Why this draft may be published although the grounding guard flagged it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "generated copy"
        verbose_name_plural = "generated copy"
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
        DRAFT = "draft", "draft"
        RUNNING = "running", "running"
        STOPPED = "stopped", "stopped"

    key = models.SlugField(max_length=80, unique=True, help_text="Used by the storefront and the API.")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    # Optional: the product field whose text is tested (the winner can be published there).
    content_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    object_pk = models.CharField(max_length=64, blank=True)
    field = models.CharField(max_length=32, blank=True, choices=GeneratedCopy.Field.choices)
    winner = models.ForeignKey("Variant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=40, help_text='"A" (control), "B", …')
    text = models.TextField()
    weight = models.FloatField(default=1.0)
    is_control = models.BooleanField(default=False)
    copy = models.ForeignKey(GeneratedCopy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["experiment", "name"]
        constraints = [models.UniqueConstraint(fields=["experiment", "name"], name="shopai_variant_unique")]

    def __str__(self) -> str:
        return f"{self.experiment.key}: {self.name}"


class Exposure(models.Model):
    """One visitor saw one variant (once per visitor); converted when they bought or acted."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="exposures")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="exposures")
    visitor = models.CharField(max_length=64, help_text="User id or anonymous visitor key.")
    converted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "visitor"], name="shopai_exposure_unique")]

    def __str__(self) -> str:
        return f"{self.visitor} saw {self.variant.name}"


class Segment(models.Model):
    """A group of shoppers: a cluster of interest profiles, or a rule staff define."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="What its shoppers like, in words.")
    rule = models.JSONField(
        default=dict, blank=True, help_text='Staff rule, e.g. {"bought_category": "Grocery", "min_orders": 2}.'
    )
    centroid = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    model_name = models.CharField(max_length=200, blank=True)
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Campaign(models.Model):
    """Email copy for one segment, featuring products that segment likes; reviewed like product copy."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="campaigns")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    product_pks = models.JSONField(default=list)
    parameters = models.JSONField(default=dict)
    flags = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=GeneratedCopy.Status.choices, default=GeneratedCopy.Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.subject
