"""POST /api/shopai/clicks: a storefront that renders lists itself reports a click on one."""

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from shopai.api.exceptions import ShopAIExceptionMixin
from shopai.api.parsers import BoundedJSONParser
from shopai.api.serializers import errors
from shopai.api.throttling import ClickThrottle
from shopai.core import tracking


class ClickSerializer(serializers.Serializer):
    token = serializers.UUIDField(help_text="The `tracking` token of the search or recommendation response.")
    product_id = serializers.CharField(max_length=64, help_text="The product clicked in that list.")


class ClickView(ShopAIExceptionMixin, APIView):
    """Count a click on a product of a list shown (search results, recommendations); 204 either way:
    a click on a list that was not recorded, or on a product it did not hold, is not counted."""

    permission_classes = [AllowAny]
    throttle_classes = [ClickThrottle]
    parser_classes = [BoundedJSONParser]

    @extend_schema(request=ClickSerializer, responses={204: None, **errors(400, 429)})
    def post(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError({"token": [gettext('Send a JSON object, e.g. {"token": "…", "product_id": "12"}.')]})
        params = ClickSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        tracking.record_click(
            token=params.validated_data["token"], product_pk=params.validated_data["product_id"], request=request
        )
        return Response(status=204)
