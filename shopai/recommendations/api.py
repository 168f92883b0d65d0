"""Recommendations API: record events, a shopper's recommendations, similar products."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from shopai.adapters import get_product_adapter
from shopai.api.exceptions import ShopAIExceptionMixin
from shopai.api.parsers import BoundedJSONParser
from shopai.api.serializers import errors
from shopai.api.throttling import (
    EventThrottle,
    RecommendationThrottle,
)
from shopai.conf import shopai_settings
from shopai.core import tracking
from shopai.core.visitors import VISITOR_KEY
from shopai.recommendations.events import record_event
from shopai.recommendations.recommenders import recommend_for_user, similar_products
from shopai.recommendations.serializers import (
    EventSerializer,
    RecommendationQuerySerializer,
    RecommendationResponseSerializer,
)


def _listed(items, *, request, placement: str) -> Response:
    token, shown = tracking.show(
        items, kind="recommendation", placement=placement, source=lambda item: item.source, request=request
    )
    results = [{**item.to_dict(), "click_url": item.click_url} for item in shown]
    body = {"tracking": token, "count": len(items), "results": results}
    return Response(RecommendationResponseSerializer(body).data)


class EventView(ShopAIExceptionMixin, APIView):
    """Record what a shopper did (view, search, cart, purchase); cheap, no model call."""

    permission_classes = [AllowAny]
    throttle_classes = [EventThrottle]
    parser_classes = [BoundedJSONParser]

    @extend_schema(request=EventSerializer, responses={201: None, **errors(400, 404, 429)})
    def post(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError({"type": [gettext('Send a JSON object, e.g. {"type": "view", "product_id": "12"}.')]})
        params = EventSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        if data["type"] == "purchase":
            # Purchases count most for trending and buy-again: they come from the shop's orders, and
            # only a signed-in shopper of a shop without an order model may report one here.
            if shopai_settings.ORDER_MODEL:
                raise PermissionDenied(gettext("Purchases are recorded from the shop's orders, not posted."))
            if not request.user.is_authenticated:
                raise PermissionDenied(gettext("Sign in to record a purchase."))
        if data.get("product_id") is not None and get_product_adapter().find(data["product_id"]) is None:
            raise NotFound(gettext("No such product."))
        visitor = ""
        if not request.user.is_authenticated:  # anonymous visitors are followed by their session
            if not request.session.session_key:
                request.session.save()
            visitor = request.session.setdefault(VISITOR_KEY, request.session.session_key)
        record_event(
            kind=data["type"],
            user=request.user,
            session_key=visitor,
            product_pk=data.get("product_id"),
            query=data.get("query", ""),
        )
        return Response(status=201)


class RecommendationsView(ShopAIExceptionMixin, APIView):
    """Recommendations for the current shopper (staff may ask for another user with ?user=)."""

    permission_classes = [AllowAny]
    throttle_classes = [RecommendationThrottle]

    @extend_schema(
        parameters=[RecommendationQuerySerializer],
        responses={200: RecommendationResponseSerializer, **errors(400, 403, 404, 429)},
    )
    def get(self, request):
        params = RecommendationQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        user = request.user
        username = data.pop("user", None)
        if username:
            if not (request.user.is_staff and request.user.has_perm("shopai.view_userprofile")):
                raise PermissionDenied(
                    gettext("Only staff who may view shoppers' profiles may ask for their recommendations.")
                )
            model = get_user_model()
            user = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()
            if user is None:
                raise NotFound(gettext("No user called %(name)r.") % {"name": username})
        k = data.pop("k", None) or 10
        items = recommend_for_user(user=user, k=k, **data)
        if user != request.user:  # staff looking at a shopper's list: not something a shopper was shown
            body = {"tracking": None, "count": len(items), "results": [item.to_dict() for item in items]}
            return Response(RecommendationResponseSerializer(body).data)
        return _listed(items, request=request, placement="api")


class SimilarProductsView(ShopAIExceptionMixin, APIView):
    """Products similar to this one."""

    permission_classes = [AllowAny]
    throttle_classes = [RecommendationThrottle]

    @extend_schema(responses={200: RecommendationResponseSerializer, **errors(400, 404, 429)})
    def get(self, request, product_id: str):
        params = RecommendationQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        product = get_product_adapter().find(product_id)
        if product is None:
            raise NotFound(gettext("No such product."))
        items = similar_products(product=product, k=params.validated_data.get("k") or 6)
        return _listed(items, request=request, placement="api_similar")
