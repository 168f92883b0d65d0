"""The customer-service assistant: intent, FAQ answer with calibrated confidence, mood, orders, handoff.

Each message is a turn of a conversation (``conversations``): a short reply to the assistant's last
question ("1234", "yes", "the second one") is read against what it asked (``followups``); anything
else is classified afresh. Replies are composed from stored text (FAQ answers, product descriptions,
order records) and fixed phrases; an optional reply writer may reword them, checked against those
texts (``reply_writer``).
"""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np
from django.utils import timezone

from shopai.adapters import get_order_adapter
from shopai.assistant import handoffs, products_qa, reply_writer
from shopai.assistant.after_sales import confirm as confirm_after_sales
from shopai.assistant.conversations import open_conversation, save_state, state_of
from shopai.assistant.faqs import FAQHit, assistant_backend, retrieve_faqs
from shopai.assistant.followups import FollowUp, match_line, read_followup
from shopai.assistant.intents import get_intent_classifier
from shopai.assistant.orders import ORDER_INTENTS, order_reply
from shopai.assistant.replies import (  # noqa: F401  (PHRASES, phrases, link: part of this module's API)
    PHRASES,
    REPLY_LANGUAGES,
    AssistantReply,
    Turn,
    add_link,
    link,
    phrases,
)
from shopai.backends import get_backend
from shopai.conf import shopai_settings
from shopai.core.language import detect_language
from shopai.core.redaction import REDACTION_TOKENS, personal_data_spans, redact
from shopai.models import Conversation, Exchange, HandoffCase

# "order 12", "order no. 12", "#12", "订单 12", "订单号：12"; else any standalone number of 3+ digits.
ORDER_NUMBER = re.compile(r"(?:order\s*(?:no\.?|number|#)?|#|订单号?|单号)\s*[:：]?\s*(\d{1,12})\b", re.IGNORECASE)
LONE_NUMBER = re.compile(r"(?<![\d.])(\d{3,12})(?![\d.])")
# Intents with a next step on the shopper's orders page: (phrase, ASSISTANT["LINKS"] page).
NEXT_STEPS = {"cancel_order": ("cancel_next", "orders"), "return_refund": ("returns_next", "returns")}
# Intents about one of the shopper's orders that act or diagnose (more than its status).
ORDER_PROBLEMS = tuple(intent for intent in ORDER_INTENTS if intent != "order_status")
# A message with letters or CJK characters has a language of its own; "1234" takes the conversation's.
HAS_WORDS = re.compile(r"[^\W\d_]", re.UNICODE)


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


def supporting_sentence(*, question: str, vector: np.ndarray, text: str, language: str) -> str:
    """The passage of ``text`` that answers the question (the SHOPAI["QA"] reader)."""
    span = get_backend("QA").extract(question, text, language=language, question_vector=vector)
    return span.text if span is not None else text.strip()


