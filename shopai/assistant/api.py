"""Assistant API: ask a question, and feedback on an answer."""

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
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
)
from shopai.assistant.answers import answer_question, record_feedback
from shopai.assistant.serializers import AskResponseSerializer, AskSerializer, FeedbackSerializer


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
        }
        return Response(AskResponseSerializer(body).data)


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
