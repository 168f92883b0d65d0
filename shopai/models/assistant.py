"""The assistant's tables: the FAQ knowledge base, its vectors, the conversation log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from pgvector.django import HnswIndex, VectorField

from shopai.core.language import split_sentences
from shopai.models.vectors import EMBEDDING_DIMENSIONS


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