def answer_question(
    *, question: str, user=None, session_id: str | None = None, visitor_key: str = "", now=None
) -> AssistantReply:
    """Answer a shopper's message, a turn of their conversation (``session_id``: the id a previous
    reply returned; an unknown, expired or somebody else's id starts a new conversation)."""
    now = now or timezone.now()
    text = normalise(question)
    # The order number is read from the shopper's words first; everything after (the embedding,
    # intent, sentiment, retrieval, the log) sees only the redacted message.
    order_number = mentioned_order(text)
    text = redact(text)
    conversation = open_conversation(session_id=session_id, user=user, visitor_key=visitor_key, now=now)
    state = state_of(conversation)
    pending, done = state.pop("pending", None), state.pop("done", None)
    language = _language(text, conversation)
    case = _unresolved_case(conversation)
    staff_hold = case is not None and case.first_staff_reply_at is not None
    followup = None
    if not staff_hold:
        followup = read_followup(text=text, pending=pending, language=language, focus_order=state.get("focus_order"))
        if conversation.language and language != conversation.language and followup is None:
            # "ok" in a Chinese chat: read it in the conversation's language, and answer in it.
            followup = read_followup(
                text=text, pending=pending, language=conversation.language, focus_order=state.get("focus_order")
            )
        if followup is not None and conversation.language:
            language = conversation.language
        if (
            (followup is None or followup.kind == "no")
            and order_number
            and (pending or {}).get("slot") == "order_number"
        ):
            followup = FollowUp("order_number", order_number)  # "no, it's order 100235"
    sentiment = get_backend("SENTIMENT").analyse(text, language)
    result = AssistantReply(
        reply="",
        answer=None,
        confidence=0.0,
        intent="",
        intent_confidence=0.0,
        sentiment=sentiment,
        handoff=False,
        language=language,
        session_id=conversation.session_id,
    )
    turn = Turn(result=result, say=phrases(language), user=user, conversation=conversation, state=state, now=now)
    vector = None
    if staff_hold:
        # A colleague has answered: the conversation is theirs, the message joins the case.
        handoffs.shopper_wrote(conversation=conversation)
        result.intent, result.intent_confidence = "with_staff", 1.0
        turn.hand_over("case_open")
        body = [turn.say["added_to_case"]]
    else:
        if followup is None and pending and pending.get("slot") == "line":
            followup = line_named(turn, pending=pending, text=text)
        if followup is not None:
            body = _follow_up(turn, followup, pending=pending or {}, done=done)
        else:
            vector, body = _new_question(turn, text=text, order_number=order_number)
    _mood(turn, body)
    if result.handoff and not any(item.get("url") == link("contact") for item in result.links):
        add_link(result, turn.say["link_contact"], "contact")
    if result.handoff and (state.get("pending") or {}).get("slot") == "confirm":
        state.pop("pending")  # a colleague takes over: nothing is done on a later "yes"
    result.reply = " ".join(part for part in body if part) if language == "en" else "".join(body)
    writer = _rewrite(result, question=text) if result.rewritable and not result.handoff else None
    state["last_intent"] = result.intent
    save_state(conversation, state=state, language=language, now=now)
    exchange = _log(result, question=text, user=user, vector=vector, conversation=conversation, writer=writer)
    reason = handoffs.case_reason_for(result.handoff_reason) if result.handoff else None
    if reason is not None:
        case = handoffs.open_case(
            conversation=conversation,
            exchange=exchange,
            reason=reason,
            detail=result.handoff_reason,
            sentiment_label=sentiment.label,
            sentiment_score=sentiment.score,
            language=language,
        )
    result.case = {"status": case.status} if case is not None else None
    return result


def _language(text: str, conversation: Conversation) -> str:
    """The message's language; one without words of its own ("1234", an e-mail address that was
    redacted) is in the conversation's."""
    words = text
    for token in REDACTION_TOKENS:
        words = words.replace(token, " ")
    if HAS_WORDS.search(words) or not conversation.language:
        return detect_language(text)
    return conversation.language


def _unresolved_case(conversation: Conversation) -> HandoffCase | None:
    if conversation.handoff_status != Conversation.Handoff.WITH_STAFF:
        return None
    return conversation.cases.exclude(status=HandoffCase.Status.RESOLVED).first()


def _follow_up(turn: Turn, followup: FollowUp, *, pending: dict, done: dict | None) -> list[str]:
    """A reply to the assistant's last question, answered without the classifier."""
    result, say = turn.result, turn.say
    default = {"still": "delivery_late", "order_number": "order_status"}.get(followup.kind, "ack")
    result.intent = pending.get("intent", "") or default
    result.intent_confidence = 1.0  # read by a rule, not guessed
    if followup.kind == "order_number" or (followup.kind == "choice" and pending.get("slot") == "order_number"):
        return order_reply(turn, intent=result.intent, number=followup.value)
    if followup.kind == "choice":  # an item of the order a return is about
        return order_reply(turn, intent="return_refund", number=str(pending.get("order")), line=followup.value)
    if followup.kind == "yes" and pending.get("slot") == "confirm":
        return confirm_after_sales(turn, pending=pending)
    if followup.kind == "still":
        return order_reply(turn, intent="delivery_late", number=followup.value)
    result.confidence = 1.0
    if followup.kind == "no":
        return [say["nothing_changed"]]
    return [say["already_requested"] if done and followup.kind == "yes" else say["ack"]]


