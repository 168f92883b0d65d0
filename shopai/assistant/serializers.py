"""Assistant API shapes: a question, its answer, feedback."""

from rest_framework import serializers

from shopai.api.serializers import StrictCharField
from shopai.conf import shopai_settings


class AskSerializer(serializers.Serializer):
    question = StrictCharField(
        trim_whitespace=True,
        error_messages={
            "required": 'Send your question as JSON, e.g. {{"question": "Where is my order 1234?"}}.',
            "blank": "The question is empty; type what you would like to know.",
            "not_a_string": "The question must be text (a JSON string).",
        },
    )
    session_id = StrictCharField(
        required=False,
        max_length=64,
        error_messages={
            "max_length": "session_id can be at most 64 characters; reuse the one the previous answer gave you.",
            "not_a_string": "session_id must be text (a JSON string).",
        },
    )

    def validate_question(self, value: str) -> str:
        limit = int(shopai_settings.ASSISTANT["MAX_QUESTION_LENGTH"])
        if len(value) > limit:
            raise serializers.ValidationError(
                f"The question is {len(value)} characters long; please keep it under {limit}."
            )
        return value


class FeedbackSerializer(serializers.Serializer):
    helpful = serializers.BooleanField(
        error_messages={
            "required": 'Say whether the answer helped: {{"helpful": true}} or {{"helpful": false}}.',
            "invalid": 'helpful must be true or false, e.g. {{"helpful": true}}.',
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
