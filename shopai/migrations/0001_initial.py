import django.db.models.deletion
import pgvector.django
from django.db import migrations, models
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        VectorExtension(),
        migrations.CreateModel(
            name="ProductEmbedding",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("object_pk", models.CharField(max_length=64)),
                (
                    "model_name",
                    models.CharField(help_text="Embedding model that produced the vector.", max_length=200),
                ),
                ("embedding", pgvector.django.VectorField(dimensions=384)),
                ("content_hash", models.CharField(help_text="SHA-256 of the embedded text.", max_length=64)),
                (
                    "is_stale",
                    models.BooleanField(
                        db_index=True,
                        default=False,
                        help_text="The product changed but could not be queued; the sweep will re-embed it.",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "content_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="contenttypes.contenttype",
                    ),
                ),
            ],
            options={
                "verbose_name": "product embedding",
                "indexes": [
                    pgvector.django.HnswIndex(
                        ef_construction=64,
                        fields=["embedding"],
                        m=16,
                        name="shopai_product_emb_hnsw",
                        opclasses=["vector_cosine_ops"],
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("content_type", "object_pk", "model_name"), name="shopai_productembedding_unique"
                    )
                ],
            },
        ),
    ]
