"""What every feature's API shares: strict text fields, product filters, a product as a result, errors.

Each feature's own request and response shapes live in its ``serializers`` module.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from shopai.adapters import ProductFilterError, get_product_adapter


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, lists and objects instead of turning them into text."""

    default_error_messages = {"not_a_string": _("must be text (a JSON string).")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class ProductFilterSerializer(serializers.Serializer):
    """The product filters of search and recommendations (``in_stock``, ``category``, price range)."""

    in_stock = serializers.BooleanField(required=False, default=False)
    category = serializers.CharField(required=False, help_text="A category id of the shop.")
    min_price = serializers.DecimalField(required=False, max_digits=12, decimal_places=2)
    max_price = serializers.DecimalField(required=False, max_digits=12, decimal_places=2)

    def validate(self, data):
        """Filters the shop cannot apply, or values it cannot hold ("abc" as a category id), are a 400."""
        data = super().validate(data)
        names = ("in_stock", "category", "min_price", "max_price")
        try:
            cleaned = get_product_adapter().clean_filters(**{name: data.get(name) for name in names})
        except ProductFilterError as exc:
            raise serializers.ValidationError(exc.errors) from exc
        return {**{key: value for key, value in data.items() if key not in names}, **cleaned}


class ProductHitSerializer(serializers.Serializer):
    id = serializers.CharField()
    sku = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    price = serializers.CharField(allow_null=True)
    url = serializers.CharField(allow_null=True)
    score = serializers.FloatField(help_text="How well it matches; higher is better (0 to 1).")
    click_url = serializers.CharField(
        allow_null=True,
        required=False,
        help_text="Link to the product that counts the click for the insights pages (null when not tracked).",
    )

    def to_representation(self, instance):
        """The fields above, plus whatever else a shop's adapter adds to ``to_result`` (an image, a brand…)."""
        shown = super().to_representation(instance)
        if not isinstance(instance, dict):
            return shown
        return {**shown, **{key: value for key, value in instance.items() if key not in shown}}


class ErrorSerializer(serializers.Serializer):
    """Every error of shopai's API: one sentence a person can act on, and per-field details for bad input."""

    error = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Bad input only: the problems of each field.",
    )


_ERROR_TEXT = {
    400: "Bad input: error says what to change, fields says where.",
    403: "Not allowed for this account.",
    404: "Not found.",
    429: "Too many requests: error says when to try again.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Schema entries for error responses, for ``extend_schema(responses={200: …, **errors(400, 429)})``."""
    return {status: OpenApiResponse(ErrorSerializer, description=_ERROR_TEXT[status]) for status in statuses}
