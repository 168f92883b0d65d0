"""The product index: a vector and keywords per product and model."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Func, Q
from django.utils.translation import gettext_lazy as _
from pgvector.django import VectorField


class ProductEmbeddingQuerySet(models.QuerySet):
    def for_model(self, product_model: type[models.Model], model_name: str) -> ProductEmbeddingQuerySet:
        content_type = ContentType.objects.get_for_model(product_model, for_concrete_model=False)
        return self.filter(content_type=content_type, model_name=model_name)

    def stale(self) -> ProductEmbeddingQuerySet:
        return self.filter(is_stale=True)


class ProductEmbedding(models.Model):
    """The vector of one product's text under one embedding model."""

    content_type = models.ForeignKey(
        ContentType, on_delete=models.CASCADE, related_name="+", verbose_name=_("content type")
    )
    # Text, so any primary key type (integer, UUID, string) of the host's model fits.
    object_pk = models.CharField(_("object id"), max_length=64)
    model_name = models.CharField(_("model"), max_length=200, help_text=_("Embedding model that produced the vector."))
    # Any width: the model's (see EmbeddingSpace); each model has its own partial HNSW index.
    embedding = VectorField()
    content_hash = models.CharField(_("content hash"), max_length=64, help_text=_("SHA-256 of the embedded text."))
    # Keywords of the same text for the keyword half of hybrid search: each text field stemmed
    # under SEARCH["TEXT_SEARCH_CONFIG"] in its own weight class, Chinese as character pairs;
    # written with the vector.
    keywords = SearchVectorField(null=True, blank=True)
    # Distinct keywords: BM25's document length (selectors.keyword_totals averages it, from an index-only
    # scan once the table is vacuumed).
    keyword_length = models.GeneratedField(
        expression=Func(F("keywords"), function="length", output_field=models.IntegerField()),
        output_field=models.IntegerField(),
        db_persist=True,
    )
    is_stale = models.BooleanField(
        _("stale"),
        default=False,
        db_index=True,
        help_text=_("The product changed but could not be queued; the sweep will re-embed it."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ProductEmbeddingQuerySet.as_manager()

    class Meta:
        verbose_name = _("product embedding")
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_pk", "model_name"], name="shopai_productembedding_unique"
            ),
        ]
        indexes = [
            GinIndex(fields=["keywords"], name="shopai_product_emb_kw"),
            models.Index(
                fields=["content_type", "model_name", "keyword_length"],
                name="shopai_product_emb_kwlen",
                condition=Q(keywords__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.content_type.model} {self.object_pk} ({self.model_name})"

    @property
    def product(self):
        return self.content_type.get_object_for_this_type(pk=self.object_pk)


class EmbeddingSpace(models.Model):
    """An embedding model whose vectors shopai stores: its width, and since when every product has one.

    Rows are written by shopai itself (the embedding tasks and ``shopai_reindex``), which also
    creates the model's HNSW indexes (``search.spaces``). Search uses the configured model once it
    is complete, and a complete older model (SEARCH["FALLBACK_EMBEDDINGS"]) until then.
    """

    model_name = models.CharField(_("model"), max_length=200, unique=True)
    dimensions = models.PositiveIntegerField(_("dimensions"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    completed_at = models.DateTimeField(
        _("completed at"),
        null=True,
        blank=True,
        help_text=_("When every searchable product first had a vector of this model."),
    )

    class Meta:
        verbose_name = _("embedding model")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.model_name} ({self.dimensions}-d)"