def _new_question(turn: Turn, *, text: str, order_number: str | None) -> tuple[np.ndarray, list[str]]:
    """A message of its own: embedded, classified, looked up in the FAQ, routed."""
    config, result, say = shopai_settings.ASSISTANT, turn.result, turn.say
    language = turn.language
    backend = assistant_backend()
    vector = backend.embed_query(text)
    classifier = get_intent_classifier(backend)
    probabilities = dict(zip(classifier.labels, classifier.probabilities(vector)[0], strict=True))
    intent = max(probabilities, key=probabilities.get)
    result.intent, result.intent_confidence = intent, float(probabilities[intent])
    # The shop's FAQ is asked first: a question it answers with confidence stays with it, unless
    # the shopper plainly wants something else (a person, an order by its number): intent routing
    # must not take "what are your support hours?" away from the FAQ that answers it.
    oos = float(probabilities.get("out_of_scope", 0.0))
    hits = retrieve_faqs(vector=vector, language=language, k=int(config["TOP_K"]), question=text)
    features = retrieval_features(hits, out_of_scope=oos)
    faq_confidence = confidence_from(features, language=language)
    faq_answers = bool(hits) and faq_confidence >= confidence_threshold(language)
    focus = turn.state.get("focus_order")
    route = choose_route(
        intent=intent,
        sure=result.intent_confidence,
        faq_answers=faq_answers,
        names_an_order=order_number is not None,
        order_in_focus=bool(focus),
        signed_in=turn.signed_in,
    )
    if route == "human":
        turn.hand_over("asked_for_human")
        result.confidence = result.intent_confidence
        return vector, [say["asked_human"]]
    if route == "order":
        return vector, order_reply(turn, intent=intent, number=order_number or focus, text=text)
    found = products_qa.answer(question=text, vector=vector, language=language) if route == "product" else None
    if found is not None:
        product, sentence, confidence = found
        result.confidence = confidence
        result.sources = [{"product_id": product["id"], "name": product["name"], "score": round(confidence, 4)}]
        if confidence >= config["PRODUCT_CONFIDENCE_THRESHOLD"]:
            result.answer = sentence
            return vector, [say["product"].format(name=product["name"], sentence=sentence)]
        turn.hand_over("product_text_silent")
        return vector, [say["product_unknown"].format(name=product["name"])]
    body: list[str] = []
    result.sources = [{"faq_id": h.faq.pk, "question": h.faq.question, "score": round(h.score, 4)} for h in hits]
    result.features = features
    result.confidence = faq_confidence
    if faq_answers:
        best = hits[0].faq
        result.faq_id = best.pk
        result.answer = supporting_sentence(question=text, vector=vector, text=best.answer, language=language)
        result.source, result.rewritable = best.answer, True
        body.append(best.answer)
    else:
        turn.hand_over("out_of_scope" if intent == "out_of_scope" else "low_confidence")
        body.append(say["not_sure"])
    low = float(config["ROUTE_MIN_CONFIDENCE"])
    # A cancellation or a return has a next step of its own, whether or not an FAQ was sure.
    if intent in NEXT_STEPS and (faq_answers or result.intent_confidence >= low):
        phrase, page = NEXT_STEPS[intent]
        body.append(say[phrase])
        add_link(result, say[f"link_{page}"], page)
    # About the shopper's own parcel or order, maybe: offer to look, and take the next number as its.
    if intent in ORDER_PROBLEMS and faq_answers and result.intent_confidence >= low and turn.signed_in:
        body.append(say["offer_order_action"])
        turn.ask(slot="order_number", intent=intent, options=[])
    elif intent in ORDER_PROBLEMS and result.intent_confidence >= low and not turn.signed_in:
        if order_number is not None:  # their order can only be looked up or acted on signed in
            body.append(say["sign_in"])
        add_link(result, say["link_login"], "login")
    return vector, body


