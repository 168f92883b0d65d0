"""Recommendations API shapes: events, the query, recommended products."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from shopai.api.serializers import ProductFilterSerializer, ProductHitSerializer, StrictCharField
from shopai.conf import shopai_settings


class EventSerializer(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=["view", "search", "cart", "purchase"],
        error_messages={"invalid_choice": _('"{input}" is not an event type; use view, search, cart or purchase.')},
    )
    product_id = StrictCharField(required=False, max_length=64)
    query = StrictCharField(required=False, max_length=300)

    def validate(self, data):
        if data["type"] == "search" and not data.get("query"):
            raise serializers.ValidationError({"query": _("A search event needs the query the shopper typed.")})
        if data["type"] != "search" and not data.get("product_id"):
            raise serializers.ValidationError(
                {"product_id": gettext("A %(type)s event needs the product_id.") % {"type": data["type"]}}
            )
        return data


class RecommendationQuerySerializer(ProductFilterSerializer):
    k = serializers.IntegerField(
        required=False, min_value=1, error_messages={"invalid": _("k must be a whole number.")}
    )
    user = serializers.CharField(
        required=False, help_text="Staff only: recommendations for this shopper (the user model's USERNAME_FIELD)."
    )

    def validate_k(self, value: int) -> int:
        limit = int(shopai_settings.RECOMMENDATIONS["MAX_K"])
        if value > limit:
            raise serializers.ValidationError(gettext("k can be at most %(limit)d.") % {"limit": limit})
        return value


class RecommendedProductSerializer(ProductHitSerializer):
    reason = serializers.CharField(help_text='Why it is recommended, e.g. "Because you viewed …".')
    source = serializers.CharField(
        help_text='What put it there: "buy_again", "interests", "bought_together", "trending", "similar", "new".'
    )


class RecommendationResponseSerializer(serializers.Serializer):
    tracking = serializers.CharField(
        allow_null=True, help_text="Token of this list: POST it with a clicked product to /clicks."
    )
    count = serializers.IntegerField()
    results = RecommendedProductSerializer(many=True)
