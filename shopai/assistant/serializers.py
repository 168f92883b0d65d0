"""Assistant API shapes: a question, its answer, feedback, and staff replies to a handed-over chat."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from shopai.api.serializers import StrictCharField
from shopai.conf import shopai_settings
from shopai.models import HandoffCase


class AskSerializer(serializers.Serializer):
    question = StrictCharField(
        trim_whitespace=True,
        error_messages={
            "required": _('Send your question as JSON, e.g. {{"question": "Where is my order 1234?"}}.'),
            "blank": _("The question is empty; type what you would like to know."),
            "not_a_string": _("The question must be text (a JSON string)."),
        },
    )
    session_id = StrictCharField(
        required=False,
        max_length=64,
        error_messages={
            "max_length": _("session_id can be at most 64 characters; reuse the one the previous answer gave you."),
            "not_a_string": _("session_id must be text (a JSON string)."),
        },
    )

    def validate_question(self, value: str) -> str:
        limit = int(shopai_settings.ASSISTANT["MAX_QUESTION_LENGTH"])
        if len(value) > limit:
            raise serializers.ValidationError(
                gettext("The question is %(length)d characters long; please keep it under %(limit)d.")
                % {"length": len(value), "limit": limit}
            )
        return value


class FeedbackSerializer(serializers.Serializer):
    helpful = serializers.BooleanField(
        error_messages={
            "required": _('Say whether the answer helped: {{"helpful": true}} or {{"helpful": false}}.'),
            "invalid": _('helpful must be true or false, e.g. {{"helpful": true}}.'),
        }
    )
    session_id = StrictCharField(required=False, max_length=64)


class SentimentSerializer(serializers.Serializer):
    label = serializers.CharField()
    score = serializers.FloatField()


class SourceSerializer(serializers.Serializer):
    """An FAQ (faq_id, question) or a product (product_id, name) the reply comes from."""

    faq_id = serializers.IntegerField(required=False)
    question = serializers.CharField(required=False)
    product_id = serializers.CharField(required=False)
    name = serializers.CharField(required=False)
    score = serializers.FloatField()


class LinkSerializer(serializers.Serializer):
    label = serializers.CharField(help_text='e.g. "orders", "contact", "order 1234"')
    url = serializers.CharField(allow_null=True)


class CaseStateSerializer(serializers.Serializer):
    """Where the chat's case with staff stands; the widget polls for replies until it is resolved."""

    status = serializers.ChoiceField(choices=HandoffCase.Status.choices)


class AskResponseSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Use it to send feedback.")
    session_id = serializers.CharField()
    reply = serializers.CharField()
    answer = serializers.CharField(allow_null=True, help_text="The supporting sentence from the shop's own text.")
    confidence = serializers.FloatField()
    intent = serializers.CharField()
    sentiment = SentimentSerializer()
    handoff = serializers.BooleanField()
    handoff_reason = serializers.CharField()
    sources = SourceSerializer(many=True, help_text="What the reply was built from: FAQs or a product.")
    links = LinkSerializer(many=True)
    language = serializers.CharField()
    case = CaseStateSerializer(
        allow_null=True, help_text="The chat's case with staff, if it was handed over: poll its messages."
    )


class ConversationMessagesQuerySerializer(serializers.Serializer):
    after = serializers.IntegerField(
        required=False,
        default=0,
        min_value=0,
        max_value=2**63 - 1,
        help_text="Only messages with a larger id: the last id you have shown.",
        error_messages={
            "invalid": _("after must be a whole number: the id of the last message you have shown, or 0."),
            "min_value": _("after must be 0 or more: the id of the last message you have shown."),
            "max_value": _("after is too large to be a message id."),
            "max_string_length": _("after is too large to be a message id."),
        },
    )


class StaffMessageSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Send the largest as `after` next time.")
    body = serializers.CharField()
    author = serializers.CharField(help_text='The first name of who wrote it, or "Customer service".')
    created_at = serializers.DateTimeField()


class ConversationMessagesSerializer(serializers.Serializer):
    case = CaseStateSerializer(allow_null=True, help_text="The conversation's latest case; null if it never had one.")
    messages = StaffMessageSerializer(many=True)
