"""The customer-service assistant: intent, FAQ answer with calibrated confidence, mood, orders, handoff.

Replies are composed only from stored text (FAQ answers, product descriptions, order
records) and fixed phrases; nothing is generated, so nothing is invented.
"""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from shopai.adapters import get_order_adapter
from shopai.assistant import products_qa
from shopai.assistant.faqs import FAQHit, assistant_backend, retrieve_faqs
from shopai.assistant.intents import get_intent_classifier
from shopai.backends import get_backend
from shopai.backends.sentiment import Sentiment
from shopai.conf import shopai_settings
from shopai.core.language import detect_language
from shopai.core.redaction import personal_data_spans, redact
from shopai.models import Exchange

# "order 12", "order no. 12", "#12", "订单 12", "订单号：12"; else any standalone number of 3+ digits.
ORDER_NUMBER = re.compile(r"(?:order\s*(?:no\.?|number|#)?|#|订单号?|单号)\s*[:：]?\s*(\d{1,12})\b", re.IGNORECASE)
LONE_NUMBER = re.compile(r"(?<![\d.])(\d{3,12})(?![\d.])")
# Intents answered elsewhere than the FAQ: a person, the shopper's orders, a product's own text.
ROUTES = ("human_agent", "order_status", "product_question")
# Intents with a next step on the shopper's orders page: (phrase, ASSISTANT["LINKS"] page).
NEXT_STEPS = {"cancel_order": ("cancel_next", "orders"), "return_refund": ("returns_next", "returns")}

# The replies' fixed phrases, in English; shopai/locale holds their translations. A reply is in the
# language of the question, whatever the page's: a shopper who asks in Chinese on an English page
# reads Chinese (the FAQ answer and the product text quoted next to them are in that language too).
PHRASES = {
    "sorry": _("I'm sorry about the trouble."),
    "offer_human": _("If you'd rather talk to a person, just say so and I'll hand you over."),
    "handoff": _("I've passed your message to our customer service team; a colleague will get back to you."),
    "not_sure": _("I'm not sure I can answer that correctly, so I've passed your question to our team."),
    "asked_human": _("Of course — I'm handing you over to a colleague from our customer service team."),
    "sign_in": _("Please sign in so that I can look up your orders."),
    "order": _("Order {number} is {status}."),
    "tracking": _("Tracking number: {tracking}."),
    "order_unknown": _("I couldn't find order {number} on your account. Please check the number."),
    "recent": _("Your recent orders: {orders}."),
    "no_orders": _("I can't see any orders on your account yet."),
    "ask_number": _("Which order do you mean? Tell me its number, e.g. “order 1234”."),
    "cancel_next": _("You can cancel an order that has not shipped yet from your orders page."),
    "cancel_shipped": _(
        "Order {number} has already shipped, so it can no longer be cancelled; you can return it once it arrives."
    ),
    "returns_next": _("You can start a return from your orders page."),
    "product": _("About {name}: {sentence}"),
    "product_unknown": _("The description of {name} doesn't say, so I've asked a colleague to check."),
    # Labels of the links a reply offers (ASSISTANT["LINKS"] names the pages).
    "link_orders": _("orders"),
    "link_returns": _("returns"),
    "link_contact": _("contact"),
    "link_login": _("sign in"),
    "link_order": _("order {number}"),
}
# detect_language()'s codes as Django language codes, for the catalogue.
REPLY_LANGUAGES = {"en": "en", "zh": "zh-hans"}


def phrases(language: str) -> dict[str, str]:
    """The fixed phrases in the reply's language (English for a language shopai has no catalogue for)."""
    with translation.override(REPLY_LANGUAGES.get(language, "en")):
        return {key: str(text) for key, text in PHRASES.items()}


@dataclass
class AssistantReply:
    reply: str
    answer: str | None
    confidence: float
    intent: str
    intent_confidence: float
    sentiment: Sentiment
    handoff: bool
    language: str
    session_id: str
    handoff_reason: str = ""
    sources: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    id: int | None = None
    faq_id: int | None = None
    # What the FAQ confidence was computed from (evaluation and refitting read it; not shown).
    features: dict[str, float] = field(default_factory=dict)


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


def retrieval_features(hits: list[FAQHit], *, out_of_scope: float = 0.0) -> dict[str, float]:
    """What the calibration reads: the top FAQ's score, its lead over the next, P(out of scope)."""
    if not hits:
        return {}
    top = hits[0].score
    return {
        "top_score": top,
        "margin": top - (hits[1].score if len(hits) > 1 else top - 0.1),
        "out_of_scope": out_of_scope,
    }


def calibration_for(language: str | None) -> dict[str, float]:
    """ASSISTANT["CALIBRATION"]: one set of weights ({"intercept": ..}) or one per language
    ({"en": {..}, "zh": {..}}, optionally "default")."""
    value = shopai_settings.ASSISTANT["CALIBRATION"]
    if "intercept" in value:
        return value
    return value.get(language) or value.get("default") or next(iter(value.values()))


