"""API views: parse and validate, call one service, serialise."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from shopai.api.exceptions import ShopAIExceptionMixin
from shopai.api.serializers import SearchQuerySerializer, SearchResponseSerializer
from shopai.api.throttling import SearchThrottle
from shopai.conf import shopai_settings
from shopai.services.search import search_products


class ProductSearchView(ShopAIExceptionMixin, APIView):
    """Semantic product search: products whose description means what the shopper typed."""

    permission_classes = [AllowAny]
    throttle_classes = [SearchThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="What the shopper is looking for."),
            OpenApiParameter("k", int, required=False, description="Number of results (default 10, max 100)."),
        ],
        responses=SearchResponseSerializer,
    )
    def get(self, request):
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data["q"]
        k = params.validated_data.get("k") or int(shopai_settings.SEARCH_DEFAULT_K)
        hits = search_products(query=query, k=k)
        results = [hit.to_dict() for hit in hits]
        return Response({"query": query, "count": len(results), "results": results})
