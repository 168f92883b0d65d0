"""The storefront search page that shopai serves itself (rendered with overridable templates)."""

from django.shortcuts import render

from shopai.api.exceptions import first_error_message
from shopai.search.hybrid import search_products
from shopai.search.serializers import SearchQuerySerializer


def search(request):
    """Search results page; the host restyles it by overriding ``shopai/search.html``."""
    query = request.GET.get("q", "")
    hits, error = [], None
    if "q" in request.GET:
        params = SearchQuerySerializer(data={"q": query, "k": 24})
        if params.is_valid():
            hits = search_products(query=params.validated_data["q"], k=24)
        else:
            error = first_error_message(params.errors)
    return render(request, "shopai/search.html", {"query": query, "hits": hits, "error": error})