def confidence_from(
    features: dict[str, float], weights: dict[str, float] | None = None, *, language: str | None = None
) -> float:
    """Probability that the top FAQ answers the question: a logistic calibration of the
    retrieval features, fitted per language on dev splits (ASSISTANT["CALIBRATION"])."""
    if not features:
        return 0.0
    weights = weights or calibration_for(language)
    z = weights.get("intercept", 0.0) + sum(weights.get(name, 0.0) * value for name, value in features.items())
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def confidence_threshold(language: str | None) -> float:
    """Below this calibrated confidence no FAQ answer is given: ASSISTANT["CONFIDENCE_THRESHOLD"],
    one number or one per language ({"en": 0.8, "zh": 0.6}, optionally "default")."""
    value = shopai_settings.ASSISTANT["CONFIDENCE_THRESHOLD"]
    if isinstance(value, dict):
        return float(value.get(language, value.get("default", next(iter(value.values())))))
    return float(value)


def add_link(result: AssistantReply, label: str, name: str) -> None:
    """Offer ASSISTANT["LINKS"][name] under ``label``, unless the shop has no such page."""
    url = link(name)
    if url:
        result.links.append({"label": label, "url": url})


def supporting_sentence(*, question: str, vector: np.ndarray, text: str, language: str) -> str:
    """The passage of ``text`` that answers the question (the SHOPAI["QA"] reader)."""
    span = get_backend("QA").extract(question, text, language=language, question_vector=vector)
    return span.text if span is not None else text.strip()


def link(name: str) -> str:
    """A link from ASSISTANT["LINKS"]: a path or URL as given, else a URL name to reverse; "" for none
    (sign-in falls back to Django's LOGIN_URL)."""
    target = shopai_settings.ASSISTANT["LINKS"].get(name, "")
    if not target and name == "login":
        target = str(settings.LOGIN_URL or "")
    if not target or "/" in target or target.startswith(("mailto:", "tel:", "http:", "https:")):
        return target
    try:
        return reverse(target)
    except NoReverseMatch:
        return target


def answer_question(*, question: str, user=None, session_id: str | None = None) -> AssistantReply:
    """Answer a shopper's question from the shop's own texts, or hand over to a human."""
    config = shopai_settings.ASSISTANT
    text = normalise(question)
    # The order number is read from the shopper's words first; everything after (the embedding,
    # intent, sentiment, retrieval, the log) sees only the redacted message.
    order_number = mentioned_order(text)
    text = redact(text)
    language = detect_language(text)
    say = phrases(language)
    backend = assistant_backend()
    vector = backend.embed_query(text)
    classifier = get_intent_classifier(backend)
    probabilities = dict(zip(classifier.labels, classifier.probabilities(vector)[0], strict=True))
    intent = max(probabilities, key=probabilities.get)
    sentiment = get_backend("SENTIMENT").analyse(text, language)
    result = AssistantReply(
        reply="",
        answer=None,
        confidence=0.0,
        intent=intent,
        intent_confidence=float(probabilities[intent]),
        sentiment=sentiment,
        handoff=False,
        language=language,
        session_id=session_id or uuid.uuid4().hex,
    )
    body: list[str] = []
    # The shop's FAQ is asked first: a question it answers with confidence stays with it, unless
    # the shopper plainly wants something else (a person, an order by its number): intent routing
    # must not take "what are your support hours?" away from the FAQ that answers it.
    oos = float(probabilities.get("out_of_scope", 0.0))
    hits = retrieve_faqs(vector=vector, language=language, k=int(config["TOP_K"]), question=text)
    features = retrieval_features(hits, out_of_scope=oos)
    faq_confidence = confidence_from(features, language=language)
    faq_answers = bool(hits) and faq_confidence >= confidence_threshold(language)
    names_an_order = order_number is not None
    sure = result.intent_confidence
    routed = intent in ROUTES and (
        sure >= float(config["ROUTE_CONFIDENCE"])
        or (not faq_answers and sure >= float(config["ROUTE_MIN_CONFIDENCE"]))
        or (intent == "order_status" and names_an_order)
    )
    found = (
        products_qa.answer(question=text, vector=vector, language=language)
        if routed and intent == "product_question"
        else None
    )

    if routed and intent == "human_agent":
        result.handoff, result.handoff_reason = True, "asked_for_human"
        result.confidence = result.intent_confidence
        body.append(say["asked_human"])
    elif routed and intent == "order_status":
        body += _order_status(result, order_number, user, say)
    elif found is not None:
        product, sentence, confidence = found
        result.confidence = confidence
        if confidence >= config["PRODUCT_CONFIDENCE_THRESHOLD"]:
            result.answer = sentence
            body.append(say["product"].format(name=product["name"], sentence=sentence))
        else:
            result.handoff, result.handoff_reason = True, "product_text_silent"
            body.append(say["product_unknown"].format(name=product["name"]))
        result.sources = [{"product_id": product["id"], "name": product["name"], "score": round(confidence, 4)}]
    else:
        result.sources = [{"faq_id": h.faq.pk, "question": h.faq.question, "score": round(h.score, 4)} for h in hits]
        result.features = features
        result.confidence = faq_confidence
        if faq_answers:
            best = hits[0].faq
            result.faq_id = best.pk
            result.answer = supporting_sentence(question=text, vector=vector, text=best.answer, language=language)
            body.append(best.answer)
        else:
            result.handoff = True
            result.handoff_reason = "out_of_scope" if intent == "out_of_scope" else "low_confidence"
            body.append(say["not_sure"])
        # A cancellation or a return has a next step of its own, whether or not an FAQ was sure.
        if intent in NEXT_STEPS and (faq_answers or sure >= float(config["ROUTE_MIN_CONFIDENCE"])):
            phrase, page = NEXT_STEPS[intent]
            body.append(say[phrase])
            add_link(result, say[f"link_{page}"], page)

    if sentiment.score <= config["HANDOFF_SENTIMENT"] and not result.handoff:
        result.handoff, result.handoff_reason = True, "very_negative"
        body.append(say["handoff"])
    elif sentiment.label == "negative" and not result.handoff:
        body.append(say["offer_human"])
    if sentiment.label == "negative":
        body.insert(0, say["sorry"])
    if result.handoff:
        add_link(result, say["link_contact"], "contact")
    result.reply = " ".join(part for part in body if part) if language == "en" else "".join(body)
    _log(result, question=text, user=user, vector=vector)
    return result


