"""Search API: GET /api/shopai/search."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from shopai.api.exceptions import ShopAIExceptionMixin
from shopai.api.serializers import errors
from shopai.api.throttling import (
    SearchThrottle,
)
from shopai.conf import shopai_settings
from shopai.core import tracking
from shopai.search.hybrid import search_products
from shopai.search.serializers import SearchQuerySerializer, SearchResponseSerializer


class ProductSearchView(ShopAIExceptionMixin, APIView):
    """Semantic product search: products whose description means what the shopper typed."""

    permission_classes = [AllowAny]
    throttle_classes = [SearchThrottle]

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, required=True, description="What the shopper is looking for."),
            OpenApiParameter("k", int, required=False, description="Number of results (default 10, max 100)."),
            OpenApiParameter("mode", str, required=False, enum=["hybrid", "vector", "keyword"]),
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("in_stock", bool, required=False),
            OpenApiParameter("category", str, required=False),
            OpenApiParameter("min_price", float, required=False),
            OpenApiParameter("max_price", float, required=False),
        ],
        responses={200: SearchResponseSerializer, **errors(400, 429)},
    )
    def get(self, request):
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        query, mode, page = data.pop("q"), data.pop("mode"), data.pop("page")
        k = data.pop("k", None) or int(shopai_settings.SEARCH_DEFAULT_K)
        hits = search_products(query=query, k=k, mode=mode, offset=(page - 1) * k, **data)
        token, shown = tracking.show(
            hits, kind="search", placement="api", source=lambda hit: hit.via, request=request, query=query
        )
        results = [{**hit.to_dict(), "found_by": hit.via, "click_url": hit.click_url} for hit in shown]
        body = {
            "tracking": token,
            "query": query,
            "mode": mode,
            "page": page,
            "count": len(results),
            "results": results,
        }
        return Response(SearchResponseSerializer(body).data)
