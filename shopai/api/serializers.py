"""Serializers for shopai's API: query validation and result shapes."""

from rest_framework import serializers

from shopai.conf import shopai_settings


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        trim_whitespace=True,
        error_messages={
            "required": "Add a search text with ?q=…, for example ?q=waterproof jacket.",
            "blank": "The search text is empty; type a few words describing what you are looking for.",
        },
    )
    k = serializers.IntegerField(
        required=False,
        min_value=1,
        error_messages={
            "invalid": "k must be a whole number of results, e.g. k=10.",
            "min_value": "k must be at least 1.",
        },
    )

    mode = serializers.ChoiceField(
        choices=["hybrid", "vector", "keyword"],
        required=False,
        default="hybrid",
        error_messages={"invalid_choice": '"{input}" is not a search mode; use hybrid, vector or keyword.'},
    )
    page = serializers.IntegerField(
        required=False, min_value=1, default=1, error_messages={"invalid": "page must be a whole number, e.g. 2."}
    )
    in_stock = serializers.BooleanField(required=False, default=False)
    category = serializers.CharField(required=False)
    min_price = serializers.DecimalField(required=False, max_digits=12, decimal_places=2)
    max_price = serializers.DecimalField(required=False, max_digits=12, decimal_places=2)

    def validate_q(self, value: str) -> str:
        limit = int(shopai_settings.SEARCH_MAX_QUERY_LENGTH)
        if len(value) > limit:
            raise serializers.ValidationError(
                f"The search text is {len(value)} characters long; shorten it to at most {limit}."
            )
        return value

    def validate_k(self, value: int) -> int:
        limit = int(shopai_settings.SEARCH_MAX_K)
        if value > limit:
            raise serializers.ValidationError(f"k can be at most {limit}; ask for fewer results.")
        return value


class ProductHitSerializer(serializers.Serializer):
    id = serializers.CharField()
    sku = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    price = serializers.CharField(allow_null=True)
    url = serializers.CharField(allow_null=True)
    score = serializers.FloatField(help_text="Cosine similarity of the product text to the query; higher is closer.")


class SearchResponseSerializer(serializers.Serializer):
    query = serializers.CharField()
    mode = serializers.CharField()
    page = serializers.IntegerField()
    count = serializers.IntegerField()
    results = ProductHitSerializer(many=True)


class RecommendedProductSerializer(ProductHitSerializer):
    reason = serializers.CharField(help_text='Why it is recommended, e.g. "Because you viewed …".')


class RecommendationResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    results = RecommendedProductSerializer(many=True)


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, lists and objects instead of turning them into text."""

    default_error_messages = {"not_a_string": "must be text (a JSON string)."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


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
    sources = serializers.ListField(child=serializers.DictField())
    links = serializers.ListField(child=serializers.DictField())
    language = serializers.CharField()


class EventSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=["view", "search", "cart", "purchase"],
        error_messages={"invalid_choice": '"{input}" is not an event type; use view, search, cart or purchase.'},
    )
    product_id = StrictCharField(required=False, max_length=64)
    query = StrictCharField(required=False, max_length=300)

    def validate(self, data):
        if data["type"] == "search" and not data.get("query"):
            raise serializers.ValidationError({"query": "A search event needs the query the shopper typed."})
        if data["type"] != "search" and not data.get("product_id"):
            raise serializers.ValidationError({"product_id": f"A {data['type']} event needs the product_id."})
        return data


class RecommendationQuerySerializer(serializers.Serializer):
    k = serializers.IntegerField(required=False, min_value=1, error_messages={"invalid": "k must be a whole number."})
    user = serializers.CharField(required=False, help_text="Staff only: recommendations for this username.")
    in_stock = serializers.BooleanField(required=False, default=False)
    category = serializers.CharField(required=False)
    min_price = serializers.DecimalField(required=False, max_digits=12, decimal_places=2)
    max_price = serializers.DecimalField(required=False, max_digits=12, decimal_places=2)

    def validate_k(self, value: int) -> int:
        limit = int(shopai_settings.RECOMMENDATIONS["MAX_K"])
        if value > limit:
            raise serializers.ValidationError(f"k can be at most {limit}.")
        return value


class CopyRequestSerializer(serializers.Serializer):
    field = serializers.CharField(required=False, help_text="description, title, meta_description or highlights")
    tone = serializers.CharField(required=False, help_text="friendly, premium, technical, playful")
    length = serializers.CharField(required=False, help_text="short, medium, long")
    keywords = serializers.ListField(child=serializers.CharField(max_length=60), required=False, max_length=10)
    language = serializers.CharField(required=False, help_text="en or zh")
    only_empty = serializers.BooleanField(required=False, help_text="Do not overwrite a field that has text.")


class CopyCheckSerializer(serializers.Serializer):
    text = StrictCharField(
        max_length=5000,
        error_messages={
            "required": 'Send the text to check as JSON, e.g. {"text": "Waterproof jacket…"}.',
            "blank": "The text is empty.",
        },
    )


# --- Responses of the marketing studio and experiments ----------------------------------------


class CopyJobStartedSerializer(serializers.Serializer):
    job = serializers.IntegerField(help_text="The job's id: poll jobs/<id>.")
    status = serializers.CharField()
    url = serializers.CharField(help_text="Relative to the API root.")


class DraftSerializer(serializers.Serializer):
    """A ``GeneratedCopy`` as the API shows it."""

    id = serializers.IntegerField()
    product_id = serializers.CharField(source="object_pk")
    field = serializers.CharField()
    text = serializers.CharField()
    flags = serializers.ListField(child=serializers.DictField(), help_text="What the grounding guard flagged.")
    grounded = serializers.BooleanField()
    status = serializers.CharField(help_text="draft, approved, published or rejected")
    model = serializers.CharField(source="model_name")
    completion_tokens = serializers.IntegerField()
    seconds = serializers.FloatField()


class CopyJobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    parameters = serializers.DictField()
    results = DraftSerializer(many=True)


class GroundingFlagSerializer(serializers.Serializer):
    phrase = serializers.CharField()
    reason = serializers.CharField()


class CopyCheckResultSerializer(serializers.Serializer):
    flags = GroundingFlagSerializer(many=True)
    grounded = serializers.BooleanField(help_text="True when nothing was flagged.")


class ExperimentAssignmentSerializer(serializers.Serializer):
    experiment = serializers.CharField()
    variant = serializers.CharField()
    text = serializers.CharField()
