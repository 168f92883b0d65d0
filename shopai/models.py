"""shopai's own tables: product and FAQ embeddings, the FAQ knowledge base, the conversation log."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Func, Q
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
            GinIndex(fields=["keywords"], name="shopai_product_emb_kw"),
            models.Index(
                fields=["content_type", "model_name", "keyword_length"],
                name="shopai_product_emb_kwlen",
                condition=Q(keywords__isnull=False),
            ),
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


class FAQ(models.Model):
    """A question the shop has answered once and for all, in one language."""

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        CHINESE = "zh", "Chinese"

    question = models.CharField(max_length=300)
    answer = models.TextField()
    language = models.CharField(max_length=8, choices=Language.choices, default=Language.ENGLISH)
    tags = models.JSONField(default=list, blank=True, help_text='A JSON list, e.g. ["shipping", "international"].')
    alternatives = models.JSONField(
        default=list, blank=True, help_text="Other ways shoppers ask the same question (a JSON list of strings)."
    )
    is_published = models.BooleanField(default=True, db_index=True)
    # Phrasings a language model suggested (ASSISTANT["PHRASINGS"], off by default). They are not
    # used until staff accept them in admin, which moves them into ``alternatives``.
    suggested_alternatives = models.JSONField(default=list, blank=True)
    suggested_for = models.CharField(max_length=64, blank=True, help_text="Hash of the texts they were made for.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "FAQ"
        verbose_name_plural = "FAQs"
        ordering = ["language", "question"]
        constraints = [models.UniqueConstraint(fields=["question", "language"], name="shopai_faq_unique_question")]

    def __str__(self) -> str:
        return self.question

    def texts_to_embed(self) -> list[tuple[str, str]]:
        """(kind, text) pairs: the question, each alternative phrasing, question and answer
        together ("qa"), and each sentence of the answer. A plain FAQ has one phrasing per entry,
        so the answer's own words carry much of what a shopper may ask (docs/assistant.md)."""
        from shopai.core.language import split_sentences

        question, answer = self.question.strip(), self.answer.strip()
        pairs = [("question", question)]
        pairs += [("alternative", str(text).strip()) for text in self.alternatives if str(text).strip()]
        pairs.append(("qa", f"{question}\n{answer}"))
        pairs += [("sentence", sentence) for sentence in split_sentences(answer, self.language) or [answer]]
        return pairs


class FAQEmbedding(models.Model):
    """One vector per phrasing of an FAQ (question, alternatives, answer) under one model."""

    faq = models.ForeignKey(FAQ, on_delete=models.CASCADE, related_name="embeddings")
    model_name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16)
    text = models.TextField()
    content_hash = models.CharField(max_length=64)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "FAQ embedding"
        indexes = [
            HnswIndex(
                name="shopai_faq_emb_hnsw",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            models.Index(fields=["faq", "model_name"], name="shopai_faqemb_faq_model"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.text[:60]}"


class Exchange(models.Model):
    """One question from a shopper and shopai's reply; personal data is redacted before saving."""

    session_id = models.CharField(max_length=64, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    question = models.TextField()
    language = models.CharField(max_length=8)
    intent = models.CharField(max_length=32, db_index=True)
    intent_confidence = models.FloatField(default=0.0)
    reply = models.TextField()
    answer = models.TextField(blank=True, help_text="The supporting sentence the reply quotes.")
    faq = models.ForeignKey(FAQ, null=True, blank=True, on_delete=models.SET_NULL, related_name="exchanges")
    confidence = models.FloatField(default=0.0)
    sentiment_label = models.CharField(max_length=16, blank=True)
    sentiment_score = models.FloatField(default=0.0)
    handoff = models.BooleanField(default=False, db_index=True)
    handoff_reason = models.CharField(max_length=64, blank=True)
    sources = models.JSONField(default=list, blank=True)
    question_embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    helpful = models.BooleanField(null=True, blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.question[:80]


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


# --- Marketing studio ---------------------------------------------------------------


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
