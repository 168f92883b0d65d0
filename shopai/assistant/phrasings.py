"""Opt-in phrasings of an FAQ suggested by a language model, for staff to accept or discard.

A plain FAQ has one question per entry; a shop may let its generation backend suggest other ways
a shopper could ask it (ASSISTANT["PHRASINGS"]["COUNT"], 0 = off). Suggestions are stored on the
FAQ and are not used until staff accept them in admin, which moves them into ``alternatives``
(embedded like hand-written ones). Nothing here is needed for the assistant to work.
"""

from __future__ import annotations

import logging
import re

from django.db import transaction

from shopai.adapters import content_hash
from shopai.backends.generation import get_generation_backend
from shopai.conf import shopai_settings
from shopai.core.language import detect_language
from shopai.core.tasks import QueueUnavailable, queue_task
from shopai.models import FAQ

logger = logging.getLogger(__name__)

# "1. ...", "- ...", "* ...", "（1）..." at the start of a line.
_BULLET = re.compile(r"^\s*(?:[-*•]|\(?\d+[.)、）]|（\d+）)\s*")
MAX_LENGTH = 200

PROMPTS = {
    "en": (
        "You help a shop's customer service. Write {count} different ways a customer could ask the "
        "question below in a chat, in English, one per line, without numbering or answers.\n\n"
        "Question: {question}\nThe shop's answer, for context: {answer}"
    ),
    "zh": (
        "你在帮助网店客服。请用中文写出顾客在聊天中可能提出下面这个问题的 {count} 种不同问法，"
        "每行一种，不要编号，不要回答。\n\n问题：{question}\n店铺的回答（供参考）：{answer}"
    ),
}


def settings() -> dict:
    return shopai_settings.ASSISTANT["PHRASINGS"]


def texts_hash(faq: FAQ) -> str:
    return content_hash(f"{faq.question}\n{faq.answer}")


def parse_phrasings(text: str, *, question: str, language: str, count: int, known=()) -> list[str]:
    """Clean lines of a model's reply: no numbering, in the FAQ's language, not the question
    itself or a phrasing it already has, at most ``count``."""
    seen = {question.strip().casefold(), *(str(item).strip().casefold() for item in known)}
    result = []
    for line in text.splitlines():
        phrasing = _BULLET.sub("", line).strip().strip('"“”「」').strip()
        if not phrasing or len(phrasing) > MAX_LENGTH or phrasing.casefold() in seen:
            continue
        if detect_language(phrasing) != language:
            continue
        seen.add(phrasing.casefold())
        result.append(phrasing)
        if len(result) >= count:
            break
    return result


def suggest(faq: FAQ, *, count: int | None = None) -> list[str]:
    """Ask the generation backend and store its suggestions on the FAQ (replacing earlier ones)."""
    count = int(settings()["COUNT"] if count is None else count)
    if count <= 0:
        return []
    backend = get_generation_backend(settings()["BACKEND"], language=faq.language)
    prompt = PROMPTS.get(faq.language, PROMPTS["en"]).format(count=count, question=faq.question, answer=faq.answer)
    reply = backend.generate([{"role": "user", "content": prompt}], max_tokens=40 * count)
    phrasings = parse_phrasings(
        reply.text, question=faq.question, language=faq.language, count=count, known=faq.alternatives
    )
    FAQ.objects.filter(pk=faq.pk).update(suggested_alternatives=phrasings, suggested_for=texts_hash(faq))
    return phrasings


def schedule(faq: FAQ) -> None:
    """After the transaction commits, queue suggestions if they are switched on and out of date."""
    if int(settings()["COUNT"]) <= 0 or faq.suggested_for == texts_hash(faq):
        return

    def enqueue() -> None:
        try:
            queue_task("shopai.tasks.suggest_faq_phrasings", args=[faq.pk], queue="generation")
        except QueueUnavailable as exc:  # suggestions are optional: the next save asks again
            logger.warning("Broker unreachable; no phrasings suggested for FAQ %s: %s", faq.pk, exc)

    transaction.on_commit(enqueue)


def accept(faq: FAQ) -> int:
    """Move the suggestions into the FAQ's alternatives (saved, so they are embedded)."""
    added = [text for text in faq.suggested_alternatives if text not in faq.alternatives]
    faq.alternatives = [*faq.alternatives, *added]
    faq.suggested_alternatives = []
    faq.save(update_fields=["alternatives", "suggested_alternatives", "updated_at"])
    return len(added)


def discard(faq: FAQ) -> int:
    dropped = len(faq.suggested_alternatives)
    faq.suggested_alternatives = []
    faq.save(update_fields=["suggested_alternatives", "updated_at"])
    return dropped