def choose_route(
    *, intent: str, sure: float, faq_answers: bool, names_an_order: bool, order_in_focus: bool, signed_in: bool = False
) -> str:
    """Who answers: "human", "order" (the shopper's order), "product" (its own text) or "faq".

    A question the FAQ answers with confidence stays with it unless the classifier is sure
    (ROUTE_CONFIDENCE) it wants a person, a product or an order — and for a delivery problem, a
    return or a cancellation, only about an order named or in focus: "how long does delivery take?"
    and "what is your return policy?" are the FAQ's. One the FAQ is unsure of goes to the intent from
    ROUTE_MIN_CONFIDENCE (returns and cancellations: with an order named or in focus). A signed-in
    shopper writing about a parcel (ROUTE_MIN_CONFIDENCE) is asked which of theirs, not sent the FAQ."""
    config = shopai_settings.ASSISTANT
    high, low = float(config["ROUTE_CONFIDENCE"]), float(config["ROUTE_MIN_CONFIDENCE"])
    confident = sure >= high or (not faq_answers and sure >= low)
    if intent in ("human_agent", "product_question"):
        return ("human" if intent == "human_agent" else "product") if confident else "faq"
    if intent == "order_status":
        return "order" if confident or names_an_order else "faq"
    if intent in ORDER_PROBLEMS:
        if not signed_in:  # nothing to look up: the FAQ's answer or a person, and the sign-in link
            return "faq"
        about_an_order = names_an_order or order_in_focus
        if about_an_order and (confident or (names_an_order and sure >= low)):
            return "order"
        if intent.startswith("delivery_") and ((not faq_answers and sure >= low) or (signed_in and sure >= low)):
            return "order"
    return "faq"


def line_named(turn: Turn, *, pending: dict, text: str) -> FollowUp | None:
    """ "The boots": the line of the order being returned that the shopper's words name."""
    if not turn.signed_in:
        return None
    adapter = get_order_adapter()
    order = adapter.get_order(user=turn.user, number=str(pending.get("order", "")))
    if order is None:
        return None
    ref = match_line(text, [[line.ref, line.name] for line in adapter.order_lines(order)], turn.language)
    return FollowUp("choice", ref) if ref is not None else None


def _mood(turn: Turn, body: list[str]) -> None:
    """An upset shopper is handed over at once; an unhappy one is offered a person."""
    result, say = turn.result, turn.say
    if result.sentiment.score <= shopai_settings.ASSISTANT["HANDOFF_SENTIMENT"] and not result.handoff:
        turn.hand_over("very_negative")
        body.append(say["handoff"])
    elif result.sentiment.label == "negative" and not result.handoff:
        body.append(say["offer_human"])
    if result.sentiment.label == "negative":
        body.insert(0, say["sorry"])


def _rewrite(result: AssistantReply, *, question: str):
    """The optional reply writer's version, kept only if it checks out against the reply's facts."""
    if not reply_writer.enabled(result.language):
        return None
    rewrite = reply_writer.rewrite(
        question=question, plain=result.reply, source=f"{result.source}\n{result.reply}", language=result.language
    )
    if rewrite.outcome == "kept":
        result.reply = rewrite.text
    return rewrite


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


def _log(
    result: AssistantReply, *, question: str, user, vector: np.ndarray | None, conversation: Conversation, writer=None
) -> Exchange:
    exchange = Exchange.objects.create(
        session_id=result.session_id,
        conversation=conversation,
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
        question_model=assistant_backend().name if vector is not None else "",
        writer=writer.outcome if writer is not None else "",
        writer_ms=writer.milliseconds if writer is not None else None,
    )
    result.id = exchange.pk
    return exchange


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