def mentioned_order(text: str) -> str | None:
    """The order number in the shopper's message ("order 1234", "订单 100001", a lone "1234"), or None.

    Read before the message is redacted; a number that is part of a card or phone number is none."""
    personal = personal_data_spans(text)
    for pattern in (ORDER_NUMBER, LONE_NUMBER):
        for match in pattern.finditer(text):
            start, end = match.span(1)
            if not any(start < until and since < end for since, until, _ in personal):
                return match.group(1)
    return None


def _order_status(result: AssistantReply, number: str | None, user, say: dict[str, str]) -> list[str]:
    result.confidence = result.intent_confidence
    if user is None or not user.is_authenticated:
        add_link(result, say["link_login"], "login")
        return [say["sign_in"]]
    # The shop's own words for an order (a status's label, e.g. ``get_status_display``) in the reply's
    # language, like the phrases around them.
    with translation.override(REPLY_LANGUAGES.get(result.language, "en")):
        return _order_lines(result, number, user, say)


def _order_lines(result: AssistantReply, number: str | None, user, say: dict[str, str]) -> list[str]:
    adapter = get_order_adapter()
    if number is not None:
        order = adapter.find_order(user=user, number=number)
        if order is None:
            lines = [say["order_unknown"].format(number=number)]
        else:
            result.answer = say["order"].format(number=order.number, status=order.status)
            lines = [result.answer]
            if order.tracking:
                lines.append(say["tracking"].format(tracking=order.tracking))
            if order.url:
                result.links.append({"label": say["link_order"].format(number=order.number), "url": order.url})
            return lines
    else:
        lines = []
    recent = adapter.recent_orders(user=user)
    if recent:
        listing = "; ".join(f"{order.number} ({order.status})" for order in recent)
        lines += [say["recent"].format(orders=listing)] + ([] if number is not None else [say["ask_number"]])
    else:
        lines.append(say["no_orders"])
    add_link(result, say["link_orders"], "orders")
    return lines


def _log(result: AssistantReply, *, question: str, user, vector: np.ndarray) -> None:
    exchange = Exchange.objects.create(
        session_id=result.session_id,
        user=user if user is not None and user.is_authenticated else None,
        question=redact(question),
        language=result.language,
        intent=result.intent,
        intent_confidence=result.intent_confidence,
        reply=redact(result.reply),
        answer=redact(result.answer or ""),
        faq_id=result.faq_id,
        confidence=result.confidence,
        sentiment_label=result.sentiment.label,
        sentiment_score=result.sentiment.score,
        handoff=result.handoff,
        handoff_reason=result.handoff_reason,
        sources=result.sources,
        question_embedding=vector,
        question_model=assistant_backend().name,
    )
    result.id = exchange.pk


def record_feedback(*, exchange_id: int, session_id: str, user, helpful: bool) -> Exchange | None:
    """Store 👍/👎 for an exchange of this session (or this user); None if it is not theirs."""
    exchange = Exchange.objects.filter(pk=exchange_id).first()
    if exchange is None:
        return None
    owner = exchange.session_id == session_id or (
        user is not None and user.is_authenticated and exchange.user_id == user.pk
    )
    if not owner:
        return None
    exchange.helpful = helpful
    exchange.feedback_at = timezone.now()
    exchange.save(update_fields=["helpful", "feedback_at"])
    return exchange
