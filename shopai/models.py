"""shopai's own tables: product embeddings (more arrive with assistant, recommendations, copy)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from pgvector.django import HnswIndex, VectorField

# Width of every stored vector. A constant (not a setting) because migrations use it;
# system check shopai.E003 compares it with the configured backend.
EMBEDDING_DIMENSIONS = 384


class ProductEmbeddingQuerySet(models.QuerySet):
    def for_model(self, product_model: type[models.Model], model_name: str) -> ProductEmbeddingQuerySet:
        content_type = ContentType.objects.get_for_model(product_model, for_concrete_model=False)
        return self.filter(content_type=content_type, model_name=model_name)

    def stale(self) -> ProductEmbeddingQuerySet:
        return self.filter(is_stale=True)


class ProductEmbedding(models.Model):
    """The vector of one product's text under one embedding model."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    # Text, so any primary key type (integer, UUID, string) of the host's model fits.
    object_pk = models.CharField(max_length=64)
    model_name = models.CharField(max_length=200, help_text="Embedding model that produced the vector.")
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    content_hash = models.CharField(max_length=64, help_text="SHA-256 of the embedded text.")
    is_stale = models.BooleanField(
        default=False,
        db_index=True,
        help_text="The product changed but could not be queued; the sweep will re-embed it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductEmbeddingQuerySet.as_manager()

    class Meta:
        verbose_name = "product embedding"
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_pk", "model_name"], name="shopai_productembedding_unique"
            ),
        ]
        indexes = [
            HnswIndex(
                name="shopai_product_emb_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.content_type.model} {self.object_pk} ({self.model_name})"

    @property
    def product(self):
        return self.content_type.get_object_for_this_type(pk=self.object_pk)
