"""Assistant API: ask a question, feedback on an answer, and staff replies to a handed-over chat."""

import re

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from shopai.api.exceptions import ShopAIExceptionMixin
from shopai.api.parsers import BoundedJSONParser
from shopai.api.serializers import errors
from shopai.api.throttling import (
    AskThrottle,
    FeedbackThrottle,
    PollThrottle,
)
from shopai.assistant.answers import answer_question, record_feedback
from shopai.assistant.handoffs import author_name, staff_messages
from shopai.assistant.serializers import (
    AskResponseSerializer,
    AskSerializer,
    ConversationMessagesQuerySerializer,
    ConversationMessagesSerializer,
    FeedbackSerializer,
)
from shopai.core.visitors import VISITOR_KEY

# What /ask hands out is 32 hex digits; anything else cannot be a conversation (and a NUL byte must not reach
# the database).
SESSION_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


class AskView(ShopAIExceptionMixin, APIView):
    """Ask the shop's assistant; anonymous shoppers welcome, order look-ups need a signed-in shopper."""

    permission_classes = [AllowAny]
    throttle_classes = [AskThrottle]
    parser_classes = [BoundedJSONParser]

    @extend_schema(request=AskSerializer, responses={200: AskResponseSerializer, **errors(400, 429)})
    def post(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError(
                {"question": [gettext('Send a JSON object, e.g. {"question": "Where is my order?"}.')]}
            )
        params = AskSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = answer_question(
            question=params.validated_data["question"],
            user=request.user,
            session_id=params.validated_data.get("session_id"),
            visitor_key=_visitor_key(request),
        )
        body = {
            "id": result.id,
            "session_id": result.session_id,
            "reply": result.reply,
            "answer": result.answer,
            "confidence": round(result.confidence, 4),
            "intent": result.intent,
            "sentiment": {"label": result.sentiment.label, "score": round(result.sentiment.score, 4)},
            "handoff": result.handoff,
            "handoff_reason": result.handoff_reason,
            "sources": result.sources,
            "links": result.links,
            "language": result.language,
            "case": result.case,
        }
        return Response(AskResponseSerializer(body).data)


def _visitor_key(request) -> str:
    """The browser's visitor key (made on its first anonymous question): an anonymous chat is filed
    under it, so erasure finds it and only this browser can adopt the chat when its shopper signs in."""
    session = getattr(request, "session", None)
    if session is None:
        return ""
    if not request.user.is_authenticated and VISITOR_KEY not in session:
        if not session.session_key:
            session.save()
        session[VISITOR_KEY] = session.session_key
    return str(session.get(VISITOR_KEY, ""))


class FeedbackView(ShopAIExceptionMixin, APIView):
    """Was this answer helpful? Only the conversation's own session (or user) may say."""

    permission_classes = [AllowAny]
    throttle_classes = [FeedbackThrottle]
    parser_classes = [BoundedJSONParser]

    @extend_schema(request=FeedbackSerializer, responses={204: None, **errors(400, 404, 429)})
    def post(self, request, exchange_id: int):
        if not isinstance(request.data, dict):
            raise ValidationError({"helpful": [gettext('Send a JSON object, e.g. {"helpful": true}.')]})
        params = FeedbackSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        exchange = record_feedback(
            exchange_id=exchange_id,
            session_id=params.validated_data.get("session_id", ""),
            user=request.user,
            helpful=params.validated_data["helpful"],
        )
        if exchange is None:
            raise NotFound(gettext("No answer with this id in your conversation."))
        return Response(status=204)


class ConversationMessagesView(ShopAIExceptionMixin, APIView):
    """Staff replies in a handed-over chat, for the chat widget to poll; only the chat's owner may read them
    (the signed-in shopper it belongs to, or whoever holds an anonymous chat's id)."""

    permission_classes = [AllowAny]
    throttle_classes = [PollThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "session_id", str, OpenApiParameter.PATH, description="The session_id the last answer from ask gave."
            ),
            ConversationMessagesQuerySerializer,
        ],
        responses={200: ConversationMessagesSerializer, **errors(400, 404, 429)},
    )
    def get(self, request, session_id: str):
        params = ConversationMessagesQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        found = None
        if SESSION_ID.fullmatch(session_id):
            found = staff_messages(session_id=session_id, user=request.user, after=params.validated_data["after"])
        if found is None:
            raise NotFound(
                gettext("No conversation with this id is yours, or it has ended; ask a question to start a new one.")
            )
        customer_service = gettext("Customer service")
        body = {
            "case": {"status": found.case.status} if found.case is not None else None,
            "messages": [
                {
                    "id": message.pk,
                    "body": message.body,
                    "author": author_name(message) or customer_service,
                    "created_at": message.created_at,
                }
                for message in found.messages
            ],
        }
        return Response(ConversationMessagesSerializer(body).data)
