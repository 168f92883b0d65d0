"""The assistant's tables: the FAQ knowledge base, its vectors, the conversation log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from pgvector.django import VectorField

from shopai.core.language import split_sentences


class FAQ(models.Model):
    """A question the shop has answered once and for all, in one language."""

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        CHINESE = "zh", _("Chinese")

    question = models.CharField(_("question"), max_length=300)
    answer = models.TextField(_("answer"))
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH)
    tags = models.JSONField(
        _("tags"), default=list, blank=True, help_text=_('A JSON list, e.g. ["shipping", "international"].')
    )
    alternatives = models.JSONField(
        _("alternatives"),
        default=list,
        blank=True,
        help_text=_("Other ways shoppers ask the same question (a JSON list of strings)."),
    )
    is_published = models.BooleanField(_("published"), default=True, db_index=True)
    # Phrasings a language model suggested (ASSISTANT["PHRASINGS"], off by default). They are not
    # used until staff accept them in admin, which moves them into ``alternatives``.
    suggested_alternatives = models.JSONField(_("suggested alternatives"), default=list, blank=True)
    suggested_for = models.CharField(
        _("suggested for"), max_length=64, blank=True, help_text=_("Hash of the texts they were made for.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("FAQ")
        verbose_name_plural = _("FAQs")
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

    faq = models.ForeignKey(FAQ, on_delete=models.CASCADE, related_name="embeddings", verbose_name=_("FAQ"))
    model_name = models.CharField(_("model"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16)
    text = models.TextField(_("text"))
    content_hash = models.CharField(_("content hash"), max_length=64)
    embedding = VectorField()  # any width: the model's; a partial HNSW index per model
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("FAQ embedding")
        indexes = [
            models.Index(fields=["faq", "model_name"], name="shopai_faqemb_faq_model"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.text[:60]}"


class Exchange(models.Model):
    """One question from a shopper and shopai's reply; personal data is redacted before saving."""

    session_id = models.CharField(_("session id"), max_length=64, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("user"),
    )
    question = models.TextField(_("question"))
    language = models.CharField(_("language"), max_length=8)
    intent = models.CharField(_("intent"), max_length=32, db_index=True)
    intent_confidence = models.FloatField(_("intent confidence"), default=0.0)
    reply = models.TextField(_("reply"))
    answer = models.TextField(_("answer"), blank=True, help_text=_("The supporting sentence the reply quotes."))
    faq = models.ForeignKey(
        FAQ, null=True, blank=True, on_delete=models.SET_NULL, related_name="exchanges", verbose_name=_("FAQ")
    )
    confidence = models.FloatField(_("confidence"), default=0.0)
    sentiment_label = models.CharField(_("sentiment label"), max_length=16, blank=True)
    sentiment_score = models.FloatField(_("sentiment score"), default=0.0)
    handoff = models.BooleanField(_("handed over"), default=False, db_index=True)
    handoff_reason = models.CharField(_("handoff reason"), max_length=64, blank=True)
    sources = models.JSONField(_("sources"), default=list, blank=True)
    question_embedding = VectorField(null=True, blank=True)
    question_model = models.CharField(
        _("question model"), max_length=200, blank=True, help_text=_("Model of question_embedding.")
    )
    conversation = models.ForeignKey(
        "shopai.Conversation",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="exchanges",
        verbose_name=_("conversation"),
    )
    # The optional reply writer (ASSISTANT["REPLY_WRITER"]): kept, flagged, timeout, error, skipped.
    writer = models.CharField(_("reply writer"), max_length=16, blank=True)
    writer_ms = models.PositiveIntegerField(_("reply writer time (ms)"), null=True, blank=True)
    helpful = models.BooleanField(_("helpful"), null=True, blank=True)
    feedback_at = models.DateTimeField(_("feedback at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("exchange")
        verbose_name_plural = _("exchanges")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.question[:80]
