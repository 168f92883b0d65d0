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
    count = serializers.IntegerField()
    results = ProductHitSerializer(many=True)
