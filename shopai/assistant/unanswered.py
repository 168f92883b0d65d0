"""Questions the assistant could not answer, grouped by meaning, and turned into draft FAQs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from django.db.models import Q
from django.utils import timezone

from shopai.assistant.answers import confidence_threshold
from shopai.assistant.faqs import assistant_backend
from shopai.conf import shopai_settings
from shopai.models import FAQ, Exchange

# Handed over because the shopper asked, was upset, wrote while staff held the chat, needed an action
# or had a problem with their own parcel: not a gap in the knowledge base.
NOT_A_GAP = (
    "asked_for_human",
    "very_negative",
    "case_open",
    "needs_approval",
    "address_change",
    "delivery_late",
    "delivery_lost",
    "delivery_damaged",
)
# Questions about the shopper's own order are answered from the order, not the FAQ.
ABOUT_AN_ORDER = ("order_status", "delivery_late", "delivery_lost", "delivery_damaged", "delivery_address")


@dataclass
class QuestionGroup:
    language: str
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def question(self) -> str:
        return self.exchanges[0].question

    @property
    def size(self) -> int:
        return len(self.exchanges)

    @property
    def exchange_ids(self) -> str:
        return ",".join(str(exchange.pk) for exchange in self.exchanges)


def unanswered_exchanges(*, days: int = 30, limit: int = 1000):
    unsure = Q(handoff=True)
    for language in FAQ.Language.values:
        unsure |= Q(language=language, confidence__lt=confidence_threshold(language))
    return (
        Exchange.objects.filter(created_at__gte=timezone.now() - timedelta(days=days), faq__isnull=True)
        .filter(unsure)
        .exclude(handoff_reason__in=NOT_A_GAP)
        .exclude(intent__in=ABOUT_AN_ORDER)
        .exclude(question_embedding__isnull=True)
        # Only vectors of the assistant's current model compare (the model may have changed; rows
        # logged before the model was recorded are taken to be of it).
        .filter(question_model__in=[assistant_backend().name, ""])
        .order_by("-created_at")[:limit]
    )


def group_unanswered_questions(*, days: int = 30, similarity: float | None = None) -> list[QuestionGroup]:
    """Greedy grouping: a question joins the first group whose first question is this similar."""
    if similarity is None:
        similarity = float(shopai_settings.ASSISTANT.get("GROUP_SIMILARITY", 0.9))
    groups: list[QuestionGroup] = []
    heads: list[np.ndarray] = []
    for exchange in unanswered_exchanges(days=days):
        vector = np.asarray(exchange.question_embedding, dtype=np.float32)
        for group, head in zip(groups, heads, strict=True):
            if group.language == exchange.language and float(head @ vector) >= similarity:
                group.exchanges.append(exchange)
                break
        else:
            groups.append(QuestionGroup(language=exchange.language, exchanges=[exchange]))
            heads.append(vector)
    return sorted(groups, key=lambda group: group.size, reverse=True)


def create_draft_faq(*, exchange_ids: list[int]) -> FAQ:
    """An unpublished FAQ whose question and alternatives come from these shoppers' words."""
    found = Exchange.objects.in_bulk(exchange_ids)
    # Keep the order the admin page showed: its first question is the group's heading.
    exchanges = [found[pk] for pk in dict.fromkeys(exchange_ids) if pk in found]
    if not exchanges:
        raise ValueError("No such questions.")
    questions = list(dict.fromkeys(exchange.question.strip() for exchange in exchanges))
    head = questions[0][: FAQ._meta.get_field("question").max_length]
    faq, _ = FAQ.objects.get_or_create(
        question=head,
        language=exchanges[0].language,
        defaults={"answer": "", "alternatives": questions[1:10], "is_published": False, "tags": ["from-chat"]},
    )
    return faq
